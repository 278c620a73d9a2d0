/*
 * tcp_harness: drives one TCP stack with crafted segments in a test process.
 *
 * The EAL starts once per test process (no huge pages, in memory); the stack runs
 * on a wheel whose clock the test moves (h_advance). Segments the stack sends are
 * captured (h_out) and parsed back with their checksums verified; segments from
 * the "peer" are built as full Ethernet frames, parsed by pkt_parse and fed to
 * tcp_input (h_in). Events are recorded per connection.
 */
#ifndef LBD_TEST_TCP_HARNESS_H
#define LBD_TEST_TCP_HARNESS_H

#define ALLOW_EXPERIMENTAL_API 1
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <getopt.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "frames.h"
#include "net/pkt_parse.h"
#include "base/lcore_ctx.h"
#include "tcp/tcp.h"
#include "tcp/tcp_input.h"
#include "tcp/tcp_output.h"

#define H_MAX_OUT 4096
#define H_MAX_EV 256
#define H_LOCAL "10.0.0.1"
#define H_PEER "10.0.0.2"
#define H_LPORT 80
#define H_PPORT 40000

struct h_out {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    uint32_t len;
    uint16_t mss;           /* 0 = absent */
    int wscale;             /* -1 = absent */
    int sack_ok;            /* SACK-permitted option present */
    unsigned n_sack;        /* SACK blocks: sack[2 * i] .. sack[2 * i + 1] */
    uint32_t sack[8];
    unsigned optlen;        /* TCP option bytes */
    int ts;                 /* Timestamps option present: tsval, tsecr */
    uint32_t tsval, tsecr;
    int ts_off;             /* its offset in the options (kind byte) */
    uint8_t opt[40];        /* the option bytes as sent */
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t data[2048];
};

struct h_state {
    struct rte_mempool *pool;
    struct twheel wheel;
    struct tcp_stack *st;
    struct tcp_stack_conf conf;
    struct h_out out[H_MAX_OUT];
    unsigned n_out;         /* captured so far */
    unsigned seen;          /* consumed by h_next */
    enum tcp_event ev[H_MAX_EV];
    struct tcp_conn *ev_conn[H_MAX_EV];
    unsigned n_ev;
    struct tcp_conn *conn;  /* last connection an event came from */
    uint32_t fixed_iss;
    int peer_sack;          /* h_accept's SYN offers SACK-permitted */
    int peer_ts;            /* h_accept's SYN and ACK carry Timestamps (TSval peer_tsval) */
    uint32_t peer_tsval;
    int auto_read;          /* READABLE handler drains into rx_buf */
    uint8_t rx_buf[1 << 20];
    uint32_t rx_len;
    unsigned n_deferred;    /* segments whose TCP checksum was left to the tx path */
};

static struct h_state H;

