/*
 * TLS streams (tls_stream.h) in the Layer 7 proxy, between real TCP endpoints on the
 * network of proxy_net.h. The test's client is an OpenSSL client on memory BIOs over
 * its own TCP connection (the same way lbd does it, but written apart), so a handshake
 * and data both ways cross the module; real servers are plain echo servers, or OpenSSL
 * servers for re-encryption. Certificates are made here (ECDSA P-256).
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "proxy/tls_ctx.h"
#include "proxy_net.h"
#include "test_certs.h"

#define PN_CLIENT "10.0.0.20"
#define PN_VIP "10.0.0.110"
#define N_APPS 16
#define N_BUF (1u << 20)

/* An endpoint application: plain, or TLS over memory BIOs (ssl != NULL). */
struct app {
    struct tcp_conn *c;
    SSL *ssl;
    BIO *rb, *wb;
    bool established, hs_done, peer_fin, reset, closed;
    bool echo;
    const char *http_reply;     /* HTTP server: sent for every request line read */
    uint32_t laddr;             /* a real server's address (server side) */
    uint8_t *rx, *tx;
    size_t rx_len, tx_len, tx_off;
};

/* The test's applications and certificate (the network and the proxy are N, proxy_net.h). */
static struct {
    struct app srv_apps[N_APPS];
    unsigned n_srv_apps;
    SSL_CTX *srv_ctx;           /* real servers' TLS context, when they speak TLS */
    const char *srv_http_reply; /* real servers answer HTTP with it (else they echo) */
    EVP_PKEY *key;
    X509 *cert;
} T;

/* ---- applications ------------------------------------------------------------ */

/* Ciphertext from the write BIO to the connection, while it has room. */
static void app_flush(struct app *a)
{
    while (a->c != NULL && BIO_ctrl_pending(a->wb) > 0) {
        uint32_t space = tcp_send_space(a->c);
        struct rte_mbuf *m;
        int n;
        if (space < 1400)
            return;
        m = rte_pktmbuf_alloc(N.pool);
        cr_assert_not_null(m);
        n = BIO_read(a->wb, rte_pktmbuf_append(m, 1400), 1400);
        cr_assert_gt(n, 0);
        rte_pktmbuf_trim(m, (uint16_t)(1400 - n));
        cr_assert_eq(tcp_send(a->c, m), 0);
    }
}

/* Sends as much of tx as the connection takes (plain, or through SSL_write). */
static void app_pump(struct app *a)
{
    while (a->c != NULL && a->tx_off < a->tx_len) {
        uint32_t space = tcp_send_space(a->c), n;
        if (a->ssl != NULL) {
            if (!a->hs_done || BIO_ctrl_pending(a->wb) > 0 || space < 17000)
                break;
            n = (uint32_t)RTE_MIN((size_t)16000, a->tx_len - a->tx_off);
            cr_assert_eq(SSL_write(a->ssl, a->tx + a->tx_off, (int)n), (int)n);
            a->tx_off += n;
            app_flush(a);
            continue;
        }
        if (space == 0)
            break;
        struct rte_mbuf *m = rte_pktmbuf_alloc(N.pool);
        cr_assert_not_null(m);
        n = (uint32_t)RTE_MIN((size_t)RTE_MIN(space, 1460u), a->tx_len - a->tx_off);
        memcpy(rte_pktmbuf_append(m, (uint16_t)n), a->tx + a->tx_off, n);
        cr_assert_eq(tcp_send(a->c, m), 0);
        a->tx_off += n;
    }
    if (a->ssl != NULL)
        app_flush(a);
}

static void app_got(struct app *a, const uint8_t *p, size_t n)
{
    cr_assert_leq(a->rx_len + n, N_BUF);
    memcpy(a->rx + a->rx_len, p, n);
    if (a->http_reply != NULL) {
        /* One reply per request line in what arrived. */
        static const char t[] = " HTTP/1.1\r\n";
        size_t tl = sizeof(t) - 1, from = a->rx_len > tl ? a->rx_len - tl : 0;
        for (size_t i = from; i + tl <= a->rx_len + n; i++)
            if (memcmp(a->rx + i, t, tl) == 0 && i + tl > a->rx_len) {
                size_t rl = strlen(a->http_reply);
                cr_assert_leq(a->tx_len + rl, N_BUF);
                memcpy(a->tx + a->tx_len, a->http_reply, rl);
                a->tx_len += rl;
            }
    }
    a->rx_len += n;
    if (a->echo) {
        memcpy(a->tx + a->tx_len, p, n);
        a->tx_len += n;
    }
}

