/*
 * lcore_ctx: the transmit error callback of a worker lcore's tx buffers.
 */
#include "base/lcore_ctx.h"

void lcore_tx_error(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
    struct lcore_ctx *lc = userdata;

    for (uint16_t i = 0; i < count; i++) {
        lc->stats->tx_bytes -= rte_pktmbuf_pkt_len(unsent[i]);
        rte_pktmbuf_free(unsent[i]);
    }
    lc->stats->drops[DROP_TX_FULL] += count;
}
