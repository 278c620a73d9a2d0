/*
 * Layer 7 TCP-mode and HTTP-mode proxy (proxy.h) between real TCP endpoints, on the
 * network of proxy_net.h (client stack, the proxy's stack with the VIP, server stack
 * for the real servers; losses and a black-holed server on demand; the test's clock).
 * Client and server "applications" send, read, echo, hold, half-close and reset
 * through the same API the proxy uses.
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "proxy_net.h"

#define PN_CLIENT "10.0.0.20"
#define PN_VIP "10.0.0.110"
#define N_APPS 64
#define N_BUF (4u << 20)

/* An application on one end of a connection (client side or server side). */
struct app {
    struct tcp_conn *c;
    bool established, peer_fin, reset, timeout, closed;
    bool read;              /* read what arrives (else leave it: backpressure) */
    bool echo;              /* send back what was read */
    bool shut_after_tx;     /* shut down writing once tx is all queued */
    bool close_on_fin;      /* shut down writing when the peer's FIN arrives */
    const char *http_reply; /* HTTP server: sent for every http_trigger read */
    const char *http_trigger;   /* default " HTTP/1.1\r\n" (a request line) */
    uint8_t *rx;
    size_t rx_len;
    uint8_t *tx;
    size_t tx_len, tx_off;
    struct tcp_key key;     /* of c, kept after it goes */
};

/* The test's applications (the network and the proxy are N, proxy_net.h). */
static struct {
    struct app srv_apps[N_APPS];
    unsigned n_srv_apps;
    struct app srv_default;     /* settings of new server applications */
} T;

/* Sends as much of a->tx as the connection takes. */
static void app_pump(struct app *a)
{
    while (a->c != NULL && a->tx_off < a->tx_len) {
        uint32_t space = tcp_send_space(a->c), n;
        struct rte_mbuf *m;
        if (space == 0)
            return;
        m = rte_pktmbuf_alloc(N.pool);
        cr_assert_not_null(m);
        n = (uint32_t)RTE_MIN((size_t)RTE_MIN(space, 1460u), a->tx_len - a->tx_off);
        memcpy(rte_pktmbuf_append(m, (uint16_t)n), a->tx + a->tx_off, n);
        cr_assert_eq(tcp_send(a->c, m), 0);
        a->tx_off += n;
    }
    if (a->c != NULL && a->shut_after_tx && a->tx_off == a->tx_len) {
        a->shut_after_tx = false;
        tcp_shutdown(a->c);
    }
}

static void app_read(struct app *a)
{
    struct rte_mbuf *m;

    while (a->read && a->c != NULL && (m = tcp_recv(a->c, UINT32_MAX)) != NULL) {
        cr_assert_leq(a->rx_len + m->pkt_len, N_BUF);
        pn_copy_out(m, a->rx + a->rx_len);
        if (a->http_reply != NULL) {
            /* One reply per trigger (a request line) in what arrived. */
            const char *t = a->http_trigger != NULL ? a->http_trigger : " HTTP/1.1\r\n";
            size_t tl = strlen(t);
            size_t from = a->rx_len > tl ? a->rx_len - tl : 0, end = a->rx_len + m->pkt_len;
            for (size_t i = from; i + tl <= end; i++)
                if (memcmp(a->rx + i, t, tl) == 0 && i + tl > a->rx_len) {
                    size_t n = strlen(a->http_reply);
                    memcpy(a->tx + a->tx_len, a->http_reply, n);
                    a->tx_len += n;
                }
        }
        if (a->echo) {
            cr_assert_leq(a->tx_len + m->pkt_len, N_BUF);
            memcpy(a->tx + a->tx_len, a->rx + a->rx_len, m->pkt_len);
            a->tx_len += m->pkt_len;
        }
        a->rx_len += m->pkt_len;
        rte_pktmbuf_free(m);
    }
    if (a->echo || a->http_reply != NULL)
        app_pump(a);
}

static void app_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct app *a = arg;

    switch (ev) {
    case TCP_EV_ESTABLISHED:
        a->established = true;
        a->key = c->key;
        app_pump(a);
        break;
    case TCP_EV_READABLE:
        app_read(a);
        break;
    case TCP_EV_WRITABLE:
        app_pump(a);
        break;
    case TCP_EV_PEER_FIN:
        a->peer_fin = true;
        app_read(a);
        if (a->close_on_fin && a->tx_off == a->tx_len)
            tcp_shutdown(c);
        else if (a->close_on_fin)
            a->shut_after_tx = true;
        break;
    case TCP_EV_RESET:
        a->reset = true;
        a->c = NULL;
        break;
    case TCP_EV_TIMEOUT:
        a->timeout = true;
        a->c = NULL;
        break;
    case TCP_EV_CLOSED:
        app_read(a);
        a->closed = true;
        a->c = NULL;
        break;
    }
}

static void app_init(struct app *a)
{
    uint8_t *rx = a->rx, *tx = a->tx;

    memset(a, 0, sizeof(*a));
    a->rx = rx != NULL ? rx : malloc(N_BUF);
    a->tx = tx != NULL ? tx : malloc(N_BUF);
    cr_assert(a->rx != NULL && a->tx != NULL);
    a->read = true;
}

/* The server stack's listener: a new application with the default settings. */
static void srv_accept(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct app *a;

    (void)arg;
    if (ev != TCP_EV_ESTABLISHED)
        return;
    cr_assert_lt(T.n_srv_apps, N_APPS);
    a = &T.srv_apps[T.n_srv_apps++];
    app_init(a);
    a->read = T.srv_default.read;
    a->echo = T.srv_default.echo;
    a->close_on_fin = T.srv_default.close_on_fin;
    a->http_reply = T.srv_default.http_reply;
    a->http_trigger = T.srv_default.http_trigger;
    if (T.srv_default.tx_len > 0) {
        memcpy(a->tx, T.srv_default.tx, T.srv_default.tx_len);
        a->tx_len = T.srv_default.tx_len;
    }
    a->c = c;
    tcp_set_handler(c, app_event, a);
    app_event(c, TCP_EV_ESTABLISHED, a);
}

/* A client connection to the VIP on port. */
static void client_connect(struct app *a, uint16_t port)
{
    app_init(a);
    cr_assert_eq(tcp_connect(N.cli, ip4(PN_CLIENT), ip4(PN_VIP), port, app_event, a, &a->c), 0);
}

static void client_send(struct app *a, const void *data, size_t len)
{
    memcpy(a->tx + a->tx_len, data, len);
    a->tx_len += len;
    app_pump(a);
}

/* The server application whose peer (the proxy's side) used client port lport... any:
 * the one whose connection came from (VIP, port p). */
static struct app *srv_app_of(const struct app *client)
{
    (void)client;
    return T.n_srv_apps ? &T.srv_apps[T.n_srv_apps - 1] : NULL;
}

