/*
 * The SYN proxy (l4/synproxy.h) on crafted frames through the worker: the cookie
 * SYN-ACK, the connection opened to the real server only by a valid cookie, and the
 * sequence, SACK and window translation of the connection both ways.
 */
#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_tcp.h>

#include "dp_harness.h"
#include "l4/l4.h"
#include "l4/synproxy.h"
#include "net/tcp_opt.h"

static struct harness h;
static uint8_t f[2048], out[2048];

#define CLIENT "10.200.50.20"
#define VIP "10.200.50.120"
#define CPORT 40000
#define ISN 1000000u

static void setup(void)
{
    h_eal_init();
    cr_assert_eq(h_init(&h, 4096), 0);
    h.cfg.layer4.syn_proxy = CFG_SYN_PROXY_ALWAYS;
    cr_assert_eq(h_publish(&h), 0);
}

TestSuite(synproxy, .init = setup);

/* A TCP segment with options opts[0..olen) and n bytes of payload, checksums right. */
static uint32_t seg(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
                    uint32_t seq, uint32_t ack, uint16_t win, const uint8_t *opts, uint32_t olen,
                    uint16_t n)
{
    uint32_t len = frame_tcp_seg(f, src, dst, sport, dport, flags, seq, ack,
                                 (uint16_t)(olen + n));
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);

    if (olen > 0)
        memcpy(tcp + 1, opts, olen);
    tcp->data_off = (uint8_t)(((20 + olen) / 4) << 4);
    tcp->rx_win = rte_cpu_to_be_16(win);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    return len;
}

static const struct rte_tcp_hdr *tcp_of(const uint8_t *frame)
{
    return (const struct rte_tcp_hdr *)(frame + 34);
}

/* The option `kind` of the TCP header in frame, or NULL. */
static const uint8_t *opt_of(const uint8_t *frame, uint8_t kind)
{
    const uint8_t *t = frame + 34;
    uint32_t thl = (uint32_t)(t[12] >> 4) * 4, i = 20;

    while (i < thl && t[i] != 0) {
        if (t[i] == 1) {
            i++;
            continue;
        }
        if (t[i] == kind)
            return t + i;
        i += t[i + 1];
    }
    return NULL;
}

static uint32_t sent_count(uint16_t port)
{
    uint32_t n = 0;

    while (h_sent(&h, port, out, sizeof(out)) > 0)
        n++;
    return n;
}

/* MSS 1460, SACK permitted, timestamps, window scale 7: Linux's SYN. */
static const uint8_t syn_opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
                                     0, 0, 0, 0, 1, 3, 3, 7};

/* The client's SYN; returns the cookie (lbd's ISS) of the SYN-ACK it gets. */
static uint32_t client_syn(uint16_t cport)
{
    uint32_t len = seg(ip4(CLIENT), ip4(VIP), cport, 443, RTE_TCP_SYN_FLAG, ISN, 0, 64240,
                       syn_opts, sizeof(syn_opts), 0);

    h_run(&h, f, len, 1);
    cr_assert_eq(sent_count(0), 0, "nothing reaches a real server");
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0, "a SYN-ACK to the client");
    h_assert_valid(out, len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4(VIP));
    cr_assert_eq(h_ip_of(out)->dst_addr, ip4(CLIENT));
    cr_assert_eq(tcp_of(out)->tcp_flags, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->recv_ack), ISN + 1);
    return rte_be_to_cpu_32(tcp_of(out)->sent_seq);
}

/* The client's ACK of the cookie; returns the real server the SYN went to. */
static uint32_t client_ack(uint16_t cport, uint32_t cookie)
{
    uint32_t len = seg(ip4(CLIENT), ip4(VIP), cport, 443, RTE_TCP_ACK_FLAG, ISN + 1,
                       cookie + 1, 502, NULL, 0, 0);
    const uint8_t *o;

    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "a SYN to a real server");
    h_assert_valid(out, len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4(CLIENT), "from the client's address");
    cr_assert_eq(tcp_of(out)->tcp_flags, RTE_TCP_SYN_FLAG);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->sent_seq), ISN, "the client's ISN");
    cr_assert_eq(tcp_of(out)->src_port, rte_cpu_to_be_16(cport));
    cr_assert_eq(tcp_of(out)->dst_port, rte_cpu_to_be_16(443));
    o = opt_of(out, 2);
    cr_assert(o != NULL && (o[2] << 8 | o[3]) == 1460, "the client's MSS");
    o = opt_of(out, 3);
    cr_assert(o != NULL && o[2] == 7, "the client's window scale");
    cr_assert(opt_of(out, 4) != NULL, "SACK permitted, as the client offered");
    cr_assert(opt_of(out, 8) == NULL, "no timestamps: the client's ACK had none");
    cr_assert_eq(sent_count(1), 0);
    return h_ip_of(out)->dst_addr;
}

