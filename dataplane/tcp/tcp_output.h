/*
 * tcp_output: building and sending segments. Headers go into a fresh mbuf from the
 * stack's pool, payload is chained as indirect mbufs attached to the send queue;
 * IPv4 and TCP checksums are computed here (the lab's veths and af_packet do no
 * offload). Calls tcp_tcb (buffer accounting), tcp_timer (arming) and tcp_sack;
 * called by tcp_entry, tcp_timeout, tcp_input and tcp.c. Internal to the stack.
 */
#ifndef LBD_TCP_OUTPUT_H
#define LBD_TCP_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* TCP header flags. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Bytes of c's send queue not sent yet (from snd_nxt on; 0 when only the FIN, or
 * nothing, is beyond it). */
static inline uint32_t tcp_output_unsent(const struct tcp_conn *c)
{
    uint32_t off = c->snd_nxt - c->snd_una;

    return c->sndq.bytes > off ? c->sndq.bytes - off : 0;
}

/*
 * Sends what c may send now: new data within min(cwnd, peer window) in MSS-sized
 * segments (sender silly-window avoidance), the FIN after the data, and a pure ACK
 * when one is owed. Arms the retransmission or persist timer as needed.
 */
void tcp_output(struct tcp_conn *c);

/* Sends c's SYN (SYN_SENT) or SYN-ACK (SYN_RECEIVED) with MSS, window scale,
 * SACK-permitted and Timestamps (always in a SYN, Timestamps unless
 * conf.timestamps is off; in a SYN-ACK when the peer's SYN offered them). */
void tcp_output_syn(struct tcp_conn *c);

/*
 * Retransmits [seq, seq + len) of the send queue (SACK recovery: a hole; the caller
 * keeps it within snd_una .. snd_una + queued bytes and below one SMSS). Moves
 * high_rxt up to seq + len and stops the RTT measurement (Karn).
 */
void tcp_output_rexmt(struct tcp_conn *c, uint32_t seq, uint32_t len);

/*
 * Retransmits the most recently sent segment (the tail loss probe, RFC 8985 section
 * 7.3, when no new data may go): the last smss bytes sent, and the FIN after them
 * when one was sent; a FIN alone when nothing else is unacknowledged. Returns the
 * sequence space sent (0: nothing is in flight).
 */
uint32_t tcp_output_rexmt_tail(struct tcp_conn *c, uint32_t smss);

/* Sends one new segment at snd_nxt (at most smss bytes), beyond cwnd: a loss probe.
 * Returns the sequence space sent (0: nothing could go). */
uint32_t tcp_output_probe_new(struct tcp_conn *c, uint32_t smss);

/* The persist timer's override of sender silly-window avoidance: when the peer's
 * window is open but smaller than what avoidance waits for, sends the new data that
 * fits (at most one segment) and arms the retransmission timer. Returns the sequence
 * space sent (0: window closed or nothing to send). */
uint32_t tcp_output_window_probe(struct tcp_conn *c);

/* The payload bytes one segment of c may carry now: the send MSS less the
 * Timestamps option (12 bytes, on every segment when negotiated) and the SACK option
 * that goes with every segment while out-of-order data is held. */
uint32_t tcp_output_smss(const struct tcp_conn *c);

/* c's TSval now: the stack's millisecond clock plus c's offset (RFC 7323 5.4, 7.1). */
uint32_t tcp_output_tsval(const struct tcp_conn *c);

/* True when c may enter SACK-based recovery now (RFC 6675 section 5; after an RTO
 * only once everything sent before it is acknowledged, section 5.1). */
bool tcp_output_sack_can_recover(const struct tcp_conn *c);

/*
 * Enters RFC 6675 loss recovery (section 5 step 4; or RACK marked a segment lost):
 * RecoveryPoint = HighData, ssthresh from the algorithm (tcp_cc_loss), an undo
 * episode and a PRR episode begun (the caller's PRR step sets cwnd), the first
 * segment presumed lost retransmitted at once; tcp_output sends the rest by the pipe
 * estimate. Needs tcp_output_sack_can_recover.
 */
void tcp_output_sack_enter(struct tcp_conn *c);

/* Retransmits one segment from snd_una (fast retransmit, partial ACK, RTO). */
void tcp_output_rexmt_first(struct tcp_conn *c);

/* A pure ACK now. */
void tcp_output_ack(struct tcp_conn *c);

/* A zero-window probe (seq snd_una - 1, no data): the peer answers with its window. */
void tcp_output_probe(struct tcp_conn *c);

/* RST for c (abort, timeouts): seq snd_max, ACK rcv_nxt. */
void tcp_output_rst(struct tcp_conn *c);

/* The ACK of a TIME_WAIT entry (tcp_tw.h): seq snd_nxt, ACK rcv_nxt, its window, and
 * NOP, NOP, Timestamps (TSval from its offset, TSecr its TS.Recent) when it had them. */
void tcp_output_tw_ack(struct tcp_stack *st, const struct tcp_tw_entry *e);

/*
 * A segment without a connection, from the local side of k: RSTs for segments
 * nobody wants, and SYN-ACKs carrying a SYN cookie (mss != 0: options MSS, then
 * NOP, NOP, Timestamps with TSval ts[0] and TSecr ts[1] when ts is not NULL, then
 * window scale when wscale != 0xff).
 */
void tcp_output_raw(struct tcp_stack *st, const struct tcp_key *k, uint32_t seq,
                    uint32_t ack, uint8_t flags, uint16_t mss, uint8_t wscale,
                    const uint32_t *ts);

/* The window to advertise now (field value, scaled down), moving rcv_adv. */
uint16_t tcp_output_window(struct tcp_conn *c);

/* The receive window the buffer would allow now (bytes, unscaled). */
uint32_t tcp_output_rcv_space(const struct tcp_conn *c);

#endif