/* Web: a service on ports 80 and 443 with source-IP persistence; echo servers behind. */
static void setup_with(uint32_t lb_bufs, uint32_t max_sessions)
{
    memset(&T, 0, sizeof(T));
    pn_setup("Web", lb_bufs, max_sessions);
    cr_assert_eq(tcp_listen(N.srv, 0, 80, 0, srv_accept, NULL), 0);
    cr_assert_eq(tcp_listen(N.srv, 0, 443, 0, srv_accept, NULL), 0);
    cr_assert_eq(tcp_listen(N.srv, 0, 8080, 0, srv_accept, NULL), 0);
    T.srv_default.read = true;
    N.vs.ports[0] = 80;
    N.vs.ports[1] = 443;
    N.vs.n_ports = 2;
    N.vs.persistence.type = CFG_PERSIST_SOURCE_IP;
    N.vs.persistence.timeout_s = 1200;
    pn_publish();
}

static void setup(void)
{
    setup_with(0, 64);
}

TestSuite(proxy, .init = setup);

static const struct proxy_stats *PS(void)
{
    return &N.ws->proxy;
}

static uint16_t rs_idx(int i)
{
    return (uint16_t)(N.vs.slot * CFG_MAX_RS + i);
}

/* Index of the real server whose address is ip. */
static int rs_of(uint32_t ip)
{
    for (int i = 0; i < 3; i++)
        if (N.rs[i].ip == ip)
            return i;
    return -1;
}

/* Every session gone, every control block of the proxy's stack back (after TIME_WAIT),
 * no active count left, the mbufs back but those the test still holds. */
static void assert_no_leak(unsigned in_use_before)
{
    pn_run(31000 + 60000);
    cr_assert_eq(proxy_active(N.px), 0, "sessions left: %u", proxy_active(N.px));
    cr_assert_eq(N.lb->n_conns, 0, "control blocks left: %u", N.lb->n_conns);
    cr_assert_eq(N.lb->buf_segs, 0);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(N.ws->traffic.rs_active_conns[rs_idx(i)], 0);
    cr_assert_eq(PS()->accepted, PS()->sessions_closed + PS()->no_service);
    cr_assert_eq(N.cli->n_conns, 0);
    cr_assert_eq(N.srv->n_conns, 0);
    cr_assert_eq(rte_mempool_in_use_count(N.pool), in_use_before, "mbufs: %u, before %u",
                 rte_mempool_in_use_count(N.pool), in_use_before);
}

Test(proxy, splices_both_ways_from_the_vip_and_closes_cleanly)
{
    static struct app a;
    struct app *s;
    static uint8_t data[300000];
    unsigned before = rte_mempool_in_use_count(N.pool);

    T.srv_default.echo = true;
    T.srv_default.close_on_fin = true;
    pn_fill(data, sizeof(data), 1);
    client_connect(&a, 80);
    pn_run(10);
    cr_assert(a.established);
    cr_assert_eq(proxy_active(N.px), 1);
    cr_assert_eq(T.n_srv_apps, 1);
    s = srv_app_of(&a);
    /* SNAT: the real server sees the VIP, on a local port of this worker. */
    cr_assert_eq(s->key.raddr, ip4(PN_VIP));
    cr_assert_eq(s->key.lport, 80, "real server port null: the client's port");
    client_send(&a, data, sizeof(data));
    a.shut_after_tx = true;
    app_pump(&a);
    pn_run(2000);
    cr_assert_eq(s->rx_len, sizeof(data));
    cr_assert_eq(a.rx_len, sizeof(data));
    cr_assert_eq(memcmp(a.rx, data, sizeof(data)), 0);
    cr_assert(a.peer_fin && a.closed, "client saw the server's FIN and a clean close");
    cr_assert(s->peer_fin && s->closed);
    cr_assert_eq(PS()->fin_client, 1);
    cr_assert_eq(PS()->fin_server, 1);
    int r = rs_of(s->key.laddr);
    cr_assert_geq(r, 0);
    cr_assert_eq(N.ws->traffic.rs[rs_idx(r)].conns, 1);
    cr_assert_eq(N.ws->traffic.rs[rs_idx(r)].bytes_in, sizeof(data));
    cr_assert_eq(N.ws->traffic.rs[rs_idx(r)].bytes_out, sizeof(data));
    cr_assert_eq(N.ws->traffic.vs[N.vs.slot].bytes_in, sizeof(data));
    cr_assert_eq(N.ws->traffic.vs[N.vs.slot].conns, 1);
    assert_no_leak(before);
}

Test(proxy, multi_port_service_and_explicit_real_server_port)
{
    static struct app a, b;

    client_connect(&a, 443);
    pn_run(10);
    cr_assert(a.established);
    cr_assert_eq(T.srv_apps[0].key.lport, 443);
    /* A real server with its own port takes every VIP port to it. */
    N.rs[0].port = N.rs[1].port = N.rs[2].port = 8080;
    pn_publish();
    client_connect(&b, 80);
    pn_run(10);
    cr_assert(b.established);
    cr_assert_eq(T.n_srv_apps, 2);
    cr_assert_eq(T.srv_apps[1].key.lport, 8080);
}

Test(proxy, persistence_keeps_a_client_on_one_server)
{
    static struct app a[6];
    int first = -1;

    for (int i = 0; i < 6; i++) {
        client_connect(&a[i], i % 2 ? 80 : 443);
        pn_run(10);
        cr_assert(a[i].established);
        int r = rs_of(T.srv_apps[i].key.laddr);
        if (first < 0)
            first = r;
        cr_assert_eq(r, first, "connection %d went to rs%d, not rs%d", i, r + 1, first + 1);
    }
    cr_assert_eq(PS()->persist_created, 1);
    cr_assert_eq(PS()->persist_hits, 5);
    cr_assert_eq(N.ws->traffic.rs_active_conns[rs_idx(first)], 6);
    cr_assert_eq(persist_lookup(N.persist, ip4(PN_CLIENT), N.vs.slot)->n_conns, 6);
}

Test(proxy, flush_while_a_session_holds_the_entry_leaves_no_dangling_reference)
{
    static struct app a, b;
    struct persist_entry *e;

    client_connect(&a, 80);
    pn_run(10);
    cr_assert(a.established);
    cr_assert_eq(persist_flush(N.persist, PERSIST_ALL), 1, "the held entry is flushed");
    cr_assert_null(persist_lookup(N.persist, ip4(PN_CLIENT), N.vs.slot));
    client_connect(&b, 80);
    pn_run(10);
    cr_assert(b.established);
    cr_assert_eq(PS()->persist_created, 2, "scheduled afresh: a new entry");
    e = persist_lookup(N.persist, ip4(PN_CLIENT), N.vs.slot);
    cr_assert_not_null(e);
    cr_assert_eq(e->n_conns, 1);
    /* The first session ends: it gives back what it held, not the new entry. */
    tcp_abort(a.c);
    a.c = NULL;
    pn_run(20);
    cr_assert_eq(proxy_active(N.px), 1);
    cr_assert_eq(persist_lookup(N.persist, ip4(PN_CLIENT), N.vs.slot), e);
    cr_assert_eq(e->n_conns, 1, "the new entry is still held by the second session");
    cr_assert_eq(slot_stack_used(&N.persist->free), 1, "the flushed entry's slot is free again");
    tcp_abort(b.c);
    b.c = NULL;
    pn_run(20);
    cr_assert_eq(e->n_conns, 0);
    cr_assert_eq(slot_stack_used(&N.persist->free), 1, "kept for its timeout");
}

