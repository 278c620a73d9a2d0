#include <criterion/criterion.h>

#include "frames.h"
#include "net/nat.h"
#include "net/pkt_parse.h"

static uint8_t f[2048];

/* The L4 checksum of the packet in f, computed from scratch. */
static uint16_t full_l4_csum(uint32_t l3, uint32_t l4, uint8_t proto)
{
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + l3);
    uint16_t *field = nat_l4_csum(f + l4, proto);
    uint16_t saved = *field, c;

    *field = 0;
    c = rte_ipv4_udptcp_cksum(ip, f + l4);
    *field = saved;
    return c;
}

static void check_packet(uint32_t len, uint8_t proto)
{
    struct pkt_info pi;

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE, "IP header checksum valid");
    cr_assert_eq(*nat_l4_csum(f + pi.l4_off, proto), full_l4_csum(14, pi.l4_off, proto),
                 "L4 checksum equals a full recomputation");
}

Test(nat, tcp_forward_and_reverse_rewrite_keep_checksums_exact)
{
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t client = rte_cpu_to_be_32(0xcb007100u + i * 7919u);
        uint16_t cport = (uint16_t)(1024 + i * 31);
        uint32_t len = frame_tcp(f, client, ip4("10.200.50.120"), cport, 443);
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
        struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);
        uint16_t rsport = (uint16_t)(i % 3 == 0 ? 443 : 8000 + i);

        nat_rewrite_dst(ip, tcp, IPPROTO_TCP, ip4("10.200.50.121"), rte_cpu_to_be_16(rsport));
        cr_assert_eq(ip->dst_addr, ip4("10.200.50.121"));
        cr_assert_eq(rte_be_to_cpu_16(tcp->dst_port), rsport);
        cr_assert_eq(ip->src_addr, client, "client address preserved");
        check_packet(len, IPPROTO_TCP);

        /* The server's answer, rewritten back to the VIP. */
        len = frame_tcp(f, ip4("10.200.50.121"), client, rsport, cport);
        nat_rewrite_src(ip, tcp, IPPROTO_TCP, ip4("10.200.50.120"), rte_cpu_to_be_16(443));
        cr_assert_eq(ip->src_addr, ip4("10.200.50.120"));
        cr_assert_eq(rte_be_to_cpu_16(tcp->src_port), 443);
        check_packet(len, IPPROTO_TCP);
    }
}

Test(nat, udp_rewrite_keeps_checksums_exact_including_the_zero_case)
{
    /* Every destination port: one of them makes the checksum come out 0 (sent 0xffff). */
    uint32_t zero_case = 0;

    for (uint32_t p = 1; p < 65536; p++) {
        uint32_t len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
        struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
        struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + 34);

        nat_rewrite_dst(ip, udp, IPPROTO_UDP, ip4("192.168.112.51"), rte_cpu_to_be_16((uint16_t)p));
        cr_assert_neq(udp->dgram_cksum, 0);
        if (udp->dgram_cksum == 0xffff)
            zero_case++;
        check_packet(len, IPPROTO_UDP);
    }
    cr_assert_gt(zero_case, 0, "the 0 -> 0xffff case was exercised");
}

Test(nat, udp_without_checksum_stays_without)
{
    uint32_t len = frame_udp(f, ip4("10.200.50.20"), ip4("10.200.50.120"), 40000, 3478, 20);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + 34);
    struct pkt_info pi;

    udp->dgram_cksum = 0;
    nat_rewrite_dst(ip, udp, IPPROTO_UDP, ip4("192.168.112.52"), rte_cpu_to_be_16(3479));
    cr_assert_eq(udp->dgram_cksum, 0);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.dst_ip, ip4("192.168.112.52"));
    cr_assert_eq(pi.dst_port, 3479);
}

Test(nat, ttl_decrement_updates_the_header_checksum_and_stops_at_one)
{
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    struct pkt_info pi;
    uint32_t len = frame_udp(f, ip4("192.168.112.51"), ip4("10.200.50.20"), 1, 2, 4);

    for (int ttl = 63; ttl > 1; ttl--) {
        cr_assert_eq(ip->time_to_live, ttl);
        cr_assert(nat_ttl_decrement(ip));
        cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE, "checksum valid at ttl %d", ttl);
    }
    cr_assert_eq(ip->time_to_live, 1);
    cr_assert_not(nat_ttl_decrement(ip));
    cr_assert_eq(ip->time_to_live, 1, "untouched");
}

/* A SYN with the TCP options opt (optlen, a multiple of 4) into f; its checksum. */
static struct rte_tcp_hdr *syn_with_options(const uint8_t *opt, uint32_t optlen)
{
    uint32_t l4 = frame_ipv4(f, frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us), IPPROTO_TCP,
                             ip4("10.200.50.10"), ip4("10.200.50.120"),
                             (uint16_t)(sizeof(struct rte_tcp_hdr) + optlen));
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + l4);

    memset(tcp, 0, sizeof(*tcp));
    tcp->src_port = rte_cpu_to_be_16(40000);
    tcp->dst_port = rte_cpu_to_be_16(443);
    tcp->sent_seq = rte_cpu_to_be_32(0x89abcdefu);
    tcp->data_off = (uint8_t)(((sizeof(*tcp) + optlen) / 4) << 4);
    tcp->tcp_flags = RTE_TCP_SYN_FLAG;
    tcp->rx_win = rte_cpu_to_be_16(64240);
    memcpy(tcp + 1, opt, optlen);
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + 14), tcp);
    return tcp;
}

