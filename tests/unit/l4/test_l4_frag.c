/*
 * Fragments of Layer 4 flows through the worker's dispatch: reassembly in order and
 * out of order, overlaps refused, the caps and the timeout, a flood of datagrams that
 * never complete while a complete one still passes; and on the way out, fragmentation
 * to the port's MTU and fragmentation-needed for a DF packet that does not fit.
 */
#include <criterion/criterion.h>

#include <rte_eal.h>
#include <rte_tcp.h>

#include "dp_harness.h"
#include "l4/l4.h"

static struct harness h;
static uint8_t f[16384 + 64], out[16384 + 64], dg[70000];

static void setup(void)
{
    h_eal_init();
    cr_assert_eq(h_init(&h, 4096), 0);
}

TestSuite(l4_frag, .init = setup);

#define CLIENT "10.200.50.20"
#define VIP "10.200.50.120"

/* The frame in buf is a valid IPv4 TCP/UDP packet: header and L4 checksums. */
static void assert_valid(const uint8_t *buf, uint32_t len)
{
    cr_assert_eq(h_assert_valid(buf, len).is_fragment, 0);
}

/* A whole UDP datagram client:sport -> VIP:3478 with data_len bytes, in dg (frame). */
static uint32_t datagram(uint16_t sport, uint16_t data_len, uint16_t id)
{
    uint32_t len = frame_udp(dg, ip4(CLIENT), ip4(VIP), sport, 3478, data_len);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(dg + 14);

    for (uint32_t i = 42; i < len; i++)
        dg[i] = (uint8_t)(i * 13 + id);
    ((struct rte_udp_hdr *)(dg + 34))->dgram_cksum = 0;
    ((struct rte_udp_hdr *)(dg + 34))->dgram_cksum = rte_ipv4_udptcp_cksum(ip, dg + 34);
    ip->packet_id = rte_cpu_to_be_16(id);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return len;
}

/* The fragment of dg's IP payload [off, off + len) (off a multiple of 8), MF unless
 * it ends the datagram, as a frame in f; returns its length. */
static uint32_t fragment(uint32_t dg_len, uint32_t off, uint32_t len)
{
    uint32_t payload = dg_len - 34;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    uint16_t fo = (uint16_t)(off / 8);

    memcpy(f, dg, 34);
    memcpy(f + 34, dg + 34 + off, len);
    if (off + len < payload)
        fo |= RTE_IPV4_HDR_MF_FLAG;
    ip->fragment_offset = rte_cpu_to_be_16(fo);
    ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + len));
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return 34 + len;
}

static void send_frag(uint32_t dg_len, uint32_t off, uint32_t len)
{
    uint32_t n = fragment(dg_len, off, len);
    h_run(&h, f, n, 1);
}

/* What came out on port 0 is dg rewritten to a real server: same length and payload. */
static void assert_reassembled(uint32_t dg_len)
{
    uint32_t len = h_sent(&h, 0, out, sizeof(out));

    cr_assert_eq(len, dg_len, "one whole datagram to the real server");
    assert_valid(out, len);
    cr_assert_neq(h_ip_of(out)->dst_addr, ip4(VIP), "rewritten to a real server");
    cr_assert_eq(memcmp(out + 42, dg + 42, dg_len - 42), 0, "payload in order");
}

Test(l4_frag, in_order_and_out_of_order)
{
    uint32_t len = datagram(40000, 1192, 7);   /* UDP 1200 bytes: 400 + 400 + 400 */

    send_frag(len, 0, 400);
    send_frag(len, 400, 400);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "nothing before the last piece");
    send_frag(len, 800, 400);
    assert_reassembled(len);
    cr_assert_eq(h.w->stats.reass.datagrams, 1);
    cr_assert_eq(h.w->stats.l4.conns_created, 1);

    len = datagram(40001, 1192, 8);
    send_frag(len, 800, 400);
    send_frag(len, 0, 400);
    send_frag(len, 400, 400);
    assert_reassembled(len);
    cr_assert_eq(h.w->stats.reass.datagrams, 2);
    cr_assert_eq(h.w->reass.n_entries, 0);
    cr_assert_eq(h.w->reass.n_mbufs, 0, "nothing held");
}

