/*
 * The TCP stack on crafted segments: every state transition, RST/SYN/FIN edge
 * cases, wrap-around, window scaling, retransmission timing, fast retransmit,
 * reassembly, SYN cookies, caps.
 */
#include "err.h"
#include "tcp/tcp_budget.h"
#include "tcp/tcp_rcvbuf.h"
#include "tcp/tcp_sack.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_testsvc.h"
#include "tcp/tcp_timer.h"

#include "tcp_harness.h"

TestSuite(tcp, .init = h_setup, .fini = h_teardown);

#define ISS 1000000u

Test(tcp, passive_open_negotiates_mss_and_window_scale)
{
    struct h_out *o;
    struct tcp_conn *c;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), LBD_EEXIST);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000,
                                      .mss = 1400, .wscale = 7}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(o->seq, ISS);
    cr_assert_eq(o->ack, PEER_ISN + 1);
    cr_assert_eq(o->mss, 1460);
    cr_assert_eq(o->wscale, 7, "a 4 MB maximum receive buffer needs shift 7");
    cr_assert_eq(o->sport, H_LPORT);
    cr_assert_eq(o->dport, H_PPORT);
    cr_assert_eq(H.n_ev, 0, "no event before the handshake completes");
    cr_assert_eq(H.st->n_state[TCP_SYN_RECEIVED], 1);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK,
                                      .wnd = 100}), DROP_NONE);
    cr_assert_eq(H.n_ev, 1);
    cr_assert_eq(H.ev[0], TCP_EV_ESTABLISHED);
    c = H.conn;
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert_eq(c->mss, 1400, "send MSS is the peer's when smaller");
    cr_assert_eq(c->snd_wscale, 7);
    cr_assert_eq(c->snd_wnd, 100u << 7, "windows after the SYN are scaled");
    cr_assert_eq(h_pending_out(), 0, "the final ACK is not answered");
    cr_assert_eq(H.st->stats.passive_opens, 1);
}

Test(tcp, no_window_scale_when_the_peer_offers_none)
{
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, 0, H_LPORT, 0, h_on_event, NULL), 0);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 8192,
                                      .wscale = -1}), DROP_NONE);
    o = h_next();
    cr_assert_eq(o->wscale, -1, "no window scale option in the SYN-ACK");
    cr_assert_eq(o->mss, 1460);
    cr_assert_eq(o->wnd, 65535);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK,
                                      .wnd = 8192}), DROP_NONE);
    cr_assert_eq(H.conn->mss, 536, "RFC 9293 default MSS without the option");
    cr_assert_eq(H.conn->snd_wscale, 0);
    cr_assert_eq(H.conn->rcv_wscale, 0);
    cr_assert_eq(H.conn->snd_wnd, 8192);
}

/* The port filter of the next test: every port of H_LOCAL below *arg is taken. */
static bool ports_below_taken(void *arg, uint32_t laddr, uint16_t lport)
{
    return laddr == ip4(H_LOCAL) && lport < *(const uint16_t *)arg;
}

Test(tcp, active_open_skips_ports_the_filter_says_are_taken)
{
    static uint16_t below;
    struct tcp_conn *c;

    H.conf.port_lo = 40000;
    H.conf.port_hi = 40009;
    h_start();
    below = 40005;
    tcp_stack_set_port_filter(H.st, ports_below_taken, &below);
    for (uint16_t want = 40005; want <= 40009; want++) {
        cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
        cr_assert_geq(c->key.lport, 40005, "a port a service of the address has is skipped");
    }
    below = 65535;
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8081, h_on_event, NULL, &c),
                 LBD_EBUSY, "every port taken: refused");
    cr_assert_eq(H.st->stats.refused_ports, 1);
}

Test(tcp, active_open_uses_an_owner_encoded_port)
{
    struct tcp_conn *c, *c2;
    struct h_out *o;

    H.conf.n_workers = 4;
    H.conf.worker_id = 2;
    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
    cr_assert_eq(c->key.lport % 4, 2);
    cr_assert_geq(c->key.lport, H.conf.port_lo);
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN);
    cr_assert_eq(o->seq, ISS);
    cr_assert_eq(o->mss, 1460);
    cr_assert_eq(o->wscale, 7);
    cr_assert_eq(o->dport, 8080);
    cr_assert_eq(tcp_conn_state(c), TCP_SYN_SENT);
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c2), 0);
    cr_assert_neq(c2->key.lport, c->key.lport);
    cr_assert_eq(c2->key.lport % 4, 2);
    h_skip_out();
    /* SYN-ACK from the peer. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 9000, .ack = ISS + 1, .flags = TCP_SYN | TCP_ACK,
                                      .wnd = 30000, .mss = 1200, .wscale = 2, .sport = 8080,
                                      .dport = c->key.lport}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK);
    cr_assert_eq(o->seq, ISS + 1);
    cr_assert_eq(o->ack, 9001);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert_eq(H.ev[0], TCP_EV_ESTABLISHED);
    cr_assert_eq(H.ev_conn[0], c);
    cr_assert_eq(c->mss, 1200);
    cr_assert_eq(c->snd_wnd, 30000, "the window in a SYN is never scaled");
    cr_assert_eq(c->cwnd, 10 * 1200, "IW10 (RFC 6928)");
}

Test(tcp, connection_refused_by_rst)
{
    struct tcp_conn *c;

    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 81, h_on_event, NULL, &c), 0);
    /* A RST whose ACK does not acknowledge our SYN is ignored. */
    cr_assert_eq(h_in(&(struct h_seg){.ack = ISS + 7, .flags = TCP_RST | TCP_ACK, .sport = 81,
                                      .dport = c->key.lport}), DROP_NONE);
    cr_assert_eq(tcp_conn_state(c), TCP_SYN_SENT);
    cr_assert_eq(h_in(&(struct h_seg){.ack = ISS + 1, .flags = TCP_RST | TCP_ACK, .sport = 81,
                                      .dport = c->key.lport}), DROP_NONE);
    cr_assert_eq(h_last_ev(), TCP_EV_RESET);
    cr_assert_eq(H.st->n_conns, 0);
}

/* SYN_SENT to port 81, the SYN consumed: the connection, its start time in *t0. */
static struct tcp_conn *h_syn_sent(uint64_t *t0)
{
    struct tcp_conn *c;

    h_start();
    *t0 = h_now();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 81, h_on_event, NULL, &c), 0);
    h_skip_out();
    return c;
}

/* An ACK of an older connection (acknowledging ack) to c in SYN_SENT: a RST answers it,
 * with the ACK's number as its sequence, and nothing else goes out at once. */
static void h_old_ack(const struct tcp_conn *c, uint32_t ack)
{
    struct h_out *o;

    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .ack = ack, .flags = TCP_ACK,
                                      .sport = 81, .dport = c->key.lport}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_RST);
    cr_assert_eq(o->seq, ack, "the RST takes the ACK's number as its sequence");
    cr_assert_null(h_next());
}

/* An ACK of an older connection (a peer's TIME_WAIT that did not take the SYN): a RST
 * for it, and the SYN again after TCP_SYN_RESEND_MS, not at the 1 s initial RTO; once. */
Test(tcp, syn_sent_unacceptable_ack_draws_a_rst_and_an_early_syn_once)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint64_t t0;

    c = h_syn_sent(&t0);
    h_old_ack(c, ISS - 5000);
    h_advance(TCP_SYN_RESEND_MS - 1);
    cr_assert_eq(h_pending_out(), 0);
    h_advance(1);
    o = h_next();
    cr_assert_not_null(o, "the SYN again %u ms after the RST", TCP_SYN_RESEND_MS);
    cr_assert_eq(o->flags, TCP_SYN);
    cr_assert_eq(o->seq, ISS);
    cr_assert_eq(h_now() - t0, TCP_SYN_RESEND_MS);
    cr_assert_eq(H.st->stats.syn_bad_ack_resends, 1);
    cr_assert_eq(tcp_conn_state(c), TCP_SYN_SENT);
    /* Another such ACK: a RST, no second early SYN; the RTO (backed off: 2 s) sends it. */
    h_old_ack(c, ISS - 5000);
    h_advance(1999);
    cr_assert_eq(h_pending_out(), 0, "no early SYN the second time");
    h_advance(1);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN);
    cr_assert_eq(H.st->stats.syn_bad_ack_resends, 1);
    /* The SYN-ACK of the new connection is taken as usual. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .ack = ISS + 1, .flags = TCP_SYN | TCP_ACK,
                                      .wnd = 1000, .sport = 81, .dport = c->key.lport}),
                 DROP_NONE);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
}

/* More such ACKs before the early SYN leave its time alone: one ACK a millisecond
 * (each re-arming would put it off for ever) still has the SYN at TCP_SYN_RESEND_MS. */
Test(tcp, syn_sent_unacceptable_acks_do_not_put_off_the_early_syn)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint64_t t0;

    c = h_syn_sent(&t0);
    for (uint32_t i = 0; i < TCP_SYN_RESEND_MS; i++) {
        h_old_ack(c, ISS - 5000 - i);
        h_advance(1);
    }
    o = h_next();
    cr_assert_not_null(o, "the SYN at %u ms", TCP_SYN_RESEND_MS);
    cr_assert_eq(o->flags, TCP_SYN);
    cr_assert_eq(h_now() - t0, TCP_SYN_RESEND_MS);
    cr_assert_eq(H.st->stats.syn_bad_ack_resends, 1);
}

Test(tcp, syn_retries_then_connect_timeout)
{
    struct tcp_conn *c;
    uint64_t t0;

    H.conf.connect_timeout_ms = 0;      /* retries alone */
    H.conf.syn_retries = 3;
    h_start();
    t0 = h_now();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 81, h_on_event, NULL, &c), 0);
    h_skip_out();
    /* 1 s initial RTO, doubled each time (RFC 6298 5.5). */
    uint64_t expect[] = {1000, 3000, 7000};
    for (int i = 0; i < 3; i++) {
        h_wait_out(20000);
        struct h_out *o = h_next();
        cr_assert_not_null(o);
        cr_assert_eq(o->flags, TCP_SYN);
        cr_assert_eq(h_now() - t0, expect[i], "SYN retry %d at %lu", i,
                     (unsigned long)(h_now() - t0));
    }
    h_advance(8000);
    cr_assert_eq(h_last_ev(), TCP_EV_TIMEOUT);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->stats.timeout_connect, 1);
}

Test(tcp, connect_timeout_from_config)
{
    struct tcp_conn *c;

    H.conf.connect_timeout_ms = 2500;
    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 81, h_on_event, NULL, &c), 0);
    h_advance(2499);
    cr_assert_eq(H.n_ev, 0);
    h_advance(1);
    cr_assert_eq(h_last_ev(), TCP_EV_TIMEOUT);
    cr_assert_eq(H.st->n_conns, 0);
}

Test(tcp, simultaneous_open)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 7000, h_on_event, NULL, &c), 0);
    h_skip_out();
    /* The peer's own SYN crosses ours. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 777, .flags = TCP_SYN, .wnd = 5000, .mss = 1000,
                                      .sport = 7000, .dport = c->key.lport}), DROP_NONE);
    cr_assert_eq(tcp_conn_state(c), TCP_SYN_RECEIVED);
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(o->seq, ISS);
    cr_assert_eq(o->ack, 778);
    /* Its SYN-ACK acknowledges ours. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 778, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 5000,
                                      .sport = 7000, .dport = c->key.lport}), DROP_NONE);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert_eq(H.ev[0], TCP_EV_ESTABLISHED);
    cr_assert_eq(c->mss, 1000);
}

Test(tcp, duplicate_syn_in_syn_received_resends_syn_ack)
{
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .mss = 1460,
                         .wscale = -1});
    h_skip_out();
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .mss = 1460,
                         .wscale = -1});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(o->seq, ISS);
    cr_assert_eq(H.st->n_conns, 1);
}

Test(tcp, syn_ack_retransmitted_then_half_open_given_up)
{
    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .wscale = -1});
    h_skip_out();
    cr_assert_eq(h_wait_out(5000), 1000);
    cr_assert_eq(h_next()->flags, TCP_SYN | TCP_ACK);
    h_advance(200000);
    cr_assert_eq(H.st->n_conns, 0, "the half-open connection is freed");
    cr_assert_eq(H.n_ev, 0, "nobody was told about it");
    cr_assert_eq(H.st->listeners[0].syn_recv, 0);
}

Test(tcp, rst_in_syn_received_returns_to_listen)
{
    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .wscale = -1});
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .flags = TCP_RST});
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.n_ev, 0);
    cr_assert_eq(H.st->listeners[0].syn_recv, 0);
}

Test(tcp, bad_ack_in_syn_received_gets_rst)
{
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .wscale = -1});
    h_skip_out();
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 50, .flags = TCP_ACK, .wnd = 100});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_RST);
    cr_assert_eq(o->seq, ISS + 50);
    cr_assert_eq(H.st->n_state[TCP_SYN_RECEIVED], 1);
}

Test(tcp, segment_without_socket_gets_rst)
{
    struct h_out *o;

    h_start();
    /* SYN to a closed port: RST|ACK acknowledging it. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 42, .flags = TCP_SYN, .wnd = 1000, .wscale = -1}),
                 DROP_TCP_NO_SOCKET);
    o = h_next();
    cr_assert_eq(o->flags, TCP_RST | TCP_ACK);
    cr_assert_eq(o->seq, 0);
    cr_assert_eq(o->ack, 43);
    /* ACK without connection: RST with seq = its ACK. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 42, .ack = 99, .flags = TCP_ACK}),
                 DROP_TCP_NO_SOCKET);
    o = h_next();
    cr_assert_eq(o->flags, TCP_RST);
    cr_assert_eq(o->seq, 99);
    /* A RST is never answered. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 42, .flags = TCP_RST}), DROP_TCP_NO_SOCKET);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(H.st->stats.no_socket, 3);
}

Test(tcp, bad_checksum_is_dropped)
{
    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 1, .flags = TCP_SYN, .wscale = -1, .bad_csum = 1}),
                 DROP_TCP_BAD_CHECKSUM);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(H.st->n_conns, 0);
}

/*
 * virtio-net (and vhost) hand over a segment the sender left for checksum offload with
 * RTE_MBUF_F_RX_L4_CKSUM_NONE: the data is sound, the field holds only the
 * pseudo-header sum. The stack takes it (a software check would reject it).
 */
Test(tcp, partial_checksum_flagged_none_is_accepted)
{
    const uint64_t none = RTE_MBUF_F_RX_L4_CKSUM_NONE;
    uint8_t d[700];
    struct h_out *o;

    h_start();
    h_pattern(d, sizeof(d), 0);
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 65535,
                                      .mss = 1460, .wscale = -1, .partial_csum = 1,
                                      .ol_flags = none}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o, "a SYN-ACK for the SYN");
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(o->ack, PEER_ISN + 1);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = 65535, .partial_csum = 1, .ol_flags = none}),
                 DROP_NONE);
    cr_assert_eq(h_last_ev(), TCP_EV_ESTABLISHED);
    /* Odd-length data with a partial checksum: delivered as sent. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = 65535, .data = d, .len = 699, .partial_csum = 1,
                                      .ol_flags = none}), DROP_NONE);
    cr_assert_eq(tcp_recv_bytes(H.conn), 699);
    {
        struct rte_mbuf *m = tcp_recv(H.conn, 100000);
        uint8_t buf[699];
        cr_assert_not_null(m);
        cr_assert_eq(memcmp(rte_pktmbuf_read(m, 0, 699, buf), d, 699), 0);
        rte_pktmbuf_free(m);
    }
    cr_assert_eq(H.st->stats.bad_checksum, 0);
}

/* The port's verdict stands: BAD is dropped even when the field is right, GOOD is
 * believed; with no verdict (UNKNOWN) a wrong or partial checksum is dropped. */
Test(tcp, checksum_flags_bad_and_unknown_still_dropped)
{
    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 1, .flags = TCP_SYN, .wscale = -1,
                                      .ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD}),
                 DROP_TCP_BAD_CHECKSUM, "flagged bad, correct field");
    cr_assert_eq(h_in(&(struct h_seg){.seq = 1, .flags = TCP_SYN, .wscale = -1,
                                      .partial_csum = 1, .ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD}),
                 DROP_TCP_BAD_CHECKSUM, "flagged bad, partial field");
    cr_assert_eq(h_in(&(struct h_seg){.seq = 1, .flags = TCP_SYN, .wscale = -1, .bad_csum = 1,
                                      .ol_flags = RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN}),
                 DROP_TCP_BAD_CHECKSUM, "no verdict, wrong field");
    cr_assert_eq(h_in(&(struct h_seg){.seq = 1, .flags = TCP_SYN, .wscale = -1,
                                      .partial_csum = 1}),
                 DROP_TCP_BAD_CHECKSUM, "no verdict, partial field");
    cr_assert_eq(H.st->stats.bad_checksum, 4);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 1, .flags = TCP_SYN, .wscale = -1, .bad_csum = 1,
                                      .ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD}),
                 DROP_NONE, "flagged good: the port checked it");
    cr_assert_eq(h_next()->flags, TCP_SYN | TCP_ACK);
}

Test(tcp, receive_in_order_with_delayed_ack_and_zero_copy)
{
    uint8_t d[3000];
    struct tcp_conn *c;
    struct rte_mbuf *m;
    struct h_out *o;

    h_start();
    c = h_accept(7, 1000);
    h_pattern(d, sizeof(d), 0);
    /* One segment: the ACK waits (delayed ACK, 40 ms). Ethernet padding is ignored. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK,
                                      .wnd = 1000, .data = d, .len = 1000, .pad = 6}),
                 DROP_NONE);
    cr_assert_eq(h_last_ev(), TCP_EV_READABLE);
    cr_assert_eq(tcp_recv_bytes(c), 1000);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(h_wait_out(1000), 40);
    o = h_next();
    cr_assert_eq(o->ack, PEER_ISN + 1001);
    cr_assert_eq(o->flags, TCP_ACK);
    /* Two segments: the second is acknowledged at once. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1001, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d + 1000, .len = 1000});
    cr_assert_eq(h_pending_out(), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN + 2001, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d + 2000, .len = 1000});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, PEER_ISN + 3001);
    /* The data comes out as the very mbufs that arrived, headers cut off. */
    m = tcp_recv(c, 100000);
    cr_assert_not_null(m);
    cr_assert_eq(m->pkt_len, 3000);
    cr_assert_eq(m->nb_segs, 3);
    {
        uint8_t buf[3000];
        const void *p = rte_pktmbuf_read(m, 0, 3000, buf);
        cr_assert_eq(memcmp(p, d, 3000), 0);
    }
    cr_assert(RTE_MBUF_DIRECT(m), "no copy and no clone: the received mbuf itself");
    cr_assert_eq(m->data_off, RTE_PKTMBUF_HEADROOM + 14 + 20 + 20, "data_off %u", m->data_off);
    rte_pktmbuf_free(m);
    cr_assert_eq(H.st->buf_segs, 0);
}

/* A burst (tcp_burst_begin/end, as the worker brackets one): its in-order segments
 * are acknowledged at once every second segment (RFC 5681 4.2: no stretch ACK for a
 * burst), and data sent and shut down within it leave as one segment with the FIN at
 * its end; the same calls outside a burst send two. */
Test(tcp, a_burst_acks_every_second_segment_and_sends_the_fin_with_the_data)
{
    uint8_t d[5000];
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept(7, 1000);
    h_pattern(d, sizeof(d), 0);
    tcp_burst_begin(H.st);
    for (uint32_t i = 0; i < 5; i++) {
        cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1 + 1000 * i, .ack = ISS + 1,
                                          .flags = TCP_ACK, .wnd = 1000, .data = d + 1000 * i,
                                          .len = 1000}),
                     DROP_NONE);
        cr_assert_eq(h_pending_out(), (i + 1) / 2, "after segment %u: %u sent", i + 1,
                     h_pending_out());
    }
    for (uint32_t i = 0; i < 2; i++) {
        o = h_next();
        cr_assert_eq(o->ack, PEER_ISN + 1 + 2000 * (i + 1));
        cr_assert_eq(o->len, 0);
    }
    cr_assert_eq(tcp_send(c, h_payload(500, 0, 500)), 0);
    cr_assert_eq(tcp_shutdown(c), 0);
    cr_assert_eq(h_pending_out(), 0, "the data and the FIN wait for the burst's end");
    cr_assert_eq(H.st->stats.burst_outputs_deferred, 1);
    tcp_burst_end(H.st);
    cr_assert_eq(h_pending_out(), 1, "one segment at the end, %u sent", h_pending_out());
    o = h_next();
    cr_assert_eq(o->ack, PEER_ISN + 5001, "the fifth segment is acknowledged with the data");
    cr_assert_eq(o->len, 500);
    cr_assert_eq(o->flags, TCP_ACK | TCP_PSH | TCP_FIN);
    cr_assert_eq(tcp_conn_state(c), TCP_FIN_WAIT_1);

    /* Outside a burst each call sends at once: the data, then the FIN alone. */
    c = NULL;
    h_teardown();
    h_start();
    c = h_accept(7, 1000);
    cr_assert_eq(tcp_send(c, h_payload(500, 0, 500)), 0);
    cr_assert_eq(tcp_shutdown(c), 0);
    cr_assert_eq(h_pending_out(), 2);
    o = h_next();
    cr_assert_eq(o->flags & TCP_FIN, 0);
    o = h_next();
    cr_assert_eq(o->flags, TCP_ACK | TCP_FIN);
    cr_assert_eq(o->len, 0);
}

