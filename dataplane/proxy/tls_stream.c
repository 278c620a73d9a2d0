/*
 * tls_stream: TLS on memory BIOs over a connection of the worker's TCP stack (see
 * tls_stream.h). Owning worker only.
 */
#include "proxy/tls_stream.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "err.h"
#include "proxy/tls_ctx.h"
#include "tcp/tcp.h"

#define TLS_SF_SERVER       (1u << 0)   /* accepted (else connected to a real server) */
#define TLS_SF_HS_DONE      (1u << 1)
#define TLS_SF_TCP_UP       (1u << 2)   /* the TCP connection is established */
#define TLS_SF_TCP_EOF      (1u << 3)   /* the peer's FIN arrived */
#define TLS_SF_CLOSE_NOTIFY (1u << 4)   /* the peer's close_notify arrived */
#define TLS_SF_FIN_GIVEN    (1u << 5)   /* PEER_FIN reported to the user */
#define TLS_SF_SHUT         (1u << 6)   /* the user shut down writing */
#define TLS_SF_SHUT_TCP     (1u << 7)   /* ... and the FIN is queued */
#define TLS_SF_GOT_FIRST    (1u << 8)   /* first_byte is set */
#define TLS_SF_DEAD         (1u << 9)   /* freed during one of its own calls */
#define TLS_SF_FAILED       (1u << 10)

#define TLS_PULL_MAX (TLS_RECORD_MAX + 512)
#define TLS_OUT_SEGS 32                 /* mbufs per packet of ciphertext */
#define TLS_REC_HANDSHAKE 0x16

static void ts_on_timer(struct twheel_timer *t, uint64_t now);

static inline struct tls_vs_stats *ts_vs(struct tls_stream *ts)
{
    return &ts->tw->stats->vs[ts->vs_slot];
}

/* ---- the worker's pool ------------------------------------------------------- */

struct tls_worker *tls_worker_create(unsigned worker_id, uint32_t max_streams,
                                     struct tcp_stack *tcp, struct twheel *wheel,
                                     struct rte_mempool *pool, struct tls_stats *stats,
                                     char *err, size_t errlen)
{
    struct tls_worker *tw;

    /* The heap, not DPDK memory: OpenSSL's objects live there too, and the worker's
     * DPDK memory is sized for its mbufs and tables (base/pool_size.h). */
    tw = calloc(1, sizeof(*tw));
    if (tw == NULL)
        goto err_nomem;
    tw->streams = calloc(max_streams, sizeof(*tw->streams));
    if (tw->streams == NULL && max_streams > 0)
        goto err_nomem;
    tw->worker_id = worker_id;
    tw->tcp = tcp;
    tw->wheel = wheel;
    tw->pool = pool;
    tw->stats = stats != NULL ? stats : &tw->own_stats;
    tw->max_streams = max_streams;
    tw->cycles_per_us = rte_get_tsc_hz() / 1000000u;
    if (tw->cycles_per_us == 0)
        tw->cycles_per_us = 1;
    tw->budget_cycles = (uint64_t)TLS_HS_BUDGET_US * tw->cycles_per_us;
    for (uint32_t i = max_streams; i-- > 0;) {
        tw->streams[i].tw = tw;
        tw->streams[i].next_free = tw->free_list;
        tw->free_list = &tw->streams[i];
    }
    return tw;

err_nomem:
    free(tw);
    lbd_err_set(err, errlen, LBD_ENOMEM, "tls: out of memory for %u streams", max_streams);
    return NULL;
}

static void ts_release(struct tls_stream *ts);

void tls_worker_free(struct tls_worker *tw)
{
    if (tw == NULL)
        return;
    for (uint32_t i = 0; i < tw->max_streams; i++) {
        struct tls_stream *ts = &tw->streams[i];
        if (ts->ssl != NULL) {
            ts->depth = 0;
            ts_release(ts);
        }
    }
    free(tw->streams);
    free(tw);
}

static struct tls_stream *ts_alloc(struct tls_worker *tw)
{
    struct tls_stream *ts = tw->free_list;

    if (ts == NULL) {
        tw->stats->streams_refused++;
        return NULL;
    }
    tw->free_list = ts->next_free;
    memset(ts, 0, sizeof(*ts));
    ts->tw = tw;
    mbufq_init(&ts->plain);
    twheel_timer_init(&ts->timer, ts_on_timer);
    tw->n_active++;
    return ts;
}