static void app_read(struct app *a)
{
    struct rte_mbuf *m;
    uint8_t buf[16384];
    int n;

    while (a->c != NULL && (m = tcp_recv(a->c, UINT32_MAX)) != NULL) {
        static uint8_t tmp[N_BUF];
        pn_copy_out(m, tmp);
        if (a->ssl != NULL)
            BIO_write(a->rb, tmp, (int)m->pkt_len);
        else
            app_got(a, tmp, m->pkt_len);
        rte_pktmbuf_free(m);
    }
    if (a->ssl != NULL) {
        if (!a->hs_done) {
            int r = SSL_do_handshake(a->ssl);
            if (r == 1)
                a->hs_done = true;
            app_flush(a);
        }
        while (a->hs_done && (n = SSL_read(a->ssl, buf, sizeof(buf))) > 0)
            app_got(a, buf, (size_t)n);
        ERR_clear_error();
        app_flush(a);
    }
    app_pump(a);
}

static void app_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct app *a = arg;

    switch (ev) {
    case TCP_EV_ESTABLISHED:
        a->established = true;
        if (a->ssl != NULL)
            app_read(a);        /* a client's SSL_do_handshake sends the ClientHello */
        app_pump(a);
        break;
    case TCP_EV_READABLE:
        app_read(a);
        break;
    case TCP_EV_WRITABLE:
        app_flush(a);
        app_pump(a);
        break;
    case TCP_EV_PEER_FIN:
        a->peer_fin = true;
        app_read(a);
        tcp_shutdown(c);
        break;
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
        a->reset = true;
        a->c = NULL;
        break;
    case TCP_EV_CLOSED:
        app_read(a);
        a->closed = true;
        a->c = NULL;
        break;
    }
}

static void app_init(struct app *a, SSL_CTX *ctx)
{
    memset(a, 0, sizeof(*a));
    a->rx = malloc(N_BUF);
    a->tx = malloc(N_BUF);
    cr_assert(a->rx != NULL && a->tx != NULL);
    if (ctx != NULL) {
        a->ssl = SSL_new(ctx);
        a->rb = BIO_new(BIO_s_mem());
        a->wb = BIO_new(BIO_s_mem());
        cr_assert(a->ssl != NULL && a->rb != NULL && a->wb != NULL);
        BIO_set_mem_eof_return(a->rb, -1);
        SSL_set_bio(a->ssl, a->rb, a->wb);
    }
}

/* The server stack's listener: an echo server, TLS when T.srv_ctx is set. */
static void srv_accept(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct app *a;

    (void)arg;
    if (ev != TCP_EV_ESTABLISHED)
        return;
    cr_assert_lt(T.n_srv_apps, N_APPS);
    a = &T.srv_apps[T.n_srv_apps++];
    app_init(a, T.srv_ctx);
    if (a->ssl != NULL)
        SSL_set_accept_state(a->ssl);
    a->echo = T.srv_http_reply == NULL;
    a->http_reply = T.srv_http_reply;
    a->laddr = c->key.laddr;
    a->c = c;
    tcp_set_handler(c, app_event, a);
    app_event(c, TCP_EV_ESTABLISHED, a);
}

/* A client connection to the VIP: TLS with ctx (NULL: plain). */
static void client_connect(struct app *a, SSL_CTX *ctx, SSL_SESSION *resume)
{
    app_init(a, ctx);
    if (a->ssl != NULL) {
        SSL_set_connect_state(a->ssl);
        if (resume != NULL)
            SSL_set_session(a->ssl, resume);
    }
    cr_assert_eq(tcp_connect(N.cli, ip4(PN_CLIENT), ip4(PN_VIP), 443, app_event, a, &a->c), 0);
}