Test(proxy, without_persistence_the_scheduler_spreads)
{
    static struct app a[6];
    int seen[3] = {0};

    N.vs.persistence.type = CFG_PERSIST_NONE;
    pn_publish();
    for (int i = 0; i < 6; i++) {
        client_connect(&a[i], 80);
        pn_run(10);
        seen[rs_of(T.srv_apps[i].key.laddr)]++;
    }
    cr_assert(seen[0] == 2 && seen[1] == 2 && seen[2] == 2, "wrr: %d %d %d", seen[0], seen[1],
              seen[2]);
}

Test(proxy, drain_moves_new_connections_and_keeps_existing_ones)
{
    static struct app a, b;
    static const char msg[] = "still here";
    int first;

    T.srv_default.echo = true;
    client_connect(&a, 80);
    pn_run(10);
    first = rs_of(T.srv_apps[0].key.laddr);
    N.rs[first].state = CFG_RS_DRAIN;
    pn_publish();
    client_connect(&b, 80);
    pn_run(10);
    cr_assert(b.established);
    cr_assert_neq(rs_of(T.srv_apps[1].key.laddr), first, "drained server got a new connection");
    cr_assert_eq(PS()->persist_moved, 1);
    /* The persistence entry now names the new server. */
    cr_assert_eq(persist_lookup(N.persist, ip4(PN_CLIENT), N.vs.slot)->rs_idx,
                 rs_idx(rs_of(T.srv_apps[1].key.laddr)));
    client_send(&a, msg, sizeof(msg));
    pn_run(50);
    cr_assert_eq(a.rx_len, sizeof(msg), "the drained server's connection carries on");
}

Test(proxy, max_conns_and_health_skip_servers_then_no_server_resets)
{
    static struct app a[4];
    int seen[3] = {0};

    N.vs.persistence.type = CFG_PERSIST_NONE;
    for (int i = 0; i < 3; i++)
        N.rs[i].max_conns = 1;
    N.rs[2].health_down = true;
    pn_publish();
    for (int i = 0; i < 3; i++) {
        client_connect(&a[i], 80);
        pn_run(10);
    }
    cr_assert(a[0].established && a[1].established && a[2].established);
    for (unsigned i = 0; i < T.n_srv_apps; i++)
        seen[rs_of(T.srv_apps[i].key.laddr)]++;
    cr_assert_eq(T.n_srv_apps, 2, "the third client found no eligible server");
    cr_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 0);
    cr_assert(a[2].reset, "the client without a server is reset");
    cr_assert_eq(PS()->no_server, 1);
    /* One ends: its server takes a new client. */
    tcp_shutdown(a[0].c);
    T.srv_apps[0].close_on_fin = true;
    pn_run(100);
    client_connect(&a[3], 80);
    pn_run(10);
    cr_assert(a[3].established);
}

Test(proxy, connect_timeout_tries_the_next_servers)
{
    static struct app a;
    static const char msg[] = "hello";

    N.vs.persistence.type = CFG_PERSIST_NONE;
    N.cfg.layer7.connect_timeout_ms = 500;
    N.rs[0].weight = 300;           /* wrr picks rs1 first */
    pn_publish();
    N.blackhole = N.rs[0].ip;
    T.srv_default.echo = true;
    client_connect(&a, 80);
    client_send(&a, msg, sizeof(msg));
    pn_run(400);
    cr_assert(a.established, "the client's handshake ends on the VIP at once");
    cr_assert_eq(T.n_srv_apps, 0);
    cr_assert_eq(N.ws->traffic.rs_active_conns[rs_idx(0)], 1, "connecting counts as active");
    pn_run(200);
    cr_assert_eq(PS()->connect_timeouts, 1);
    cr_assert_eq(PS()->retries, 1);
    cr_assert_eq(N.ws->traffic.rs_active_conns[rs_idx(0)], 0);
    cr_assert_eq(T.n_srv_apps, 1);
    cr_assert_neq(rs_of(T.srv_apps[0].key.laddr), 0);
    cr_assert_eq(a.rx_len, sizeof(msg), "data sent while connecting arrives");
}

Test(proxy, connect_timeout_of_a_persistent_server_resets_the_client)
{
    static struct app a, b;

    N.cfg.layer7.connect_timeout_ms = 300;
    pn_publish();
    client_connect(&a, 80);
    pn_run(10);
    int r = rs_of(T.srv_apps[0].key.laddr);
    N.blackhole = N.rs[r].ip;
    client_connect(&b, 80);
    pn_run(200);
    cr_assert(b.established && !b.reset);
    pn_run(200);
    cr_assert(b.reset, "bound by persistence: reset, not moved");
    cr_assert_eq(PS()->connect_timeouts, 1);
    cr_assert_eq(PS()->retries, 0);
    cr_assert_eq(PS()->connect_failed_reset, 1);
    cr_assert_eq(T.n_srv_apps, 1);
}

Test(proxy, refused_connection_tries_the_next_server)
{
    static struct app a;

    N.vs.persistence.type = CFG_PERSIST_NONE;
    N.rs[0].weight = 300;
    N.rs[0].port = 9;               /* nobody listens: RST */
    pn_publish();
    client_connect(&a, 80);
    pn_run(20);
    cr_assert(a.established && !a.reset);
    cr_assert_eq(PS()->connect_refused, 1);
    cr_assert_eq(PS()->retries, 1);
    cr_assert_eq(T.n_srv_apps, 1);
    cr_assert_neq(rs_of(T.srv_apps[0].key.laddr), 0);
}

Test(proxy, every_server_failing_ends_in_a_reset_after_bounded_tries)
{
    static struct app a;

    N.vs.persistence.type = CFG_PERSIST_NONE;
    for (int i = 0; i < 3; i++)
        N.rs[i].port = 9;
    pn_publish();
    client_connect(&a, 80);
    pn_run(50);
    cr_assert(a.reset);
    cr_assert_eq(PS()->connect_refused, PROXY_MAX_TRIES);
    cr_assert_eq(PS()->retries, PROXY_MAX_TRIES - 1);
    cr_assert_eq(PS()->connect_failed_reset, 1);
    cr_assert_eq(proxy_active(N.px), 0);
}

