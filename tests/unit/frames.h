/*
 * frames: builders of test frames (Ethernet + ARP / IPv4 + ICMP / TCP / UDP) with
 * correct checksums, for packet-in / packet-out tests of dataplane functions.
 */
#ifndef LBD_TEST_FRAMES_H
#define LBD_TEST_FRAMES_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

static const struct rte_ether_addr frame_mac_us = {{0x02, 0, 0, 0, 0, 0x01}};
static const struct rte_ether_addr frame_mac_peer = {{0x02, 0, 0, 0, 0, 0x02}};

static inline uint32_t ip4(const char *s)
{
    struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

static inline uint32_t frame_eth(uint8_t *f, uint16_t ether_type, const struct rte_ether_addr *dst)
{
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
    rte_ether_addr_copy(dst, &eth->dst_addr);
    rte_ether_addr_copy(&frame_mac_peer, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(ether_type);
    return sizeof(*eth);
}

static inline uint32_t frame_arp(uint8_t *f, uint16_t op, uint32_t sip, uint32_t tip)
{
    static const struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_ARP, &bcast);
    struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(f + off);
    memset(arp, 0, sizeof(*arp));
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = 6;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(op);
    rte_ether_addr_copy(&frame_mac_peer, &arp->arp_data.arp_sha);
    memcpy(&arp->arp_data.arp_sip, &sip, 4);
    memcpy(&arp->arp_data.arp_tip, &tip, 4);
    return off + sizeof(*arp);
}

/* IPv4 header at off with payload_len bytes of L4 after it; returns the L4 offset. */
static inline uint32_t frame_ipv4(uint8_t *f, uint32_t off, uint8_t proto, uint32_t src,
                                  uint32_t dst, uint16_t payload_len)
{
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + off);
    memset(ip, 0, sizeof(*ip));
    ip->version_ihl = 0x45;
    ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + payload_len));
    ip->packet_id = rte_cpu_to_be_16(0x1234);
    ip->time_to_live = 63;
    ip->next_proto_id = proto;
    ip->src_addr = src;
    ip->dst_addr = dst;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    return off + sizeof(*ip);
}

static inline uint32_t frame_icmp_echo(uint8_t *f, uint32_t src, uint32_t dst, uint16_t id,
                                       uint16_t seq, uint16_t data_len)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_ICMP, src, dst,
                             (uint16_t)(sizeof(struct rte_icmp_hdr) + data_len));
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(f + l4);
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
    icmp->icmp_code = 0;
    icmp->icmp_cksum = 0;
    icmp->icmp_ident = rte_cpu_to_be_16(id);
    icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
    for (uint16_t i = 0; i < data_len; i++)
        f[l4 + sizeof(*icmp) + i] = (uint8_t)(i * 7 + 3);
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + data_len);
    return l4 + sizeof(*icmp) + data_len;
}

static inline uint32_t frame_tcp(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
                                 uint16_t dport)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_TCP, src, dst, sizeof(struct rte_tcp_hdr));
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + l4);
    memset(tcp, 0, sizeof(*tcp));
    tcp->src_port = rte_cpu_to_be_16(sport);
    tcp->dst_port = rte_cpu_to_be_16(dport);
    tcp->data_off = 5 << 4;
    tcp->tcp_flags = RTE_TCP_SYN_FLAG;
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + off), tcp);
    return l4 + sizeof(*tcp);
}

/* A TCP segment src:sport -> dst:dport (ports host order) with flags, seq, ack, a
 * window of 1000 and data_len bytes of 0x5a, checksums right; returns its length. */
static inline uint32_t frame_tcp_seg(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
                                     uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                                     uint16_t data_len)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_TCP, src, dst,
                             (uint16_t)(sizeof(struct rte_tcp_hdr) + data_len));
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(f + l4);

    memset(tcp, 0, sizeof(*tcp));
    tcp->src_port = rte_cpu_to_be_16(sport);
    tcp->dst_port = rte_cpu_to_be_16(dport);
    tcp->sent_seq = rte_cpu_to_be_32(seq);
    tcp->recv_ack = rte_cpu_to_be_32(ack);
    tcp->data_off = 5 << 4;
    tcp->tcp_flags = flags;
    tcp->rx_win = rte_cpu_to_be_16(1000);
    memset(tcp + 1, 0x5a, data_len);
    tcp->cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + off), tcp);
    return l4 + sizeof(*tcp) + data_len;
}

static inline uint32_t frame_udp(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
                                 uint16_t dport, uint16_t data_len)
{
    uint32_t off = frame_eth(f, RTE_ETHER_TYPE_IPV4, &frame_mac_us);
    uint32_t l4 = frame_ipv4(f, off, IPPROTO_UDP, src, dst,
                             (uint16_t)(sizeof(struct rte_udp_hdr) + data_len));
    struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(f + l4);
    udp->src_port = rte_cpu_to_be_16(sport);
    udp->dst_port = rte_cpu_to_be_16(dport);
    udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + data_len));
    memset(f + l4 + sizeof(*udp), 0xab, data_len);
    udp->dgram_cksum = 0;
    udp->dgram_cksum = rte_ipv4_udptcp_cksum((struct rte_ipv4_hdr *)(f + off), udp);
    return l4 + sizeof(*udp) + data_len;
}

#endif