static void client_send(struct app *a, const void *data, size_t len)
{
    memcpy(a->tx + a->tx_len, data, len);
    a->tx_len += len;
    app_pump(a);
}

static SSL_CTX *client_ctx(int max_version)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    cr_assert_not_null(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
    if (max_version != 0) {
        SSL_CTX_set_min_proto_version(ctx, max_version == TLS1_VERSION ? TLS1_VERSION : 0);
        SSL_CTX_set_max_proto_version(ctx, max_version);
    }
    if (max_version == TLS1_VERSION)
        SSL_CTX_set_security_level(ctx, 0);
    return ctx;
}

/* ---- set-up ------------------------------------------------------------------- */

static void setup(void)
{
    struct tls_cert_material m;
    char err[256] = "";

    memset(&T, 0, sizeof(T));
    pn_setup("Tls", 0, 16);
    cr_assert_eq(tcp_listen(N.srv, 0, 443, 0, srv_accept, NULL), 0);
    tc_make_cert("vip.test", -60, 86400, &T.key, &T.cert);
    N.vs.tls.enabled = true;
    N.vs.tls.min_version = CFG_TLS_1_2;
    m = (struct tls_cert_material){.cert = T.cert, .key = T.key};
    N.vs.tls_ctx = tls_svc_create(&N.vs.tls, &m, 1, 1, err, sizeof(err));
    cr_assert_not_null(N.vs.tls_ctx, "%s", err);
    N.vs.ports[0] = 443;
    N.vs.n_ports = 1;
    pn_publish();
}

TestSuite(tls_stream, .init = setup);

static const struct tls_vs_stats *TS(void)
{
    return &N.ws->tls.vs[N.vs.slot];
}

/* Everything gone after the close: sessions, streams, control blocks, buffers. */
static void assert_clean(void)
{
    pn_run(31000 + 60000);
    cr_assert_eq(proxy_active(N.px), 0, "sessions left: %u", proxy_active(N.px));
    cr_assert_eq(tls_worker_active(N.px->tls), 0, "streams left");
    cr_assert_eq(N.lb->n_conns, 0, "control blocks left: %u", N.lb->n_conns);
    cr_assert_eq(N.lb->buf_segs, 0, "buffer charge left: %u", N.lb->buf_segs);
}

/* Every real server speaks TLS with a throwaway certificate for rs.test; lbd verifies
 * it (which fails: no CA it trusts signed it) when verify is set. */
static void tls_real_servers(bool verify)
{
    char err[256] = "";
    EVP_PKEY *k;
    X509 *x;

    tc_make_cert("rs.test", -60, 86400, &k, &x);
    T.srv_ctx = SSL_CTX_new(TLS_server_method());
    cr_assert(SSL_CTX_use_certificate(T.srv_ctx, x) == 1 && SSL_CTX_use_PrivateKey(T.srv_ctx, k) == 1);
    for (int i = 0; i < 3; i++) {
        N.rs[i].tls = true;
        N.rs[i].tls_verify = verify;
        if (verify)
            snprintf(N.rs[i].tls_sni, sizeof(N.rs[i].tls_sni), "rs.test");
        N.rs[i].tls_ctx = tls_backend_create(&N.rs[i], err, sizeof(err));
        cr_assert_not_null(N.rs[i].tls_ctx, "%s", err);
    }
}

/* ---- tests ----------------------------------------------------------------- */