Test(proxy, server_reset_reaches_the_client)
{
    static struct app a;
    unsigned before = rte_mempool_in_use_count(N.pool);

    client_connect(&a, 80);
    client_send(&a, "x", 1);
    pn_run(20);
    cr_assert_eq(T.srv_apps[0].rx_len, 1);
    tcp_abort(T.srv_apps[0].c);
    T.srv_apps[0].c = NULL;
    pn_run(20);
    cr_assert(a.reset);
    cr_assert_eq(PS()->server_resets, 1);
    assert_no_leak(before);
}

Test(proxy, client_reset_reaches_the_server)
{
    static struct app a;
    unsigned before = rte_mempool_in_use_count(N.pool);

    client_connect(&a, 80);
    pn_run(20);
    tcp_abort(a.c);
    a.c = NULL;
    pn_run(20);
    cr_assert(T.srv_apps[0].reset);
    cr_assert_eq(PS()->client_resets, 1);
    assert_no_leak(before);
}

Test(proxy, half_close_lets_the_server_answer_after_the_client_fin)
{
    static struct app a;
    static uint8_t answer[200000];
    struct app *s;
    unsigned before = rte_mempool_in_use_count(N.pool);

    pn_fill(answer, sizeof(answer), 7);
    client_connect(&a, 80);
    client_send(&a, "GET", 3);
    tcp_shutdown(a.c);
    pn_run(20);
    s = &T.srv_apps[0];
    cr_assert(s->peer_fin && s->rx_len == 3, "request and FIN passed on");
    memcpy(s->tx, answer, sizeof(answer));
    s->tx_len = sizeof(answer);
    s->shut_after_tx = true;
    app_pump(s);
    pn_run(2000);
    cr_assert_eq(a.rx_len, sizeof(answer));
    cr_assert_eq(memcmp(a.rx, answer, sizeof(answer)), 0);
    cr_assert(a.peer_fin && a.closed);
    assert_no_leak(before);
}

Test(proxy, client_idle_timeout_resets_both_sides)
{
    static struct app a;
    unsigned before = rte_mempool_in_use_count(N.pool);

    N.cfg.layer7.client_timeout_s = 2;
    N.cfg.layer7.server_timeout_s = 5;
    pn_publish();
    client_connect(&a, 80);
    pn_run(1500);
    cr_assert(!a.reset && !T.srv_apps[0].reset);
    pn_run(1000);
    cr_assert(a.reset || a.timeout, "client reset after 2 s idle");
    cr_assert(T.srv_apps[0].reset, "server reset with it");
    cr_assert_eq(PS()->client_timeouts, 1);
    assert_no_leak(before);
}

Test(proxy, server_idle_timeout_resets_both_sides)
{
    static struct app a;

    N.cfg.layer7.client_timeout_s = 10;
    N.cfg.layer7.server_timeout_s = 1;
    pn_publish();
    client_connect(&a, 80);
    pn_run(1500);
    cr_assert(a.reset, "client reset when the server side idled out");
    cr_assert(T.srv_apps[0].reset);
    cr_assert_eq(PS()->server_timeouts, 1);
    cr_assert_eq(proxy_active(N.px), 0);
}

Test(proxy, halt_closes_existing_sessions)
{
    static struct app a;

    client_connect(&a, 80);
    pn_run(20);
    N.rs[rs_of(T.srv_apps[0].key.laddr)].state = CFG_RS_HALT;
    pn_publish();
    pn_run(20);
    cr_assert(a.reset && T.srv_apps[0].reset);
    cr_assert_eq(PS()->halted, 1);
    cr_assert_eq(proxy_active(N.px), 0);
}

Test(proxy, session_pool_cap_refuses_and_counts)
{
    static struct app a[3];

    proxy_free(N.px);
    N.px = NULL;
    {
        struct proxy_conf pc = {.tcp = N.lb, .wheel = &N.wheel, .persist = N.persist,
                                .sched = N.sched, .stats = &N.ws->proxy, .traffic = &N.ws->traffic, .pool = N.pool,
                                .max_sessions = 2, .socket_id = SOCKET_ID_ANY};
        char err[128];
        N.px = proxy_create(&pc, err, sizeof(err));
        cr_assert_not_null(N.px);
        proxy_snapshot_changed(N.px, N.snap);
    }
    for (int i = 0; i < 3; i++) {
        client_connect(&a[i], 80);
        pn_run(10);
    }
    cr_assert(!a[0].reset && !a[1].reset && a[2].reset);
    cr_assert_eq(PS()->refused_pool, 1);
}

Test(proxy, listeners_follow_the_snapshot)
{
    static struct app a, b;

    client_connect(&a, 443);
    pn_run(10);
    N.vs.ports[0] = 80;
    N.vs.n_ports = 1;               /* 443 goes away */
    pn_publish();
    client_connect(&b, 443);
    pn_run(10);
    cr_assert(b.reset, "no listener on 443 any more");
    cr_assert(!a.reset && a.c != NULL, "the established session on 443 carries on");
    client_send(&a, "y", 1);
    pn_run(10);
    cr_assert_eq(T.srv_apps[0].rx_len, 1);
    /* An HTTP-mode service is the proxy's too; a layer-4 one is not. */
    N.vs.mode = CFG_MODE_HTTP;
    pn_publish();
    cr_assert_eq(N.px->n_listeners, 1);
    N.vs.layer = 4;
    pn_publish();
    cr_assert_eq(N.px->n_listeners, 0);
}

Test(proxy, slow_reader_closes_the_writers_window)
{
    static struct app a;
    static uint8_t data[2000000];
    struct app *s;

    /* 64 KB buffers on the proxy's stack. */
    proxy_free(N.px);
    tcp_stack_free(N.lb);
    N.lb = pn_stack("lb2", 65536, 256);
    {
        struct proxy_conf pc = {.tcp = N.lb, .wheel = &N.wheel, .persist = N.persist,
                                .sched = N.sched, .stats = &N.ws->proxy, .traffic = &N.ws->traffic, .pool = N.pool,
                                .max_sessions = 8, .socket_id = SOCKET_ID_ANY};
        char err[128];
        N.px = proxy_create(&pc, err, sizeof(err));
        cr_assert_not_null(N.px);
        proxy_snapshot_changed(N.px, N.snap);
    }
    T.srv_default.read = false;
    pn_fill(data, sizeof(data), 3);
    client_connect(&a, 80);
    client_send(&a, data, sizeof(data));
    pn_run(3000);
    s = &T.srv_apps[0];
    cr_assert_lt(a.tx_off, sizeof(data), "the client was stopped");
    /* What the proxy holds stays within its two buffers (64 KB each way, in segments). */
    cr_assert_leq(N.lb->buf_segs, 2 * 65536 / 536 + 8, "proxy holds %u segments", N.lb->buf_segs);
    cr_assert_gt(PS()->backpressure, 0);
    s->read = true;
    app_read(s);
    pn_run(5000);
    cr_assert_eq(s->rx_len, sizeof(data));
    cr_assert_eq(memcmp(s->rx, data, sizeof(data)), 0);
}

