/*
 * tcp_sndbuf: send buffer auto-tuning within the worker's fair share.
 *
 * Every connection starts with conf.sndbuf bytes of send buffer (what tcp_send takes
 * before LBD_EBUSY) and grows, as Linux's tcp_sndbuf_expand, while its user keeps the
 * buffer full and the network could carry more: an ACK of new data that finds the
 * buffer full (less than a segment of room) with less than a segment of it waiting to
 * be sent (all of it in flight: neither the congestion window nor the peer's is the
 * limit, the buffer is) sets it to twice the congestion window, so that a window can
 * wait to be sent while one is in flight, up to conf.sndbuf_max and the connection's
 * fair share of the worker's buffer budget (tcp_budget.h), never
 * below conf.sndbuf, and only while the receive buffers and what the send buffers grew
 * (sndbuf_grown_bytes) stay within the budget together. A connection above its share
 * (others came since it grew) is trimmed back to it at its next full ACK; what it
 * queued stays queued (tcp_send_space is 0 until it drains below). The worker's segment
 * budget (tcp_tcb_buf_room) bounds what all queues hold together either way.
 *
 * Without it a connection's throughput is at most conf.sndbuf per round trip: 256 KB
 * is 21 Mbit/s to a client 100 ms away. Called per ACK: no allocation, a few integer
 * operations. Calls tcp_budget (the share and the room); tcp_input and tcp_tcb call it. Internal to
 * the stack.
 */
#ifndef LBD_TCP_SNDBUF_H
#define LBD_TCP_SNDBUF_H

#include "tcp/tcp_types.h"

/* A fresh control block's buffer: conf.sndbuf. */
static inline void tcp_sndbuf_init(struct tcp_conn *c)
{
    c->sndbuf = c->st->conf.sndbuf;
}

/* An ACK of new data arrived, before it is taken off the send queue (smss: the
 * connection's segment size): one step of the auto-tuning when the buffer is full. */
void tcp_sndbuf_ack(struct tcp_conn *c, uint32_t smss);

/* The control block is released: what its buffer grew leaves the budget. */
void tcp_sndbuf_free(struct tcp_conn *c);

#endif
