/*
 * tcp_timeout: what happens when a connection's timer fires: retransmission timeout
 * (SYN and SYN-ACK retries, RFC 6298 backoff and give-up, go-back-N), persist
 * (zero-window probes), the delayed ACK, and the t_idle deadline (connect timeout,
 * idle timeout, FIN_WAIT_2 and TIME_WAIT expiry). tcp_timer arms the timers; these
 * handlers, which send (tcp_output) and end connections (tcp_entry, tcp_tcb), sit
 * above output and reach the wheel through st->timer_fns. Only tcp.c (stack
 * creation) calls in here; the wheel calls the handlers. Internal to the stack.
 */
#ifndef LBD_TCP_TIMEOUT_H
#define LBD_TCP_TIMEOUT_H

#include "tcp/tcp_types.h"

/* Sets st->timer_fns to the handlers here, for tcp_timer_init to put on every new
 * control block. Before the first control block is allocated. */
void tcp_timeout_install(struct tcp_stack *st);

#endif
