/*
 * proxy_http: the Layer 7 proxy's HTTP mode (see proxy.h), one request at a time per
 * client connection.
 *
 * A session waits for a request's header block in the client half's receive queue
 * (half_rcvq: the connection's own, or with TLS the stream's decrypted plaintext; looked
 * at in place, nothing taken until it is whole: further pipelined bytes stay there, and
 * the queue's window, or the stream's TLS_PLAIN_MAX, holds back the client). With TLS
 * the client's handshake comes first (PROXY_HANDSHAKE, the connect deadline); a real
 * server with "tls" is connected through a TLS stream whose handshake is part of the
 * connect deadline. All I/O goes through the half_* helpers (proxy_int.h), so either
 * half may be TLS. The session parses and checks the block (http_msg.h),
 * routes it (cookie, else the service's persistence, else the scheduler), sends the
 * rewritten block to the server (the kept-alive backend connection when it is to the
 * same real server, else a new one), then streams the body as far as its framing goes.
 * The response's header block is read the same way, rewritten (Set-Cookie and
 * Cache-Control when the client had no valid cookie) and its body streamed. When both
 * messages are complete the next request is read, or the connections close as the
 * messages said. 1xx responses pass through (Expect: 100-continue works as the server
 * answers it); a 101 to an upgrade request turns the pair into the TCP-mode splice.
 *
 * Errors before the response started are answered by lbd (http_error_response) and
 * the client connection closed; after it started, both connections are reset. Every
 * outcome is counted per service (struct proxy_http_vs_counters).
 *
 * Owning worker only; no allocation but mbufs from the worker's pool, no logging.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "err.h"
#include "l4/scheduler.h"
#include "proxy/http_cookie.h"
#include "proxy/http_msg.h"
#include "proxy/proxy_http.h"
#include "proxy/proxy_int.h"
#include "tcp/tcp.h"

enum http_state {
    H_WAIT_REQ = 0,     /* reading a request's header block */
    H_REQ,              /* request routed: its body and the response under way */
    H_CLOSING,          /* last response queued: the client connection closes */
};

/* A header block that fits is always seen whole in a TLS stream's plaintext queue. */
_Static_assert(CFG_HTTP_HEADER_BYTES_MAX <= TLS_PLAIN_MAX, "TLS plaintext queue too small");

#define HF_CONNECTING  (1u << 0)    /* backend SYN out; the timer is its deadline */
#define HF_SRV_UP      (1u << 1)    /* backend established */
#define HF_REQ_DONE    (1u << 2)    /* the request went on whole */
#define HF_RSP_HEAD    (1u << 3)    /* the final response's header went to the client */
#define HF_RSP_DONE    (1u << 4)
#define HF_HEAD_REQ    (1u << 5)    /* the request is HEAD */
#define HF_CLI_KA      (1u << 6)    /* the client connection carries on after this one */
#define HF_SRV_KA      (1u << 7)    /* the backend connection carries on */
#define HF_SET_COOKIE  (1u << 8)    /* the response gets the persistence cookie */
#define HF_UPGRADE     (1u << 9)    /* the request asks for an upgrade */
#define HF_CLI_EOF     (1u << 10)   /* the client's FIN came */
#define HF_SRV_EOF     (1u << 11)   /* the server's FIN came */
#define HF_RSP_ANY     (1u << 12)   /* some response bytes (a 1xx) went to the client */
#define HF_SHUT        (1u << 13)   /* shut the client down once the output is out */
#define HF_BYTES       (1u << 14)   /* bytes of the current request arrived */

/* Flags that live across requests. */
#define HF_KEEP (HF_CONNECTING | HF_SRV_UP | HF_CLI_EOF | HF_SRV_EOF)

struct proxy_http {
    struct http_msg req;
    struct http_msg rsp;
    uint32_t flags;
    uint8_t state;              /* enum http_state */
    uint32_t scan;              /* client queue looked at for the request head */
    uint32_t rscan;             /* server queue looked at for the response head */
    uint32_t n_req;             /* requests on this connection */
    uint32_t cookie_first;      /* timed cookie: when it was first issued (s) */
    struct proxy_http *next_free;
};

static void http_srv_event(struct tcp_conn *c, enum tcp_event ev, void *arg);
static void http_cli_event(struct tcp_conn *c, enum tcp_event ev, void *arg);
static void http_on_response(struct proxy_sess *s);
static void http_try_request(struct proxy_sess *s);

static inline struct proxy_http_vs_counters *vs_ctr(struct proxy_sess *s)
{
    return &s->px->conf.http->vs[s->vs_slot];
}

static inline uint32_t now_s(const struct proxy *px)
{
    return (uint32_t)(proxy_now(px) / 1000);
}

/* The session's service in the current snapshot, if it is still HTTP mode. */
static const struct snap_vs *http_vs(struct proxy_sess *s)
{
    const struct snapshot *snap = s->px->snap;
    const struct snap_vs *vs;

    if (snap == NULL)
        return NULL;
    vs = snapshot_service(snap, s->vip, IPPROTO_TCP, s->vport);
    return vs != NULL && vs->layer == 7 && vs->mode == CFG_MODE_HTTP ? vs : NULL;
}

static void count_status(struct proxy_sess *s, unsigned status, bool from_server)
{
    unsigned k = status / 100;

    if (k < 1 || k > 5)
        return;
    (&vs_ctr(s)->responses_1xx)[k - 1]++;
    if (from_server)
        s->px->conf.http->rs[s->rs_idx].responses[k - 1]++;
}

/* len bytes of data as a packet of fresh mbufs from the worker's pool, or NULL. */
static struct rte_mbuf *http_mbufs(struct proxy *px, const char *data, uint32_t len)
{
    struct rte_mbuf *head = NULL, *last = NULL;

