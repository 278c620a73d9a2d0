/*
 * nat: in-place address and port rewriting of IPv4 TCP and UDP packets, with
 * incremental checksum updates (RFC 1624, csum.h).
 *
 * Hot path, inline. The caller has parsed the packet (pkt_parse.h): the IPv4 header
 * and a complete TCP or UDP header are inside the first segment, and it is not a
 * fragment. The checksums must be correct to begin with (an incremental update of a
 * wrong one stays wrong): a partial one, as virtio-net delivers, is made final first
 * (rx_csum.h). The L4 checksum covers the pseudo-header, so it changes with the address
 * as well as the port. A UDP checksum of 0 means "none" and stays 0; an updated UDP
 * checksum that comes out 0 is sent as 0xffff (RFC 768).
 */
#ifndef LBD_NAT_H
#define LBD_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "base/csum.h"

/* The L4 checksum field of a TCP or UDP header. */
static inline uint16_t *nat_l4_csum(void *l4, uint8_t proto)
{
    size_t off = proto == IPPROTO_TCP ? offsetof(struct rte_tcp_hdr, cksum)
                                      : offsetof(struct rte_udp_hdr, dgram_cksum);

    return (uint16_t *)((uint8_t *)l4 + off);
}

/* The L4 checksum after old_ip:old_port became new_ip:new_port. */
static inline void nat_l4_update(void *l4, uint8_t proto, uint32_t old_ip, uint16_t old_port,
                                 uint32_t new_ip, uint16_t new_port)
{
    uint16_t *l4c = nat_l4_csum(l4, proto);
    uint16_t c = *l4c;

    if (proto == IPPROTO_UDP && c == 0)
        return;
    csum_replace32(&c, old_ip, new_ip);
    csum_replace16(&c, old_port, new_port);
    if (proto == IPPROTO_UDP && c == 0)
        c = 0xffff;
    *l4c = c;
}

/* Client to real server: destination VIP:port becomes new_ip:new_port (network order). */
static inline void nat_rewrite_dst(struct rte_ipv4_hdr *ip, void *l4, uint8_t proto,
                                   uint32_t new_ip, uint16_t new_port)
{
    struct rte_udp_hdr *ports = l4;     /* TCP and UDP ports sit at the same offsets */
    uint16_t csum = ip->hdr_checksum;

    csum_replace32(&csum, ip->dst_addr, new_ip);
    ip->hdr_checksum = csum;
    nat_l4_update(l4, proto, ip->dst_addr, ports->dst_port, new_ip, new_port);
    ip->dst_addr = new_ip;
    ports->dst_port = new_port;
}

/* Real server to client: source becomes the VIP and service port (network order). */
static inline void nat_rewrite_src(struct rte_ipv4_hdr *ip, void *l4, uint8_t proto,
                                   uint32_t new_ip, uint16_t new_port)
{
    struct rte_udp_hdr *ports = l4;
    uint16_t csum = ip->hdr_checksum;

    csum_replace32(&csum, ip->src_addr, new_ip);
    ip->hdr_checksum = csum;
    nat_l4_update(l4, proto, ip->src_addr, ports->src_port, new_ip, new_port);
    ip->src_addr = new_ip;
    ports->src_port = new_port;
}

/*
 * Decrements the TTL of a packet being routed, updating the header checksum. Returns
 * false, leaving the packet untouched, when the TTL is 1 or 0: the packet must not
 * be forwarded (ICMP time exceeded).
 */
static inline bool nat_ttl_decrement(struct rte_ipv4_hdr *ip)
{
    uint16_t old_w, new_w, csum = ip->hdr_checksum;

    if (ip->time_to_live <= 1)
        return false;
    memcpy(&old_w, &ip->time_to_live, 2);
    ip->time_to_live--;
    memcpy(&new_w, &ip->time_to_live, 2);
    csum_replace16(&csum, old_w, new_w);
    ip->hdr_checksum = csum;
    return true;
}

#endif