/* Inside a burst, each out-of-order segment still gets a duplicate ACK of its own at
 * once (a sender without SACK needs three for a fast retransmit). */
Test(tcp, a_burst_answers_each_out_of_order_segment_at_once)
{
    uint8_t d[6000];
    struct h_out *o;
    uint32_t b = PEER_ISN + 1;

    h_start();
    h_accept(7, 1000);
    H.auto_read = 1;
    h_pattern(d, sizeof(d), 0);
#define SEG(off) h_in(&(struct h_seg){.seq = b + (off), .ack = ISS + 1, .flags = TCP_ACK, \
                                      .wnd = 1000, .data = d + (off), .len = 1000})
    tcp_burst_begin(H.st);
    SEG(0);
    SEG(1000);
    cr_assert_eq(h_pending_out(), 1, "the second in-order segment is acknowledged");
    o = h_next();
    cr_assert_eq(o->ack, b + 2000);
    SEG(3000);                          /* hole at 2000..3000 */
    SEG(4000);
    SEG(5000);
    cr_assert_eq(h_pending_out(), 3, "one duplicate ACK per out-of-order segment, %u sent",
                 h_pending_out());
    for (int i = 0; i < 3; i++) {
        o = h_next();
        cr_assert_eq(o->ack, b + 2000);
        cr_assert_eq(o->len, 0);
    }
    tcp_burst_end(H.st);
    cr_assert_eq(h_pending_out(), 0, "nothing more to say at the end");
    SEG(2000);                          /* outside a burst: fills the hole */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, b + 6000);
    cr_assert_eq(H.rx_len, 6000);
#undef SEG
}

/* Inside a burst, an ACK that opens the window lets the connection send at once, as
 * outside one: a sender's reply to a burst of ACKs does not wait for the last. */
Test(tcp, a_burst_lets_each_ack_release_data_at_once)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept(-1, 1000);             /* the peer's window: one segment */
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->len, 1000);
    cr_assert_eq(h_pending_out(), 0, "window-limited");
    tcp_burst_begin(H.st);
    for (uint32_t i = 1; i <= 2; i++) {
        cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1 + 1000 * i,
                                          .flags = TCP_ACK, .wnd = 1000}),
                     DROP_NONE);
        cr_assert_eq(h_pending_out(), 1, "ACK %u: the next segment goes at once", i);
        o = h_next();
        cr_assert_eq(o->seq, ISS + 1 + 1000 * i);
        cr_assert_eq(o->len, 1000);
    }
    tcp_burst_end(H.st);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(H.st->stats.burst_outputs_deferred, 0);
}

/* Inside a burst, data queued on a connection waits for the burst's end (a FIN may
 * follow) unless it is bulk: two full segments or more not yet sent go at once. */
Test(tcp, a_burst_holds_an_answer_but_sends_bulk_at_once)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t smss;

    h_start();
    c = h_accept(7, 1000);
    smss = tcp_output_smss(c);
    tcp_burst_begin(H.st);
    cr_assert_eq(tcp_send(c, h_payload(smss, 0, smss)), 0);
    cr_assert_eq(h_pending_out(), 0, "one segment's answer waits for the burst's end");
    cr_assert_eq(tcp_send(c, h_payload(smss, smss, smss)), 0);
    cr_assert_eq(h_pending_out(), 2, "two full segments go at once, %u sent", h_pending_out());
    cr_assert_eq(H.st->stats.burst_bulk_sends, 1);
    for (uint32_t i = 0; i < 2; i++) {
        o = h_next();
        cr_assert_eq(o->seq, ISS + 1 + smss * i);
        cr_assert_eq(o->len, smss);
    }
    cr_assert_eq(tcp_send(c, h_payload(100, 2 * smss, 100)), 0);
    cr_assert_eq(tcp_shutdown(c), 0);
    cr_assert_eq(h_pending_out(), 0);
    tcp_burst_end(H.st);
    cr_assert_eq(h_pending_out(), 1, "the tail and the FIN in one segment at the end");
    o = h_next();
    cr_assert_eq(o->len, 100);
    cr_assert_eq(o->flags, TCP_ACK | TCP_PSH | TCP_FIN);
}

Test(tcp, recv_splits_a_segment_without_copy)
{
    uint8_t d[1000];
    struct tcp_conn *c;
    struct rte_mbuf *m;

    h_start();
    c = h_accept(-1, 1000);
    h_pattern(d, sizeof(d), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d, .len = 1000});
    m = tcp_recv(c, 300);
    cr_assert_eq(m->pkt_len, 300);
    cr_assert(RTE_MBUF_CLONED(m), "an indirect mbuf on the received buffer");
    cr_assert_eq(memcmp(rte_pktmbuf_mtod(m, void *), d, 300), 0);
    rte_pktmbuf_free(m);
    m = tcp_recv(c, 1000);
    cr_assert_eq(m->pkt_len, 700);
    cr_assert_eq(memcmp(rte_pktmbuf_mtod(m, void *), d + 300, 700), 0);
    rte_pktmbuf_free(m);
    cr_assert_null(tcp_recv(c, 1000));
}

Test(tcp, out_of_order_segments_are_reassembled)
{
    uint8_t d[5000];
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept(7, 1000);
    H.auto_read = 1;
    h_pattern(d, sizeof(d), 0);
    uint32_t b = PEER_ISN + 1;
#define SEG(o, n) h_in(&(struct h_seg){.seq = b + (o), .ack = ISS + 1, .flags = TCP_ACK, \
                                       .wnd = 1000, .data = d + (o), .len = (n)})
    SEG(2000, 1000);                    /* hole at 0..2000 */
    o = h_next();
    cr_assert_not_null(o, "an out-of-order segment is acknowledged at once");
    cr_assert_eq(o->ack, b);
    SEG(4000, 1000);
    SEG(2500, 1000);                    /* overlaps 2000..3000 and fills 3000..3500 */
    SEG(4000, 1000);                    /* duplicate */
    SEG(1000, 500);
    cr_assert_eq(H.rx_len, 0);
    /* Runs, not segments: 1000..1500, 2000..3500 (2500.. joined its predecessor), 4000..5000. */
    cr_assert_eq(c->ooo->n, 3);
    h_skip_out();
    SEG(0, 1200);                       /* fills 0..1200, 1000..1500 is held */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, b + 1500, "up to the next hole (1500..2000)");
    SEG(1400, 1700);                    /* 1400..3100 fills 1500..2000 */
    o = h_next();
    cr_assert_eq(o->ack, b + 3500);
    SEG(3400, 700);                     /* 3400..4100 fills the last hole */
    o = h_next();
    cr_assert_eq(o->ack, b + 5000);
    cr_assert_eq(H.rx_len, 5000);
    cr_assert_eq(memcmp(H.rx_buf, d, 5000), 0, "bytes in order, exactly once");
    cr_assert_null(c->ooo, "the reassembly block went back to the pool");
    cr_assert_eq(H.st->buf_segs, 0);
#undef SEG
}

Test(tcp, out_of_order_queue_is_bounded)
{
    uint8_t d[100] = {0};
    struct tcp_conn *c;

    h_start();
    c = h_accept(7, 1000);
    for (unsigned i = 0; i < TCP_OOO_MAX + 10; i++)
        h_in(&(struct h_seg){.seq = PEER_ISN + 1 + 200 * (i + 1), .ack = ISS + 1,
                             .flags = TCP_ACK, .wnd = 1000, .data = d, .len = 100});
    cr_assert_eq(c->ooo->n, TCP_OOO_MAX);
    cr_assert_eq(H.st->stats.ooo_dropped, 10);
}

Test(tcp, a_window_of_segments_behind_one_hole_is_held_whole)
{
    static uint8_t d[200 * 100];
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t b = PEER_ISN + 1;

    H.conf.rcvbuf = sizeof(d);
    h_start();
    c = h_accept(7, 1000);
    H.auto_read = 1;
    h_pattern(d, sizeof(d), 0);
    /* The first segment is lost; the 199 after it come, some in reverse, some twice. */
    for (uint32_t i = 1; i < 200; i++) {
        uint32_t k = i < 100 ? i : 299 - i;     /* 1..99, then 199 down to 100 */
        h_in(&(struct h_seg){.seq = b + 100 * k, .ack = ISS + 1, .flags = TCP_ACK,
                             .wnd = 1000, .data = d + 100 * k, .len = 100});
        if (i % 50 == 0)
            h_in(&(struct h_seg){.seq = b + 100 * k, .ack = ISS + 1, .flags = TCP_ACK,
                                 .wnd = 1000, .data = d + 100 * k, .len = 100});
    }
    cr_assert_eq(H.st->stats.ooo_dropped, 0, "nothing thrown away");
    cr_assert_leq(c->ooo->n, 2, "two runs at most (one once the reversed half joins)");
    h_skip_out();
    h_in(&(struct h_seg){.seq = b, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d, .len = 100});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, b + sizeof(d), "the hole filled, everything acknowledged");
    cr_assert_eq(H.rx_len, sizeof(d));
    cr_assert_eq(memcmp(H.rx_buf, d, sizeof(d)), 0, "bytes in order, exactly once");
    cr_assert_null(c->ooo);
    cr_assert_eq(H.st->buf_segs, 0, "every segment accounted for");
}

Test(tcp, data_outside_the_window_is_trimmed_or_refused)
{
    uint8_t d[1800] = {0};
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.rcvbuf = 3000;
    h_start();
    c = h_accept(-1, 1000);
    cr_assert_eq(c->rcv_adv - c->rcv_nxt, 3000);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d, .len = 1500});
    h_in(&(struct h_seg){.seq = PEER_ISN + 1501, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d, .len = 1800});
    cr_assert_eq(tcp_recv_bytes(c), 3000, "the part beyond the window is cut");
    cr_assert_eq(h_pending_out(), 1, "a trimmed segment is acknowledged at once");
    o = h_next();
    cr_assert_eq(o->ack, PEER_ISN + 3001);
    cr_assert_eq(o->wnd, 0, "zero window when the buffer is full");
    /* Data into a zero window: not acceptable, answered by an ACK. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 3001, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d, .len = 10});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, PEER_ISN + 3001);
    cr_assert_eq(tcp_recv_bytes(c), 3000);
    /* Reading opens the window: a window update goes out. */
    rte_pktmbuf_free(tcp_recv(c, 3000));
    o = h_next();
    cr_assert_not_null(o, "window update after the reader made room");
    cr_assert_eq(o->wnd, 3000);
}

/* ---- sending ---- */

/* Accepts with the given peer window and returns the connection, output consumed. */
static struct tcp_conn *h_accept_quiet(int ws, uint16_t wnd)
{
    struct tcp_conn *c = h_accept(ws, wnd);
    h_skip_out();
    return c;
}

Test(tcp, send_segments_by_mss_within_cwnd_and_window)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(20000, 0, 2000)), 0);
    /* IW10: 10 segments of 1460. */
    cr_assert_eq(h_pending_out(), 10);
    for (unsigned i = 0; i < 10; i++) {
        uint8_t want[1460];
        o = h_next();
        cr_assert_eq(o->seq, ISS + 1 + 1460 * i);
        cr_assert_eq(o->len, 1460);
        cr_assert_eq(o->ack, PEER_ISN + 1);
        h_pattern(want, 1460, 1460 * i);
        cr_assert_eq(memcmp(o->data, want, 1460), 0);
    }
    /* One ACK for two segments: slow start opens cwnd by the two MSS acknowledged
     * (RFC 3465), 4 more go out. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1 + 2920, .flags = TCP_ACK,
                         .wnd = 65535});
    cr_assert_eq(h_pending_out(), 4);
    cr_assert_eq(c->cwnd, 12 * 1460);
    h_skip_out();
    /* The peer's window limits: shrink it to what is in flight. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1 + 2920 * 2, .flags = TCP_ACK,
                         .wnd = (uint16_t)((11 * 1460) >> 7)});
    cr_assert_leq(c->snd_nxt - c->snd_una, c->snd_wnd);
}

Test(tcp, sender_fills_small_segments_only_at_the_end)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(100, 0, 100)), 0);
    o = h_next();
    cr_assert_eq(o->len, 100, "no Nagle: a lone small write goes out");
    cr_assert(o->flags & TCP_PSH);
    cr_assert_eq(tcp_send(c, h_payload(3000, 100, 1000)), 0);
    cr_assert_eq(h_pending_out(), 3);
    cr_assert_eq(h_next()->len, 1460, "full segments first, across the mbufs of the write");
    cr_assert_eq(h_next()->len, 1460);
    cr_assert_eq(h_next()->len, 80);
}

Test(tcp, send_buffer_is_bounded)
{
    struct tcp_conn *c;
    struct rte_mbuf *m;

    H.conf.sndbuf = 4000;
    h_start();
    c = h_accept_quiet(-1, 0);
    cr_assert_eq(tcp_send_space(c), 4000);
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    m = h_payload(1001, 0, 1001);
    cr_assert_eq(tcp_send(c, m), LBD_EBUSY, "over the buffer: refused, caller keeps m");
    rte_pktmbuf_free(m);
    cr_assert_eq(tcp_send_space(c), 1000);
}

Test(tcp, retransmission_timeout_backs_off_then_gives_up)
{
    struct tcp_conn *c;
    uint64_t t, gaps[16];
    unsigned n = 0;

    H.conf.max_retries = 5;
    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(c->rto, 200, "one RTT sample of 0 ms: RTO is the 200 ms floor");
    cr_assert_eq(tcp_send(c, h_payload(1000, 0, 1000)), 0);
    h_skip_out();
    t = h_now();
    while (n < 6) {
        uint64_t w = h_wait_out(100000);
        struct h_out *o = h_next();
        if (o == NULL)
            break;
        gaps[n++] = w;
        if (o->flags & TCP_RST)
            break;
        cr_assert_eq(o->seq, ISS + 1, "retransmits the first unacknowledged byte");
        cr_assert_eq(o->len, 1000);
    }
    (void)t;
    cr_assert_eq(gaps[0], 200);
    cr_assert_eq(gaps[1], 400);
    cr_assert_eq(gaps[2], 800);
    cr_assert_eq(gaps[3], 1600);
    cr_assert_eq(gaps[4], 3200);
    /* The sixth expiry gives up: RST, TIMEOUT, everything freed. */
    cr_assert_eq(gaps[5], 6400);
    cr_assert_eq(H.out[H.n_out - 1].flags, TCP_RST | TCP_ACK);
    cr_assert_eq(h_last_ev(), TCP_EV_TIMEOUT);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->buf_segs, 0);
    cr_assert_eq(H.st->stats.timeout_retrans, 1);
    cr_assert_eq(H.wheel.pending, 0, "no timer left behind");
}

/*
 * The lab's request burst (tests/lab/t_burst.sh): a proxied answer is queued as the
 * real server's segments came, e.g. 141 bytes of headers and then 1460 of body. The
 * client's ACKs are lost; the RTO resends from snd_una one MSS, which now ends 1319
 * bytes into the second queued segment: a payload chain with an odd-length first
 * part. DPDK 22.11's rte_ipv4_udptcp_cksum_mbuf got that checksum wrong, the client
 * dropped every retransmission and the request was never answered.
 */
Test(tcp, retransmission_across_odd_length_queued_segments_has_a_good_checksum)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint8_t want[1460];

    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(141, 0, 141)), 0);
    cr_assert_eq(tcp_send(c, h_payload(1460, 141, 1460)), 0);
    cr_assert_eq(tcp_send(c, h_payload(1461, 1601, 1461)), 0);
    cr_assert_geq(h_pending_out(), 3, "sent as queued");
    h_skip_out();
    h_wait_out(1000);
    o = h_next();
    cr_assert_not_null(o, "the RTO resends");
    /* h_tx verified the checksum over the flat bytes. */
    cr_assert_eq(o->seq, ISS + 1);
    cr_assert_eq(o->len, 1460, "one MSS across the 141- and the 1460-byte segments");
    h_pattern(want, 1460, 0);
    cr_assert_arr_eq(o->data, want, 1460);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    /* The go-back-N goes on at odd offsets once the first part is acknowledged. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1 + 1460,
                                      .flags = TCP_ACK, .wnd = 65535}), DROP_NONE);
    h_advance(0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, ISS + 1 + 1460);
    cr_assert_eq(o->len, 1460, "the last 141 bytes of the second segment, 1319 of the third");
    h_pattern(want, 1460, 1460);
    cr_assert_arr_eq(o->data, want, 1460);
}

Test(tcp, rto_follows_rtt_samples_and_karn)
{
    struct tcp_conn *c;

    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(1000, 0, 1000)), 0);
    h_skip_out();
    h_advance(150);                     /* RTT 150 ms */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1001, .flags = TCP_ACK,
                         .wnd = 65535});
    /* RFC 6298 2.3 after samples 0 and 150: SRTT 18.75, RTTVAR 37.5, RTO floor 200 */
    cr_assert_eq(H.st->stats.rtt_samples, 2, "samples %lu", H.st->stats.rtt_samples);
    cr_assert_eq(c->srtt >> 3, 18);
    cr_assert_eq(c->rttvar, 150, "4 * RTTVAR");
    cr_assert_eq(c->rto, 200);
    cr_assert_eq(tcp_send(c, h_payload(1000, 1000, 1000)), 0);
    h_skip_out();
    h_advance(150);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2001, .flags = TCP_ACK,
                         .wnd = 65535});
    /* SRTT 18.75 + (150 - 18.75) / 8 = 35.2; 4 * RTTVAR = 4 * (3/4 * 37.5 + 131.25 / 4) */
    cr_assert_eq(c->srtt >> 3, 35);
    cr_assert_eq(c->rto, 35 + 245);
    /* A retransmitted segment gives no sample (Karn). */
    cr_assert_eq(tcp_send(c, h_payload(1000, 2000, 1000)), 0);
    h_skip_out();
    h_wait_out(10000);
    cr_assert_eq(h_next()->seq, ISS + 2001);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 3001, .flags = TCP_ACK,
                         .wnd = 65535});
    cr_assert_eq(H.st->stats.rtt_samples, 3);
    cr_assert_eq(c->rexmt_shift, 0, "an ACK of new data resets the backoff");
}

Test(tcp, fast_retransmit_and_newreno_recovery)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;

    h_start();
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_set_cc(c, TCP_CC_NEWRENO), 0);
    cr_assert_eq(tcp_send(c, h_payload(10 * mss, 0, 2000)), 0);
    cr_assert_eq(h_pending_out(), 10);
    h_skip_out();
#define ACK(a) h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = (a), .flags = TCP_ACK, \
                                    .wnd = 65535})
    /* Segment 2 is lost: segment 1 is acknowledged, then three duplicates. */
    ACK(una + mss);
    h_skip_out();                       /* slow start sent new segments */
    uint32_t flight = c->snd_max - c->snd_una;
    ACK(una + mss);
    ACK(una + mss);
    cr_assert_eq(h_pending_out(), 0, "two duplicates: nothing yet");
    ACK(una + mss);
    o = h_next();
    cr_assert_not_null(o, "third duplicate ACK: fast retransmit");
    cr_assert_eq(o->seq, una + mss);
    cr_assert_eq(o->len, mss);
    cr_assert(c->flags & TCPF_RECOVERY);
    cr_assert_eq(c->ssthresh, flight / 2);
    cr_assert_eq(c->recover, c->snd_max);
    cr_assert_eq(H.st->stats.fast_retrans, 1);
    /* PRR (RFC 6937) instead of RFC 6582's inflation: RecoverFS = flight (9 MSS), the
     * duplicates count 3 MSS delivered, pipe = 6 MSS > ssthresh (4.5 MSS): sndcnt =
     * ceil(prr_delivered * ssthresh / RecoverFS) - prr_out = ceil(0.5 MSS) - 1 MSS < 0:
     * nothing beyond the retransmission; cwnd = flight + sndcnt. */
    cr_assert_eq(c->recover_fs, flight);
    cr_assert_eq(c->nr_sacked, 3 * mss);
    cr_assert_eq(c->prr_out, mss);
    cr_assert_eq(c->prr_delivered, mss, "the duplicate that began the recovery");
    cr_assert_eq(c->cwnd, flight);
    /* Fourth duplicate: 2 MSS delivered, pipe 5 MSS, still 0. */
    ACK(una + mss);
    cr_assert_eq(c->prr_delivered, 2 * mss);
    cr_assert_eq(c->cwnd, flight);
    /* Fifth: pipe 4 MSS <= ssthresh, PRR-SSRB: sndcnt = min(ssthresh - pipe,
     * max(prr_delivered - prr_out, delivered) + MSS) = min(0.5 MSS, 3 MSS). */
    ACK(una + mss);
    cr_assert_eq(c->nr_sacked, 5 * mss);
    cr_assert_eq(c->cwnd, flight + (flight / 2 - 4 * mss));
    h_skip_out();
    /* Partial ACK (segment 4 lost too): retransmit it at once, stay in recovery. It
     * covers the hole and segment 3, which a duplicate counted already: 1 MSS
     * delivered, nr_sacked 4 MSS. */
    ACK(una + 3 * mss);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una + 3 * mss);
    cr_assert(c->flags & TCPF_RECOVERY);
    cr_assert_eq(H.st->stats.partial_acks, 1);
    cr_assert_eq(c->nr_sacked, 4 * mss);
    cr_assert_eq(c->prr_delivered, 4 * mss);
    cr_assert_eq(c->prr_out, 2 * mss);
    /* pipe = 7 - 4 = 3 MSS: sndcnt = min(4.5 - 3, max(4 - 2, 1) + 1) MSS = 1.5 MSS. */
    cr_assert_eq(c->cwnd, c->snd_max - c->snd_una + (flight / 2 - 3 * mss));
    h_skip_out();
    /* Full ACK: recovery ends with cwnd = ssthresh (deflated). */
    ACK(c->recover);
    cr_assert(!(c->flags & TCPF_RECOVERY));
    cr_assert_leq(c->cwnd, c->ssthresh);
    cr_assert_eq(H.st->stats.fast_retrans, 1);