    while (len > 0) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(px->conf.pool);
        uint32_t room, n;
        char *p;
        if (m == NULL) {
            rte_pktmbuf_free(head);
            tcp_alloc_failed(px->conf.tcp);
            proxy_stats(px)->http_alloc_failed++;
            return NULL;
        }
        room = rte_pktmbuf_tailroom(m);
        n = len < room ? len : room;
        p = rte_pktmbuf_append(m, (uint16_t)n);
        memcpy(p, data, n);
        data += n;
        len -= n;
        if (head == NULL) {
            head = m;
        } else {
            last->next = m;
            head->nb_segs++;
            head->pkt_len += n;
        }
        last = m;
    }
    return head;
}

/* Sends m on direction d's receiving half, or keeps it (stall) until there is room:
 * the stall goes first, before anything else of d. */
static void http_send(struct proxy_sess *s, int d, struct rte_mbuf *m)
{
    struct tcp_conn *to = half_conn(s, 1 - d);
    uint32_t len = m->pkt_len;
    int rc = 0;

    if (to == NULL) {
        proxy_stats(s->px)->discarded_bytes += len;
        rte_pktmbuf_free(m);
        return;
    }
    if (s->stall[d] == NULL && (rc = half_send(s, 1 - d, m)) != LBD_EBUSY && rc != LBD_ENOMEM) {
        if (rc != 0) {
            proxy_stats(s->px)->discarded_bytes += len;
            rte_pktmbuf_free(m);
        }
        return;
    }
    if (s->stall[d] != NULL) {
        /* Behind another stalled packet: chain them (both charged). */
        struct rte_mbuf *t = rte_pktmbuf_lastseg(s->stall[d]);
        t->next = m;
        s->stall[d]->nb_segs = (uint16_t)(s->stall[d]->nb_segs + m->nb_segs);
        s->stall[d]->pkt_len += m->pkt_len;
    } else {
        s->stall[d] = m;
    }
    tcp_buf_charge(s->px->conf.tcp, m->nb_segs);
    proxy_stats(s->px)->send_stalls++;
    proxy_retry_later(s);
}

/* Sends direction d's stalled packet when it fits. True when nothing is stalled. */
static bool http_flush(struct proxy_sess *s, int d)
{
    struct tcp_conn *to = half_conn(s, 1 - d);
    struct rte_mbuf *m = s->stall[d];

    if (m == NULL)
        return true;
    if (to == NULL) {
        s->stall[d] = NULL;
        tcp_buf_release(s->px->conf.tcp, m->nb_segs);
        proxy_stats(s->px)->discarded_bytes += m->pkt_len;
        rte_pktmbuf_free(m);
        return true;
    }
    if (m->pkt_len > half_send_space(s, 1 - d))
        return false;
    s->stall[d] = NULL;
    tcp_buf_release(s->px->conf.tcp, m->nb_segs);
    http_send(s, d, m);
    return s->stall[d] == NULL;
}

static void http_drop_stall(struct proxy_sess *s, int d)
{
    struct rte_mbuf *m = s->stall[d];

    if (m == NULL)
        return;
    s->stall[d] = NULL;
    tcp_buf_release(s->px->conf.tcp, m->nb_segs);
    rte_pktmbuf_free(m);
}

/*
 * Takes exactly n bytes (n <= what is queued) from the receive queue of the half
 * direction d's data comes from (half_rcvq); sends them on d when send, else frees
 * them. tcp_recv (and tls_stream_recv) hand out whole segments and split only the
 * first, so this may take several calls. False when the pool had no mbuf for a split
 * (the message can no longer be framed: the caller resets).
 */
static bool http_take(struct proxy_sess *s, uint32_t n, int d, bool send)
{
    while (n > 0) {
        struct rte_mbuf *m = half_recv(s, d, n);
        if (m == NULL)
            return false;
        n -= m->pkt_len;
        if (send) {
            proxy_count_bytes(s, d, m->pkt_len);
            http_send(s, d, m);
        } else {
            rte_pktmbuf_free(m);
        }
    }
    return true;
}

/* Lets go of the backend connection (close when it is idle, else reset). */
static void http_drop_backend(struct proxy_sess *s, bool reset)
{
    struct proxy_http *h = s->http;

    if (h->flags & HF_CONNECTING)
        twheel_cancel(s->px->conf.wheel, &s->timer);
    h->flags &= ~(HF_CONNECTING | HF_SRV_UP | HF_SRV_EOF);
    http_drop_stall(s, DIR_IN);
    proxy_sess_uncount(s);
    if (s->srv == NULL) {
        half_drop_tls(s, DIR_OUT);
        return;
    }
    if (reset)
        half_abort(s, DIR_OUT);
    else
        half_close(s, DIR_OUT);
}

/* Throws away what the client sends (after an error, or once closing). */
static void http_discard_client(struct proxy_sess *s)
{
    struct rte_mbuf *m;

    while (s->cli != NULL && (m = half_recv(s, DIR_IN, UINT32_MAX)) != NULL) {
        proxy_stats(s->px)->discarded_bytes += m->pkt_len;
        rte_pktmbuf_free(m);
    }
}

/* Shuts the client down once its output is out (HF_SHUT). */
static void http_shut_client(struct proxy_sess *s)
{
    struct proxy_http *h = s->http;

    if (!(h->flags & HF_SHUT) || s->cli == NULL || s->stall[DIR_OUT] != NULL)
        return;
    h->flags &= ~HF_SHUT;
    half_shutdown(s, DIR_IN);
}

