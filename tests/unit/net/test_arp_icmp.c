#include <criterion/criterion.h>

#include "base/csum.h"
#include "frames.h"
#include "net/arp.h"
#include "net/icmp.h"
#include "net/rx_csum.h"

static uint8_t f[2048];

Test(arp, request_becomes_reply_in_place)
{
    uint32_t len = frame_arp(f, RTE_ARP_OP_REQUEST, ip4("192.168.112.10"), ip4("192.168.112.110"));
    const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;
    const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(f + 14);
    struct pkt_info pi;
    uint32_t sip, tip;

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(arp_reply_in_place(f, &pi, &frame_mac_us), DROP_NONE);
    cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &frame_mac_peer));
    cr_assert(rte_is_same_ether_addr(&eth->src_addr, &frame_mac_us));
    cr_assert_eq(rte_be_to_cpu_16(arp->arp_opcode), RTE_ARP_OP_REPLY);
    cr_assert(rte_is_same_ether_addr(&arp->arp_data.arp_sha, &frame_mac_us));
    cr_assert(rte_is_same_ether_addr(&arp->arp_data.arp_tha, &frame_mac_peer));
    memcpy(&sip, &arp->arp_data.arp_sip, 4);
    memcpy(&tip, &arp->arp_data.arp_tip, 4);
    cr_assert_eq(sip, ip4("192.168.112.110"));
    cr_assert_eq(tip, ip4("192.168.112.10"));
    /* The reply parses as a reply for the asker. */
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.arp_op, RTE_ARP_OP_REPLY);
}

Test(arp, reply_is_not_answered)
{
    uint32_t len = frame_arp(f, RTE_ARP_OP_REPLY, ip4("10.0.0.2"), ip4("10.0.0.1"));
    struct pkt_info pi;

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(arp_reply_in_place(f, &pi, &frame_mac_us), DROP_ARP_NOT_OURS);
}

Test(arp, gratuitous_and_request_builders_parse)
{
    struct pkt_info pi;
    uint32_t len = arp_build_gratuitous(f, ip4("10.0.0.9"), &frame_mac_us);

    cr_assert_eq(len, ARP_FRAME_LEN);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.src_ip, ip4("10.0.0.9"));
    cr_assert_eq(pi.dst_ip, ip4("10.0.0.9"));
    cr_assert(rte_is_broadcast_ether_addr(&((struct rte_ether_hdr *)f)->dst_addr));
    len = arp_build_request(f, ip4("10.0.0.1"), &frame_mac_us, ip4("10.0.0.7"));
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.arp_op, RTE_ARP_OP_REQUEST);
    cr_assert_eq(pi.dst_ip, ip4("10.0.0.7"));
}

Test(icmp, echo_request_becomes_valid_reply)
{
    uint32_t len = frame_icmp_echo(f, ip4("192.168.112.10"), ip4("192.168.112.110"), 0x4242, 7, 56);
    const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(f + 14);
    const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(f + 34);
    const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)f;
    struct pkt_info pi;
    uint8_t payload[56];

    memcpy(payload, f + 42, sizeof(payload));
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(icmp_echo_reply_in_place(f, &pi, &frame_mac_us, RX_CSUM_VERIFY), DROP_NONE);
    cr_assert_eq(ip->src_addr, ip4("192.168.112.110"));
    cr_assert_eq(ip->dst_addr, ip4("192.168.112.10"));
    cr_assert_eq(ip->time_to_live, ICMP_REPLY_TTL);
    cr_assert_eq(rte_raw_cksum(ip, 20), 0xffff, "IP checksum valid");
    cr_assert_eq(icmp->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
    cr_assert_eq(rte_raw_cksum(icmp, 64), 0xffff, "ICMP checksum valid");
    cr_assert_eq(rte_be_to_cpu_16(icmp->icmp_ident), 0x4242);
    cr_assert_eq(rte_be_to_cpu_16(icmp->icmp_seq_nb), 7);
    cr_assert_eq(memcmp(payload, f + 42, sizeof(payload)), 0, "payload echoed");
    cr_assert(rte_is_same_ether_addr(&eth->dst_addr, &frame_mac_peer));
    cr_assert(rte_is_same_ether_addr(&eth->src_addr, &frame_mac_us));
}

Test(icmp, odd_payload_lengths_keep_checksums_valid)
{
    for (uint16_t n = 0; n < 80; n++) {
        uint32_t len = frame_icmp_echo(f, ip4("10.1.2.3"), ip4("10.3.2.1"), n, n, n);
        struct pkt_info pi;
        cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
        cr_assert_eq(icmp_echo_reply_in_place(f, &pi, &frame_mac_us, RX_CSUM_VERIFY), DROP_NONE);
        cr_assert_eq(rte_raw_cksum(f + 34, (size_t)8 + n), 0xffff, "len %u", n);
    }
}

Test(icmp, bad_checksum_and_other_types_are_dropped)
{
    uint32_t len = frame_icmp_echo(f, ip4("10.1.2.3"), ip4("10.3.2.1"), 1, 1, 16);
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(f + 34);
    struct pkt_info pi;

    f[len - 1] ^= 0xff;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(icmp_echo_reply_in_place(f, &pi, &frame_mac_us, RX_CSUM_VERIFY),
                 DROP_BAD_ICMP_CHECKSUM);
    len = frame_icmp_echo(f, ip4("10.1.2.3"), ip4("10.3.2.1"), 1, 1, 16);
    icmp->icmp_type = 3; /* destination unreachable */
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(icmp_echo_reply_in_place(f, &pi, &frame_mac_us, RX_CSUM_VERIFY),
                 DROP_ICMP_UNHANDLED);
}

