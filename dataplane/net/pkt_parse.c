#include "net/pkt_parse.h"

#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "base/csum.h"

static const char *const drop_names[DROP_MAX] = {
    [DROP_NONE] = "none",
#define DROP_NAME(id, name) [DROP_##id] = name,
    DROP_REASONS(DROP_NAME)
#undef DROP_NAME
};

const char *drop_reason_name(enum drop_reason r)
{
    if ((unsigned)r >= DROP_MAX)
        return "unknown";
    return drop_names[r];
}

static enum drop_reason parse_arp(const uint8_t *frame, uint32_t len, struct pkt_info *pi)
{
    const struct rte_arp_hdr *arp;

    if (len < pi->l3_off + sizeof(*arp))
        return DROP_MALFORMED_ARP;
    arp = (const struct rte_arp_hdr *)(frame + pi->l3_off);
    if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
        arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
        arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4)
        return DROP_MALFORMED_ARP;
    pi->l3 = PKT_L3_ARP;
    pi->l3_len = sizeof(*arp);
    pi->arp_op = rte_be_to_cpu_16(arp->arp_opcode);
    if (pi->arp_op != RTE_ARP_OP_REQUEST && pi->arp_op != RTE_ARP_OP_REPLY)
        return DROP_MALFORMED_ARP;
    /* The IPs are not 4-byte aligned inside the ARP header. */
    memcpy(&pi->src_ip, &arp->arp_data.arp_sip, 4);
    memcpy(&pi->dst_ip, &arp->arp_data.arp_tip, 4);
    return DROP_NONE;
}

static __rte_always_inline enum drop_reason parse_l4(const uint8_t *frame, struct pkt_info *pi)
{
    const uint8_t *l4 = frame + pi->l4_off;

    switch (pi->ip_proto) {
    case IPPROTO_ICMP: {
        const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)l4;
        if (pi->l4_len < sizeof(*icmp))
            return DROP_MALFORMED_ICMP;
        pi->icmp_type = icmp->icmp_type;
        pi->icmp_id = rte_be_to_cpu_16(icmp->icmp_ident);
        if (pkt_icmp_is_error(icmp->icmp_type) &&
            pi->l4_len >= sizeof(*icmp) + sizeof(struct rte_ipv4_hdr)) {
            const struct rte_ipv4_hdr *in = (const struct rte_ipv4_hdr *)(icmp + 1);
            uint32_t ihl = (uint32_t)(in->version_ihl & 0x0f) * 4;
            memcpy(&pi->icmp_inner_dst, &in->dst_addr, 4);
            pi->icmp_inner_proto = in->next_proto_id;
            if ((in->next_proto_id == IPPROTO_TCP || in->next_proto_id == IPPROTO_UDP) &&
                ihl >= sizeof(*in) && pi->l4_len >= sizeof(*icmp) + ihl + 4) {
                uint16_t sport;
                memcpy(&sport, (const uint8_t *)in + ihl, 2);
                pi->icmp_inner_sport = rte_be_to_cpu_16(sport);
            }
        }
        return DROP_NONE;
    }
    case IPPROTO_TCP: {
        const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)l4;
        uint32_t doff;
        if (pi->l4_len < sizeof(*tcp))
            return DROP_MALFORMED_TCP;
        doff = (uint32_t)(tcp->data_off >> 4) * 4;
        if (doff < sizeof(*tcp) || doff > pi->l4_len)
            return DROP_MALFORMED_TCP;
        pi->src_port = rte_be_to_cpu_16(tcp->src_port);
        pi->dst_port = rte_be_to_cpu_16(tcp->dst_port);
        return DROP_NONE;
    }
    case IPPROTO_UDP: {
        const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)l4;
        uint16_t ulen;
        if (pi->l4_len < sizeof(*udp))
            return DROP_MALFORMED_UDP;
        ulen = rte_be_to_cpu_16(udp->dgram_len);
        if (ulen < sizeof(*udp) || ulen > pi->l4_len)
            return DROP_MALFORMED_UDP;
        pi->src_port = rte_be_to_cpu_16(udp->src_port);
        pi->dst_port = rte_be_to_cpu_16(udp->dst_port);
        return DROP_NONE;
    }
    default:
        return DROP_NONE;
    }
}