static void http_closing(struct proxy_sess *s)
{
    struct proxy_http *h = s->http;

    twheel_cancel(s->px->conf.wheel, &s->timer);
    h->state = H_CLOSING;
    h->flags |= HF_SHUT;
    if (s->cli != NULL)
        tcp_set_idle_timeout(s->cli, 10000);    /* the client's FIN or data: not longer */
    http_discard_client(s);
    http_flush(s, DIR_OUT);
    http_shut_client(s);
}

/* Both halves go: RST to whoever is left. */
static void http_abort(struct proxy_sess *s)
{
    vs_ctr(s)->aborted++;
    proxy_log_end(&s->log, TXLOG_END_ABORTED);
    proxy_sess_abort(s);
}

/* Why a request that lbd answers with status ends, when nothing said before. */
static enum txlog_end http_fail_reason(const struct proxy_sess *s, unsigned status)
{
    switch (status) {
    case 400:
    case 431:
        return TXLOG_END_BAD_REQUEST;
    case 408:
        return TXLOG_END_CLIENT_TIMEOUT;
    case 502:
        return TXLOG_END_SERVER_CLOSE;
    case 503:
        return s->log.connect_fail != TXLOG_END_NONE ? (enum txlog_end)s->log.connect_fail
                                                     : TXLOG_END_NO_SERVER;
    case 504:
        return TXLOG_END_SERVER_TIMEOUT;
    default:
        return TXLOG_END_ERROR;
    }
}

/*
 * lbd answers status itself and closes the client connection (the backend, if any,
 * is reset); after the response started there is nothing to answer with: reset both.
 */
static void http_fail(struct proxy_sess *s, unsigned status)
{
    struct proxy_http *h = s->http;
    struct proxy_http_vs_counters *vc = vs_ctr(s);
    char text[256];
    struct rte_mbuf *m;
    int n;

    switch (status) {
    case 400: vc->err_400++; break;
    case 408: vc->err_408++; break;
    case 431: vc->err_431++; break;
    case 502: vc->err_502++; break;
    case 503: vc->err_503++; break;
    case 504: vc->err_504++; break;
    default: break;
    }
    if (!(h->flags & HF_RSP_HEAD))
        s->log.status = (uint16_t)status;
    proxy_log_end(&s->log, http_fail_reason(s, status));
    if (h->state == H_WAIT_REQ)
        s->log.pending = s->log.on && s->px->conf.log_ring != NULL;    /* 400, 408, 431 */
    if ((h->flags & HF_RSP_HEAD) || s->cli == NULL) {
        http_abort(s);
        return;
    }
    http_drop_backend(s, true);
    count_status(s, status, false);
    n = http_error_response(status, text, sizeof(text));
    m = n > 0 ? http_mbufs(s->px, text, (uint32_t)n) : NULL;
    if (m == NULL) {
        http_abort(s);
        return;
    }
    http_send(s, DIR_OUT, m);
    h->flags |= HF_RSP_HEAD | HF_RSP_DONE;
    proxy_log_emit(s, proxy_now(s->px));
    http_closing(s);
}

/* A client connection that has nothing more to say: closed without a word. */
static void http_close_quiet(struct proxy_sess *s)
{
    http_drop_backend(s, false);
    half_close(s, DIR_IN);
    proxy_sess_end(s);
}

static void proxy_http_accept(struct proxy *px, struct tcp_conn *c, const struct snap_vs *vs)
{
    struct proxy_sess *s;
    struct proxy_http *h = px->http_free;

    if (h == NULL) {
        proxy_stats(px)->http_pool_full++;
        tcp_abort(c);
        return;
    }
    /* With TLS, requests are read from the stream's plaintext once the handshake is
     * done (http_cli_event, TCP_EV_ESTABLISHED). */
    s = proxy_sess_accept(px, c, vs, http_cli_event);
    if (s == NULL)
        return;
    px->http_free = h->next_free;
    memset(h, 0, sizeof(*h));
    s->http = h;
    if (s->state == PROXY_HANDSHAKE)
        return;
    s->state = PROXY_HTTP;
    twheel_arm(px->conf.wheel, &s->timer, proxy_now(px) + vs->http_request_ms);
    http_try_request(s);
}

/* The client's TLS handshake is done: the first request's deadline starts. */
static void http_cli_tls_ready(struct proxy_sess *s)
{
    struct proxy *px = s->px;
    const struct snap_vs *vs = http_vs(s);

    twheel_cancel(px->conf.wheel, &s->timer);
    if (vs == NULL) {
        proxy_stats(px)->no_service++;
        proxy_sess_abort(s);
        return;
    }
    s->state = PROXY_HTTP;
    twheel_arm(px->conf.wheel, &s->timer, proxy_now(px) + vs->http_request_ms);
    http_try_request(s);
}

size_t proxy_http_state_size(void)
{
    return sizeof(struct proxy_http);
}

void proxy_http_pool_init(struct proxy *px)
{
    px->http_free = NULL;
    for (uint32_t i = px->conf.max_sessions; i-- > 0;) {
        struct proxy_http *h = &px->http_pool[i];
        h->next_free = px->http_free;
        px->http_free = h;
    }
}

static void proxy_http_release(struct proxy_sess *s)
{
    struct proxy *px = s->px;
    struct proxy_http *h = s->http;

    s->http = NULL;
    h->next_free = px->http_free;
    px->http_free = h;
}

