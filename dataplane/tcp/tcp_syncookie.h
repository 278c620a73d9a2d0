/*
 * tcp_syncookie: SYN cookies (RFC 4987 section 3.6) for listeners whose half-open
 * queue is full. The cookie is our initial sequence number:
 *   bits 31..29  time slot (64 s slots, modulo 8)
 *   bits 28..27  MSS index (536, 1220, 1440, 1460)
 *   bits 26..23  peer window scale (0..14; 15 = not offered)
 *   bits 22..0   keyed hash of the 4-tuple, the peer's ISN, the slot and bits 28..23
 * A cookie is accepted in its own slot and the next one (64 to 128 s).
 * A leaf: calls nothing else of the stack; only tcp_input calls it.
 */
#ifndef LBD_TCP_SYNCOOKIE_H
#define LBD_TCP_SYNCOOKIE_H

#include <stdint.h>

#include "tcp/tcp_types.h"

#define TCP_SYNCOOKIE_NO_WSCALE 15

/* The cookie for a SYN from k's remote side with sequence irs; *mss becomes the
 * MSS the cookie encodes (the largest table entry <= peer_mss). */
uint32_t tcp_syncookie_make(const struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                            uint16_t peer_mss, uint8_t peer_wscale, uint64_t now_ms,
                            uint16_t *mss);

/* Checks the cookie in an ACK (cookie = ack - 1, irs = seq - 1). Returns 0 and the
 * MSS and peer window scale (TCP_SYNCOOKIE_NO_WSCALE = none), or -1. */
int tcp_syncookie_check(const struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                        uint32_t cookie, uint64_t now_ms, uint16_t *mss, uint8_t *wscale);

#endif