/* Gives everything back and returns ts to the pool. */
static void ts_release(struct tls_stream *ts)
{
    struct tls_worker *tw = ts->tw;

    twheel_cancel(tw->wheel, &ts->timer);
    if (ts->out_pending != NULL) {
        tcp_buf_release(tw->tcp, ts->out_pending->nb_segs);
        rte_pktmbuf_free(ts->out_pending);
        ts->out_pending = NULL;
    }
    tcp_buf_release(tw->tcp, mbufq_purge(&ts->plain));
    SSL_free(ts->ssl);
    ts->ssl = NULL;
    tls_svc_put(ts->svc);
    tls_backend_put(ts->be);
    ts->svc = NULL;
    ts->be = NULL;
    ts->next_free = tw->free_list;
    tw->free_list = ts;
    tw->n_active--;
}

/* The SSL object and its two memory BIOs. */
static int ts_bios(struct tls_stream *ts)
{
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());

    if (r == NULL || w == NULL) {
        BIO_free(r);
        BIO_free(w);
        return -1;
    }
    /* Empty means "later", never end of file: the TCP connection says when it ends. */
    BIO_set_mem_eof_return(r, -1);
    BIO_set_mem_eof_return(w, -1);
    SSL_set_bio(ts->ssl, r, w);
    ts->rbio = r;
    ts->wbio = w;
    return 0;
}

/* ---- events to the user -------------------------------------------------------- */

static inline void ts_enter(struct tls_stream *ts)
{
    ts->depth++;
}

static inline void ts_leave(struct tls_stream *ts)
{
    if (--ts->depth == 0 && (ts->flags & TLS_SF_DEAD))
        ts_release(ts);
}

/* Reports ev to the user; the user may free ts meanwhile (then TLS_SF_DEAD is set and
 * the caller must stop). */
static inline void ts_emit(struct tls_stream *ts, enum tcp_event ev)
{
    if (!(ts->flags & TLS_SF_DEAD) && ts->fn != NULL)
        ts->fn(ts->c, ev, ts->arg);
}

static inline bool ts_dead(const struct tls_stream *ts)
{
    return (ts->flags & TLS_SF_DEAD) != 0;
}

static void ts_later(struct tls_stream *ts, uint64_t ms)
{
    if (!twheel_pending(&ts->timer))
        twheel_arm(ts->tw->wheel, &ts->timer, twheel_now(ts->tw->wheel) + ms);
}

/* ---- ciphertext in and out ------------------------------------------------- */

/* Moves up to TLS_PULL_MAX bytes of ciphertext from the connection into the read BIO.
 * Returns the bytes moved. */
static uint32_t ts_pull(struct tls_stream *ts)
{
    struct rte_mbuf *m, *seg;
    uint32_t n = 0;

    if (ts->c == NULL || (m = tcp_recv(ts->c, TLS_PULL_MAX)) == NULL)
        return 0;
    for (seg = m; seg != NULL; seg = seg->next) {
        const uint8_t *p = rte_pktmbuf_mtod(seg, const uint8_t *);
        if (seg->data_len == 0)
            continue;
        if (!(ts->flags & TLS_SF_GOT_FIRST)) {
            ts->first_byte = p[0];
            ts->flags |= TLS_SF_GOT_FIRST;
        }
        BIO_write(ts->rbio, p, seg->data_len);
        n += seg->data_len;
    }
    rte_pktmbuf_free(m);
    ts->tw->stats->records_in_bytes += n;
    return n;
}

/* A packet of mbufs holding up to TLS_OUT_SEGS mbufs' worth of the write BIO's
 * ciphertext; NULL when the pool is empty. */
static struct rte_mbuf *ts_take_out(struct tls_stream *ts)
{
    struct rte_mbuf *head = NULL, *tail = NULL;

    for (unsigned i = 0; i < TLS_OUT_SEGS && BIO_ctrl_pending(ts->wbio) > 0; i++) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(ts->tw->pool);
        int n;

        if (m == NULL)
            break;
        n = BIO_read(ts->wbio, rte_pktmbuf_mtod(m, void *), rte_pktmbuf_tailroom(m));
        if (n <= 0) {
            rte_pktmbuf_free(m);
            break;
        }
        m->data_len = (uint16_t)n;
        m->pkt_len = (uint32_t)n;
        if (head == NULL) {
            head = tail = m;
        } else {
            tail->next = m;
            tail = m;
            head->nb_segs++;
            head->pkt_len += (uint32_t)n;
        }
    }
    return head;
}