static inline void h_eal_init(void)
{
    static int done;
    char *argv[] = {"test_tcp", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--no-telemetry", "--log-level=error", "-l", "0", NULL};

    if (done)
        return;
    optind = 1;     /* Criterion parsed its own arguments with getopt */
    cr_assert_geq(rte_eal_init(10, argv), 0, "EAL init");
    done = 1;
}

static inline void h_tx(void *arg, struct rte_mbuf *m, uint32_t dst_ip)
{
    struct h_out *o;
    uint8_t buf[4096];
    const uint8_t *p;
    const struct rte_ipv4_hdr *ip;
    const struct rte_tcp_hdr *th;
    uint32_t doff;

    cr_assert_lt(H.n_out, H_MAX_OUT);
    cr_assert_leq(m->pkt_len, sizeof(buf));
    cr_assert_geq(rte_pktmbuf_headroom(m), 14, "ip_out needs Ethernet headroom");
    if (m->ol_flags & RTE_MBUF_F_TX_L4_MASK) {
        /* conf.tx_csum_defer: what the port needs, then completed as lcore_tx does. */
        const struct rte_ipv4_hdr *dip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
        const struct rte_tcp_hdr *dth = (const struct rte_tcp_hdr *)(dip + 1);
        cr_assert_eq(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
        cr_assert(m->ol_flags & RTE_MBUF_F_TX_IPV4);
        cr_assert_eq(m->l3_len, 20);
        cr_assert_eq(m->l4_len, (uint32_t)(dth->data_off >> 4) * 4);
        cr_assert_eq(dth->cksum, rte_ipv4_phdr_cksum(dip, m->ol_flags), "pseudo-header sum");
        lcore_tx_csum_sw(m, 0);
        H.n_deferred++;
    }
    p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
    ip = (const struct rte_ipv4_hdr *)p;
    th = (const struct rte_tcp_hdr *)(p + 20);
    cr_assert_eq(rte_be_to_cpu_16(ip->total_length), m->pkt_len);
    cr_assert_eq(rte_ipv4_cksum(ip), 0, "IPv4 checksum");
    /* Over the bytes laid flat, not with DPDK's multi-segment sum (wrong for a chain
     * with a segment of odd length before the last, and agreeing with itself). */
    cr_assert_eq(rte_ipv4_udptcp_cksum_verify(ip, th), 0, "TCP checksum");
    cr_assert_eq(ip->dst_addr, dst_ip);
    o = &H.out[H.n_out++];
    memset(o, 0, sizeof(*o));
    o->src = ip->src_addr;
    o->dst = ip->dst_addr;
    o->sport = rte_be_to_cpu_16(th->src_port);
    o->dport = rte_be_to_cpu_16(th->dst_port);
    o->seq = rte_be_to_cpu_32(th->sent_seq);
    o->ack = rte_be_to_cpu_32(th->recv_ack);
    o->flags = th->tcp_flags;
    o->wnd = rte_be_to_cpu_16(th->rx_win);
    o->wscale = -1;
    doff = (uint32_t)(th->data_off >> 4) * 4;
    for (uint32_t i = 20; i < doff;) {
        const uint8_t *opt = (const uint8_t *)th + i;
        if (opt[0] == 0)
            break;
        if (opt[0] == 1) {
            i++;
            continue;
        }
        if (opt[0] == 2)
            o->mss = (uint16_t)((opt[2] << 8) | opt[3]);
        if (opt[0] == 3)
            o->wscale = opt[2];
        if (opt[0] == 4)
            o->sack_ok = 1;
        if (opt[0] == 8) {
            cr_assert_eq(opt[1], 10, "Timestamps option length");
            cr_assert_eq(o->ts, 0, "one Timestamps option");
            o->ts = 1;
            o->ts_off = (int)(i - 20);
            o->tsval = ((uint32_t)opt[2] << 24) | ((uint32_t)opt[3] << 16) |
                       ((uint32_t)opt[4] << 8) | opt[5];
            o->tsecr = ((uint32_t)opt[6] << 24) | ((uint32_t)opt[7] << 16) |
                       ((uint32_t)opt[8] << 8) | opt[9];
        }
        if (opt[0] == 5) {
            o->n_sack = (opt[1] - 2u) / 8;
            cr_assert_leq(o->n_sack, 4);
            for (unsigned b = 0; b < 2 * o->n_sack; b++)
                o->sack[b] = ((uint32_t)opt[2 + 4 * b] << 24) | ((uint32_t)opt[3 + 4 * b] << 16) |
                             ((uint32_t)opt[4 + 4 * b] << 8) | opt[5 + 4 * b];
        }
        cr_assert_geq(opt[1], 2, "option length");
        i += opt[1];
    }
    o->optlen = doff - 20;
    cr_assert_leq(o->optlen, 40);
    memcpy(o->opt, (const uint8_t *)th + 20, o->optlen);
    cr_assert_leq(m->pkt_len, 1500, "IP packet within the 1500-byte MTU");
    o->len = m->pkt_len - 20 - doff;
    cr_assert_leq(o->len, sizeof(o->data));
    memcpy(o->data, p + 20 + doff, o->len);
    rte_pktmbuf_free(m);
}

static inline uint32_t h_iss(void *arg, const struct tcp_key *k)
{
    return H.fixed_iss;
}

static inline void h_on_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    cr_assert_lt(H.n_ev, H_MAX_EV);
    H.ev[H.n_ev] = ev;
    H.ev_conn[H.n_ev++] = c;
    H.conn = c;
    if (ev == TCP_EV_READABLE && H.auto_read) {
        struct rte_mbuf *m;
        while ((m = tcp_recv(c, 1u << 20)) != NULL) {
            for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
                memcpy(H.rx_buf + H.rx_len, rte_pktmbuf_mtod(s, void *), s->data_len);
                H.rx_len += s->data_len;
            }
            rte_pktmbuf_free(m);
        }
    }
}

