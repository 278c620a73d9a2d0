/*
 * tcp_tcb: control blocks of one stack: the preallocated pool, the 4-tuple table
 * (rte_hash), the listener table, the per-state counts, buffer accounting and
 * initial sequence numbers. A freed block goes back to the pool only outside every
 * entry (st->depth 0; tcp_entry runs the rest at the end of the outermost one).
 * Calls only tcp_timer and tcp_rcvbuf; output and everything above may call it.
 * Internal to the stack.
 */
#ifndef LBD_TCP_TCB_H
#define LBD_TCP_TCB_H

#include <stdbool.h>

#include "tcp/tcp_types.h"

/* A fresh control block for k in state CLOSED, in the table; NULL when the pool or
 * the table is full (counted as refused_conns). A connection in TIME_WAIT holds no
 * block (tcp_tw.h). */
struct tcp_conn *tcp_tcb_alloc(struct tcp_stack *st, const struct tcp_key *k);

/* Whether tcp_tcb_alloc would find a block. */
bool tcp_tcb_have_free(struct tcp_stack *st);

struct tcp_conn *tcp_tcb_lookup(struct tcp_stack *st, const struct tcp_key *k);

/* Removes c from the table, stops its timers, frees its buffers, and returns it to
 * the pool at the end of the current entry (at once outside any). Idempotent. */
void tcp_tcb_free(struct tcp_conn *c);

/* Changes state, keeping the per-state counts. */
void tcp_tcb_set_state(struct tcp_conn *c, enum tcp_state s);

/* The listener for (ip, port): exact address first, then the wildcard; or NULL. */
struct tcp_listener *tcp_tcb_listener(struct tcp_stack *st, uint32_t ip, uint16_t port);

/* Returns the control blocks freed meanwhile (the reap list) to the pool (depth 0
 * only). */
void tcp_tcb_reap(struct tcp_stack *st);

/* Initial sequence number for k (RFC 6528, or conf.iss_fn). */
uint32_t tcp_tcb_iss(struct tcp_stack *st, const struct tcp_key *k);

/* The TSval offset of k's connections (RFC 7323 7.1): keyed SipHash of the 4-tuple. */
uint32_t tcp_tcb_ts_offset(const struct tcp_stack *st, const struct tcp_key *k);

/* An mbuf allocation of the stack failed: counted in the worker's mbuf_alloc_failed
 * (the stack's own counters say which allocation). */
static inline void tcp_tcb_alloc_failed(struct tcp_stack *st)
{
    if (st->conf.mbuf_alloc_failed != NULL)
        (*st->conf.mbuf_alloc_failed)++;
}

/* Buffer accounting against max_buf_segs. */
static inline bool tcp_tcb_buf_room(const struct tcp_stack *st, uint32_t segs)
{
    return st->buf_segs + segs <= st->conf.max_buf_segs;
}

#endif
