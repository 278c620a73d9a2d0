#include <criterion/criterion.h>

#include "frames.h"
#include "net/pkt_parse.h"

static uint8_t f[2048];

Test(pkt_parse, arp_request)
{
    uint32_t len = frame_arp(f, RTE_ARP_OP_REQUEST, ip4("10.0.0.2"), ip4("10.0.0.1"));
    struct pkt_info pi;

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.l3, PKT_L3_ARP);
    cr_assert_eq(pi.arp_op, RTE_ARP_OP_REQUEST);
    cr_assert_eq(pi.src_ip, ip4("10.0.0.2"));
    cr_assert_eq(pi.dst_ip, ip4("10.0.0.1"));
}

Test(pkt_parse, arp_every_truncation_is_malformed)
{
    uint32_t len = frame_arp(f, RTE_ARP_OP_REQUEST, ip4("10.0.0.2"), ip4("10.0.0.1"));
    struct pkt_info pi;

    for (uint32_t l = 14; l < len; l++)
        cr_assert_eq(pkt_parse(f, l, true, &pi), DROP_MALFORMED_ARP, "len %u", l);
    for (uint32_t l = 0; l < 14; l++)
        cr_assert_eq(pkt_parse(f, l, true, &pi), DROP_MALFORMED_ETH, "len %u", l);
}

Test(pkt_parse, arp_bad_fields)
{
    uint32_t len = frame_arp(f, RTE_ARP_OP_REQUEST, ip4("10.0.0.2"), ip4("10.0.0.1"));
    struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(f + 14);
    struct pkt_info pi;

    arp->arp_hlen = 8;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_ARP);
    arp->arp_hlen = 6;
    arp->arp_protocol = rte_cpu_to_be_16(0x86dd);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_ARP);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_opcode = rte_cpu_to_be_16(9);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_ARP);
}

Test(pkt_parse, icmp_echo)
{
    uint32_t len = frame_icmp_echo(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 77, 1, 56);
    struct pkt_info pi;

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.l3, PKT_L3_IPV4);
    cr_assert_eq(pi.ip_proto, IPPROTO_ICMP);
    cr_assert_eq(pi.icmp_type, RTE_IP_ICMP_ECHO_REQUEST);
    cr_assert_eq(pi.icmp_id, 77);
    cr_assert_eq(pi.l4_off, 34);
    cr_assert_eq(pi.l4_len, 64);
    cr_assert_eq(pi.l3_len, 84);
}

Test(pkt_parse, ethernet_padding_is_not_payload)
{
    uint32_t len = frame_udp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1000, 53, 2);
    struct pkt_info pi;

    memset(f + len, 0, 60 - len);
    cr_assert_eq(pkt_parse(f, 60, true, &pi), DROP_NONE);
    cr_assert_eq(pi.l4_len, 10);
}

Test(pkt_parse, tcp_and_udp_ports)
{
    uint32_t len = frame_tcp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 40000, 443);
    struct pkt_info pi;

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.src_port, 40000);
    cr_assert_eq(pi.dst_port, 443);
    len = frame_udp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 5000, 3478, 20);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert_eq(pi.ip_proto, IPPROTO_UDP);
    cr_assert_eq(pi.dst_port, 3478);
}

Test(pkt_parse, every_truncation_of_ip_packets_is_dropped_not_read)
{
    struct pkt_info pi;
    uint32_t len;

    len = frame_tcp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1, 2);
    for (uint32_t l = 14; l < len; l++)
        cr_assert_eq(pkt_parse(f, l, true, &pi), DROP_MALFORMED_IP, "tcp len %u", l);
    len = frame_udp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1, 2, 0);
    for (uint32_t l = 14; l < len; l++)
        cr_assert_eq(pkt_parse(f, l, true, &pi), DROP_MALFORMED_IP, "udp len %u", l);
}

