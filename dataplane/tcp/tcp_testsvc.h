/*
 * tcp_testsvc: small services on the TCP stack, to prove it against real peers
 * before the proxy exists (lab tests, benchmarks).
 *
 *   echo     sends back everything it receives (mbufs move from the receive queue
 *            to the send queue: no copy), half-closes after the peer's FIN
 *   discard  reads and frees everything, closes after the peer's FIN
 *   source   sends a byte stream (byte i of the stream is tcp_testsvc_byte(i))
 *            until the peer closes or resets; discards what it receives
 *
 * Enabled by a spec such as "echo:7,discard:9,source:19,retries=5" (lbd reads it
 * from the environment variable LBD_TCP_TEST); each service listens on every
 * address of the appliance; retries=N sets the stack's max_retries (tests of a
 * vanishing peer). Worker only once set up; no state per connection.
 */
#ifndef LBD_TCP_TESTSVC_H
#define LBD_TCP_TESTSVC_H

#include <stddef.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* Byte i of the source stream: the 64-byte line "0123...xyz\n"-like pattern. */
static inline uint8_t tcp_testsvc_byte(uint64_t i)
{
    static const char line[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
    return (uint8_t)line[i % 63];
}

/*
 * Parses spec and listens on st for each service. Returns 0, or LBD_EINVAL with err
 * filled (unknown service, bad port), or the error of tcp_listen.
 */
int tcp_testsvc_setup(struct tcp_stack *st, const char *spec, char *err, size_t errlen);

#endif
