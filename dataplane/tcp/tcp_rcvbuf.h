/*
 * tcp_rcvbuf: receive buffer auto-tuning within the worker's fair share.
 *
 * Every connection starts with conf.rcvbuf_init bytes of receive buffer (the window it
 * advertises is that less what waits unread) and grows, as Linux's
 * tcp_rcv_space_adjust (dynamic right-sizing), when its user drains it fast: once per
 * round trip (SRTT, at least TCP_RCVBUF_MIN_RTT_MS) the bytes the user read in that
 * time are measured, and the buffer is set to twice that, up to conf.rcvbuf (which
 * the window scale of the handshake is sized for). The receive buffers of the
 * established connections grow only while they stay within the worker's buffer budget
 * together with what the send buffers grew, and each one only up to its fair share
 * (tcp_budget.h). A connection above its share (others came since it grew) is trimmed
 * back to it at its next measurement; what was advertised is never taken back
 * (tcp_output_window keeps the right edge; RFC 9293 3.8.6), the window only reopens
 * less as the user reads.
 *
 * Called per event (a read, a state change): no allocation, a few integer operations.
 * Calls tcp_budget and tcp_timer (the clock); tcp_tcb, tcp_input and tcp.c call it.
 * Internal to the stack.
 */
#ifndef LBD_TCP_RCVBUF_H
#define LBD_TCP_RCVBUF_H

#include "tcp/tcp_types.h"

/* The shortest measurement interval: the clock's resolution (the wheel's millisecond). */
#define TCP_RCVBUF_MIN_RTT_MS 1

/* A fresh control block's buffer: conf.rcvbuf_init (what its SYN or SYN-ACK offers). */
void tcp_rcvbuf_init(struct tcp_conn *c);

/* c is established: its buffer counts in the share from now on, and the first
 * measurement starts (at rcv_nxt). */
void tcp_rcvbuf_open(struct tcp_conn *c);

/* No more data can come (the peer's FIN, the user closed, the block is freed): c's
 * buffer no longer counts. Idempotent. */
void tcp_rcvbuf_close(struct tcp_conn *c);

/* The user read from c's receive queue: one step of the auto-tuning when a round trip
 * has passed since the last (grow to twice what was read in it, within the maximum,
 * the share and the budget; or trim to the share). */
void tcp_rcvbuf_adjust(struct tcp_conn *c);

#endif
