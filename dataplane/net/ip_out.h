/*
 * ip_out: sending the IPv4 packets a worker originates or forwards.
 *
 * Picks the next hop and port from the snapshot's routes, addresses the frame from
 * the neighbour table and transmits it on the worker's own tx queue. A next hop
 * that is not in the neighbour table yet gets an ARP request, and the packet waits
 * in a small bounded per-worker queue until the control core has learned the reply
 * (ip_out_poll), or is dropped and counted when the queue is full or the neighbour
 * stays silent. Worker only; no allocation but the mbuf of an ARP request.
 *
 * Its state (struct ip_out) is the lcore's: the context it transmits through, the
 * neighbour table and the ports' MACs it addresses frames from, and the queue of
 * packets waiting for ARP.
 *
 * A packet longer than its port's MTU (lcore_mtu) is fragmented here (RFC 791), each
 * fragment one segment copied from it, whatever segments it had (a reassembled
 * datagram is a chain); one with DF set is dropped (frag_needed) and answered with
 * ICMP fragmentation needed and the port's MTU from the self IP of the port it came
 * in on (RFC 1191), unless it may not be answered (RFC 1812). Layer 4 NAT answers its
 * own DF packets before the rewrite (l4.c), from the address the client sees.
 */
#ifndef LBD_IP_OUT_H
#define LBD_IP_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "base/lcore_ctx.h"
#include "net/pkt_parse.h"
#include "net/port.h"

#define IP_OUT_PENDING 64           /* packets waiting for ARP, per worker */
#define IP_OUT_ARP_RETRY_MS 200     /* a silent next hop is asked again after this */
#define IP_OUT_ARP_GIVE_UP_MS 1000  /* and its packets dropped after this */
#define IP_OUT_MAX_FRAGS 64         /* fragments of one packet at most (else frag_failed) */

struct snapshot;
struct neigh_table;
struct dp_port;

struct ip_out_pending {
    struct rte_mbuf *m;             /* IPv4 packet, data at the IP header */
    uint32_t next_hop;
    uint16_t port;
    uint64_t since_ms;
    uint64_t asked_ms;              /* last ARP request for next_hop */
};

struct ip_out_queue {
    uint16_t n;
    struct ip_out_pending q[IP_OUT_PENDING];
};

/*
 * The worker's copy of a neighbour ip_out sent to: what neigh_lookup answered for ip
 * while the neighbour table's generation was gen. neigh_generation moves with every
 * entry added, changed or removed, so the copy is the table's answer for as long as
 * the generation stays; a routed packet then costs no hash look-up of the shared
 * table. Direct-mapped by a hash of ip: a collision or a new generation is one
 * look-up, as without the cache.
 */
#define IP_OUT_NH_CACHE 64          /* entries, a power of two */

struct ip_out_nh {
    uint32_t ip;                    /* next hop, network order */
    uint32_t gen;                   /* neigh_generation when it was looked up */
    struct rte_ether_addr mac;
    uint8_t port;
    uint8_t valid;
};

/* Counted by ip_out. */
struct ip_out_stats {
    uint64_t arp_requests;          /* ARP requests sent for next hops */
    uint64_t arp_probes;            /* unicast ARP requests to stale neighbours */
    uint64_t frag_packets;          /* packets over the port's MTU sent as fragments */
    uint64_t frag_out;              /* the fragments sent for them */
    uint64_t frag_needed_sent;      /* ICMP fragmentation needed sent for DF packets */
    uint64_t garp_sent;             /* gratuitous ARP of a new HA master */
};

struct ip_out {
    struct lcore_ctx *lc;
    const struct neigh_table *neigh;    /* shared, read only here (neigh.h) */
    const uint32_t *neigh_gen;          /* its generation (neigh_generation_ptr) */
    const struct dp_port *ports;        /* DP_MAX_PORTS entries: MACs by port id */
    struct ip_out_stats *stats;
    struct ip_out_queue arpq;           /* packets waiting for a neighbour */
    struct ip_out_nh nh[IP_OUT_NH_CACHE];   /* neighbours sent to (struct ip_out_nh) */
};

/* Set-up: io sends through lc, addresses from neigh and ports, counts into stats. */
void ip_out_init(struct ip_out *io, struct lcore_ctx *lc, const struct neigh_table *neigh,
                 const struct dp_port *ports, struct ip_out_stats *stats);

/* neigh_generation of the neighbour table, inline (read once per packet sent). */
static inline uint32_t ip_out_neigh_gen(const struct ip_out *io)
{
    return __atomic_load_n(io->neigh_gen, __ATOMIC_ACQUIRE);
}

