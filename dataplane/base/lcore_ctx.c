/*
 * lcore_ctx: the transmit error callback of a worker lcore's tx buffers, and making a
 * chained packet one segment for a port without multi-segment transmit.
 */
#include "base/lcore_ctx.h"

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