/* The server's SYN-ACK (ISS srv, window scale ws); checks the ACK lbd answers with. */
static void server_syn_ack(uint32_t rs, uint16_t cport, uint32_t srv, uint8_t ws)
{
    const uint8_t opts[8] = {2, 4, 0x05, 0xb4, 1, 3, 3, ws};
    uint32_t len = seg(rs, ip4(CLIENT), 443, cport, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, srv,
                       ISN + 1, 65160, opts, sizeof(opts), 0);

    h_run(&h, f, len, 0);
    cr_assert_eq(sent_count(1), 0, "the client sees no second SYN-ACK");
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0, "the handshake's ACK to the server");
    h_assert_valid(out, len);
    cr_assert_eq(h_ip_of(out)->dst_addr, rs);
    cr_assert_eq(tcp_of(out)->tcp_flags, RTE_TCP_ACK_FLAG);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->sent_seq), ISN + 1);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->recv_ack), srv + 1);
}

Test(synproxy, cookie_syn_ack_keeps_no_state_and_offers_what_it_can_carry)
{
    uint32_t cookie = client_syn(CPORT);
    const uint8_t *o;

    cr_assert_eq(conn_count(h.w->l4.conns), 0, "no entry for a SYN");
    cr_assert_eq(h.w->stats.l4.synproxy_cookies_sent, 1);
    (void)cookie;
    client_syn(CPORT);      /* the out buffer: the second SYN-ACK */
    o = opt_of(out, 2);
    cr_assert(o != NULL && (o[2] << 8 | o[3]) == 1460);
    o = opt_of(out, 3);
    cr_assert(o != NULL && o[2] == SYNPROXY_WSCALE, "lbd's window scale");
    cr_assert(opt_of(out, 4) != NULL, "SACK permitted");
    {
        const uint8_t *ts = opt_of(out, 8);
        uint32_t ecr;
        cr_assert(ts != NULL && ts[1] == 10, "timestamps, as the client offered");
        memcpy(&ecr, ts + 6, 4);
        cr_assert_eq(rte_be_to_cpu_32(ecr), 1, "TSecr: the client's TSval");
    }
    cr_assert_eq(rte_be_to_cpu_16(tcp_of(out)->rx_win), 1460, "a window of one segment");
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
}

Test(synproxy, an_ack_without_a_valid_cookie_opens_nothing)
{
    uint32_t cookie = client_syn(CPORT), len;

    /* Wrong cookie, and a right one for another port: both refused. */
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG, ISN + 1, cookie + 2, 502,
              NULL, 0, 0);
    h_run(&h, f, len, 1);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT + 1, 443, RTE_TCP_ACK_FLAG, ISN + 1, cookie + 1,
              502, NULL, 0, 0);
    h_run(&h, f, len, 1);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG, ISN + 2, cookie + 1, 502,
              NULL, 0, 0);
    h_run(&h, f, len, 1);
    cr_assert_eq(sent_count(0), 0, "no real server is sent anything");
    cr_assert_eq(conn_count(h.w->l4.conns), 0);
    cr_assert_eq(h.w->stats.l4.synproxy_cookies_bad, 3);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_TCP_NOT_SYN], 3);
    /* After two key periods (about 131 s) the cookie is stale too. */
    h_advance_ms(&h, 3u << 16);
    client_syn(CPORT + 2);      /* keeps cookies being checked */
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG, ISN + 1, cookie + 1, 502,
              NULL, 0, 0);
    h_run(&h, f, len, 1);
    cr_assert_eq(sent_count(0), 0);
    cr_assert_eq(h.w->stats.l4.synproxy_cookies_bad, 4);
}

