/*
 * ICMP errors about the stack's segments (tcp_icmp.h): path MTU discovery on crafted
 * "fragmentation needed" errors, the RFC 5927 sequence check, the 552 floor.
 */
#define ALLOW_EXPERIMENTAL_API 1

#include <rte_icmp.h>

#include "net/icmp_err.h"
#include "tcp/tcp_icmp.h"
#include "tcp/tcp_tcb.h"

#include "tcp_harness.h"

TestSuite(tcp_icmp, .init = h_setup, .fini = h_teardown);

#define ISS 1000000u
#define ROUTER "10.0.9.254"

static uint8_t f[512];

/*
 * From ROUTER to H_LOCAL: type/code, next-hop MTU mtu, quoting the header of a segment
 * H_LOCAL:sport -> H_PEER:dport with sequence number seq and its first 8 TCP bytes (as
 * RFC 792 routers do). Parsed into *pi; returns the frame length.
 */
static uint32_t icmp_about(uint8_t type, uint8_t code, uint16_t mtu, uint16_t sport,
                           uint16_t dport, uint32_t seq, struct pkt_info *pi)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_ICMP, ip4(ROUTER), ip4(H_LOCAL), 8 + 20 + 8);
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(f + l4);
    uint8_t *q = f + l4 + 8;
    uint16_t be;
    uint32_t be32;

    memset(icmp, 0, 8);
    icmp->icmp_type = type;
    icmp->icmp_code = code;
    be = rte_cpu_to_be_16(mtu);
    memcpy((uint8_t *)icmp + 6, &be, 2);
    /* The quoted packet: as it left us (1500 bytes, DF). */
    frame_ipv4(q - 14, 14, IPPROTO_TCP, ip4(H_LOCAL), ip4(H_PEER), 1480);
    ((struct rte_ipv4_hdr *)q)->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ((struct rte_ipv4_hdr *)q)->hdr_checksum = 0;
    ((struct rte_ipv4_hdr *)q)->hdr_checksum = rte_ipv4_cksum((struct rte_ipv4_hdr *)q);
    be = rte_cpu_to_be_16(sport);
    memcpy(q + 20, &be, 2);
    be = rte_cpu_to_be_16(dport);
    memcpy(q + 22, &be, 2);
    be32 = rte_cpu_to_be_32(seq);
    memcpy(q + 24, &be32, 4);
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, 8 + 20 + 8);
    cr_assert_eq(pkt_parse(f, l4 + 36, true, pi), DROP_NONE);
    cr_assert(pkt_icmp_is_error(pi->icmp_type));
    return l4 + 36;
}

static bool frag_needed(uint16_t mtu, uint32_t seq)
{
    struct pkt_info pi;

    icmp_about(ICMP_ERR_UNREACH, ICMP_ERR_FRAG_NEEDED, mtu, H_LPORT, H_PPORT, seq, &pi);
    return tcp_icmp_input(H.st, f, &pi, RX_CSUM_VERIFY);
}

/* Established, 10 segments of 1460 (IW10) of a 20000-byte write in flight. */
static struct tcp_conn *in_flight(void)
{
    struct tcp_conn *c = h_accept(7, 65535);

    h_skip_out();
    cr_assert_eq(c->mss, 1460);
    cr_assert_eq(tcp_send(c, h_payload(20000, 0, 2000)), 0);
    cr_assert_eq(h_pending_out(), 10);
    h_skip_out();
    cr_assert_eq(c->snd_max, ISS + 1 + 14600);
    return c;
}

