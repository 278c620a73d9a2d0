/*
 * tcp_tcb: control block pool, tables, states and buffer accounting. See tcp_tcb.h.
 * Hot path (called per segment): no allocation, the pool is preallocated.
 */
#include "tcp/tcp_tcb.h"

#include <string.h>

#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "base/siphash.h"
#include "tcp/tcp_rack.h"
#include "tcp/tcp_rcvbuf.h"
#include "tcp/tcp_sndbuf.h"
#include "tcp/tcp_timer.h"

bool tcp_tcb_have_free(struct tcp_stack *st)
{
    return st->free_list != NULL;
}

struct tcp_conn *tcp_tcb_alloc(struct tcp_stack *st, const struct tcp_key *k)
{
    struct tcp_conn *c;
    uint32_t index;

    if (!tcp_tcb_have_free(st)) {
        st->stats.refused_conns++;
        return NULL;
    }
    c = st->free_list;
    index = c->index;
    st->free_list = c->link;
    memset(c, 0, sizeof(*c));
    c->index = index;
    c->st = st;
    c->key = *k;
    c->cc = st->conf.cc;
    mbufq_init(&c->sndq);
    mbufq_init(&c->rcvq);
    tcp_rcvbuf_init(c);
    tcp_sndbuf_init(c);
    tcp_rack_init(c);
    tcp_timer_init(c);
    if (rte_hash_add_key_data(st->conns_by_key, k, c) < 0) {
        c->link = st->free_list;
        st->free_list = c;
        st->stats.refused_conns++;
        return NULL;
    }
    c->flags = TCPF_IN_HASH;
    c->state = TCP_CLOSED;
    st->n_state[TCP_CLOSED]++;
    st->n_conns++;
    return c;
}

struct tcp_conn *tcp_tcb_lookup(struct tcp_stack *st, const struct tcp_key *k)
{
    void *data;

    if (rte_hash_lookup_data(st->conns_by_key, k, &data) < 0)
        return NULL;
    return data;
}

void tcp_tcb_set_state(struct tcp_conn *c, enum tcp_state s)
{
    struct tcp_stack *st = c->st;

    if (c->state == TCP_SYN_RECEIVED && c->listener != 0) {
        st->listeners[c->listener - 1].syn_recv--;
        c->listener = 0;
    }
    st->n_state[c->state]--;
    c->state = (uint8_t)s;
    st->n_state[s]++;
}

static void tcp_tcb_free_ooo(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (c->ooo == NULL)
        return;
    for (unsigned i = 0; i < c->ooo->n; i++) {
        st->buf_segs -= c->ooo->e[i].m->nb_segs;
        rte_pktmbuf_free(c->ooo->e[i].m);
    }
    rte_mempool_put(st->ooo_pool, c->ooo);
    c->ooo = NULL;
}

void tcp_tcb_free(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (c->flags & TCPF_DEAD)
        return;
    if (c->state != TCP_CLOSED)
        tcp_tcb_set_state(c, TCP_CLOSED);
    if (c->flags & TCPF_IN_HASH)
        rte_hash_del_key(st->conns_by_key, &c->key);
    tcp_timer_stop_all(c);
    tcp_rcvbuf_close(c);
    st->buf_segs -= mbufq_purge(&c->sndq);
    st->buf_segs -= mbufq_purge(&c->rcvq);
    tcp_tcb_free_ooo(c);
    tcp_rack_free(c);
    tcp_sndbuf_free(c);
    c->flags = (c->flags & TCPF_OUTQ) | TCPF_DEAD | TCPF_DETACHED;
    c->fn = NULL;
    st->n_state[TCP_CLOSED]--;
    st->n_conns--;
    if (!(c->flags & TCPF_OUTQ)) {
        c->link = st->reap_list;
        st->reap_list = c;
    }
    if (st->depth == 0)
        tcp_tcb_reap(st);
}

void tcp_tcb_reap(struct tcp_stack *st)
{
    while (st->reap_list != NULL) {
        struct tcp_conn *c = st->reap_list;
        st->reap_list = c->link;
        c->flags = 0;
        c->link = st->free_list;
        st->free_list = c;
    }
}

struct tcp_listener *tcp_tcb_listener(struct tcp_stack *st, uint32_t ip, uint16_t port)
{
    struct tcp_key k = {.laddr = ip, .lport = port};
    void *data;

    if (st->n_listeners == 0)
        return NULL;
    if (rte_hash_lookup_data(st->listen_by_key, &k, &data) >= 0)
        return &st->listeners[(uintptr_t)data];
    k.laddr = 0;
    if (rte_hash_lookup_data(st->listen_by_key, &k, &data) >= 0)
        return &st->listeners[(uintptr_t)data];
    return NULL;
}

uint32_t tcp_tcb_iss(struct tcp_stack *st, const struct tcp_key *k)
{
    if (st->conf.iss_fn != NULL)
        return st->conf.iss_fn(st->conf.iss_arg, k);
    /* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a
     * 4 us timer (here 250 per tick of the stack's millisecond clock), F SipHash-2-4
     * under the stack's 128-bit key. */
    uint32_t w[3] = {k->laddr, k->raddr, ((uint32_t)k->lport << 16) | k->rport};

    return (uint32_t)(tcp_now(st) * 250) + (uint32_t)siphash24(&st->iss_key, w, sizeof(w));
}

uint32_t tcp_tcb_ts_offset(const struct tcp_stack *st, const struct tcp_key *k)
{
    /* RFC 7323 section 7.1 (Linux's secure_tcp_ts_off): a function of the 4-tuple
     * under a secret key, so that TSvals tell nothing of the stack's clock or of other
     * connections, and so that a SYN cookie's ACK finds the offset its SYN-ACK used. */
    uint32_t w[3] = {k->laddr, k->raddr, ((uint32_t)k->lport << 16) | k->rport};

    return (uint32_t)siphash24(&st->ts_key, w, sizeof(w));
}
