/*
 * proxy_net: the world of the Layer 7 proxy's unit tests.
 *
 * Three TCP stacks on one timer wheel: a client stack (PN_CLIENT), the proxy's stack
 * (the VIP, PN_VIP) and a server stack answering for the three real servers
 * (10.0.0.51/.52/.57). An in-memory network joins them: a FIFO of whole frames, which
 * can lose a share of what it carries or black-hole one server, delivered while the
 * test moves the clock (pn_run). On the middle stack runs the proxy with its scheduler,
 * persistence table and worker statistics, reading a config published as a snapshot.
 * The applications at either end (echo servers, HTTP servers, TLS clients) are each
 * test's own: they listen on N.srv and connect from N.cli through the stacks' API.
 */
#ifndef LBD_TEST_PROXY_NET_H
#define LBD_TEST_PROXY_NET_H

#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "eal.h"
#include "frames.h"
#include "net/pkt_parse.h"
#include "proxy/proxy.h"
#include "proxy/tls_stream.h"
#include "tcp/tcp.h"
#include "tcp/tcp_input.h"

#define PN_CLIENT "10.0.0.20"
#define PN_VIP "10.0.0.110"
#define PN_QUEUE 16384

/* What a worker keeps for its proxy. */
struct pn_worker_stats {
    struct proxy_stats proxy;
    struct traffic_stats traffic;
    struct tls_stats tls;
};

struct proxy_net {
    struct rte_mempool *pool;
    struct twheel wheel;
    struct tcp_stack *cli, *lb, *srv;
    struct {
        struct rte_mbuf *m;
        uint32_t dst;
    } q[PN_QUEUE];
    unsigned q_head, q_tail;
    uint32_t blackhole;     /* a server address that never answers */
    unsigned loss_pct;      /* share of frames lost on the wire, both ways */
    uint64_t rng;
    uint64_t lost;
    struct pn_worker_stats *ws;
    struct sched_state *sched;
    struct persist_table *persist;
    struct proxy *px;
    struct snapshot *snap;
    uint64_t gen;
    /* the config the snapshot is built from */
    struct cfg_interface ifc;
    struct cfg_real_server rs[3];
    struct cfg_vs vs;
    struct lbd_config cfg;
};

static struct proxy_net N;

static inline uint32_t pn_rand(void)
{
    N.rng = N.rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(N.rng >> 33);
}

/* Copies the whole packet m to dst. */
static inline void pn_copy_out(const struct rte_mbuf *m, uint8_t *dst)
{
    const void *p = rte_pktmbuf_read(m, 0, m->pkt_len, dst);

    cr_assert_not_null(p);
    if (p != dst)
        memcpy(dst, p, m->pkt_len);
}

/* Transmit hook of every stack: the segment goes on the wire (the FIFO), contiguous. */
static inline void pn_tx(void *arg, struct rte_mbuf *m, uint32_t dst)
{
    struct rte_mbuf *f = rte_pktmbuf_alloc(N.pool);
    uint8_t *p;

    (void)arg;
    cr_assert_not_null(f, "test pool exhausted");
    p = (uint8_t *)rte_pktmbuf_append(f, (uint16_t)(14 + m->pkt_len));
    cr_assert_not_null(p);
    frame_eth(p, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    pn_copy_out(m, p + 14);
    rte_pktmbuf_free(m);
    cr_assert_lt(N.q_tail - N.q_head, PN_QUEUE, "network queue full");
    N.q[N.q_tail % PN_QUEUE].m = f;
    N.q[N.q_tail % PN_QUEUE].dst = dst;
    N.q_tail++;
}

static inline struct tcp_stack *pn_route(uint32_t dst)
{
    if (dst == ip4(PN_VIP))
        return N.lb;
    if (dst == ip4(PN_CLIENT))
        return N.cli;
    for (int i = 0; i < 3; i++)
        if (dst == N.rs[i].ip)
            return dst == N.blackhole ? NULL : N.srv;
    return NULL;
}

/* Delivers what is on the wire (and what that makes the stacks send). */
static inline void pn_deliver(void)
{
    while (N.q_head != N.q_tail) {
        struct rte_mbuf *m = N.q[N.q_head % PN_QUEUE].m;
        struct tcp_stack *st = pn_route(N.q[N.q_head % PN_QUEUE].dst);
        struct pkt_info pi;

        N.q_head++;
        if (st == NULL || (N.loss_pct && pn_rand() % 100 < N.loss_pct)) {
            N.lost++;
            rte_pktmbuf_free(m);
            continue;
        }
        cr_assert_eq(pkt_parse(rte_pktmbuf_mtod(m, uint8_t *), m->data_len, true, &pi),
                     DROP_NONE);
        if (tcp_input(st, m, &pi) != DROP_NONE)
            rte_pktmbuf_free(m);
    }
}

/* Runs the network for ms milliseconds of the test clock. */
static inline void pn_run(uint64_t ms)
{
    uint64_t end = twheel_now(&N.wheel) + ms;

    pn_deliver();
    while (twheel_now(&N.wheel) < end) {
        twheel_advance(&N.wheel, twheel_now(&N.wheel) + 1);
        pn_deliver();
    }
}

/* n bytes of a pseudo-random pattern of its seed. */
static inline void pn_fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* Occurrences of str in buf. */
static inline unsigned pn_count(const uint8_t *buf, size_t len, const char *str)
{
    size_t n = strlen(str);
    unsigned c = 0;

    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, str, n) == 0)
            c++;
    return c;
}

