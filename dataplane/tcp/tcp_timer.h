/*
 * tcp_timer: the stack's clock and arming/cancelling a connection's timers on the
 * worker's wheel (twheel.h): retransmission (RFC 6298, with Karn's rule and
 * exponential backoff), persist (zero-window probes), delayed ACK, and one timer for
 * connect, idle, FIN_WAIT_2 and TIME_WAIT deadlines; and the RTT estimator. An idle
 * connection has at most its idle timer pending, which re-arms itself lazily:
 * traffic only stamps last_rx_ms. What happens when a timer fires is tcp_timeout's
 * (the handlers in st->timer_fns). The bottom layer of the stack: calls nothing else
 * of it, and any module of the stack may call it. Internal to the stack.
 */
#ifndef LBD_TCP_TIMER_H
#define LBD_TCP_TIMER_H

#include <stdint.h>

#include "tcp/tcp_types.h"

static inline uint64_t tcp_now(const struct tcp_stack *st)
{
    return twheel_now(st->conf.wheel);
}

/* The stack's microsecond clock (RACK's transmit times): the worker's, set once per
 * loop (tcp_stack_set_clock_us), else the wheel's milliseconds (tests). */
static inline uint64_t tcp_now_us(const struct tcp_stack *st)
{
    return st->clock_us != 0 ? st->clock_us : twheel_now(st->conf.wheel) * 1000;
}

/* Prepares c's timers (none pending) with the stack's expiry handlers
 * (st->timer_fns, set by tcp_stack_create); c->st must be set. */
void tcp_timer_init(struct tcp_conn *c);
void tcp_timer_stop_all(struct tcp_conn *c);

/* Arms retransmission at now + rto << backoff (clamped to rto_max), or, when a tail
 * loss probe may go out (RFC 8985 section 7.2) and is due sooner, the probe's timeout
 * (TCPF_PTO set: the expiry sends a probe, then arms the RTO); in SACK recovery, when
 * the recovery probe may go out and is due sooner, its timeout (TCPF_PTO's
 * counterpart TCPF_RPTO, the RTO's expiry kept in rto_at: the probe's expiry sends
 * it and re-arms the RTO for that time). */
void tcp_timer_rexmt_arm(struct tcp_conn *c);

/* An ACK in SACK recovery that did not restart the RTO: the recovery probe, if one
 * may go out, 2 SRTT from now and strictly before the pending RTO, which keeps its
 * expiry; else the RTO alone. Leaves the persist, loss probe and reordering timers
 * alone. */
void tcp_timer_rprobe_arm(struct tcp_conn *c);
void tcp_timer_rexmt_stop(struct tcp_conn *c);

/* Arms the retransmission timer ms from now, whatever the RTO (no probe): SYN_SENT's
 * early resend of the SYN (tcp_input.c). */
void tcp_timer_rexmt_at(struct tcp_conn *c, uint32_t ms);

/* Arms RACK's reordering timer (TCPF_REO on t_rexmt) us microseconds from now
 * (rounded up to the wheel's ms), unless an RTO or tail loss probe is due before it
 * (a recovery probe gives way to it; the RTO is re-armed when it fires). */
void tcp_timer_reo_arm(struct tcp_conn *c, uint32_t us);

/* Arms the persist timer unless a retransmission or persist timer is pending. */
void tcp_timer_persist_arm(struct tcp_conn *c);

/* Delays an ACK by conf.delack_ms unless one is already delayed. */
void tcp_timer_delack_arm(struct tcp_conn *c);
void tcp_timer_delack_stop(struct tcp_conn *c);

/* (Re)arms the deadline timer for the current state: connect timeout in SYN_SENT,
 * idle timeout when synchronized, fin_wait2_ms in FIN_WAIT_2 when detached,
 * time_wait_ms in TIME_WAIT. */
void tcp_timer_deadline(struct tcp_conn *c);

/* Takes an RTT sample (ms) into srtt/rttvar/rto (RFC 6298 section 2). */
void tcp_timer_rtt_sample(struct tcp_conn *c, uint32_t rtt_ms);

/* The current retransmission timeout including backoff (ms). */
uint32_t tcp_timer_rto(const struct tcp_conn *c);

#endif
