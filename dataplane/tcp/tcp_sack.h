/*
 * tcp_sack: Selective Acknowledgment (RFC 2018) and the bookkeeping of RFC 6675's
 * conservative SACK-based loss recovery. Internal to the stack.
 *
 * Receiver side: the SACK blocks describing the out-of-order data a connection holds
 * (struct tcp_ooo), the block holding the most recently received segment first.
 *
 * Sender side: the scoreboard, a small sorted array of SACKed ranges in the control
 * block (TCP_SACK_MAX; nothing allocated), and the RFC 6675 queries on it: IsLost,
 * the pipe estimate and the holes NextSeg retransmits. Everything is O(TCP_SACK_MAX)
 * or O(TCP_OOO_MAX), on the hot path, without allocation. A leaf: calls nothing
 * else of the stack; tcp_output, tcp_timeout and tcp_input call it.
 */
#ifndef LBD_TCP_SACK_H
#define LBD_TCP_SACK_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* ---- receiver ---- */

/* Records that an out-of-order segment starting at seq just arrived (q's recency
 * list, newest first, at most TCP_SACK_BLOCKS entries). */
void tcp_sack_note_rcv(struct tcp_ooo *q, uint32_t seq);

/*
 * The SACK blocks to send now: the contiguous runs of c's out-of-order data, the run
 * holding the most recently received segment first, then the runs of the other recent
 * segments, then the rest from the highest down. Writes at most max blocks (start, end)
 * to blk and returns how many; 0 when c holds no out-of-order data or did not
 * negotiate SACK.
 */
unsigned tcp_sack_blocks(const struct tcp_conn *c, struct tcp_sack_range *blk, unsigned max);

/* ---- sender ---- */

/* Forgets every SACKed range (RTO: RFC 2018 section 8, RFC 6675 section 5.1). */
void tcp_sack_clear(struct tcp_conn *c);

/* Drops the ranges (or parts) at or below una; call when snd_una advances. */
void tcp_sack_trim(struct tcp_conn *c, uint32_t una);

/*
 * Takes the n SACK blocks of an acceptable ACK into the scoreboard. lo is the
 * cumulative acknowledgment in force (max of the ACK and snd_una). A block must lie
 * within (lo, snd_max] with start < end: blocks at or below lo (D-SACK, stale) are
 * counted in sack_blocks_old, every other invalid one in sack_blocks_bad, and both are
 * ignored. When the board is full the highest range is dropped (sack_board_full):
 * forgetting a range only costs a needless retransmission. Returns true when the
 * board gained SACKed bytes.
 */
bool tcp_sack_input(struct tcp_conn *c, uint32_t lo, const struct tcp_sack_range *blk,
                    unsigned n);

/* RFC 6675 IsLost(seq): DupThresh discontiguous SACKed ranges above seq, or more
 * than (DupThresh - 1) * MSS SACKed bytes above it. */
bool tcp_sack_is_lost(const struct tcp_conn *c, uint32_t seq);

/* RFC 6675 SetPipe: the bytes in flight between snd_una and snd_max, counting
 * retransmissions below high_rxt once more. */
uint32_t tcp_sack_pipe(const struct tcp_conn *c);

/*
 * RFC 6675 NextSeg rules 1 (lost_only) and 3: the first unSACKed byte at or above
 * high_rxt and below the highest SACKed byte, in a hole that IsLost when lost_only.
 * Returns true with *seq and *len (at most smss, never into a SACKed range).
 */
bool tcp_sack_next_hole(const struct tcp_conn *c, bool lost_only, uint32_t smss,
                        uint32_t *seq, uint32_t *len);

/*
 * For a go-back-N retransmission from seq (after an RTO): the first unSACKed byte at
 * or above seq, and in *limit the start of the next SACKed range above it (snd_max
 * when none).
 */
uint32_t tcp_sack_skip(const struct tcp_conn *c, uint32_t seq, uint32_t *limit);

/* The highest bytes between snd_una and end that the scoreboard does not hold SACKed:
 * *seq and *len (at most smss, the last ones before end or before the SACKed range
 * that covers it). False when everything there is SACKed. */
bool tcp_sack_last_unsacked(const struct tcp_conn *c, uint32_t end, uint32_t smss,
                            uint32_t *seq, uint32_t *len);

/* The bytes the scoreboard holds SACKed. */
uint32_t tcp_sack_bytes(const struct tcp_conn *c);

/* True when seq lies in a SACKed range. */
bool tcp_sack_is_sacked(const struct tcp_conn *c, uint32_t seq);

#endif