#undef ACK
}

/*
 * PRR (RFC 6937) in a SACK recovery: the reduction to ssthresh is spread over the
 * ACKs of the recovery. While pipe is above ssthresh, what goes out is
 * ssthresh / RecoverFS of what the ACKs report delivered; new data leaves before pipe
 * has fallen to ssthresh (cwnd = ssthresh at once would hold everything back until
 * then, and then send one for one).
 */
Test(tcp, prr_spreads_a_sack_recovery_over_the_acks)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460, hole, top, first_new_pipe = 0, rexmt_at = 0;
    bool rexmt_seen = false, in_rec = false;
    unsigned acks = 0, new_in_rec = 0;

    h_start();
    H.peer_sack = 1;
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(80 * mss, 0, 1460)), 0);
    h_skip_out();
    for (uint32_t i = 1; i <= 10; i++)
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + i * mss, .flags = TCP_ACK,
                             .wnd = 65535});
    h_skip_out();
    cr_assert_eq(c->snd_max - c->snd_una, 20 * mss, "slow start: 20 in flight");
    /* Segment 10 is lost; the peer SACKs each later one as it arrives. */
    hole = una + 10 * mss;
    top = hole + mss;
    while (acks++ < 60) {
        if (rexmt_seen && SEQ_GEQ(top, rexmt_at)) {
            /* The retransmission arrives after what was sent before it. */
            h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = top, .flags = TCP_ACK,
                                 .wnd = 65535});
            break;
        }
        if (SEQ_GEQ(top, c->snd_max))
            break;
        top += mss;
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = hole, .flags = TCP_ACK,
                             .wnd = 65535, .n_sack = 1, .sack = {hole + mss, top}});
        if (c->flags & TCPF_SACK_RECOVERY) {
            if (!in_rec) {
                in_rec = true;
                cr_assert_eq(c->recover_fs, c->recover - c->snd_una,
                             "RecoverFS = FlightSize at the start");
            }
            /* Proportional part: never more out than ssthresh / RecoverFS of what was
             * delivered (rounded up), while pipe stays above ssthresh; the fast
             * retransmission goes at once whatever the budget. */
            uint64_t budget = ((uint64_t)c->prr_delivered * c->ssthresh + c->recover_fs - 1) /
                              c->recover_fs;
            if (tcp_sack_pipe(c) > c->ssthresh)
                cr_assert_leq(c->prr_out, budget > mss ? budget : mss,
                              "prr_out %u, delivered %u", c->prr_out, c->prr_delivered);
        }
        for (o = h_next(); o != NULL; o = h_next()) {
            if (o->len == 0)
                continue;
            if (o->seq == hole) {
                rexmt_seen = true;
                rexmt_at = c->snd_max;
            } else if (in_rec && new_in_rec++ == 0) {
                first_new_pipe = tcp_sack_pipe(c);
            }
        }
    }
    cr_assert(in_rec, "SACK recovery began");
    cr_assert(rexmt_seen);
    cr_assert_gt(new_in_rec, 0, "new data during the recovery");
    cr_assert_gt(first_new_pipe, c->ssthresh,
                 "the first new segment left with pipe (%u) above ssthresh (%u)",
                 first_new_pipe, c->ssthresh);
    cr_assert(!(c->flags & TCPF_RECOVERY), "recovery over");
    cr_assert_leq(c->cwnd, c->ssthresh);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp, rto_after_loss_does_not_trigger_a_second_fast_retransmit)
{
    struct tcp_conn *c;
    uint32_t una = ISS + 1;

    h_start();
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(5 * 1460, 0, 2000)), 0);
    h_skip_out();
    h_wait_out(10000);                   /* RTO */
    cr_assert_eq(c->cwnd, c->mss);
    cr_assert_eq(c->recover, c->snd_max);
    for (int i = 0; i < 4; i++)
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una, .flags = TCP_ACK, .wnd = 65535});
    cr_assert_eq(H.st->stats.fast_retrans, 0, "RFC 6582: duplicates below recover");
}

Test(tcp, zero_window_probes_until_the_window_opens)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 0);
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 0, "zero window: nothing goes");
    cr_assert(c->flags & TCPF_PERSIST);
    uint64_t w1 = h_wait_out(100000);
    o = h_next();
    cr_assert_eq(o->seq, ISS, "probe: snd_una - 1, no data");
    cr_assert_eq(o->len, 0);
    cr_assert_eq(w1, 200);
    /* The peer answers with a zero window: probes back off. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 0});
    uint64_t w2 = h_wait_out(100000);
    cr_assert_eq(w2, 400);
    h_next();
    cr_assert_eq(H.st->stats.persist_probes, 2);
    /* The window opens: data flows. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 5000});
    cr_assert_eq(h_pending_out(), 3);
    o = h_next();
    cr_assert_eq(o->seq, ISS + 1);
    cr_assert_eq(o->len, 1460);
    cr_assert(!(c->flags & TCPF_PERSIST));
}

Test(tcp, window_scaling_both_ways)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint8_t d[1000] = {0};

    h_start();
    c = h_accept_quiet(10, 2);          /* 2 << 10 = 2048 bytes */
    cr_assert_eq(c->snd_wnd, 2048);
    cr_assert_eq(tcp_send(c, h_payload(5000, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 1, "588 more would fit, but not while data is in flight");
    cr_assert_eq(h_next()->len, 1460);
    /* Our window field is scaled by our shift (7, for the 4 MB maximum): the initial
     * 64 KB buffer, whose edge the SYN-ACK's 65535 set, less the 1000 bytes held,
     * rounded up to the shift rather than shrunk. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1 + 1460, .flags = TCP_ACK,
                         .wnd = 2, .data = d, .len = 1000});
    cr_assert_eq(h_pending_out(), 1, "the ACK rides on the next data segment");
    o = h_next();
    cr_assert_eq(o->len, 1460);
    cr_assert_eq(o->wnd, (65535 - 1000 + 127) >> 7, "wnd %u len %u seq %u", o->wnd, o->len,
                 o->seq);
}

Test(tcp, rst_validation_rfc5961)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 65535);
    uint32_t nxt = PEER_ISN + 1;
    /* Out of window: ignored silently. */
    h_in(&(struct h_seg){.seq = nxt + 1000000, .flags = TCP_RST});
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    /* In window but not exact: challenge ACK. */
    h_in(&(struct h_seg){.seq = nxt + 10, .flags = TCP_RST});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK);
    cr_assert_eq(o->ack, nxt);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert_eq(H.st->stats.challenge_acks, 1);
    /* Exact: reset. */
    h_in(&(struct h_seg){.seq = nxt, .flags = TCP_RST});
    cr_assert_eq(h_last_ev(), TCP_EV_RESET);
    cr_assert_eq(H.st->n_conns, 0);
}

Test(tcp, syn_on_established_gets_a_challenge_ack)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 65535);
    h_in(&(struct h_seg){.seq = 123456, .flags = TCP_SYN, .wscale = -1});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK);
    cr_assert_eq(o->seq, ISS + 1);
    cr_assert_eq(o->ack, PEER_ISN + 1);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
}

Test(tcp, challenge_acks_are_rate_limited)
{
    uint32_t budget;

    h_start();
    H.st->conf.challenge_ack_per_s = 5;
    H.st->conf.challenge_ack_per_conn = 20;     /* only the stack's budget counts here */
    h_accept_quiet(-1, 65535);
    h_in(&(struct h_seg){.seq = PEER_ISN + 100, .flags = TCP_RST});
    /* This second's budget is drawn in [L/2, L/2 + L): 3..7 for L = 5. */
    budget = H.st->challenge_left + 1;
    cr_assert(budget >= 3 && budget <= 7, "budget %u", budget);
    for (int i = 1; i < 20; i++)
        h_in(&(struct h_seg){.seq = PEER_ISN + 100, .flags = TCP_RST});
    cr_assert_eq(h_pending_out(), budget);
    cr_assert_eq(H.st->stats.challenge_acks, budget);
    cr_assert_eq(H.st->stats.challenge_ack_limited, 20 - budget);
    cr_assert_eq(H.st->stats.challenge_ack_conn_limited, 0);
}

/* The stack-wide budget is not a fixed number an outsider can count down
 * (CVE-2016-5696): it is drawn again every second, around the configured limit. */
Test(tcp, challenge_ack_budget_is_drawn_again_each_second)
{
    unsigned sent[20], distinct = 0;

    h_start();
    H.st->conf.challenge_ack_per_s = 100;
    H.st->conf.challenge_ack_per_conn = 255;
    h_accept_quiet(-1, 65535);
    h_advance(1000 - h_now() % 1000);          /* at the start of a second */
    for (unsigned sec = 0; sec < 20; sec++) {
        unsigned before = H.n_out;
        for (int i = 0; i < 200; i++)
            h_in(&(struct h_seg){.seq = PEER_ISN + 100, .flags = TCP_RST});
        sent[sec] = H.n_out - before;
        cr_assert(sent[sec] >= 50 && sent[sec] < 150, "second %u: %u challenge ACKs", sec,
                  sent[sec]);
        h_skip_out();
        h_advance(1000);
    }
    for (unsigned i = 0; i < 20; i++) {
        bool seen = false;
        for (unsigned j = 0; j < i; j++)
            seen |= sent[j] == sent[i];
        distinct += !seen;
    }
    cr_assert_geq(distinct, 5, "only %u different budgets in 20 seconds", distinct);
}

/* One connection gets at most challenge_ack_per_conn a second, counted, and does
 * not use up the stack's budget: another connection is still answered. */
Test(tcp, challenge_acks_are_limited_per_connection)
{
    struct tcp_conn *a, *b;
    struct h_out *o;

    h_start();
    cr_assert_eq(H.st->conf.challenge_ack_per_conn, 2, "the default");
    a = h_accept_quiet(-1, 65535);
    h_advance(1000 - h_now() % 1000);
    for (int i = 0; i < 10; i++)
        h_in(&(struct h_seg){.seq = PEER_ISN + 100, .flags = TCP_RST});
    cr_assert_eq(h_pending_out(), 2);
    cr_assert_eq(H.st->stats.challenge_acks, 2);
    cr_assert_eq(H.st->stats.challenge_ack_conn_limited, 8);
    cr_assert_eq(H.st->stats.challenge_ack_limited, 0);
    h_skip_out();
    /* Another connection (peer port 40001) is answered. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 7000, .flags = TCP_SYN, .wnd = 65535,
                                      .mss = 1460, .wscale = -1, .sport = 40001}), DROP_NONE);
    o = h_next();
    cr_assert_eq(h_in(&(struct h_seg){.seq = 7001, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = 65535, .sport = 40001}), DROP_NONE);
    b = H.conn;
    cr_assert_neq(a, b);
    h_in(&(struct h_seg){.seq = 7100, .flags = TCP_RST, .sport = 40001});
    o = h_next();
    cr_assert_not_null(o, "b's challenge ACK");
    cr_assert_eq(o->dport, 40001);
    cr_assert_eq(o->flags, TCP_ACK);
    /* The next second, a is answered again. */
    h_advance(1000);
    h_skip_out();
    for (int i = 0; i < 3; i++)
        h_in(&(struct h_seg){.seq = PEER_ISN + 100, .flags = TCP_RST});
    cr_assert_eq(h_pending_out(), 2);
    cr_assert_eq(H.st->stats.challenge_ack_conn_limited, 9);
    cr_assert_eq(tcp_conn_state(a), TCP_ESTABLISHED);
}

Test(tcp, ack_for_unsent_data_is_answered_and_dropped)
{
    struct tcp_conn *c;
    uint8_t d[10] = {1};
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 65535);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 5000, .flags = TCP_ACK, .wnd = 100,
                         .data = d, .len = 10});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, PEER_ISN + 1, "the data of such a segment is not taken");
    cr_assert_eq(tcp_recv_bytes(c), 0);
    cr_assert_eq(H.st->stats.ack_too_new, 1);
}

/* ---- closing ---- */

Test(tcp, passive_close)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 65535);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    cr_assert_eq(tcp_conn_state(c), TCP_CLOSE_WAIT);
    cr_assert_eq(h_last_ev(), TCP_EV_PEER_FIN);
    o = h_next();
    cr_assert_eq(o->ack, PEER_ISN + 2, "a FIN is acknowledged at once");
    cr_assert_eq(tcp_send(c, h_payload(10, 0, 10)), 0, "half-open: we may still send");
    h_skip_out();
    tcp_close(c);
    o = h_next();
    cr_assert_eq(o->flags, TCP_ACK | TCP_FIN);
    cr_assert_eq(o->seq, ISS + 11);
    cr_assert_eq(tcp_conn_state(c), TCP_LAST_ACK);
    h_in(&(struct h_seg){.seq = PEER_ISN + 2, .ack = ISS + 12, .flags = TCP_ACK, .wnd = 100});
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->stats.closed, 1);
    cr_assert_eq(H.wheel.pending, 0);
}

Test(tcp, passive_close_reported_when_the_user_only_shuts_down)
{
    struct tcp_conn *c;

    h_start();
    c = h_accept_quiet(-1, 65535);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    cr_assert_eq(tcp_shutdown(c), 0);
    cr_assert_eq(tcp_conn_state(c), TCP_LAST_ACK);
    h_in(&(struct h_seg){.seq = PEER_ISN + 2, .ack = ISS + 2, .flags = TCP_ACK, .wnd = 100});
    cr_assert_eq(h_last_ev(), TCP_EV_CLOSED);
    cr_assert_eq(H.st->n_conns, 0);
}

Test(tcp, active_close_through_time_wait)
{
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.time_wait_ms = 5000;
    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(100, 0, 100)), 0);
    cr_assert_eq(tcp_shutdown(c), 0);
    cr_assert_eq(tcp_conn_state(c), TCP_FIN_WAIT_1);
    o = h_next();
    cr_assert_eq(o->len, 100);
    cr_assert_eq(o->flags, TCP_ACK | TCP_PSH);
    o = h_next();
    cr_assert_eq(o->seq, ISS + 101);
    cr_assert_eq(o->flags, TCP_ACK | TCP_FIN);
    cr_assert_eq(tcp_send(c, h_payload(1, 0, 1)) , LBD_ESTATE);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 102, .flags = TCP_ACK, .wnd = 100});
    cr_assert_eq(tcp_conn_state(c), TCP_FIN_WAIT_2);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 102, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    cr_assert_eq(H.ev[H.n_ev - 2], TCP_EV_PEER_FIN);
    cr_assert_eq(h_last_ev(), TCP_EV_CLOSED);
    o = h_next();
    cr_assert_eq(o->ack, PEER_ISN + 2);
    /* A retransmitted FIN in TIME_WAIT is acknowledged again. */
    h_advance(3000);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 102, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, PEER_ISN + 2);
    h_advance(4999);
    cr_assert_eq(H.st->n_conns, 1, "2 MSL restarted by the retransmitted FIN");
    h_advance(1);
    cr_assert_eq(H.st->n_conns, 0);
    for (unsigned i = 0; i < H.n_ev; i++)
        cr_log_info("ev %u", H.ev[i]);
    cr_assert_eq(H.n_ev, 3, "nothing after CLOSED");
}

/* In TIME_WAIT only a retransmitted FIN restarts 2 MSL (RFC 9293 3.10.7.4); an old
 * data segment or a stray ACK is acknowledged and the control block still goes on
 * time, so a peer (or anyone guessing the 4-tuple) cannot hold it in the pool. */
Test(tcp, time_wait_is_not_restarted_by_segments_other_than_a_fin)
{
    uint8_t d[100] = {0};
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.time_wait_ms = 5000;
    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(tcp_shutdown(c), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    h_skip_out();
    h_advance(3000);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1 - 100, .ack = ISS + 2, .flags = TCP_ACK,
                         .wnd = 100, .data = d, .len = 100});
    h_in(&(struct h_seg){.seq = PEER_ISN + 2 + 70000, .ack = ISS + 2, .flags = TCP_ACK,
                         .wnd = 100});
    o = h_next();
    cr_assert_not_null(o, "an old segment is acknowledged");
    cr_assert_eq(o->ack, PEER_ISN + 2);
    h_advance(2000);
    cr_assert_eq(H.st->n_conns, 0, "2 MSL from the FIN, not from the later segments");
    cr_assert_eq(H.wheel.pending, 0);
}

Test(tcp, simultaneous_close)
{
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.time_wait_ms = 1000;
    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(tcp_shutdown(c), 0);
    o = h_next();
    cr_assert_eq(o->flags, TCP_ACK | TCP_FIN);
    /* The peer's FIN crosses ours (it does not acknowledge our FIN). */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    cr_assert_eq(tcp_conn_state(c), TCP_CLOSING);
    o = h_next();
    cr_assert_eq(o->ack, PEER_ISN + 2);
    h_in(&(struct h_seg){.seq = PEER_ISN + 2, .ack = ISS + 2, .flags = TCP_ACK, .wnd = 100});
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    cr_assert_eq(h_last_ev(), TCP_EV_CLOSED);
    h_advance(1000);
    cr_assert_eq(H.st->n_conns, 0);
}

Test(tcp, fin_and_ack_of_our_fin_in_one_segment)
{
    struct tcp_conn *c;

    h_start();
    c = h_accept_quiet(-1, 65535);
    tcp_shutdown(c);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
}

Test(tcp, out_of_order_fin_waits_for_the_data)
{
    uint8_t d[100] = {0};
    struct tcp_conn *c;

    h_start();
    c = h_accept_quiet(-1, 65535);
    h_in(&(struct h_seg){.seq = PEER_ISN + 101, .ack = ISS + 1, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100, .data = d, .len = 100});
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 100,
                         .data = d, .len = 100});
    cr_assert_eq(tcp_conn_state(c), TCP_CLOSE_WAIT);
    cr_assert_eq(tcp_recv_bytes(c), 200);
    cr_assert_eq(c->rcv_nxt, PEER_ISN + 202);
}

Test(tcp, close_with_unread_data_aborts)
{
    uint8_t d[100] = {0};
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 65535);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 100,
                         .data = d, .len = 100});
    h_skip_out();
    tcp_close(c);
    o = h_next();
    cr_assert_eq(o->flags, TCP_RST | TCP_ACK);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->buf_segs, 0);
}

Test(tcp, detached_fin_wait_2_times_out)
{
    struct tcp_conn *c;

    H.conf.fin_wait2_ms = 3000;
    h_start();
    c = h_accept_quiet(-1, 65535);
    tcp_close(c);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2, .flags = TCP_ACK, .wnd = 100});
    cr_assert_eq(H.st->n_state[TCP_FIN_WAIT_2], 1);
    h_advance(3000);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->stats.timeout_fin_wait2, 1);
}

Test(tcp, syn_reuses_time_wait)
{
    struct tcp_conn *c;

    h_start();
    c = h_accept_quiet(-1, 65535);
    tcp_shutdown(c);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 100});
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    h_skip_out();
    h_in(&(struct h_seg){.seq = PEER_ISN + 100000, .flags = TCP_SYN, .wnd = 100, .wscale = -1});
    cr_assert_eq(H.st->n_state[TCP_SYN_RECEIVED], 1);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 0);
    cr_assert_eq(h_next()->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(H.st->stats.time_wait_reused, 1);
}

Test(tcp, idle_timeout)
{
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.idle_ms = 5000;
    h_start();
    c = h_accept_quiet(-1, 65535);
    h_advance(3000);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 100});
    h_advance(4999);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED, "traffic pushed the deadline");
    h_advance(1);
    cr_assert_eq(h_last_ev(), TCP_EV_TIMEOUT);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->flags, TCP_RST | TCP_ACK);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->stats.timeout_idle, 1);
}

Test(tcp, abort_sends_rst_and_frees)
{
    struct tcp_conn *c;

    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(5000, 0, 1000)), 0);
    h_skip_out();
    tcp_abort(c);
    cr_assert_eq(h_next()->flags, TCP_RST | TCP_ACK);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->buf_segs, 0);
    cr_assert_eq(H.wheel.pending, 0);
    cr_assert_eq(H.n_ev, 1, "no event after abort");
}

