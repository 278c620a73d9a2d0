#include "net/arp.h"

#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>

enum drop_reason arp_reply_in_place(uint8_t *frame, const struct pkt_info *pi,
                                    const struct rte_ether_addr *our_mac)
{
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
    struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(frame + pi->l3_off);
    struct rte_arp_ipv4 *d = &arp->arp_data;
    uint32_t sip, tip;

    if (pi->arp_op != RTE_ARP_OP_REQUEST)
        return DROP_ARP_NOT_OURS;

    memcpy(&sip, &d->arp_sip, 4);
    memcpy(&tip, &d->arp_tip, 4);
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
    rte_ether_addr_copy(&d->arp_sha, &d->arp_tha);
    rte_ether_addr_copy(our_mac, &d->arp_sha);
    memcpy(&d->arp_tip, &sip, 4);
    memcpy(&d->arp_sip, &tip, 4);

    rte_ether_addr_copy(&d->arp_tha, &eth->dst_addr);
    rte_ether_addr_copy(our_mac, &eth->src_addr);
    return DROP_NONE;
}

/* An ARP request; eth_dst NULL: broadcast. The target hardware address stays zero. */
static uint32_t arp_build(uint8_t *frame, const struct rte_ether_addr *src_mac,
                          const struct rte_ether_addr *eth_dst, uint32_t sip, uint32_t tip)
{
    struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
    struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

    memset(frame, 0, ARP_FRAME_LEN);
    if (eth_dst != NULL)
        rte_ether_addr_copy(eth_dst, &eth->dst_addr);
    else
        memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
    rte_ether_addr_copy(src_mac, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
    rte_ether_addr_copy(src_mac, &arp->arp_data.arp_sha);
    memcpy(&arp->arp_data.arp_sip, &sip, 4);
    memcpy(&arp->arp_data.arp_tip, &tip, 4);
    return ARP_FRAME_LEN;
}

uint32_t arp_build_gratuitous(uint8_t *frame, uint32_t ip, const struct rte_ether_addr *mac)
{
    return arp_build(frame, mac, NULL, ip, ip);
}

uint32_t arp_build_request(uint8_t *frame, uint32_t our_ip, const struct rte_ether_addr *our_mac,
                           uint32_t target_ip)
{
    return arp_build(frame, our_mac, NULL, our_ip, target_ip);
}

uint32_t arp_build_probe(uint8_t *frame, uint32_t our_ip, const struct rte_ether_addr *our_mac,
                         uint32_t target_ip, const struct rte_ether_addr *target_mac)
{
    return arp_build(frame, our_mac, target_mac, our_ip, target_ip);
}
