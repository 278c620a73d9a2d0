/*
 * tcp_txwait: connections that hold new data back while the worker's ports have a
 * transmit backlog (base/lcore_ctx.h), the way Linux's TCP Small Queues stop a socket
 * that has enough queued below it.
 *
 * A port's tx queue that fills (rte_eth_tx_burst taking fewer than offered) puts the
 * rest in the lcore's backlog instead of dropping it; the stack reads the backlog's
 * size through conf.tx_backlog and, while it is not 0, sends no more new data or
 * retransmissions of recovery: the connection that would is parked here (TCPF_TXWAIT)
 * and tcp_output goes on with only what must go at once (a pure ACK). The worker,
 * once its ports took the whole backlog, resumes them (tcp_stack_tx_resume): oldest
 * first, each one tcp_output, until the backlog builds again; one that cannot empty
 * (a port saturated by other traffic) gets a forced resume instead after a while, so
 * that no connection waits for ever (they then send into it as before it existed, and
 * its cap drops what does not fit). A tail loss probe that comes due while the backlog
 * is not empty is not sent (tlp_held): what it would probe may still be in the
 * backlog, as Linux's skb_still_in_host_queue; the RTO stays. Without it a large
 * window's output overflows the queue, and the stack takes the drops for loss.
 *
 * The parked connections are a FIFO of control block indexes, a DPDK ring of 32-bit
 * elements (single producer and consumer: the worker) with room for every control
 * block (one entry each: the flag keeps a connection from being parked twice),
 * allocated at start-up. A connection freed while parked leaves a stale entry,
 * skipped (TCPF_DEAD, or no TCPF_TXWAIT) when it comes up. Per segment: one load and
 * a compare; no allocation. Internal to the stack.
 */
#ifndef LBD_TCP_TXWAIT_H
#define LBD_TCP_TXWAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* True while the worker's ports have a transmit backlog (conf.tx_backlog). */
static inline bool tcp_txwait_busy(const struct tcp_stack *st)
{
    return st->conf.tx_backlog != NULL && *st->conf.tx_backlog != 0 && !st->txw_forced;
}

/* Allocates the FIFO (start-up). Returns 0 or LBD_ENOMEM. */
int tcp_txwait_create(struct tcp_stack *st);
void tcp_txwait_destroy(struct tcp_stack *st);

/* How many entries the FIFO holds (stale ones included). */
unsigned tcp_txwait_count(const struct tcp_stack *st);

/* Parks c until the backlog is gone (counted tx_waits; at once when it already is
 * parked). */
void tcp_txwait_park(struct tcp_conn *c);

/* True, c parked, when the ports have a backlog: what c would send now waits. */
static inline bool tcp_txwait_hold(struct tcp_conn *c)
{
    if (!tcp_txwait_busy(c->st))
        return false;
    tcp_txwait_park(c);
    return true;
}

/* Runs tcp_output for the parked connections, oldest first, while no backlog builds;
 * force: every one parked now, whatever the backlog (tx_wait_forced). Returns how
 * many were resumed. */
unsigned tcp_txwait_resume(struct tcp_stack *st, bool force);

#endif
