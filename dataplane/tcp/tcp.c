/*
 * tcp: the stack's API (tcp.h): creation, listeners, opens, send/recv, closes.
 * Creation and listeners are slow path; the rest is called per event and does no
 * heap allocation. The top of the stack with tcp_input (neither calls the other):
 * may call every module below.
 */
#include "tcp/tcp.h"

#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "base/siphash.h"
#include "err.h"
#include "tcp/tcp_entry.h"
#include "tcp/tcp_output.h"
#include "tcp/tcp_rcvbuf.h"
#include "tcp/tcp_syncookie.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timeout.h"
#include "tcp/tcp_timer.h"
#include "tcp/tcp_tw.h"
#include "tcp/tcp_txwait.h"

static const char *const stat_names[] = {
#define TCP_STAT_NAME(n) #n,
    TCP_STATS(TCP_STAT_NAME)
#undef TCP_STAT_NAME
};

static const char *const state_names[TCP_STATE_MAX] = {
    "closed", "listen", "syn_sent", "syn_received", "established", "fin_wait_1",
    "fin_wait_2", "close_wait", "closing", "last_ack", "time_wait",
};

const char *tcp_stat_name(unsigned i)
{
    return i < TCP_STAT_COUNT ? stat_names[i] : "unknown";
}

const char *tcp_state_name(enum tcp_state s)
{
    return (unsigned)s < TCP_STATE_MAX ? state_names[s] : "unknown";
}

const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *st)
{
    return &st->stats;
}

void tcp_stack_conf_default(struct tcp_stack_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->socket_id = SOCKET_ID_ANY;
    c->n_workers = 1;
    c->max_conns = 16384;
    c->max_listeners = 1024;
    c->max_ooo_blocks = 1024;
    c->max_rack_blocks = 1024;
    c->max_buf_segs = 4096;
    c->sndbuf = 256 * 1024;
    c->sndbuf_max = 4 * 1024 * 1024;    /* the ceiling of auto-tuning (tcp_sndbuf.h) */
    c->rcvbuf = 4 * 1024 * 1024;        /* the ceiling of auto-tuning (tcp_rcvbuf.h) */
    c->rcvbuf_init = 64 * 1024;
    c->mss = 1460;
    c->port_lo = 32768;
    c->port_hi = 60999;
    c->syn_backlog = 256;
    c->rto_init_ms = 1000;
    c->rto_min_ms = 200;
    c->rto_max_ms = 60000;
    c->max_retries = 10;
    c->syn_retries = 5;
    c->delack_ms = 40;
    c->time_wait_ms = 30000;
    c->fin_wait2_ms = 60000;
    c->idle_ms = 0;
    c->connect_timeout_ms = 4000;
    c->challenge_ack_per_s = 1000;
    c->challenge_ack_per_conn = 2;
    c->timestamps = true;
    c->cc = TCP_CC_CUBIC;
}

struct tcp_stack *tcp_stack_create(const struct tcp_stack_conf *conf, char *err, size_t errlen)
{
    struct rte_hash_parameters hp = {0};
    struct tcp_stack *st;
    struct siphash_key cookie_key;
    char name[RTE_HASH_NAMESIZE];

