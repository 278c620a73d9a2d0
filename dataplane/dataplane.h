/*
 * dataplane: the set of workers, their ports, rings and the published snapshot.
 *
 * Ownership: the control core creates and destroys the dataplane, publishes
 * snapshots and reads statistics; each worker writes only its own struct worker.
 * Workers pass packets they do not own to the owner through one single-producer /
 * single-consumer ring per ordered pair of workers, and send control messages
 * (neighbour learning) through one multi-producer ring to the control core.
 */
#ifndef LBD_DATAPLANE_H
#define LBD_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "config.h"
#include "base/drop.h"
#include "net/neigh.h"
#include "net/port.h"
#include "snapshot/snapshot.h"

#define DP_MAX_WORKERS 16
#define DP_BURST 32
#define DP_POOL_MBUFS 8191
#define DP_TCP_CONNS 32768          /* TCP control blocks per worker (both halves of
                                       proxied connections, TIME_WAIT included) */
#define DP_PROXY_SESSIONS 16384     /* Layer 7 proxied connections per worker */
#define DP_HANDOFF_RING_SIZE 4096
#define DP_CTL_RING_SIZE 4096
#define DP_NEIGH_ENTRIES 4096

/*
 * Layer 7 proxy counters of one worker (proxy.h); every outcome and fallback of the
 * proxy has one. Names are the API's (control/stats.c prints them with a "proxy_"
 * prefix, doc/api.md lists them).
 */
#define PROXY_STATS(X)                                                         \
    X(accepted)             /* client connections established on a VIP */      \
    X(sessions_closed)      /* sessions ended, whatever the reason */          \
    X(no_service)           /* the service went away before the accept */    \
    X(refused_pool)         /* no free session: client reset */              \
    X(no_server)            /* no eligible real server: client reset */      \
    X(connect_attempts)                                                        \
    X(connected)            /* backend connections established */            \
    X(connect_refused)      /* RST from the real server */                     \
    X(connect_timeouts)     /* layer7.connect_timeout_ms (or SYN retries) */   \
    X(connect_errors)       /* no control block or local port */             \
    X(retries)              /* next real server tried after a failure */     \
    X(retry_fallbacks)      /* the scheduler named a server already tried */ \
    X(connect_failed_reset) /* client reset: bound by persistence, or out of tries */ \
    X(persist_hits)                                                            \
    X(persist_moved)        /* persistent server drained, halted, down, full */ \
    X(persist_created)                                                         \
    X(persist_full)                                                            \
    X(client_resets)        /* RST from the client, passed to the server */   \
    X(server_resets)        /* RST from the server, passed to the client */   \
    X(client_timeouts)      /* layer7.client_timeout_s ran out (or retries) */ \
    X(server_timeouts)      /* layer7.server_timeout_s ran out (or retries) */ \
    X(halted)               /* sessions closed: their real server was halted */ \
    X(fin_client)           /* client half-close passed to the server */     \
    X(fin_server)           /* server half-close passed to the client */     \
    X(backpressure)         /* a side had data, the other no send space */   \
    X(send_stalls)          /* tcp_send refused (stack buffer cap): retried */ \
    X(held_after_close)     /* data taken from a side that closed before the other drained it */ \
    X(discarded_bytes)      /* data for a side that is gone */               \
    X(listen_failed)        /* a (VIP, port) the stack could not listen on */

struct proxy_stats {
#define PROXY_STAT_FIELD(n) uint64_t n;
    PROXY_STATS(PROXY_STAT_FIELD)
#undef PROXY_STAT_FIELD
};

/*
 * Traffic of one service or real server on one worker, together so that a packet
 * touches one object's counters in one place. "in" is from the clients towards the
 * real servers, "out" the answers: IP packets and bytes for Layer 4, payload bytes
 * (no packets) for Layer 7. conns: connections made (Layer 4), accepted (a Layer 7
 * service) or opened (a Layer 7 real server).
 */
struct traffic_counters {
    uint64_t packets_in, bytes_in, packets_out, bytes_out, conns;
};

