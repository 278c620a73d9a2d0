/*
 * tcp_budget: the worker's buffer budget, which the receive buffers and what the send
 * buffers grew share (tcp_rcvbuf, tcp_sndbuf).
 *
 * The budget is the worker's segment budget counted in bytes of full-size segments
 * (buf_budget = max_buf_segs x conf.mss). It counts every established receive buffer
 * (rcvbuf_bytes) and what each send buffer grew beyond conf.sndbuf
 * (sndbuf_grown_bytes); the initial send buffers do not count, as every connection
 * always has them. A connection's fair share is the budget over the connections that
 * count (rcv_conns), never below the buffer every connection starts with on the side
 * asking (rcvbuf_init, conf.sndbuf): every connection can always have its initial
 * window, and no connection or few can take the budget from the others.
 *
 * Per event, no allocation, a few integer operations; calls nothing. tcp_rcvbuf and
 * tcp_sndbuf call it. Internal to the stack.
 */
#ifndef LBD_TCP_BUDGET_H
#define LBD_TCP_BUDGET_H

#include <stdint.h>

#include "tcp/tcp_types.h"

/* The fair share of the budget: buf_budget / counted connections, at least floor (the
 * side's initial buffer: conf.rcvbuf_init for a receive buffer, conf.sndbuf for a send
 * buffer). */
uint32_t tcp_budget_share(const struct tcp_stack *st, uint32_t floor);

/* What the budget leaves for one buffer that counts own bytes in it now: the budget
 * less everything else counted (0 when the others fill it). */
uint64_t tcp_budget_room(const struct tcp_stack *st, uint64_t own);

#endif