Test(tls_stream, handshake_then_data_both_ways_through_the_proxy_then_close)
{
    static uint8_t data[300000];
    SSL_CTX *cctx = client_ctx(0);
    struct app a;
    const unsigned char *alpn;
    unsigned alpn_len;

    pn_fill(data, sizeof(data), 7);
    client_connect(&a, cctx, NULL);
    pn_run(50);
    cr_assert(a.hs_done, "client handshake done");
    cr_assert_eq(TS()->handshakes, 1);
    cr_assert_eq(N.ws->proxy.connected, 1, "the real server is connected after the handshake");
    SSL_get0_alpn_selected(a.ssl, &alpn, &alpn_len);
    cr_assert_eq(alpn_len, 8);
    cr_assert_eq(memcmp(alpn, "http/1.1", 8), 0);
    cr_assert_eq(SSL_version(a.ssl), TLS1_3_VERSION);
    client_send(&a, data, sizeof(data));
    pn_run(2000);
    cr_assert_eq(T.srv_apps[0].rx_len, sizeof(data), "server got %zu", T.srv_apps[0].rx_len);
    cr_assert_eq(memcmp(T.srv_apps[0].rx, data, sizeof(data)), 0);
    cr_assert_eq(a.rx_len, sizeof(data), "echo back: %zu", a.rx_len);
    cr_assert_eq(memcmp(a.rx, data, sizeof(data)), 0);
    /* close_notify and FIN from the client reach the server as its FIN. */
    SSL_shutdown(a.ssl);
    app_flush(&a);
    tcp_shutdown(a.c);
    pn_run(500);
    cr_assert(T.srv_apps[0].peer_fin, "the server saw the client's end");
    cr_assert(a.peer_fin || a.closed, "the client saw the server's end");
    assert_clean();
    SSL_free(a.ssl);
    SSL_CTX_free(cctx);
}

Test(tls_stream, garbage_instead_of_a_client_hello_is_closed_and_counted)
{
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    struct app a;

    client_connect(&a, NULL, NULL);
    pn_run(20);
    client_send(&a, req, sizeof(req) - 1);
    pn_run(200);
    cr_assert(a.closed || a.reset, "closed");
    cr_assert_eq(TS()->failed, 1);
    cr_assert_eq(TS()->failed_not_tls, 1);
    cr_assert_eq(T.n_srv_apps, 0, "no real server was connected");
    assert_clean();
}

Test(tls_stream, a_client_that_never_finishes_the_handshake_is_reset_at_the_deadline)
{
    struct app a;

    client_connect(&a, NULL, NULL);
    client_send(&a, "\x16\x03\x01", 3);    /* the start of a record, then nothing */
    pn_run(3900);
    cr_assert_not(a.reset || a.closed, "still waiting before connect_timeout_ms");
    pn_run(200);
    cr_assert(a.reset, "reset at the deadline");
    cr_assert_eq(TS()->failed_timeout, 1);
    cr_assert_eq(TS()->failed, 1);
    cr_assert_eq(T.n_srv_apps, 0);
    assert_clean();
}

Test(tls_stream, tls_1_0_is_refused)
{
    SSL_CTX *cctx = client_ctx(TLS1_VERSION);
    struct app a;

    client_connect(&a, cctx, NULL);
    pn_run(200);
    cr_assert_not(a.hs_done);
    cr_assert(a.closed || a.reset);
    cr_assert_eq(TS()->failed_protocol, 1);
    assert_clean();
    SSL_free(a.ssl);
    SSL_CTX_free(cctx);
}

/* A second connection with the session of the first: resumed (TLS 1.2 session id). */
static void resume_with(int version, bool tickets)
{
    SSL_CTX *cctx = client_ctx(version);
    SSL_SESSION *sess;
    struct app a, b;

    if (!tickets)
        SSL_CTX_set_options(cctx, SSL_OP_NO_TICKET);
    client_connect(&a, cctx, NULL);
    client_send(&a, "x", 1);
    pn_run(200);
    cr_assert(a.hs_done);
    sess = SSL_get1_session(a.ssl);
    cr_assert_not_null(sess);
    cr_assert(SSL_SESSION_is_resumable(sess));
    client_connect(&b, cctx, sess);
    pn_run(200);
    cr_assert(b.hs_done);
    cr_assert(SSL_session_reused(b.ssl), "resumed");
    cr_assert_eq(TS()->handshakes, 2);
    cr_assert_eq(TS()->resumed, 1);
    SSL_SESSION_free(sess);
    SSL_free(a.ssl);
    SSL_free(b.ssl);
    SSL_CTX_free(cctx);
}

Test(tls_stream, session_id_resumption_tls_1_2)
{
    resume_with(TLS1_2_VERSION, false);
}

Test(tls_stream, ticket_resumption_tls_1_3)
{
    resume_with(TLS1_3_VERSION, true);
}