Test(pkt_parse, short_l4_headers_inside_a_consistent_ip_packet)
{
    struct pkt_info pi;
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4;

    l4 = frame_ipv4(f, off, IPPROTO_TCP, ip4("10.0.0.2"), ip4("10.0.0.1"), 10);
    cr_assert_eq(pkt_parse(f, l4 + 10, true, &pi), DROP_MALFORMED_TCP);
    l4 = frame_ipv4(f, off, IPPROTO_UDP, ip4("10.0.0.2"), ip4("10.0.0.1"), 6);
    cr_assert_eq(pkt_parse(f, l4 + 6, true, &pi), DROP_MALFORMED_UDP);
    l4 = frame_ipv4(f, off, IPPROTO_ICMP, ip4("10.0.0.2"), ip4("10.0.0.1"), 4);
    cr_assert_eq(pkt_parse(f, l4 + 4, true, &pi), DROP_MALFORMED_ICMP);
}

Test(pkt_parse, tcp_data_offset_out_of_bounds)
{
    uint32_t len = frame_tcp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1, 2);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + 34);
    struct pkt_info pi;

    tcp->data_off = 15 << 4;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_TCP);
    tcp->data_off = 4 << 4;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_TCP);
}

Test(pkt_parse, udp_length_beyond_ip)
{
    uint32_t len = frame_udp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1, 2, 8);
    struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + 34);
    struct pkt_info pi;

    udp->dgram_len = rte_cpu_to_be_16(100);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_UDP);
    udp->dgram_len = rte_cpu_to_be_16(4);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_UDP);
}

Test(pkt_parse, ip_header_errors)
{
    uint32_t len = frame_icmp_echo(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1, 1, 8);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    struct pkt_info pi;

    ip->version_ihl = 0x65;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_IP, "version 6");
    ip->version_ihl = 0x44;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_IP, "ihl 4");
    ip->version_ihl = 0x4f;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_IP, "ihl beyond total");
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16(1500);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_IP, "total beyond frame");
    ip->total_length = rte_cpu_to_be_16(10);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_MALFORMED_IP, "total below header");
}

Test(pkt_parse, ip_checksum_verified_only_when_asked)
{
    uint32_t len = frame_icmp_echo(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1, 1, 8);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    struct pkt_info pi;

    ip->hdr_checksum ^= 0x0101;
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_BAD_IP_CHECKSUM);
    cr_assert_eq(pkt_parse(f, len, false, &pi), DROP_NONE);
}

Test(pkt_parse, ip_options_move_l4)
{
    struct pkt_info pi;
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + off);
    struct rte_udp_hdr *udp;

    frame_ipv4(f, off, IPPROTO_UDP, ip4("10.0.0.2"), ip4("10.0.0.1"), 8 + 8);
    ip->version_ihl = 0x47; /* 8 bytes of options, then UDP */
    ip->total_length = rte_cpu_to_be_16(28 + 8);
    memset(f + off + 20, 1, 8); /* NOP options */
    udp = (struct rte_udp_hdr *)(f + off + 28);
    udp->src_port = rte_cpu_to_be_16(9);
    udp->dst_port = rte_cpu_to_be_16(10);
    udp->dgram_len = rte_cpu_to_be_16(8);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    cr_assert_eq(pkt_parse(f, off + 36, true, &pi), DROP_NONE);
    cr_assert_eq(pi.l4_off, off + 28);
    cr_assert_eq(pi.dst_port, 10);
}

/* An ICMP error from 10.0.0.9 to 10.0.0.1 quoting a TCP packet 10.0.0.1:sport ->
 * 10.0.0.2:80 whose header has opt_words words of options, cut after qlen bytes of
 * what follows its IP header. Returns the frame length. */
static uint32_t icmp_quoting_tcp(uint16_t sport, unsigned opt_words, uint32_t qlen)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t ihl = 20 + 4 * opt_words;
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_ICMP, ip4("10.0.0.9"), ip4("10.0.0.1"),
                             (uint16_t)(8 + ihl + qlen));
    uint8_t *q = f + l4 + 8;
    uint16_t be = rte_cpu_to_be_16(sport);

    memset(f + l4, 0, 8);
    f[l4] = 3;
    f[l4 + 1] = 4;
    frame_ipv4(q - 14, 14, IPPROTO_TCP, ip4("10.0.0.1"), ip4("10.0.0.2"), 1480);
    q[0] = (uint8_t)(0x40 | (ihl / 4));
    memset(q + 20, 1, ihl - 20);
    memset(q + ihl, 0, qlen);
    if (qlen >= 2)
        memcpy(q + ihl, &be, 2);
    return l4 + 8 + ihl + qlen;
}

