/*
 * Receive buffer auto-tuning (tcp_rcvbuf.h) on crafted segments: a peer that sends
 * what the window it was last told allows, once per round trip (time moved on the
 * wheel), and a user that drains at once, slowly or not at all. Every segment the
 * stack sends is checked: the right edge it advertises never moves left (RFC 9293
 * 3.8.6), whatever the buffer does.
 */
#include "tcp/tcp_budget.h"
#include "tcp/tcp_rcvbuf.h"
#include "tcp/tcp_tcb.h"

#include "tcp_harness.h"

TestSuite(tcp_rcvbuf, .init = h_setup, .fini = h_teardown);

#define ISS 1000000u
#define RTT_MS 10u
#define SEG 1460u
#define R_MAX 16

/* One connection as its peer sees it. */
struct r_peer {
    struct tcp_conn *c;
    uint16_t sport;
    uint32_t nxt;           /* the peer's next sequence number */
    uint32_t edge;          /* the right edge we last advertised (0: none yet) */
    uint32_t max_wnd;       /* the largest window we advertised */
    uint32_t acks;          /* segments we sent it after the SYN-ACK */
};

static struct {
    struct r_peer p[R_MAX];
    unsigned n;
    struct tcp_conn *last;  /* the last connection established */
    int drain;              /* READABLE: read everything at once */
    uint64_t read;
    int synack_ws;
    uint16_t synack_wnd;
} R;

static uint8_t zeros[SEG];

static void r_on_event(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct rte_mbuf *m;

    (void)arg;
    if (ev == TCP_EV_ESTABLISHED)
        R.last = c;
    if (ev == TCP_EV_READABLE && R.drain) {
        while ((m = tcp_recv(c, 1u << 20)) != NULL) {
            R.read += m->pkt_len;
            rte_pktmbuf_free(m);
        }
    }
}

static struct r_peer *r_peer_of(uint16_t sport)
{
    for (unsigned i = 0; i < R.n; i++)
        if (R.p[i].sport == sport)
            return &R.p[i];
    return NULL;
}

/* Takes every segment the stack sent since the last call: the peer learns the right
 * edges, and none may be left of one advertised before. Empties the capture. */
static void r_scan(void)
{
    struct h_out *o;

    while ((o = h_next()) != NULL) {
        struct r_peer *p = r_peer_of(o->dport);
        uint32_t wnd, edge;
        if (p == NULL || !(o->flags & TCP_ACK) || (o->flags & TCP_RST))
            continue;
        wnd = (o->flags & TCP_SYN) || p->c == NULL ? o->wnd : (uint32_t)o->wnd << p->c->rcv_wscale;
        edge = o->ack + wnd;
        if (p->edge != 0)
            cr_assert(SEQ_GEQ(edge, p->edge), "port %u: right edge %u left of %u advertised",
                      p->sport, edge, p->edge);
        if (p->edge == 0 || SEQ_GT(edge, p->edge))
            p->edge = edge;
        if (wnd > p->max_wnd)
            p->max_wnd = wnd;
        if (!(o->flags & TCP_SYN))
            p->acks++;
    }
    H.n_out = H.seen = 0;
}

/* Passive open from port sport (window scale ws, -1 none) with a round trip of RTT_MS
 * between the SYN-ACK and the ACK (the connection's RTT sample). */
static struct r_peer *r_open(uint16_t sport, int ws)
{
    struct r_peer *p = &R.p[R.n++];
    struct h_out *o;

    cr_assert_leq(R.n, R_MAX);
    if (tcp_tcb_listener(H.st, ip4(H_LOCAL), H_LPORT) == NULL)
        cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, r_on_event, NULL), 0);
    *p = (struct r_peer){.sport = sport, .nxt = PEER_ISN + 1};
    r_scan();
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 65535,
                                      .mss = 1460, .wscale = ws, .sport = sport}), DROP_NONE);
    o = &H.out[0];
    cr_assert_eq(H.n_out, 1);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    R.synack_ws = o->wscale;
    R.synack_wnd = o->wnd;
    r_scan();
    h_advance(RTT_MS);
    R.last = NULL;
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK,
                                      .wnd = 65535, .sport = sport}), DROP_NONE);
    cr_assert_not_null(R.last, "established");
    p->c = R.last;
    return p;
}