/* Default stack for tests; adjust H.conf before h_start. */
static inline void h_setup(void)
{
    h_eal_init();
    memset(&H, 0, sizeof(H) - sizeof(H.rx_buf));
    H.pool = rte_pktmbuf_pool_create("h_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     SOCKET_ID_ANY);
    cr_assert_not_null(H.pool);
    twheel_init(&H.wheel, 1000000);
    tcp_stack_conf_default(&H.conf);
    H.conf.name = "h";
    H.conf.wheel = &H.wheel;
    H.conf.pool = H.pool;
    H.conf.tx = h_tx;
    H.conf.iss_fn = h_iss;
    H.conf.max_conns = 64;
    H.fixed_iss = 1000000;
}

static inline void h_start(void)
{
    char err[256] = "";
    H.st = tcp_stack_create(&H.conf, err, sizeof(err));
    cr_assert_not_null(H.st, "%s", err);
}

static inline void h_teardown(void)
{
    tcp_stack_free(H.st);
    H.st = NULL;
}

static inline uint64_t h_now(void)
{
    return twheel_now(&H.wheel);
}

static inline void h_advance(uint64_t ms)
{
    twheel_advance(&H.wheel, twheel_now(&H.wheel) + ms);
}

/* Moves time forward 1 ms at a time until a segment comes out or max ms pass;
 * returns the ms waited. */
static inline uint64_t h_wait_out(uint64_t max)
{
    uint64_t waited = 0;
    unsigned before = H.n_out;

    while (H.n_out == before && waited < max) {
        h_advance(1);
        waited++;
    }
    return waited;
}

/* The next captured segment not yet looked at, or NULL. */
static inline struct h_out *h_next(void)
{
    if (H.seen >= H.n_out)
        return NULL;
    return &H.out[H.seen++];
}

static inline unsigned h_pending_out(void)
{
    return H.n_out - H.seen;
}

static inline void h_skip_out(void)
{
    H.seen = H.n_out;
}

struct h_seg {
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    const uint8_t *data;
    uint32_t len;
    int mss;                /* option when > 0 */
    int wscale;             /* option when >= 0 */
    int sack_ok;            /* SACK-permitted option when nonzero */
    int n_sack;             /* SACK blocks sack[2 * i] .. sack[2 * i + 1] */
    uint32_t sack[8];
    int ts;                 /* NOP, NOP, Timestamps (tsval, tsecr) first, as Linux */
    uint32_t tsval, tsecr;
    const uint8_t *raw_opt; /* appended verbatim (raw_optlen bytes) */
    unsigned raw_optlen;
    uint16_t sport, dport;  /* 0 = defaults */
    uint32_t src;           /* 0 = H_PEER */
    int bad_csum;
    int partial_csum;       /* the checksum field holds the pseudo-header sum only, as
                               virtio-net hands over a packet left for offload */
    uint64_t ol_flags;      /* rx flags the "port" set (RTE_MBUF_F_RX_L4_CKSUM_*) */
    uint32_t pad;           /* Ethernet padding bytes after the IP packet */
};

/* Feeds one segment from the peer; returns tcp_input's verdict (frees m when the
 * stack leaves it to the caller, like the worker does). */
static inline enum drop_reason h_in(const struct h_seg *s)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(H.pool);
    uint8_t opt[64];
    unsigned optlen = 0;
    uint8_t *f;
    uint32_t l4, off;
    struct pkt_info pi;
    struct rte_tcp_hdr *th;
    enum drop_reason r;

    cr_assert_not_null(m);
    if (s->ts) {
        opt[optlen++] = 1;
        opt[optlen++] = 1;
        opt[optlen++] = 8;
        opt[optlen++] = 10;
        for (int b = 24; b >= 0; b -= 8)
            opt[optlen++] = (uint8_t)(s->tsval >> b);
        for (int b = 24; b >= 0; b -= 8)
            opt[optlen++] = (uint8_t)(s->tsecr >> b);
    }
    if (s->mss > 0) {
        opt[optlen++] = 2;
        opt[optlen++] = 4;
        opt[optlen++] = (uint8_t)(s->mss >> 8);
        opt[optlen++] = (uint8_t)s->mss;
    }
    if (s->wscale >= 0 && (s->flags & TCP_SYN)) {
        opt[optlen++] = 1;
        opt[optlen++] = 3;
        opt[optlen++] = 3;
        opt[optlen++] = (uint8_t)s->wscale;
    }
    if (s->sack_ok) {
        opt[optlen++] = 1;
        opt[optlen++] = 1;
        opt[optlen++] = 4;
        opt[optlen++] = 2;
    }
    if (s->n_sack > 0) {
        opt[optlen++] = 1;
        opt[optlen++] = 1;
        opt[optlen++] = 5;
        opt[optlen++] = (uint8_t)(2 + 8 * s->n_sack);
        for (int b = 0; b < 2 * s->n_sack; b++) {
            opt[optlen++] = (uint8_t)(s->sack[b] >> 24);
            opt[optlen++] = (uint8_t)(s->sack[b] >> 16);
            opt[optlen++] = (uint8_t)(s->sack[b] >> 8);
            opt[optlen++] = (uint8_t)s->sack[b];
        }
    }
    if (s->raw_optlen > 0) {
        memcpy(opt + optlen, s->raw_opt, s->raw_optlen);
        optlen += s->raw_optlen;
    }
    while (optlen % 4)
        opt[optlen++] = 0;
    cr_assert_leq(optlen, 40, "TCP options fit in 40 bytes");
    f = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + 20 + 20 + optlen + s->len + s->pad));
    cr_assert_not_null(f);
    off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    l4 = frame_ipv4(f, off, IPPROTO_TCP, s->src ? s->src : ip4(H_PEER), ip4(H_LOCAL),
                    (uint16_t)(20 + optlen + s->len));
    th = (struct rte_tcp_hdr *)(f + l4);
    memset(th, 0, sizeof(*th));
    th->src_port = rte_cpu_to_be_16(s->sport ? s->sport : H_PPORT);
    th->dst_port = rte_cpu_to_be_16(s->dport ? s->dport : H_LPORT);
    th->sent_seq = rte_cpu_to_be_32(s->seq);
    th->recv_ack = rte_cpu_to_be_32(s->ack);
    th->data_off = (uint8_t)(((20 + optlen) / 4) << 4);
    th->tcp_flags = s->flags;
    th->rx_win = rte_cpu_to_be_16(s->wnd);
    memcpy(th + 1, opt, optlen);
    if (s->len)
        memcpy((uint8_t *)(th + 1) + optlen, s->data, s->len);
    memset((uint8_t *)(th + 1) + optlen + s->len, 0xee, s->pad);
    th->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + off), th);
    if (s->partial_csum)
        th->cksum = rte_ipv4_phdr_cksum((struct rte_ipv4_hdr *)(f + off), 0);
    if (s->bad_csum)
        th->cksum ^= 0x0101;
    m->ol_flags |= s->ol_flags;
    cr_assert_eq(pkt_parse(f, m->data_len, true, &pi), DROP_NONE);
    r = tcp_input(H.st, m, &pi);
    if (r != DROP_NONE)
        rte_pktmbuf_free(m);
    return r;
}

