/*
 * proxy: the Layer 7 TCP-mode proxy's hot path (see proxy.h): accepting a client,
 * choosing and connecting a real server, splicing, closing. Owning worker only; no
 * allocation (but the indirect mbufs of a split), no locks, no logging.
 */
#include "proxy/proxy.h"

#include <netinet/in.h>

#include <rte_mbuf.h>

#include "err.h"
#include "l4/l4_sync.h"
#include "proxy/proxy_int.h"
#include "proxy/tls_stream.h"
#include "tcp/tcp.h"

#define SF_EOF(d) (PROXY_SF_EOF0 << (d))
#define SF_SHUT(d) (PROXY_SF_SHUT0 << (d))

static void proxy_cli_event(struct tcp_conn *c, enum tcp_event ev, void *arg);
static void proxy_srv_event(struct tcp_conn *c, enum tcp_event ev, void *arg);
static void proxy_on_timer(struct twheel_timer *t, uint64_t now);

/* Takes half `side` out of s: its connection and TLS stream (either may be NULL). */
static inline void half_take(struct proxy_sess *s, int side, struct tcp_conn **c,
                             struct tls_stream **ts)
{
    *c = half_conn(s, side);
    *ts = s->tls[side];
    if (side == DIR_IN)
        s->cli = NULL;
    else
        s->srv = NULL;
    s->tls[side] = NULL;
}

void half_abort(struct proxy_sess *s, int side)
{
    struct tcp_conn *c;
    struct tls_stream *ts;

    half_take(s, side, &c, &ts);
    if (ts != NULL)
        tls_stream_abort(ts);       /* resets c if the stream still has it */
    else if (c != NULL)
        tcp_abort(c);
}

void half_drop_tls(struct proxy_sess *s, int side)
{
    if (s->tls[side] != NULL) {
        tls_stream_free(s->tls[side]);
        s->tls[side] = NULL;
    }
}

void half_close(struct proxy_sess *s, int side)
{
    struct tcp_conn *c;
    struct tls_stream *ts;

    half_take(s, side, &c, &ts);
    if (ts != NULL)
        tls_stream_close(ts);       /* closes c if the stream still has it */
    else if (c != NULL)
        tcp_close(c);
}

void half_set_handler(struct proxy_sess *s, int side, tcp_event_fn fn)
{
    if (s->tls[side] != NULL)
        tls_stream_set_handler(s->tls[side], fn, s);
    else
        tcp_set_handler(half_conn(s, side), fn, s);
}

/* A session from the pool, initialised; NULL when the pool is empty. */
struct proxy_sess *proxy_sess_alloc(struct proxy *px)
{
    struct proxy_sess *s = px->free_list;

    if (s == NULL)
        return NULL;
    px->free_list = s->next_free;
    s->next_free = NULL;
    s->cli = s->srv = NULL;
    s->px = px;
    s->state = PROXY_CONNECTING;
    s->flags = 0;
    s->n_tried = 0;
    s->stall[0] = s->stall[1] = NULL;
    s->tls[0] = s->tls[1] = NULL;
    s->http = NULL;
    mbufq_init(&s->held[0]);
    mbufq_init(&s->held[1]);
    twheel_timer_init(&s->timer, proxy_on_timer);
    px->n_active++;
    return s;
}

/* Drops the session's real-server accounting (active count). */
void proxy_sess_uncount(struct proxy_sess *s)
{
    if (s->flags & PROXY_SF_COUNTED) {
        s->px->conf.traffic->rs_active_conns[s->rs_idx]--;
        s->flags &= ~PROXY_SF_COUNTED;
    }
}