Test(proxy, lossy_links_both_ways_keep_the_bytes)
{
    static struct app a;
    static uint8_t data[1000000];
    unsigned before = rte_mempool_in_use_count(N.pool);

    N.loss_pct = 2;
    T.srv_default.echo = true;
    T.srv_default.close_on_fin = true;
    pn_fill(data, sizeof(data), 9);
    client_connect(&a, 80);
    pn_run(5000);
    cr_assert(a.established);
    client_send(&a, data, sizeof(data));
    a.shut_after_tx = true;
    app_pump(&a);
    for (int i = 0; i < 600 && !a.closed && !a.reset; i++)
        pn_run(1000);
    cr_assert_gt(N.lost, 0);
    cr_assert(!a.reset && !a.timeout);
    cr_assert_eq(a.rx_len, sizeof(data), "echoed %zu of %zu", a.rx_len, sizeof(data));
    cr_assert_eq(memcmp(a.rx, data, sizeof(data)), 0);
    N.loss_pct = 0;
    assert_no_leak(before);
}

Test(proxy, choose_honours_tried_servers)
{
    struct sched_flow f = {.client_ip = ip4(PN_CLIENT), .vip = ip4(PN_VIP), .proto = IPPROTO_TCP,
                           .vport = rte_cpu_to_be_16(80)};
    const struct snap_vs *vs = snapshot_service(N.snap, ip4(PN_VIP), IPPROTO_TCP, 80);
    struct persist_entry *pe;
    uint16_t tried[2];
    int bound;
    const struct snap_rs *rs;

    cr_assert_not_null(vs);
    N.vs.scheduler = CFG_SCHED_SH;  /* always the same server for this client */
    pn_publish();
    vs = snapshot_service(N.snap, ip4(PN_VIP), IPPROTO_TCP, 80);
    rs = proxy_choose(N.px, vs, &f, NULL, 0, &pe, &bound);
    cr_assert_not_null(rs);
    cr_assert(pe == NULL && !bound);
    tried[0] = rs->idx;
    const struct snap_rs *next = proxy_choose(N.px, vs, &f, tried, 1, &pe, &bound);
    cr_assert_not_null(next);
    cr_assert_neq(next->idx, rs->idx);
    cr_assert_eq(PS()->retry_fallbacks, 1);
    tried[1] = next->idx;
    const struct snap_rs *third = proxy_choose(N.px, vs, &f, tried, 2, &pe, &bound);
    cr_assert_not_null(third);
    cr_assert(third->idx != rs->idx && third->idx != next->idx);
}

Test(proxy, data_of_a_closed_server_still_reaches_a_slow_client)
{
    static struct app a;
    static uint8_t answer[700000];
    struct app *s;
    unsigned before = rte_mempool_in_use_count(N.pool);

    pn_fill(answer, sizeof(answer), 5);
    client_connect(&a, 80);
    a.read = false;                 /* the client reads nothing for now */
    client_send(&a, "GET", 3);
    tcp_shutdown(a.c);
    pn_run(20);
    s = &T.srv_apps[0];
    cr_assert(s->peer_fin);
    memcpy(s->tx, answer, sizeof(answer));
    s->tx_len = sizeof(answer);
    s->shut_after_tx = true;
    app_pump(s);
    pn_run(3000);
    /* 700 KB: the client's receive buffer, the proxy's send buffer to it, and the
     * rest with the FIN in the proxy's receive buffer from the server. */
    cr_assert(s->closed, "the server's side closed");
    cr_assert_eq(a.rx_len, 0);
    a.read = true;
    app_read(&a);
    pn_run(3000);
    cr_assert(s->closed, "the server's side closed");
    cr_assert_eq(PS()->held_after_close, 1, "the proxy kept what the closed side had left");
    cr_assert_eq(a.rx_len, sizeof(answer));
    cr_assert_eq(memcmp(a.rx, answer, sizeof(answer)), 0);
    cr_assert(a.peer_fin && a.closed);
    assert_no_leak(before);
}

/* What the only open session of the proxy holds outside the stack's queues, in segments. */
static uint32_t held_segs(void)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < N.px->conf.max_sessions; i++) {
        const struct proxy_sess *s = &N.px->sessions[i];
        if (s->state == PROXY_FREE)
            continue;
        for (int d = 0; d < 2; d++)
            n += s->held[d].segs + (s->stall[d] != NULL ? s->stall[d]->nb_segs : 0);
    }
    return n;
}

/* Segments in the queues of the proxy stack's connections. */
static uint32_t queued_segs(void)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < N.lb->conf.max_conns; i++) {
        const struct tcp_conn *c = &N.lb->pool[i];
        if (c->state == TCP_CLOSED)
            continue;
        n += c->sndq.segs + c->rcvq.segs;
        if (c->ooo != NULL)
            for (unsigned k = 0; k < c->ooo->n; k++)
                n += c->ooo->e[k].m->nb_segs;
    }
    return n;
}

Test(proxy, data_held_after_a_close_stays_within_the_stacks_buffer_cap)
{
    static struct app a;
    static uint8_t answer[700000];
    struct app *s;
    unsigned before = rte_mempool_in_use_count(N.pool);

    pn_fill(answer, sizeof(answer), 6);
    client_connect(&a, 80);
    a.read = false;
    client_send(&a, "GET", 3);
    tcp_shutdown(a.c);
    pn_run(20);
    s = &T.srv_apps[0];
    memcpy(s->tx, answer, sizeof(answer));
    s->tx_len = sizeof(answer);
    s->shut_after_tx = true;
    app_pump(s);
    pn_run(3000);
    cr_assert(s->closed);
    cr_assert_eq(PS()->held_after_close, 1);
    /* The server's half is gone; what it had sent waits in the session, and counts
     * against the cap the worker's pool is sized for, as it did in the queue. */
    cr_assert_gt(held_segs(), 0);
    cr_assert_eq(N.lb->buf_segs, queued_segs() + held_segs(), "stack %u = queues %u + held %u",
                 N.lb->buf_segs, queued_segs(), held_segs());
    a.read = true;
    app_read(&a);
    pn_run(3000);
    cr_assert_eq(a.rx_len, sizeof(answer));
    cr_assert_eq(memcmp(a.rx, answer, sizeof(answer)), 0);
    assert_no_leak(before);
}

/* ---------------------------------------------------------------------------- */
/* HTTP mode (proxy_http.c) on the same network                                 */
/* ---------------------------------------------------------------------------- */