/* One round trip: every peer sends, in full segments, what the window it knew at the
 * start allows (at most max bytes); then RTT_MS pass. */
static void r_round(uint32_t max)
{
    uint32_t edge[R_MAX];

    for (unsigned i = 0; i < R.n; i++)
        edge[i] = R.p[i].edge;
    for (unsigned i = 0; i < R.n; i++) {
        struct r_peer *p = &R.p[i];
        uint32_t sent = 0;
        if (p->c == NULL)
            continue;
        while (sent + SEG <= max && SEQ_LEQ(p->nxt + SEG, edge[i])) {
            cr_assert_eq(h_in(&(struct h_seg){.seq = p->nxt, .ack = ISS + 1, .flags = TCP_ACK,
                                              .wnd = 65535, .data = zeros, .len = SEG,
                                              .sport = p->sport}), DROP_NONE);
            p->nxt += SEG;
            sent += SEG;
        }
        r_scan();
    }
    h_advance(RTT_MS);
    r_scan();
}

/* The stack's gauge is the sum of the buffers of the connections it counts. */
static void r_check_sum(void)
{
    uint64_t sum = 0;

    for (unsigned i = 0; i < R.n; i++)
        if (R.p[i].c != NULL && (R.p[i].c->flags & TCPF_RCVBUF))
            sum += R.p[i].c->rcvbuf;
    cr_assert_eq(H.st->rcvbuf_bytes, sum);
}

static void r_reset(void)
{
    memset(&R, 0, sizeof(R));
}

Test(tcp_rcvbuf, the_buffer_grows_when_the_user_drains_it_within_a_round_trip)
{
    struct r_peer *p;
    uint32_t prev;

    r_reset();
    h_start();
    p = r_open(1001, 7);
    cr_assert_eq(R.synack_ws, 7, "the window scale is sized for the 4 MB maximum");
    cr_assert_eq(R.synack_wnd, 65535, "the SYN-ACK offers the initial 64 KB");
    cr_assert_eq(p->c->rcvbuf, 64 * 1024);
    cr_assert_eq(H.st->rcvbuf_bytes, 64 * 1024);
    R.drain = 1;
    prev = p->c->rcvbuf;
    for (int i = 0; i < 12; i++) {
        r_round(UINT32_MAX);
        cr_assert_geq(p->c->rcvbuf, prev, "never smaller");
        prev = p->c->rcvbuf;
        r_check_sum();
    }
    cr_assert_geq(p->c->rcvbuf, 1024 * 1024, "grew to %u", p->c->rcvbuf);
    cr_assert_geq(p->max_wnd, 1024 * 1024, "and was advertised (%u)", p->max_wnd);
    cr_assert_geq(H.st->stats.rcvbuf_grown, 4);
    cr_assert_eq(H.st->stats.rcvbuf_capped, 0, "one connection, far from the budget");
    cr_assert_eq(R.read, p->nxt - (PEER_ISN + 1), "everything read");
    /* The peer's FIN: the buffer leaves the share. */
    h_in(&(struct h_seg){.seq = p->nxt, .ack = ISS + 1, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 65535, .sport = p->sport});
    cr_assert_eq(H.st->rcv_conns, 0);
    cr_assert_eq(H.st->rcvbuf_bytes, 0);
}

