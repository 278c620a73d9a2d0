#include "base/pool_size.h"

#include <string.h>

#include "err.h"

/* A term, saturated: a sum that no pool could have is refused by the mempool. */
static uint32_t sat(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int pool_size_plan(const struct pool_need *n, struct pool_size *out)
{
    unsigned others = n->n_workers > 0 ? n->n_workers - 1 : 0;
    uint64_t fixed;

    memset(out, 0, sizeof(*out));
    out->rx = n->rx_desc;
    out->tx = n->tx_desc;
    /* A backlogged TCP segment is a header mbuf and (typically) one payload mbuf. */
    out->tx_backlog = sat((uint64_t)n->n_ports * n->tx_backlog * 2);
    out->handoff = sat((uint64_t)others * (n->ring_size > 0 ? n->ring_size - 1 : 0));
    /* A waiting TCP segment is a header mbuf and (typically) one payload mbuf. */
    out->arp_wait = sat((uint64_t)n->arp_wait * 2);
    out->reass = n->reass;
    /* The rx burst being handled, the staging towards each other worker, and the tx
     * buffer of every port, all full at the end of an iteration's dispatch. */
    out->in_flight = sat((uint64_t)n->burst * (1 + others + n->n_ports));
    /* Every worker frees mbufs of every pool (hand-offs, tx completions), and so may
     * the control core: each lcore's cache fills to 1.5 times its size. */
    out->cache = sat((uint64_t)(n->n_workers + 1) * n->cache * 3 / 2);
    fixed = (uint64_t)out->rx + out->tx + out->tx_backlog + out->handoff + out->arp_wait +
            out->reass + out->in_flight + out->cache;
    out->fixed = sat(fixed);
    if (n->configured == 0) {
        out->tcp = n->tcp_segs;
        out->total = sat(fixed + n->tcp_segs);
        return 0;
    }
    if ((uint64_t)n->configured < fixed + n->tcp_min_segs) {
        out->tcp = n->tcp_segs;
        out->total = sat(fixed + n->tcp_segs);
        return LBD_ERANGE;
    }
    out->tcp = (uint32_t)(n->configured - fixed);
    out->total = n->configured;
    return 0;
}
