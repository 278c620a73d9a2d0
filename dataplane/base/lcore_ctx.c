/*
 * lcore_ctx: the transmit error callback of a worker lcore's tx buffers, and making a
 * chained packet one segment for a port without multi-segment transmit.
 */
#include "base/lcore_ctx.h"

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

struct rte_mbuf *lcore_tx_csum(struct lcore_ctx *lc, struct rte_mbuf *m)
{
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

void lcore_tx_error(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
    struct lcore_ctx *lc = userdata;

    for (uint16_t i = 0; i < count; i++) {
        lc->stats->tx_bytes -= rte_pktmbuf_pkt_len(unsent[i]);
        rte_pktmbuf_free(unsent[i]);
    }
    lc->stats->drops[DROP_TX_FULL] += count;
}