/*
 * Sends m (data at the IPv4 header, at least RTE_ETHER_HDR_LEN of headroom, every
 * checksum final) towards dst_ip. Takes ownership of m whatever happens: sent,
 * queued for ARP, or dropped and counted (no_route, neigh_queue_full).
 */
void ip_out(struct ip_out *io, const struct snapshot *s, struct rte_mbuf *m, uint32_t dst_ip);

/*
 * Sends what waits for a neighbour that has been learned since, asks again for the
 * ones still silent, drops what waited too long. Cheap when nothing waits; called
 * once per loop iteration.
 */
void ip_out_poll(struct ip_out *io, const struct snapshot *s);

/*
 * The neighbour dst_ip is sent to (the route's next hop) and its port, when known:
 * true with *mac and *port filled, false otherwise (then ip_out() must send, to ask
 * for it and queue). No side effect: for callers that cache the answer, validated by
 * neigh_generation() and the snapshot generation.
 */
bool ip_out_resolve(struct ip_out *io, const struct snapshot *s, uint32_t dst_ip,
                    struct rte_ether_addr *mac, uint16_t *port);

/*
 * Out of line, for ip_out_to: m (data at the IPv4 header) is longer than mtu, the MTU
 * of port. DF: dropped (frag_needed) and answered with ICMP fragmentation needed;
 * otherwise sent as fragments (the top of this header). Takes ownership.
 */
void ip_out_fragment(struct ip_out *io, struct rte_mbuf *m, const struct rte_ether_addr *mac,
                     uint16_t port, uint16_t mtu);

/*
 * Sends m (as for ip_out) to a neighbour already resolved: prepends Ethernet for (mac,
 * port) and transmits; fragments what is over the MTU. Takes ownership. Inline: every
 * packet ip_out sends and every Layer 4 packet of a connection with its next hop
 * cached goes through here.
 */
static __rte_always_inline void ip_out_to(struct ip_out *io, struct rte_mbuf *m,
                                          const struct rte_ether_addr *mac, uint16_t port)
{
    struct rte_ether_hdr *eth;
    uint16_t mtu = lcore_mtu(io->lc, port);

    /* A TSO frame (the TCP stack's) is over the MTU by design: its segments must not. */
    if (unlikely(rte_pktmbuf_pkt_len(m) > mtu) &&
        (!(m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) || m->l3_len + m->l4_len + m->tso_segsz > mtu)) {
        ip_out_fragment(io, m, mac, port, mtu);
        return;
    }
    eth = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, RTE_ETHER_HDR_LEN);
    if (unlikely(eth == NULL)) {
        lcore_drop(io->lc, m, DROP_NO_HEADROOM);
        return;
    }
    rte_ether_addr_copy(mac, &eth->dst_addr);
    rte_ether_addr_copy(&io->ports[port].mac, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    m->port = port;
    lcore_tx(io->lc, m);
}

/*
 * Hands m, a received frame parsed into *pi with its IPv4 header final (rewritten by
 * NAT, or forwarded), to ip_out towards dst: strips the Ethernet header and any
 * padding after the IP packet. Takes ownership.
 */
void ip_out_frame(struct ip_out *io, const struct snapshot *s, struct rte_mbuf *m,
                  const struct pkt_info *pi, uint32_t dst);

/*
 * Sends a unicast ARP request to neighbour (ip, mac) on port from the port's self IP:
 * the control core's probe of a stale entry (CTL_MSG_NEIGH_PROBE, neigh.h). The
 * answer, a reply to us, confirms the entry. Nothing is sent when the snapshot has
 * no self IP on port.
 */
void ip_out_probe(struct ip_out *io, const struct snapshot *s, uint32_t ip,
                  const struct rte_ether_addr *mac, uint16_t port);

/*
 * Sends ICMP fragmentation needed with next-hop MTU mtu from src to the source of the
 * packet at ip (avail bytes of it readable there), unless it may not be answered
 * (icmp_err_may_answer) or comes from one of our addresses. Counts frag_needed_sent.
 * Does not touch the packet.
 */
void ip_out_frag_needed(struct ip_out *io, const struct snapshot *s,
                        const struct rte_ipv4_hdr *ip, uint32_t avail, uint16_t mtu,
                        uint32_t src);

/* Drops everything still waiting (worker stopping). */
void ip_out_flush(struct ip_out *io);

/* A gratuitous ARP request for ip from port's MAC, broadcast (a new HA master takes
 * its VIPs and floating addresses); counted as garp_sent. */
void ip_out_garp(struct ip_out *io, const struct snapshot *s, uint32_t ip, uint16_t port);

#endif