/* Sends what the write BIO holds (first what the stack refused before). Stops when the
 * stack refuses (ENOMEM, EBUSY: kept for WRITABLE) or no mbuf is left (retried). */
static void ts_flush(struct tls_stream *ts)
{
    struct tls_worker *tw = ts->tw;

    if (ts->c == NULL) {
        (void)BIO_reset(ts->wbio);
        return;
    }
    for (;;) {
        struct rte_mbuf *m = ts->out_pending;
        uint32_t len;
        int rc;

        if (m != NULL) {
            ts->out_pending = NULL;
            tcp_buf_release(tw->tcp, m->nb_segs);
        } else if (BIO_ctrl_pending(ts->wbio) == 0) {
            break;
        } else if ((m = ts_take_out(ts)) == NULL) {
            tw->stats->alloc_failed++;
            tcp_alloc_failed(tw->tcp);
            ts_later(ts, 1);
            break;
        }
        len = m->pkt_len;
        rc = tcp_send(ts->c, m);
        if (rc == 0) {
            tw->stats->records_out_bytes += len;
            continue;
        }
        if (rc == LBD_EBUSY || rc == LBD_ENOMEM) {
            ts->out_pending = m;
            tcp_buf_charge(tw->tcp, m->nb_segs);
            if (rc == LBD_ENOMEM)
                ts_later(ts, 5);
            break;
        }
        /* The connection takes no more data. */
        rte_pktmbuf_free(m);
        (void)BIO_reset(ts->wbio);
        break;
    }
    if ((ts->flags & (TLS_SF_SHUT | TLS_SF_SHUT_TCP)) == TLS_SF_SHUT && ts->out_pending == NULL &&
        BIO_ctrl_pending(ts->wbio) == 0) {
        ts->flags |= TLS_SF_SHUT_TCP;
        tcp_shutdown(ts->c);
    }
}

/* The handshake or the record layer failed: the alert goes out, the connection is
 * closed, the user hears TCP_EV_RESET. */
static void ts_fail(struct tls_stream *ts, uint64_t *counter)
{
    struct tcp_conn *c = ts->c;

    if (counter != NULL)
        (*counter)++;
    ERR_clear_error();
    ts_flush(ts);
    ts->flags |= TLS_SF_FAILED;
    ts->c = NULL;
    if (c != NULL)
        tcp_close(c);
    ts_emit(ts, TCP_EV_RESET);
}

/* Counts a failed handshake under its reason. */
static void ts_fail_handshake(struct tls_stream *ts, bool closed)
{
    struct tls_vs_stats *vs = ts_vs(ts);

    if (!(ts->flags & TLS_SF_SERVER)) {
        if (!closed && ts->be != NULL && ts->be->verify &&
            SSL_get_verify_result(ts->ssl) != X509_V_OK)
            ts_fail(ts, &vs->backend_verify_failed);
        else
            ts_fail(ts, &vs->backend_failed);
        return;
    }
    vs->failed++;
    if (closed)
        ts_fail(ts, &vs->failed_closed);
    else if ((ts->flags & TLS_SF_GOT_FIRST) && ts->first_byte != TLS_REC_HANDSHAKE)
        ts_fail(ts, &vs->failed_not_tls);
    else
        ts_fail(ts, &vs->failed_protocol);
}

/* ---- the handshake ------------------------------------------------------- */

/* One go at the handshake within the worker's budget. Reports ESTABLISHED when it
 * completes, fails the stream when it cannot. */
static void ts_handshake(struct tls_stream *ts)
{
    struct tls_worker *tw = ts->tw;
    uint64_t now = twheel_now(tw->wheel);

    for (;;) {
        uint64_t t0, dt, us;
        int r, e;

        if (now != tw->budget_ms) {
            tw->budget_ms = now;
            tw->budget_spent = 0;
        }
        if (tw->budget_spent >= tw->budget_cycles) {
            tw->stats->hs_deferred++;
            ts_later(ts, 1);
            return;
        }
        ts_pull(ts);
        t0 = rte_rdtsc();
        r = SSL_do_handshake(ts->ssl);
        dt = rte_rdtsc() - t0;
        tw->budget_spent += dt;
        us = dt / tw->cycles_per_us;
        tw->stats->hs_steps++;
        tw->stats->hs_us += us;
        if (us > tw->stats->hs_step_max_us)
            tw->stats->hs_step_max_us = us;
        if (r == 1)
            break;
        e = SSL_get_error(ts->ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            ts_flush(ts);
            if (ts->c != NULL && tcp_recv_bytes(ts->c) > 0)
                continue;
            return;
        }
        ts_fail_handshake(ts, false);
        return;
    }
    ts_flush(ts);
    ts->flags |= TLS_SF_HS_DONE;
    if (ts->flags & TLS_SF_SERVER) {
        ts_vs(ts)->handshakes++;
        if (SSL_session_reused(ts->ssl))
            ts_vs(ts)->resumed++;
    } else {
        ts_vs(ts)->backend_handshakes++;
    }
    ts_emit(ts, TCP_EV_ESTABLISHED);
}

