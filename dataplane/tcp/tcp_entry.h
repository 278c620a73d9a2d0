/*
 * tcp_entry: the entry discipline that makes callbacks safe, and the callbacks to
 * the user. Every way into the stack (the tcp.h calls, tcp_input, a timer firing)
 * brackets its work with tcp_entry_begin/tcp_entry_end; output asked for inside is
 * deferred to the end of the outermost entry, and so is returning freed control
 * blocks to the pool, so a callback never pulls a control block from under the code
 * that called it. Sits above tcp_output (the deferred output) and tcp_tcb; called by
 * tcp_timeout, tcp_input and tcp.c. Internal to the stack.
 */
#ifndef LBD_TCP_ENTRY_H
#define LBD_TCP_ENTRY_H

#include <stdbool.h>

#include "tcp/tcp_types.h"

/* Opens an entry (they nest). */
void tcp_entry_begin(struct tcp_stack *st);

/* Closes an entry; the outermost runs the deferred output (which may defer more),
 * then returns the freed control blocks to the pool. */
void tcp_entry_end(struct tcp_stack *st);

/* Runs tcp_output on c now (outside any entry) or at the end of the entry. */
void tcp_entry_output_later(struct tcp_conn *c);

/* Tells the user; returns false when c died meanwhile (freed by the callback). */
bool tcp_entry_notify(struct tcp_conn *c, enum tcp_event ev);

/* Ends c with a terminal event (if the user is still attached) and frees it. */
void tcp_entry_terminate(struct tcp_conn *c, enum tcp_event ev);

#endif
