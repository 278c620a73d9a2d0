#include "net/icmp.h"

#include <string.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>

enum drop_reason icmp_echo_reply_in_place(uint8_t *frame, const struct pkt_info *pi,
                                          const struct rte_ether_addr *our_mac,
                                          enum rx_csum csum)
{
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(frame + pi->l4_off);
    uint32_t tmp;

    if (pi->icmp_type != RTE_IP_ICMP_ECHO_REQUEST)
        return DROP_ICMP_UNHANDLED;
    if (csum == RX_CSUM_BAD ||
        (csum == RX_CSUM_VERIFY && rte_raw_cksum(icmp, pi->l4_len) != 0xffff))
        return DROP_BAD_ICMP_CHECKSUM;

    /*
     * ICMP: type 8 -> 0, code 0, checksum recomputed. Not updated incrementally:
     * RFC 1624's update yields +0 (0x0000) where a message whose other words are all
     * zero needs -0 (0xffff), and a strict receiver rejects it.
     */
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_code = 0;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, pi->l4_len);

    /* IPv4: swap the addresses, fresh TTL, recomputed header checksum. */
    tmp = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = tmp;
    ip->time_to_live = ICMP_REPLY_TTL;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);

    rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
    rte_ether_addr_copy(our_mac, &eth->src_addr);
    return DROP_NONE;
}