/* The port's verdict on the ICMP checksum stands (net/rx_csum.h), as for TCP. */
Test(icmp, checksum_flags_are_honoured)
{
    uint32_t len = frame_icmp_echo(f, ip4("10.1.2.3"), ip4("10.3.2.1"), 1, 1, 16);
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(f + 34);
    struct pkt_info pi;

    /* Sound data, a field not to be trusted (flagged NONE): answered, reply valid. */
    icmp->icmp_cksum ^= 0x1234;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(icmp_echo_reply_in_place(f, &pi, &frame_mac_us, RX_CSUM_VALID), DROP_NONE);
    cr_assert_eq(rte_raw_cksum(icmp, 24), 0xffff, "reply checksum valid");
    /* Flagged bad: dropped, even with a correct field. */
    len = frame_icmp_echo(f, ip4("10.1.2.3"), ip4("10.3.2.1"), 1, 1, 16);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(icmp_echo_reply_in_place(f, &pi, &frame_mac_us, RX_CSUM_BAD),
                 DROP_BAD_ICMP_CHECKSUM);
    /* The mbuf flags map to those verdicts. */
    {
        struct rte_mbuf m = {.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_NONE};
        cr_assert_eq(rx_csum_l4(&m), RX_CSUM_VALID);
        cr_assert(rx_csum_l4_partial(&m));
        m.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD;
        cr_assert_eq(rx_csum_l4(&m), RX_CSUM_VALID);
        cr_assert(!rx_csum_l4_partial(&m));
        m.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD;
        cr_assert_eq(rx_csum_l4(&m), RX_CSUM_BAD);
        m.ol_flags = RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN | RTE_MBUF_F_RX_IP_CKSUM_NONE;
        cr_assert_eq(rx_csum_l4(&m), RX_CSUM_VERIFY);
        cr_assert_eq(rx_csum_ip(&m), RX_CSUM_VALID);
        m.ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
        cr_assert_eq(rx_csum_ip(&m), RX_CSUM_BAD);
        m.ol_flags = RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN;
        cr_assert_eq(rx_csum_ip(&m), RX_CSUM_VERIFY);
    }
}

Test(csum, incremental_update_matches_full_recompute)
{
    uint32_t seed = 99;

    for (int iter = 0; iter < 10000; iter++) {
        uint16_t words[10];
        uint16_t c, full;
        uint32_t old32, new32;
        for (int i = 0; i < 10; i++) {
            seed = seed * 1103515245 + 12345;
            words[i] = (uint16_t)(seed >> 8);
        }
        c = (uint16_t)~rte_raw_cksum(words, sizeof(words));
        /* 16-bit change */
        seed = seed * 1103515245 + 12345;
        uint16_t nw = (uint16_t)(seed >> 4);
        csum_replace16(&c, words[3], nw);
        words[3] = nw;
        full = (uint16_t)~rte_raw_cksum(words, sizeof(words));
        cr_assert(c == full || (c == 0xffff && full == 0) || (c == 0 && full == 0xffff),
                  "16: %04x vs %04x", c, full);
        /* 32-bit change (an address) */
        memcpy(&old32, &words[6], 4);
        seed = seed * 1103515245 + 12345;
        new32 = seed;
        csum_replace32(&c, old32, new32);
        memcpy(&words[6], &new32, 4);
        full = (uint16_t)~rte_raw_cksum(words, sizeof(words));
        cr_assert(c == full || (c == 0xffff && full == 0) || (c == 0 && full == 0xffff),
                  "32: %04x vs %04x", c, full);
    }
}

/* csum_mbuf_raw over a chain equals the sum over the same bytes laid flat, wherever the
 * segments are cut (odd lengths before the last one included: DPDK 22.11's
 * rte_raw_cksum_mbuf is wrong there). The segments are mbuf headers over one buffer. */
Test(csum, chained_sum_equals_the_flat_sum_at_any_cut)
{
    static uint8_t data[3000];
    struct rte_mbuf seg[4];
    uint32_t x = 12345;

    for (unsigned i = 0; i < sizeof(data); i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    for (unsigned trial = 0; trial < 2000; trial++) {
        uint32_t cut[5], len, off;
        uint16_t got, want;

        x = x * 1103515245u + 12345u;
        cut[0] = 0;
        cut[4] = 1 + (x >> 8) % (sizeof(data) - 1);
        for (unsigned k = 1; k < 4; k++) {
            x = x * 1103515245u + 12345u;
            cut[k] = cut[k - 1] + (x >> 8) % (cut[4] - cut[k - 1] + 1);
        }
        memset(seg, 0, sizeof(seg));
        for (unsigned k = 0; k < 4; k++) {
            seg[k].buf_addr = data + cut[k];
            seg[k].data_off = 0;
            seg[k].data_len = (uint16_t)(cut[k + 1] - cut[k]);
            seg[k].next = k < 3 ? &seg[k + 1] : NULL;
        }
        x = x * 1103515245u + 12345u;
        off = (x >> 8) % cut[4];
        len = cut[4] - off;
        cr_assert_eq(csum_mbuf_raw(&seg[0], off, len, &got), 0);
        want = rte_raw_cksum(data + off, len);
        cr_assert_eq(got, want, "cuts %u %u %u end %u, from %u: %04x, flat %04x", cut[1],
                     cut[2], cut[3], cut[4], off, got, want);
    }
    cr_assert_eq(csum_mbuf_raw(&seg[0], 0, sizeof(data) + 1, &(uint16_t){0}), -1,
                 "beyond the chain");
}