#define REQ "GET /who HTTP/1.1\r\nHost: lab\r\n\r\n"
#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

static void http_mode(enum cfg_persist_type p, enum cfg_sched sched)
{
    N.vs.mode = CFG_MODE_HTTP;
    N.vs.scheduler = sched;
    N.vs.persistence.type = p;
    snprintf(N.vs.persistence.cookie, sizeof(N.vs.persistence.cookie), "SERVERID");
    N.vs.x_forwarded_for = true;
    N.vs.http_request_timeout_ms = 5000;
    T.srv_default.http_reply = OK200;
    T.srv_default.close_on_fin = true;
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

/* The value of the SERVERID cookie a's first response set, into v. */
static void set_cookie_of(const struct app *a, char *v, size_t cap)
{
    pn_set_cookie(a->rx, a->rx_len, "SERVERID", v, cap);
}

static void client_close(struct app *a)
{
    if (a->c != NULL)
        tcp_shutdown(a->c);
    pn_run(100);
}

Test(proxy, http_keep_alive_pipelining_and_xff)
{
    static struct app a;
    unsigned before = rte_mempool_in_use_count(N.pool);

    /* Each request is routed on its own: source-IP persistence keeps them on one
     * server, so the backend connection is used again. */
    http_mode(CFG_PERSIST_SOURCE_IP, CFG_SCHED_WLC);
    client_connect(&a, 80);
    pn_run(10);
    client_send(&a, REQ, strlen(REQ));
    pn_run(50);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK"), 1);
    client_send(&a, REQ, strlen(REQ));
    pn_run(50);
    /* Two at once: answered in order, one at a time. */
    client_send(&a, REQ REQ, 2 * strlen(REQ));
    pn_run(100);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 4);
    cr_assert_eq(T.n_srv_apps, 1, "one backend connection for the four");
    cr_assert_eq(PS()->http_backend_reused, 3);
    cr_assert_eq(rx_count(&T.srv_apps[0], "X-Forwarded-For: 10.0.0.20\r\n\r\n"), 4);
    cr_assert_eq(HS()->requests, 4);
    cr_assert_eq(HS()->responses_2xx, 4);
    cr_assert_eq(N.px->conf.http->rs[rs_idx(rs_of(T.srv_apps[0].key.laddr))].responses[1], 4);
    cr_assert(!a.peer_fin, "kept alive");
    client_close(&a);
    cr_assert(a.peer_fin);
    assert_no_leak(before);
}

Test(proxy, http_cookie_insert_indirect_and_replace)
{
    static struct app a, b, c;
    char v[64], req[256];
    int first;

    http_mode(CFG_PERSIST_HTTP_COOKIE, CFG_SCHED_WRR);
    client_connect(&a, 80);
    pn_run(10);
    client_send(&a, REQ, strlen(REQ));
    pn_run(50);
    cr_assert_eq(rx_count(&a, "Cache-Control: private\r\n"), 1);
    set_cookie_of(&a, v, sizeof(v));
    cr_assert_eq(strlen(v), 16, "%s", v);
    first = rs_of(T.srv_apps[0].key.laddr);
    cr_assert_eq(HS()->cookie_inserted, 1);
    /* wrr would rotate: the cookie keeps the client on its server, and is taken out. */
    snprintf(req, sizeof(req), "GET /who HTTP/1.1\r\nHost: lab\r\nCookie: x=1; SERVERID=%s\r\n\r\n", v);
    for (int i = 0; i < 3; i++)
        client_send(&a, req, strlen(req));
    pn_run(100);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK"), 4);
    cr_assert_eq(rx_count(&a, "Set-Cookie"), 1, "only the first response sets it");
    cr_assert_eq(T.n_srv_apps, 1);
    cr_assert_eq(rx_count(&T.srv_apps[0], "SERVERID"), 0, "indirect: never seen by the server");
    cr_assert_eq(rx_count(&T.srv_apps[0], "Cookie: x=1\r\n"), 3);
    cr_assert_eq(HS()->cookie_hits, 3);
    /* Another connection with the cookie: the same server. */
    client_connect(&b, 80);
    pn_run(10);
    client_send(&b, req, strlen(req));
    pn_run(50);
    cr_assert_eq(rs_of(T.srv_apps[T.n_srv_apps - 1].key.laddr), first);
    cr_assert_eq(rx_count(&b, "Set-Cookie"), 0);
    /* Its server halted: elsewhere, with a new cookie. */
    N.rs[first].state = CFG_RS_HALT;
    pn_publish();
    client_connect(&c, 80);
    pn_run(10);
    client_send(&c, req, strlen(req));
    pn_run(50);
    cr_assert_eq(rx_count(&c, "HTTP/1.1 200 OK"), 1);
    cr_assert_neq(rs_of(T.srv_apps[T.n_srv_apps - 1].key.laddr), first);
    cr_assert_eq(rx_count(&c, "Set-Cookie: SERVERID="), 1);
    cr_assert_eq(HS()->cookie_replaced, 1);
}

Test(proxy, http_smuggling_shape_gets_400_and_close)
{
    static struct app a;
    const char *bad = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n\r\n";
    unsigned before = rte_mempool_in_use_count(N.pool);

    http_mode(CFG_PERSIST_NONE, CFG_SCHED_WLC);
    client_connect(&a, 80);
    pn_run(10);
    client_send(&a, bad, strlen(bad));
    pn_run(50);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 400 Bad Request\r\n"), 1);
    cr_assert(a.peer_fin, "closed after the answer");
    cr_assert_eq(T.n_srv_apps, 0, "nothing reached a server");
    cr_assert_eq(HS()->err_400, 1);
    client_close(&a);
    assert_no_leak(before);
}

Test(proxy, http_503_502_504_408)
{
    static struct app a, b, c, d;
    unsigned before = rte_mempool_in_use_count(N.pool);

    http_mode(CFG_PERSIST_NONE, CFG_SCHED_WLC);
    /* 408: a header that does not arrive within http_request_timeout_ms. */
    client_connect(&d, 80);
    pn_run(10);
    client_send(&d, "GET / HT", 8);
    pn_run(5100);
    cr_assert_eq(rx_count(&d, "HTTP/1.1 408 "), 1);
    /* 502: garbage before a status line. */
    T.srv_default.http_reply = "nonsense\r\n\r\n";
    client_connect(&b, 80);
    pn_run(10);
    client_send(&b, REQ, strlen(REQ));
    pn_run(50);
    cr_assert_eq(rx_count(&b, "HTTP/1.1 502 "), 1);
    /* 504: no answer within layer7.server_timeout_s. */
    T.srv_default.http_reply = NULL;
    N.cfg.layer7.server_timeout_s = 1;
    pn_publish();
    client_connect(&c, 80);
    pn_run(10);
    client_send(&c, REQ, strlen(REQ));
    pn_run(3000);
    cr_assert_eq(rx_count(&c, "HTTP/1.1 504 "), 1);
    /* 503: every server halted. */
    for (int i = 0; i < 3; i++)
        N.rs[i].state = CFG_RS_HALT;
    pn_publish();
    client_connect(&a, 80);
    pn_run(10);
    client_send(&a, REQ, strlen(REQ));
    pn_run(50);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 503 "), 1);
    cr_assert(HS()->err_408 == 1 && HS()->err_502 == 1 && HS()->err_504 == 1 &&
              HS()->err_503 == 1);
    cr_assert_eq(HS()->responses_5xx, 3);
    cr_assert_eq(HS()->responses_4xx, 1);
    client_close(&a);
    client_close(&b);
    client_close(&c);
    client_close(&d);
    assert_no_leak(before);
}