static inline unsigned h_count_ev(enum tcp_event ev)
{
    unsigned n = 0;
    for (unsigned i = 0; i < H.n_ev; i++)
        n += H.ev[i] == ev;
    return n;
}

static inline int h_last_ev(void)
{
    return H.n_ev ? (int)H.ev[H.n_ev - 1] : -1;
}

/* Fills buf with a recognisable pattern starting at stream offset off. */
static inline void h_pattern(uint8_t *buf, uint32_t len, uint32_t off)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = (uint8_t)((off + i) * 131 + ((off + i) >> 8));
}

/* A packet of len pattern bytes (stream offset off), in segments of at most seg. */
static inline struct rte_mbuf *h_payload(uint32_t len, uint32_t off, uint32_t seg)
{
    struct rte_mbuf *head = NULL;

    while (len > 0) {
        uint32_t n = len < seg ? len : seg;
        struct rte_mbuf *m = rte_pktmbuf_alloc(H.pool);
        cr_assert_not_null(m);
        h_pattern((uint8_t *)rte_pktmbuf_append(m, (uint16_t)n), n, off);
        if (head == NULL)
            head = m;
        else
            cr_assert_eq(rte_pktmbuf_chain(head, m), 0);
        len -= n;
        off += n;
    }
    return head;
}

/*
 * Passive handshake on H_LOCAL:80 from the peer with ISN peer_isn, MSS 1460 and the
 * given window scale (-1 = none). Returns the established connection.
 */
#define PEER_ISN 5000u
static inline struct tcp_conn *h_accept(int peer_ws, uint16_t wnd)
{
    struct h_out *o;

    if (tcp_tcb_listener(H.st, ip4(H_LOCAL), H_LPORT) == NULL)
        cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 65535,
                                      .mss = 1460, .wscale = peer_ws,
                                      .sack_ok = H.peer_sack, .ts = H.peer_ts,
                                      .tsval = H.peer_tsval}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = wnd, .ts = H.peer_ts, .tsval = H.peer_tsval,
                                      .tsecr = o->tsval}), DROP_NONE);
    cr_assert_eq(h_last_ev(), TCP_EV_ESTABLISHED);
    return H.conn;
}

#endif