/* Returns s to the pool. Both halves must be gone (NULL). */
void proxy_sess_end(struct proxy_sess *s)
{
    struct proxy *px = s->px;

    proxy_log_emit(s, proxy_now(px));
    twheel_cancel(px->conf.wheel, &s->timer);
    for (int d = 0; d < 2; d++) {
        half_drop_tls(s, d);
        if (s->stall[d] != NULL) {
            proxy_stats(px)->discarded_bytes += s->stall[d]->pkt_len;
            tcp_buf_release(px->conf.tcp, s->stall[d]->nb_segs);
            rte_pktmbuf_free(s->stall[d]);
            s->stall[d] = NULL;
        }
        proxy_stats(px)->discarded_bytes += s->held[d].bytes;
        tcp_buf_release(px->conf.tcp, mbufq_purge(&s->held[d]));
    }
    proxy_sess_uncount(s);
    if (s->http != NULL)
        px->http_mode->release(s);
    if (s->flags & PROXY_SF_PERSIST)
        persist_release(px->conf.persist, s->persist_ref, proxy_now(px));
    proxy_stats(px)->sessions_closed++;
    s->flags = 0;
    s->state = PROXY_FREE;
    s->next_free = px->free_list;
    px->free_list = s;
    px->n_active--;
}

/* Resets whichever halves remain (RST to their peers) and ends the session. */
void proxy_sess_abort(struct proxy_sess *s)
{
    half_abort(s, DIR_IN);
    half_abort(s, DIR_OUT);
    proxy_sess_end(s);
}

static bool proxy_was_tried(const uint16_t *tried, unsigned n, uint16_t idx)
{
    for (unsigned i = 0; i < n; i++)
        if (tried[i] == idx)
            return true;
    return false;
}

const struct snap_rs *proxy_choose(struct proxy *px, const struct snap_vs *vs,
                                   const struct sched_flow *f, const uint16_t *tried,
                                   unsigned n_tried, struct persist_entry **pe, int *bound)
{
    const struct snapshot *snap = px->snap;
    const uint32_t *active = px->conf.traffic->rs_active_conns;
    struct sched_state *sched = px->conf.sched;
    const struct snap_rs *rs;
    uint32_t start;

    *pe = NULL;
    *bound = 0;
    if (vs->persist) {
        *pe = persist_lookup(px->conf.persist, f->client_ip, vs->slot);
        if (*pe != NULL) {
            rs = snapshot_rs(snap, (*pe)->rs_idx, (*pe)->rs_id);
            /* Drain, halt, health and max_conns move persistent clients too. */
            if (rs != NULL && &snap->vs[rs->vs] == vs && sched_eligible(sched, active, rs) &&
                !proxy_was_tried(tried, n_tried, rs->idx)) {
                proxy_stats(px)->persist_hits++;
                *bound = 1;
                return rs;
            }
            if (n_tried == 0)
                proxy_stats(px)->persist_moved++;
        }
    }
    rs = sched_pick(sched, active, vs, f);
    if (rs == NULL || !proxy_was_tried(tried, n_tried, rs->idx))
        return rs;
    /* The scheduler named a server that already failed this client: the next
     * eligible one after it in the service's list. */
    proxy_stats(px)->retry_fallbacks++;
    start = (uint32_t)(rs - vs->rs);
    for (uint32_t i = 1; i < vs->n_rs; i++) {
        const struct snap_rs *c = &vs->rs[(start + i) % vs->n_rs];
        if (sched_eligible(sched, active, c) && !proxy_was_tried(tried, n_tried, c->idx))
            return c;
    }
    return NULL;
}

/* Records (or moves) the client's persistence entry to rs and holds a reference. */
void proxy_persist(struct proxy_sess *s, const struct snap_vs *vs, const struct snap_rs *rs,
                   struct persist_entry *pe)
{
    struct proxy *px = s->px;
    uint64_t now = proxy_now(px);

    if (pe != NULL) {
        bool moved = pe->rs_id != rs->id;
        pe->rs_id = rs->id;
        pe->rs_idx = rs->idx;
        persist_touch(pe, vs->persist_timeout_ms, now);
        if (moved && px->conf.l4 != NULL)
            l4_sync_persist(px->conf.l4, vs, pe, rs);
    } else {
        pe = persist_insert(px->conf.persist, s->client_ip, vs->slot, rs->idx, rs->id,
                            vs->persist_timeout_ms, now);
        if (pe == NULL) {
            proxy_stats(px)->persist_full++;
            return;
        }
        proxy_stats(px)->persist_created++;
        /* The HA backup learns the client's server: reconnecting after a takeover, the
         * client lands on the same one. */
        if (px->conf.l4 != NULL)
            l4_sync_persist(px->conf.l4, vs, pe, rs);
    }
    if (s->flags & PROXY_SF_PERSIST) {
        if (persist_ref_is(px->conf.persist, s->persist_ref, pe))
            return; /* a retry: the session holds this entry already */
        /* The entry held before was flushed since: give it back, hold this one. */
        persist_release(px->conf.persist, s->persist_ref, now);
    }
    s->persist_ref = persist_hold(pe);
    s->flags |= PROXY_SF_PERSIST;
}