/* ---- plaintext in ----------------------------------------------------------- */

/* Decrypts into the plaintext queue while it is under TLS_PLAIN_MAX (all of it once
 * the peer's FIN came). 0, or -1 when the record layer failed. */
static int ts_decrypt(struct tls_stream *ts)
{
    struct tls_worker *tw = ts->tw;

    for (;;) {
        struct rte_mbuf *m;
        int n, e;

        if (!(ts->flags & TLS_SF_TCP_EOF) && ts->plain.bytes >= TLS_PLAIN_MAX)
            return 0;
        if (ts->flags & TLS_SF_CLOSE_NOTIFY)
            return 0;
        m = rte_pktmbuf_alloc(tw->pool);
        if (m == NULL) {
            tw->stats->alloc_failed++;
            tcp_alloc_failed(tw->tcp);
            ts_later(ts, 1);
            return 0;
        }
        n = SSL_read(ts->ssl, rte_pktmbuf_mtod(m, void *), rte_pktmbuf_tailroom(m));
        if (n > 0) {
            m->data_len = (uint16_t)n;
            m->pkt_len = (uint32_t)n;
            tcp_buf_charge(tw->tcp, mbufq_append(&ts->plain, m));
            continue;
        }
        rte_pktmbuf_free(m);
        e = SSL_get_error(ts->ssl, n);
        if (e == SSL_ERROR_WANT_READ) {
            if (ts_pull(ts) > 0)
                continue;
            return 0;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            ts->flags |= TLS_SF_CLOSE_NOTIFY;
            return 0;
        }
        return -1;
    }
}

/* The peer's end reaches the user once all its plaintext has been decrypted. */
static void ts_maybe_fin(struct tls_stream *ts)
{
    if (ts->flags & TLS_SF_FIN_GIVEN)
        return;
    if ((ts->flags & TLS_SF_CLOSE_NOTIFY) ||
        ((ts->flags & TLS_SF_TCP_EOF) && (ts->c == NULL || tcp_recv_bytes(ts->c) == 0))) {
        ts->flags |= TLS_SF_FIN_GIVEN;
        ts_emit(ts, TCP_EV_PEER_FIN);
    }
}

/* Whatever can be done now: the handshake, then decrypting and reporting. */
static void ts_progress(struct tls_stream *ts)
{
    if (ts->c == NULL || (ts->flags & TLS_SF_FAILED))
        return;
    if (!(ts->flags & TLS_SF_HS_DONE)) {
        ts_handshake(ts);
        if (ts_dead(ts) || !(ts->flags & TLS_SF_HS_DONE) || ts->c == NULL)
            return;
    }
    if (ts_decrypt(ts) != 0) {
        ts_vs(ts)->alerts_received++;
        ts_fail(ts, NULL);
        return;
    }
    ts_flush(ts);
    if (ts->plain.bytes > 0) {
        ts_emit(ts, TCP_EV_READABLE);
        if (ts_dead(ts) || ts->c == NULL)
            return;
    }
    ts_maybe_fin(ts);
}

static void ts_on_timer(struct twheel_timer *t, uint64_t now)
{
    struct tls_stream *ts = (struct tls_stream *)((char *)t - offsetof(struct tls_stream, timer));

    (void)now;
    ts_enter(ts);
    ts_flush(ts);
    ts_progress(ts);
    ts_leave(ts);
}