/* Counters of one worker; written by that worker only, read by the control core. */
struct worker_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t handoff_out;
    uint64_t handoff_in;
    uint64_t arp_replies;
    uint64_t arp_learn_sent;
    uint64_t icmp_echo_replies;
    uint64_t arp_requests;
    uint64_t probes_sent;
    uint64_t probe_failed;
    uint64_t probes_ok;
    uint64_t l4_halt_resets;        /* RSTs sent for connections of halted servers */
    uint64_t echo_replies_in;
    uint64_t mbuf_alloc_failed;
    uint64_t ctl_ring_full;
    uint64_t forwarded;             /* routed (not for us, not a Layer 4 answer) */
    uint64_t icmp_errors_sent;      /* time exceeded */
    uint64_t l4_forward_packets;    /* client -> real server, rewritten */
    uint64_t l4_reverse_packets;    /* real server -> client, rewritten */
    uint64_t l4_conns_created;
    uint64_t l4_conns_ended;        /* expired, closed by halt */
    uint64_t l4_conns_midstream;    /* TCP entries created by a packet without SYN */
    uint64_t l4_conns_halted;       /* closed because their real server is halted */
    uint64_t l4_persist_hits;       /* new connection sent to the persistent server */
    uint64_t l4_persist_moved;      /* persistent server drained, halted or gone */
    uint64_t l4_persist_created;
    uint64_t l4_persist_full;       /* no room: the connection went on without */
    uint64_t l4_nh_misses;          /* next hop not cached and not resolved: ip_out asks */
    uint64_t drops[DROP_MAX];
    struct traffic_counters vs[CFG_MAX_VS];     /* by service slot */
    struct traffic_counters rs[SNAP_RS_IDS];    /* by real-server counter index (snapshot.h) */
    uint32_t rs_active_conns[SNAP_RS_IDS];      /* this worker's, by counter index */
    struct proxy_stats proxy;
};

struct worker;

struct dataplane {
    struct snapshot *snap;              /* atomic; workers load it each iteration */
    int quit;                           /* atomic; set by the control core */
    unsigned n_workers;
    uint32_t idle_sleep_us;
    struct worker *workers[DP_MAX_WORKERS];
    struct rte_mempool *pools[DP_MAX_WORKERS];
    struct rte_ring *handoff[DP_MAX_WORKERS][DP_MAX_WORKERS]; /* [from][to] */
    struct rte_ring *to_ctl;
    struct rte_ring *to_worker[DP_MAX_WORKERS];  /* control -> worker i (ctl_msg) */
    struct rte_rcu_qsbr *qsbr;
    struct neigh_table *neigh;
    struct dp_port ports[SNAP_MAX_PORTS];
};

/*
 * Control core, after rte_eal_init: one worker per worker lcore, mbuf pools, rings,
 * the neighbour table, and every port in cfg->interfaces started. Returns 0, or an
 * LBD_E* with err filled; on failure nothing is left allocated or started.
 */
int dp_init(struct dataplane **out, const struct lbd_config *cfg, char *err, size_t errlen);

/* Control core: launches the workers on their lcores. */
int dp_start(struct dataplane *dp);

/*
 * Control core: makes snap the snapshot every worker sees, then frees the previous
 * one once no worker can still be reading it (RCU grace period).
 */
void dp_publish(struct dataplane *dp, struct snapshot *snap);

/* Control core: the published snapshot (the control core is its only writer). */
const struct snapshot *dp_snapshot(const struct dataplane *dp);

struct ctl_msg;

/*
 * Control core: handles up to max pending worker messages; returns how many.
 * Neighbour learning is handled here; every other message goes to handler.
 */
unsigned dp_poll_ctl(struct dataplane *dp, uint64_t now_ms, unsigned max,
                     void (*handler)(void *ctx, const struct ctl_msg *msg), void *ctx);

/* Control core: queues msg for worker. 0, LBD_EBUSY when its ring is full. */
int dp_send_to_worker(struct dataplane *dp, unsigned worker, const struct ctl_msg *msg);

/* Control core: worker i's counters and lcore. */
const struct worker_stats *dp_worker_stats(const struct dataplane *dp, unsigned i);
unsigned dp_worker_lcore(const struct dataplane *dp, unsigned i);

/* Control core: entries in worker i's Layer 4 connection and persistence tables (a
 * racy read of one word each, for statistics). */
uint32_t dp_worker_l4_conns(const struct dataplane *dp, unsigned i);
/* Control core, approximate: worker i's proxy sessions, and mbufs of its pool in use
 * (rings, queues and per-lcore caches). */
uint32_t dp_worker_proxy_sessions(const struct dataplane *dp, unsigned i);
uint32_t dp_worker_mbufs_in_use(const struct dataplane *dp, unsigned i);
uint32_t dp_worker_l4_persist(const struct dataplane *dp, unsigned i);
/* Control core: worker i's TCP stack (counters, connection counts), read only. */
struct tcp_stack;
const struct tcp_stack *dp_worker_tcp(const struct dataplane *dp, unsigned i);

/* Control core: stops the workers and waits for them. */
void dp_stop(struct dataplane *dp);

/* Control core: closes ports and frees everything (workers must be stopped). */
void dp_free(struct dataplane *dp);

#endif