enum proxy_connect_rc { CONNECT_OK = 0, CONNECT_NO_SERVER, CONNECT_ERROR };

/*
 * Opens the backend connection of s to the next real server of vs: persistence,
 * scheduler, never one tried before. Arms the connect deadline.
 */
static enum proxy_connect_rc proxy_connect(struct proxy_sess *s, const struct snap_vs *vs)
{
    struct proxy *px = s->px;
    struct traffic_stats *tr = px->conf.traffic;
    struct sched_flow f = {
        .client_ip = s->client_ip,
        .vip = s->vip,
        .client_port = rte_cpu_to_be_16(s->cli->key.rport),
        .vport = rte_cpu_to_be_16(s->vport),
        .proto = IPPROTO_TCP,
    };
    struct persist_entry *pe;
    const struct snap_rs *rs;
    int bound, rc;

    rs = proxy_choose(px, vs, &f, s->tried, s->n_tried, &pe, &bound);
    if (rs == NULL)
        return CONNECT_NO_SERVER;
    half_drop_tls(s, DIR_OUT);          /* of a server tried before */
    if (rs->tls != NULL) {
        /* Re-encrypted: the stream takes the connection's events and reports the end
         * of its TLS handshake as TCP_EV_ESTABLISHED. */
        s->tls[DIR_OUT] = tls_stream_connect(px->tls, rs->tls, s->vs_slot, proxy_srv_event, s);
        if (s->tls[DIR_OUT] == NULL) {
            proxy_stats(px)->connect_errors++;
            return CONNECT_ERROR;
        }
        rc = tcp_connect(px->conf.tcp, vs->source_address, rs->ip,
                         rs->port ? rs->port : s->vport, tls_stream_on_tcp, s->tls[DIR_OUT],
                         &s->srv);
        if (rc == 0)
            tls_stream_attach(s->tls[DIR_OUT], s->srv);
    } else {
        rc = tcp_connect(px->conf.tcp, vs->source_address, rs->ip,
                         rs->port ? rs->port : s->vport, proxy_srv_event, s, &s->srv);
    }
    if (rc != 0) {
        s->srv = NULL;
        half_drop_tls(s, DIR_OUT);
        proxy_stats(px)->connect_errors++;
        return CONNECT_ERROR;
    }
    proxy_stats(px)->connect_attempts++;
    proxy_log_server(s, rs->ip, rs->port ? rs->port : s->vport, rs->id);
    s->tried[s->n_tried++] = rs->idx;
    s->rs_idx = rs->idx;
    s->rs_id = rs->id;
    s->flags |= PROXY_SF_COUNTED;
    if (bound)
        s->flags |= PROXY_SF_BOUND;
    else
        s->flags &= ~PROXY_SF_BOUND;
    tr->rs_active_conns[rs->idx]++;
    tr->rs[rs->idx].conns++;
    if (vs->persist)
        proxy_persist(s, vs, rs, pe);
    s->state = PROXY_CONNECTING;
    twheel_arm(px->conf.wheel, &s->timer, proxy_now(px) + px->snap->l7.connect_ms);
    return CONNECT_OK;
}

/*
 * The backend connection of s failed before it was established (s->srv is already
 * gone): the next real server, unless persistence bound the client to this one or
 * the tries ran out; then the client is reset.
 */
