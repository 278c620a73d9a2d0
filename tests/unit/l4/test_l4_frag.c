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
    char *argv[] = {"test", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                    "--log-level=error", "-l", "0", "--vdev=net_ring0", "--vdev=net_ring1",
                    NULL};

    cr_assert_geq(rte_eal_init(11, argv), 0);
    cr_assert_eq(h_init(&h, 4096), 0);
}

TestSuite(l4_frag, .init = setup);

#define CLIENT "10.200.50.20"
#define VIP "10.200.50.120"

static const struct rte_ipv4_hdr *ip_of(const uint8_t *frame)
{
    return (const struct rte_ipv4_hdr *)(frame + 14);
}

/* The frame in buf is a valid IPv4 TCP/UDP packet: header and L4 checksums. */
static void assert_valid(const uint8_t *buf, uint32_t len)
{
    struct pkt_info pi;
    const struct rte_ipv4_hdr *ip = ip_of(buf);
    uint32_t sum;

    cr_assert_eq(pkt_parse(buf, len, true, &pi), DROP_NONE, "IP header valid");
    cr_assert_eq(pi.is_fragment, 0);
    sum = rte_raw_cksum(buf + pi.l4_off, pi.l4_len);
    sum += (ip->src_addr & 0xffff) + (ip->src_addr >> 16);
    sum += (ip->dst_addr & 0xffff) + (ip->dst_addr >> 16);
    sum += rte_cpu_to_be_16(pi.ip_proto) + rte_cpu_to_be_16(pi.l4_len);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    cr_assert_eq(sum, 0xffff, "L4 checksum valid");
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
    cr_assert_neq(ip_of(out)->dst_addr, ip4(VIP), "rewritten to a real server");
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