static enum drop_reason parse_ipv4(const uint8_t *frame, uint32_t len, bool verify_csum,
                                   struct pkt_info *pi)
{
    const struct rte_ipv4_hdr *ip;
    uint32_t ihl, tot;
    uint16_t frag;

    if (len < pi->l3_off + sizeof(*ip))
        return DROP_MALFORMED_IP;
    ip = (const struct rte_ipv4_hdr *)(frame + pi->l3_off);
    if ((ip->version_ihl >> 4) != 4)
        return DROP_MALFORMED_IP;
    ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
    tot = rte_be_to_cpu_16(ip->total_length);
    if (ihl < sizeof(*ip) || tot < ihl || pi->l3_off + tot > len)
        return DROP_MALFORMED_IP;
    if (verify_csum && !csum_ipv4_hdr_ok(ip, ihl))
        return DROP_BAD_IP_CHECKSUM;

    pi->l3 = PKT_L3_IPV4;
    pi->l3_len = (uint16_t)tot;
    pi->l4_off = (uint16_t)(pi->l3_off + ihl);
    pi->l4_len = (uint16_t)(tot - ihl);
    pi->ip_proto = ip->next_proto_id;
    pi->src_ip = ip->src_addr;
    pi->dst_ip = ip->dst_addr;
    frag = rte_be_to_cpu_16(ip->fragment_offset);
    if (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
        pi->is_fragment = 1;
        return DROP_NONE;
    }
    return parse_l4(frame, pi);
}

enum drop_reason pkt_parse_l4(const uint8_t *frame, uint32_t seg_len, struct pkt_info *pi)
{
    uint32_t need;

    switch (pi->ip_proto) {
    case IPPROTO_TCP:
        need = sizeof(struct rte_tcp_hdr);
        if ((uint32_t)pi->l4_off + need <= seg_len)
            need = (uint32_t)(((const struct rte_tcp_hdr *)(frame + pi->l4_off))->data_off >> 4) * 4;
        if (need < sizeof(struct rte_tcp_hdr) || (uint32_t)pi->l4_off + need > seg_len)
            return DROP_MALFORMED_TCP;
        break;
    case IPPROTO_UDP:
        if ((uint32_t)pi->l4_off + sizeof(struct rte_udp_hdr) > seg_len)
            return DROP_MALFORMED_UDP;
        break;
    case IPPROTO_ICMP:
        /* Its type only: a quote beyond the first segment is not looked at. */
        if ((uint32_t)pi->l4_off + sizeof(struct rte_icmp_hdr) > seg_len)
            return DROP_MALFORMED_ICMP;
        pi->is_fragment = 0;
        pi->icmp_type = ((const struct rte_icmp_hdr *)(frame + pi->l4_off))->icmp_type;
        return DROP_NONE;
    default:
        break;
    }
    pi->is_fragment = 0;
    return parse_l4(frame, pi);
}

enum drop_reason pkt_parse(const uint8_t *frame, uint32_t len, bool verify_ip_csum,
                           struct pkt_info *pi)
{
    const struct rte_ether_hdr *eth;

    memset(pi, 0, sizeof(*pi));
    if (len < sizeof(*eth))
        return DROP_MALFORMED_ETH;
    eth = (const struct rte_ether_hdr *)frame;
    pi->l3_off = sizeof(*eth);
    switch (eth->ether_type) {
    case RTE_BE16(RTE_ETHER_TYPE_ARP):
        return parse_arp(frame, len, pi);
    case RTE_BE16(RTE_ETHER_TYPE_IPV4):
        return parse_ipv4(frame, len, verify_ip_csum, pi);
    default:
        return DROP_UNSUPPORTED_ETHERTYPE;
    }
}