/* ---- sequence wrap-around ---- */

Test(tcp, sequence_numbers_wrap_both_ways)
{
    uint8_t d[4000];
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t peer = 0xfffff800u;

    H.fixed_iss = 0xfffffc00u;
    h_start();
    H.auto_read = 1;
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = peer, .flags = TCP_SYN, .wnd = 65535, .mss = 1000,
                         .wscale = 0});
    h_in(&(struct h_seg){.seq = peer + 1, .ack = H.fixed_iss + 1, .flags = TCP_ACK,
                         .wnd = 65535});
    c = H.conn;
    h_skip_out();
    h_pattern(d, sizeof(d), 0);
    /* Receive 4000 bytes across 2^32, the middle segment out of order. */
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t o4 = (uint32_t[]){2000, 3000, 0, 1000}[i];
        h_in(&(struct h_seg){.seq = peer + 1 + o4, .ack = H.fixed_iss + 1, .flags = TCP_ACK,
                             .wnd = 65535, .data = d + o4, .len = 1000});
    }
    cr_assert_eq(H.rx_len, 4000);
    cr_assert_eq(memcmp(H.rx_buf, d, 4000), 0);
    cr_assert_eq(c->rcv_nxt, peer + 4001);
    cr_assert_lt(c->rcv_nxt, 0x1000u, "wrapped %x", c->rcv_nxt);
    /* Send 3000 bytes across 2^32 and get them acknowledged. */
    h_skip_out();
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1500)), 0);
    cr_assert_eq(h_pending_out(), 3);
    o = h_next();
    cr_assert_eq(o->seq, 0xfffffc01u);
    o = h_next();
    cr_assert_eq(o->seq, 0xfffffc01u + 1000);
    o = h_next();
    cr_assert_eq(o->seq, (uint32_t)(0xfffffc01u + 2000));
    h_in(&(struct h_seg){.seq = peer + 4001, .ack = H.fixed_iss + 1 + 3000, .flags = TCP_ACK,
                         .wnd = 65535});
    cr_assert_eq(c->snd_una, c->snd_max);
    cr_assert_eq(c->sndq.bytes, 0);
    cr_assert(!twheel_pending(&c->t_rexmt));
}

/* ---- SYN cookies and caps ---- */

Test(tcp, syn_cookies_when_the_backlog_is_full)
{
    struct h_out *o;
    uint8_t d[5] = "hello";

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 1, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = 100, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = 5,
                         .sport = 1001});
    h_skip_out();
    /* Backlog full: a cookie, no control block. */
    h_in(&(struct h_seg){.seq = 200, .flags = TCP_SYN, .wnd = 1000, .mss = 1400, .wscale = 5,
                         .sport = 1002});
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(o->ack, 201);
    cr_assert_eq(o->mss, 1220, "the largest cookie MSS <= the peer's");
    cr_assert_eq(o->wscale, 7);
    cr_assert_eq(H.st->n_conns, 1);
    cr_assert_eq(H.st->stats.syncookies_sent, 1);
    uint32_t cookie = o->seq;
    /* A forged ACK is refused. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = 201, .ack = cookie + 2, .flags = TCP_ACK,
                                      .wnd = 100, .sport = 1002}), DROP_TCP_NO_SOCKET);
    cr_assert_eq(H.st->stats.syncookies_bad, 1);
    h_skip_out();
    /* The real ACK (with data) completes the handshake. */
    h_advance(60000);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 201, .ack = cookie + 1, .flags = TCP_ACK,
                                      .wnd = 100, .sport = 1002, .data = d, .len = 5}),
                 DROP_NONE);
    cr_assert_eq(H.st->stats.syncookies_ok, 1);
    cr_assert_eq(H.ev[0], TCP_EV_ESTABLISHED);
    struct tcp_conn *c = H.ev_conn[0];
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert_eq(c->mss, 1220);
    cr_assert_eq(c->snd_wscale, 5);
    cr_assert_eq(c->snd_wnd, 100 << 5);
    cr_assert_eq(tcp_recv_bytes(c), 5);
    cr_assert_eq(h_last_ev(), TCP_EV_READABLE);
    /* And it works: we can send. */
    cr_assert_eq(tcp_send(c, h_payload(10, 0, 10)), 0);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->seq, cookie + 1);
    cr_assert_eq(o->ack, 206);
}

Test(tcp, syn_cookie_expires)
{
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    H.st->listeners[0].backlog = 0;
    h_in(&(struct h_seg){.seq = 200, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = -1});
    o = h_next();
    cr_assert_eq(o->wscale, -1);
    uint32_t cookie = o->seq;
    h_advance(3 * 65536);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 201, .ack = cookie + 1, .flags = TCP_ACK,
                                      .wnd = 100}), DROP_TCP_NO_SOCKET);
}

/* Cookies are made under a key of their 64 s period; each next key is a one-way step
 * of the one before, and the previous one is kept a period more. */
Test(tcp, syn_cookie_keys_rotate_and_old_cookies_are_refused)
{
    uint32_t c1, c2, c3;
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    H.st->listeners[0].backlog = 0;
    /* Late in a period: its cookie is still good in the next one. */
    h_advance(65536 - h_now() % 65536 - 1000);
    h_in(&(struct h_seg){.seq = 200, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = -1,
                         .sport = 1002});
    c1 = h_next()->seq;
    h_advance(2000);                    /* into the next period: the key rotated */
    h_in(&(struct h_seg){.seq = 200, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = -1,
                         .sport = 1002});
    c2 = h_next()->seq;
    cr_assert_neq(c1, c2, "a new period, a new key");
    cr_assert_eq(h_in(&(struct h_seg){.seq = 201, .ack = c1 + 1, .flags = TCP_ACK,
                                      .wnd = 100, .sport = 1002}), DROP_NONE,
                 "a cookie of the previous period is accepted");
    cr_assert_eq(H.st->stats.syncookies_ok, 1);
    /* Eight periods on (the time slot a 3-bit cookie field would see again), the same
     * SYN gets another cookie, and the old cookie is refused. */
    h_advance(8 * 65536);
    h_in(&(struct h_seg){.seq = 300, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = -1,
                         .sport = 1003});
    o = h_next();
    c3 = o->seq;
    h_advance(8 * 65536);
    h_in(&(struct h_seg){.seq = 300, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = -1,
                         .sport = 1003});
    o = h_next();
    cr_assert_neq(o->seq, c3, "the same SYN eight periods later: another cookie");
    cr_assert_eq(h_in(&(struct h_seg){.seq = 301, .ack = c3 + 1, .flags = TCP_ACK,
                                      .wnd = 100, .sport = 1003}), DROP_TCP_NO_SOCKET,
                 "a cookie of eight periods ago is refused");
    cr_assert_eq(H.st->stats.syncookies_bad, 1);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 301, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = 100, .sport = 1003}), DROP_NONE);
    cr_assert_eq(H.st->stats.syncookies_ok, 2);
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M the 4 us clock, F SipHash-2-4 under the
 * stack's 128-bit key. */
Test(tcp, iss_is_a_4us_clock_plus_siphash_of_the_4_tuple)
{
    struct tcp_key k = {.laddr = ip4(H_LOCAL), .raddr = ip4(H_PEER), .lport = H_LPORT,
                        .rport = H_PPORT};
    struct tcp_key k2 = k;
    uint32_t w[3] = {k.laddr, k.raddr, ((uint32_t)k.lport << 16) | k.rport};
    uint32_t f, iss;
    struct h_out *o;

    H.conf.iss_fn = NULL;
    h_start();
    f = (uint32_t)siphash24(&H.st->iss_key, w, sizeof(w));
    cr_assert_eq(tcp_tcb_iss(H.st, &k), (uint32_t)(h_now() * 250) + f);
    /* M: 250 per millisecond, whatever the 4-tuple. */
    iss = tcp_tcb_iss(H.st, &k);
    h_advance(7);
    cr_assert_eq(tcp_tcb_iss(H.st, &k) - iss, 7 * 250);
    k2.rport++;
    cr_assert_neq(tcp_tcb_iss(H.st, &k2), tcp_tcb_iss(H.st, &k), "F depends on the ports");
    /* What a SYN-ACK carries. */
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .mss = 1460,
                         .wscale = -1});
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(o->seq, (uint32_t)(h_now() * 250) + f);
}

Test(tcp, control_block_cap_is_counted_never_a_crash)
{
    struct tcp_conn *c[4];

    H.conf.max_conns = 3;
    h_start();
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 80, h_on_event, NULL, &c[i]),
                     0);
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 80, h_on_event, NULL, &c[3]),
                 LBD_ENOMEM);
    cr_assert_eq(H.st->stats.refused_conns, 1);
    /* A listener answers with cookies when the pool is empty. */
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_skip_out();
    h_in(&(struct h_seg){.seq = 200, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = -1});
    cr_assert_eq(h_next()->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(H.st->stats.syncookies_sent, 1);
    tcp_abort(c[0]);
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 80, h_on_event, NULL, &c[3]), 0);
}

Test(tcp, buffer_cap_refuses_and_counts)
{
    uint8_t d[600] = {0};
    struct tcp_conn *c;
    struct rte_mbuf *m;

    /* Payloads larger than MBUFQ_ABSORB_MAX: each needs segments of its own. */
    H.conf.max_buf_segs = 4;
    h_start();
    c = h_accept_quiet(-1, 0);
    cr_assert_eq(tcp_send(c, h_payload(1800, 0, 600)), 0);
    m = h_payload(1200, 0, 600);
    cr_assert_eq(tcp_send(c, m), LBD_ENOMEM);
    rte_pktmbuf_free(m);
    cr_assert_eq(H.st->stats.snd_mem_refused, 1);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 0,
                         .data = d, .len = 600});
    cr_assert_eq(tcp_recv_bytes(c), 600);
    h_in(&(struct h_seg){.seq = PEER_ISN + 601, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 0,
                         .data = d, .len = 600});
    cr_assert_eq(tcp_recv_bytes(c), 600, "no room: not taken (the peer retransmits)");
    cr_assert_eq(H.st->stats.rcv_mem_dropped, 1);
    /* A small payload still fits behind the last segment held, budget or not. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 601, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 0,
                         .data = d, .len = 100});
    cr_assert_eq(tcp_recv_bytes(c), 700);
    cr_assert_eq(H.st->stats.rcv_absorbed, 1);
    cr_assert_eq(H.st->stats.rcv_mem_dropped, 1);
    cr_assert_eq(H.st->buf_segs, 4);
}

/*
 * A peer that sends one byte per segment (in order, and after a hole) and an
 * application that writes one byte at a time: the bytes are copied behind the last
 * segment held (mbufq_absorb), so thousands of them cost a few segments of the
 * stack's shared budget instead of one each, and arrive intact and in order.
 */
Test(tcp, one_byte_segments_cost_a_few_segments_not_one_each)
{
    static uint8_t got[4000];
    uint8_t b;
    struct tcp_conn *c;
    struct rte_mbuf *m;
    uint32_t n = 0;

    H.conf.rcvbuf = 65536;
    h_start();
    c = h_accept_quiet(-1, 0);
    /* In order: bytes 0..1999, each alone. */
    for (uint32_t i = 0; i < 2000; i++) {
        b = (uint8_t)(i * 7);
        H.n_ev = H.n_out = H.seen = 0;  /* the harness's logs: only what follows counts */
        h_in(&(struct h_seg){.seq = PEER_ISN + 1 + i, .ack = ISS + 1, .flags = TCP_ACK,
                             .wnd = 65535, .data = &b, .len = 1});
    }
    cr_assert_eq(tcp_recv_bytes(c), 2000);
    cr_assert_leq(H.st->buf_segs, 2, "2,000 bytes in %u segments", H.st->buf_segs);
    cr_assert_geq(H.st->stats.rcv_absorbed, 1990);
    /* After a hole at byte 2000: bytes 2001..3999 held out of order, in one run. */
    for (uint32_t i = 2001; i < 4000; i++) {
        b = (uint8_t)(i * 7);
        H.n_ev = H.n_out = H.seen = 0;  /* the harness's logs: only what follows counts */
        h_in(&(struct h_seg){.seq = PEER_ISN + 1 + i, .ack = ISS + 1, .flags = TCP_ACK,
                             .wnd = 65535, .data = &b, .len = 1});
    }
    cr_assert_eq(c->ooo->n, 1, "one run");
    cr_assert_leq(H.st->buf_segs, 4, "4,000 bytes in %u segments", H.st->buf_segs);
    cr_assert_eq(H.st->stats.ooo_dropped, 0);
    b = (uint8_t)(2000 * 7);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1 + 2000, .ack = ISS + 1, .flags = TCP_ACK,
                         .wnd = 65535, .data = &b, .len = 1});
    cr_assert_eq(tcp_recv_bytes(c), 4000, "the hole filled: everything in order");
    while ((m = tcp_recv(c, UINT32_MAX)) != NULL) {
        const void *p;
        cr_assert_leq(n + m->pkt_len, sizeof(got));
        p = rte_pktmbuf_read(m, 0, m->pkt_len, got + n);
        cr_assert_not_null(p);
        if (p != got + n)
            memcpy(got + n, p, m->pkt_len);
        n += m->pkt_len;
        rte_pktmbuf_free(m);
    }
    cr_assert_eq(n, 4000);
    for (uint32_t i = 0; i < 4000; i++)
        cr_assert_eq(got[i], (uint8_t)(i * 7), "byte %u", i);
    cr_assert_eq(H.st->buf_segs, 0);
    /* Writes of a byte each queue behind one another, and go out as full segments. */
    for (uint32_t i = 0; i < 1000; i++) {
        m = h_payload(1, i, 1);
        cr_assert_eq(tcp_send(c, m), 0);
    }
    cr_assert_leq(H.st->buf_segs, 2, "1,000 written bytes in %u segments", H.st->buf_segs);
    cr_assert_geq(H.st->stats.snd_absorbed, 998);
}

/*
 * The stack's pool runs dry under a connection that sends and receives: every failed
 * allocation is counted (the stack's own counter and the worker's mbuf_alloc_failed),
 * nothing is lost or leaked, and once the pool has mbufs again the retransmission
 * timer delivers what could not go out.
 */
Test(tcp, an_empty_pool_is_counted_and_the_connection_recovers)
{
    static struct rte_mbuf *taken[512];
    struct rte_mempool *small;
    uint8_t d[1000], got[1000];
    uint64_t failed = 0, stack_failed;
    unsigned n = 0, h_in_use;
    uint32_t seq_end = ISS + 1 + 3000, read = 0;
    struct tcp_conn *c;
    struct h_out *o;
    struct rte_mbuf *m;

    small = rte_pktmbuf_pool_create("h_small", 255, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    cr_assert_not_null(small);
    H.conf.pool = small;
    H.conf.mbuf_alloc_failed = &failed;
    h_in_use = rte_mempool_in_use_count(H.pool);
    h_start();
    c = h_accept_quiet(-1, 65535);
    cr_assert_eq(failed, 0);

    /* Something else on the worker takes every mbuf of the pool. */
    while (n < 512 && (taken[n] = rte_pktmbuf_alloc(small)) != NULL)
        n++;
    cr_assert_eq(rte_mempool_avail_count(small), 0);

    /* Data to send: no payload clone, no header, so nothing leaves; counted. */
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_gt(H.st->stats.hdr_alloc_fail, 0);
    cr_assert_eq(failed, H.st->stats.hdr_alloc_fail);
    /* Data from the peer is queued (its mbufs are the port's); no ACK can go out, and
     * a read that must split a segment finds no mbuf either: the data stays. */
    h_pattern(d, sizeof(d), 0);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1,
                                      .flags = TCP_ACK | TCP_PSH, .wnd = 65535, .data = d,
                                      .len = sizeof(d)}),
                 DROP_NONE);
    cr_assert_eq(tcp_recv_bytes(c), 1000);
    stack_failed = failed;
    cr_assert_null(tcp_recv(c, 100));
    cr_assert_eq(tcp_recv_bytes(c), 1000, "nothing taken from the queue");
    cr_assert_eq(failed, stack_failed + 1, "the failed split is counted");
    /* The first retransmission fails as well. */
    h_advance(300);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    cr_assert_gt(failed, stack_failed + 1);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);

    /* The burst is over: the pool has mbufs again. */
    while (n > 0)
        rte_pktmbuf_free(taken[--n]);
    stack_failed = failed;
    cr_assert_gt(h_wait_out(5000), 0);
    o = h_next();
    cr_assert_eq(o->seq, ISS + 1, "the data goes out from its first byte");
    cr_assert_eq(o->ack, PEER_ISN + 1 + 1000, "and acknowledges what arrived meanwhile");
    /* The peer acknowledges each segment as it comes, until all 3000 bytes are. */
    for (int i = 0; i < 32 && c->snd_una != seq_end; i++) {
        if (o == NULL) {
            cr_assert_gt(h_wait_out(5000) + h_pending_out(), 0, "nothing more goes out");
            o = h_next();
        }
        h_in(&(struct h_seg){.seq = PEER_ISN + 1001, .ack = o->seq + o->len,
                             .flags = TCP_ACK, .wnd = 65535});
        o = h_next();
    }
    cr_assert_eq(c->snd_una, seq_end, "everything sent and acknowledged");
    while ((m = tcp_recv(c, 100)) != NULL) {
        const void *p;
        cr_assert_leq(read + m->pkt_len, sizeof(got));
        p = rte_pktmbuf_read(m, 0, m->pkt_len, got + read);
        cr_assert_not_null(p);
        if (p != got + read)
            memcpy(got + read, p, m->pkt_len);
        read += m->pkt_len;
        rte_pktmbuf_free(m);
    }
    cr_assert_eq(read, 1000);
    cr_assert_eq(memcmp(got, d, sizeof(d)), 0);
    cr_assert_eq(failed, stack_failed, "no failure once the pool had mbufs");

    /* Nothing leaked: every mbuf of both pools is back once the connection is gone. */
    tcp_abort(c);
    h_skip_out();
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.st->buf_segs, 0);
    cr_assert_eq(rte_mempool_avail_count(small), 255, "stack pool: %u in use",
                 rte_mempool_in_use_count(small));
    cr_assert_eq(rte_mempool_in_use_count(H.pool), h_in_use);
    tcp_stack_free(H.st);
    H.st = NULL;
    rte_mempool_free(small);
}

/* ---- callbacks ---- */

static void close_on_readable(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    h_on_event(c, ev, arg);
    if (ev == TCP_EV_READABLE) {
        rte_pktmbuf_free(tcp_recv(c, 1u << 20));
        tcp_send(c, h_payload(5, 0, 5));
        tcp_close(c);
    }
}

Test(tcp, close_inside_a_callback_is_safe)
{
    uint8_t d[10] = {0};
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(-1, 65535);
    tcp_set_handler(c, close_on_readable, NULL);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 100,
                         .data = d, .len = 10});
    /* One segment: the reply, the ACK and the FIN together. */
    cr_assert_eq(h_pending_out(), 1);
    o = h_next();
    cr_assert_eq(o->len, 5);
    cr_assert_eq(o->ack, PEER_ISN + 11);
    cr_assert_eq(o->flags, TCP_ACK | TCP_PSH | TCP_FIN);
    cr_assert_eq(tcp_conn_state(c), TCP_FIN_WAIT_1);
}

Test(tcp, deferred_checksums_carry_the_pseudo_header_sum_for_the_tx_path)
{
    struct tcp_conn *c;
    uint32_t una = ISS + 1;

    /* conf.tx_csum_defer (the dataplane's setting): every segment, SYN-ACK, data cut
     * across odd-length queued segments, retransmission and RST, leaves with
     * TX_TCP_CKSUM and the pseudo-header sum; the harness completes it as lcore_tx
     * does for a port without the offload and checks it over the bytes laid flat. */
    H.conf.tx_csum_defer = true;
    h_start();
    c = h_accept_quiet(7, 65535);
    cr_assert_gt(H.n_deferred, 0, "the SYN-ACK");
    cr_assert_eq(tcp_send(c, h_payload(141, 0, 141)), 0);
    cr_assert_eq(tcp_send(c, h_payload(3000, 141, 999)), 0);
    h_skip_out();
    h_wait_out(10000);                  /* an RTO: one MSS from snd_una, cut oddly */
    cr_assert_eq(h_pending_out(), 1);
    cr_assert_eq(h_next()->seq, una);
    tcp_abort(c);
    cr_assert_eq(H.n_deferred, H.n_out, "every segment: %u of %u", H.n_deferred, H.n_out);
}

Test(tcp, memory_per_idle_connection)
{
    /* Reported in doc/tcp.md; keep an eye on it. */
    cr_log_info("sizeof(struct tcp_conn) = %zu", sizeof(struct tcp_conn));
    cr_assert_leq(sizeof(struct tcp_conn), 512);
}