Test(tcp_icmp, frag_needed_lowers_the_mss_and_resends_what_is_in_flight)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t seq = ISS + 1, n = 0;
    uint8_t want[2048];

    h_start();
    c = in_flight();
    /* A router with a 1200-byte link: about the third segment in flight. */
    cr_assert(frag_needed(1200, ISS + 1 + 2 * 1460));
    cr_assert_eq(c->mss, 1160);
    cr_assert_eq(H.st->stats.pmtu_reduced, 1);
    cr_assert_eq(H.st->stats.icmp_bad_seq, 0);
    /* Everything in flight again, from snd_una, none larger than the new MSS; the
     * cwnd not cut (the segments were lost for their size, not to congestion). */
    cr_assert_gt(h_pending_out(), 0);
    while ((o = h_next()) != NULL) {
        cr_assert_eq(o->seq, seq, "in order from snd_una");
        cr_assert_leq(o->len, 1160);
        cr_assert_gt(o->len, 0);
        h_pattern(want, o->len, seq - (ISS + 1));
        cr_assert_eq(memcmp(o->data, want, o->len), 0, "the same bytes");
        seq += o->len;
        n++;
    }
    /* As much as the unchanged cwnd holds: 12 segments of 1160 in 14600 bytes. */
    cr_assert_eq(n, 14600 / 1160);
    cr_assert_eq(seq, ISS + 1 + 12 * 1160);
    cr_assert_eq(c->snd_max, ISS + 1 + 14600, "nothing new yet");
    /* Their ACK: the rest of what was in flight, then new data, at the new size. */
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = seq, .flags = TCP_ACK, .wnd = 65535});
    cr_assert_gt(h_pending_out(), 0);
    while ((o = h_next()) != NULL) {
        cr_assert_eq(o->seq, seq);
        cr_assert_leq(o->len, 1160);
        h_pattern(want, o->len, seq - (ISS + 1));
        cr_assert_eq(memcmp(o->data, want, o->len), 0);
        seq += o->len;
    }
    cr_assert_gt(seq, ISS + 1 + 14600, "past what was in flight");
    /* A second error naming the same or a larger MTU changes nothing. */
    cr_assert(frag_needed(1400, c->snd_una));
    cr_assert_eq(c->mss, 1160);
    cr_assert_eq(H.st->stats.pmtu_reduced, 1);
    cr_assert_eq(H.st->stats.icmp_ignored, 1);
}

Test(tcp_icmp, a_quote_out_of_the_send_window_is_counted_and_ignored)
{
    struct tcp_conn *c;

    h_start();
    c = in_flight();
    /* At snd_max (never sent), beyond it, and before snd_una (acknowledged): an
     * off-path guess or an old error. */
    cr_assert(frag_needed(1000, ISS + 1 + 14600));
    cr_assert(frag_needed(1000, ISS + 1 + 100000));
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = ISS + 1 + 2920, .flags = TCP_ACK,
                         .wnd = 65535});
    h_skip_out();
    cr_assert(frag_needed(1000, ISS + 1));
    cr_assert(frag_needed(1000, ISS + 1 + 2919));
    cr_assert_eq(H.st->stats.icmp_bad_seq, 4);
    cr_assert_eq(H.st->stats.pmtu_reduced, 0);
    cr_assert_eq(c->mss, 1460);
    cr_assert_eq(h_pending_out(), 0, "nothing resent");
    /* The first unacknowledged byte is in the window. */
    cr_assert(frag_needed(1000, ISS + 1 + 2920));
    cr_assert_eq(c->mss, 960);
    cr_assert_eq(H.st->stats.pmtu_reduced, 1);
}

Test(tcp_icmp, an_mtu_below_the_floor_is_clamped_to_552)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = in_flight();
    cr_assert(frag_needed(68, ISS + 1));
    cr_assert_eq(c->mss, TCP_PMTU_MIN - 40);
    cr_assert_eq(c->mss, 512);
    while ((o = h_next()) != NULL)
        cr_assert_leq(o->len, 512);
    /* A router that predates RFC 1191 says 0: the floor too (nothing lower). */
    cr_assert(frag_needed(0, c->snd_una));
    cr_assert_eq(c->mss, 512);
    cr_assert_eq(H.st->stats.pmtu_reduced, 1);
}

Test(tcp_icmp, an_mtu_of_zero_from_an_old_router_takes_the_floor)
{
    struct tcp_conn *c;

    h_start();
    c = in_flight();
    cr_assert(frag_needed(0, ISS + 1));
    cr_assert_eq(c->mss, 512);
    cr_assert_eq(H.st->stats.pmtu_reduced, 1);
}