/* Ticket keys rotate: a ticket of the key before is still taken, one of a key rotated
 * out of the ring of three is not (a full handshake). */
Test(tls_stream, ticket_keys_rotate)
{
    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION);
    SSL_SESSION *sess;
    struct app a, b, c;

    client_connect(&a, cctx, NULL);
    pn_run(200);
    cr_assert(a.hs_done);
    sess = SSL_get1_session(a.ssl);
    cr_assert(SSL_SESSION_has_ticket(sess));
    cr_assert_eq(tls_tickets_rotate(), 0);
    client_connect(&b, cctx, sess);
    pn_run(200);
    cr_assert(b.hs_done);
    cr_assert(SSL_session_reused(b.ssl), "the previous key still decrypts");
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tls_tickets_rotate(), 0);
    SSL_CTX_flush_sessions(N.vs.tls_ctx->ctx[0][0], (long)time(NULL) + 86400);
    client_connect(&c, cctx, sess);
    pn_run(200);
    cr_assert(c.hs_done);
    cr_assert_not(SSL_session_reused(c.ssl), "a key rotated out: full handshake");
    SSL_SESSION_free(sess);
}

Test(tls_stream, reencrypted_to_a_tls_real_server)
{
    static uint8_t data[100000];
    SSL_CTX *cctx = client_ctx(0);
    struct app a;

    tls_real_servers(false);
    pn_publish();
    pn_fill(data, sizeof(data), 3);
    client_connect(&a, cctx, NULL);
    client_send(&a, data, sizeof(data));
    pn_run(2000);
    cr_assert_eq(T.n_srv_apps, 1);
    cr_assert(T.srv_apps[0].hs_done, "the real server's handshake");
    cr_assert_eq(TS()->backend_handshakes, 1);
    cr_assert_eq(T.srv_apps[0].rx_len, sizeof(data));
    cr_assert_eq(memcmp(T.srv_apps[0].rx, data, sizeof(data)), 0);
    cr_assert_eq(a.rx_len, sizeof(data));
    cr_assert_eq(memcmp(a.rx, data, sizeof(data)), 0);
    SSL_shutdown(a.ssl);
    app_flush(&a);
    tcp_shutdown(a.c);
    pn_run(500);
    cr_assert(T.srv_apps[0].peer_fin);
    assert_clean();
}

Test(tls_stream, a_real_server_failing_verification_is_counted_and_the_next_tried)
{
    SSL_CTX *cctx = client_ctx(0);
    struct app a;

    tls_real_servers(true);
    pn_publish();
    client_connect(&a, cctx, NULL);
    pn_run(2000);
    cr_assert(a.hs_done);
    cr_assert_eq(TS()->backend_verify_failed, PROXY_MAX_TRIES);
    cr_assert_eq(N.ws->proxy.retries, PROXY_MAX_TRIES - 1, "the next servers were tried");
    cr_assert_eq(N.ws->proxy.connect_failed_reset, 1);
    cr_assert(a.reset || a.closed, "then the client is reset");
    assert_clean();
}

/* Twelve ClientHellos in the same millisecond: the worker does TLS_HS_BUDGET_US of
 * handshake work in it and puts the rest off to the next ones; all complete. The
 * longest step is logged (run with --verbose). */
Test(tls_stream, handshake_budget_spreads_a_burst_and_steps_are_timed)
{
    enum { N_BURST = 12 };
    SSL_CTX *cctx = client_ctx(0);
    static struct app a[N_BURST];
    unsigned done = 0;

    for (int i = 0; i < N_BURST; i++)
        client_connect(&a[i], cctx, NULL);
    pn_deliver();            /* every SYN, SYN-ACK, ACK and ClientHello, in this millisecond */
    pn_run(200);
    for (int i = 0; i < N_BURST; i++)
        done += a[i].hs_done;
    cr_assert_eq(done, N_BURST);
    cr_assert_eq(TS()->handshakes, N_BURST);
    cr_assert_geq(N.ws->tls.hs_steps, 2 * N_BURST);
    cr_assert_leq(N.ws->tls.hs_step_max_us, N.ws->tls.hs_us);
    cr_log_info("ECDSA P-256: %u handshakes, %lu steps, %lu us in all, longest step %lu us, "
                "%lu steps put off by the budget", N_BURST, (unsigned long)N.ws->tls.hs_steps,
                (unsigned long)N.ws->tls.hs_us, (unsigned long)N.ws->tls.hs_step_max_us,
                (unsigned long)N.ws->tls.hs_deferred);
    if (N.ws->tls.hs_us > 2 * TLS_HS_BUDGET_US)
        cr_assert_gt(N.ws->tls.hs_deferred, 0, "more work than one budget: some put off");
}