    if (conf->wheel == NULL || conf->pool == NULL || conf->tx == NULL || conf->name == NULL ||
        conf->max_conns == 0 || conf->n_workers == 0 || conf->mss < 64 ||
        conf->rcvbuf < conf->mss || conf->sndbuf < conf->mss ||
        (conf->rcvbuf_init != 0 && conf->rcvbuf_init < conf->mss) ||
        (conf->tso_max != 0 && (!conf->tx_csum_defer || conf->tso_max > TCP_TSO_MAX)) ||
        conf->port_lo > conf->port_hi || conf->max_listeners == 0) {
        lbd_err_set(err, errlen, LBD_EINVAL, "tcp stack: incomplete or invalid settings");
        return NULL;
    }
    st = rte_zmalloc_socket("tcp_stack", sizeof(*st), RTE_CACHE_LINE_SIZE, conf->socket_id);
    if (st == NULL)
        goto err_nomem;
    st->conf = *conf;
    if (st->conf.rcvbuf_init == 0 || st->conf.rcvbuf_init > st->conf.rcvbuf)
        st->conf.rcvbuf_init = st->conf.rcvbuf;     /* a fixed buffer */
    if (st->conf.sndbuf_max < st->conf.sndbuf)
        st->conf.sndbuf_max = st->conf.sndbuf;      /* a fixed buffer */
    st->buf_budget = (uint64_t)conf->max_buf_segs * conf->mss;
    tcp_timeout_install(st);
    st->pool = rte_zmalloc_socket("tcp_conns", sizeof(struct tcp_conn) * conf->max_conns,
                                  RTE_CACHE_LINE_SIZE, conf->socket_id);
    st->listeners = rte_zmalloc_socket("tcp_listeners",
                                       sizeof(struct tcp_listener) * conf->max_listeners, 0,
                                       conf->socket_id);
    if (st->pool == NULL || st->listeners == NULL)
        goto err_nomem;
    for (uint32_t i = conf->max_conns; i-- > 0;) {
        st->pool[i].index = i;
        st->pool[i].link = st->free_list;
        st->free_list = &st->pool[i];
    }
    snprintf(name, sizeof(name), "tc_%s", conf->name);
    hp.name = name;
    hp.entries = conf->max_conns < 8 ? 8 : conf->max_conns;
    hp.key_len = sizeof(struct tcp_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = conf->socket_id;
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    st->conns_by_key = rte_hash_create(&hp);
    snprintf(name, sizeof(name), "tl_%s", conf->name);
    hp.entries = conf->max_listeners < 8 ? 8 : conf->max_listeners;
    st->listen_by_key = rte_hash_create(&hp);
    if (st->conns_by_key == NULL || st->listen_by_key == NULL)
        goto err_rte;
    snprintf(name, sizeof(name), "to_%s", conf->name);
    st->ooo_pool = rte_mempool_create(name, conf->max_ooo_blocks ? conf->max_ooo_blocks : 1,
                                      sizeof(struct tcp_ooo), 0, 0, NULL, NULL, NULL, NULL,
                                      conf->socket_id,
                                      RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
    if (st->ooo_pool == NULL)
        goto err_rte;
    if (conf->max_rack_blocks != 0) {
        snprintf(name, sizeof(name), "tk_%s", conf->name);
        st->rack_pool = rte_mempool_create(name, conf->max_rack_blocks,
                                           sizeof(struct tcp_rack_q) +
                                               TCP_RACK_SEGS * sizeof(struct tcp_rack_seg),
                                           0, 0, NULL, NULL, NULL,
                                           NULL, conf->socket_id,
                                           RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
        if (st->rack_pool == NULL)
            goto err_rte;
    }
    if (conf->max_rack_blocks != 0 && st->conf.sndbuf_max > st->conf.sndbuf) {
        /* Large blocks for grown send buffers' flights (tcp_rack.h): a record a segment
         * of the largest buffer, a quarter more for splits and shorter segments; one
         * for every 16 small blocks. */
        uint32_t segs = st->conf.sndbuf_max / conf->mss;
        st->rack_big_segs = segs + segs / 4 + 64;
        snprintf(name, sizeof(name), "tkb_%s", conf->name);
        st->rack_pool_big = rte_mempool_create(
            name, conf->max_rack_blocks / 16 ? conf->max_rack_blocks / 16 : 1,
            sizeof(struct tcp_rack_q) + st->rack_big_segs * sizeof(struct tcp_rack_seg), 0, 0,
            NULL, NULL, NULL, NULL, conf->socket_id, RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
        if (st->rack_pool_big == NULL)
            goto err_rte;
    }
    if (tcp_txwait_create(st) != 0)
        goto err_nomem;
    if (tcp_tw_create(st, err, errlen) != 0) {
        tcp_stack_free(st);
        return NULL;
    }
    /* The keys of the ISS, the SYN cookies, the challenge ACK budget and the TSval
     * offsets: 128 bits
     * each from the kernel, now and never on the packet path. */
    if (siphash_key_random(&st->iss_key) != 0 || siphash_key_random(&cookie_key) != 0 ||
        siphash_key_random(&st->challenge_key) != 0 || siphash_key_random(&st->ts_key) != 0) {
        lbd_err_set(err, errlen, LBD_EIO, "tcp stack %s: no random key from the kernel",
                    conf->name);
        tcp_stack_free(st);
        return NULL;
    }
    tcp_syncookie_init(&st->cookie, &cookie_key, tcp_now(st));
    /* Active opens start at a random port, not at port_lo: a unit that takes over from
     * its HA peer (or comes back after a restart) would otherwise pick the very ports
     * the other one used last, which the real servers still hold in TIME_WAIT, and its
     * SYNs would draw ACKs instead of SYN-ACKs until they are retried. */
    st->port_cursor = (uint16_t)siphash24(&st->iss_key, "lport", 5);
    while (st->wscale < TCP_MAX_WSCALE && ((uint32_t)65535 << st->wscale) < conf->rcvbuf)
        st->wscale++;
    return st;

err_rte:
    lbd_err_set(err, errlen, LBD_ENOMEM, "tcp stack %s: %s", conf->name,
                rte_strerror(rte_errno));
    tcp_stack_free(st);
    return NULL;
err_nomem:
    lbd_err_set(err, errlen, LBD_ENOMEM, "tcp stack %s: out of memory", conf->name);
    tcp_stack_free(st);
    return NULL;
}

void tcp_stack_free(struct tcp_stack *st)
{
    if (st == NULL)
        return;
    if (st->conns_by_key != NULL) {
        const void *key;
        void *data;
        uint32_t it = 0;
        st->depth = 1;          /* nothing goes back to the pool: it is freed below */
        while (rte_hash_iterate(st->conns_by_key, &key, &data, &it) >= 0) {
            struct tcp_conn *c = data;
            c->flags &= ~TCPF_IN_HASH;
            c->flags |= TCPF_DETACHED;
            tcp_tcb_free(c);
        }
        rte_hash_free(st->conns_by_key);
    }
    tcp_tw_destroy(st);
    tcp_txwait_destroy(st);
    rte_hash_free(st->listen_by_key);
    rte_mempool_free(st->ooo_pool);
    rte_mempool_free(st->rack_pool);
    rte_mempool_free(st->rack_pool_big);
    rte_free(st->listeners);
    rte_free(st->pool);
    rte_free(st);
}

int tcp_listen(struct tcp_stack *st, uint32_t ip, uint16_t port, uint32_t backlog,
               tcp_event_fn fn, void *arg)
{
    struct tcp_key k = {.laddr = ip, .lport = port};
    uint32_t i;

    if (rte_hash_lookup(st->listen_by_key, &k) >= 0)
        return LBD_EEXIST;
    for (i = 0; i < st->conf.max_listeners && st->listeners[i].used; i++)
        ;
    if (i == st->conf.max_listeners)
        return LBD_ENOMEM;
    if (rte_hash_add_key_data(st->listen_by_key, &k, (void *)(uintptr_t)i) < 0)
        return LBD_ENOMEM;
    st->listeners[i] = (struct tcp_listener){
        .ip = ip, .port = port, .used = true,
        .backlog = backlog ? backlog : st->conf.syn_backlog, .fn = fn, .arg = arg,
    };
    st->n_listeners++;
    return 0;
}

int tcp_unlisten(struct tcp_stack *st, uint32_t ip, uint16_t port)
{
    struct tcp_key k = {.laddr = ip, .lport = port};
    void *data;

    if (rte_hash_lookup_data(st->listen_by_key, &k, &data) < 0)
        return LBD_ENOENT;
    rte_hash_del_key(st->listen_by_key, &k);
    /* Half-open connections keep their index; the slot stays counted until they go. */
    st->listeners[(uintptr_t)data].used = false;
    st->listeners[(uintptr_t)data].fn = NULL;
    st->n_listeners--;
    return 0;
}

/* A free local port p with p % n_workers == worker_id for (laddr, raddr, rport). */
static int tcp_pick_port(struct tcp_stack *st, struct tcp_key *k)
{
    const struct tcp_stack_conf *cf = &st->conf;
    uint32_t n = cf->n_workers, lo = cf->port_lo;
    uint32_t first = lo + ((cf->worker_id % n) + n - lo % n) % n;
    uint32_t count;

    if (first > cf->port_hi)
        return LBD_EBUSY;
    count = (cf->port_hi - first) / n + 1;
    for (uint32_t j = 0; j < count; j++) {
        uint32_t idx = (st->port_cursor + j) % count;
        k->lport = (uint16_t)(first + idx * n);
        /* Not a 4-tuple in use, nor one in TIME_WAIT: its old duplicates could still
         * arrive, and the peer may hold it in LAST_ACK or TIME_WAIT too. */
        if (tcp_tcb_lookup(st, k) == NULL && tcp_tw_lookup(st, k) == NULL &&
            tcp_tcb_listener(st, k->laddr, k->lport) == NULL &&
            (cf->port_taken == NULL || !cf->port_taken(cf->port_taken_arg, k->laddr, k->lport))) {
            st->port_cursor = (uint16_t)((idx + 1) % count);
            return 0;
        }
    }
    return LBD_EBUSY;
}

void tcp_stack_set_port_filter(struct tcp_stack *st,
                               bool (*fn)(void *arg, uint32_t laddr, uint16_t lport), void *arg)
{
    st->conf.port_taken = fn;
    st->conf.port_taken_arg = arg;
}

int tcp_connect(struct tcp_stack *st, uint32_t laddr, uint32_t raddr, uint16_t rport,
                tcp_event_fn fn, void *arg, struct tcp_conn **out)
{
    struct tcp_key k = {.laddr = laddr, .raddr = raddr, .rport = rport};
    struct tcp_conn *c;

    if (!tcp_tcb_have_free(st)) {
        st->stats.refused_conns++;
        return LBD_ENOMEM;
    }
    if (tcp_pick_port(st, &k) != 0) {
        st->stats.refused_ports++;
        return LBD_EBUSY;
    }
    tcp_entry_begin(st);
    c = tcp_tcb_alloc(st, &k);
    if (c == NULL) {
        tcp_entry_end(st);
        return LBD_ENOMEM;
    }
    c->fn = fn;
    c->arg = arg;
    c->idle_ms = st->conf.idle_ms;
    c->rto = st->conf.rto_init_ms;
    c->iss = tcp_tcb_iss(st, &k);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->mss = st->conf.mss;
    c->rcv_wscale = st->wscale;
    c->ts_offset = tcp_tcb_ts_offset(st, &k);
    tcp_tcb_set_state(c, TCP_SYN_SENT);
    st->stats.active_opens++;
    c->flags |= TCPF_RTT;
    c->rtt_seq = c->iss;
    c->rtt_start = tcp_now(st);
    tcp_output_syn(c);
    tcp_timer_rexmt_arm(c);
    tcp_timer_deadline(c);
    *out = c;
    tcp_entry_end(st);
    return 0;
}

void tcp_set_handler(struct tcp_conn *c, tcp_event_fn fn, void *arg)
{
    c->fn = fn;
    c->arg = arg;
}

void tcp_set_idle_timeout(struct tcp_conn *c, uint32_t ms)
{
    c->idle_ms = ms;
    if (c->state >= TCP_ESTABLISHED && c->state != TCP_TIME_WAIT)
        tcp_timer_deadline(c);
}

int tcp_set_cc(struct tcp_conn *c, enum tcp_cc cc)
{
    if ((unsigned)cc >= TCP_CC_MAX)
        return LBD_EINVAL;
    c->cc = (uint8_t)cc;
    return 0;
}

/* States in which the user may still queue data. */
static inline bool tcp_can_send(const struct tcp_conn *c)
{
    if (c->flags & (TCPF_FIN_QUEUED | TCPF_DETACHED | TCPF_DEAD))
        return false;
    return c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT ||
           c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED;
}

bool tcp_stack_tx_waiting(const struct tcp_stack *st)
{
    return tcp_txwait_count(st) != 0;
}

unsigned tcp_stack_tx_resume(struct tcp_stack *st, bool force)
{
    return tcp_txwait_resume(st, force);
}

void tcp_burst_begin(struct tcp_stack *st)
{
    tcp_entry_begin(st);
    st->in_burst = true;
}

void tcp_burst_end(struct tcp_stack *st)
{
    st->in_burst = false;
    tcp_entry_end(st);
}

uint32_t tcp_send_space(const struct tcp_conn *c)
{
    if (!tcp_can_send(c) || c->sndq.bytes >= c->sndbuf)
        return 0;
    return c->sndbuf - c->sndq.bytes;
}

int tcp_send(struct tcp_conn *c, struct rte_mbuf *m)
{
    struct tcp_stack *st = c->st;

    if (!tcp_can_send(c))
        return LBD_ESTATE;
    if (c->sndq.bytes + m->pkt_len > c->sndbuf)
        return LBD_EBUSY;
    if (mbufq_absorb(&c->sndq, m)) {
        /* Small, behind the last segment queued: no segment of its own. */
        st->stats.snd_absorbed++;
        rte_pktmbuf_free(m);
    } else if (!tcp_tcb_buf_room(st, m->nb_segs)) {
        st->stats.snd_mem_refused++;
        return LBD_ENOMEM;
    } else {
        st->buf_segs += mbufq_append(&c->sndq, m);
    }
    if (st->in_burst && c->state >= TCP_ESTABLISHED) {
        /* Inside a receive burst output waits for its end (tcp_burst_begin), so that
         * a FIN the burst brings later leaves with the data; two full segments not yet
         * sent are bulk, not an answer a FIN may join: they go at once, since the wait
         * would add up to a burst's handling to every round trip. */
        if (tcp_output_unsent(c) >= 2 * tcp_output_smss(c)) {
            st->stats.burst_bulk_sends++;
            tcp_output(c);
            return 0;
        }
    }
    tcp_entry_output_later(c);
    return 0;
}

void tcp_set_more(struct tcp_conn *c, bool more)
{
    if (more) {
        c->flags |= TCPF_MORE;
    } else if (c->flags & TCPF_MORE) {
        c->flags &= ~TCPF_MORE;
        if (c->state >= TCP_ESTABLISHED && tcp_output_unsent(c) > 0)
            tcp_entry_output_later(c);  /* the tail that waited */
    }
}

void tcp_buf_charge(struct tcp_stack *st, uint32_t segs)
{
    st->buf_segs += segs;
}

void tcp_buf_release(struct tcp_stack *st, uint32_t segs)
{
    st->buf_segs -= segs <= st->buf_segs ? segs : st->buf_segs;
}

void tcp_alloc_failed(struct tcp_stack *st)
{
    tcp_tcb_alloc_failed(st);
}

uint32_t tcp_recv_bytes(const struct tcp_conn *c)
{
    return c->rcvq.bytes;
}

struct rte_mbuf *tcp_recv(struct tcp_conn *c, uint32_t max)
{
    struct tcp_stack *st = c->st;
    struct rte_mbuf *m;
    uint32_t segs;

    m = mbufq_pop(&c->rcvq, max, st->conf.pool, &segs);
    st->buf_segs -= segs;
    if (m == NULL && max != 0 && c->rcvq.bytes != 0)
        tcp_tcb_alloc_failed(st);   /* no mbuf to split the first segment with */
    if (m != NULL && (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
                      c->state == TCP_FIN_WAIT_2)) {
        uint32_t space, cur;
        tcp_rcvbuf_adjust(c);           /* may grow the buffer: in the update below */
        space = tcp_output_rcv_space(c);
        cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
        if (space > cur && (space - cur >= 2u * c->mss || space - cur >= c->rcvbuf / 2)) {
            c->flags |= TCPF_ACKNOW;
            tcp_entry_output_later(c);
        }
    }
    return m;
}

int tcp_shutdown(struct tcp_conn *c)
{
    if (c->flags & (TCPF_FIN_QUEUED | TCPF_DEAD))
        return c->flags & TCPF_DEAD ? LBD_ESTATE : 0;
    switch (c->state) {
    case TCP_SYN_SENT:
    case TCP_SYN_RECEIVED:
        c->flags |= TCPF_FIN_QUEUED;    /* FIN_WAIT_1 once established */
        return 0;
    case TCP_ESTABLISHED:
        c->flags |= TCPF_FIN_QUEUED;
        tcp_tcb_set_state(c, TCP_FIN_WAIT_1);
        break;
    case TCP_CLOSE_WAIT:
        c->flags |= TCPF_FIN_QUEUED;
        tcp_tcb_set_state(c, TCP_LAST_ACK);
        break;
    default:
        return LBD_ESTATE;
    }
    tcp_entry_output_later(c);
    return 0;
}

void tcp_close(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (c->flags & TCPF_DEAD)
        return;
    if (c->rcvq.bytes > 0 || c->state == TCP_SYN_SENT) {
        tcp_abort(c);
        return;
    }
    tcp_entry_begin(st);
    c->flags |= TCPF_DETACHED;
    c->fn = NULL;
    tcp_rcvbuf_close(c);                /* later data is discarded: no buffer to count */
    tcp_shutdown(c);
    if (c->state == TCP_FIN_WAIT_2)
        tcp_timer_deadline(c);
    tcp_entry_end(st);
}

void tcp_abort(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (c->flags & TCPF_DEAD)
        return;
    tcp_entry_begin(st);
    tcp_output_rst(c);
    c->flags |= TCPF_DETACHED;
    tcp_tcb_free(c);
    tcp_entry_end(st);
}