Test(tcp, limited_transmit_on_the_first_two_duplicates)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(20 * 1460, 0, 1460)), 0);
    cr_assert_eq(h_pending_out(), 10, "cwnd-limited");
    h_skip_out();
    uint32_t cwnd = c->cwnd, max = c->snd_max;
    for (int i = 0; i < 2; i++) {
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK,
                             .wnd = 65535});
        o = h_next();
        cr_assert_not_null(o, "RFC 3042: a new segment for duplicate %d", i + 1);
        cr_assert_eq(o->seq, max + 1460 * i);
    }
    cr_assert_eq(c->cwnd, cwnd, "cwnd itself is unchanged");
    cr_assert_eq(H.st->stats.limited_transmits, 2);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 65535});
    o = h_next();
    cr_assert_eq(o->seq, ISS + 1, "third: fast retransmit");
}

/* ---- SACK (RFC 2018, RFC 6675) ---- */

Test(tcp, sack_permitted_only_when_both_sides_offer_it)
{
    struct tcp_conn *c, *c2;
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    /* Passive, offered: echoed in the SYN-ACK, used. */
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .mss = 1460,
                         .wscale = 7, .sack_ok = 1, .sport = 1001});
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert(o->sack_ok, "SYN-ACK answers SACK-permitted");
    cr_assert_eq(o->mss, 1460);
    cr_assert_eq(o->wscale, 7, "with the other options");
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .sport = 1001});
    cr_assert(H.conn->flags & TCPF_SACK);
    /* Passive, not offered: not in the SYN-ACK, not used. */
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .mss = 1460,
                         .wscale = 7, .sport = 1002});
    o = h_next();
    cr_assert(!o->sack_ok);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .sport = 1002});
    cr_assert(!(H.conn->flags & TCPF_SACK));
    /* Active: always offered; used only when the SYN-ACK answers. */
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN);
    cr_assert(o->sack_ok, "our SYN offers SACK");
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c2), 0);
    h_skip_out();
    h_in(&(struct h_seg){.seq = 9000, .ack = ISS + 1, .flags = TCP_SYN | TCP_ACK, .wnd = 30000,
                         .mss = 1460, .wscale = 2, .sack_ok = 1, .sport = 8080,
                         .dport = c->key.lport});
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert(c->flags & TCPF_SACK);
    h_in(&(struct h_seg){.seq = 9000, .ack = ISS + 1, .flags = TCP_SYN | TCP_ACK, .wnd = 30000,
                         .mss = 1460, .wscale = 2, .sport = 8080, .dport = c2->key.lport});
    cr_assert_eq(tcp_conn_state(c2), TCP_ESTABLISHED);
    cr_assert(!(c2->flags & TCPF_SACK));
}

Test(tcp, syn_cookie_connections_do_without_sack)
{
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 1, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = 100, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = 5,
                         .sack_ok = 1, .sport = 1001});
    h_skip_out();
    h_in(&(struct h_seg){.seq = 200, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = 5,
                         .sack_ok = 1, .sport = 1002});
    o = h_next();
    cr_assert_eq(H.st->stats.syncookies_sent, 1);
    cr_assert(!o->sack_ok, "the cookie cannot encode SACK-permitted: not offered");
    cr_assert_eq(h_in(&(struct h_seg){.seq = 201, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = 100, .sport = 1002}), DROP_NONE);
    cr_assert_eq(H.st->stats.syncookies_ok, 1);
    cr_assert(!(H.ev_conn[0]->flags & TCPF_SACK));
}

/* The SACK blocks of segment o as "start-end start-end ..." offsets from base. */
static const char *sack_str(const struct h_out *o, uint32_t base)
{
    static char buf[256];
    int n = 0;

    buf[0] = 0;
    for (unsigned i = 0; i < o->n_sack; i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%u-%u", i ? " " : "",
                      o->sack[2 * i] - base, o->sack[2 * i + 1] - base);
    return buf;
}

Test(tcp, receiver_reports_holes_most_recent_block_first)
{
    uint8_t d[10000];
    struct h_out *o;
    struct tcp_conn *c;
    uint32_t b = PEER_ISN + 1;

    h_start();
    H.peer_sack = 1;
    c = h_accept(7, 1000);
    h_skip_out();
    h_pattern(d, sizeof(d), 0);
#define SEG(off, n) h_in(&(struct h_seg){.seq = b + (off), .ack = ISS + 1, .flags = TCP_ACK, \
                                         .wnd = 1000, .data = d + (off), .len = (n)})
    SEG(1000, 1000);                    /* one hole: 0..1000 */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, b);
    cr_assert_str_eq(sack_str(o, b), "1000-2000");
    SEG(3000, 1000);                    /* two holes */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_str_eq(sack_str(o, b), "3000-4000 1000-2000", "newest first");
    SEG(5000, 1000);                    /* three holes */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_str_eq(sack_str(o, b), "5000-6000 3000-4000 1000-2000");
    SEG(2000, 500);                     /* extends the oldest block: now the newest */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_str_eq(sack_str(o, b), "1000-2500 5000-6000 3000-4000");
    SEG(7000, 500);                     /* four blocks: 4 fit beside no other option */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_str_eq(sack_str(o, b), "7000-7500 1000-2500 5000-6000 3000-4000");
    cr_assert_eq(o->optlen, 36);
    SEG(9000, 500);                     /* five runs held: the four most recent */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_str_eq(sack_str(o, b), "9000-9500 7000-7500 1000-2500 5000-6000");
    SEG(8000, 100);                     /* more runs than recent segments: the highest */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_str_eq(sack_str(o, b), "8000-8100 9000-9500 7000-7500 1000-2500");
    /* Our data goes out with the blocks and stays within the MTU. */
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->n_sack, 4);
    cr_assert_eq(o->len, 1460 - 36, "the option takes room from the payload");
    h_skip_out();
    /* The first hole filled: cumulative ACK moves, the other blocks stay. */
    SEG(0, 1000);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->ack, b + 2500);
    cr_assert_str_eq(sack_str(o, b), "8000-8100 9000-9500 7000-7500 5000-6000");
    cr_assert_geq(H.st->stats.sack_blocks_sent, 1 + 2 + 3 + 3 + 4 + 4 + 4);
    /* All filled: no more blocks. */
    for (uint32_t off = 2500; off < 9500; off += 1000)
        SEG(off, off + 1000 <= 9500 ? 1000 : 9500 - off);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->ack, b + 9500);
    cr_assert_eq(o->n_sack, 0);
    cr_assert_eq(o->optlen, 0);
    cr_assert_null(c->ooo);
#undef SEG
}

Test(tcp, no_sack_blocks_without_negotiation)
{
    uint8_t d[1000] = {0};
    struct h_out *o;

    h_start();
    h_accept_quiet(7, 1000);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1001, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .data = d, .len = 1000});
    o = h_next();
    cr_assert_eq(o->ack, PEER_ISN + 1);
    cr_assert_eq(o->n_sack, 0);
    cr_assert_eq(H.st->stats.sack_blocks_sent, 0);
}

/*
 * A SACK receiver for the sender tests: segments whose first transmission is in
 * `lose` (by index of MSS-sized segment) are dropped; every other data segment is
 * taken and answered with the cumulative ACK and up to three SACK blocks, the run
 * holding the latest segment first (as Linux does). Time never moves.
 */
#define SND_SEGS 20
struct sack_peer {
    uint32_t base;                      /* our ISS + 1 */
    uint32_t mss;
    uint8_t have[SND_SEGS];
    unsigned sent[SND_SEGS];            /* transmissions of each segment */
    unsigned lose_first[SND_SEGS];      /* transmissions to drop (1: the first) */
    int sack;                           /* answer with SACK blocks */
};

static void sack_peer_ack(struct sack_peer *p, unsigned latest)
{
    struct h_seg a = {.seq = PEER_ISN + 1, .flags = TCP_ACK, .wnd = 65535};
    unsigned una = 0;

    while (una < SND_SEGS && p->have[una])
        una++;
    a.ack = p->base + una * p->mss;
    if (p->sack && latest > una) {
        unsigned lo = latest, hi = latest;
        while (lo > una && p->have[lo - 1])
            lo--;
        while (hi + 1 < SND_SEGS && p->have[hi + 1])
            hi++;
        a.sack[0] = p->base + lo * p->mss;
        a.sack[1] = p->base + (hi + 1) * p->mss;
        a.n_sack = 1;
        for (unsigned i = SND_SEGS; i-- > una && a.n_sack < 3;) {
            unsigned e = i;
            if (!p->have[i] || (i >= lo && i <= hi))
                continue;
            while (i > una && p->have[i - 1])
                i--;
            if (i >= lo && i <= hi)
                continue;
            a.sack[2 * a.n_sack] = p->base + i * p->mss;
            a.sack[2 * a.n_sack + 1] = p->base + (e + 1) * p->mss;
            a.n_sack++;
        }
    }
    h_in(&a);
}

/* Feeds everything the stack sends to the peer until it stops sending. */
static void sack_peer_run(struct sack_peer *p)
{
    struct h_out *o;

    while ((o = h_next()) != NULL) {
        unsigned i;
        if (o->len == 0)
            continue;
        cr_assert_eq((o->seq - p->base) % p->mss, 0, "segments on MSS boundaries");
        cr_assert_eq(o->len, p->mss);
        i = (o->seq - p->base) / p->mss;
        cr_assert_lt(i, SND_SEGS);
        if (p->sent[i]++ < p->lose_first[i])
            continue;
        p->have[i] = 1;
        sack_peer_ack(p, i);
    }
}

static struct tcp_conn *sack_sender(struct sack_peer *p, int sack, const unsigned *lose,
                                    unsigned n_lose)
{
    struct tcp_conn *c;

    h_start();
    H.peer_sack = sack;
    c = h_accept_quiet(7, 65535);
    memset(p, 0, sizeof(*p));
    p->base = ISS + 1;
    p->mss = 1460;
    p->sack = sack;
    for (unsigned i = 0; i < n_lose; i++)
        p->lose_first[lose[i]] = 1;
    cr_assert_eq(tcp_send(c, h_payload(SND_SEGS * 1460, 0, 1460)), 0);
    return c;
}

Test(tcp, sack_sender_retransmits_exactly_the_holes_without_rto)
{
    static const unsigned lose[] = {1, 3, 5};
    struct sack_peer p;
    struct tcp_conn *c = sack_sender(&p, 1, lose, 3);
    uint64_t t0 = h_now();

    sack_peer_run(&p);
    cr_assert_eq(h_now(), t0, "no timer was needed");
    for (unsigned i = 0; i < SND_SEGS; i++) {
        cr_assert(p.have[i], "segment %u delivered", i);
        cr_assert_eq(p.sent[i], p.lose_first[i] ? 2 : 1,
                     "segment %u sent %u times: only the lost ones twice", i, p.sent[i]);
    }
    cr_assert_eq(c->snd_una, ISS + 1 + SND_SEGS * 1460);
    cr_assert_eq(H.st->stats.sack_recoveries, 1);
    cr_assert_eq(H.st->stats.sack_rexmits, 3);
    cr_assert_eq(H.st->stats.segs_retrans, 3);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    cr_assert_eq(H.st->stats.sack_blocks_bad, 0);
    cr_assert_gt(H.st->stats.sack_blocks_rcvd, 0);
    cr_assert(!(c->flags & (TCPF_RECOVERY | TCPF_SACK_RECOVERY)), "recovery ended");
    cr_assert_eq(c->sack_n, 0, "the scoreboard empties as snd_una passes it");
}

Test(tcp, sack_loss_detected_before_three_duplicates)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;

    h_start();
    H.peer_sack = 1;
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(10 * mss, 0, 1460)), 0);
    h_skip_out();
    /* One ACK (it carries data, so it is no duplicate) SACKs three segments past a hole:
     * IsLost(snd_una) holds (RFC 6675 section 5 (b)). */
    uint8_t d[10] = "0123456789";
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una, .flags = TCP_ACK, .wnd = 65535,
                         .data = d, .len = 10, .n_sack = 1,
                         .sack = {una + mss, una + 4 * mss}});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una, "the hole is retransmitted at once");
    cr_assert_eq(o->len, mss);
    cr_assert(c->flags & TCPF_SACK_RECOVERY);
    cr_assert_eq(c->recover, c->snd_max);
    cr_assert_eq(c->ssthresh, 7 * mss, "CUBIC (the default): beta 0.7 of FlightSize");
    /* PRR: 3 MSS delivered (SACKed) on this ACK, pipe = 6 MSS beyond the SACKed + the
     * retransmission = 7 MSS, not above ssthresh: sndcnt = min(ssthresh - pipe, ...) = 0. */
    cr_assert_eq(c->prr_delivered, 3 * mss);
    cr_assert_eq(c->prr_out, mss, "the retransmission counts as sent");
    cr_assert_eq(c->cwnd, 7 * mss, "cwnd = pipe + sndcnt");
    for (o = h_next(); o != NULL; o = h_next())
        cr_assert(o->seq == una + 10 * mss || o->len == 0 || o->seq >= una + 10 * mss,
                  "never the SACKed segments (seq %u)", o->seq - una);
}

/* The next two: RFC 6675 alone (no RACK records, as when they run out): with RACK, the
 * two SACKed segments would show the first two lost by time (the clock stands still
 * here, so at once) and recovery would start without any RTO. */
Test(tcp, sack_sender_does_not_resend_sacked_data_after_rto)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;

    H.conf.max_rack_blocks = 0;
    h_start();
    H.peer_sack = 1;
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(10 * mss, 0, 1460)), 0);
    h_skip_out();
    /* Two segments SACKed: not enough to call the first lost. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una, .flags = TCP_ACK, .wnd = 65535,
                         .n_sack = 1, .sack = {una + 2 * mss, una + 4 * mss}});
    cr_assert_eq(c->sack_n, 1);
    cr_assert(!(c->flags & TCPF_RECOVERY));
    h_skip_out();
    h_wait_out(10000);                  /* the tail loss probe: the last segment again */
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una + 9 * mss);
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    h_skip_out();                       /* lost too */
    h_wait_out(10000);                  /* RTO */
    o = h_next();
    cr_assert_eq(o->seq, una);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    cr_assert_eq(c->sack_n, 1, "the first RTO keeps the scoreboard");
    o = h_next();
    cr_assert(o == NULL || o->seq != una + 2 * mss, "go-back-N skips what is SACKed");
    h_skip_out();
    /* The retransmission arrives; the receiver still holds 2..3: go-back-N skips them. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + mss, .flags = TCP_ACK,
                         .wnd = 65535, .n_sack = 1, .sack = {una + 2 * mss, una + 4 * mss}});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una + mss);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + 4 * mss, .flags = TCP_ACK,
                         .wnd = 65535});
    for (o = h_next(); o != NULL; o = h_next())
        cr_assert_geq(o->seq, una + 4 * mss, "SACKed data is not sent again");
    cr_assert_eq(H.st->stats.sack_recoveries, 0, "no fast recovery below recover");
}

Test(tcp, a_second_rto_clears_the_scoreboard_of_a_reneging_receiver)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;
    bool sent_sacked = false;

    H.conf.max_rack_blocks = 0;
    h_start();
    H.peer_sack = 1;
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(10 * mss, 0, 1460)), 0);
    h_skip_out();
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una, .flags = TCP_ACK, .wnd = 65535,
                         .n_sack = 1, .sack = {una + 2 * mss, una + 4 * mss}});
    h_skip_out();
    h_wait_out(10000);                  /* the loss probe, unanswered */
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    h_skip_out();
    h_wait_out(10000);                  /* first RTO: board kept */
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    cr_assert_eq(c->sack_n, 1);
    h_skip_out();
    /* The receiver dropped 2..3 (reneged) and acknowledges nothing: a second RTO. */
    h_wait_out(20000);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 2);
    cr_assert_eq(c->sack_n, 0, "the second RTO clears the scoreboard");
    h_skip_out();
    /* Go-back-N now sends 2..3 again, as the receiver needs. */
    for (uint32_t a = una + mss; a <= una + 4 * mss; a += mss) {
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = a, .flags = TCP_ACK, .wnd = 65535});
        for (o = h_next(); o != NULL; o = h_next())
            sent_sacked |= o->len > 0 && o->seq == una + 2 * mss;
    }
    cr_assert(sent_sacked, "the segment once SACKed was sent again");
}

/* Found by order of sending (RFC 6675 alone: RACK, when it has records, finds it by
 * time first; test_tcp_rack.c). */
Test(tcp, sack_lost_retransmission_is_sent_again_without_rto)
{
    static const unsigned lose[] = {1};
    struct sack_peer p;
    struct tcp_conn *c;

    H.conf.max_rack_blocks = 0;
    c = sack_sender(&p, 1, lose, 1);
    uint64_t t0 = h_now();

    p.lose_first[1] = 2;                /* the original and its first retransmission */
    sack_peer_run(&p);
    cr_assert_eq(h_now(), t0, "no timer was needed");
    for (unsigned i = 0; i < SND_SEGS; i++)
        cr_assert(p.have[i], "segment %u delivered", i);
    cr_assert_eq(p.sent[1], 3, "segment 1 sent three times");
    cr_assert_eq(H.st->stats.lost_rexmits, 1);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    cr_assert_eq(c->snd_una, ISS + 1 + SND_SEGS * 1460);
    for (unsigned i = 0; i < SND_SEGS; i++)
        if (i != 1)
            cr_assert_eq(p.sent[i], 1, "segment %u sent once", i);
}

/* The peer's bare ACK of ack (window 65535), with one SACK block [sack_s, sack_e)
 * when sack_e is not 0. */
static void peer_ack(uint32_t ack, uint32_t sack_s, uint32_t sack_e)
{
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ack, .flags = TCP_ACK, .wnd = 65535,
                         .n_sack = sack_e != 0, .sack = {sack_s, sack_e}});
}

/* A SACK connection with 10 segments sent, all unacknowledged; returns it. */
static struct tcp_conn *tlp_sender(int sack)
{
    struct tcp_conn *c;

    h_start();
    H.peer_sack = sack;
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(10 * 1460, 0, 1460)), 0);
    h_skip_out();
    return c;
}

Test(tcp, tail_loss_probe_starts_recovery_long_before_the_rto)
{
    struct tcp_conn *c = tlp_sender(1);
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;
    uint64_t waited;

    /* 0..6 arrive; 7, 8, 9 (the tail) are lost: no duplicate ACK will ever come. */
    peer_ack(una + 7 * mss, 0, 0);
    h_skip_out();
    waited = h_wait_out(10000);
    cr_assert_lt(waited, tcp_timer_rto(c), "the probe comes before the RTO");
    cr_assert_geq(waited, TCP_PTO_MIN_MS);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una + 9 * mss, "the last segment is the probe");
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    /* Its SACK shows 7 and 8 missing: recovery starts now, 7 is sent at once. */
    peer_ack(una + 7 * mss, una + 9 * mss, una + 10 * mss);
    o = h_next();
    cr_assert_not_null(o, "the first hole is retransmitted on the probe's ACK");
    cr_assert_eq(o->seq, una + 7 * mss);
    cr_assert(c->flags & TCPF_SACK_RECOVERY);
    cr_assert_eq(H.st->stats.tlp_recoveries, 1);
    peer_ack(una + 8 * mss, una + 9 * mss, una + 10 * mss);
    for (o = h_next(); o != NULL && o->len == 0; o = h_next())
        ;
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una + 8 * mss, "then the second");
    peer_ack(una + 10 * mss, 0, 0);
    cr_assert_eq(c->snd_una, una + 10 * mss);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0, "no RTO at all");
}

Test(tcp, a_probe_that_repairs_the_only_loss_reduces_cwnd_and_a_dsack_does_not)
{
    struct tcp_conn *c = tlp_sender(1);
    uint32_t una = ISS + 1, mss = 1460, cwnd;

    /* Only the last segment was lost: the probe (its retransmission) repairs it. */
    peer_ack(una + 9 * mss, 0, 0);
    h_skip_out();
    h_wait_out(10000);
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    h_skip_out();
    cwnd = c->cwnd;
    peer_ack(una + 10 * mss, 0, 0);
    cr_assert_eq(H.st->stats.tlp_repairs, 1);
    cr_assert_lt(c->cwnd, cwnd, "a repaired loss is a loss: cwnd reduced");

    /* Next flight: the last segment's ACK was only late; the probe draws a D-SACK. */
    cr_assert_eq(tcp_send(c, h_payload(2 * mss, 0, 1460)), 0);
    h_skip_out();
    peer_ack(una + 11 * mss, 0, 0);
    h_skip_out();
    h_wait_out(10000);
    cr_assert_eq(H.st->stats.tlp_probes, 2);
    h_skip_out();
    cwnd = c->cwnd;
    peer_ack(una + 12 * mss, una + 11 * mss, una + 12 * mss);
    cr_assert_eq(H.st->stats.tlp_repairs, 1, "a D-SACKed probe repaired nothing");
    cr_assert_geq(c->cwnd, cwnd);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp, a_lost_fin_alone_is_probed_once_at_the_pto_then_sent_again_by_the_rto)
{
    struct tcp_conn *c = tlp_sender(1);
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;
    uint64_t waited;

    peer_ack(una + 10 * mss, 0, 0);
    tcp_shutdown(c);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert(o->flags & TCP_FIN);
    h_skip_out();                       /* the FIN is lost */
    waited = h_wait_out(5000);
    o = h_next();
    cr_assert_not_null(o, "nothing sent within 5 s");
    cr_assert(o->flags & TCP_FIN, "the FIN again");
    cr_assert_eq(o->seq, una + 10 * mss);
    cr_assert_eq(o->len, 0);
    /* One segment's PTO (2 SRTT + WCDelAckT) is capped at the RTO (as Linux): it may
     * come when the RTO would, but as a probe, with no backoff and no RTO's cwnd. */
    cr_assert_leq(waited, tcp_timer_rto(c), "no later than the RTO");
    cr_assert_eq(H.st->stats.tlp_probes, 1, "by the loss probe");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    cr_assert_eq(c->rexmt_shift, 0);
    h_skip_out();                       /* the probe is lost too: the RTO, no second probe */
    h_wait_out(5000);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert(o->flags & TCP_FIN);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1, "by the RTO");
    cr_assert_eq(H.st->stats.tlp_probes, 1, "one probe until an ACK answers");
    peer_ack(una + 10 * mss + 1, 0, 0);
    cr_assert_eq(c->state, TCP_FIN_WAIT_2);
}

