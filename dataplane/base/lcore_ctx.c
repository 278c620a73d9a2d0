/*
 * lcore_ctx: the transmit error callback of a worker lcore's tx buffers, making a
 * chained packet one segment for a port without multi-segment transmit, and cutting
 * a TSO frame into segments for a port that does not.
 */
#include "base/lcore_ctx.h"

#include <rte_gso.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "base/csum.h"

void lcore_tx_csum_sw(struct rte_mbuf *m, uint32_t l3_off)
{
    struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, l3_off);
    uint32_t l4_off = l3_off + rte_ipv4_hdr_len(ip);
    struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, struct rte_tcp_hdr *, l4_off);

    /* The headers are in the first segment (the stack builds them there). */
    th->cksum = 0;
    th->cksum = csum_ipv4_l4_mbuf(m, ip, l4_off);
    m->ol_flags &= ~(RTE_MBUF_F_TX_L4_MASK | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
}

/* The most segments one TSO frame is cut into in software: 64 KB of the smallest
 * MSS the stack uses (tcp_input takes 64 and more; 536 is the least it sends). */
#define LCORE_TSO_SW_MAX 128

void lcore_tx_tso_sw(struct lcore_ctx *lc, struct rte_mbuf *m)
{
    struct rte_mbuf *out[LCORE_TSO_SW_MAX];
    uint16_t port = m->port, l3_len = (uint16_t)m->l3_len, l4_len = (uint16_t)m->l4_len;
    struct rte_gso_ctx gso = {
        .direct_pool = lc->pool, .indirect_pool = lc->pool, .flag = 0,
        .gso_types = RTE_ETH_TX_OFFLOAD_TCP_TSO,
        .gso_size = (uint16_t)(RTE_ETHER_HDR_LEN + l3_len + l4_len + m->tso_segsz),
    };
    int n;

    m->l2_len = RTE_ETHER_HDR_LEN;
    n = rte_gso_segment(m, &gso, out, LCORE_TSO_SW_MAX);
    if (n == 0) {
        /* Not more than one segment's worth: sent as an ordinary segment. */
        m->ol_flags &= ~RTE_MBUF_F_TX_TCP_SEG;
        out[0] = m;
        n = 1;
    } else if (n < 0) {
        lc->stats->mbuf_alloc_failed++;
        lcore_drop(lc, m, DROP_TX_SEGMENTS);
        return;
    } else {
        rte_pktmbuf_free(m);            /* the segments hold its data */
    }
    lc->stats->tx_tso_sw++;
    lc->stats->tx_tso_sw_segs += (uint64_t)n;
    for (int i = 0; i < n; i++) {
        struct rte_mbuf *s = out[i];
        struct rte_ipv4_hdr *ip =
            rte_pktmbuf_mtod_offset(s, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
        struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + l3_len);

        s->ol_flags &= ~(RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_IP_CKSUM);
        s->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
        s->l2_len = RTE_ETHER_HDR_LEN;
        s->l3_len = l3_len;
        s->l4_len = l4_len;
        s->port = port;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        th->cksum = rte_ipv4_phdr_cksum(ip, s->ol_flags);   /* now with the length */
        lcore_tx(lc, s);
    }
}

struct rte_mbuf *lcore_tx_csum(struct lcore_ctx *lc, struct rte_mbuf *m)
{
    if (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) {
        uint16_t max = lc->tx_max_segs[m->port];

        if ((lc->tx_csum[m->port] & LCORE_TX_TSO) && (max == 0 || m->nb_segs <= max)) {
            m->l2_len = RTE_ETHER_HDR_LEN;
            if (!(lc->tx_csum[m->port] & LCORE_TX_TSO_IP)) {
                /* The device writes each segment's header; the frame's own gets
                 * its checksum here, as for a frame without TSO. */
                struct rte_ipv4_hdr *ip =
                    rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);

                m->ol_flags &= ~RTE_MBUF_F_TX_IP_CKSUM;
                ip->hdr_checksum = 0;
                ip->hdr_checksum = rte_ipv4_cksum(ip);
            }
            if (rte_eth_tx_prepare(m->port, (uint16_t)lc->id, &m, 1) == 1) {
                lc->stats->tx_tso_offloaded++;
                return m;
            }
            lc->stats->tx_prepare_failed++;
        }
        lcore_tx_tso_sw(lc, m);
        return NULL;
    }
    if ((m->ol_flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM &&
        (lc->tx_csum[m->port] & LCORE_TX_CSUM_TCP)) {
        m->l2_len = RTE_ETHER_HDR_LEN;
        if (rte_eth_tx_prepare(m->port, (uint16_t)lc->id, &m, 1) == 1) {
            lc->stats->tx_csum_offloaded++;
            return m;
        }
        lc->stats->tx_prepare_failed++;
    } else {
        lc->stats->tx_csum_sw++;
    }
    lcore_tx_csum_sw(m, RTE_ETHER_HDR_LEN);
    return m;
}

