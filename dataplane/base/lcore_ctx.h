/*
 * lcore_ctx: what a module running on a worker lcore needs from "its" worker,
 * handed to it instead of reached up for: the lcore's identity, its clock and
 * timer wheel, the snapshot of the current loop iteration, its mbuf pool, transmit
 * on its own tx queues, drop-and-count, and posting to the control core.
 *
 * The worker (worker.h) owns one and fills it; every layer below the worker loop
 * (net/, l4/, tcp/, proxy/, health/) takes a pointer to it, so each can be driven
 * by a unit test that fills a context of its own. Written and read by its own
 * worker lcore only (the control core reads the counters it points to).
 */
#ifndef LBD_LCORE_CTX_H
#define LBD_LCORE_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "base/ctl_msg.h"
#include "base/dp_limits.h"
#include "base/drop.h"
#include "base/twheel.h"

struct snapshot;
struct traffic_stats;

/* The counters every module counts into through the context. */
struct lcore_stats {
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t mbuf_alloc_failed;
    uint64_t ctl_ring_full;
    uint64_t tx_linearized;             /* chained packets copied into one segment for a
                                           port that takes fewer (lcore_tx) */
    uint64_t csum_completed;            /* partial L4 checksums (virtio-net) made final
                                           before a packet was sent on (net/rx_csum.h) */
    uint64_t tx_csum_sw;                /* TCP checksums left for the port computed in
                                           software: the port does not offload them */
    uint64_t tx_csum_offloaded;         /* ... handed to the port (RTE_ETH_TX_OFFLOAD_
                                           TCP_CKSUM, after rte_eth_tx_prepare) */
    uint64_t tx_prepare_failed;         /* rte_eth_tx_prepare refused a packet: its
                                           checksum computed in software instead (a
                                           TSO frame: segmented in software) */
    uint64_t tx_tso_offloaded;          /* TSO frames (RTE_MBUF_F_TX_TCP_SEG) handed to
                                           the port to segment */
    uint64_t tx_tso_sw;                 /* ... segmented in software instead (librte_gso):
                                           the port has no TSO, refused the frame, or
                                           takes fewer segments than it has */
    uint64_t tx_tso_sw_segs;            /* the segments those made */
    uint64_t tx_backlogged;             /* packets a port's transmit queue did not take at
                                           once, kept in its backlog (lcore_txq) */
    uint64_t tx_backlog_aged;           /* ... dropped from it because the port took none
                                           for LCORE_TX_HEAD_MS (its oldest) or
                                           LCORE_TX_STALL_MS (all; also counted tx_full) */
    uint64_t drops[DROP_MAX];
};

/* A backlog the port took nothing of for this long is dropped (a link down, a queue
 * stuck): its packets would arrive stale, and the pool needs its mbufs back. */
#define LCORE_TX_STALL_MS 100
/* ... and its oldest packet alone each time this long passes without progress: a packet
 * the port refuses rather than a full queue (net_tap's check of a TSO frame's size
 * stops its burst there, every time) would otherwise hold the port's whole backlog. */
#define LCORE_TX_HEAD_MS 10

/*
 * A port's transmit backlog on one lcore: what the port's tx queue did not take
 * (rte_eth_tx_burst returned short), kept in order instead of dropped, and sent
 * first at the next flush (lcore_tx_flush). While it holds anything every new packet
 * for the port joins it, so that the order on the wire stays the order sent. Full,
 * a packet is dropped as tx_full. The TCP stack reads the lcore's total
 * (lcore_ctx.tx_backlog) and holds back new data while it is not 0 (tcp.h).
 */
struct lcore_txq {
    uint32_t head;                      /* the oldest packet's slot */
    uint32_t n;                         /* packets held */
    uint64_t since_ms;                  /* when the port last took some of them (or the
                                           backlog began) */
    uint64_t head_ms;                   /* ... or its oldest was last dropped */
    struct rte_mbuf *m[DP_TX_BACKLOG];
};