Test(l4_frag, overlap_refuses_the_datagram_and_a_duplicate_is_dropped_alone)
{
    uint32_t len = datagram(40000, 1192, 9);
    uint64_t *d = h.w->stats.lcore.drops;

    send_frag(len, 0, 400);
    send_frag(len, 392, 408);                  /* overlaps the first by 8 bytes */
    cr_assert_eq(d[DROP_REASS_OVERLAP], 2, "both fragments dropped");
    cr_assert_eq(h.w->reass.n_entries, 0, "the datagram is abandoned");
    send_frag(len, 800, 400);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "never completes");

    len = datagram(40001, 1192, 10);
    send_frag(len, 0, 400);
    send_frag(len, 0, 400);                    /* an exact duplicate */
    cr_assert_eq(d[DROP_REASS_DUPLICATE], 1);
    send_frag(len, 400, 400);
    send_frag(len, 800, 400);
    assert_reassembled(len);
    cr_assert_eq(h.w->stats.reass.refused, 1);
}

Test(l4_frag, caps_on_fragments_and_bytes)
{
    uint32_t len = datagram(40000, 8 * 17 - 8, 11);    /* 17 fragments of 8 bytes */
    uint64_t *d = h.w->stats.lcore.drops;

    for (uint32_t i = 0; i < 17; i++)
        send_frag(len, i * 8, 8);
    cr_assert_eq(d[DROP_REASS_TOO_BIG], 17, "the 17th refuses all");
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);

    /* 16400 bytes in 16 fragments of 1025 * 8 (the last short): over the byte cap. */
    len = datagram(40001, 16400 - 8, 12);
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t off = i * 1032, n = RTE_MIN(1032u, 16400u - off);
        if (off < 16400)
            send_frag(len, off, n);
    }
    cr_assert_gt(d[DROP_REASS_TOO_BIG], 17);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    cr_assert_eq(h.w->reass.n_entries, 0);
}

Test(l4_frag, invalid_fragments)
{
    uint64_t *d = h.w->stats.lcore.drops;
    uint32_t len = datagram(40000, 1192, 13);

    /* A non-last fragment not in 8-byte units. */
    send_frag(len, 0, 401);
    cr_assert_eq(d[DROP_REASS_INVALID], 1);
    /* Past 65535 bytes (offset 65528 + 16). */
    {
        uint32_t n = fragment(len, 0, 16);
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
        ip->fragment_offset = rte_cpu_to_be_16(65528 / 8);
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
        h_run(&h, f, n, 1);
        cr_assert_eq(d[DROP_REASS_TOO_BIG], 1);
    }
    /* A first fragment of 8 bytes cannot hold a TCP header (RFC 1858). */
    {
        uint32_t tl = frame_tcp(dg, ip4(CLIENT), ip4(VIP), 41000, 443);
        send_frag(tl, 0, 8);
        send_frag(tl, 8, 12);
        cr_assert_eq(d[DROP_REASS_INVALID], 2, "tiny first fragment");
        cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
    }
    /* Fragments to a self IP are not reassembled. */
    len = frame_udp(dg, ip4(CLIENT), ip4("10.200.50.5"), 40000, 3478, 100);
    send_frag(len, 0, 64);
    cr_assert_eq(d[DROP_IP_FRAGMENT], 1);
}

Test(l4_frag, timeout_drops_what_never_completes)
{
    uint32_t len;

    for (uint16_t i = 0; i < 10; i++) {
        len = datagram(40000, 1192, (uint16_t)(100 + i));
        send_frag(len, 0, 400);
    }
    cr_assert_eq(h.w->reass.n_entries, 10);
    h.w->lc.now_ms += DP_REASS_TIMEOUT_MS - 1;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(h.w->reass.n_entries, 10, "not before the timeout");
    h.w->lc.now_ms += 1;
    twheel_advance(&h.w->lc.wheel, h.w->lc.now_ms);
    cr_assert_eq(h.w->reass.n_entries, 0);
    cr_assert_eq(h.w->reass.n_mbufs, 0);
    cr_assert_eq(h.w->stats.reass.timeouts, 10);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_REASS_TIMEOUT], 10);
    /* The rest of a timed-out datagram starts a new one that never completes. */
    send_frag(len, 400, 792);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0);
}

