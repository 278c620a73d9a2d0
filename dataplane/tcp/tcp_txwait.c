/*
 * tcp_txwait: the connections waiting for the ports' transmit backlog to drain. See
 * tcp_txwait.h. The FIFO is a DPDK ring of 32-bit elements on memory of the stack's
 * own (rte_ring_init: no name in the process-wide ring list, so any number of stacks
 * can have one), single producer and single consumer.
 */
#include "tcp/tcp_txwait.h"

#include <rte_common.h>
#include <rte_malloc.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "err.h"
#include "tcp/tcp_entry.h"
#include "tcp/tcp_output.h"

#define TXW_ESIZE sizeof(uint32_t)

int tcp_txwait_create(struct tcp_stack *st)
{
    unsigned flags = RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ;
    /* Room for max_conns exactly: the ring's slots, a power of 2 above it. */
    ssize_t size = rte_ring_get_memsize_elem(TXW_ESIZE,
                                             rte_align32pow2(st->conf.max_conns + 1));
    struct rte_ring *r;

    if (size < 0)
        return LBD_EINVAL;
    r = rte_malloc_socket("tcp_txwait", (size_t)size, RTE_CACHE_LINE_SIZE,
                          st->conf.socket_id);
    if (r == NULL)
        return LBD_ENOMEM;
    if (rte_ring_init(r, "tcp_txwait", st->conf.max_conns, flags) != 0) {
        rte_free(r);
        return LBD_EINVAL;
    }
    st->txw = r;
    return 0;
}

void tcp_txwait_destroy(struct tcp_stack *st)
{
    rte_free(st->txw);
    st->txw = NULL;
}

unsigned tcp_txwait_count(const struct tcp_stack *st)
{
    return st->txw != NULL ? rte_ring_count(st->txw) : 0;
}

void tcp_txwait_park(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint32_t idx = c->index;

    if (c->flags & TCPF_TXWAIT)
        return;
    if (rte_ring_sp_enqueue_elem(st->txw, &idx, TXW_ESIZE) != 0) {
        /* Only stale entries can fill it (one a control block otherwise): the
         * connection sends as without a backlog, into it. */
        st->stats.tx_wait_full++;
        return;
    }
    c->flags |= TCPF_TXWAIT;
    st->stats.tx_waits++;
}

unsigned tcp_txwait_resume(struct tcp_stack *st, bool force)
{
    /* left: a forced resume takes only what was parked when it began (those it
     * resumes cannot park again while it runs, but stale entries could be there). */
    unsigned n = 0, left = rte_ring_count(st->txw);
    uint32_t idx;

    tcp_entry_begin(st);
    st->txw_forced = force;             /* nothing parks again while it is set */
    for (; left != 0 && !tcp_txwait_busy(st) &&
           rte_ring_sc_dequeue_elem(st->txw, &idx, TXW_ESIZE) == 0;
         left--) {
        struct tcp_conn *c = &st->pool[idx];

        if ((c->flags & (TCPF_TXWAIT | TCPF_DEAD)) != TCPF_TXWAIT)
            continue;                   /* stale: freed, or resumed already */
        c->flags &= ~TCPF_TXWAIT;
        tcp_output(c);                  /* parks it again if a backlog builds */
        n++;
    }
    st->txw_forced = false;
    st->stats.tx_wait_resumes += n;
    if (force)
        st->stats.tx_wait_forced++;
    tcp_entry_end(st);
    return n;
}