struct rte_mbuf *lcore_tx_linearize(struct lcore_ctx *lc, struct rte_mbuf *m, uint16_t max)
{
    struct rte_mbuf *c;

    /* In place when the first segment is ours alone and has the room (a TCP header
     * mbuf and its payload of one MSS do); a copy otherwise. */
    if (RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1 && rte_pktmbuf_linearize(m) == 0) {
        lc->stats->tx_linearized++;
        return m;
    }
    c = rte_pktmbuf_copy(m, lc->pool, 0, UINT32_MAX);
    if (c != NULL && c->nb_segs <= max) {
        rte_pktmbuf_free(m);
        lc->stats->tx_linearized++;
        return c;
    }
    if (c == NULL)
        lc->stats->mbuf_alloc_failed++;
    rte_pktmbuf_free(c);
    lcore_drop(lc, m, DROP_TX_SEGMENTS);
    return NULL;
}

static void lcore_tx_drop_full(struct lcore_ctx *lc, struct rte_mbuf *m)
{
    lc->stats->tx_bytes -= rte_pktmbuf_pkt_len(m);
    lcore_drop(lc, m, DROP_TX_FULL);
}

void lcore_tx_backlog(struct lcore_ctx *lc, struct rte_mbuf **pkts, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *m = pkts[i];
        struct lcore_txq *q = lc->txq[m->port];

        if (q == NULL || q->n == DP_TX_BACKLOG) {
            lcore_tx_drop_full(lc, m);
            continue;
        }
        if (q->n == 0)
            q->since_ms = q->head_ms = lc->now_ms;
        q->m[(q->head + q->n) & (DP_TX_BACKLOG - 1)] = m;
        q->n++;
        lc->tx_backlog++;
        lc->stats->tx_backlogged++;
    }
}

/* Takes the k oldest packets off q (sent, or dropped by the caller). */
static void lcore_txq_take(struct lcore_ctx *lc, struct lcore_txq *q, uint32_t k)
{
    q->head = (q->head + k) & (DP_TX_BACKLOG - 1);
    q->n -= k;
    lc->tx_backlog -= k;
}

/* Drops the oldest packet of q (tx_full). */
static void lcore_txq_drop_oldest(struct lcore_ctx *lc, struct lcore_txq *q)
{
    lcore_tx_drop_full(lc, q->m[q->head]);
    lcore_txq_take(lc, q, 1);
}

/* Drops everything q holds (tx_full). */
static void lcore_txq_drop(struct lcore_ctx *lc, struct lcore_txq *q)
{
    while (q->n != 0)
        lcore_txq_drop_oldest(lc, q);
}

uint32_t lcore_tx_flush(struct lcore_ctx *lc, uint16_t port)
{
    struct lcore_txq *q = lc->txq[port];
    uint32_t sent = 0;

    if (q == NULL || q->n == 0) {
        sent = rte_eth_tx_buffer_flush(port, (uint16_t)lc->id, lc->txb[port]);
        lc->stats->tx_packets += sent;
        return sent;
    }
    /* Nothing is in the tx buffer: while the backlog holds packets, lcore_tx adds to
     * it, and the buffer was empty when it began (its flush filled it). Sent until the
     * queue takes nothing more: one that frees its slots as it sends (af_packet's
     * ring, whose sendto transmits in the call) takes more at once, a NIC's full ring
     * returns 0 at the second call. */
    while (q->n != 0) {
        uint32_t run = RTE_MIN(q->n, DP_TX_BACKLOG - q->head);
        uint16_t k = rte_eth_tx_burst(port, (uint16_t)lc->id, &q->m[q->head], (uint16_t)run);

        if (k == 0)
            break;
        lcore_txq_take(lc, q, k);
        sent += k;
    }
    lc->stats->tx_packets += sent;
    if (sent != 0) {
        q->since_ms = q->head_ms = lc->now_ms;
    } else if (lc->now_ms - q->since_ms >= LCORE_TX_STALL_MS) {
        lc->stats->tx_backlog_aged += q->n;
        lcore_txq_drop(lc, q);
    } else if (lc->now_ms - q->head_ms >= LCORE_TX_HEAD_MS) {
        lc->stats->tx_backlog_aged++;
        lcore_txq_drop_oldest(lc, q);
        q->head_ms = lc->now_ms;
    }
    return sent;
}

void lcore_tx_backlog_free(struct lcore_ctx *lc)
{
    for (unsigned p = 0; p < DP_MAX_PORTS; p++) {
        if (lc->txq[p] != NULL)
            lcore_txq_drop(lc, lc->txq[p]);
    }
}

void lcore_tx_error(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
    lcore_tx_backlog(userdata, unsent, count);
}