Test(synproxy, a_valid_cookie_opens_the_connection_and_both_ways_are_translated)
{
    const uint32_t srv = 0xfffff000u;   /* the server's ISS: the difference wraps */
    uint32_t cookie = client_syn(CPORT), rs, len;
    /* A SACK block for server data [cookie+1001, cookie+2001) in the client's space. */
    uint8_t sack[12] = {1, 1, 5, 10};
    uint32_t l = rte_cpu_to_be_32(cookie + 1001), r = rte_cpu_to_be_32(cookie + 2001);

    rs = client_ack(CPORT, cookie);
    cr_assert_eq(conn_count(h.w->l4.conns), 1);
    cr_assert_eq(h.w->stats.l4.synproxy_cookies_ok, 1);
    server_syn_ack(rs, CPORT, srv, 5);
    cr_assert_eq(h.w->stats.l4.synproxy_established, 1);
    cr_assert_eq(h.w->l4.conns->half_open, 0, "established");

    /* Client -> server: ACK number and SACK edges move to the server's space. */
    memcpy(sack + 4, &l, 4);
    memcpy(sack + 8, &r, 4);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1,
              cookie + 1, 502, sack, sizeof(sack), 100);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    h_assert_valid(out, len);
    cr_assert_eq(h_ip_of(out)->dst_addr, rs);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->sent_seq), ISN + 1, "the client's seq kept");
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->recv_ack), srv + 1);
    memcpy(&l, out + 34 + 24, 4);
    memcpy(&r, out + 34 + 28, 4);
    cr_assert_eq(rte_be_to_cpu_32(l), srv + 1001);
    cr_assert_eq(rte_be_to_cpu_32(r), srv + 2001);
    cr_assert_eq(rte_be_to_cpu_16(tcp_of(out)->rx_win), 502, "both sides scale by 7: kept");

    /* Server -> client: its seq moves to the cookie's space, its window from scale 5
     * to lbd's 7; its ACK (of client data) is kept. */
    len = seg(rs, ip4(CLIENT), 443, CPORT, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, srv + 1,
              ISN + 101, 4000, NULL, 0, 300);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0);
    h_assert_valid(out, len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4(VIP));
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->sent_seq), cookie + 1);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->recv_ack), ISN + 101);
    cr_assert_eq(rte_be_to_cpu_16(tcp_of(out)->rx_win), 1000, "4000 << 5 >> 7");
    cr_assert_eq(h.w->stats.l4.synproxy_rescaled, 1);
    cr_assert_eq(h.w->stats.l4.reverse_packets, 1);
}

Test(synproxy, data_before_the_server_answers_is_held_and_sent_after_the_handshake)
{
    const uint32_t srv = 77777;
    uint32_t cookie = client_syn(CPORT), rs, len;

    rs = client_ack(CPORT, cookie);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1,
              cookie + 1, 502, NULL, 0, 200);
    h_run(&h, f, len, 1);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 201,
              cookie + 1, 502, NULL, 0, 200);
    h_run(&h, f, len, 1);
    cr_assert_eq(sent_count(0), 0, "held until the server answers");
    cr_assert_eq(h.w->stats.l4.synproxy_held, 1);
    cr_assert_eq(h.w->stats.l4.synproxy_early_drops, 1, "one segment is held, no more");
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_SYNPROXY_WAIT], 1);
    server_syn_ack(rs, CPORT, srv, 7);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 20 + 200, "then the held data");
    h_assert_valid(out, len);
    cr_assert_eq(h_ip_of(out)->dst_addr, rs);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->sent_seq), ISN + 1);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->recv_ack), srv + 1);
    cr_assert_eq(sent_count(0), 0);
}

Test(synproxy, a_server_that_refuses_has_its_rst_passed_to_the_client)
{
    uint32_t cookie = client_syn(CPORT), rs, len;

    rs = client_ack(CPORT, cookie);
    len = seg(rs, ip4(CLIENT), 443, CPORT, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG, 0, ISN + 1, 0,
              NULL, 0, 0);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0);
    h_assert_valid(out, len);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4(VIP));
    cr_assert_eq(tcp_of(out)->tcp_flags, RTE_TCP_RST_FLAG);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->sent_seq), cookie + 1, "where the client is");
    cr_assert_eq(h.w->stats.l4.synproxy_refused, 1);
}

Test(synproxy, a_silent_server_is_sent_its_syn_again_and_the_entry_ends)
{
    uint32_t cookie = client_syn(CPORT), len;

    client_ack(CPORT, cookie);
    h_advance_ms(&h, 1000);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG, ISN + 1, cookie + 1, 502,
              NULL, 0, 0);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    cr_assert_eq(tcp_of(out)->tcp_flags, RTE_TCP_SYN_FLAG, "the SYN again");
    cr_assert_eq(h.w->stats.l4.synproxy_syn_resent, 1);
    h_advance_ms(&h, (uint64_t)CFG_L4_TCP_HANDSHAKE_TIMEOUT_S * 1000 + 1000);
    cr_assert_eq(conn_count(h.w->l4.conns), 0, "the handshake timeout ends it");
}