static void proxy_connect_failed(struct proxy_sess *s)
{
    struct proxy *px = s->px;
    const struct snap_vs *vs;

    twheel_cancel(px->conf.wheel, &s->timer);
    proxy_sess_uncount(s);
    half_drop_tls(s, DIR_OUT);
    if (s->cli == NULL) {
        proxy_sess_end(s);
        return;
    }
    vs = px->snap != NULL ? snapshot_service(px->snap, s->vip, IPPROTO_TCP, s->vport) : NULL;
    if ((s->flags & PROXY_SF_BOUND) || s->n_tried >= PROXY_MAX_TRIES || vs == NULL ||
        vs->layer != 7 || vs->mode != CFG_MODE_TCP) {
        proxy_stats(px)->connect_failed_reset++;
        /* The last failure is the reason logged. */
        proxy_log_end(&s->log, s->log.connect_fail != TXLOG_END_NONE
                                   ? (enum txlog_end)s->log.connect_fail
                                   : TXLOG_END_CONNECT_REFUSED);
        proxy_sess_abort(s);
        return;
    }
    proxy_stats(px)->retries++;
    if (proxy_connect(s, vs) != CONNECT_OK) {
        proxy_stats(px)->connect_failed_reset++;
        proxy_log_end(&s->log, TXLOG_END_NO_SERVER);
        proxy_sess_abort(s);
    }
}

void proxy_on_accept(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct proxy *px = arg;
    const struct snapshot *snap = px->snap;
    const struct snap_vs *vs;
    struct proxy_sess *s;

    if (ev != TCP_EV_ESTABLISHED)
        return;
    proxy_stats(px)->accepted++;
    vs = snap != NULL ? snapshot_service(snap, c->key.laddr, IPPROTO_TCP, c->key.lport) : NULL;
    if (vs != NULL && vs->layer == 7 && vs->mode == CFG_MODE_HTTP) {
        px->http_mode->accept(px, c, vs);
        return;
    }
    if (vs == NULL || vs->layer != 7 || vs->mode != CFG_MODE_TCP) {
        proxy_stats(px)->no_service++;
        tcp_abort(c);
        return;
    }
    /* With TLS the real server is chosen once the handshake is done (proxy_cli_event,
     * TCP_EV_ESTABLISHED). */
    s = proxy_sess_accept(px, c, vs, proxy_cli_event);
    if (s == NULL || s->state == PROXY_HANDSHAKE)
        return;
    switch (proxy_connect(s, vs)) {
    case CONNECT_OK:
        return;
    case CONNECT_NO_SERVER:
        proxy_stats(px)->no_server++;
        proxy_log_end(&s->log, TXLOG_END_NO_SERVER);
        break;
    case CONNECT_ERROR:
        proxy_log_end(&s->log, TXLOG_END_ERROR);
        break;
    }
    proxy_sess_abort(s);
}

struct proxy_sess *proxy_sess_accept(struct proxy *px, struct tcp_conn *c,
                                     const struct snap_vs *vs, tcp_event_fn fn)
{
    struct proxy_sess *s = proxy_sess_alloc(px);

    if (s == NULL) {
        proxy_stats(px)->refused_pool++;
        tcp_abort(c);
        return NULL;
    }
    s->cli = c;
    s->client_ip = c->key.raddr;
    s->vip = c->key.laddr;
    s->vport = c->key.lport;
    s->vs_slot = vs->slot;
    s->log.client_port = c->key.rport;
    s->log.on = vs->log;
    /* TCP mode logs the connection; HTTP mode each request (proxy_http.c). */
    proxy_log_begin(s, proxy_now(px), vs->mode == CFG_MODE_TCP);
    tcp_set_handler(c, fn, s);
    tcp_set_idle_timeout(c, px->snap->l7.client_idle_ms);
    tcp_set_cc(c, (enum tcp_cc)px->snap->l7.cc);
    px->conf.traffic->vs[vs->slot].conns++;
    if (vs->tls == NULL)
        return s;
    s->tls[DIR_IN] = tls_stream_accept(px->tls, c, vs->tls, vs->slot, fn, s);
    if (s->tls[DIR_IN] == NULL) {
        proxy_log_end(&s->log, TXLOG_END_ERROR);
        proxy_sess_abort(s);
        return NULL;
    }
    /* The handshake has the connect deadline (not the idle timeout, which may be 20
     * minutes): a client that never finishes it is reset (proxy_on_timer). */
    s->state = PROXY_HANDSHAKE;
    twheel_arm(px->conf.wheel, &s->timer, proxy_now(px) + px->snap->l7.connect_ms);
    return s;
}

/* Arms the stall retry unless a timer is already pending. */
void proxy_retry_later(struct proxy_sess *s)
{
    struct proxy *px = s->px;

    if (!twheel_pending(&s->timer))
        twheel_arm(px->conf.wheel, &s->timer, proxy_now(px) + PROXY_STALL_RETRY_MS);
}