Test(tcp_rcvbuf, the_buffer_stays_when_the_user_does_not_drain_it)
{
    struct r_peer *p, *q;

    r_reset();
    h_start();
    p = r_open(1001, 7);                /* never read */
    q = r_open(1002, 7);                /* read at most 2,000 bytes a round trip */
    for (int i = 0; i < 20; i++) {
        struct rte_mbuf *m;
        r_round(UINT32_MAX);
        m = tcp_recv(q->c, 2000);
        if (m != NULL) {
            R.read += m->pkt_len;
            rte_pktmbuf_free(m);
        }
    }
    cr_assert_eq(p->c->rcvbuf, 64 * 1024);
    cr_assert_eq(q->c->rcvbuf, 64 * 1024);
    cr_assert_eq(H.st->stats.rcvbuf_grown, 0);
    cr_assert_eq(tcp_recv_bytes(p->c), p->nxt - (PEER_ISN + 1), "held, window closed");
    /* Beyond the buffer only what rounding the right edge up to the scale (1 << 7)
     * adds: the window is kept, never shrunk, so each ACK may move the edge by up to
     * 127 bytes (as Linux's ALIGN of the current window; RFC 7323 section 2.4). */
    cr_assert_leq(p->nxt - (PEER_ISN + 1), 64 * 1024 + p->acks * 127, "the peer sent %u",
                  p->nxt - (PEER_ISN + 1));
    cr_assert(R.read >= 20 * 1000 && R.read <= 20 * 2000, "read %lu (whole segments)",
              (unsigned long)R.read);
    r_check_sum();
}

Test(tcp_rcvbuf, growth_stops_at_the_maximum)
{
    struct r_peer *p, *q;

    H.conf.rcvbuf = 256 * 1024;
    r_reset();
    h_start();
    p = r_open(1001, 7);
    cr_assert_eq(R.synack_ws, 3, "the window scale is sized for the maximum (256 KB)");
    q = r_open(1002, -1);               /* no window scaling: 64 KB is the most */
    R.drain = 1;
    for (int i = 0; i < 20; i++) {
        r_round(UINT32_MAX);
        cr_assert_leq(p->c->rcvbuf, 256 * 1024);
    }
    cr_assert_eq(p->c->rcvbuf, 256 * 1024, "at the maximum: %u", p->c->rcvbuf);
    cr_assert_leq(p->max_wnd, 256 * 1024 + (1u << 3), "never advertised beyond it (%u)",
                  p->max_wnd);
    cr_assert_eq(q->c->rcvbuf, 64 * 1024, "unscaled: no growth");
    cr_assert_leq(q->max_wnd, 65535);
    cr_assert_eq(H.st->stats.rcvbuf_capped, 0, "the maximum is no refusal");
    r_check_sum();
}

/*
 * A budget of 400 segments (584,000 bytes): one connection alone grows to all of it;
 * a second one still gets its initial window, and once the first is trimmed to half
 * of it at its next round trip, the second grows into the half left; with eight, no
 * connection keeps more than an eighth (never less than the initial 64 KB), however
 * fast it is drained, and none of the advertised windows ever shrinks.
 */
Test(tcp_rcvbuf, a_fair_share_of_the_budget)
{
    struct r_peer *a, *b;
    uint64_t budget;

    H.conf.max_buf_segs = 400;
    r_reset();
    h_start();
    budget = H.st->buf_budget;
    cr_assert_eq(budget, 400 * 1460);
    a = r_open(1001, 7);
    R.drain = 1;
    for (int i = 0; i < 16; i++)
        r_round(UINT32_MAX);
    cr_assert_eq(a->c->rcvbuf, budget, "alone: the whole budget (%u)", a->c->rcvbuf);
    cr_assert_geq(H.st->stats.rcvbuf_capped, 1, "and no more: refused");
    /* A second connection: its initial window whatever the budget says. */
    b = r_open(1002, 7);
    cr_assert_eq(R.synack_wnd, 65535);
    cr_assert_eq(b->c->rcvbuf, 64 * 1024);
    cr_assert_gt(H.st->rcvbuf_bytes, budget, "the floor is never refused");
    cr_assert_eq(tcp_budget_share(H.st, H.st->conf.rcvbuf_init), budget / 2);
    for (int i = 0; i < 16; i++) {
        r_round(UINT32_MAX);
        r_check_sum();
    }
    cr_assert_eq(a->c->rcvbuf, budget / 2, "trimmed to its share: %u", a->c->rcvbuf);
    cr_assert_geq(H.st->stats.rcvbuf_trimmed, 1);
    cr_assert_gt(b->c->rcvbuf, 64 * 1024, "the second grew into what the first gave back");
    cr_assert_leq(b->c->rcvbuf, budget / 2);
    cr_assert_leq(H.st->rcvbuf_bytes, budget);
    /* Six more: every new one starts at 64 KB; nobody keeps more than an eighth. */
    for (uint16_t s = 1003; s < 1009; s++) {
        struct r_peer *p = r_open(s, 7);
        cr_assert_eq(R.synack_wnd, 65535);
        cr_assert_eq(p->c->rcvbuf, 64 * 1024);
    }
    for (int i = 0; i < 16; i++) {
        r_round(UINT32_MAX);
        r_check_sum();
    }
    cr_assert_eq(tcp_budget_share(H.st, H.st->conf.rcvbuf_init), budget / 8);
    for (unsigned i = 0; i < R.n; i++) {
        cr_assert_leq(R.p[i].c->rcvbuf, budget / 8, "port %u: %u", R.p[i].sport,
                      R.p[i].c->rcvbuf);
        cr_assert_geq(R.p[i].c->rcvbuf, 64 * 1024);
        cr_assert_gt(R.p[i].nxt - (PEER_ISN + 1), 16 * 64 * 1024 / 2, "port %u moved data",
                     R.p[i].sport);
    }
    cr_assert_leq(H.st->rcvbuf_bytes, budget);
    /* Every FIN: nothing left counted. */
    for (unsigned i = 0; i < R.n; i++)
        h_in(&(struct h_seg){.seq = R.p[i].nxt, .ack = ISS + 1, .flags = TCP_ACK | TCP_FIN,
                             .wnd = 65535, .sport = R.p[i].sport});
    cr_assert_eq(H.st->rcv_conns, 0);
    cr_assert_eq(H.st->rcvbuf_bytes, 0);
}

