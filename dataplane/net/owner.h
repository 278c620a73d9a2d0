/*
 * owner: which worker owns a packet (DESIGN.md section 1).
 *
 * Computed from the packet and the address lookup alone, so every worker agrees:
 *   - to a VIP on a service port: hash(client IP) % N
 *   - to one of our addresses on any other TCP/UDP port (a local port): lport % N
 *   - ICMP echo reply to one of our addresses (our own probes): echo id % N
 *   - ICMP error (unreachable, time exceeded, parameter problem) to one of our
 *     addresses: hash(destination of the packet it quotes) % N, so that an error
 *     about a Layer 4 answer (VIP -> client) meets the client's connection
 *   - ARP: hash(sender IP) % N
 *   - anything else addressed to us: hash(source IP) % N
 *   - not addressed to us (forwarded, Layer 4 replies to clients): hash(dst IP) % N
 */
#ifndef LBD_OWNER_H
#define LBD_OWNER_H

#include <stdint.h>

#include <rte_hash_crc.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "net/pkt_parse.h"

#define OWNER_HASH_SEED 0x6c62640du

/* What the address lookup said about the packet's destination. */
enum owner_dst { OWNER_DST_FOREIGN = 0, OWNER_DST_LOCAL, OWNER_DST_SERVICE };

static inline uint32_t owner_hash_ip(uint32_t ip_be)
{
    return rte_hash_crc_4byte(ip_be, OWNER_HASH_SEED);
}

static inline unsigned owner_of(const struct pkt_info *pi, enum owner_dst dst, unsigned nworkers)
{
    if (nworkers <= 1)
        return 0;
    if (pi->l3 == PKT_L3_ARP)
        return owner_hash_ip(pi->src_ip) % nworkers;
    if (dst == OWNER_DST_FOREIGN)
        return owner_hash_ip(pi->dst_ip) % nworkers;
    if (dst == OWNER_DST_LOCAL && !pi->is_fragment) {
        if (pi->ip_proto == IPPROTO_TCP || pi->ip_proto == IPPROTO_UDP)
            return pi->dst_port % nworkers;
        if (pi->ip_proto == IPPROTO_ICMP && pi->icmp_type == RTE_IP_ICMP_ECHO_REPLY)
            return pi->icmp_id % nworkers;
        if (pi->ip_proto == IPPROTO_ICMP && pi->icmp_inner_dst != 0)
            return owner_hash_ip(pi->icmp_inner_dst) % nworkers;
    }
    return owner_hash_ip(pi->src_ip) % nworkers;
}

#endif