/* ---- HTTP mode over TLS ------------------------------------------------------ */

#define REQ "GET /who HTTP/1.1\r\nHost: lab\r\n\r\n"
#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static void https_mode(enum cfg_persist_type p, const char *reply)
{
    N.vs.mode = CFG_MODE_HTTP;
    N.vs.persistence.type = p;
    snprintf(N.vs.persistence.cookie, sizeof(N.vs.persistence.cookie), "MS-WSMAN");
    N.vs.x_forwarded_for = true;
    N.vs.http_request_timeout_ms = 5000;
    T.srv_http_reply = reply;
    pn_publish();
}

static const struct proxy_http_vs_counters *HS(void)
{
    return &N.px->conf.http->vs[N.vs.slot];
}

/* Occurrences of str in what a received. */
static unsigned rx_count(const struct app *a, const char *str)
{
    return pn_count(a->rx, a->rx_len, str);
}

/* The value of the MS-WSMAN cookie a's first response set, into v. */
static void set_cookie_of(const struct app *a, char *v, size_t cap)
{
    pn_set_cookie(a->rx, a->rx_len, "MS-WSMAN", v, cap);
}

static int rs_of(uint32_t ip)
{
    for (int i = 0; i < 3; i++)
        if (N.rs[i].ip == ip)
            return i;
    return -1;
}

/* The client's close_notify and FIN. */
static void tls_close(struct app *a)
{
    if (a->c == NULL)
        return;
    SSL_shutdown(a->ssl);
    app_flush(a);
    tcp_shutdown(a->c);
}

Test(tls_stream, https_keep_alive_pipelining_and_the_cookie_over_tls)
{
    SSL_CTX *cctx = client_ctx(0);
    static struct app a, b;
    char v[64], req[256];
    unsigned before = rte_mempool_in_use_count(N.pool);
    int first;

    https_mode(CFG_PERSIST_HTTP_COOKIE, OK200);
    client_connect(&a, cctx, NULL);
    pn_run(50);
    cr_assert(a.hs_done);
    cr_assert_eq(T.n_srv_apps, 0, "no real server before a request");
    client_send(&a, REQ, strlen(REQ));
    pn_run(50);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK\r\n"), 1);
    cr_assert_eq(rx_count(&a, "Cache-Control: private\r\n"), 1);
    set_cookie_of(&a, v, sizeof(v));
    cr_assert_eq(strlen(v), 16, "%s", v);
    cr_assert_eq(T.n_srv_apps, 1);
    first = rs_of(T.srv_apps[0].laddr);
    cr_assert_geq(first, 0);
    cr_assert_eq(rx_count(&T.srv_apps[0], "X-Forwarded-For: " PN_CLIENT "\r\n"), 1,
                 "the real server sees the request in clear, with XFF");
    /* Three pipelined requests with the cookie on the same TLS connection: answered in
     * order on the kept-alive backend connection; the cookie is taken out. */
    snprintf(req, sizeof(req), "GET /who HTTP/1.1\r\nHost: lab\r\nCookie: x=1; MS-WSMAN=%s\r\n\r\n",
             v);
    for (int i = 0; i < 3; i++)
        client_send(&a, req, strlen(req));
    pn_run(100);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK\r\n"), 4);
    cr_assert_eq(rx_count(&a, OK200), 3, "the first one with its Set-Cookie");
    cr_assert_eq(rx_count(&a, "Set-Cookie"), 1, "only the first response sets it");
    cr_assert_eq(T.n_srv_apps, 1, "one backend connection for the four");
    cr_assert_eq(N.ws->proxy.http_backend_reused, 3);
    cr_assert_eq(rx_count(&T.srv_apps[0], "MS-WSMAN"), 0, "the real server never sees it");
    cr_assert_eq(rx_count(&T.srv_apps[0], "Cookie: x=1\r\n"), 3);
    cr_assert_eq(HS()->cookie_hits, 3);
    cr_assert_eq(HS()->requests, 4);
    cr_assert_eq(HS()->responses_2xx, 4);
    cr_assert(!a.peer_fin && !a.closed && !a.reset, "kept alive");
    /* A second TLS client with the cookie: the same real server. */
    client_connect(&b, cctx, NULL);
    pn_run(50);
    client_send(&b, req, strlen(req));
    pn_run(50);
    cr_assert_eq(rx_count(&b, OK200), 1);
    cr_assert_eq(T.n_srv_apps, 2);
    cr_assert_eq(rs_of(T.srv_apps[1].laddr), first);
    cr_assert_eq(rx_count(&b, "Set-Cookie"), 0);
    cr_assert_eq(TS()->handshakes, 2);
    tls_close(&a);
    tls_close(&b);
    pn_run(200);
    cr_assert(a.peer_fin || a.closed, "the client's end closes its session");
    cr_assert(b.peer_fin || b.closed);
    assert_clean();
    cr_assert_eq(rte_mempool_in_use_count(N.pool), before, "mbufs left");
    SSL_free(a.ssl);
    SSL_free(b.ssl);
    SSL_CTX_free(cctx);
}

