/*
 * tcp_txwait: the connections waiting for the ports' transmit backlog to drain. See
 * tcp_txwait.h. No DPDK ring: a single-owner FIFO of 32-bit indexes, a few lines.
 */
#include "tcp/tcp_txwait.h"

#include <rte_common.h>
#include <rte_malloc.h>

#include "err.h"
#include "tcp/tcp_entry.h"
#include "tcp/tcp_output.h"

int tcp_txwait_create(struct tcp_stack *st)
{
    st->txw_cap = rte_align32pow2(st->conf.max_conns);
    st->txw = rte_malloc_socket("tcp_txwait", sizeof(uint32_t) * st->txw_cap, 0,
                                st->conf.socket_id);
    return st->txw != NULL ? 0 : LBD_ENOMEM;
}

void tcp_txwait_destroy(struct tcp_stack *st)
{
    rte_free(st->txw);
    st->txw = NULL;
}

void tcp_txwait_park(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (c->flags & TCPF_TXWAIT)
        return;
    if (st->txw_n == st->txw_cap) {
        /* Only stale entries can fill it (one a control block otherwise): the
         * connection sends as without a backlog, into it. */
        st->stats.tx_wait_full++;
        return;
    }
    st->txw[(st->txw_head + st->txw_n) & (st->txw_cap - 1)] = c->index;
    st->txw_n++;
    c->flags |= TCPF_TXWAIT;
    st->stats.tx_waits++;
}

unsigned tcp_txwait_resume(struct tcp_stack *st, bool force)
{
    unsigned n = 0, left = st->txw_n;

    tcp_entry_begin(st);
    st->txw_forced = force;             /* nothing parks again while it is set */
    for (; left != 0 && st->txw_n != 0 && !tcp_txwait_busy(st); left--) {
        struct tcp_conn *c = &st->pool[st->txw[st->txw_head]];

        st->txw_head = (st->txw_head + 1) & (st->txw_cap - 1);
        st->txw_n--;
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