Test(tcp, the_loss_probe_of_the_last_data_segment_carries_the_fin_sent_after_it)
{
    struct tcp_conn *c = tlp_sender(1);
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;

    tcp_shutdown(c);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert(o->flags & TCP_FIN);
    cr_assert_eq(o->seq, una + 10 * mss);
    h_skip_out();
    peer_ack(una + 9 * mss, 0, 0);      /* 9 and the FIN are lost */
    h_skip_out();
    h_wait_out(5000);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, una + 9 * mss, "the last segment again");
    cr_assert_eq(o->len, mss);
    cr_assert(o->flags & TCP_FIN, "with the FIN");
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    peer_ack(una + 10 * mss + 1, 0, 0);
    cr_assert_eq(c->state, TCP_FIN_WAIT_2);
    cr_assert_eq(H.st->stats.tlp_repairs, 1, "the probe repaired the tail");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp, a_window_limited_tail_is_probed_with_the_last_segment_sent)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t una = ISS + 1, mss = 1460;
    uint64_t waited;
    unsigned n = 0;

    /* The peer's window holds 10 segments; 20 are queued: 10 wait for it to open. */
    h_start();
    H.peer_sack = 1;
    c = h_accept_quiet(-1, (uint16_t)(10 * mss));
    cr_assert_eq(tcp_send(c, h_payload(20 * 1460, 0, 1460)), 0);
    while ((o = h_next()) != NULL)
        n += o->len != 0;
    cr_assert_eq(n, 10, "the window lets 10 go");
    /* 0..6 arrive, their ACK keeps the window's right edge where it was; 7..9 lost. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + 7 * mss, .flags = TCP_ACK,
                         .wnd = (uint16_t)(3 * mss)});
    h_skip_out();
    waited = h_wait_out(10000);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_lt(waited, tcp_timer_rto(c), "the probe comes before the RTO");
    cr_assert_eq(o->seq, una + 9 * mss, "no new data may go: the last segment sent again");
    cr_assert_eq(o->len, mss);
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    /* Its SACK shows 7 and 8 missing: recovery starts now. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + 7 * mss, .flags = TCP_ACK,
                         .wnd = (uint16_t)(3 * mss), .n_sack = 1,
                         .sack = {una + 9 * mss, una + 10 * mss}});
    o = h_next();
    cr_assert_not_null(o, "the first hole is retransmitted on the probe's ACK");
    cr_assert_eq(o->seq, una + 7 * mss);
    cr_assert_eq(H.st->stats.tlp_recoveries, 1);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp, no_loss_probe_without_sack)
{
    struct tcp_conn *c = tlp_sender(0);
    uint64_t waited;

    waited = h_wait_out(10000);
    cr_assert_geq(waited, tcp_timer_rto(c) / 2, "the first timer is the RTO");
    cr_assert_eq(H.st->stats.tlp_probes, 0);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
}

Test(tcp, without_sack_the_same_losses_go_through_newreno)
{
    static const unsigned lose[] = {1, 3, 5};
    struct sack_peer p;
    struct tcp_conn *c = sack_sender(&p, 0, lose, 3);

    cr_assert(!(c->flags & TCPF_SACK));
    sack_peer_run(&p);
    for (unsigned i = 0; i < SND_SEGS; i++)
        cr_assert(p.have[i], "segment %u delivered", i);
    cr_assert_eq(H.st->stats.fast_retrans, 1);
    cr_assert_eq(H.st->stats.partial_acks, 2, "NewReno: one hole per partial ACK");
    cr_assert_eq(H.st->stats.sack_recoveries, 0);
    cr_assert_eq(H.st->stats.sack_rexmits, 0);
    cr_assert_eq(H.st->stats.sack_blocks_rcvd, 0);
}

Test(tcp, sack_peer_without_blocks_falls_back_to_newreno)
{
    static const unsigned lose[] = {1};
    struct sack_peer p;
    struct tcp_conn *c = sack_sender(&p, 1, lose, 1);

    p.sack = 0;                         /* negotiated, but never sends a block */
    cr_assert(c->flags & TCPF_SACK);
    sack_peer_run(&p);
    for (unsigned i = 0; i < SND_SEGS; i++)
        cr_assert(p.have[i]);
    cr_assert_eq(H.st->stats.fast_retrans, 1);
    cr_assert_eq(H.st->stats.sack_newreno_fallbacks, 1);
    cr_assert_eq(H.st->stats.sack_recoveries, 0);
}

Test(tcp, bogus_sack_blocks_are_ignored)
{
    struct tcp_conn *c;
    uint32_t una = ISS + 1, mss = 1460;
    static const uint8_t bad_len[] = {1, 1, 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    h_start();
    H.peer_sack = 1;
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(4 * mss, 0, 1460)), 0);
    h_skip_out();
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + mss, .flags = TCP_ACK, .wnd = 65535});
    h_skip_out();
    uint32_t max = c->snd_max;
#define SACK1(s, e) h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + mss, .flags = TCP_ACK, \
                                         .wnd = 65535, .n_sack = 1, .sack = {(s), (e)}})
    SACK1(una + 2 * mss, max + 1);                  /* beyond snd_max */
    SACK1(una + 3 * mss, una + 2 * mss);            /* start after end */
    SACK1(una + 2 * mss, una + 2 * mss);            /* empty */
    SACK1(una, una + 2 * mss);                      /* straddles snd_una */
    SACK1(una + mss, una + 2 * mss);                /* starts at snd_una */
    SACK1(max + 0x10000000u, max + 0x10000100u);    /* far ahead */
    cr_assert_eq(H.st->stats.sack_blocks_bad, 6);
    SACK1(una, una + mss);                          /* at or below snd_una: D-SACK */
    cr_assert_eq(H.st->stats.sack_blocks_old, 1);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una + mss, .flags = TCP_ACK, .wnd = 65535,
                         .raw_opt = bad_len, .raw_optlen = sizeof(bad_len)});
    cr_assert_eq(H.st->stats.sack_blocks_bad, 7, "a SACK option of impossible length");
    cr_assert_eq(c->sack_n, 0, "nothing entered the scoreboard");
    cr_assert_eq(H.st->stats.sack_blocks_rcvd, 0);
    cr_assert_eq(H.st->stats.sack_recoveries, 0);
    cr_assert_eq(H.st->stats.sack_newreno_fallbacks, 1,
                 "the duplicates alone make a NewReno recovery, counted");
    /* A good one still counts. */
    SACK1(una + 2 * mss, una + 3 * mss);
    cr_assert_eq(c->sack_n, 1);
    cr_assert_eq(H.st->stats.sack_blocks_rcvd, 1);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
#undef SACK1
}

Test(tcp, sack_scoreboard_is_bounded)
{
    struct tcp_conn *c;
    uint32_t una = ISS + 1, mss = 1460;

    h_start();
    H.peer_sack = 1;
    c = h_accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(10 * mss, 0, 1460)), 0);
    h_skip_out();
    /* Every other 100 bytes SACKed, from the top down: more ranges than the board. */
    for (uint32_t i = 0; i < 2 * TCP_SACK_MAX + 4; i++) {
        uint32_t s = una + 10 * mss - 200 * (i + 1);
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = una, .flags = TCP_ACK, .wnd = 65535,
                             .n_sack = 1, .sack = {s, s + 100}});
    }
    cr_assert_eq(c->sack_n, TCP_SACK_MAX);
    cr_assert_gt(H.st->stats.sack_board_full, 0);
    for (unsigned i = 1; i < c->sack_n; i++)
        cr_assert(SEQ_LT(c->sack[i - 1].end, c->sack[i].start), "sorted, disjoint");
}

/* ---- The TIME_WAIT table (tcp_tw.h) ---- */

#define PEER_TS 7000000u

static uint16_t tw_wnd;     /* tw_enter: the window of the ACK of the FIN */

/* A passive connection from the peer's port sport (Timestamps when ts, TSval tsval,
 * then tsval + 1 on its FIN) that we close first: into TIME_WAIT. Segments sent so far
 * are skipped. */
static void tw_enter(uint16_t sport, int ts, uint32_t tsval)
{
    struct h_out *o;

    if (tcp_tcb_listener(H.st, ip4(H_LOCAL), H_LPORT) == NULL)
        cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 65535, .mss = 1460,
                         .wscale = -1, .ts = ts, .tsval = tsval, .sport = sport});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 65535,
                         .ts = ts, .tsval = tsval, .tsecr = o->tsval, .sport = sport});
    cr_assert_eq(h_last_ev(), TCP_EV_ESTABLISHED);
    cr_assert_eq(tcp_shutdown(H.conn), 0);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 65535, .ts = ts, .tsval = tsval + 1, .sport = sport});
    cr_assert_eq(h_last_ev(), TCP_EV_CLOSED);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->flags, TCP_ACK, "the FIN is acknowledged before the block goes");
    cr_assert_eq(o->ack, PEER_ISN + 2);
    tw_wnd = o->wnd;
    h_skip_out();
}

/* A segment from the peer's port sport to a connection in TIME_WAIT. */
static void tw_seg(uint16_t sport, uint32_t seq, uint8_t flags, uint32_t len)
{
    static const uint8_t d[100];

    h_in(&(struct h_seg){.seq = seq, .ack = ISS + 2, .flags = flags, .wnd = 65535,
                         .data = len ? d : NULL, .len = len, .sport = sport});
}

/*
 * A connection in TIME_WAIT holds no control block: with a pool of one, a new
 * connection gets the block at once, passive (a SYN-ACK, no cookie) or active, while
 * the entries answer for the closed ones. (The stack used to keep the block for
 * 2 MSL and hand the oldest one over only once the pool was empty.)
 */
Test(tcp, time_wait_gives_the_control_block_back_at_once)
{
    struct tcp_conn *n;

    H.conf.max_conns = 1;
    h_start();
    tw_enter(40000, 0, 0);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    cr_assert_eq(H.st->n_state[TCP_CLOSED], 0);
    cr_assert_eq(H.st->n_conns, 1, "the entry is counted");
    cr_assert_not_null(H.st->free_list, "the block is back in the pool");
    tw_enter(40001, 0, 0);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 2);
    cr_assert_eq(H.st->stats.syncookies_sent, 0, "a block for the second SYN: no cookie");
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &n), 0);
    cr_assert_eq(H.st->n_state[TCP_SYN_SENT], 1);
    cr_assert_eq(H.st->n_conns, 3);
    cr_assert_eq(H.st->stats.refused_conns, 0);
    cr_assert_eq(H.st->stats.time_wait_evicted, 0);
}

/* The peer's FIN again (our ACK was lost): ACKed, and 2 MSL from then. */
Test(tcp, time_wait_entry_acks_a_retransmitted_fin_and_restarts_2msl)
{
    struct h_out *o;

    H.conf.time_wait_ms = 5000;
    h_start();
    tw_enter(40000, 0, 0);
    h_advance(3000);
    tw_seg(40000, PEER_ISN + 1, TCP_ACK | TCP_FIN, 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK);
    cr_assert_eq(o->seq, ISS + 2);
    cr_assert_eq(o->ack, PEER_ISN + 2);
    cr_assert_eq(o->wnd, tw_wnd, "the window as the last ACK had it");
    cr_assert_eq(H.st->stats.time_wait_acks, 1);
    h_advance(4999);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1, "2 MSL from the retransmitted FIN");
    h_advance(1);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 0);
    cr_assert_eq(H.st->n_conns, 0);
    cr_assert_eq(H.wheel.pending, 0, "the table's timer is not left armed");
    /* Gone: the FIN now draws a reset. */
    tw_seg(40000, PEER_ISN + 1, TCP_ACK | TCP_FIN, 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert(o->flags & TCP_RST);
}

/* Segments out of the window, in it, or a FIN elsewhere than the peer's: ACKed, and
 * the entry still goes 2 MSL after the FIN. */
Test(tcp, time_wait_entry_acks_other_segments_without_restarting_2msl)
{
    struct h_out *o;

    H.conf.time_wait_ms = 5000;
    h_start();
    tw_enter(40000, 0, 0);
    h_advance(2000);
    tw_seg(40000, PEER_ISN + 2 + 70000, TCP_ACK, 0);        /* beyond the window */
    h_advance(1000);
    tw_seg(40000, PEER_ISN + 2, TCP_ACK, 10);               /* acceptable, with data */
    h_advance(1000);
    tw_seg(40000, PEER_ISN + 500, TCP_ACK | TCP_FIN, 0);    /* not the peer's FIN */
    for (int i = 0; i < 3; i++) {
        o = h_next();
        cr_assert_not_null(o, "segment %d answered", i);
        cr_assert_eq(o->flags, TCP_ACK);
        cr_assert_eq(o->ack, PEER_ISN + 2);
    }
    cr_assert_null(h_next());
    cr_assert_eq(H.st->stats.time_wait_acks, 3);
    h_advance(999);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    h_advance(1);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 0, "2 MSL from the FIN, not restarted");
}

/* A SYN without timestamps reuses the 4-tuple only with a sequence number above
 * RCV.NXT; a lower one is answered with the ACK and the entry stays. */
Test(tcp, time_wait_syn_with_a_lower_sequence_number_does_not_reuse_it)
{
    struct h_out *o;

    h_start();
    tw_enter(40000, 0, 0);
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 100, .wscale = -1,
                         .sport = 40000});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK);
    cr_assert_eq(o->ack, PEER_ISN + 2);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    cr_assert_eq(H.st->n_state[TCP_SYN_RECEIVED], 0);
    cr_assert_eq(H.st->stats.time_wait_reused, 0);
    h_in(&(struct h_seg){.seq = PEER_ISN + 100000, .flags = TCP_SYN, .wnd = 100,
                         .wscale = -1, .sport = 40000});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 0);
    cr_assert_eq(H.st->n_state[TCP_SYN_RECEIVED], 1);
    cr_assert_eq(H.st->stats.time_wait_reused, 1);
}

/* With timestamps (RFC 6191) the TSval decides, not the sequence number: an older
 * TSval with a higher sequence number is not a new incarnation, a newer TSval with
 * a lower one is. The entry's ACK carries TS, TSecr its TS.Recent (the FIN's TSval). */
Test(tcp, time_wait_syn_reuse_by_a_newer_timestamp)
{
    struct h_out *o;

    h_start();
    tw_enter(40000, 1, PEER_TS);
    h_in(&(struct h_seg){.seq = PEER_ISN + 100000, .flags = TCP_SYN, .wnd = 100,
                         .wscale = -1, .ts = 1, .tsval = PEER_TS, .sport = 40000});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK, "an older TSval: not reused");
    cr_assert(o->ts);
    cr_assert_eq(o->tsecr, PEER_TS + 1);
    cr_assert_eq(o->optlen, TCP_TS_OPTLEN);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    cr_assert_eq(H.st->stats.time_wait_reused, 0);
    h_in(&(struct h_seg){.seq = PEER_ISN - 5000, .flags = TCP_SYN, .wnd = 100, .wscale = -1,
                         .ts = 1, .tsval = PEER_TS + 1000, .sport = 40000});
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK, "a newer TSval, a lower sequence: reused");
    cr_assert_eq(o->tsecr, PEER_TS + 1000);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 0);
    cr_assert_eq(H.st->stats.time_wait_reused, 1);
}

/* A full table evicts its oldest entry (counted); the others stay. */
Test(tcp, time_wait_full_table_evicts_the_oldest)
{
    struct h_out *o;

    H.conf.max_time_wait = 2;
    h_start();
    tw_enter(40000, 0, 0);
    tw_enter(40001, 0, 0);
    cr_assert_eq(H.st->stats.time_wait_evicted, 0);
    tw_enter(40002, 0, 0);
    cr_assert_eq(H.st->stats.time_wait_evicted, 1);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 2);
    cr_assert_eq(H.st->n_conns, 2);
    tw_seg(40000, PEER_ISN + 1, TCP_ACK | TCP_FIN, 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert(o->flags & TCP_RST, "the oldest is gone");
    tw_seg(40001, PEER_ISN + 1, TCP_ACK | TCP_FIN, 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK);
    tw_seg(40002, PEER_ISN + 1, TCP_ACK | TCP_FIN, 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_ACK);
}

/* A flood of segments matching entries (spoofed: anyone who knows a 4-tuple) gets at
 * most challenge_ack_per_conn ACKs a second per entry and the challenge ACK budget a
 * second in all: the stack is no amplifier. */
Test(tcp, time_wait_acks_are_rate_limited)
{
    const unsigned n = 30;
    uint64_t sent;

    H.conf.challenge_ack_per_s = 10;    /* a budget in [5, 15) a second */
    h_start();
    for (unsigned i = 0; i < n; i++)
        tw_enter((uint16_t)(40000 + i), 0, 0);
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], n);
    for (int i = 0; i < 100; i++)
        tw_seg(40000, PEER_ISN + 2 + 70000, TCP_ACK, 0);
    cr_assert_eq(H.st->stats.time_wait_acks, 2, "one entry: its own limit");
    cr_assert_eq(H.st->stats.time_wait_ack_limited, 98);
    for (unsigned i = 1; i < n; i++)
        tw_seg((uint16_t)(40000 + i), PEER_ISN + 2 + 70000, TCP_ACK, 0);
    sent = H.st->stats.time_wait_acks;
    cr_assert_geq(sent, 5);
    cr_assert_lt(sent, 15, "the stack's budget: %lu", (unsigned long)sent);
    cr_assert_eq(sent + H.st->stats.time_wait_ack_limited, 100 + n - 1);
    cr_assert_eq(h_pending_out(), sent, "every ACK counted went out, no other");
    h_skip_out();
    h_advance(1000);
    tw_seg(40000, PEER_ISN + 2 + 70000, TCP_ACK, 0);
    cr_assert_eq(h_pending_out(), 1, "the next second, a fresh budget");
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], n, "the flood restarted nothing");
}

/* An active open does not pick a 4-tuple held in TIME_WAIT (here the only port). */
Test(tcp, active_open_avoids_a_4_tuple_in_time_wait)
{
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.port_lo = H.conf.port_hi = 50000;
    H.conf.time_wait_ms = 2000;
    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
    o = h_next();
    cr_assert_eq(o->sport, 50000);
    h_in(&(struct h_seg){.seq = 7000, .ack = o->seq + 1, .flags = TCP_SYN | TCP_ACK,
                         .wnd = 65535, .mss = 1460, .wscale = -1, .sport = 8080,
                         .dport = 50000});
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert_eq(tcp_shutdown(c), 0);
    h_in(&(struct h_seg){.seq = 7001, .ack = o->seq + 2, .flags = TCP_ACK | TCP_FIN,
                         .wnd = 65535, .sport = 8080, .dport = 50000});
    cr_assert_eq(H.st->n_state[TCP_TIME_WAIT], 1);
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c),
                 LBD_EBUSY);
    cr_assert_eq(H.st->stats.refused_ports, 1);
    h_advance(2000);
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
}

/* ---- Timestamps and PAWS (RFC 7323) ---- */


