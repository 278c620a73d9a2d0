/*
 * rx_csum: what the receiving port said about a packet's checksums, and making the
 * checksums of a received packet final before it is sent on.
 *
 * A port reports each checksum in the mbuf's rx flags as one of four states (DPDK
 * RTE_MBUF_F_RX_{IP,L4}_CKSUM_*), and lbd treats them the same way wherever it
 * checks a checksum (IPv4 header in the worker, TCP in tcp_input, ICMP in the echo
 * responder and the ping checks):
 *
 *   BAD      the port found it wrong: dropped under the checker's reason;
 *   GOOD     the port checked it: accepted without a software check;
 *   NONE     the field is not correct in the packet but the data's integrity is
 *            verified: accepted without a software check. virtio-net and vhost ports
 *            deliver it for packets the sender left for offload (the L4 field holds
 *            the pseudo-header sum only);
 *   UNKNOWN  the port said nothing (af_packet, net_ring, no offload): verified in
 *            software.
 *
 * A packet lbd sends on (Layer 4 NAT, routing) keeps its checksums and updates them
 * incrementally (nat.h), which is only right when they were correct to begin with:
 * an IPv4 header flagged NONE gets its checksum recomputed on receipt
 * (rx_csum_ip_fix), an L4 checksum flagged NONE is made final before the rewrite
 * (rx_csum_l4_finish).
 *
 * Hot path, worker only: flag tests inline; the software sums touch only what the
 * port did not vouch for.
 */
#ifndef LBD_RX_CSUM_H
#define LBD_RX_CSUM_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ip.h>
#include <rte_mbuf.h>

#include "base/lcore_ctx.h"
#include "net/pkt_parse.h"

/* What a checker does with a checksum, from the port's rx flag. */
enum rx_csum {
    RX_CSUM_VERIFY = 0,     /* UNKNOWN: check in software */
    RX_CSUM_VALID,          /* GOOD or NONE: accept */
    RX_CSUM_BAD,            /* BAD: drop */
};

static inline enum rx_csum rx_csum_of(uint64_t flag, uint64_t bad, uint64_t unknown)
{
    if (flag == unknown)
        return RX_CSUM_VERIFY;
    return flag == bad ? RX_CSUM_BAD : RX_CSUM_VALID;
}

/* The IPv4 header checksum of m, as its port flagged it. */
static inline enum rx_csum rx_csum_ip(const struct rte_mbuf *m)
{
    return rx_csum_of(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_BAD,
                      RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);
}

/* The L4 (TCP, UDP, ICMP) checksum of m, as its port flagged it. */
static inline enum rx_csum rx_csum_l4(const struct rte_mbuf *m)
{
    return rx_csum_of(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD,
                      RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN);
}

/* True when m's L4 checksum field is partial (flagged NONE): not valid on the wire. */
static inline bool rx_csum_l4_partial(const struct rte_mbuf *m)
{
    return (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_NONE;
}

/*
 * m's IPv4 header (parsed into *pi) was flagged NONE: sound, but its checksum field
 * is not to be trusted. Recomputes the field and flags the header GOOD, so that the
 * incremental updates of NAT and routing start from a correct checksum.
 */
static inline void rx_csum_ip_fix(struct rte_mbuf *m, const struct pkt_info *pi)
{
    struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pi->l3_off);

    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_IP_CKSUM_MASK) | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
}

/*
 * Makes the partial L4 checksum of m (rx_csum_l4_partial; parsed into *pi, IPv4 header
 * final) the full one the packet would carry on the wire, computed over the whole L4
 * data whatever its segments, and clears the L4 rx flags (the field is now what it
 * says). Returns false, changing nothing, when it cannot: an IPv4 fragment (the rest of
 * the data is elsewhere) or a protocol other than TCP, UDP or ICMP; the caller drops
 * the packet (DROP_PARTIAL_CHECKSUM) rather than send a checksum the receiver rejects.
 */
bool rx_csum_l4_complete(struct rte_mbuf *m, const struct pkt_info *pi);

/*
 * For a received packet about to be sent on (NAT, routing): true when its L4
 * checksum is fit to go, a partial one made final on the way (counted in
 * csum_completed); false when a partial one cannot be (rx_csum_l4_complete), and the
 * caller drops m as DROP_PARTIAL_CHECKSUM.
 */
static inline bool rx_csum_l4_finish(struct lcore_ctx *lc, struct rte_mbuf *m,
                                     const struct pkt_info *pi)
{
    if (likely(!rx_csum_l4_partial(m)))
        return true;
    if (!rx_csum_l4_complete(m, pi))
        return false;
    lc->stats->csum_completed++;
    return true;
}

#endif