void proxy_count_bytes(struct proxy_sess *s, int d, uint32_t len)
{
    struct traffic_stats *tr = s->px->conf.traffic;

    proxy_log_bytes(&s->log, d, len, proxy_now(s->px));
    if (d == DIR_IN) {
        tr->vs[s->vs_slot].bytes_in += len;
        tr->rs[s->rs_idx].bytes_in += len;
    } else {
        tr->vs[s->vs_slot].bytes_out += len;
        tr->rs[s->rs_idx].bytes_out += len;
    }
}

/*
 * Moves data of direction d (0: client to server, 1: server to client) while the
 * receiving half has send space: first a packet the stack refused before, then data
 * held from a half that closed, then the sending half's receive queue. Then passes
 * the FIN on once everything before it went. Only while splicing.
 */
static void proxy_pump(struct proxy_sess *s, int d)
{
    struct proxy *px = s->px;
    struct tcp_conn *from = d == DIR_IN ? s->cli : s->srv;
    struct tcp_conn *to = d == DIR_IN ? s->srv : s->cli;
    struct rte_mbuf *m;
    bool left;

    if (to == NULL) {
        /* The receiving half is gone: nothing can be delivered. */
        while (from != NULL && (m = half_recv(s, d, UINT32_MAX)) != NULL) {
            proxy_stats(px)->discarded_bytes += m->pkt_len;
            rte_pktmbuf_free(m);
        }
        return;
    }
    for (;;) {
        uint32_t space = half_send_space(s, 1 - d), segs, len;
        int rc;

        if (s->stall[d] != NULL) {
            if (s->stall[d]->pkt_len > space)
                break;                  /* TCP_EV_WRITABLE brings it back */
            m = s->stall[d];
            s->stall[d] = NULL;
            tcp_buf_release(px->conf.tcp, m->nb_segs);
        } else if (s->held[d].bytes == 0 && (from == NULL || half_recv_bytes(s, d) == 0)) {
            break;
        } else if (space == 0) {
            proxy_stats(px)->backpressure++;
            break;
        } else if (s->held[d].bytes > 0) {
            m = mbufq_pop(&s->held[d], space, px->conf.pool, &segs);
            tcp_buf_release(px->conf.tcp, segs);
            if (m == NULL)
                tcp_alloc_failed(px->conf.tcp);
        } else {
            m = half_recv(s, d, space);
        }
        if (m == NULL) {
            /* No mbuf to split a segment with: later. */
            proxy_stats(px)->send_stalls++;
            proxy_retry_later(s);
            break;
        }
        len = m->pkt_len;
        rc = half_send(s, 1 - d, m);
        if (rc == 0) {
            proxy_count_bytes(s, d, len);
            continue;
        }
        if (rc == LBD_ENOMEM || rc == LBD_EBUSY) {
            s->stall[d] = m;
            tcp_buf_charge(px->conf.tcp, m->nb_segs);
            proxy_stats(px)->send_stalls++;
            proxy_retry_later(s);
            break;
        }
        /* The receiving half no longer takes data (LBD_ESTATE). */
        proxy_stats(px)->discarded_bytes += len;
        rte_pktmbuf_free(m);
    }
    left = s->stall[d] != NULL || s->held[d].bytes > 0 ||
           (from != NULL && half_recv_bytes(s, d) > 0);
    /* What did not fit follows as soon as there is room: the receiving connection
     * holds a tail smaller than a segment for it (tcp_set_more), so that a transfer
     * leaves in full segments, not a full one and a runt for each ACK's worth of room.
     * Over TLS the records are the stream's own business. */
    if (s->tls[1 - d] == NULL)
        tcp_set_more(to, left);
    if ((s->flags & SF_EOF(d)) && !(s->flags & SF_SHUT(d)) && !left) {
        s->flags |= SF_SHUT(d);
        if (d == DIR_IN)
            proxy_stats(px)->fin_client++;
        else
            proxy_stats(px)->fin_server++;
        half_shutdown(s, 1 - d);
    }
}

/* A half reported CLOSED (terminal, both directions done): keeps what it had received
 * and not yet passed on, then lets go of it. */
