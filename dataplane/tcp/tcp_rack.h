/*
 * tcp_rack: RACK's time-based loss detection (RFC 8985 sections 6.1-6.3) and the undo
 * of retransmissions that D-SACKs show were spurious (RFC 2883, RFC 3708 style, as
 * Linux's tcp_try_undo_dsack). Internal to the stack.
 *
 * Each connection that negotiated SACK keeps a transmit record per segment in flight
 * (struct tcp_rack_q, a block of the stack's pool taken while data is in flight and
 * given back when everything is acknowledged): its range, the time of its last
 * (re)transmission on the stack's microsecond clock (tcp_now_us), and whether it was
 * retransmitted, SACKed or marked lost. On every ACK the most recently sent segment
 * that the ACK newly delivered sets RACK.xmit_ts and RACK.rtt; a segment sent before
 * it by more than RACK.rtt + reo_wnd is lost, and the rest wait on the reordering
 * timer (TCPF_REO on the retransmission timer). Lost segments go out again through
 * RFC 6675 recovery and PRR (tcp_output); lost retransmissions are found the same way,
 * by time. A block holds TCP_RACK_SEGS records; a flight that outgrows it (a send
 * buffer auto-tuning grew, tcp_sndbuf.h) moves to a large block of the stack's second
 * pool (rack_blocks_grown), sized for conf.sndbuf_max. Records run out (the pools, or a
 * block): the segment is not recorded and RFC 6675 alone covers it
 * (rack_records_exhausted).
 *
 * Undo: an episode (a fast recovery or an RTO) saves cwnd, ssthresh and CUBIC's W_max
 * and counts the bytes it retransmits; D-SACKs at or above the episode's start take
 * them off; when none is left the cwnd reduction is undone (dsack_undos).
 *
 * Hot path: fixed arrays, no allocation but the pool's get, no logging. Calls tcp_sack
 * and tcp_timer (the undo sets the congestion fields itself); called by tcp_output,
 * tcp_input, tcp_timeout and tcp_tcb.
 */
#ifndef LBD_TCP_RACK_H
#define LBD_TCP_RACK_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* A fresh connection's RACK state (no records, no RTT, reo_wnd_mult 1). */
void tcp_rack_init(struct tcp_conn *c);

/* Gives c's records back to the pool (connection freed, or nothing in flight). */
void tcp_rack_free(struct tcp_conn *c);

/*
 * [seq, seq + len) of the send queue was just sent (rexmt: below snd_max, a
 * retransmission). New data gets a record; a retransmission restamps the records it
 * covers (split at its edges when there is room), clears their lost mark and counts
 * in the undo episode. Takes a block from the pool on the first segment.
 */
void tcp_rack_sent(struct tcp_conn *c, uint32_t seq, uint32_t len, bool rexmt);

/*
 * RFC 8985 6.2 steps 1-4 for an acceptable ACK, after the scoreboard and snd_una took
 * it: the records it acknowledged or newly SACKed (blk: its SACK blocks) update
 * RACK.xmit_ts, RACK.rtt, RACK.fack and reordering_seen (a retransmitted segment only
 * when its TSecr (ts) or its RTT (not below min_RTT) shows the ACK is for that
 * transmission); a D-SACK grows reo_wnd once per round trip and counts against the
 * undo episode, which it may undo (ending a recovery in progress). Returns true when
 * it undid one.
 */
bool tcp_rack_ack(struct tcp_conn *c, const struct tcp_sack_range *blk, unsigned n,
                  bool ts, uint32_t tsecr);

/*
 * RFC 8985 6.2 step 5: marks lost each record sent before RACK.xmit_ts (or with the
 * same time and a lower sequence) whose time is up (xmit + RACK.rtt + reo_wnd <=
 * now), and arms the reordering timer for the earliest of the others. Returns the
 * records it marked.
 */
uint32_t tcp_rack_detect(struct tcp_conn *c);

/* The first record marked lost and not yet sent again: *seq and *len (at most smss,
 * its part below the next SACKed range). False when none. */
bool tcp_rack_next_lost(struct tcp_conn *c, uint32_t smss, uint32_t *seq, uint32_t *len);

/* RFC 6675's pipe (tcp_sack_pipe) less the segments RACK marked lost that it still
 * counts in flight (and their lost retransmissions). */
uint32_t tcp_rack_pipe(const struct tcp_conn *c);

/* Bytes below seq of the records marked lost and not yet sent again. */
uint32_t tcp_rack_lost_below(const struct tcp_conn *c, uint32_t seq);

/* The reorder window now (RFC 8985 6.2 step 4), microseconds. */
uint32_t tcp_rack_reo_wnd(const struct tcp_conn *c);

/*
 * True when RACK alone decides whether the segment at seq is lost: c has seen
 * reordering and RACK holds a transmit record for seq. RFC 6675's DupThresh (three
 * duplicate ACKs, three segments SACKed above a hole: the start of a recovery, and
 * NextSeg's rules 1 and 3 in it) would then take a reordered burst for a loss every
 * time, whatever reo_wnd has grown to; Linux with RACK never uses DupThresh. Before
 * any reordering RACK's reo_wnd is 0 once DupThresh segments are SACKed, so the two
 * agree and both stay; a segment sent without a record (records ran out) keeps
 * RFC 6675.
 */
bool tcp_rack_decides(const struct tcp_conn *c, uint32_t seq);

/* An episode begins (fast recovery: fresh; an RTO: fresh unless one is being
 * counted already): saves what undo restores. Call before the reduction. */
void tcp_rack_undo_start(struct tcp_conn *c, bool fresh);

/* A recovery ended (RFC 8985 6.2 step 4: reo_wnd_persist). */
void tcp_rack_recovery_end(struct tcp_conn *c);

#endif