Test(tcp_icmp, errors_about_no_connection_or_of_another_kind)
{
    struct tcp_conn *c;
    struct pkt_info pi;
    uint32_t len;

    h_start();
    c = in_flight();
    /* A spoofed quote of a connection that does not exist: not the stack's (the
     * caller's: Layer 4, or dropped). */
    icmp_about(ICMP_ERR_UNREACH, ICMP_ERR_FRAG_NEEDED, 1000, H_LPORT, H_PPORT + 1, ISS + 1, &pi);
    cr_assert_not(tcp_icmp_input(H.st, f, &pi, RX_CSUM_VERIFY));
    /* A broken ICMP checksum: refused before the quote is looked at. */
    len = icmp_about(ICMP_ERR_UNREACH, ICMP_ERR_FRAG_NEEDED, 1000, H_LPORT, H_PPORT, ISS + 1, &pi);
    f[len - 1] ^= 0x40;
    cr_assert_not(tcp_icmp_input(H.st, f, &pi, RX_CSUM_VERIFY));
    /* Port unreachable, time exceeded: soft errors, taken and ignored. */
    icmp_about(ICMP_ERR_UNREACH, 3, 0, H_LPORT, H_PPORT, ISS + 1, &pi);
    cr_assert(tcp_icmp_input(H.st, f, &pi, RX_CSUM_VERIFY));
    icmp_about(11, 0, 0, H_LPORT, H_PPORT, ISS + 1, &pi);
    cr_assert(tcp_icmp_input(H.st, f, &pi, RX_CSUM_VERIFY));
    cr_assert_eq(H.st->stats.icmp_ignored, 2);
    cr_assert_eq(H.st->stats.pmtu_reduced, 0);
    cr_assert_eq(c->mss, 1460);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED, "soft errors do not abort");
    cr_assert_eq(h_pending_out(), 0);
}

Test(tcp_icmp, nothing_in_flight_the_next_segments_are_smaller)
{
    struct tcp_conn *c;
    struct h_out *o;

    h_start();
    c = h_accept(7, 65535);
    h_skip_out();
    /* snd_una == snd_max: no sequence can be in the window, the error is refused. */
    cr_assert(frag_needed(1000, ISS + 1));
    cr_assert_eq(H.st->stats.icmp_bad_seq, 1);
    cr_assert_eq(c->mss, 1460);
    cr_assert_eq(tcp_send(c, h_payload(5000, 0, 2000)), 0);
    o = h_next();
    cr_assert_eq(o->len, 1460);
}

/* A connection the stack opened (as the proxy's to a real server): an error about its
 * SYN is ignored, one about its data once established lowers its MSS. */
Test(tcp_icmp, an_active_open_ignores_it_in_the_handshake_and_takes_it_after)
{
    struct tcp_conn *c;
    struct pkt_info pi;
    struct h_out *o;

    h_start();
    cr_assert_eq(tcp_connect(H.st, ip4(H_LOCAL), ip4(H_PEER), 8080, h_on_event, NULL, &c), 0);
    o = h_next();
    cr_assert_eq(o->flags, TCP_SYN);
    icmp_about(ICMP_ERR_UNREACH, ICMP_ERR_FRAG_NEEDED, 1000, c->key.lport, 8080, ISS, &pi);
    cr_assert(tcp_icmp_input(H.st, f, &pi, RX_CSUM_VERIFY));
    cr_assert_eq(H.st->stats.icmp_ignored, 1, "the SYN is small; the SYN-ACK sets the MSS");
    cr_assert_eq(tcp_conn_state(c), TCP_SYN_SENT);
    cr_assert_eq(h_in(&(struct h_seg){.seq = 9000, .ack = ISS + 1, .flags = TCP_SYN | TCP_ACK,
                                      .wnd = 65535, .mss = 1460, .wscale = -1,
                                      .sport = 8080, .dport = c->key.lport}), DROP_NONE);
    cr_assert_eq(tcp_conn_state(c), TCP_ESTABLISHED);
    cr_assert_eq(c->mss, 1460);
    h_skip_out();
    cr_assert_eq(tcp_send(c, h_payload(5000, 0, 2000)), 0);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->len, 1460);
    h_skip_out();
    icmp_about(ICMP_ERR_UNREACH, ICMP_ERR_FRAG_NEEDED, 1000, c->key.lport, 8080, ISS + 1, &pi);
    cr_assert(tcp_icmp_input(H.st, f, &pi, RX_CSUM_VERIFY));
    cr_assert_eq(c->mss, 960);
    cr_assert_eq(H.st->stats.pmtu_reduced, 1);
    o = h_next();
    cr_assert_not_null(o, "resent at once");
    cr_assert_eq(o->seq, ISS + 1);
    cr_assert_eq(o->len, 960);
}