static void proxy_half_closed(struct proxy_sess *s, struct tcp_conn *c, int d)
{
    struct rte_mbuf *m = half_recv(s, d, UINT32_MAX);

    (void)c;
    if (m != NULL) {
        proxy_stats(s->px)->held_after_close++;
        /* Still counted against the stack's buffer cap: it was in c's queue. */
        tcp_buf_charge(s->px->conf.tcp, mbufq_append(&s->held[d], m));
    }
    s->flags |= SF_EOF(d);
    if (d == DIR_IN)
        s->cli = NULL;
    else
        s->srv = NULL;
}

/* The client's TLS handshake completed: now the real server. */
static void proxy_cli_tls_ready(struct proxy_sess *s)
{
    struct proxy *px = s->px;
    const struct snap_vs *vs;

    twheel_cancel(px->conf.wheel, &s->timer);   /* the handshake deadline */
    vs = px->snap != NULL ? snapshot_service(px->snap, s->vip, IPPROTO_TCP, s->vport) : NULL;
    if (vs == NULL || vs->layer != 7 || vs->mode != CFG_MODE_TCP) {
        proxy_stats(px)->no_service++;
        proxy_log_end(&s->log, TXLOG_END_ERROR);
        proxy_sess_abort(s);
        return;
    }
    switch (proxy_connect(s, vs)) {
    case CONNECT_OK:
        return;
    case CONNECT_NO_SERVER:
        proxy_stats(px)->no_server++;
        proxy_log_end(&s->log, TXLOG_END_NO_SERVER);
        break;
    case CONNECT_ERROR:
        proxy_log_end(&s->log, TXLOG_END_ERROR);
        break;
    }
    proxy_sess_abort(s);
}

static void proxy_cli_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct proxy_sess *s = arg;
    struct proxy *px = s->px;

    switch (ev) {
    case TCP_EV_ESTABLISHED:
        /* Only a TLS stream reports this: the client's handshake is done. */
        if (s->state == PROXY_HANDSHAKE)
            proxy_cli_tls_ready(s);
        break;
    case TCP_EV_READABLE:
        if (s->state == PROXY_SPLICING)
            proxy_pump(s, DIR_IN);
        break;
    case TCP_EV_WRITABLE:
        if (s->state == PROXY_SPLICING)
            proxy_pump(s, DIR_OUT);
        break;
    case TCP_EV_PEER_FIN:
        proxy_log_end(&s->log, TXLOG_END_CLIENT_CLOSE);
        s->flags |= PROXY_SF_EOF0;
        if (s->state == PROXY_SPLICING)
            proxy_pump(s, DIR_IN);
        break;
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
        s->cli = NULL;          /* the stack frees it after this call */
        if (ev == TCP_EV_RESET)
            proxy_stats(px)->client_resets++;
        else
            proxy_stats(px)->client_timeouts++;
        proxy_log_end(&s->log, ev == TCP_EV_RESET ? TXLOG_END_CLIENT_RESET
                                                  : TXLOG_END_CLIENT_TIMEOUT);
        proxy_sess_abort(s);
        break;
    case TCP_EV_CLOSED:
        proxy_half_closed(s, c, DIR_IN);
        if (s->state != PROXY_SPLICING) {
            proxy_sess_abort(s);      /* nobody left to answer */
            break;
        }
        proxy_pump(s, DIR_IN);
        if (s->srv == NULL)
            proxy_sess_end(s);
        break;
    }
}

