/*
 * worker: one poll-mode worker lcore (DESIGN.md section 2).
 *
 * The struct is written by its own worker only (the control core reads the
 * counters); hot fields first, counters last.
 */
#ifndef LBD_WORKER_H
#define LBD_WORKER_H

#include <stdint.h>

#include <rte_common.h>
#include <rte_ethdev.h>

#include <stdbool.h>

#include "base/ctl_msg.h"
#include "dataplane.h"
#include "l4/conn.h"
#include "net/ip_out.h"
#include "l4/persist_ctl.h"
#include "health/probe.h"
#include "l4/persist.h"
#include "l4/scheduler.h"
#include "tcp/tcp_types.h"
#include "base/twheel.h"

#define WORKER_IDLE_POLLS 64    /* empty iterations before an idle sleep */

struct worker {
    /* hot: every iteration */
    struct dataplane *dp;
    unsigned id;
    unsigned n_workers;
    uint16_t n_rx_ports;
    uint16_t n_tx_ports;
    uint16_t rx_ports[SNAP_MAX_PORTS];  /* ports where rx queue `id` exists */
    uint16_t tx_ports[SNAP_MAX_PORTS];
    struct rte_eth_dev_tx_buffer *txb[SNAP_MAX_PORTS];
    struct rte_ring *ring_in[DP_MAX_WORKERS];
    struct rte_ring *ring_out[DP_MAX_WORKERS];
    uint16_t stage_n[DP_MAX_WORKERS];
    struct rte_mbuf *stage[DP_MAX_WORKERS][DP_BURST];
    uint64_t now_ms;                    /* worker clock, read once per loop iteration */
    uint64_t cycles_per_ms;
    struct twheel wheel;                /* this worker's timers (connections, TCP) */
    struct ip_out_queue arpq;           /* packets waiting for a neighbour */
    struct conn_table *conns;           /* Layer 4 connections of this worker's clients */
    struct persist_table *persist;      /* source-IP persistence of the same clients */
    struct sched_state *sched;          /* wrr positions, max_conns shares */
    uint64_t snap_generation;           /* last snapshot seen (timeouts applied) */
    struct tcp_stack *tcp;              /* this worker's TCP endpoint (tcp.h) */
    struct proxy *proxy;                /* Layer 7 TCP-mode proxy on that stack (proxy.h) */
    struct probe_tcp probes[PROBE_TCP_SLOTS];   /* connect / http checks in flight */
    struct persist_ctl_dump pdump;      /* persist.list in progress */
    const struct snapshot *snap;        /* the snapshot of the current iteration */

    /* set-up */
    unsigned lcore;
    uint32_t idle_sleep_us;

    struct worker_stats stats __rte_cache_aligned;
} __rte_cache_aligned;

/* Queues m on its port's (m->port) tx buffer; counts it. Worker only. */
static inline void worker_tx(struct worker *w, struct rte_mbuf *m)
{
    w->stats.tx_bytes += rte_pktmbuf_pkt_len(m);
    w->stats.tx_packets += rte_eth_tx_buffer(m->port, (uint16_t)w->id, w->txb[m->port], m);
}

/*
 * Sends msg to the control core through the shared worker -> control ring. Returns
 * false, and counts ctl_ring_full, when the ring is full. Worker only.
 */
static inline bool worker_to_ctl(struct worker *w, struct ctl_msg *msg)
{
    if (rte_ring_mp_enqueue_elem(w->dp->to_ctl, msg, sizeof(*msg)) == 0)
        return true;
    w->stats.ctl_ring_full++;
    return false;
}

/* Frees m and counts it under reason r. Worker only. */
static inline void worker_drop(struct worker *w, struct rte_mbuf *m, enum drop_reason r)
{
    w->stats.drops[r]++;
    rte_pktmbuf_free(m);
}

/*
 * Handles a burst of received packets (from_ring: handed over by another worker)
 * with snapshot s; takes ownership of every mbuf. The worker loop's per-burst job,
 * and the entry point of packet-in tests and of the benchmark. Worker only.
 */
void worker_burst(struct worker *w, const struct snapshot *s, struct rte_mbuf **pkts,
                  unsigned n, bool from_ring);

/*
 * Set-up, before the worker runs: its Layer 4 tables (capacity from the config) on
 * NUMA socket `socket`. Returns 0 or LBD_ENOMEM. worker_l4_free undoes it.
 */
int worker_l4_init(struct worker *w, uint32_t max_conns, int socket);
void worker_l4_free(struct worker *w);

/* lcore entry point; arg is the struct worker. Returns when dp->quit is set. */
int worker_main(void *arg);

/* TCP stack transmit hook (tcp_types.h): sends through ip_out. arg is the worker. */
void worker_tcp_tx(void *arg, struct rte_mbuf *m, uint32_t dst_ip);

/* tx buffer error callback: counts and frees what the port did not take. */
void worker_tx_error(struct rte_mbuf **unsent, uint16_t count, void *userdata);

#endif
