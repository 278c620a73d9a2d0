/*
 * tcp_tw: the stack's TIME_WAIT table. A connection that enters TIME_WAIT gives its
 * control block back to the pool at once and leaves a 56-byte entry here (struct
 * tcp_tw_entry: the 4-tuple, both sequence numbers, the window and the timestamps
 * its ACKs need) for time_wait_ms. Entries sit in a fixed array of conf.max_time_wait
 * with their own 4-tuple hash, in arrival order, which is expiry order: one timer at
 * the oldest entry's expiry serves them all. A full table evicts its oldest entry
 * (time_wait_evicted). So the rate of new connections is bounded by the CPU, not by
 * the control blocks, which hold only the connections that are open. What a segment
 * for an entry gets is tcp_input's (RFC 9293 3.10.7.4, RFC 6191). Calls tcp_tcb,
 * tcp_output and tcp_timer; called by tcp_input and tcp.c. Internal to the stack.
 */
#ifndef LBD_TCP_TW_H
#define LBD_TCP_TW_H

#include <stddef.h>

#include "tcp/tcp_types.h"

/* Expired entries removed per run of the expiry timer; the rest go in the next tick. */
#define TCP_TW_EXPIRE_BUDGET 256

/* Creates the table of st (st->conf.max_time_wait entries, 4 x max_conns for 0).
 * Slow path (tcp_stack_create). Returns 0 or an LBD_E* error with err filled. */
int tcp_tw_create(struct tcp_stack *st, char *err, size_t errlen);

/* Frees the table (its timer cancelled). Harmless on a table never created. */
void tcp_tw_destroy(struct tcp_stack *st);

/*
 * c enters TIME_WAIT now (its state already TCP_TIME_WAIT, the user told CLOSED):
 * the ACK it owes goes out, an entry takes over (the oldest evicted when the table is
 * full) and c is freed. n_state[TCP_TIME_WAIT] and n_conns count the entry.
 */
void tcp_tw_enter(struct tcp_conn *c);

/* The entry of k, or NULL. An entry found past its expiry (the timer's budget left
 * it) is removed and not returned. */
struct tcp_tw_entry *tcp_tw_lookup(struct tcp_stack *st, const struct tcp_key *k);

/* Removes e (a SYN reuses its 4-tuple, or it expired). */
void tcp_tw_remove(struct tcp_stack *st, struct tcp_tw_entry *e);

/* 2 MSL from now for e (a retransmitted FIN): it becomes the newest. */
void tcp_tw_restart(struct tcp_stack *st, struct tcp_tw_entry *e);

#endif
