/*
 * tcp_cc: congestion control, the arithmetic only. Internal to the stack.
 *
 * Two algorithms share one set of hooks, chosen per connection (c->cc, from the
 * stack's conf.cc or tcp_set_cc):
 * - CUBIC (RFC 9438), the default as in Linux: after a congestion event the window
 *   follows W_cubic(t) = C (t - K)^3 + W_max (C = 0.4, beta = 0.7, fast
 *   convergence), never below the Reno-friendly estimate W_est;
 * - NewReno (RFC 5681 / 6582): ssthresh = FlightSize / 2, one MSS per RTT.
 * Both use slow start below ssthresh, and PRR (RFC 6937, PRR-SSRB) to bring cwnd
 * down to ssthresh during a recovery instead of dropping it at once.
 *
 * A leaf, like tcp_sack: calls nothing else of the stack (the caller passes the
 * clock); tcp_input, tcp_timeout and tcp_output call it. No allocation.
 */
#ifndef LBD_TCP_CC_H
#define LBD_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* RFC 9438 constants. */
#define TCP_CUBIC_C 0.4                 /* segments / s^3 */
#define TCP_CUBIC_BETA 0.7

/* Connection start (entering ESTABLISHED): IW10 (RFC 6928), no epoch. */
void tcp_cc_init(struct tcp_conn *c);

/* An ACK of `acked` new bytes outside recovery, at now_ms: slow start below
 * ssthresh (by the bytes acknowledged, at most 2 MSS per ACK: RFC 3465), else
 * congestion avoidance of c's algorithm. */
void tcp_cc_ack(struct tcp_conn *c, uint32_t acked, uint64_t now_ms);

/*
 * A congestion event (fast retransmit, a loss repaired by a loss probe, the first
 * RTO): sets ssthresh from FlightSize (NewReno: half; CUBIC: beta of it), and for
 * CUBIC W_max (with fast convergence) and the start of a new epoch. cwnd is the
 * caller's (PRR, or 1 MSS after an RTO).
 */
void tcp_cc_loss(struct tcp_conn *c, uint32_t flight);

/* The end of a recovery: cwnd = ssthresh (RFC 6937 section 3.1, as Linux's
 * tcp_end_cwnd_reduction); CUBIC's next epoch starts with the next ACK. */
void tcp_cc_recovery_end(struct tcp_conn *c);

/* A retransmission timeout: the first of a series is a congestion event
 * (tcp_cc_loss); cwnd = 1 MSS (RFC 5681 eq. 4, RFC 9438 4.8). */
void tcp_cc_rto(struct tcp_conn *c, uint32_t flight, bool first);

/* CUBIC's W_cubic(t) in bytes, t ms into the current epoch (tests, and tcp_cc_ack). */
double tcp_cc_cubic_w(const struct tcp_conn *c, double t_ms);

/* Starts a PRR episode (RFC 6937 section 3): RecoverFS = flight. */
void tcp_cc_prr_start(struct tcp_conn *c, uint32_t flight);

/*
 * One ACK during recovery (RFC 6937 section 3, PRR-SSRB): delivered bytes the ACK
 * reports delivered (cumulative plus SACKed, or one MSS per duplicate without SACK),
 * pipe the bytes in flight now. Returns sndcnt, the bytes that may be sent on this
 * ACK; the caller sets cwnd = pipe + sndcnt. prr_out grows as segments go
 * (tcp_output).
 */
uint32_t tcp_cc_prr_sndcnt(struct tcp_conn *c, uint32_t delivered, uint32_t pipe,
                           uint32_t smss);

/* Name of an algorithm ("cubic", "newreno"); tcp_cc_parse the reverse (-1: unknown). */
const char *tcp_cc_name(enum tcp_cc cc);
int tcp_cc_parse(const char *s);

#endif