void tls_stream_on_tcp(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct tls_stream *ts = arg;

    ts_enter(ts);
    switch (ev) {
    case TCP_EV_ESTABLISHED:
        ts->c = c;
        ts->flags |= TLS_SF_TCP_UP;
        ts_progress(ts);
        break;
    case TCP_EV_READABLE:
        ts_progress(ts);
        break;
    case TCP_EV_WRITABLE:
        ts_flush(ts);
        if ((ts->flags & TLS_SF_HS_DONE) && ts->out_pending == NULL && ts->c != NULL)
            ts_emit(ts, TCP_EV_WRITABLE);
        break;
    case TCP_EV_PEER_FIN:
        ts->flags |= TLS_SF_TCP_EOF;
        ts_progress(ts);
        if (ts_dead(ts) || ts->c == NULL)
            break;
        if (!(ts->flags & TLS_SF_HS_DONE))
            ts_fail_handshake(ts, true);
        else
            ts_maybe_fin(ts);
        break;
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
        if (!(ts->flags & TLS_SF_HS_DONE) && (ts->flags & TLS_SF_TCP_UP)) {
            if (ts->flags & TLS_SF_SERVER) {
                ts_vs(ts)->failed++;
                ts_vs(ts)->failed_closed++;
            } else {
                ts_vs(ts)->backend_failed++;
            }
        }
        ts->c = NULL;           /* the stack frees it after this call */
        ts_emit(ts, ev);
        break;
    case TCP_EV_CLOSED:
        if (ts->flags & TLS_SF_HS_DONE) {
            ts->flags |= TLS_SF_TCP_EOF;
            (void)ts_decrypt(ts);
        } else if (ts->flags & TLS_SF_SERVER) {
            ts_vs(ts)->failed++;
            ts_vs(ts)->failed_closed++;
        } else {
            ts_vs(ts)->backend_failed++;
        }
        ts_emit(ts, TCP_EV_CLOSED);     /* the user takes the rest (tls_stream_recv) */
        ts->c = NULL;
        break;
    }
    ts_leave(ts);
}

/* ---- the user's side ----------------------------------------------------------- */

struct tls_stream *tls_stream_accept(struct tls_worker *tw, struct tcp_conn *c,
                                     struct tls_svc *svc, uint16_t vs_slot, tcp_event_fn fn,
                                     void *arg)
{
    struct tls_stream *ts = ts_alloc(tw);

    if (ts == NULL)
        return NULL;
    ts->vs_slot = vs_slot;
    ts->ssl = tls_svc_new_ssl(svc, tw->worker_id);
    if (ts->ssl == NULL || ts_bios(ts) != 0) {
        ts_vs(ts)->failed++;
        ts_vs(ts)->failed_resources++;
        ERR_clear_error();
        ts_release(ts);
        return NULL;
    }
    tls_svc_get(svc);
    ts->svc = svc;
    ts->c = c;
    ts->fn = fn;
    ts->arg = arg;
    ts->flags = TLS_SF_SERVER | TLS_SF_TCP_UP;
    tcp_set_handler(c, tls_stream_on_tcp, ts);
    /* A ClientHello that came with the handshake's ACK: on the next tick, so that the
     * caller has finished setting up before the stream reports anything. */
    if (tcp_recv_bytes(c) > 0)
        ts_later(ts, 0);
    return ts;
}

struct tls_stream *tls_stream_connect(struct tls_worker *tw, struct tls_backend *be,
                                      uint16_t vs_slot, tcp_event_fn fn, void *arg)
{
    struct tls_stream *ts = ts_alloc(tw);

    if (ts == NULL)
        return NULL;
    ts->vs_slot = vs_slot;
    ts->ssl = tls_backend_new_ssl(be);
    if (ts->ssl == NULL || ts_bios(ts) != 0) {
        ts_vs(ts)->backend_failed++;
        ERR_clear_error();
        ts_release(ts);
        return NULL;
    }
    tls_backend_get(be);
    ts->be = be;
    ts->fn = fn;
    ts->arg = arg;
    return ts;
}

void tls_stream_attach(struct tls_stream *ts, struct tcp_conn *c)
{
    ts->c = c;
}

uint32_t tls_stream_send_space(const struct tls_stream *ts)
{
    uint32_t space, ovh;

    if (!(ts->flags & TLS_SF_HS_DONE) || ts->c == NULL ||
        (ts->flags & (TLS_SF_SHUT | TLS_SF_FAILED)) || ts->out_pending != NULL ||
        BIO_ctrl_pending(ts->wbio) > 0)
        return 0;
    space = tcp_send_space(ts->c);
    ovh = (space / TLS_RECORD_MAX + 1) * TLS_RECORD_OVERHEAD;
    return space > ovh ? space - ovh : 0;
}