/* Opens the backend connection to rs (pe: the client's source-IP persistence entry). */
static int http_connect(struct proxy_sess *s, const struct snap_vs *vs,
                        const struct snap_rs *rs, struct persist_entry *pe)
{
    struct proxy *px = s->px;
    struct traffic_stats *tr = px->conf.traffic;
    uint16_t port = rs->port ? rs->port : s->vport;
    int rc;

    half_drop_tls(s, DIR_OUT);          /* of a server tried before */
    if (rs->tls != NULL) {
        /* Re-encrypted: the stream reports the end of its handshake as
         * TCP_EV_ESTABLISHED, so the handshake is part of the connect deadline. */
        s->tls[DIR_OUT] = tls_stream_connect(px->tls, rs->tls, s->vs_slot, http_srv_event, s);
        if (s->tls[DIR_OUT] == NULL) {
            proxy_stats(px)->connect_errors++;
            return LBD_ENOMEM;
        }
        rc = tcp_connect(px->conf.tcp, vs->source_address, rs->ip, port, tls_stream_on_tcp,
                         s->tls[DIR_OUT], &s->srv);
        if (rc == 0)
            tls_stream_attach(s->tls[DIR_OUT], s->srv);
    } else {
        rc = tcp_connect(px->conf.tcp, vs->source_address, rs->ip, port, http_srv_event, s,
                         &s->srv);
    }
    if (rc != 0) {
        s->srv = NULL;
        half_drop_tls(s, DIR_OUT);
        proxy_stats(px)->connect_errors++;
        return rc;
    }
    proxy_stats(px)->connect_attempts++;
    proxy_log_server(s, rs->ip, port, rs->id);
    if (s->n_tried < PROXY_MAX_TRIES)
        s->tried[s->n_tried++] = rs->idx;
    s->rs_idx = rs->idx;
    s->rs_id = rs->id;
    s->flags |= PROXY_SF_COUNTED;
    tr->rs_active_conns[rs->idx]++;
    tr->rs[rs->idx].conns++;
    if (vs->persist)
        proxy_persist(s, vs, rs, pe);
    s->http->flags |= HF_CONNECTING;
    s->http->flags &= ~(HF_SRV_UP | HF_SRV_EOF);
    twheel_arm(px->conf.wheel, &s->timer, proxy_now(px) + px->snap->l7.connect_ms);
    return 0;
}

static struct sched_flow http_flow(const struct proxy_sess *s)
{
    return (struct sched_flow){
        .client_ip = s->client_ip,
        .vip = s->vip,
        .client_port = rte_cpu_to_be_16(s->cli->key.rport),
        .vport = rte_cpu_to_be_16(s->vport),
        .proto = IPPROTO_TCP,
    };
}

/*
 * The real server for the request in px->http_in: its persistence cookie when that
 * names a server of vs that may take requests, else proxy_choose (source-IP
 * persistence, scheduler). Sets HF_SET_COOKIE when the response must carry a cookie.
 */
static const struct snap_rs *http_route_pick(struct proxy_sess *s, const struct snap_vs *vs,
                                             struct persist_entry **pe)
{
    struct proxy *px = s->px;
    struct proxy_http *h = s->http;
    const struct http_head *hd = px->http_head;
    const uint32_t *active = px->conf.traffic->rs_active_conns;
    struct sched_flow f = http_flow(s);
    const struct snap_rs *rs;
    struct http_span v;
    int bound;

    *pe = NULL;
    if (vs->cookie) {
        struct http_cookie_val cv;
        uint32_t t = now_s(px);
        h->cookie_first = t;
        if (http_cookie_find(px->http_in, hd, vs->cookie_name, vs->cookie_name_len, &v)) {
            if (http_cookie_decode(&px->snap->cookie_key, px->http_in + v.off, v.len, &cv) &&
                http_cookie_fresh(&cv, vs->cookie_max_idle_s, vs->cookie_max_life_s, t)) {
                for (uint32_t i = 0; i < vs->n_rs; i++) {
                    rs = &vs->rs[i];
                    if (rs->cookie_id != cv.id)
                        continue;
                    if (!sched_eligible(px->conf.sched, active, rs))
                        break;
                    vs_ctr(s)->cookie_hits++;
                    /* A timed cookie is refreshed once a quarter of its idle time went. */
                    if (cv.timed && vs->cookie_max_idle_s != 0 &&
                        t - cv.last_s >= (vs->cookie_max_idle_s + 3) / 4) {
                        h->cookie_first = cv.first_s;
                        h->flags |= HF_SET_COOKIE;
                    }
                    return rs;
                }
            }
            vs_ctr(s)->cookie_replaced++;
        }
        h->flags |= HF_SET_COOKIE;
    }
    rs = proxy_choose(px, vs, &f, s->tried, s->n_tried, pe, &bound);
    if (rs != NULL && !bound && vs->scheduler == CFG_SCHED_WLC && (h->flags & HF_SRV_UP) &&
        (rs->idx != s->rs_idx || rs->id != s->rs_id)) {
        /* Least connections with a tie (wlc takes turns among equals): the server the
         * client is connected to already is as good a choice, and costs no connection. */
        const struct snap_rs *cur = snapshot_rs(px->snap, s->rs_idx, s->rs_id);
        if (cur != NULL && &px->snap->vs[cur->vs] == vs &&
            sched_eligible(px->conf.sched, active, cur) &&
            (uint64_t)active[cur->idx] * rs->weight <= (uint64_t)active[rs->idx] * cur->weight)
            rs = cur;
    }
    return rs;
}

/*
 * The real server for the request in px->http_in: its persistence cookie when that
 * names a server of vs that may take requests, else proxy_choose (source-IP
 * persistence, scheduler). Sets HF_SET_COOKIE when the response must carry a cookie.
 * The client's own kept-alive backend connection is not counted against its server
 * while choosing, so that keeping it costs that server nothing in wlc or max_conns.
 */
static const struct snap_rs *http_route(struct proxy_sess *s, const struct snap_vs *vs,
                                        struct persist_entry **pe)
{
    uint32_t *active = s->px->conf.traffic->rs_active_conns;
    bool mine = (s->flags & PROXY_SF_COUNTED) != 0;
    const struct snap_rs *rs;