struct lcore_ctx {
    unsigned id;                        /* worker index: its rx/tx queue on every port */
    unsigned n_workers;
    uint64_t now_ms;                    /* the lcore's clock, read once per loop iteration */
    const struct snapshot *snap;        /* the snapshot of the current iteration */
    struct twheel wheel;                /* the lcore's timers (connections, TCP, checks) */
    struct rte_mempool *pool;           /* mbufs this lcore allocates */
    struct rte_eth_dev_tx_buffer *txb[DP_MAX_PORTS];  /* NULL: port not in use */
    struct lcore_txq *txq[DP_MAX_PORTS];  /* the port's backlog; NULL: none (what the
                                             queue does not take is dropped) */
    uint32_t tx_backlog;                /* packets in all of them together */
    uint16_t tx_max_segs[DP_MAX_PORTS]; /* segments a packet may have on the port;
                                           0: no limit */
    uint16_t tx_mtu[DP_MAX_PORTS];      /* the port's MTU (IP bytes); 0: 1500 */
    uint8_t tx_csum[DP_MAX_PORTS];      /* LCORE_TX_CSUM_*: checksums the port computes
                                           (from its enabled tx offloads; 0: none) */
    uint16_t mtu_min;                   /* the least of them; 0: 1500 */
    struct rte_ring *to_ctl;            /* shared worker -> control ring (ctl_msg) */
    struct rte_ring *sync_out;          /* shared worker -> control ring of HA sync
                                           records (struct ha_rec); NULL: none */
    struct lcore_stats *stats;
    struct traffic_stats *traffic;      /* by service and real server (snapshot/traffic.h) */
};

/* lcore_ctx.tx_csum bits. */
#define LCORE_TX_CSUM_TCP 0x1           /* RTE_ETH_TX_OFFLOAD_TCP_CKSUM enabled */
#define LCORE_TX_TSO 0x2                /* RTE_ETH_TX_OFFLOAD_TCP_TSO */
#define LCORE_TX_TSO_IP 0x4             /* with it, RTE_ETH_TX_OFFLOAD_IPV4_CKSUM: the
                                           frame's IPv4 header checksum is the port's
                                           too (else computed in software) */

/*
 * A packet whose TCP checksum is left to the transmit path (the TCP stack with
 * conf.tx_csum_defer): ol_flags RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM, l3_len
 * and l4_len set, the IPv4 header checksum final, the TCP field holding the
 * pseudo-header sum (rte_ipv4_phdr_cksum). lcore_tx_csum_sw makes the checksum final
 * in software, the IPv4 header at l3_off of m, and clears the flags.
 */
void lcore_tx_csum_sw(struct rte_mbuf *m, uint32_t l3_off);

/*
 * Out of line, for lcore_tx: m (Ethernet header first) asks for a TCP checksum. Left to
 * the port when it offloads it (l2_len set, rte_eth_tx_prepare: tx_csum_offloaded),
 * computed in software otherwise (tx_csum_sw) or when the port's prepare refuses it
 * (tx_prepare_failed). Returns m.
 *
 * A TSO frame (RTE_MBUF_F_TX_TCP_SEG, tso_segsz, the IPv4 checksum and the TCP
 * pseudo-header sum without the length left to the port: the TCP stack with
 * conf.tso_max) is handed to a port with LCORE_TX_TSO when it has no more segments
 * than the port takes and rte_eth_tx_prepare accepts it (tx_tso_offloaded); any other
 * is cut into tso_segsz pieces in software (lcore_tx_tso_sw) and sent through
 * lcore_tx one by one. Returns NULL then (m consumed).
 */
struct rte_mbuf *lcore_tx_csum(struct lcore_ctx *lc, struct rte_mbuf *m);

/*
 * Out of line: m is a TSO frame the port does not segment. Cut with librte_gso into
 * segments of m->tso_segsz payload bytes (IPv4 ids counting up, FIN and PSH on the
 * last only), each made final (IPv4 checksum in software, the TCP one by the port or
 * software as for any segment) and sent with lcore_tx; counted as tx_tso_sw and
 * tx_tso_sw_segs. m is consumed; on failure (an empty pool) it is dropped as
 * tx_segments and the TCP stack's retransmission recovers.
 */
void lcore_tx_tso_sw(struct lcore_ctx *lc, struct rte_mbuf *m);

/*
 * Out of line, for lcore_tx: m has more segments than its port takes (max). Returns m
 * in one segment (linearized in place, or copied from the lcore's pool), counted as
 * tx_linearized; or NULL when it could not be, m dropped as tx_segments.
 */
struct rte_mbuf *lcore_tx_linearize(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t max);

