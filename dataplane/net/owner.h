/*
 * owner: which worker owns a packet (DESIGN.md section 1).
 *
 * Computed from the packet and the address lookup alone, so every worker agrees:
 *   - to a VIP on a service port: hash(client IP) % N
 *   - to one of our addresses on any other TCP/UDP port (a local port): lport % N
 *   - ICMP echo reply to one of our addresses (our own probes): echo id % N
 *   - ICMP error (unreachable, time exceeded, parameter problem) to one of our
 *     addresses, about a packet we sent: the owner of that packet's answer, so that
 *     the error meets the connection it is about. The caller passes, for an error,
 *     what the service look-up says of the quoted packet's source (address,
 *     protocol, source port): OWNER_DST_SERVICE when it left a service (a Layer 4
 *     answer VIP -> client, a Layer 7 VIP connection's segment): hash(the quote's
 *     destination, the client) % N; OWNER_DST_LOCAL otherwise: a TCP/UDP quote left
 *     a local port of ours (a Layer 7 connection to a real server, a health check):
 *     its source port % N; any other quote: hash(its destination) % N
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

static __rte_always_inline unsigned owner_of(const struct pkt_info *pi, enum owner_dst dst,
                                            unsigned nworkers)
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
        if (pi->ip_proto == IPPROTO_ICMP && pi->icmp_inner_dst != 0) {
            if (pi->icmp_inner_sport != 0)
                return pi->icmp_inner_sport % nworkers;
            return owner_hash_ip(pi->icmp_inner_dst) % nworkers;
        }
    }
    if (dst == OWNER_DST_SERVICE && pi->ip_proto == IPPROTO_ICMP && pi->icmp_inner_dst != 0)
        return owner_hash_ip(pi->icmp_inner_dst) % nworkers;
    return owner_hash_ip(pi->src_ip) % nworkers;
}

#endif
