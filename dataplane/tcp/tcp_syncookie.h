/*
 * tcp_syncookie: SYN cookies (RFC 4987 section 3.6) for listeners whose half-open
 * queue is full. The cookie is our initial sequence number:
 *   bit  31      parity of the 64 s key period it was made in
 *   bits 30..29  MSS index (536, 1220, 1440, 1460)
 *   bits 28..25  peer window scale (0..14; 15 = not offered)
 *   bits 24..0   SipHash-2-4 of the 4-tuple, the peer's ISN and bits 31..25, under
 *                the period's key
 * Each period (2^16 ms) has its own 128-bit key: the first is drawn from the kernel
 * when the stack is created, each next one is a one-way step of the one before
 * (SipHash of the period number under it), and the previous period's key is kept one
 * period more. A cookie is accepted in its own period and the next one (64 to 128 s);
 * older ones meet a key they were not made with.
 * A leaf: calls nothing else of the stack; only tcp_input (and, at creation, tcp.c
 * through tcp_syncookie_init) calls it.
 */
#ifndef LBD_TCP_SYNCOOKIE_H
#define LBD_TCP_SYNCOOKIE_H

#include <stdint.h>

#include "base/siphash.h"
#include "tcp/tcp_types.h"

#define TCP_SYNCOOKIE_NO_WSCALE 15
#define TCP_SYNCOOKIE_PERIOD_SHIFT 16   /* key periods of 65.5 s */

/* Set-up: the first key (drawn by the caller), valid from now_ms on. */
void tcp_syncookie_init(struct tcp_cookie_keys *ck, const struct siphash_key *first,
                        uint64_t now_ms);

/* Moves the keys on to now_ms's period (nothing when it is the current one). */
void tcp_syncookie_rotate(struct tcp_cookie_keys *ck, uint64_t now_ms);

/* The cookie for a SYN from k's remote side with sequence irs; *mss becomes the
 * MSS the cookie encodes (the largest table entry <= peer_mss). */
uint32_t tcp_syncookie_make(struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                            uint16_t peer_mss, uint8_t peer_wscale, uint64_t now_ms,
                            uint16_t *mss);

/* Checks the cookie in an ACK (cookie = ack - 1, irs = seq - 1). Returns 0 and the
 * MSS and peer window scale (TCP_SYNCOOKIE_NO_WSCALE = none), or -1. */
int tcp_syncookie_check(struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                        uint32_t cookie, uint64_t now_ms, uint16_t *mss, uint8_t *wscale);

#endif