static void proxy_srv_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct proxy_sess *s = arg;
    struct proxy *px = s->px;

    switch (ev) {
    case TCP_EV_ESTABLISHED:
        if (s->state != PROXY_CONNECTING)
            break;
        twheel_cancel(px->conf.wheel, &s->timer);
        s->state = PROXY_SPLICING;
        proxy_stats(px)->connected++;
        proxy_log_connected(s, proxy_now(px));
        tcp_set_idle_timeout(c, px->snap != NULL ? px->snap->l7.server_idle_ms : 0);
        if (px->snap != NULL)
            tcp_set_cc(c, (enum tcp_cc)px->snap->l7.cc);
        proxy_pump(s, DIR_IN);
        if (s->srv != NULL && s->cli != NULL)
            proxy_pump(s, DIR_OUT);
        break;
    case TCP_EV_READABLE:
        if (s->state == PROXY_SPLICING)
            proxy_pump(s, DIR_OUT);
        break;
    case TCP_EV_WRITABLE:
        if (s->state == PROXY_SPLICING)
            proxy_pump(s, DIR_IN);
        break;
    case TCP_EV_PEER_FIN:
        proxy_log_end(&s->log, TXLOG_END_SERVER_CLOSE);
        s->flags |= PROXY_SF_EOF1;
        if (s->state == PROXY_SPLICING)
            proxy_pump(s, DIR_OUT);
        break;
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
        s->srv = NULL;          /* the stack frees it after this call */
        if (s->state == PROXY_CONNECTING) {
            if (ev == TCP_EV_RESET)
                proxy_stats(px)->connect_refused++;
            else
                proxy_stats(px)->connect_timeouts++;
            s->log.connect_fail = ev == TCP_EV_RESET ? TXLOG_END_CONNECT_REFUSED
                                                     : TXLOG_END_CONNECT_TIMEOUT;
            proxy_connect_failed(s);
            break;
        }
        if (ev == TCP_EV_RESET)
            proxy_stats(px)->server_resets++;
        else
            proxy_stats(px)->server_timeouts++;
        proxy_log_end(&s->log, ev == TCP_EV_RESET ? TXLOG_END_SERVER_RESET
                                                  : TXLOG_END_SERVER_TIMEOUT);
        proxy_sess_abort(s);
        break;
    case TCP_EV_CLOSED:
        proxy_half_closed(s, c, DIR_OUT);
        proxy_pump(s, DIR_OUT);
        if (s->cli == NULL)
            proxy_sess_end(s);
        break;
    }
}

/* The session's timer: the connect deadline while connecting, else a stall retry. */
static void proxy_on_timer(struct twheel_timer *t, uint64_t now)
{
    struct proxy_sess *s = (struct proxy_sess *)((char *)t - offsetof(struct proxy_sess, timer));

    (void)now;
    if (s->state == PROXY_HANDSHAKE) {
        if (s->tls[DIR_IN] != NULL)
            tls_stream_count_timeout(s->tls[DIR_IN]);
        proxy_log_end(&s->log, TXLOG_END_CLIENT_TIMEOUT);
        proxy_sess_abort(s);
        return;
    }
    if (s->http != NULL && s->state != PROXY_SPLICING) {
        s->px->http_mode->timer(s);
        return;
    }
    if (s->state == PROXY_CONNECTING) {
        proxy_stats(s->px)->connect_timeouts++;
        s->log.connect_fail = TXLOG_END_CONNECT_TIMEOUT;
        half_abort(s, DIR_OUT);
        proxy_connect_failed(s);
        return;
    }
    if (s->state != PROXY_SPLICING)
        return;
    proxy_pump(s, DIR_IN);
    if (s->state == PROXY_SPLICING)
        proxy_pump(s, DIR_OUT);
}

void proxy_splice(struct proxy_sess *s)
{
    twheel_cancel(s->px->conf.wheel, &s->timer);
    s->state = PROXY_SPLICING;
    half_set_handler(s, DIR_IN, proxy_cli_event);
    half_set_handler(s, DIR_OUT, proxy_srv_event);
    proxy_pump(s, DIR_OUT);
    if (s->state == PROXY_SPLICING && s->cli != NULL)
        proxy_pump(s, DIR_IN);
}

uint32_t proxy_close_halted(struct proxy *px)
{
    const struct snapshot *snap = px->snap;
    uint32_t n = 0;

    if (snap == NULL)
        return 0;
    for (uint32_t i = 0; i < px->conf.max_sessions; i++) {
        struct proxy_sess *s = &px->sessions[i];
        const struct snap_rs *rs;
        if (s->state == PROXY_FREE || !(s->flags & PROXY_SF_COUNTED))
            continue;
        rs = snapshot_rs(snap, s->rs_idx, s->rs_id);
        if (rs == NULL || rs->state != CFG_RS_HALT)
            continue;
        proxy_stats(px)->halted++;
        proxy_log_end(&s->log, TXLOG_END_HALT);
        proxy_sess_abort(s);
        n++;
    }
    return n;
}