/*
 * The worker's segment budget spent, in-order data arrives: the connection's
 * out-of-order runs are dropped, the highest first, to make room, and the in-order
 * data is taken (before, it was dropped and the hole stayed). The SACK blocks then
 * no longer show what was pruned.
 */
Test(tcp_rcvbuf, in_order_data_prunes_out_of_order_data_first)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint8_t d[1000] = {0};
    uint32_t b = PEER_ISN + 1;

    H.conf.max_buf_segs = 7;
    H.peer_sack = 1;
    h_start();
    c = h_accept(7, 65535);
    /* Six runs of one segment each after holes: 2, 4, ..., 12 (x 1,000 bytes). */
    for (uint32_t k = 2; k <= 12; k += 2)
        h_in(&(struct h_seg){.seq = b + 1000 * k, .ack = ISS + 1, .flags = TCP_ACK,
                             .wnd = 65535, .data = d, .len = 1000});
    cr_assert_eq(c->ooo->n, 6);
    cr_assert_eq(H.st->buf_segs, 6);
    /* Segment 0: fits (7 of 7). Segment 1: the run at 12 goes for it. */
    h_in(&(struct h_seg){.seq = b, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 65535,
                         .data = d, .len = 1000});
    cr_assert_eq(H.st->buf_segs, 7);
    h_skip_out();
    h_in(&(struct h_seg){.seq = b + 1000, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 65535,
                         .data = d, .len = 1000});
    cr_assert_eq(H.st->stats.rcv_mem_dropped, 0, "the in-order data was taken");
    cr_assert_eq(H.st->stats.ooo_pruned, 1);
    cr_assert_eq(c->rcv_nxt, b + 3000, "and the run at 2 joined it");
    cr_assert_eq(c->ooo->n, 4, "4, 6, 8, 10 held");
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, b + 3000);
    for (unsigned i = 0; i < o->n_sack; i++)
        cr_assert(SEQ_LEQ(o->sack[2 * i + 1], b + 11000), "no SACK of the pruned run");
    cr_assert_eq(H.st->buf_segs, 7);
    /* Nothing out of order left to prune: in-order data beyond the budget is dropped. */
    rte_pktmbuf_free(tcp_recv(c, 3000));
    h_in(&(struct h_seg){.seq = b + 3000, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 65535,
                         .data = d, .len = 1000});
    cr_assert_eq(c->rcv_nxt, b + 5000, "3 in, 4 after it");
    cr_assert_eq(H.st->stats.ooo_pruned, 1, "room without pruning");
}