int tls_stream_send(struct tls_stream *ts, struct rte_mbuf *m)
{
    uint32_t off = 0, len = m->pkt_len;

    if (!(ts->flags & TLS_SF_HS_DONE) || ts->c == NULL ||
        (ts->flags & (TLS_SF_SHUT | TLS_SF_FAILED)))
        return LBD_ESTATE;
    while (off < len) {
        uint32_t n = len - off < TLS_RECORD_MAX ? len - off : TLS_RECORD_MAX;
        const void *p = rte_pktmbuf_read(m, off, n, ts->tw->scratch);
        if (p == NULL || SSL_write(ts->ssl, p, (int)n) <= 0) {
            ERR_clear_error();
            if (off == 0)
                return LBD_ESTATE;
            break;      /* the stream has failed: the rest is lost with it */
        }
        off += n;
    }
    rte_pktmbuf_free(m);
    ts_flush(ts);
    return 0;
}

uint32_t tls_stream_recv_bytes(const struct tls_stream *ts)
{
    return ts->plain.bytes;
}

struct rte_mbuf *tls_stream_recv(struct tls_stream *ts, uint32_t max)
{
    struct tls_worker *tw = ts->tw;
    struct rte_mbuf *m;
    uint32_t segs = 0;
    uint16_t had = ts->flags;

    m = mbufq_pop(&ts->plain, max, tw->pool, &segs);
    tcp_buf_release(tw->tcp, segs);
    if (m == NULL && ts->plain.bytes > 0)
        tcp_alloc_failed(tw->tcp);
    /* Refill from the ciphertext still waiting; anything to report (an error, the
     * peer's close_notify) waits for the timer: the caller is in the middle of work. */
    if (ts->c != NULL && (ts->flags & TLS_SF_HS_DONE) && !(ts->flags & TLS_SF_FAILED)) {
        if (ts_decrypt(ts) != 0 ||
            ((ts->flags & TLS_SF_CLOSE_NOTIFY) && !(had & TLS_SF_CLOSE_NOTIFY)))
            ts_later(ts, 0);
        ts_flush(ts);
    }
    return m;
}

int tls_stream_shutdown(struct tls_stream *ts)
{
    if (ts->c == NULL || (ts->flags & TLS_SF_SHUT))
        return LBD_ESTATE;
    ts->flags |= TLS_SF_SHUT;
    if (ts->flags & TLS_SF_HS_DONE) {
        (void)SSL_shutdown(ts->ssl);    /* close_notify into the write BIO */
        ERR_clear_error();
    }
    ts_flush(ts);
    return 0;
}

void tls_stream_set_handler(struct tls_stream *ts, tcp_event_fn fn, void *arg)
{
    ts->fn = fn;
    ts->arg = arg;
}

void tls_stream_close(struct tls_stream *ts)
{
    struct tcp_conn *c = ts->c;

    if (c != NULL && (ts->flags & TLS_SF_HS_DONE) &&
        !(ts->flags & (TLS_SF_SHUT | TLS_SF_FAILED))) {
        ts->flags |= TLS_SF_SHUT | TLS_SF_SHUT_TCP;     /* tcp_close sends the FIN */
        (void)SSL_shutdown(ts->ssl);
        ERR_clear_error();
        ts_flush(ts);
    }
    ts->c = NULL;
    if (c != NULL)
        tcp_close(c);
    tls_stream_free(ts);
}

void tls_stream_count_timeout(struct tls_stream *ts)
{
    if (!(ts->flags & (TLS_SF_HS_DONE | TLS_SF_FAILED)) && (ts->flags & TLS_SF_SERVER)) {
        ts_vs(ts)->failed++;
        ts_vs(ts)->failed_timeout++;
    }
}

void tls_stream_free(struct tls_stream *ts)
{
    if (ts == NULL)
        return;
    ts->fn = NULL;
    ts->c = NULL;
    if (ts->depth > 0) {
        ts->flags |= TLS_SF_DEAD;
        return;
    }
    ts_release(ts);
}

void tls_stream_abort(struct tls_stream *ts)
{
    struct tcp_conn *c;

    if (ts == NULL)
        return;
    c = ts->c;
    ts->c = NULL;
    if (c != NULL)
        tcp_abort(c);
    tls_stream_free(ts);
}