/* The value of the first "Set-Cookie: name=" in buf, into v (cap bytes). */
static inline void pn_set_cookie(const uint8_t *buf, size_t len, const char *name, char *v,
                                 size_t cap)
{
    char k[64];
    size_t n = (size_t)snprintf(k, sizeof(k), "Set-Cookie: %s=", name);

    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(buf + i, k, n) == 0) {
            size_t j = 0;
            while (i + n + j < len && buf[i + n + j] != ';' && j + 1 < cap) {
                v[j] = (char)buf[i + n + j];
                j++;
            }
            v[j] = 0;
            return;
        }
    cr_assert_fail("no %s", k);
}

/* (Re)builds the snapshot from N.cfg and gives it to the proxy. */
static inline void pn_publish(void)
{
    char err[256] = "";
    struct snapshot *old = N.snap;

    N.snap = snapshot_build(&N.cfg, ++N.gen, err, sizeof(err));
    cr_assert_not_null(N.snap, "snapshot_build: %s", err);
    proxy_snapshot_changed(N.px, N.snap);
    snapshot_free(old);
}

/* A stack on the network; bufs bytes of send and receive buffer (0: the default). */
static inline struct tcp_stack *pn_stack(const char *name, uint32_t bufs, uint32_t max_conns)
{
    struct tcp_stack_conf c;
    char err[256] = "";
    struct tcp_stack *st;

    tcp_stack_conf_default(&c);
    c.name = name;
    c.wheel = &N.wheel;
    c.pool = N.pool;
    c.tx = pn_tx;
    c.max_conns = max_conns;
    c.max_buf_segs = 8000;
    if (bufs) {
        c.sndbuf = bufs;
        c.rcvbuf = bufs;
    }
    st = tcp_stack_create(&c, err, sizeof(err));
    cr_assert_not_null(st, "%s", err);
    return st;
}

/*
 * The whole world, not yet published: the EAL, the network, the three stacks (the
 * proxy's with lb_bufs of buffer), the proxy (at most max_sessions), and a config of
 * one interface and a Layer 7 TCP-mode service `label` on the VIP (slot 3, weighted
 * round robin, no ports yet) over rs1..rs3 (weight 100, slots 0..2). The test adds its
 * listeners, ports, persistence or TLS, then calls pn_publish().
 */
static inline void pn_setup(const char *label, uint32_t lb_bufs, uint32_t max_sessions)
{
    struct proxy_conf pc;
    char err[256] = "";

    test_eal_init();
    memset(&N, 0, sizeof(N));
    N.rng = 42;
    N.pool = rte_pktmbuf_pool_create("n_pool", 16383, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     SOCKET_ID_ANY);
    cr_assert_not_null(N.pool);
    twheel_init(&N.wheel, 1000000);
    N.cli = pn_stack("cli", 0, 256);
    N.lb = pn_stack("lb", lb_bufs, 256);
    N.srv = pn_stack("srv", 0, 256);

    N.ws = rte_zmalloc("ws", sizeof(*N.ws), 0);
    N.sched = rte_zmalloc("sched", sizeof(*N.sched), 0);
    N.persist = persist_table_create("n_persist", 1024, SOCKET_ID_ANY, &N.wheel);
    cr_assert(N.ws != NULL && N.sched != NULL && N.persist != NULL);
    sched_init(N.sched, 1);
    pc = (struct proxy_conf){.tcp = N.lb, .wheel = &N.wheel, .persist = N.persist,
                             .sched = N.sched, .stats = &N.ws->proxy,
                             .traffic = &N.ws->traffic, .pool = N.pool,
                             .max_sessions = max_sessions, .socket_id = SOCKET_ID_ANY,
                             .tls_stats = &N.ws->tls};
    N.px = proxy_create(&pc, err, sizeof(err));
    cr_assert_not_null(N.px, "%s", err);

    N.ifc = (struct cfg_interface){.port = 0, .ip = ip4("10.0.0.5"), .prefix_len = 24};
    N.cfg.interfaces = &N.ifc;
    N.cfg.n_interfaces = 1;
    N.cfg.layer7 = (struct cfg_layer7){.connect_timeout_ms = 4000, .client_timeout_s = 1200,
                                       .server_timeout_s = 1200};
    for (int i = 0; i < 3; i++) {
        snprintf(N.rs[i].label, sizeof(N.rs[i].label), "rs%d", i + 1);
        N.rs[i].weight = 100;
        N.rs[i].id = (uint32_t)(100 + i);
        N.rs[i].slot = (uint16_t)i;
    }
    N.rs[0].ip = ip4("10.0.0.51");
    N.rs[1].ip = ip4("10.0.0.52");
    N.rs[2].ip = ip4("10.0.0.57");
    snprintf(N.vs.label, sizeof(N.vs.label), "%s", label);
    N.vs.ip = ip4(PN_VIP);
    N.vs.protocol = CFG_PROTO_TCP;
    N.vs.layer = 7;
    N.vs.mode = CFG_MODE_TCP;
    N.vs.scheduler = CFG_SCHED_WRR;
    N.vs.slot = 3;
    N.vs.real_servers = N.rs;
    N.vs.n_real_servers = 3;
    N.cfg.virtual_services = &N.vs;
    N.cfg.n_virtual_services = 1;
}

#endif