Test(pkt_parse, icmp_error_keeps_the_quoted_protocol_and_source_port)
{
    struct pkt_info pi;

    cr_assert_eq(pkt_parse(f, icmp_quoting_tcp(40001, 0, 8), true, &pi), DROP_NONE);
    cr_assert_eq(pi.icmp_inner_dst, ip4("10.0.0.2"));
    cr_assert_eq(pi.icmp_inner_proto, IPPROTO_TCP);
    cr_assert_eq(pi.icmp_inner_sport, 40001);
    /* Options in the quoted header: the port is after them. */
    cr_assert_eq(pkt_parse(f, icmp_quoting_tcp(40002, 2, 8), true, &pi), DROP_NONE);
    cr_assert_eq(pi.icmp_inner_sport, 40002);
    /* Fewer than the 4 port bytes quoted: no port. */
    cr_assert_eq(pkt_parse(f, icmp_quoting_tcp(40003, 0, 3), true, &pi), DROP_NONE);
    cr_assert_eq(pi.icmp_inner_dst, ip4("10.0.0.2"));
    cr_assert_eq(pi.icmp_inner_sport, 0);
    cr_assert_eq(pkt_parse(f, icmp_quoting_tcp(40004, 2, 2), true, &pi), DROP_NONE);
    cr_assert_eq(pi.icmp_inner_sport, 0, "the options hold what would be the port");
}

Test(pkt_parse, fragments_carry_no_l4)
{
    uint32_t len = frame_udp(f, ip4("10.0.0.2"), ip4("10.0.0.1"), 1, 2, 8);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + 14);
    struct pkt_info pi;

    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert(pi.is_fragment);
    cr_assert_eq(pi.dst_port, 0);
    ip->fragment_offset = rte_cpu_to_be_16(100);
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_NONE);
    cr_assert(pi.is_fragment);
}

Test(pkt_parse, other_ethertypes)
{
    uint32_t len = frame_eth(f, 0x86dd, &frame_mac_us) + 40;
    struct pkt_info pi;

    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_UNSUPPORTED_ETHERTYPE);
    frame_eth(f, 0x8100, &frame_mac_us);
    cr_assert_eq(pkt_parse(f, len, true, &pi), DROP_UNSUPPORTED_ETHERTYPE);
}

Test(pkt_parse, random_bytes_never_crash)
{
    struct pkt_info pi;
    uint32_t seed = 12345;

    /* Random frames with a valid Ethernet type: the parser must only ever answer. */
    for (int iter = 0; iter < 200000; iter++) {
        uint32_t len = 0;
        seed = seed * 1103515245 + 12345;
        len = (seed >> 8) % 128;
        for (uint32_t i = 0; i < len; i++) {
            seed = seed * 1103515245 + 12345;
            f[i] = (uint8_t)(seed >> 16);
        }
        if (len >= 14) {
            f[12] = 0x08;
            f[13] = (iter & 1) ? 0x06 : 0x00;
            if (len > 14 && !(iter & 1))
                f[14] = 0x45;
        }
        enum drop_reason r = pkt_parse(f, len, iter & 2, &pi);
        cr_assert(r < DROP_MAX);
        if (r == DROP_NONE && pi.l3 == PKT_L3_IPV4)
            cr_assert_leq((uint32_t)pi.l3_off + pi.l3_len, len);
    }
}

Test(drop, every_reason_has_a_distinct_name)
{
    for (int a = 1; a < DROP_MAX; a++) {
        cr_assert_neq(strcmp(drop_reason_name((enum drop_reason)a), "unknown"), 0);
        for (int b = a + 1; b < DROP_MAX; b++)
            cr_assert_neq(strcmp(drop_reason_name((enum drop_reason)a),
                                 drop_reason_name((enum drop_reason)b)), 0);
    }
    cr_assert_str_eq(drop_reason_name(DROP_MAX), "unknown");
}