Test(l4_frag, a_flood_of_incomplete_datagrams_stays_bounded_and_real_traffic_passes)
{
    uint32_t len;

    /* First fragments that never complete, every one a new datagram. */
    for (uint32_t i = 0; i < 3000; i++) {
        len = datagram(40000, 1192, (uint16_t)i);
        send_frag(len, 0, 400);
        cr_assert_leq(h.w->reass.n_entries, DP_REASS_ENTRIES);
    }
    cr_assert_eq(h.w->reass.n_entries, DP_REASS_ENTRIES);
    cr_assert_eq(h.w->stats.reass.evicted, 3000 - DP_REASS_ENTRIES);
    len = datagram(41000, 1192, 60000);
    send_frag(len, 0, 400);
    send_frag(len, 400, 400);
    send_frag(len, 800, 400);
    assert_reassembled(len);

    /* Datagrams of 15 fragments out of 16: the fragments held stay within their cap. */
    for (uint32_t i = 0; i < 200; i++) {
        len = datagram(40000, 16 * 64 - 8, (uint16_t)(10000 + i));
        for (uint32_t j = 0; j < 15; j++)
            send_frag(len, j * 64, 64);
        cr_assert_leq(h.w->reass.n_mbufs, DP_REASS_MBUFS);
    }
    len = datagram(41001, 1192, 60001);
    send_frag(len, 800, 400);
    send_frag(len, 0, 400);
    send_frag(len, 400, 400);
    assert_reassembled(len);
    cr_assert_eq(h.w->stats.reass.datagrams, 2);
    cr_assert_eq(rte_mempool_in_use_count(h.pool), h.w->reass.n_mbufs,
                 "no mbuf lost: only the held fragments are out of the pool");
}

/*
 * Puts the fragments that came out on port (until none is left) back together into
 * buf as one frame (the first fragment's Ethernet and IP headers), checking each
 * fragment's size and header; returns the frame length and the count in *nfrag.
 */
static uint32_t collect(uint16_t port, uint16_t mtu, uint8_t *buf, unsigned *nfrag)
{
    uint8_t one[2048];
    uint32_t len, total = 0, end_seen = 0;
    bool last_seen = false;

    *nfrag = 0;
    while ((len = h_sent(&h, port, one, sizeof(one))) > 0) {
        const struct rte_ipv4_hdr *ip = h_ip_of(one);
        uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
        uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
        uint32_t off = (uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) * 8;
        uint32_t plen = rte_be_to_cpu_16(ip->total_length) - ihl;

        cr_assert_leq(rte_be_to_cpu_16(ip->total_length), mtu, "within the MTU");
        cr_assert_eq(rte_raw_cksum(ip, ihl), 0xffff, "fragment header checksum");
        cr_assert_eq(fo & RTE_IPV4_HDR_DF_FLAG, 0);
        if (!(fo & RTE_IPV4_HDR_MF_FLAG)) {
            last_seen = true;
            end_seen = off + plen;
        } else {
            cr_assert_eq(plen % 8, 0, "a non-last fragment holds 8-byte units");
        }
        if (off == 0)
            memcpy(buf, one, 14 + ihl);
        memcpy(buf + 34 + off, one + 14 + ihl, plen);
        total += plen;
        (*nfrag)++;
    }
    cr_assert(last_seen);
    cr_assert_eq(total, end_seen, "every byte once");
    {
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + 14);
        ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + total));
        ip->fragment_offset = 0;
        ip->hdr_checksum = 0;
        ip->hdr_checksum = rte_ipv4_cksum(ip);
    }
    return 34 + total;
}

Test(l4_frag, over_the_server_port_mtu_is_fragmented)
{
    uint32_t len = datagram(40000, 1400, 21), got;
    unsigned n;

    h.w->lc.tx_mtu[0] = 576;
    h.w->lc.mtu_min = 576;
    h_run(&h, dg, len, 1);
    got = collect(0, 576, out, &n);
    cr_assert_eq(n, 3, "1428 bytes over 576: 3 fragments");
    cr_assert_eq(got, len);
    assert_valid(out, got);
    cr_assert_neq(h_ip_of(out)->dst_addr, ip4(VIP), "rewritten before it was cut");
    cr_assert_eq(memcmp(out + 42, dg + 42, len - 42), 0);
    cr_assert_eq(h.w->stats.ip_out.frag_packets, 1);
    cr_assert_eq(h.w->stats.ip_out.frag_out, 3);

    /* A reassembled datagram (a chain) bigger than the MTU goes out in fragments too. */
    len = datagram(40001, 1192, 22);
    send_frag(len, 0, 400);
    send_frag(len, 400, 400);
    send_frag(len, 800, 400);
    got = collect(0, 576, out, &n);
    cr_assert_eq(n, 3);
    cr_assert_eq(got, len);
    assert_valid(out, got);
}