Test(proxy, http_chunked_upload_streams_through)
{
    static struct app a;
    static char body[200000];
    unsigned before = rte_mempool_in_use_count(N.pool);
    const char *head = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    size_t o = 0;

    http_mode(CFG_PERSIST_SOURCE_IP, CFG_SCHED_WLC);
    /* 100 chunks of 1000 bytes, then the end; the server answers once it has it all. */
    T.srv_default.http_trigger = "\r\n0\r\n\r\n";
    for (int i = 0; i < 100; i++) {
        o += (size_t)snprintf(body + o, sizeof(body) - o, "3e8\r\n");
        memset(body + o, 'a' + i % 26, 1000);
        o += 1000;
        o += (size_t)snprintf(body + o, sizeof(body) - o, "\r\n");
    }
    o += (size_t)snprintf(body + o, sizeof(body) - o, "0\r\n\r\n");
    client_connect(&a, 80);
    pn_run(10);
    client_send(&a, head, strlen(head));
    client_send(&a, body, o);
    pn_run(500);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK"), 1, "%u responses, %u servers, rx %zu",
                 rx_count(&a, "HTTP/1.1 200 OK"), T.n_srv_apps, T.srv_apps[0].rx_len);
    cr_assert_eq(T.n_srv_apps, 1);
    cr_assert_eq(T.srv_apps[0].rx_len, strlen(head) + o + strlen("X-Forwarded-For: 10.0.0.20\r\n"),
                 "the body went on byte for byte");
    cr_assert(memcmp(T.srv_apps[0].rx + T.srv_apps[0].rx_len - o, body, o) == 0);
    cr_assert(!a.peer_fin, "kept alive");
    client_close(&a);
    assert_no_leak(before);
}

Test(proxy, http_wlc_keeps_the_connected_server_on_a_tie)
{
    static struct app a, b;

    /* No persistence: each request is scheduled; wlc takes turns among equal servers,
     * but the one the client is connected to is one of them. wrr rotates. */
    http_mode(CFG_PERSIST_NONE, CFG_SCHED_WLC);
    client_connect(&a, 80);
    pn_run(10);
    for (int i = 0; i < 3; i++) {
        client_send(&a, REQ, strlen(REQ));
        pn_run(50);
    }
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK"), 3);
    cr_assert_eq(T.n_srv_apps, 1);
    http_mode(CFG_PERSIST_NONE, CFG_SCHED_WRR);
    client_connect(&b, 80);
    pn_run(10);
    for (int i = 0; i < 3; i++) {
        client_send(&b, REQ, strlen(REQ));
        pn_run(50);
    }
    cr_assert_eq(rx_count(&b, "HTTP/1.1 200 OK"), 3);
    cr_assert_eq(T.n_srv_apps, 4, "a backend connection per request");
}

/* ------------------------------------------------------------------------ */
/* Traffic log (proxy_log.h)                                                */
/* ------------------------------------------------------------------------ */

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "txlog.h"

static struct rte_ring *log_ring_on(unsigned count)
{
    static unsigned n;
    char name[32];
    struct rte_ring *r;

    snprintf(name, sizeof(name), "tlog_%u", n++);
    r = rte_ring_create_elem(name, sizeof(struct txlog_rec), count, SOCKET_ID_ANY,
                             RING_F_SP_ENQ | RING_F_SC_DEQ);
    cr_assert_not_null(r);
    N.px->conf.log_ring = r;
    N.vs.log = true;
    pn_publish();
    return r;
}

static unsigned log_take(struct rte_ring *r, struct txlog_rec *out, unsigned max)
{
    return rte_ring_sc_dequeue_burst_elem(r, out, sizeof(*out), max, NULL);
}

Test(proxy, log_one_record_per_tcp_connection_with_bytes_server_and_end)
{
    static struct app a;
    static uint8_t data[5000];
    struct rte_ring *ring = log_ring_on(16);
    struct txlog_rec rec[4];
    char line[TXLOG_LINE_MAX];
    struct app *s;

    T.srv_default.echo = true;
    T.srv_default.close_on_fin = true;
    pn_fill(data, sizeof(data), 7);
    client_connect(&a, 80);
    pn_run(10);
    cr_assert_eq(log_take(ring, rec, 4), 0, "nothing before the end");
    client_send(&a, data, sizeof(data));
    a.shut_after_tx = true;
    app_pump(&a);
    pn_run(2000);
    cr_assert(a.closed);
    s = srv_app_of(&a);
    cr_assert_eq(log_take(ring, rec, 4), 1);
    cr_assert_eq(PS()->log_records, 1);
    cr_assert_eq(PS()->log_lost, 0);
    cr_assert_eq(rec[0].mode, TXLOG_MODE_TCP);
    cr_assert_eq(rec[0].client_ip, ip4(PN_CLIENT));
    cr_assert_eq(rec[0].client_port, a.key.lport);
    cr_assert_eq(rec[0].vip, ip4(PN_VIP));
    cr_assert_eq(rec[0].vport, 80);
    cr_assert_eq(rec[0].vs_slot, N.vs.slot);
    cr_assert_eq(rec[0].rs_ip, s->key.laddr);
    cr_assert_eq(rec[0].rs_port, 80);
    cr_assert_eq(rec[0].rs_id, N.rs[rs_of(s->key.laddr)].id);
    cr_assert_eq(rec[0].bytes_in, sizeof(data));
    cr_assert_eq(rec[0].bytes_out, sizeof(data));
    cr_assert_eq(rec[0].end, TXLOG_END_CLIENT_CLOSE);
    cr_assert_eq(rec[0].status, 0);
    cr_assert_neq(rec[0].t_connect_ms, TXLOG_T_NONE);
    cr_assert_neq(rec[0].t_first_ms, TXLOG_T_NONE);
    cr_assert_leq(rec[0].t_connect_ms, rec[0].t_first_ms);
    cr_assert_leq(rec[0].t_first_ms, rec[0].t_total_ms);
    txlog_format(&rec[0], "Web", "rs1", line, sizeof(line));
    cr_assert(strstr(line, "bytes_in=5000 bytes_out=5000 end=client_close") != NULL, "%s",
              line);
    rte_ring_free(ring);
}