Test(tcp, timestamps_negotiated_only_when_both_sides_offer_them)
{
    static const uint8_t syn_head[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10};
    struct tcp_conn *c, *c2;
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 0, h_on_event, NULL), 0);
    /* Passive, offered: answered in the SYN-ACK with TSecr = the peer's TSval. */
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .mss = 1460,
                         .wscale = 7, .sack_ok = 1, .ts = 1, .tsval = PEER_TS,
                         .sport = 1001});
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert(o->ts, "SYN-ACK answers Timestamps");
    cr_assert_eq(o->tsecr, PEER_TS);
    cr_assert(o->sack_ok);
    cr_assert_eq(o->mss, 1460);
    cr_assert_eq(o->wscale, 7);
    cr_assert_eq(o->optlen, 20, "MSS, SACK-permitted, TS, NOP, WS as Linux");
    cr_assert_eq(memcmp(o->opt, syn_head, sizeof(syn_head)), 0);
    uint32_t synack_tsval = o->tsval;
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .ts = 1, .tsval = PEER_TS + 1, .tsecr = synack_tsval,
                         .sport = 1001});
    cr_assert(H.conn->flags & TCPF_TS);
    cr_assert_eq(H.conn->ts_recent, PEER_TS + 1);
    /* Passive, not offered: not in the SYN-ACK, not used, and no segment carries it. */
    h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 1000, .mss = 1460,
                         .wscale = 7, .sport = 1002});
    o = h_next();
    cr_assert(!o->ts);
    cr_assert_eq(o->optlen, 8, "MSS, NOP, WS as before");
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 1000,
                         .sport = 1002});
    cr_assert(!(H.conn->flags & TCPF_TS));
    cr_assert_eq(tcp_send(H.conn, h_payload(100, 0, 100)), 0);
    o = h_next();
    cr_assert_eq(o->len, 100);
    cr_assert(!o->ts);
    cr_assert_eq(o->optlen, 0);
    /* Active: always offered, TSecr 0; used only when the SYN-ACK answers. */
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN);
    cr_assert(o->ts, "our SYN offers Timestamps");
    cr_assert_eq(o->tsecr, 0);
    cr_assert(o->sack_ok);
    cr_assert_eq(o->wscale, 7);
    cr_assert_eq(o->optlen, 20);
    cr_assert_eq(memcmp(o->opt, syn_head, sizeof(syn_head)), 0);
    uint32_t syn_tsval = o->tsval;
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c2), 0);
    h_skip_out();
    h_in(&(struct h_seg){.seq = 9000, .ack = ISS + 1, .flags = TCP_SYN | TCP_ACK, .wnd = 30000,
                         .mss = 1460, .wscale = 2, .sack_ok = 1, .ts = 1, .tsval = 55,
                         .tsecr = syn_tsval, .sport = 8080, .dport = c->key.lport});
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert(c->flags & TCPF_TS);
    o = h_next();
    cr_assert_not_null(o, "the handshake's ACK");
    cr_assert(o->ts);
    cr_assert_eq(o->tsecr, 55);
    /* The peer without it. */
    h_in(&(struct h_seg){.seq = 9000, .ack = ISS + 1, .flags = TCP_SYN | TCP_ACK, .wnd = 30000,
                         .mss = 1460, .wscale = 2, .sport = 8080, .dport = c2->key.lport});
    cr_assert_eq(tcp_conn_state(c2), TCP_ESTABLISHED);
    cr_assert(!(c2->flags & TCPF_TS));
    o = h_next();
    cr_assert_not_null(o);
    cr_assert(!o->ts, "nothing without negotiation");
    cr_assert_eq(o->optlen, 0);
}

Test(tcp, timestamps_off_in_the_settings_are_neither_offered_nor_answered)
{
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.timestamps = false;
    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN);
    cr_assert(!o->ts);
    cr_assert(o->sack_ok);
    cr_assert_eq(o->optlen, 12, "MSS, NOP, WS, NOP, NOP, SACK-permitted as before");
    H.peer_ts = 1;
    H.peer_tsval = PEER_TS;
    c = h_accept(7, 1000);
    cr_assert(!(c->flags & TCPF_TS));
    cr_assert(!H.out[H.n_out - 1].ts, "the SYN-ACK does not answer");
}


/* A connection accepted from a peer that offers timestamps (TSval PEER_TS), window
 * scale ws, window 65535, its handshake's segments skipped. */
static struct tcp_conn *ts_accept_quiet(int ws)
{
    h_start();
    H.peer_ts = 1;
    H.peer_tsval = PEER_TS;
    return h_accept_quiet(ws, 65535);
}

Test(tcp, tsval_is_the_ms_clock_plus_the_offset_and_tsecr_echoes_ts_recent)
{
    struct tcp_conn *c;
    struct h_out *o;

    c = ts_accept_quiet(7);
    cr_assert(c->flags & TCPF_TS);
    cr_assert_eq(tcp_send(c, h_payload(2000, 0, 2000)), 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert(o->ts);
    cr_assert_eq(o->optlen, 12, "NOP, NOP, TS");
    cr_assert_eq(o->ts_off, 2, "TS after two NOPs, 4-byte aligned");
    cr_assert_eq(o->opt[0], 1);
    cr_assert_eq(o->opt[1], 1);
    cr_assert_eq(o->len, 1460 - 12, "the option comes out of the MSS");
    cr_assert_eq(o->tsval, (uint32_t)h_now() + c->ts_offset);
    cr_assert_eq(o->tsecr, PEER_TS);
    uint32_t t0 = o->tsval;
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->len, 2000 - 1448);
    cr_assert_eq(o->tsval, t0, "same millisecond");
    h_advance(37);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2001, .flags = TCP_ACK, .wnd = 65535,
                         .ts = 1, .tsval = PEER_TS + 5, .tsecr = t0});
    cr_assert_eq(c->ts_recent, PEER_TS + 5);
    cr_assert_eq(tcp_send(c, h_payload(10, 0, 10)), 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->tsval, t0 + 37, "TSval follows the clock");
    cr_assert_eq(o->tsecr, PEER_TS + 5);
    /* Every segment carries it: a pure ACK too, and a RST does not need to. */
    h_advance(1000);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2011, .flags = TCP_ACK, .wnd = 65535,
                         .ts = 1, .tsval = PEER_TS + 9, .tsecr = t0 + 37,
                         .data = (const uint8_t *)"x", .len = 1});
    h_skip_out();                       /* the 10 bytes went again meanwhile */
    h_wait_out(100);
    o = h_next();
    cr_assert_not_null(o, "delayed ACK");
    cr_assert_eq(o->len, 0);
    cr_assert(o->ts);
    cr_assert_geq(o->tsval, t0 + 1037);
    cr_assert_eq(o->tsecr, PEER_TS + 9);
}

Test(tcp, ts_recent_is_updated_only_up_to_last_ack_sent)
{
    uint8_t d[4000];
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t b = PEER_ISN + 1;

    c = ts_accept_quiet(7);
    h_pattern(d, sizeof(d), 0);
#define TSEG(off, n, tv) h_in(&(struct h_seg){.seq = b + (off), .ack = ISS + 1, .flags = TCP_ACK, \
                                          .wnd = 65535, .data = d + (off), .len = (n), \
                                          .ts = 1, .tsval = (tv)})
    /* The first segment starts at Last.ACK.sent: taken; its ACK is delayed. */
    TSEG(0, 100, PEER_TS + 10);
    cr_assert_eq(c->ts_recent, PEER_TS + 10);
    cr_assert_eq(h_pending_out(), 0);
    /* The second starts beyond Last.ACK.sent (the ACK was not sent): not taken, and
     * the ACK for both echoes the earlier (RFC 7323 section 4.3 case A). */
    TSEG(100, 100, PEER_TS + 20);
    cr_assert_eq(c->ts_recent, PEER_TS + 10);
    o = h_next();
    cr_assert_not_null(o, "every second segment");
    cr_assert_eq(o->ack, b + 200);
    cr_assert_eq(o->tsecr, PEER_TS + 10);
    /* The next one starts at the new Last.ACK.sent: taken. */
    TSEG(200, 100, PEER_TS + 30);
    cr_assert_eq(c->ts_recent, PEER_TS + 30);
    h_skip_out();
    /* Out of order (case B): beyond Last.ACK.sent, not taken; the duplicate ACK echoes
     * the last in-order segment. */
    TSEG(1000, 100, PEER_TS + 40);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->ack, b + 300);
    cr_assert_eq(o->tsecr, PEER_TS + 30);
    cr_assert_eq(c->ts_recent, PEER_TS + 30);
    /* The hole filled (case C): its TSval is taken, the newest. */
    TSEG(300, 700, PEER_TS + 50);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->ack, b + 1100);
    cr_assert_eq(o->tsecr, PEER_TS + 50);
    /* An equal TSval is taken (>=); a retransmission of old data with a newer TSval
     * (its start is below Last.ACK.sent) is taken too. */
    TSEG(1100, 100, PEER_TS + 50);
    cr_assert_eq(c->ts_recent, PEER_TS + 50);
    h_skip_out();
    TSEG(1100, 200, PEER_TS + 60);
    cr_assert_eq(c->ts_recent, PEER_TS + 60);
    /* Old data only (outside the window) is answered, not taken. */
    TSEG(1000, 100, PEER_TS + 70);
    cr_assert_eq(c->ts_recent, PEER_TS + 60);
    cr_assert_eq(H.st->stats.paws_dropped, 0);
#undef TSEG
}

Test(tcp, paws_drops_an_old_tsval_and_acks_it)
{
    uint8_t d[100];
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t b = PEER_ISN + 1;

    c = ts_accept_quiet(7);
    h_pattern(d, sizeof(d), 0);
    /* In window, in order, but TSval older than TS.Recent: an old duplicate from an
     * earlier wrap of the sequence space. Dropped, answered with an ACK. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = b, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 65535,
                                      .data = d, .len = 100, .ts = 1, .tsval = PEER_TS - 1}),
                 DROP_NONE);
    cr_assert_eq(H.st->stats.paws_dropped, 1);
    cr_assert_eq(c->rcv_nxt, b, "not taken");
    cr_assert_eq(tcp_recv_bytes(c), 0);
    cr_assert_eq(c->ts_recent, PEER_TS, "TS.Recent unchanged");
    o = h_next();
    cr_assert_not_null(o, "an ACK at once");
    cr_assert_eq(o->ack, b);
    cr_assert_eq(o->len, 0);
    cr_assert_eq(o->tsecr, PEER_TS);
    /* Its ACK field is not taken either. */
    cr_assert_eq(tcp_send(c, h_payload(100, 0, 100)), 0);
    h_skip_out();
    h_in(&(struct h_seg){.seq = b, .ack = ISS + 101, .flags = TCP_ACK, .wnd = 65535, .ts = 1,
                         .tsval = PEER_TS - 1000});
    cr_assert_eq(H.st->stats.paws_dropped, 2);
    cr_assert_eq(c->snd_una, ISS + 1);
    /* TSval wrap-around: 2^31 - 1 ahead is newer, 2^31 + 1 ahead is older. */
    h_skip_out();
    h_in(&(struct h_seg){.seq = b, .ack = ISS + 101, .flags = TCP_ACK, .wnd = 65535, .ts = 1,
                         .tsval = PEER_TS + 0x80000001u});
    cr_assert_eq(H.st->stats.paws_dropped, 3);
    /* A RST is not subject to PAWS (RFC 7323 5.3 R1): exactly at rcv_nxt it resets. */
    /* The same segment with a current TSval is taken. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = b, .ack = ISS + 101, .flags = TCP_ACK, .wnd = 65535,
                                      .data = d, .len = 100, .ts = 1, .tsval = PEER_TS}),
                 DROP_NONE);
    cr_assert_eq(H.st->stats.paws_dropped, 3);
    cr_assert_eq(c->rcv_nxt, b + 100);
    cr_assert_eq(c->snd_una, ISS + 101);
    /* After 24 days without an update TS.Recent is no longer valid (section 5.5). */
    c->ts_recent_age -= (uint32_t)(TCP_PAWS_IDLE_MS / 1024) + 1;
    h_in(&(struct h_seg){.seq = b + 100, .ack = ISS + 101, .flags = TCP_ACK, .wnd = 65535,
                         .data = d, .len = 100, .ts = 1, .tsval = 5});
    cr_assert_eq(H.st->stats.paws_dropped, 3);
    cr_assert_eq(c->rcv_nxt, b + 200, "accepted");
    cr_assert_eq(c->ts_recent, 5, "and its TSval is TS.Recent");
    /* A segment without the option is accepted, as Linux does. */
    h_in(&(struct h_seg){.seq = b + 200, .ack = ISS + 101, .flags = TCP_ACK, .wnd = 65535,
                         .data = d, .len = 100});
    cr_assert_eq(c->rcv_nxt, b + 300);
    /* RST with an old TSval at rcv_nxt still resets (PAWS leaves RSTs alone). */
    h_in(&(struct h_seg){.seq = b + 300, .flags = TCP_RST, .ts = 1, .tsval = 1});
    cr_assert_eq(h_last_ev(), TCP_EV_RESET);
    cr_assert_eq(H.st->stats.paws_dropped, 3);
}

Test(tcp, rtt_is_sampled_from_tsecr_on_a_retransmission)
{
    struct tcp_conn *c;
    struct h_out *o;

    c = ts_accept_quiet(-1);
    cr_assert_eq(H.st->stats.ts_rtt_samples, 1, "the handshake's ACK echoed the SYN-ACK");
    cr_assert_eq(tcp_send(c, h_payload(1000, 0, 1000)), 0);
    o = h_next();
    uint32_t first = o->tsval;
    h_wait_out(10000);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, ISS + 1, "retransmitted");
    cr_assert_eq(H.st->stats.segs_retrans, 1);
    uint32_t rx = o->tsval;
    cr_assert_gt(rx - first, 150, "sent by the RTO, later");
    uint32_t srtt = c->srtt, samples = (uint32_t)H.st->stats.rtt_samples;
    h_advance(30);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1001, .flags = TCP_ACK,
                         .wnd = 65535, .ts = 1, .tsval = PEER_TS + 1, .tsecr = rx});
    /* Karn's rule would take no sample; the echo says the ACK is the retransmission's:
     * a sample of 30 ms, not the 30 + RTO since the first transmission. */
    cr_assert_eq(H.st->stats.rtt_samples, samples + 1);
    cr_assert_eq(H.st->stats.ts_rtt_samples, 2);
    cr_assert_eq(c->srtt, (uint32_t)((int32_t)srtt + (30 - (int32_t)(srtt >> 3))));
    /* Every ACK of new data is a sample, not one per flight; an echo from the future
     * or a duplicate ACK is not. */
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    o = h_next();
    uint32_t t1 = o->tsval;
    h_skip_out();
    h_advance(20);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 2001, .flags = TCP_ACK,
                         .wnd = 65535, .ts = 1, .tsval = PEER_TS + 2, .tsecr = t1});
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 3001, .flags = TCP_ACK,
                         .wnd = 65535, .ts = 1, .tsval = PEER_TS + 3, .tsecr = t1});
    cr_assert_eq(H.st->stats.ts_rtt_samples, 4);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 3001, .flags = TCP_ACK,
                         .wnd = 65535, .ts = 1, .tsval = PEER_TS + 4, .tsecr = t1});
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 4001, .flags = TCP_ACK,
                         .wnd = 65535, .ts = 1, .tsval = PEER_TS + 5, .tsecr = t1 + 100000});
    cr_assert_eq(H.st->stats.ts_rtt_samples, 4);
    cr_assert_eq(c->snd_una, ISS + 4001);
}

Test(tcp, timestamps_and_three_sack_blocks_fit_in_40_bytes)
{
    uint8_t d[10000];
    struct h_out *o;
    struct tcp_conn *c;
    uint32_t b = PEER_ISN + 1;

    h_start();
    H.peer_sack = 1;
    H.peer_ts = 1;
    H.peer_tsval = PEER_TS;
    c = h_accept(7, 1000);
    h_skip_out();
    h_pattern(d, sizeof(d), 0);
#define SEG(off, n) h_in(&(struct h_seg){.seq = b + (off), .ack = ISS + 1, .flags = TCP_ACK, \
                                         .wnd = 1000, .data = d + (off), .len = (n), \
                                         .ts = 1, .tsval = PEER_TS})
    SEG(1000, 1000);
    SEG(3000, 1000);
    SEG(5000, 1000);
    SEG(7000, 500);                     /* four runs held */
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->n_sack, 3, "three blocks beside the timestamps");
    cr_assert_str_eq(sack_str(o, b), "7000-7500 5000-6000 3000-4000");
    cr_assert_eq(o->optlen, 40);
    static const uint8_t head[] = {1, 1, 8, 10};
    cr_assert_eq(memcmp(o->opt, head, 4), 0, "NOP, NOP, TS first");
    static const uint8_t sack_head[] = {1, 1, 5, 26};
    cr_assert_eq(memcmp(o->opt + 12, sack_head, 4), 0, "then NOP, NOP, SACK of 3 blocks");
    cr_assert(o->ts);
    cr_assert_eq(o->tsecr, PEER_TS);
    /* Our data goes out with both and stays within the MTU. */
    h_skip_out();
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->n_sack, 3);
    cr_assert(o->ts);
    cr_assert_eq(o->optlen, 40);
    cr_assert_eq(o->len, 1460 - 40, "both options take room from the payload");
    /* The retransmissions (a loss probe, then the RTO's) are cut the same way. */
    h_skip_out();
    o = NULL;
    for (int i = 0; i < 3 && (o == NULL || o->seq != ISS + 1); i++) {
        h_wait_out(10000);
        while ((o = h_next()) != NULL) {
            cr_assert_eq(o->optlen, 40);
            cr_assert_leq(o->len, 1460 - 40);
            if (o->seq == ISS + 1)
                break;
        }
    }
    cr_assert_not_null(o, "the RTO's retransmission");
    cr_assert_eq(o->len, 1460 - 40);
    /* Holes filled: only the timestamps are left. */
    SEG(0, 1000);
    SEG(2000, 1000);
    SEG(4000, 1000);
    SEG(6000, 1000);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->ack, b + 7500);
    cr_assert_eq(o->n_sack, 0);
    cr_assert_eq(o->optlen, 12);
#undef SEG
}

Test(tcp, syn_cookie_connections_carry_timestamps)
{
    struct h_out *o;
    struct tcp_conn *c;

    h_start();
    cr_assert_eq(tcp_listen(H.st, ip4(H_LOCAL), H_LPORT, 1, h_on_event, NULL), 0);
    h_in(&(struct h_seg){.seq = 100, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = 5,
                         .sport = 1001});
    h_skip_out();
    /* Backlog full: the cookie's SYN-ACK answers the peer's Timestamps. */
    h_in(&(struct h_seg){.seq = 200, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = 5,
                         .ts = 1, .tsval = PEER_TS, .sport = 1002});
    o = h_next();
    cr_assert_eq(H.st->stats.syncookies_sent, 1);
    cr_assert(o->ts);
    cr_assert_eq(o->tsecr, PEER_TS);
    cr_assert_eq(o->wscale, 7);
    cr_assert_leq(o->optlen, 40);
    uint32_t cookie = o->seq, synack_tsval = o->tsval;
    h_advance(25);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 201, .ack = cookie + 1, .flags = TCP_ACK,
                                      .wnd = 100, .ts = 1, .tsval = PEER_TS + 3,
                                      .tsecr = synack_tsval, .sport = 1002}), DROP_NONE);
    cr_assert_eq(H.st->stats.syncookies_ok, 1);
    c = H.ev_conn[0];
    cr_assert(c->flags & TCPF_TS, "the ACK's option says both SYNs had it");
    cr_assert_eq(c->ts_recent, PEER_TS + 3);
    cr_assert_eq(H.st->stats.ts_rtt_samples, 1);
    cr_assert_eq(c->srtt >> 3, 25, "the SYN-ACK's round trip, from TSecr");
    /* The same offset as the SYN-ACK's: TSval goes on from it (the peer's PAWS). */
    cr_assert_eq(tcp_send(c, h_payload(10, 0, 10)), 0);
    o = h_next();
    cr_assert(o->ts);
    cr_assert_eq(o->tsval, synack_tsval + 25);
    cr_assert_eq(o->tsecr, PEER_TS + 3);
    /* A cookie SYN without the option gets none. */
    h_in(&(struct h_seg){.seq = 300, .flags = TCP_SYN, .wnd = 1000, .mss = 1460, .wscale = 5,
                         .sport = 1003});
    o = h_next();
    cr_assert(!o->ts);
    cr_assert_eq(H.st->stats.syncookies_sent, 2);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 301, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = 100, .sport = 1003}), DROP_NONE);
    cr_assert(!(H.conn->flags & TCPF_TS));
}

Test(tcp, fast_retransmit_with_timestamps_stays_within_the_mss)
{
    struct tcp_conn *c;
    struct h_out *o;

    c = ts_accept_quiet(7);
    cr_assert_eq(tcp_send(c, h_payload(10 * 1448, 0, 1448)), 0);
    cr_assert_eq(h_pending_out(), 10);
    h_skip_out();
    for (int i = 0; i < 3; i++)
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1, .flags = TCP_ACK,
                             .wnd = 65535, .ts = 1, .tsval = PEER_TS});
    cr_assert_eq(H.st->stats.fast_retrans, 1);
    o = &H.out[H.n_out - 1];
    cr_assert_eq(o->seq, ISS + 1);
    cr_assert(o->ts);
    cr_assert_eq(o->len, 1448, "MSS 1460 less the 12 bytes of the option");
}

Test(tcp, simultaneous_open_with_timestamps)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 7000, h_on_event, NULL, &c), 0);
    o = h_next();
    cr_assert(o->ts);
    uint32_t syn_tsval = o->tsval;
    /* The peer's own SYN crosses ours: our SYN-ACK echoes its TSval. */
    h_advance(3);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 777, .flags = TCP_SYN, .wnd = 5000, .mss = 1000,
                                      .ts = 1, .tsval = PEER_TS, .sport = 7000,
                                      .dport = c->key.lport}), DROP_NONE);
    cr_assert_eq(tcp_conn_state(c), TCP_SYN_RECEIVED);
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert(o->ts);
    cr_assert_eq(o->tsecr, PEER_TS);
    cr_assert_eq(o->tsval, syn_tsval + 3);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 778, .ack = ISS + 1, .flags = TCP_ACK, .wnd = 5000,
                                      .ts = 1, .tsval = PEER_TS + 1, .tsecr = o->tsval,
                                      .sport = 7000, .dport = c->key.lport}), DROP_NONE);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert(c->flags & TCPF_TS);
    cr_assert_eq(c->ts_recent, PEER_TS + 1);
    cr_assert_eq(H.st->stats.ts_rtt_samples, 1, "the SYN-ACK, timed by its echo");
}