Test(tls_stream, https_malformed_request_gets_400_over_tls_and_close)
{
    SSL_CTX *cctx = client_ctx(0);
    static struct app a;
    const char *bad = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    unsigned before = rte_mempool_in_use_count(N.pool);

    https_mode(CFG_PERSIST_NONE, OK200);
    client_connect(&a, cctx, NULL);
    pn_run(50);
    client_send(&a, bad, strlen(bad));
    pn_run(100);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 400 Bad Request\r\n"), 1, "the answer, decrypted");
    cr_assert(a.peer_fin || a.closed, "then the close");
    cr_assert_eq(T.n_srv_apps, 0, "nothing reached a real server");
    cr_assert_eq(HS()->err_400, 1);
    tls_close(&a);
    assert_clean();
    cr_assert_eq(rte_mempool_in_use_count(N.pool), before, "mbufs left");
    SSL_free(a.ssl);
    SSL_CTX_free(cctx);
}

Test(tls_stream, https_request_not_whole_in_time_gets_408_over_tls)
{
    SSL_CTX *cctx = client_ctx(0);
    static struct app a;

    https_mode(CFG_PERSIST_NONE, OK200);
    client_connect(&a, cctx, NULL);
    pn_run(50);
    client_send(&a, "GET / HTTP/1.1\r\nHost: a\r\n", 26);  /* no end of the block */
    pn_run(4900);
    cr_assert_eq(a.rx_len, 0, "nothing taken before the block is whole");
    pn_run(200);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 408 Request Timeout\r\n"), 1);
    cr_assert_eq(HS()->err_408, 1);
    tls_close(&a);
    assert_clean();
    SSL_free(a.ssl);
    SSL_CTX_free(cctx);
}

/* The largest max_header_bytes over TLS: the stream decrypts no more than TLS_PLAIN_MAX
 * for a block that never ends, and that is enough to see it is too large (431), not to
 * wait for it. */
Test(tls_stream, https_header_block_over_the_largest_limit_gets_431_over_tls)
{
    SSL_CTX *cctx = client_ctx(0);
    static struct app a;
    static char big[80000];
    int n;

    N.vs.max_header_bytes = CFG_HTTP_HEADER_BYTES_MAX;
    https_mode(CFG_PERSIST_NONE, OK200);
    client_connect(&a, cctx, NULL);
    pn_run(50);
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(big + n, 'x', sizeof(big) - (size_t)n);
    client_send(&a, big, sizeof(big));
    pn_run(500);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 431 "), 1);
    cr_assert_eq(HS()->err_431, 1);
    cr_assert_eq(T.n_srv_apps, 0);
    tls_close(&a);
    assert_clean();
    SSL_free(a.ssl);
    SSL_CTX_free(cctx);
}