Test(l4_frag, df_over_the_mtu_is_answered_with_frag_needed)
{
    uint32_t len = datagram(40000, 1400, 23);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(dg + 14);
    struct pkt_info pi;
    const struct rte_ipv4_hdr *q;
    uint32_t rs;

    h.w->lc.tx_mtu[0] = 1000;
    h.w->lc.mtu_min = 1000;
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    h_run(&h, dg, len, 1);
    cr_assert_eq(h_sent(&h, 0, out, sizeof(out)), 0, "not sent to the server");
    cr_assert_eq(h.w->stats.lcore.drops[DROP_FRAG_NEEDED], 1);
    len = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + 28, "the client is told");
    cr_assert_eq(pkt_parse(out, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.ip_proto, IPPROTO_ICMP);
    cr_assert_eq(pi.src_ip, ip4(VIP), "from the address the client knows");
    cr_assert_eq(pi.dst_ip, ip4(CLIENT));
    cr_assert_eq(out[34], 3);
    cr_assert_eq(out[35], 4);
    cr_assert_eq(rte_be_to_cpu_16(*(const uint16_t *)(out + 40)), 1000, "the next-hop MTU");
    cr_assert_eq(rte_raw_cksum(out + 34, pi.l4_len), 0xffff);
    q = (const struct rte_ipv4_hdr *)(out + 42);
    cr_assert_eq(q->dst_addr, ip4(VIP), "quotes the packet as the client sent it");
    cr_assert_eq(memcmp(out + 42, dg + 14, 28), 0);
    cr_assert_eq(h.w->stats.ip_out.frag_needed_sent, 1);

    /* The other way: a server's DF answer over the client port's MTU. */
    len = datagram(40001, 20, 24);
    h.w->lc.tx_mtu[0] = 0;
    h_run(&h, dg, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    rs = h_ip_of(out)->dst_addr;
    h.w->lc.tx_mtu[1] = 1000;
    len = frame_udp(dg, rs, ip4(CLIENT), 3478, 40001, 1400);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    h_run(&h, dg, len, 0);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_eq(len, 14 + 20 + 8 + 28, "the server is told");
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("192.168.112.5"), "from its gateway's address");
    cr_assert_eq(h_ip_of(out)->dst_addr, rs);
    cr_assert_eq(((const struct rte_ipv4_hdr *)(out + 42))->src_addr, rs);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_FRAG_NEEDED], 2);
}

/* A whole UDP datagram src:3478 -> client:dport with data_len bytes, in dg (frame). */
static uint32_t answer(uint32_t src, uint16_t dport, uint16_t data_len, uint16_t id)
{
    uint32_t len = frame_udp(dg, src, ip4(CLIENT), 3478, dport, data_len);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(dg + 14);

    for (uint32_t i = 42; i < len; i++)
        dg[i] = (uint8_t)(i * 7 + id);
    ((struct rte_udp_hdr *)(dg + 34))->dgram_cksum = 0;
    ((struct rte_udp_hdr *)(dg + 34))->dgram_cksum = rte_ipv4_udptcp_cksum(ip, dg + 34);
    ip->packet_id = rte_cpu_to_be_16(id);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return len;
}

/* The client's UDP packet to the VIP opens a flow; returns its real server. */
static uint32_t open_flow(uint16_t sport)
{
    uint32_t len = frame_udp(f, ip4(CLIENT), ip4(VIP), sport, 3478, 20);

    h_run(&h, f, len, 1);
    len = h_sent(&h, 0, out, sizeof(out));
    cr_assert_gt(len, 0);
    return h_ip_of(out)->dst_addr;
}

