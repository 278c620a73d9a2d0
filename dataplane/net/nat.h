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

    uint32_t sum;

    if (proto == IPPROTO_UDP && c == 0)
        return;
    /* csum_replace32 then csum_replace16, summed and folded once (the same result). */
    sum = (uint16_t)~c;
    sum += (uint16_t)~(old_ip >> 16) + (uint16_t)~(old_ip & 0xffff) + (uint16_t)~old_port;
    sum += (new_ip >> 16) + (new_ip & 0xffff) + new_port;
    c = (uint16_t)~csum_fold(sum);
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
 * Lowers the MSS option of a TCP SYN or SYN-ACK to max_mss when it offers more, with
 * the checksum updated (RFC 1624): a peer whose own link is wider than a port on the
 * way would otherwise send segments lbd must refuse (DF) or fragment. tcp is a whole
 * header of thl bytes, options included, in the first segment. An option that runs
 * past the header ends the walk (nothing changed). Returns true when it lowered it.
 */
static inline bool nat_tcp_clamp_mss(struct rte_tcp_hdr *tcp, uint32_t thl, uint16_t max_mss)
{
    uint8_t *h = (uint8_t *)tcp;
    uint32_t i = sizeof(*tcp);

    while (i < thl && h[i] != 0) {          /* 0: end of options */
        if (h[i] == 1) {                    /* no-operation */
            i++;
            continue;
        }
        if (i + 1 >= thl || h[i + 1] < 2 || i + h[i + 1] > thl)
            return false;
        if (h[i] == 2 && h[i + 1] == 4) {
            uint32_t v = i + 2, w = v & ~1u;
            uint16_t mss = (uint16_t)(h[v] << 8 | h[v + 1]), c = tcp->cksum;
            uint16_t old_w[2], new_w[2];
            if (mss <= max_mss)
                return false;
            /* The value may sit across two of the checksum's 16-bit words. */
            memcpy(old_w, h + w, w + 4 <= thl ? 4 : 2);
            h[v] = (uint8_t)(max_mss >> 8);
            h[v + 1] = (uint8_t)max_mss;
            memcpy(new_w, h + w, w + 4 <= thl ? 4 : 2);
            csum_replace16(&c, old_w[0], new_w[0]);
            if (w != v)
                csum_replace16(&c, old_w[1], new_w[1]);
            tcp->cksum = c;
            return true;
        }
        i += h[i + 1];
    }
    return false;
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
    /* The word (TTL, protocol) before and after, computed rather than read back: a
     * 16-bit load over the byte just stored cannot be forwarded from the store and
     * waits for it (a dozen cycles a routed packet). TTL >= 2: no borrow. */
    memcpy(&old_w, &ip->time_to_live, 2);
    new_w = (uint16_t)(old_w - RTE_BE16(0x0100));
    ip->time_to_live--;
    csum_replace16(&csum, old_w, new_w);
    ip->hdr_checksum = csum;
    return true;
}

#endif