    if (mine)
        active[s->rs_idx]--;
    rs = http_route_pick(s, vs, pe);
    if (mine)
        active[s->rs_idx]++;
    return rs;
}

/* The request head is routed to rs: sends it on the kept-alive backend connection if
 * that goes to rs, else opens a new one. */
static void http_dispatch(struct proxy_sess *s, const struct snap_vs *vs,
                          const struct snap_rs *rs, struct persist_entry *pe,
                          struct rte_mbuf *head)
{
    struct proxy_http *h = s->http;
    struct proxy *px = s->px;

    px->conf.http->rs[rs->idx].requests++;
    if ((h->flags & HF_SRV_UP) && s->srv != NULL && s->rs_idx == rs->idx &&
        s->rs_id == rs->id) {
        proxy_stats(px)->http_backend_reused++;
        proxy_log_server(s, rs->ip, rs->port ? rs->port : s->vport, rs->id);
        proxy_log_connected(s, proxy_now(px));
        if (vs->persist)
            proxy_persist(s, vs, rs, pe);
        http_send(s, DIR_IN, head);
        return;
    }
    http_drop_backend(s, false);
    if (http_connect(s, vs, rs, pe) != 0) {
        rte_pktmbuf_free(head);
        proxy_log_end(&s->log, TXLOG_END_ERROR);     /* no control block or local port */
        http_fail(s, 503);
        return;
    }
    /* Held until the connection is up (and kept for a retry elsewhere). */
    s->stall[DIR_IN] = head;
    tcp_buf_charge(px->conf.tcp, head->nb_segs);
}

/* Request body: from the client to the server as far as its framing goes. */
static void http_pump_req(struct proxy_sess *s)
{
    struct proxy_http *h = s->http;
    enum http_verdict v;

    if (h->state != H_REQ || s->srv == NULL || !(h->flags & HF_SRV_UP))
        return;
    if (!http_flush(s, DIR_IN))
        return;
    while (!(h->flags & HF_REQ_DONE) && s->cli != NULL && s->srv != NULL) {
        uint32_t space = half_send_space(s, DIR_OUT), avail = half_recv_bytes(s, DIR_IN), n;
        if (avail == 0)
            break;
        if (space == 0) {
            proxy_stats(s->px)->backpressure++;
            break;
        }
        n = http_msg_body_q(&h->req, half_rcvq(s, DIR_IN), space < avail ? space : avail, &v);
        if (v != HTTP_V_OK) {
            http_fail(s, 400);
            return;
        }
        if (h->req.done)
            h->flags |= HF_REQ_DONE;
        if (n == 0)
            break;
        if (!http_take(s, n, DIR_IN, true)) {
            http_abort(s);
            return;
        }
        if (s->stall[DIR_IN] != NULL)
            break;
    }
    if (!(h->flags & HF_REQ_DONE) && (h->flags & HF_CLI_EOF) && s->cli != NULL &&
        half_recv_bytes(s, DIR_IN) == 0) {
        proxy_log_end(&s->log, TXLOG_END_CLIENT_CLOSE);
        http_abort(s);      /* the client went before its request was whole */
    }
}

