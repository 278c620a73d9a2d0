/*
 * fuzz_tls: arbitrary bytes as what a client sends to a TLS-terminating service,
 * through the real server side of tls_stream over lbd's own TCP stack. Two stacks on
 * one timer wheel, joined in memory: the client's (10.0.0.2) and the service's
 * (10.0.0.1:443), whose listener hands each connection to tls_stream_accept and reads
 * the plaintext events as the proxy does (echoes what it decrypts, closes on the
 * peer's end, frees the stream when the connection is gone).
 *
 * Each input is one connection. Its first byte says how: bits 0-1 how the client
 * ends (0 FIN, 1 RST, 2 silence until the stacks' idle timeout, 3 the user's
 * handshake deadline: tls_stream_count_timeout and tls_stream_abort, as the proxy's
 * connect deadline does); bit 2 a real handshake first (an OpenSSL client of the
 * harness on memory BIOs), so that the bytes arrive as records after it; bits 3-7 the
 * segment size (1..1396 bytes) the rest is cut into, the clock moving 1 ms between
 * segments. The rest is sent as it is: garbage, truncated or mutated ClientHellos
 * (the seeds are real ones), records.
 *
 * What must hold: nothing crashes or reads out of bounds; a stream that failed before
 * the client ended has closed the connection (the client sees the end); every accepted
 * stream ends counted once (handshakes + failed, by reason); once everything has
 * timed out no stream, control block, buffer charge or mbuf is left.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "base/twheel.h"
#include "frames.h"
#include "net/pkt_parse.h"
#include "proxy/tls_ctx.h"
#include "proxy/tls_stream.h"
#include "tcp/tcp.h"
#include "tcp/tcp_input.h"

#define SRV "10.0.0.1"
#define CLI "10.0.0.2"
#define SLOT 3
#define QLEN 4096
#define INPUT_MAX (64u * 1024)

static struct rte_mempool *pool;
static struct twheel wheel;
static struct tcp_stack *srv_st, *cli_st;
static struct tls_worker *tw;
static struct tls_stats stats;
static struct tls_svc *svc;
static SSL_CTX *cli_ctx;

static struct {
    struct rte_mbuf *m;
    uint32_t dst;
} q[QLEN];
static unsigned q_head, q_tail;

/* The service's user of the stream (the proxy's part). */
static struct {
    struct tls_stream *ts;
    bool hs_done;
    unsigned accepted;
} S;

/* The client: raw bytes, or an OpenSSL client on memory BIOs for the handshake. */
static struct {
    struct tcp_conn *c;
    SSL *ssl;
    BIO *rb, *wb;
    bool established, hs_done, peer_fin, gone;
} C;

/* ---- the network ---------------------------------------------------------- */

static void net_tx(void *arg, struct rte_mbuf *m, uint32_t dst)
{
    struct rte_mbuf *f = rte_pktmbuf_alloc(pool);
    uint8_t *p = NULL;
    const void *src;

    (void)arg;
    if (f != NULL && m->pkt_len + 14 <= rte_pktmbuf_tailroom(f))
        p = (uint8_t *)rte_pktmbuf_append(f, (uint16_t)(14 + m->pkt_len));
    if (p == NULL || q_tail - q_head >= QLEN)
        abort();        /* the harness's own limits: never reached by a valid stack */
    frame_eth(p, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    src = rte_pktmbuf_read(m, 0, m->pkt_len, p + 14);
    if (src == NULL)
        abort();
    if (src != p + 14)
        memcpy(p + 14, src, m->pkt_len);
    rte_pktmbuf_free(m);
    q[q_tail % QLEN].m = f;
    q[q_tail % QLEN].dst = dst;
    q_tail++;
}

static void net_deliver(void)
{
    while (q_head != q_tail) {
        struct rte_mbuf *m = q[q_head % QLEN].m;
        uint32_t dst = q[q_head % QLEN].dst;
        struct tcp_stack *st = dst == ip4(SRV) ? srv_st : dst == ip4(CLI) ? cli_st : NULL;
        struct pkt_info pi;

        q_head++;
        if (st == NULL ||
            pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, true, &pi) != DROP_NONE ||
            tcp_input(st, m, &pi) != DROP_NONE)
            rte_pktmbuf_free(m);
    }
}

static void net_run(uint64_t ms, uint64_t step)
{
    uint64_t end = twheel_now(&wheel) + ms;

    net_deliver();
    while (twheel_now(&wheel) < end) {
        twheel_advance(&wheel, twheel_now(&wheel) + step);
        net_deliver();
    }
}

/* ---- the service's side ----------------------------------------------------- */