/* The source test service (the lab's and tools/bench's far end) sends its stream: byte
 * i of it is tcp_testsvc_byte(i), across segments that start at every offset of the
 * stream's 63-byte line. */
Test(tcp, the_source_test_service_sends_its_stream)
{
    char err[128];
    struct h_out *o;
    uint32_t iss, acked = 0, checked = 0, want = 300000;
    int idle = 0;

    h_start();
    cr_assert_eq(tcp_testsvc_setup(H.st, "source:80", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 65535,
                                      .mss = 1460, .wscale = 7}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    iss = o->seq;
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = iss + 1, .flags = TCP_ACK,
                                      .wnd = 65535}), DROP_NONE);
    while (checked < want && idle < 1000) {
        o = h_next();
        if (o == NULL) {
            /* Everything sent is checked: acknowledge it, the service sends more. */
            acked = checked;
            h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = iss + 1 + acked,
                                 .flags = TCP_ACK, .wnd = 65535});
            if (h_pending_out() == 0) {
                h_advance(1);
                idle++;
            }
            continue;
        }
        cr_assert_eq(o->seq, iss + 1 + checked, "in order, nothing lost in the harness");
        cr_assert_leq(o->len, sizeof(o->data));
        for (uint32_t i = 0; i < o->len; i++)
            cr_assert_eq(o->data[i], tcp_testsvc_byte((uint64_t)checked + i),
                         "byte %u of the stream", checked + i);
        checked += o->len;
    }
    cr_assert_geq(checked, want, "the service kept sending (%u bytes)", checked);
}

/* tcp_set_more: a tail smaller than a segment waits for the data that fills it, and
 * goes when the hint is cleared or a FIN joins it. */
Test(tcp, more_holds_a_runt_tail_until_it_is_filled_cleared_or_closed)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t smss, sent;

    h_start();
    c = h_accept(7, 1000);
    smss = tcp_output_smss(c);
    tcp_set_more(c, true);
    cr_assert_eq(tcp_send(c, h_payload(2 * smss + 100, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 2, "the full segments go, %u sent", h_pending_out());
    for (uint32_t i = 0; i < 2; i++)
        cr_assert_eq(h_next()->len, smss);
    cr_assert_geq(H.st->stats.more_held, 1);
    sent = 2 * smss;
    cr_assert_eq(tcp_send(c, h_payload(100, sent + 100, 1000)), 0);
    cr_assert_eq(h_pending_out(), 0, "a tail of 200 bytes still waits");
    cr_assert_eq(tcp_send(c, h_payload(smss - 200, sent + 200, 1000)), 0);
    cr_assert_eq(h_pending_out(), 1, "filled: one full segment");
    o = h_next();
    cr_assert_eq(o->seq, ISS + 1 + sent);
    cr_assert_eq(o->len, smss);
    sent += smss;
    cr_assert_eq(tcp_send(c, h_payload(50, sent, 1000)), 0);
    cr_assert_eq(h_pending_out(), 0);
    tcp_set_more(c, false);
    cr_assert_eq(h_pending_out(), 1, "cleared: the tail goes");
    o = h_next();
    cr_assert_eq(o->len, 50);
    cr_assert_eq(o->flags, TCP_ACK | TCP_PSH);
    sent += 50;
    tcp_set_more(c, true);
    cr_assert_eq(tcp_send(c, h_payload(30, sent, 1000)), 0);
    cr_assert_eq(h_pending_out(), 0);
    cr_assert_eq(tcp_shutdown(c), 0);
    cr_assert_eq(h_pending_out(), 1, "a FIN is never held: it takes the tail along");
    o = h_next();
    cr_assert_eq(o->len, 30);
    cr_assert_eq(o->flags, TCP_ACK | TCP_PSH | TCP_FIN);
}

/* A tail held while nothing is in flight (a user that set the hint and wrote no more)
 * still leaves, with the persist timer's probe. */
Test(tcp, more_never_holds_a_tail_for_good)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept(7, 1000);
    tcp_set_more(c, true);
    cr_assert_eq(tcp_send(c, h_payload(100, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 0, "held");
    cr_assert_lt(h_wait_out(5000), 5000, "the persist probe sends it");
    o = h_next();
    cr_assert_eq(o->seq, ISS + 1);
    cr_assert_eq(o->len, 100);
}

/* Fills c's send buffer with full segments; returns the bytes queued. */
static uint32_t fill_sndbuf(struct tcp_conn *c, uint32_t *off)
{
    uint32_t smss = tcp_output_smss(c), n = 0;

    while (tcp_send_space(c) >= smss) {
        struct rte_mbuf *m = h_payload(smss, *off, smss);
        if (tcp_send(c, m) != 0) {
            rte_pktmbuf_free(m);        /* the worker's budget: LBD_ENOMEM */
            break;
        }
        *off += smss;
        n += smss;
    }
    return n;
}

/* A round trip of a receiver that takes everything: the user fills c's buffer, then
 * every second segment sent (and the last) is acknowledged, with window wnd, each ACK
 * answered (and the buffer filled again) before the next: RFC 5681's ACK pace. What
 * other connections left unacknowledged (their last round's refill) is acknowledged
 * too, to each its own. */
static void sndbuf_acks(struct tcp_conn *c, uint32_t *off, uint16_t wnd);

static void sndbuf_round(struct tcp_conn *c, uint32_t *off, uint16_t wnd)
{
    fill_sndbuf(c, off);
    sndbuf_acks(c, off, wnd);
}

/* sndbuf_round's acknowledgements of what was sent; c NULL: nothing is filled again. */
static void sndbuf_acks(struct tcp_conn *c, uint32_t *off, uint16_t wnd)
{
    struct {
        uint32_t ack;
        uint16_t port;
    } acks[H_MAX_OUT];
    uint16_t ports[4] = {0};
    uint32_t n = 0, k[4] = {0}, last[4] = {0};
    struct h_out *o;

    while ((o = h_next()) != NULL) {
        unsigned p = 0;
        if (o->len == 0)
            continue;
        while (ports[p] != 0 && ports[p] != o->dport)
            p++;
        cr_assert_lt(p, 4u);
        ports[p] = o->dport;
        last[p] = o->seq + o->len;
        if (++k[p] % 2 == 0)
            acks[n++] = (typeof(acks[0])){.ack = last[p], .port = o->dport};
    }
    for (unsigned p = 0; p < 4 && ports[p] != 0; p++)
        if (k[p] % 2 == 1)
            acks[n++] = (typeof(acks[0])){.ack = last[p], .port = ports[p]};
    H.n_out = H.seen = 0;               /* looked at: room for the next round */
    for (uint32_t i = 0; i < n; i++) {
        h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = acks[i].ack, .flags = TCP_ACK,
                             .wnd = wnd, .sport = acks[i].port});
        H.n_ev = 0;                     /* a WRITABLE an ACK: not looked at here */
        if (c == NULL)
            continue;
        cr_assert_leq(c->sndbuf, H.conf.sndbuf_max);
        cr_assert_leq(c->sndbuf, 2 * c->cwnd > H.conf.sndbuf ? 2 * c->cwnd : H.conf.sndbuf,
                      "at most twice the congestion window");
        fill_sndbuf(c, off);
    }
}

/* A stack whose connections start with 16 KB of send buffer and may grow it to 1 MB
 * (max_buf_segs: the worker's budget, 0: the default), one connection accepted from a
 * peer with window scale peer_ws and window wnd, and rounds of sndbuf_round. */
static struct tcp_conn *sndbuf_conn(int peer_ws, uint16_t wnd, uint32_t max_buf_segs,
                                    int rounds)
{
    struct tcp_conn *c;
    uint32_t off = 0;

    H.conf.sndbuf = 16384;
    H.conf.sndbuf_max = 1u << 20;
    if (max_buf_segs != 0)
        H.conf.max_buf_segs = max_buf_segs;
    h_start();
    c = h_accept(peer_ws, wnd);
    cr_assert_eq(c->sndbuf, 16384);
    for (int round = 0; round < rounds; round++)
        sndbuf_round(c, &off, wnd);
    return c;
}

/* Send buffer auto-tuning (tcp_sndbuf.h): a user that keeps the buffer full while all
 * of it is in flight gets twice the congestion window, up to sndbuf_max; the flight
 * then outgrows a RACK block of TCP_RACK_SEGS records and moves to a large one. */
Test(tcp, the_send_buffer_grows_while_it_is_the_limit)
{
    struct tcp_conn *c;

    H.peer_sack = 1;
    c = sndbuf_conn(7, 65535, 8192, 12);
    cr_assert_eq(c->sndbuf, 1u << 20, "up to sndbuf_max, %u (cwnd %u)", c->sndbuf, c->cwnd);
    cr_assert_geq(H.st->stats.sndbuf_grown, 2);
    cr_assert_eq(H.st->stats.rack_blocks_grown, 1, "the flight moved to a large block");
    cr_assert_eq(H.st->stats.rack_records_exhausted, 0);
}

/* A buffer the network, not the user, keeps full (the peer's window is the limit)
 * does not grow. */
Test(tcp, the_send_buffer_does_not_grow_when_the_peer_window_is_the_limit)
{
    struct tcp_conn *c = sndbuf_conn(0, 8000, 0, 8);    /* the peer's window: 8,000 bytes */

    cr_assert_eq(c->sndbuf, 16384, "the peer's window was the limit");
    cr_assert_eq(H.st->stats.sndbuf_grown, 0);
}

/* A budget of 120 full segments (175 KB) and one connection, whose receive buffer has
 * 64 KB of it: the send buffer grows into the rest and no further. */
Test(tcp, the_send_buffer_grows_within_the_fair_share)
{
    struct tcp_conn *c = sndbuf_conn(7, 65535, 120, 10);

    cr_assert_leq(c->sndbuf, tcp_budget_share(H.st, H.st->conf.sndbuf), "within the share (%u)",
                  c->sndbuf);
    cr_assert_gt(c->sndbuf, 16384);
    cr_assert_geq(H.st->stats.sndbuf_capped, 1);
    /* One budget for both: the receive buffers and what the send buffers grew. */
    cr_assert_eq(H.st->sndbuf_grown_bytes, c->sndbuf - 16384);
    cr_assert_leq(H.st->rcvbuf_bytes + H.st->sndbuf_grown_bytes, H.st->buf_budget);
    tcp_abort(c);
    cr_assert_eq(H.st->sndbuf_grown_bytes, 0, "the growth leaves the budget with the block");
}

static struct tcp_conn *bl_accept(uint16_t sport);

/* Two connections that both keep their buffers full, in turns: each grows to its fair
 * share of the budget (half), neither takes the other's, and both grow; a third
 * connection lowers the share, and the next full ACK trims the first to it. */
Test(tcp, send_buffers_growing_at_once_share_the_budget)
{
    struct tcp_conn *a, *b, *c;
    uint32_t off_a = 0, off_b = 0, share;

    H.conf.sndbuf = 16384;
    H.conf.sndbuf_max = 1u << 20;
    H.conf.max_buf_segs = 400;          /* about 580 KB for everything */
    h_start();
    a = h_accept(7, 65535);
    b = bl_accept(H_PPORT + 1);
    for (int round = 0; round < 10; round++) {
        sndbuf_round(a, &off_a, 65535);
        sndbuf_round(b, &off_b, 65535);
    }
    share = tcp_budget_share(H.st, H.conf.sndbuf);
    cr_assert_eq(share, H.st->buf_budget / 2, "two connections: half each");
    cr_assert_gt(a->sndbuf, 4 * 16384, "a grew (%u)", a->sndbuf);
    cr_assert_gt(b->sndbuf, 4 * 16384, "b grew too (%u)", b->sndbuf);
    cr_assert_leq(a->sndbuf, share);
    cr_assert_leq(b->sndbuf, share);
    cr_assert_eq(H.st->sndbuf_grown_bytes, a->sndbuf + b->sndbuf - 2 * 16384);
    cr_assert_leq(H.st->rcvbuf_bytes + H.st->sndbuf_grown_bytes, H.st->buf_budget);

    while (h_pending_out() != 0)
        sndbuf_acks(NULL, NULL, 65535); /* what a and b have out and queued, all taken */
    c = bl_accept(H_PPORT + 2);
    cr_assert_not_null(c);
    share = tcp_budget_share(H.st, H.conf.sndbuf);
    cr_assert_eq(share, H.st->buf_budget / 3, "a third: a third each");
    cr_assert_gt(a->sndbuf, share, "a holds more than a third now (%u)", a->sndbuf);
    sndbuf_round(a, &off_a, 65535);
    cr_assert_leq(a->sndbuf, share, "trimmed to the new share (%u)", a->sndbuf);
    cr_assert_geq(H.st->stats.sndbuf_trimmed, 1);
    /* c's initial receive buffer came beyond the budget (a connection always has it);
     * once b is back within the share too, the budget holds again. */
    sndbuf_round(b, &off_b, 65535);
    cr_assert_leq(b->sndbuf, share);
    cr_assert_leq(H.st->rcvbuf_bytes + H.st->sndbuf_grown_bytes, H.st->buf_budget);
}

/* The ports' transmit backlog (conf.tx_backlog, tcp_txwait.h): bl_tx stands for a port
 * whose queue fills after bl_room segments (the backlog then holds one). */
static uint32_t bl_backlog;
static unsigned bl_room;

static void bl_tx(void *arg, struct rte_mbuf *m, uint32_t dst_ip)
{
    h_tx(arg, m, dst_ip);
    if (bl_room != 0 && --bl_room == 0)
        bl_backlog = 1;
}

/* Starts the stack on bl_tx, the backlog empty. */
static void bl_start(void)
{
    bl_backlog = 0;
    bl_room = 0;
    H.conf.tx = bl_tx;
    H.conf.tx_backlog = &bl_backlog;
    h_start();
}

static struct tcp_conn *bl_accept(uint16_t sport);

/* n connections (from the peer's ports H_PPORT, H_PPORT + 1, ...), each given segs
 * full segments while the ports have a backlog: all parked, nothing sent. */
static void bl_parked(struct tcp_conn **c, unsigned n, uint32_t segs)
{
    uint32_t smss;

    c[0] = h_accept(7, 1000);
    for (unsigned i = 1; i < n; i++)
        c[i] = bl_accept((uint16_t)(H_PPORT + i));
    smss = tcp_output_smss(c[0]);
    h_skip_out();
    bl_backlog = 1;
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(tcp_send(c[i], h_payload(segs * smss, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 0, "a backlog: nothing sent");
    cr_assert_eq(H.st->stats.tx_waits, n);
}

/* New data waits while the ports have a backlog, a pure ACK does not, and the
 * connection sends the rest, in order, once the worker resumes it. */
Test(tcp, new_data_waits_for_the_transmit_backlog_and_goes_on_when_resumed)
{
    static const uint8_t data[100];
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t smss, cwnd_segs;

    bl_start();
    c = h_accept(7, 1000);
    smss = tcp_output_smss(c);
    cwnd_segs = c->cwnd / smss;
    cr_assert_geq(cwnd_segs, 6, "an initial window of several segments");
    bl_room = 3;
    cr_assert_eq(tcp_send(c, h_payload(20 * smss, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 3, "the queue took 3, then new data waits (%u sent)",
                 h_pending_out());
    for (uint32_t i = 0; i < 3; i++) {
        o = h_next();
        cr_assert_not_null(o);
        cr_assert_eq(o->seq, ISS + 1 + i * smss);
        cr_assert_eq(o->len, smss);
    }
    cr_assert_eq(H.st->stats.tx_waits, 1);
    cr_assert(tcp_stack_tx_waiting(H.st));
    cr_assert(c->flags & TCPF_TXWAIT);

    /* Data from the peer out of order: its ACK goes at once, without data. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1 + 1000, .ack = ISS + 1, .flags = TCP_ACK,
                         .wnd = 1000, .data = data, .len = 100});
    cr_assert_eq(h_pending_out(), 1, "the duplicate ACK, nothing else");
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->len, 0);
    cr_assert_eq(o->ack, PEER_ISN + 1);

    /* Still a backlog: nothing is resumed. */
    cr_assert_eq(tcp_stack_tx_resume(H.st, false), 0);
    cr_assert_eq(h_pending_out(), 0);

    bl_backlog = 0;
    cr_assert_eq(tcp_stack_tx_resume(H.st, false), 1);
    cr_assert(!tcp_stack_tx_waiting(H.st));
    cr_assert(!(c->flags & TCPF_TXWAIT));
    cr_assert_eq(H.st->stats.tx_wait_resumes, 1);
    cr_assert_eq(h_pending_out(), cwnd_segs - 3, "the rest of the window (%u sent)",
                 h_pending_out());
    for (uint32_t i = 3; i < cwnd_segs; i++) {
        o = h_next();
        cr_assert_not_null(o);
        cr_assert_eq(o->seq, ISS + 1 + i * smss, "segment %u in order", i);
        cr_assert_eq(o->len, smss);
    }
}

/* h_accept from the peer's port sport. */
static struct tcp_conn *bl_accept(uint16_t sport)
{
    struct h_out *o;

    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 65535,
                                      .mss = 1460, .wscale = 7, .sport = sport}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->flags, TCP_SYN | TCP_ACK);
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = o->seq + 1, .flags = TCP_ACK,
                                      .wnd = 1000, .sport = sport}), DROP_NONE);
    cr_assert_eq(h_last_ev(), TCP_EV_ESTABLISHED);
    return H.conn;
}

/* A backlog that builds again while connections are resumed stops the resuming: the
 * rest wait, oldest first, for the next call; one freed while parked is skipped. */
Test(tcp, resuming_stops_when_a_backlog_builds_and_skips_a_freed_connection)
{
    struct tcp_conn *c[3], *a, *b, *d;

    bl_start();
    bl_parked(c, 3, 4);
    a = c[0];
    b = c[1];
    d = c[2];
    tcp_abort(b);
    h_skip_out();                       /* its RST */

    bl_backlog = 0;
    bl_room = 2;                        /* a takes the queue again after 2 segments */
    cr_assert_eq(tcp_stack_tx_resume(H.st, false), 1, "a only: then the backlog was back");
    cr_assert_eq(h_pending_out(), 2);
    cr_assert(a->flags & TCPF_TXWAIT, "a waits again, for what it has left");
    cr_assert(d->flags & TCPF_TXWAIT);
    h_skip_out();

    bl_backlog = 0;
    cr_assert_eq(tcp_stack_tx_resume(H.st, false), 2, "d, then a; b was freed");
    cr_assert_eq(h_pending_out(), 4 + 2);
    cr_assert(!tcp_stack_tx_waiting(H.st));
}

/* A backlog that does not empty (a port saturated by other traffic): a forced resume
 * lets every parked connection send into it, none parks again. */
Test(tcp, a_forced_resume_sends_for_every_parked_connection_despite_the_backlog)
{
    struct tcp_conn *c[2], *a, *b;

    bl_start();
    bl_parked(c, 2, 2);
    a = c[0];
    b = c[1];
    cr_assert_eq(tcp_stack_tx_resume(H.st, false), 0, "the backlog is still there");
    cr_assert_eq(tcp_stack_tx_resume(H.st, true), 2);
    cr_assert_eq(h_pending_out(), 4, "both sent all they had (%u)", h_pending_out());
    cr_assert(!tcp_stack_tx_waiting(H.st));
    cr_assert_eq(H.st->stats.tx_wait_forced, 1);
    cr_assert(!(a->flags & TCPF_TXWAIT) && !(b->flags & TCPF_TXWAIT));
}

/* A tail loss probe that comes due while the ports have a backlog is held: what it
 * would probe may still be in it. The RTO stays armed and sends again in its time. */
Test(tcp, a_tail_loss_probe_is_held_while_the_ports_have_a_backlog)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t smss;

    H.peer_sack = 1;                    /* a loss probe needs SACK and an RTT sample */
    bl_start();
    c = h_accept(7, 1000);
    c->srtt = 10 << 3;
    c->rttvar = 10 << 1;
    smss = tcp_output_smss(c);
    cr_assert_eq(tcp_send(c, h_payload(2 * smss, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 2);
    h_skip_out();
    bl_backlog = 1;
    cr_assert(c->flags & TCPF_PTO, "a loss probe is armed");
    h_advance(TCP_PTO_MIN_MS + 1);
    cr_assert_eq(h_pending_out(), 0, "no probe while the backlog is there");
    cr_assert_eq(H.st->stats.tlp_held, 1);
    cr_assert_eq(H.st->stats.tlp_probes, 0);
    cr_assert(twheel_pending(&c->t_rexmt) && !(c->flags & TCPF_PTO), "the RTO is armed");
    bl_backlog = 0;
    cr_assert_neq(h_wait_out(5000), 0, "the RTO sends again");
    o = h_next();
    cr_assert_eq(o->seq, ISS + 1, "from the first unacknowledged byte");
}