Test(l4_frag, a_real_servers_fragmented_answer_gets_the_reverse_nat)
{
    uint32_t rs = open_flow(40000), len, got, n1;
    unsigned n;

    /* 1000 bytes of UDP in two fragments: reassembled, sent whole from the VIP. */
    len = answer(rs, 40000, 1000, 31);
    n1 = fragment(len, 0, 512);
    h_run(&h, f, n1, 0);
    cr_assert_eq(h_sent(&h, 1, out, sizeof(out)), 0, "held until the datagram is whole");
    n1 = fragment(len, 512, len - 34 - 512);
    h_run(&h, f, n1, 0);
    got = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(got, len, "one datagram to the client");
    assert_valid(out, got);     /* the UDP checksum over the whole datagram */
    cr_assert_eq(h_ip_of(out)->src_addr, ip4(VIP), "from the VIP, not the real server");
    cr_assert_eq(((const struct rte_udp_hdr *)(out + 34))->src_port, rte_cpu_to_be_16(3478));
    cr_assert_eq(memcmp(out + 42, dg + 42, len - 42), 0, "payload intact");
    cr_assert_eq(h.w->stats.l4.reverse_reassembled, 1);
    cr_assert_eq(h.w->stats.l4.reverse_packets, 1);

    /* 3000 bytes, out of order: reassembled, NAT'd, cut again to the client's MTU. */
    len = answer(rs, 40000, 3000, 32);
    h_run(&h, f, fragment(len, 1480, len - 34 - 1480), 0);
    h_run(&h, f, fragment(len, 0, 1480), 0);
    got = collect(1, 1500, out, &n);
    cr_assert_eq(n, 3, "3028 bytes over a 1500-byte MTU");
    cr_assert_eq(got, len);
    assert_valid(out, got);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4(VIP));
    cr_assert_eq(memcmp(out + 42, dg + 42, len - 42), 0);
    cr_assert_eq(h.w->stats.l4.reverse_reassembled, 2);
}

/*
 * virtio-net: a real server's answer left for checksum offload (its UDP field holds
 * only the pseudo-header sum of the whole datagram; the port flags it NONE), in two
 * fragments. The reassembled datagram leaves with its full checksum, completed over
 * all its segments, whether it is NAT'd for a client or routed as it was.
 */
static uint32_t partial_answer_through(uint32_t src, uint16_t dport, uint16_t id)
{
    uint32_t len = answer(src, dport, 1000, id), got;
    uint64_t done = h.w->stats.lcore.csum_completed;

    ((struct rte_udp_hdr *)(dg + 34))->dgram_cksum =
        rte_ipv4_phdr_cksum((const struct rte_ipv4_hdr *)(dg + 14), 0);
    h_run_flags(&h, f, fragment(len, 0, 512), 0, RTE_MBUF_F_RX_L4_CKSUM_NONE);
    h_run_flags(&h, f, fragment(len, 512, len - 34 - 512), 0, RTE_MBUF_F_RX_L4_CKSUM_NONE);
    got = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(got, len, "one datagram to the client");
    assert_valid(out, got);     /* the full UDP checksum over the whole datagram */
    cr_assert_eq(h.sent_ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, 0, "rx L4 flags cleared");
    cr_assert_eq(h.w->stats.lcore.csum_completed, done + 1);
    cr_assert_eq(memcmp(out + 42, dg + 42, len - 42), 0, "payload intact");
    return h_ip_of(out)->src_addr;
}

Test(l4_frag, a_real_servers_partial_checksum_fragments_leave_with_a_full_checksum)
{
    uint32_t rs = open_flow(40000);

    cr_assert_eq(partial_answer_through(rs, 40000, 35), ip4(VIP), "reverse NAT");
    cr_assert_eq(h.w->stats.l4.reverse_reassembled, 1);
    cr_assert_eq(partial_answer_through(ip4("192.168.112.52"), 41000, 36),
                 ip4("192.168.112.52"), "no connection: routed, no NAT");
    cr_assert_eq(h.w->stats.l4.reverse_reassembled, 1);
    cr_assert_eq(h.w->stats.lcore.drops[DROP_PARTIAL_CHECKSUM], 0);
}

Test(l4_frag, fragments_from_others_are_routed_as_they_come)
{
    uint32_t len, n1, got;

    open_flow(40000);
    /* From a host that is no real server: a router's job, untouched. */
    len = answer(ip4("192.168.112.99"), 40000, 1000, 33);
    n1 = fragment(len, 0, 512);
    h_run(&h, f, n1, 0);
    got = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(got, n1, "routed at once, as it came");
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("192.168.112.99"));
    cr_assert_neq(h_ip_of(out)->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG), 0);
    cr_assert_eq(h.w->stats.reass.fragments, 0, "the table is not used");
    /* From a real server, of no connection: reassembled, then routed as it was. */
    len = answer(ip4("192.168.112.52"), 41000, 1000, 34);
    h_run(&h, f, fragment(len, 0, 512), 0);
    h_run(&h, f, fragment(len, 512, len - 34 - 512), 0);
    got = h_sent(&h, 1, out, sizeof(out));
    cr_assert_eq(got, len);
    assert_valid(out, got);
    cr_assert_eq(h_ip_of(out)->src_addr, ip4("192.168.112.52"), "no connection: no NAT");
    cr_assert_eq(h.w->stats.l4.reverse_reassembled, 0);
}