Test(synproxy, flood_mode_proxies_only_beyond_the_half_open_cap)
{
    uint32_t len;

    h.cfg.layer4.syn_proxy = CFG_SYN_PROXY_FLOOD;
    h.cfg.layer4.max_half_open_per_worker = 4;
    cr_assert_eq(h_publish(&h), 0);
    for (uint16_t i = 0; i < 10; i++) {
        len = seg(rte_cpu_to_be_32(0xc6120000u + i), ip4(VIP), (uint16_t)(20000 + i), 443,
                  RTE_TCP_SYN_FLAG, ISN, 0, 64240, syn_opts, sizeof(syn_opts), 0);
        h_run(&h, f, len, 1);
    }
    cr_assert_eq(sent_count(0), 4, "the first four go to real servers, as without it");
    cr_assert_eq(sent_count(1), 6, "cookie SYN-ACKs towards the flood's sources");
    cr_assert_eq(h.w->l4.conns->half_open, 4);
    cr_assert_eq(h.w->stats.l4.synproxy_cookies_sent, 6, "the rest are answered with cookies");
    cr_assert_eq(h.w->stats.lcore.drops[DROP_L4_HALF_OPEN_FULL], 0);
    /* A real client beyond the cap still gets through: its ACK opens the connection. */
    {
        uint32_t cookie = client_syn(CPORT);
        client_ack(CPORT, cookie);
        cr_assert_eq(h.w->l4.conns->half_open, 5, "beyond the cap: the cookie proved it");
    }
}

Test(synproxy, off_mode_never_answers)
{
    uint32_t len;

    h.cfg.layer4.syn_proxy = CFG_SYN_PROXY_OFF;
    cr_assert_eq(h_publish(&h), 0);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_SYN_FLAG, ISN, 0, 64240, syn_opts,
              sizeof(syn_opts), 0);
    h_run(&h, f, len, 1);
    cr_assert_eq(sent_count(0), 1, "the SYN goes to a real server");
    cr_assert_eq(sent_count(1), 0);
    cr_assert_eq(h.w->stats.l4.synproxy_cookies_sent, 0);
}

/* The TSval (which 0) or TSecr (1) of the frame in out. */
static uint32_t ts_of(int which)
{
    const uint8_t *ts = opt_of(out, 8);
    uint32_t v;

    cr_assert(ts != NULL, "a timestamps option");
    memcpy(&v, ts + 2 + 4 * which, 4);
    return rte_be_to_cpu_32(v);
}

Test(synproxy, timestamps_are_carried_with_the_servers_clock_moved_to_lbds)
{
    uint8_t o[12];
    uint32_t cookie, lbd_ts, rs, len;
    const uint32_t srv = 5555, srv_ts = 900000;

    cookie = client_syn(CPORT);
    lbd_ts = ts_of(0);
    /* The client's ACK: TSval 2, TSecr what lbd sent. */
    tcp_opt_put_nop_ts(o, 2, lbd_ts);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG, ISN + 1, cookie + 1, 502,
              o, sizeof(o), 0);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    h_assert_valid(out, len);
    rs = h_ip_of(out)->dst_addr;
    cr_assert_eq(tcp_of(out)->tcp_flags, RTE_TCP_SYN_FLAG);
    cr_assert_eq(ts_of(0), 2, "the SYN to the server: the client's TSval");
    cr_assert_eq(ts_of(1), 0);
    /* The server's SYN-ACK with its own clock. */
    {
        uint8_t so[20] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7};      /* MSS, NOP WS 7, NOP NOP TS */
        tcp_opt_put_nop_ts(so + 8, srv_ts, 2);
        len = seg(rs, ip4(CLIENT), 443, CPORT, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, srv,
                  ISN + 1, 65160, so, sizeof(so), 0);
    }
    h_run(&h, f, len, 0);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    h_assert_valid(out, len);
    cr_assert_eq(tcp_of(out)->tcp_flags, RTE_TCP_ACK_FLAG);
    cr_assert_eq(ts_of(0), 2, "the handshake's ACK: the client's TSval");
    cr_assert_eq(ts_of(1), srv_ts, "and the server's echoed");
    /* Client -> server: its TSecr (lbd's clock) moves to the server's. */
    tcp_opt_put_nop_ts(o, 3, lbd_ts);
    len = seg(ip4(CLIENT), ip4(VIP), CPORT, 443, RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, ISN + 1,
              cookie + 1, 502, o, sizeof(o), 10);
    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    h_assert_valid(out, len);
    cr_assert_eq(ts_of(0), 3);
    cr_assert_eq(ts_of(1), srv_ts);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->recv_ack), srv + 1);
    /* Server -> client: its TSval goes on from lbd's, its TSecr is kept. */
    tcp_opt_put_nop_ts(o, srv_ts + 10, 3);
    len = seg(rs, ip4(CLIENT), 443, CPORT, RTE_TCP_ACK_FLAG, srv + 1, ISN + 11, 4000, o,
              sizeof(o), 20);
    h_run(&h, f, len, 0);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_gt(len, 0);
    h_assert_valid(out, len);
    cr_assert_eq(ts_of(0), lbd_ts + 10);
    cr_assert_eq(ts_of(1), 3);
    cr_assert_eq(rte_be_to_cpu_32(tcp_of(out)->sent_seq), cookie + 1);
    cr_assert_eq(rte_be_to_cpu_16(tcp_of(out)->rx_win), 4000, "both sides scale by 7");
}
