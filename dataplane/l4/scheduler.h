/*
 * scheduler: choosing a real server for a new Layer 4 connection.
 *
 *   wrr     smooth weighted round robin (each pick: every eligible server gains its
 *           weight, the richest is picked and pays the total): exact shares, spread out
 *   wlc     weighted least connections: the least active/weight, ties to the higher
 *           weight, then to the first in the list
 *   sh      source hash: hash(client IP) into the service's Maglev table, so a client
 *           keeps its server while the set of servers is stable, even without
 *           persistence, and most clients keep it when it changes
 *   maglev  Maglev consistent hashing of the 5-tuple (maglev.h): appliances with the
 *           same servers behind ECMP pick the same server for a flow
 *
 * Eligible: state online, health not down, weight > 0, and under max_conns. Active counts are the
 * worker's own (clients are sharded across workers by hash), so max_conns is
 * enforced as ceil(max_conns / workers) per worker. When the hashed server of sh or
 * maglev is full, the next table entries are tried (a counted fallback).
 *
 * Per-worker state, owning worker only; no allocation.
 */
#ifndef LBD_SCHEDULER_H
#define LBD_SCHEDULER_H

#include <stdint.h>

#include "snapshot/snapshot.h"

#define SCHED_MAGLEV_PROBES 64

struct sched_state {
    unsigned n_workers;
    uint64_t fallbacks;                 /* sh/maglev: hashed server full, next one taken */
    uint32_t wlc_start;                 /* wlc: where the next scan starts (ties rotate) */
    int64_t wrr_current[SNAP_RS_IDS];   /* smooth wrr, by real-server counter index */
};

/* The flow a new connection is for (network order). */
struct sched_flow {
    uint32_t client_ip;
    uint32_t vip;
    uint16_t client_port;
    uint16_t vport;
    uint8_t proto;
};

/* Set-up: a state for a worker among n_workers. */
void sched_init(struct sched_state *st, unsigned n_workers);

/* True when rs may take a new connection (online, healthy, weight, max_conns share). */
static inline int sched_eligible(const struct sched_state *st, const uint32_t *active,
                                 const struct snap_rs *rs)
{
    uint32_t limit;

    if (rs->state != CFG_RS_ONLINE || rs->down || rs->weight == 0)
        return 0;
    if (rs->max_conns == 0)
        return 1;
    limit = (rs->max_conns + st->n_workers - 1) / st->n_workers;
    return active[rs->idx] < limit;
}

/*
 * Owning worker. A real server of vs for flow f by vs->scheduler, or NULL when none
 * is eligible. active: the worker's active connections by real-server counter index.
 */
const struct snap_rs *sched_pick(struct sched_state *st, const uint32_t *active,
                                 const struct snap_vs *vs, const struct sched_flow *f);

#endif