/* Termination and re-encryption in HTTP mode: requests decrypted, parsed, encrypted
 * again to a TLS real server; a large response body crosses both streams. */
Test(tls_stream, https_reencrypted_to_a_tls_real_server_in_http_mode)
{
    enum { BODY = 300000 };
    SSL_CTX *cctx = client_ctx(0);
    static struct app a;
    static char reply[BODY + 128];
    unsigned before = rte_mempool_in_use_count(N.pool);
    int n;

    n = snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BODY);
    memset(reply + n, 'b', BODY);
    reply[n + BODY] = 0;
    tls_real_servers(false);
    https_mode(CFG_PERSIST_SOURCE_IP, reply);      /* both requests to one server */
    client_connect(&a, cctx, NULL);
    pn_run(50);
    client_send(&a, REQ, strlen(REQ));
    pn_run(2000);
    cr_assert_eq(T.n_srv_apps, 1);
    cr_assert(T.srv_apps[0].hs_done, "the real server's handshake");
    cr_assert_eq(TS()->backend_handshakes, 1);
    cr_assert_eq(rx_count(&T.srv_apps[0], "GET /who HTTP/1.1\r\n"), 1);
    cr_assert_eq(a.rx_len, (size_t)n + BODY, "got %zu", a.rx_len);
    client_send(&a, REQ, strlen(REQ));
    pn_run(2000);
    cr_assert_eq(a.rx_len, 2 * ((size_t)n + BODY), "got %zu", a.rx_len);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK\r\n"), 2);
    cr_assert_eq(T.n_srv_apps, 1, "the re-encrypted backend connection is kept alive: %u apps, "
                 "reset %d closed %d fin %d, aborted %lu srv resets %lu",
                 T.n_srv_apps, T.srv_apps[0].reset, T.srv_apps[0].closed, T.srv_apps[0].peer_fin,
                 (unsigned long)HS()->aborted, (unsigned long)N.ws->proxy.server_resets);
    cr_assert_eq(N.ws->proxy.http_backend_reused, 1);
    cr_assert_eq(HS()->responses_2xx, 2);
    tls_close(&a);
    pn_run(500);
    cr_assert(T.srv_apps[0].peer_fin || T.srv_apps[0].closed, "the backend closed too");
    assert_clean();
    cr_assert_eq(rte_mempool_in_use_count(N.pool), before, "mbufs left");
    SSL_free(a.ssl);
    SSL_CTX_free(cctx);
}

/* Re-encryption whose verification fails on every real server: each counted and the
 * next one tried, as refused connections are, then lbd's 503 over the client's TLS. */
Test(tls_stream, https_backend_verification_failing_everywhere_gets_503_over_tls)
{
    SSL_CTX *cctx = client_ctx(0);
    static struct app a;
    char err[256] = "";

    tls_real_servers(false);
    for (int i = 0; i < 3; i++) {
        tls_backend_put(N.rs[i].tls_ctx);
        N.rs[i].tls_verify = true;     /* the system's CAs never signed rs.test */
        snprintf(N.rs[i].tls_sni, sizeof(N.rs[i].tls_sni), "rs.test");
        N.rs[i].tls_ctx = tls_backend_create(&N.rs[i], err, sizeof(err));
        cr_assert_not_null(N.rs[i].tls_ctx, "%s", err);
    }
    https_mode(CFG_PERSIST_NONE, OK200);
    client_connect(&a, cctx, NULL);
    pn_run(50);
    client_send(&a, REQ, strlen(REQ));
    pn_run(2000);
    cr_assert_eq(TS()->backend_verify_failed, PROXY_MAX_TRIES);
    cr_assert_eq(N.ws->proxy.retries, PROXY_MAX_TRIES - 1, "the next servers were tried");
    cr_assert_eq(rx_count(&a, "HTTP/1.1 503 "), 1);
    cr_assert_eq(HS()->err_503, 1);
    tls_close(&a);
    assert_clean();
    SSL_free(a.ssl);
    SSL_CTX_free(cctx);
}