Test(proxy, log_full_ring_counts_lost_records_and_never_blocks)
{
    static struct app a[4];
    /* rte_ring of count 2 holds one element. */
    struct rte_ring *ring = log_ring_on(2);
    struct txlog_rec rec[4];

    T.srv_default.close_on_fin = true;
    for (int i = 0; i < 3; i++) {
        client_connect(&a[i], 80);
        pn_run(10);
        cr_assert(a[i].established);
        client_close(&a[i]);
        pn_run(100);
    }
    cr_assert_eq(PS()->log_records, 1);
    cr_assert_eq(PS()->log_lost, 2);
    cr_assert_eq(log_take(ring, rec, 4), 1);
    cr_assert_eq(rec[0].end, TXLOG_END_CLIENT_CLOSE);
    /* Room again: the next one goes in. */
    client_connect(&a[3], 80);
    pn_run(10);
    client_close(&a[3]);
    pn_run(100);
    cr_assert_eq(PS()->log_records, 2);
    cr_assert_eq(log_take(ring, rec, 4), 1);
    rte_ring_free(ring);
}

Test(proxy, log_off_for_the_service_puts_nothing)
{
    static struct app a;
    struct rte_ring *ring = log_ring_on(16);
    struct txlog_rec rec[2];

    N.vs.log = false;
    pn_publish();
    T.srv_default.close_on_fin = true;
    client_connect(&a, 80);
    pn_run(10);
    client_close(&a);
    pn_run(100);
    cr_assert_eq(PS()->sessions_closed, 1, "the session is over");
    cr_assert_eq(log_take(ring, rec, 2), 0);
    cr_assert_eq(PS()->log_records + PS()->log_lost, 0);
    rte_ring_free(ring);
}

Test(proxy, log_refused_everywhere_ends_connect_refused_without_a_server_byte)
{
    static struct app a;
    struct rte_ring *ring = log_ring_on(16);
    struct txlog_rec rec[2];

    /* Nothing listens on 81 on the servers: every connect is refused. */
    N.vs.ports[0] = 81;
    pn_publish();
    client_connect(&a, 81);
    pn_run(100);
    cr_assert(a.reset);
    cr_assert_eq(log_take(ring, rec, 2), 1);
    cr_assert_eq(rec[0].end, TXLOG_END_CONNECT_REFUSED);
    cr_assert_eq(rec[0].t_connect_ms, TXLOG_T_NONE);
    cr_assert_eq(rec[0].t_first_ms, TXLOG_T_NONE);
    cr_assert_eq(rec[0].bytes_out, 0);
    rte_ring_free(ring);
}

Test(proxy, log_http_one_record_per_request_with_status_and_request_line)
{
    static struct app a, b;
    struct rte_ring *ring = log_ring_on(64);
    struct txlog_rec rec[8];
    char line[TXLOG_LINE_MAX];

    http_mode(CFG_PERSIST_SOURCE_IP, CFG_SCHED_WLC);
    client_connect(&a, 80);
    pn_run(10);
    client_send(&a, REQ REQ, 2 * strlen(REQ));
    pn_run(100);
    client_send(&a, REQ, strlen(REQ));
    pn_run(100);
    cr_assert_eq(rx_count(&a, "HTTP/1.1 200 OK"), 3);
    cr_assert_eq(log_take(ring, rec, 8), 3, "one per request, none for the connection");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(rec[i].mode, TXLOG_MODE_HTTP);
        cr_assert_eq(rec[i].status, 200);
        cr_assert_eq(rec[i].end, TXLOG_END_DONE);
        cr_assert_eq(rec[i].bytes_out, strlen(OK200));
        cr_assert_gt(rec[i].bytes_in, strlen(REQ), "the request as sent (X-Forwarded-For)");
        cr_assert_eq(rec[i].rs_ip, T.srv_apps[0].key.laddr);
        cr_assert_eq(rec[i].req_len, strlen("GET /who HTTP/1.1"));
        cr_assert_eq(memcmp(rec[i].req, "GET /who HTTP/1.1", rec[i].req_len), 0);
    }
    client_close(&a);
    cr_assert_eq(log_take(ring, rec, 8), 0, "an idle keep-alive close logs nothing");
    /* An error lbd answers itself is a request too. */
    for (int i = 0; i < 3; i++)
        N.rs[i].state = CFG_RS_HALT;
    pn_publish();
    client_connect(&b, 80);
    pn_run(10);
    client_send(&b, REQ, strlen(REQ));
    pn_run(50);
    cr_assert_eq(log_take(ring, rec, 8), 1);
    cr_assert_eq(rec[0].status, 503);
    cr_assert_eq(rec[0].end, TXLOG_END_NO_SERVER);
    cr_assert_eq(rec[0].rs_ip, 0);
    txlog_format(&rec[0], "Web", NULL, line, sizeof(line));
    cr_assert(strstr(line, " rs=- server=- mode=http status=503 ") != NULL, "%s", line);
    cr_assert(strstr(line, "req=\"GET /who HTTP/1.1\"") != NULL, "%s", line);
    client_close(&b);
    rte_ring_free(ring);
}

Test(proxy, log_resets_and_halt_name_who_ended_it)
{
    static struct app a, b, c;
    struct rte_ring *ring = log_ring_on(16);
    struct txlog_rec rec[4];

    /* The server resets after a byte. */
    client_connect(&a, 80);
    client_send(&a, "x", 1);
    pn_run(20);
    tcp_abort(T.srv_apps[0].c);
    T.srv_apps[0].c = NULL;
    pn_run(20);
    cr_assert(a.reset);
    cr_assert_eq(log_take(ring, rec, 4), 1);
    cr_assert_eq(rec[0].end, TXLOG_END_SERVER_RESET);
    cr_assert_eq(rec[0].bytes_in, 1);
    /* The client resets. */
    client_connect(&b, 80);
    pn_run(20);
    tcp_abort(b.c);
    b.c = NULL;
    pn_run(20);
    cr_assert_eq(log_take(ring, rec, 4), 1);
    cr_assert_eq(rec[0].end, TXLOG_END_CLIENT_RESET);
    /* Its real server is halted. */
    client_connect(&c, 80);
    pn_run(20);
    cr_assert(c.established);
    for (int i = 0; i < 3; i++)
        N.rs[i].state = CFG_RS_HALT;
    pn_publish();
    pn_run(20);
    cr_assert(c.reset);
    cr_assert_eq(log_take(ring, rec, 4), 1);
    cr_assert_eq(rec[0].end, TXLOG_END_HALT);
    cr_assert_neq(rec[0].rs_ip, 0, "the server it had");
    rte_ring_free(ring);
}