static void srv_user(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct rte_mbuf *m;
    uint32_t space;

    (void)c;
    (void)arg;
    switch (ev) {
    case TCP_EV_ESTABLISHED:
        S.hs_done = true;
        break;
    case TCP_EV_READABLE:
        while ((space = tls_stream_send_space(S.ts)) > 0 &&
               (m = tls_stream_recv(S.ts, space < 4096 ? space : 4096)) != NULL)
            if (tls_stream_send(S.ts, m) != 0)
                rte_pktmbuf_free(m);
        while ((m = tls_stream_recv(S.ts, 1u << 16)) != NULL)
            rte_pktmbuf_free(m);   /* no room to echo: dropped, as a full peer would */
        break;
    case TCP_EV_WRITABLE:
        break;
    case TCP_EV_PEER_FIN:
        tls_stream_close(S.ts);
        S.ts = NULL;
        break;
    case TCP_EV_CLOSED:
        while ((m = tls_stream_recv(S.ts, 1u << 16)) != NULL)
            rte_pktmbuf_free(m);
        /* fall through */
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
        tls_stream_free(S.ts);
        S.ts = NULL;
        break;
    }
}

static void srv_listen(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    (void)arg;
    if (ev != TCP_EV_ESTABLISHED)
        return;
    if (S.ts != NULL)
        abort();        /* one connection per input */
    S.ts = tls_stream_accept(tw, c, svc, SLOT, srv_user, NULL);
    if (S.ts == NULL) {
        tcp_abort(c);
        return;
    }
    S.accepted++;
}

/* ---- the client ------------------------------------------------------------ */

/* The OpenSSL client's ciphertext to the connection. */
static void cli_flush(void)
{
    while (C.c != NULL && C.ssl != NULL && BIO_ctrl_pending(C.wb) > 0 &&
           tcp_send_space(C.c) >= 1400) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
        int n;

        if (m == NULL)
            abort();
        n = BIO_read(C.wb, rte_pktmbuf_append(m, 1400), 1400);
        if (n <= 0)
            abort();
        rte_pktmbuf_trim(m, (uint16_t)(1400 - n));
        if (tcp_send(C.c, m) != 0)
            rte_pktmbuf_free(m);
    }
}

static void cli_read(void)
{
    static uint8_t buf[1u << 16];
    struct rte_mbuf *m;

    while (C.c != NULL && (m = tcp_recv(C.c, sizeof(buf))) != NULL) {
        const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
        if (C.ssl != NULL && !C.hs_done && p != NULL)
            BIO_write(C.rb, p, (int)m->pkt_len);
        rte_pktmbuf_free(m);
    }
    if (C.ssl != NULL && !C.hs_done) {
        if (SSL_do_handshake(C.ssl) == 1)
            C.hs_done = true;
        ERR_clear_error();
        cli_flush();
    }
}

static void cli_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    (void)c;
    (void)arg;
    switch (ev) {
    case TCP_EV_ESTABLISHED:
        C.established = true;
        cli_read();
        break;
    case TCP_EV_READABLE:
        cli_read();
        break;
    case TCP_EV_WRITABLE:
        cli_flush();
        break;
    case TCP_EV_PEER_FIN:
        C.peer_fin = true;
        cli_read();
        break;
    case TCP_EV_RESET:
    case TCP_EV_TIMEOUT:
    case TCP_EV_CLOSED:
        C.gone = true;
        C.c = NULL;
        break;
    }
}

/* Sends len bytes as one segment's payload, waiting (moving the clock) for room. */
static void cli_send(const uint8_t *p, uint32_t len)
{
    for (int tries = 0; C.c != NULL && tries < 50; tries++) {
        struct rte_mbuf *m;

        if (tcp_send_space(C.c) < len) {
            net_run(10, 1);
            continue;
        }
        m = rte_pktmbuf_alloc(pool);
        if (m == NULL)
            abort();
        memcpy(rte_pktmbuf_append(m, (uint16_t)len), p, len);
        if (tcp_send(C.c, m) != 0)
            rte_pktmbuf_free(m);
        return;
    }
}

/* ---- set-up -------------------------------------------------------------- */

static struct tcp_stack *stack(const char *name)
{
    struct tcp_stack_conf c;
    char err[256];
    struct tcp_stack *st;

    tcp_stack_conf_default(&c);
    c.name = name;
    c.wheel = &wheel;
    c.pool = pool;
    c.tx = net_tx;
    c.max_conns = 16;
    c.max_buf_segs = 2000;
    c.idle_ms = 3000;           /* short timers: each input ends in fewer steps */
    c.time_wait_ms = 2000;
    c.fin_wait2_ms = 4000;
    st = tcp_stack_create(&c, err, sizeof(err));
    if (st == NULL)
        abort();
    return st;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *eal[] = {"fuzz_tls", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                   "--no-telemetry", "--log-level=error", "-l", "0", NULL};
    struct cfg_tls conf = {.enabled = true, .min_version = CFG_TLS_1_2};
    struct tls_cert_material mat;
    EVP_PKEY *key;
    X509 *cert;
    X509_NAME *name;
    char err[256];