static void http_try_request(struct proxy_sess *s)
{
    struct proxy *px = s->px;
    struct proxy_http *h = s->http;
    struct http_head *hd = px->http_head;
    const struct snap_vs *vs;
    const struct snap_rs *rs;
    struct persist_entry *pe;
    struct rte_mbuf *m;
    enum http_verdict v;
    char xff[16];
    uint32_t n, len;
    int olen;

    if (h->state != H_WAIT_REQ || s->cli == NULL || s->stall[DIR_OUT] != NULL)
        return;
    n = half_recv_bytes(s, DIR_IN);
    if (n == 0) {
        if (h->flags & HF_CLI_EOF)
            http_close_quiet(s);
        return;
    }
    h->flags |= HF_BYTES;
    if (h->scan == 0 && (len = http_msg_leading_crlf(half_rcvq(s, DIR_IN))) > 0) {
        /* Empty lines before the request line (after a body, from old clients). */
        if (!http_take(s, len, DIR_IN, false)) {
            http_abort(s);
            return;
        }
        if (len == n)
            return;
        n -= len;
    }
    vs = http_vs(s);
    if (vs == NULL) {
        http_fail(s, 503);
        return;
    }
    len = http_msg_find_end(half_rcvq(s, DIR_IN), &h->scan, vs->max_header_bytes);
    if (len == 0) {
        if (n >= vs->max_header_bytes)
            http_fail(s, 431);
        else if (h->flags & HF_CLI_EOF)
            http_fail(s, 400);
        return;
    }
    http_msg_copy(half_rcvq(s, DIR_IN), len, px->http_in);
    http_msg_init(&h->req, HTTP_REQUEST, false);
    v = http_msg_head(&h->req, px->http_in, len, hd);
    if (v != HTTP_V_OK) {
        http_fail(s, v == HTTP_V_TOO_BIG ? 431 : 400);
        return;
    }
    if (!http_take(s, len, DIR_IN, false)) {
        http_abort(s);
        return;
    }
    twheel_cancel(px->conf.wheel, &s->timer);
    proxy_log_begin(s, proxy_now(px), true);
    proxy_log_request(s, px->http_in, hd->start_line);
    h->n_req++;
    vs_ctr(s)->requests++;
    proxy_stats(px)->http_requests++;
    h->flags &= HF_KEEP;
    h->scan = h->rscan = 0;
    if (hd->keep_alive)
        h->flags |= HF_CLI_KA;
    if (hd->upgrade)
        h->flags |= HF_UPGRADE;
    if (hd->method == HTTP_HEAD)
        h->flags |= HF_HEAD_REQ;
    if (h->req.done)
        h->flags |= HF_REQ_DONE;
    h->state = H_REQ;
    http_msg_init(&h->rsp, HTTP_RESPONSE, hd->method == HTTP_HEAD);
    s->n_tried = 0;

    rs = http_route(s, vs, &pe);
    if (rs == NULL) {
        proxy_stats(px)->no_server++;
        proxy_log_end(&s->log, TXLOG_END_NO_SERVER);
        http_fail(s, 503);
        return;
    }
    if (vs->xff) {
        const uint8_t *a = (const uint8_t *)&s->client_ip;
        snprintf(xff, sizeof(xff), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    }
    olen = http_rewrite_request(px->http_in, hd, vs->cookie ? vs->cookie_name : NULL,
                                vs->cookie_name_len, vs->xff ? xff : NULL, px->http_out,
                                CFG_HTTP_HEADER_BYTES_MAX + 1024);
    if (olen < 0) {
        http_fail(s, 431);
        return;
    }
    m = http_mbufs(px, px->http_out, (uint32_t)olen);
    if (m == NULL) {
        http_fail(s, 503);
        return;
    }
    http_dispatch(s, vs, rs, pe, m);
    if (s->http != NULL && h->state == H_REQ) {
        proxy_count_bytes(s, DIR_IN, (uint32_t)olen);
        http_pump_req(s);
    }
}

/* The backend connection failed before it was up: the next server, or 503. */
static void http_connect_failed(struct proxy_sess *s)
{
    struct proxy *px = s->px;
    struct proxy_http *h = s->http;
    const struct snap_vs *vs = http_vs(s);
    struct sched_flow f;
    struct persist_entry *pe;
    const struct snap_rs *rs;
    int bound;

    twheel_cancel(px->conf.wheel, &s->timer);
    h->flags &= ~HF_CONNECTING;
    proxy_sess_uncount(s);
    if (s->cli == NULL) {
        proxy_sess_abort(s);
        return;
    }
    if (vs == NULL || s->n_tried >= PROXY_MAX_TRIES || s->stall[DIR_IN] == NULL) {
        proxy_stats(px)->connect_failed_reset++;
        http_fail(s, 503);
        return;
    }
    f = http_flow(s);
    rs = proxy_choose(px, vs, &f, s->tried, s->n_tried, &pe, &bound);
    if (rs == NULL) {
        proxy_stats(px)->connect_failed_reset++;
        http_fail(s, 503);
        return;
    }
    proxy_stats(px)->retries++;
    if (vs->cookie)
        h->flags |= HF_SET_COOKIE;    /* the cookie's server did not answer: a new one */
    px->conf.http->rs[rs->idx].requests++;
    if (http_connect(s, vs, rs, pe) != 0)
        http_fail(s, 503);
}

/* Both messages are complete: the next request, or the end. */
static void http_finish(struct proxy_sess *s)
{
    struct proxy_http *h = s->http;
    uint64_t now = proxy_now(s->px);

    proxy_log_end(&s->log, TXLOG_END_DONE);
    proxy_log_emit(s, now);
    proxy_log_begin(s, now, false);     /* the wait for the next request */

    if (!(h->flags & HF_SRV_KA) || (h->flags & HF_SRV_EOF))
        http_drop_backend(s, false);
    if (!(h->flags & HF_CLI_KA) || (h->flags & HF_CLI_EOF)) {
        http_closing(s);
        return;
    }
    h->state = H_WAIT_REQ;
    h->flags &= HF_KEEP;
    twheel_cancel(s->px->conf.wheel, &s->timer);
    {
        const struct snap_vs *vs = http_vs(s);
        twheel_arm(s->px->conf.wheel, &s->timer,
                   proxy_now(s->px) + (vs != NULL ? vs->http_request_ms : 1000));
    }
    http_try_request(s);
}

/* The response's header block in px->http_in (len bytes) is parsed: passes it on. */
static void http_response_head(struct proxy_sess *s, uint32_t len)
{
    struct proxy *px = s->px;
    struct proxy_http *h = s->http;
    struct http_head *hd = px->http_head;
    const char *out = px->http_in;
    char value[HTTP_COOKIE_VALUE_MAX], sc[CFG_LABEL_MAX + HTTP_COOKIE_VALUE_MAX + 16];
    const struct snap_vs *vs = http_vs(s);
    const struct snap_rs *rs;
    struct rte_mbuf *m;
    int olen = (int)len, sclen = -1;

    count_status(s, hd->status, true);
    if (hd->status / 100 == 1 && hd->status != 101) {
        /* Interim (100 Continue, 103): on to the client; the final one follows. */
        m = http_mbufs(px, px->http_in, len);
        if (m == NULL) {
            http_abort(s);
            return;
        }
        proxy_count_bytes(s, DIR_OUT, len);
        h->flags |= HF_RSP_ANY;
        http_send(s, DIR_OUT, m);
        http_msg_init(&h->rsp, HTTP_RESPONSE, (h->flags & HF_HEAD_REQ) != 0);
        return;
    }
    if (hd->status == 101 && !(h->flags & HF_UPGRADE)) {
        http_fail(s, 502);
        return;
    }
    if (hd->status != 101 && (h->flags & HF_SET_COOKIE) && vs != NULL && vs->cookie &&
        (rs = snapshot_rs(px->snap, s->rs_idx, s->rs_id)) != NULL) {
        struct http_cookie_val cv = {
            .id = rs->cookie_id,
            .timed = vs->cookie_max_idle_s != 0 || vs->cookie_max_life_s != 0,
            .first_s = h->cookie_first,
            .last_s = now_s(px),
        };
        http_cookie_encode(&px->snap->cookie_key, &cv, value);
        sclen = snprintf(sc, sizeof(sc), "%s=%s; path=/", vs->cookie_name, value);
    }
    if (sclen > 0) {
        olen = http_rewrite_response(px->http_in, hd, sc, (size_t)sclen, px->http_out,
                                     CFG_HTTP_HEADER_BYTES_MAX + 1024);
        if (olen < 0) {
            http_fail(s, 502);
            return;
        }
        out = px->http_out;
        vs_ctr(s)->cookie_inserted++;
    }
    m = http_mbufs(px, out, (uint32_t)olen);
    if (m == NULL) {
        http_abort(s);
        return;
    }
    proxy_count_bytes(s, DIR_OUT, (uint32_t)olen);
    h->flags |= HF_RSP_HEAD | HF_RSP_ANY;
    if (hd->keep_alive && hd->body != HTTP_BODY_CLOSE)
        h->flags |= HF_SRV_KA;
    else
        h->flags &= ~HF_CLI_KA;
    s->log.status = hd->status;
    http_send(s, DIR_OUT, m);
    if (hd->status == 101) {
        vs_ctr(s)->upgrades++;
        if (h->flags & HF_CLI_EOF)
            s->flags |= PROXY_SF_EOF0;
        if (h->flags & HF_SRV_EOF)
            s->flags |= PROXY_SF_EOF1;
        proxy_splice(s);
        return;
    }
    if (h->rsp.done)
        h->flags |= HF_RSP_DONE;
}

/* Response body: from the server to the client as far as its framing goes. */
static void http_pump_rsp(struct proxy_sess *s)
{
    struct proxy_http *h = s->http;
    enum http_verdict v;

    if (!http_flush(s, DIR_OUT))
        return;
    while (!(h->flags & HF_RSP_DONE) && s->srv != NULL && s->cli != NULL) {
        uint32_t space = half_send_space(s, DIR_IN), avail = half_recv_bytes(s, DIR_OUT), n;
        if (avail == 0)
            break;
        if (space == 0) {
            proxy_stats(s->px)->backpressure++;
            break;
        }
        n = http_msg_body_q(&h->rsp, half_rcvq(s, DIR_OUT), space < avail ? space : avail, &v);
        if (v != HTTP_V_OK) {
            http_abort(s);
            return;
        }
        if (h->rsp.done)
            h->flags |= HF_RSP_DONE;
        if (n == 0)
            break;
        if (!http_take(s, n, DIR_OUT, true)) {
            http_abort(s);
            return;
        }
        if (s->stall[DIR_OUT] != NULL)
            break;
    }
}

/* What the server sent: response heads and bodies, in order; then the next request. */
static void http_on_response(struct proxy_sess *s)
{
    struct proxy *px = s->px;
    struct proxy_http *h;
    const struct snap_vs *vs;

    for (;;) {
        uint32_t len;
        h = s->http;
        if (h == NULL || s->state != PROXY_HTTP)
            return;
        if (!http_flush(s, DIR_OUT))
            return;
        http_shut_client(s);
        if (h->state != H_REQ) {
            /* Nothing asked: whatever a kept-alive server says is not an answer. */
            if (s->srv != NULL &&
                (half_recv_bytes(s, DIR_OUT) > 0 || (h->flags & HF_SRV_EOF)))
                http_drop_backend(s, half_recv_bytes(s, DIR_OUT) > 0);
            if (h->state == H_WAIT_REQ)
                http_try_request(s);
            return;
        }
        if (s->srv == NULL || !(h->flags & HF_SRV_UP))
            return;
        if (!(h->flags & HF_RSP_HEAD)) {
            vs = http_vs(s);
            len = http_msg_find_end(half_rcvq(s, DIR_OUT), &h->rscan,
                                    vs != NULL ? vs->max_header_bytes
                                               : CFG_HTTP_HEADER_BYTES_DEFAULT);
            if (len == 0) {
                if (half_recv_bytes(s, DIR_OUT) >= (vs != NULL ? vs->max_header_bytes
                                                          : CFG_HTTP_HEADER_BYTES_DEFAULT) ||
                    (h->flags & HF_SRV_EOF))
                    http_fail(s, 502);
                return;
            }
            http_msg_copy(half_rcvq(s, DIR_OUT), len, px->http_in);
            if (http_msg_head(&h->rsp, px->http_in, len, px->http_head) != HTTP_V_OK) {
                http_fail(s, 502);
                return;
            }
            if (!http_take(s, len, DIR_OUT, false)) {
                http_abort(s);
                return;
            }
            h->rscan = 0;
            http_response_head(s, len);
            if (s->http == NULL || s->state != PROXY_HTTP || h->state != H_REQ)
                return;
            if (!(h->flags & HF_RSP_HEAD))
                continue;   /* a 1xx: the next head */
        }
        http_pump_rsp(s);
        if (s->http == NULL || h->state != H_REQ)
            return;
        if (!(h->flags & HF_RSP_DONE) && (h->flags & HF_SRV_EOF) && s->srv != NULL &&
            half_recv_bytes(s, DIR_OUT) == 0 && s->stall[DIR_OUT] == NULL) {
            if (http_msg_eof(&h->rsp) != HTTP_V_OK) {
                http_abort(s);      /* cut short */
                return;
            }
            h->flags |= HF_RSP_DONE;
        }
        if (!(h->flags & HF_RSP_DONE) || s->stall[DIR_OUT] != NULL)
            return;
        if (!(h->flags & HF_REQ_DONE))
            h->flags &= ~(HF_CLI_KA | HF_SRV_KA);   /* answered before the request was whole */
        http_finish(s);
        return;
    }
}

static void http_cli_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct proxy_sess *s = arg;
    struct proxy_http *h = s->http;

    (void)c;
    switch (ev) {
    case TCP_EV_ESTABLISHED:
        /* Only a TLS stream reports this: the client's handshake is done. */
        if (s->state == PROXY_HANDSHAKE)
            http_cli_tls_ready(s);
        break;
    case TCP_EV_READABLE:
        if (h->state == H_WAIT_REQ)
            http_try_request(s);
        else if (h->state == H_REQ)
            http_pump_req(s);
        else
            http_discard_client(s);
        break;
    case TCP_EV_WRITABLE:
        http_on_response(s);
        break;
    case TCP_EV_PEER_FIN:
        h->flags |= HF_CLI_EOF;
        if (h->state == H_WAIT_REQ)
            http_try_request(s);
        else if (h->state == H_REQ)
            http_pump_req(s);
        break;
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
        s->cli = NULL;      /* the stack frees it after this call */
        if (ev == TCP_EV_RESET)
            proxy_stats(s->px)->client_resets++;
        else
            proxy_stats(s->px)->client_timeouts++;
        if (h->state == H_REQ)
            vs_ctr(s)->aborted++;
        proxy_log_end(&s->log, ev == TCP_EV_RESET ? TXLOG_END_CLIENT_RESET
                                                  : TXLOG_END_CLIENT_TIMEOUT);
        proxy_sess_abort(s);
        break;
    case TCP_EV_CLOSED:
        s->cli = NULL;
        proxy_log_end(&s->log, TXLOG_END_CLIENT_CLOSE);
        http_drop_backend(s, h->state == H_REQ);
        proxy_sess_end(s);
        break;
    }
}