/*
 * Out of line: puts the n packets of pkts at the end of their ports' (pkts[i]->port)
 * backlogs, counted as tx_backlogged; one that finds its backlog full, or its port
 * without one, is dropped as tx_full. Their bytes stay counted in tx_bytes, but a
 * dropped one's.
 */
void lcore_tx_backlog(struct lcore_ctx *lc, struct rte_mbuf **pkts, uint16_t n);

/*
 * Queues m on its port's (m->port) tx buffer, or at the end of the port's backlog
 * while that holds anything; counts it. A checksum left to the
 * transmit path is made final or handed to the port (lcore_tx_csum); a packet with
 * more segments than the port takes (tx_max_segs) is made one segment first.
 */
static __rte_always_inline void lcore_tx(struct lcore_ctx *lc, struct rte_mbuf *m)
{
    uint16_t max = lc->tx_max_segs[m->port];

    if (m->ol_flags & (RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_TCP_SEG)) {
        m = lcore_tx_csum(lc, m);
        if (m == NULL)
            return;
    }

    if (unlikely(max != 0 && m->nb_segs > max)) {
        m = lcore_tx_linearize(lc, m, max);
        if (m == NULL)
            return;
    }
    lc->stats->tx_bytes += rte_pktmbuf_pkt_len(m);
    if (unlikely(lc->tx_backlog != 0) && lc->txq[m->port] != NULL && lc->txq[m->port]->n != 0) {
        lcore_tx_backlog(lc, &m, 1);
        return;
    }
    lc->stats->tx_packets += rte_eth_tx_buffer(m->port, (uint16_t)lc->id, lc->txb[m->port], m);
}

/*
 * Sends what waits for port: its backlog first, from the oldest, as far as the port's
 * tx queue takes it, then (the backlog empty) its tx buffer. A backlog the port took
 * nothing of for LCORE_TX_STALL_MS (by lc->now_ms) is dropped (tx_backlog_aged,
 * tx_full), its oldest packet alone every LCORE_TX_HEAD_MS before that. Returns the
 * packets the port took (counted in tx_packets). The worker calls it for every port
 * at the end of each loop iteration.
 */
uint32_t lcore_tx_flush(struct lcore_ctx *lc, uint16_t port);

/* Frees what is left in every backlog (counted tx_full): the worker's exit. */
void lcore_tx_backlog_free(struct lcore_ctx *lc);

/* The largest IP packet port sends whole (lcore_ctx.tx_mtu). */
static inline uint16_t lcore_mtu(const struct lcore_ctx *lc, uint16_t port)
{
    return lc->tx_mtu[port] != 0 ? lc->tx_mtu[port] : RTE_ETHER_MTU;
}

/* The largest IP packet every port sends whole. */
static inline uint16_t lcore_mtu_min(const struct lcore_ctx *lc)
{
    return lc->mtu_min != 0 ? lc->mtu_min : RTE_ETHER_MTU;
}

/* Frees m and counts it under reason r. */
static inline void lcore_drop(struct lcore_ctx *lc, struct rte_mbuf *m, enum drop_reason r)
{
    lc->stats->drops[r]++;
    rte_pktmbuf_free(m);
}

/* An mbuf from the lcore's pool, or NULL (counted as mbuf_alloc_failed). */
static inline struct rte_mbuf *lcore_alloc(struct lcore_ctx *lc)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(lc->pool);

    if (unlikely(m == NULL))
        lc->stats->mbuf_alloc_failed++;
    return m;
}

/*
 * Sends msg to the control core through the shared worker -> control ring. Returns
 * false, and counts ctl_ring_full, when the ring is full.
 */
static inline bool lcore_to_ctl(struct lcore_ctx *lc, struct ctl_msg *msg)
{
    if (rte_ring_mp_enqueue_elem(lc->to_ctl, msg, sizeof(*msg)) == 0)
        return true;
    lc->stats->ctl_ring_full++;
    return false;
}

/*
 * rte_eth_tx_buffer error callback (userdata = the lcore_ctx): what the port did not
 * take goes to its backlog (lcore_tx_backlog), or is freed and counted as tx_full
 * where the port has none.
 */
void lcore_tx_error(struct rte_mbuf **unsent, uint16_t count, void *userdata);

#endif