    (void)argc;
    (void)argv;
    if (rte_eal_init(10, eal) < 0)
        abort();
    pool = rte_pktmbuf_pool_create("fuzz_tls", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
    if (pool == NULL)
        abort();
    twheel_init(&wheel, 1000000);
    srv_st = stack("srv");
    cli_st = stack("cli");
    tw = tls_worker_create(0, 4, srv_st, &wheel, pool, &stats, err, sizeof(err));
    if (tw == NULL || tcp_listen(srv_st, 0, 443, 0, srv_listen, NULL) != 0)
        abort();

    /* The service's certificate, made here (ECDSA P-256, self-signed). */
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    if (key == NULL || cert == NULL)
        abort();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"vip.fuzz",
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    if (X509_sign(cert, key, EVP_sha256()) <= 0)
        abort();
    mat = (struct tls_cert_material){.cert = cert, .key = key};
    svc = tls_svc_create(&conf, &mat, 1, 1, err, sizeof(err));
    cli_ctx = SSL_CTX_new(TLS_client_method());
    if (svc == NULL || cli_ctx == NULL)
        abort();
    SSL_CTX_set_verify(cli_ctx, SSL_VERIFY_NONE, NULL);
    return 0;
}

static uint64_t ended_count(void)
{
    return stats.vs[SLOT].handshakes + stats.vs[SLOT].failed;
}

static uint64_t failed_count(void)
{
    const struct tls_vs_stats *v = &stats.vs[SLOT];

    /* Every failure is counted once overall and once under its reason. */
    if (v->failed != v->failed_not_tls + v->failed_protocol + v->failed_closed +
                         v->failed_timeout + v->failed_resources)
        abort();
    return v->failed + v->alerts_received;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned end, seg, accepted0 = S.accepted;
    uint64_t ended0 = ended_count(), failed0 = failed_count();
    bool handshake;

    if (size < 1 || size > INPUT_MAX)
        return 0;
    end = data[0] & 3;
    handshake = (data[0] & 4) != 0;
    seg = 1 + (data[0] >> 3) * 45u;
    data++;
    size--;

    memset(&C, 0, sizeof(C));
    S.hs_done = false;
    if (handshake) {
        C.ssl = SSL_new(cli_ctx);
        C.rb = BIO_new(BIO_s_mem());
        C.wb = BIO_new(BIO_s_mem());
        if (C.ssl == NULL || C.rb == NULL || C.wb == NULL)
            abort();
        BIO_set_mem_eof_return(C.rb, -1);
        SSL_set_bio(C.ssl, C.rb, C.wb);
        SSL_set_connect_state(C.ssl);
    }
    if (tcp_connect(cli_st, ip4(CLI), ip4(SRV), 443, cli_event, NULL, &C.c) != 0)
        abort();
    net_run(20, 1);
    if (!C.established || S.accepted != accepted0 + 1)
        abort();        /* the harness's own handshake (TCP, then TLS) must work */
    if (handshake && (!C.hs_done || !S.hs_done))
        abort();

    for (size_t o = 0; o < size && C.c != NULL; o += seg) {
        cli_send(data + o, (uint32_t)(size - o < seg ? size - o : seg));
        net_run(1, 1);
    }
    net_run(50, 1);

    /* A stream that failed has ended the connection: the client saw it. */
    if (failed_count() != failed0 && !C.peer_fin && !C.gone)
        abort();

    switch (end) {
    case 0:
        if (C.c != NULL)
            tcp_close(C.c);
        break;
    case 1:
        if (C.c != NULL)
            tcp_abort(C.c);
        break;
    case 2:
        break;          /* the idle timeouts end both sides */
    case 3:
        if (S.ts != NULL && !S.hs_done) {
            tls_stream_count_timeout(S.ts);
            tls_stream_abort(S.ts);
            S.ts = NULL;
        }
        if (C.c != NULL)
            tcp_close(C.c);
        break;
    }
    C.c = end == 2 ? C.c : NULL;
    net_run(200, 1);
    /* Idle timeouts, retransmissions, FIN_WAIT_2, TIME_WAIT: until both stacks are
     * empty, for ten minutes at most (then the checks below fail). */
    for (int t = 0; t < 12000 && (srv_st->n_conns != 0 || cli_st->n_conns != 0); t++)
        net_run(50, 50);
    net_run(100, 1);
    SSL_free(C.ssl);
    C.ssl = NULL;

    if (S.ts != NULL || tls_worker_active(tw) != 0)
        abort();        /* a stream outlived its connection */
    if (S.accepted - accepted0 != ended_count() - ended0)
        abort();        /* a stream ended uncounted, or counted twice */
    if (srv_st->n_conns != 0 || cli_st->n_conns != 0 || srv_st->buf_segs != 0 ||
        cli_st->buf_segs != 0)
        abort();        /* a control block or a buffer charge was left */
    if (rte_mempool_in_use_count(pool) != 0)
        abort();        /* an mbuf was lost */
    return 0;
}