static void http_srv_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct proxy_sess *s = arg;
    struct proxy_http *h = s->http;
    struct proxy *px = s->px;

    /* A closed or reset backend connection says nothing more (tcp_close, tcp_abort,
     * tls_stream_close); a stream reports a failure with c already NULL. */
    if (c != s->srv && s->tls[DIR_OUT] == NULL)
        return;
    switch (ev) {
    case TCP_EV_ESTABLISHED:
        if (!(h->flags & HF_CONNECTING))
            break;
        twheel_cancel(px->conf.wheel, &s->timer);
        h->flags = (h->flags & ~HF_CONNECTING) | HF_SRV_UP;
        proxy_stats(px)->connected++;
        proxy_log_connected(s, proxy_now(px));
        tcp_set_idle_timeout(s->srv, px->snap != NULL ? px->snap->l7.server_idle_ms : 0);
        if (px->snap != NULL)
            tcp_set_cc(s->srv, (enum tcp_cc)px->snap->l7.cc);
        http_pump_req(s);
        break;
    case TCP_EV_READABLE:
        http_on_response(s);
        break;
    case TCP_EV_WRITABLE:
        http_pump_req(s);
        break;
    case TCP_EV_PEER_FIN:
        h->flags |= HF_SRV_EOF;
        http_on_response(s);
        break;
    case TCP_EV_CLOSED:
        /* What it sent first, then as gone as after a reset. */
        h->flags |= HF_SRV_EOF;
        http_on_response(s);
        if (s->http == NULL || s->srv != c)
            break;
        /* fall through */
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
        s->srv = NULL;      /* the stack frees it after this call */
        half_drop_tls(s, DIR_OUT);
        proxy_sess_uncount(s);
        if (h->flags & HF_CONNECTING) {
            if (ev == TCP_EV_RESET)
                proxy_stats(px)->connect_refused++;
            else
                proxy_stats(px)->connect_timeouts++;
            s->log.connect_fail = ev == TCP_EV_RESET ? TXLOG_END_CONNECT_REFUSED
                                                     : TXLOG_END_CONNECT_TIMEOUT;
            http_connect_failed(s);
            break;
        }
        h->flags &= ~(HF_SRV_UP | HF_SRV_EOF);
        if (ev == TCP_EV_RESET)
            proxy_stats(px)->server_resets++;
        else if (ev == TCP_EV_TIMEOUT)
            proxy_stats(px)->server_timeouts++;
        if (h->state != H_REQ || (h->flags & HF_RSP_DONE))
            break;          /* an idle backend connection went */
        if (ev == TCP_EV_RESET)
            proxy_log_end(&s->log, TXLOG_END_SERVER_RESET);
        else if (ev == TCP_EV_TIMEOUT)
            proxy_log_end(&s->log, TXLOG_END_SERVER_TIMEOUT);
        if (h->flags & HF_RSP_HEAD)
            http_abort(s);  /* cut short */
        else
            http_fail(s, ev == TCP_EV_TIMEOUT ? 504 : 502);
        break;
    }
}

static void proxy_http_timer(struct proxy_sess *s)
{
    struct proxy_http *h = s->http;

    if (h->flags & HF_CONNECTING) {
        proxy_stats(s->px)->connect_timeouts++;
        s->log.connect_fail = TXLOG_END_CONNECT_TIMEOUT;
        half_abort(s, DIR_OUT);
        http_connect_failed(s);
        return;
    }
    if (h->state == H_WAIT_REQ) {
        http_flush(s, DIR_OUT);
        if (!(h->flags & HF_BYTES) && h->n_req > 0) {
            vs_ctr(s)->idle_closed++;
            http_close_quiet(s);
        } else {
            http_fail(s, 408);
        }
        return;
    }
    /* A stall retry. */
    http_pump_req(s);
    if (s->http != NULL && s->state == PROXY_HTTP)
        http_on_response(s);
}

const struct proxy_mode proxy_http_mode = {
    .accept = proxy_http_accept,
    .timer = proxy_http_timer,
    .release = proxy_http_release,
};
