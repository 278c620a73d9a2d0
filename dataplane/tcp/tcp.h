/*
 * tcp: the user-space TCP endpoint of one worker (DESIGN.md section 4), its API.
 *
 * One stack per worker, share-nothing: control blocks, listeners, buffers and
 * timers belong to the worker that owns the connection's packets (owner.h). The
 * stack is driven by three things only: segments (tcp_input), the worker's timer
 * wheel (twheel_advance runs the stack's timers) and these calls. It emits segments
 * through conf.tx. Every function here must be called on the owning worker.
 *
 * Users (the L7 proxy, health checks, the test service) get events through a
 * tcp_event_fn (tcp_types.h). Callbacks may call any function here, on this
 * connection or another one of the same stack; the stack defers its own output and
 * the release of control blocks to the end of the outermost call, so a callback
 * never pulls a control block from under the code that called it.
 *
 * Payload moves as mbufs: tcp_send takes the caller's mbufs into the send queue and
 * transmits indirect mbufs attached to them; tcp_recv hands out the mbufs that
 * arrived (headers cut off). Nothing is copied.
 */
#ifndef LBD_TCP_H
#define LBD_TCP_H

#include <stddef.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* Fills c with the defaults (doc/tcp.md lists them); callers then set the fields
 * that have no default: name, wheel, pool, tx, worker_id, n_workers. */
void tcp_stack_conf_default(struct tcp_stack_conf *c);

/*
 * Creates a stack (slow path: start-up). Allocates every control block, the tables
 * and the out-of-order pool up front. Returns NULL and fills err on failure.
 */
struct tcp_stack *tcp_stack_create(const struct tcp_stack_conf *conf, char *err,
                                   size_t errlen);

/* Frees the stack, its connections (without sending anything) and their mbufs. */
void tcp_stack_free(struct tcp_stack *st);

/* The worker's microsecond clock, read once per loop (RACK's transmit times, RFC
 * 8985); until it is set, the stack counts in the wheel's milliseconds. */
static inline void tcp_stack_set_clock_us(struct tcp_stack *st, uint64_t now_us)
{
    st->clock_us = now_us;
}

/* True when connections hold new data back for the worker's transmit backlog
 * (conf.tx_backlog, tcp_txwait.h). */
bool tcp_stack_tx_waiting(const struct tcp_stack *st);

/*
 * The worker's ports took its whole transmit backlog: the connections that held new
 * data back for it send, oldest first, until a backlog builds again (they wait for the
 * next call then). Returns how many sent. The worker calls it after its flush; with
 * force when the backlog did not empty for DP_TX_WAIT_MAX_MS (a port saturated by
 * other traffic): then every connection parked sends, the backlog notwithstanding.
 */
unsigned tcp_stack_tx_resume(struct tcp_stack *st, bool force);

/*
 * Listens on (ip, port); ip 0 = every address that reaches the stack. New
 * connections inherit fn/arg and report TCP_EV_ESTABLISHED. backlog bounds the
 * half-open connections; beyond it the listener answers with SYN cookies (0 = the
 * stack's default). Returns 0, LBD_EEXIST, or LBD_ENOMEM when the table is full.
 */
int tcp_listen(struct tcp_stack *st, uint32_t ip, uint16_t port, uint32_t backlog,
               tcp_event_fn fn, void *arg);

/* Stops listening; existing connections are not affected. 0 or LBD_ENOENT. */
int tcp_unlisten(struct tcp_stack *st, uint32_t ip, uint16_t port);

/* Local ports fn says are taken (a service port of the same address, whose packets
 * would not reach the stack) are never picked for an active open. */
void tcp_stack_set_port_filter(struct tcp_stack *st,
                               bool (*fn)(void *arg, uint32_t laddr, uint16_t lport), void *arg);

/*
 * Active open from laddr to (raddr, rport). The stack picks the local port so that
 * lport % n_workers == worker_id (owner.h) and the 4-tuple is free. The SYN goes
 * out at once; TCP_EV_ESTABLISHED, TCP_EV_RESET (refused) or TCP_EV_TIMEOUT follow.
 * Returns 0 and *out, LBD_ENOMEM (no control block), LBD_EBUSY (no free port).
 */
int tcp_connect(struct tcp_stack *st, uint32_t laddr, uint32_t raddr, uint16_t rport,
                tcp_event_fn fn, void *arg, struct tcp_conn **out);

