/*
 * dataplane: the set of workers, their ports, rings and the published snapshot: what
 * the control core drives (the top of the dataplane, above the worker loop).
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

#include "base/dp_limits.h"
#include "base/pool_size.h"
#include "base/drop.h"
#include "config.h"
#include "log.h"
#include "net/neigh.h"
#include "net/port.h"
#include "snapshot/snapshot.h"
#include "worker.h"

struct dataplane {
    struct snapshot *snap;              /* atomic; workers load it each iteration */
    int quit;                           /* atomic; set by the control core */
    unsigned n_workers;
    uint32_t idle_sleep_us;
    struct worker *workers[DP_MAX_WORKERS];
    struct rte_mempool *pools[DP_MAX_WORKERS];
    struct pool_size pool_size[DP_MAX_WORKERS]; /* how each pool was sized (pool_size.h) */
    struct rte_ring *handoff[DP_MAX_WORKERS][DP_MAX_WORKERS]; /* [from][to] */
    struct rte_ring *to_ctl;
    struct rte_ring *to_worker[DP_MAX_WORKERS];  /* control -> worker i (ctl_msg) */
    /* The HA pair (control/ha.c): datagrams to and from the peer, sync records. */
    struct rte_ring *ha_rx;             /* workers -> control (mbufs, multi-producer) */
    struct rte_ring *ha_tx[DP_MAX_WORKERS];     /* control -> worker i (mbufs) */
    struct rte_ring *sync_out;          /* workers -> control (struct ha_rec) */
    struct rte_ring *sync_in[DP_MAX_WORKERS];   /* control -> worker i (struct ha_rec) */
    struct rte_ring *log_ring[DP_MAX_WORKERS];  /* worker i -> control: traffic log
                                                   records (struct txlog_rec) */
    struct rte_mempool *ctl_pool;       /* the control core's mbufs */
    bool ha_standby;                    /* copied into every snapshot published */
    bool ha_sync;
    struct rte_rcu_qsbr *qsbr;
    struct neigh_table *neigh;
    uint64_t neigh_age_ms;              /* the next aging pass (control clock) */
    struct log_limit neigh_full_log;    /* "neighbour table full", at most every 10 s */
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

#define DP_NEIGH_WARN_MS 10000      /* "neighbour table full" at most this often */

/*
 * Control core: handles up to max pending worker messages; returns how many.
 * Neighbour messages are handled here (a full table is logged at most once per
 * DP_NEIGH_WARN_MS, with the count of what was refused); every other message goes
 * to handler. Every NEIGH_AGE_INTERVAL_MS, also ages the neighbour table: expired
 * entries are removed, stale ones probed through the workers (CTL_MSG_NEIGH_PROBE).
 */
unsigned dp_poll_ctl(struct dataplane *dp, uint64_t now_ms, unsigned max,
                     void (*handler)(void *ctx, const struct ctl_msg *msg), void *ctx);

/* Control core: worker i's timer wheel, for its counters (fired, budget_hits,
 * pending); written by the worker only. */
const struct twheel *dp_worker_wheel(const struct dataplane *dp, unsigned i);

/*
 * Control core, the HA pair. dp_ha_send: the IPv4 packet m (from dp->ctl_pool,
 * starting at its IP header) goes out through worker 0's ip_out; 0, or LBD_EBUSY
 * (m freed). dp_ha_recv: up to max datagrams from the peer (mbufs whose data is the
 * UDP payload, hash.usr the sender), the caller frees them. dp_sync_recv: up to max
 * records the workers streamed. dp_sync_install: record r to the worker owning its
 * client; 0 or LBD_EBUSY.
 */
struct ha_rec;
int dp_ha_send(struct dataplane *dp, struct rte_mbuf *m);
unsigned dp_ha_recv(struct dataplane *dp, struct rte_mbuf **out, unsigned max);
unsigned dp_sync_recv(struct dataplane *dp, struct ha_rec *out, unsigned max);
int dp_sync_install(struct dataplane *dp, const struct ha_rec *r);

/* Control core: up to max traffic log records of worker i (common/txlog.h). */
struct txlog_rec;
unsigned dp_log_recv(struct dataplane *dp, unsigned i, struct txlog_rec *out, unsigned max);

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