/* The MSS option at byte i of the header, in host order. */
static uint16_t mss_at(const struct rte_tcp_hdr *tcp, uint32_t i)
{
    const uint8_t *h = (const uint8_t *)tcp;
    return (uint16_t)(h[i + 2] << 8 | h[i + 3]);
}

Test(nat, mss_clamp_lowers_the_option_at_even_and_odd_offsets_with_exact_checksums)
{
    /* MSS first (value at an even offset), then window scale and SACK permitted. */
    static const uint8_t even[] = {2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 0, 0};
    /* One NOP first: the value straddles two of the checksum's 16-bit words. */
    static const uint8_t odd[] = {1, 2, 4, 0x23, 0x28, 1, 1, 0};
    struct rte_tcp_hdr *tcp;
    uint32_t len;

    tcp = syn_with_options(even, sizeof(even));
    len = 14 + 20 + 20 + sizeof(even);
    cr_assert(nat_tcp_clamp_mss(tcp, 20 + sizeof(even), 1360));
    cr_assert_eq(mss_at(tcp, 20), 1360);
    cr_assert_eq(((uint8_t *)tcp)[27], 7, "the options after it untouched");
    check_packet(len, IPPROTO_TCP);

    tcp = syn_with_options(odd, sizeof(odd));
    len = 14 + 20 + 20 + sizeof(odd);
    cr_assert(nat_tcp_clamp_mss(tcp, 20 + sizeof(odd), 1460));
    cr_assert_eq(mss_at(tcp, 21), 1460, "9000 lowered to 1460");
    check_packet(len, IPPROTO_TCP);
    for (uint16_t max = 500; max < 9000; max = (uint16_t)(max + 977)) {
        tcp = syn_with_options(odd, sizeof(odd));
        nat_tcp_clamp_mss(tcp, 20 + sizeof(odd), max);
        cr_assert_eq(mss_at(tcp, 21), max);
        check_packet(len, IPPROTO_TCP);
    }
}

Test(nat, mss_clamp_leaves_smaller_missing_and_malformed_options_alone)
{
    static const uint8_t small[] = {2, 4, 0x02, 0x18, 1, 1, 1, 0};         /* 536 */
    static const uint8_t none[] = {1, 1, 4, 2, 1, 3, 3, 7};
    static const uint8_t runs_past[] = {1, 1, 1, 2, 9, 0x05, 0xb4, 0};   /* length 9 */
    static const uint8_t after_end[] = {0, 0, 0, 0, 2, 4, 0x05, 0xb4};   /* behind EOL */
    const uint8_t *cases[] = {small, none, runs_past, after_end};
    uint8_t before[40];

    for (unsigned i = 0; i < 4; i++) {
        struct rte_tcp_hdr *tcp = syn_with_options(cases[i], 8);
        memcpy(before, tcp, 28);
        cr_assert_not(nat_tcp_clamp_mss(tcp, 28, 1360), "case %u", i);
        cr_assert_eq(memcmp(before, tcp, 28), 0, "case %u: header unchanged", i);
    }
}

Test(nat, csum_raw32_is_rte_raw_cksum_over_words_and_checks_ipv4_headers)
{
    uint8_t b[64 + 1];
    uint32_t x = 0x12345678u;

    /* Any bytes, any alignment: the folded sum of n 32-bit words is DPDK's. */
    for (int round = 0; round < 2000; round++) {
        uint32_t n4 = 5 + (uint32_t)round % 11, off = (uint32_t)round & 1;
        for (uint32_t i = 0; i < sizeof(b); i++) {
            x = x * 1103515245u + 12345u;
            b[i] = round % 7 == 0 ? 0xff : (uint8_t)(x >> 16);   /* all-ones words too */
        }
        cr_assert_eq(csum_raw32(b + off, n4), rte_raw_cksum(b + off, 4 * n4), "round %d", round);
    }
    /* A header with options: right, then wrong by one bit, then right again. */
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)b;
    memset(b, 0, sizeof(b));
    ip->version_ihl = 0x47;                 /* 28 bytes */
    ip->total_length = rte_cpu_to_be_16(28);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->src_addr = ip4("192.168.112.51");
    ip->dst_addr = ip4("10.200.50.20");
    b[20] = 1;
    b[21] = 1;                              /* NOPs */
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    cr_assert(csum_ipv4_hdr_ok(ip, 28));
    ip->packet_id ^= rte_cpu_to_be_16(1);
    cr_assert_not(csum_ipv4_hdr_ok(ip, 28));
    ip->packet_id ^= rte_cpu_to_be_16(1);
    cr_assert(csum_ipv4_hdr_ok(ip, 28));
}