/* Changes who receives c's events. */
void tcp_set_handler(struct tcp_conn *c, tcp_event_fn fn, void *arg);

/* Idle timeout of c (ms without a segment from the peer); 0 = none. */
void tcp_set_idle_timeout(struct tcp_conn *c, uint32_t ms);

/* Congestion control of c (enum tcp_cc; new connections take conf.cc): takes effect
 * from the next ACK, keeping cwnd and ssthresh. 0 or LBD_EINVAL. */
int tcp_set_cc(struct tcp_conn *c, enum tcp_cc cc);

/*
 * Bracket a burst of tcp_input calls (they nest with every other entry; not with
 * themselves): the output a segment's callbacks ask of other connections waits for
 * tcp_burst_end, so that what a burst brings for one connection leaves as few segments
 * as it can: a server's answer and its FIN, proxied to the client, as one segment. A
 * segment's own connection still answers at once (its ACK every second segment, a
 * duplicate ACK, what the ACK lets it send), as outside a burst, and so does bulk
 * (tcp_send leaving two full segments or more unsent).
 */
void tcp_burst_begin(struct tcp_stack *st);
void tcp_burst_end(struct tcp_stack *st);

/*
 * The user has more data to send at once (more: true), as Linux's MSG_MORE: a tail of
 * new data smaller than a full segment is not sent on its own but waits for the data
 * that fills it (more_held), so that a stream written in pieces that are not multiples
 * of the MSS leaves in full segments, not a full one and a runt for each piece. A FIN,
 * a retransmission and the persist timer's probe are never held. Clearing it sends
 * what waited. Off for a new connection (no Nagle: every write goes out at once).
 */
void tcp_set_more(struct tcp_conn *c, bool more);

/* Bytes tcp_send would accept now (0 once the user shut down writing). */
uint32_t tcp_send_space(const struct tcp_conn *c);

/*
 * Queues the packet m (any number of segments) for sending. All or nothing: on 0
 * the stack owns m; on error the caller keeps it. Errors: LBD_ESTATE (not
 * connected, or writing shut down), LBD_EBUSY (over the send buffer: wait for
 * TCP_EV_WRITABLE), LBD_ENOMEM (the stack's buffer cap).
 */
int tcp_send(struct tcp_conn *c, struct rte_mbuf *m);

/* Bytes waiting in the receive queue. */
uint32_t tcp_recv_bytes(const struct tcp_conn *c);

/*
 * Takes up to max bytes from the receive queue as one packet (the caller owns it),
 * or NULL when empty. Opens the receive window (a window update goes out when it
 * grew enough).
 */
struct rte_mbuf *tcp_recv(struct tcp_conn *c, uint32_t max);

/* Shuts down writing: a FIN follows the queued data. 0 or LBD_ESTATE. */
int tcp_shutdown(struct tcp_conn *c);

/*
 * Closes: like tcp_shutdown, and the user lets go of c (no more events; later
 * data is discarded). The stack finishes the close on its own. Unread data
 * turns the close into an abort (RFC 2525). c is invalid afterwards.
 */
void tcp_close(struct tcp_conn *c);

/* Sends a RST (when synchronized) and frees c at once. c is invalid afterwards. */
void tcp_abort(struct tcp_conn *c);

static inline enum tcp_state tcp_conn_state(const struct tcp_conn *c)
{
    return (enum tcp_state)c->state;
}

/*
 * What a user of the stack holds outside its queues (the proxy's data of a half that
 * closed, a packet tcp_send refused) is charged against the stack's buffer cap
 * (max_buf_segs) like the queues themselves, so that the stack and its users together
 * hold no more segments than the worker's pool was sized for. A charge is never
 * refused (the data is held already): over the cap, the stack refuses new data and
 * closes its receive windows until the user releases what it charged.
 */
void tcp_buf_charge(struct tcp_stack *st, uint32_t segs);
void tcp_buf_release(struct tcp_stack *st, uint32_t segs);

/* A user of the stack found conf.pool empty: counted in the worker's
 * mbuf_alloc_failed (conf.mbuf_alloc_failed) with the stack's own failures. */
void tcp_alloc_failed(struct tcp_stack *st);

/* Counters. */
const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *st);
#define TCP_STAT_COUNT (sizeof(struct tcp_stats) / sizeof(uint64_t))
const char *tcp_stat_name(unsigned i);
const char *tcp_state_name(enum tcp_state s);

#endif
