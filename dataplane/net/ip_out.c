/*
 * ip_out: next hop, neighbour, Ethernet header, transmit; the ARP wait queue.
 */
#include "net/ip_out.h"

#include <string.h>

#include <rte_ether.h>
#include <rte_hash_crc.h>

#include "err.h"
#include "net/arp.h"
#include "net/icmp_err.h"
#include "net/neigh.h"
#include "net/port.h"
#include "snapshot/snapshot.h"

void ip_out_init(struct ip_out *io, struct lcore_ctx *lc, const struct neigh_table *neigh,
                 const struct dp_port *ports, struct ip_out_stats *stats)
{
    static const uint32_t no_gen;

    io->lc = lc;
    io->neigh = neigh;
    io->neigh_gen = neigh != NULL ? neigh_generation_ptr(neigh) : &no_gen;
    io->ports = ports;
    io->stats = stats;
    io->arpq.n = 0;
    memset(io->nh, 0, sizeof(io->nh));
}

/*
 * neigh_lookup of next_hop through the worker's copy (struct ip_out_nh): 0 with *mac
 * and *port, or LBD_ENOENT. The generation is read before the table, so a copy taken
 * while an entry changes is stored under the older generation and not used again.
 */
static inline int ip_out_neigh(struct ip_out *io, uint32_t next_hop, struct rte_ether_addr *mac,
                               uint16_t *port)
{
    struct ip_out_nh *e = &io->nh[rte_hash_crc_4byte(next_hop, 0) & (IP_OUT_NH_CACHE - 1)];
    uint32_t gen = ip_out_neigh_gen(io);

    if (likely(e->valid && e->ip == next_hop && e->gen == gen)) {
        *mac = e->mac;
        *port = e->port;
        return 0;
    }
    if (neigh_lookup(io->neigh, next_hop, mac, port) != 0)
        return LBD_ENOENT;
    if (*port < DP_MAX_PORTS) {
        e->ip = next_hop;
        e->gen = gen;
        e->mac = *mac;
        e->port = (uint8_t)*port;
        e->valid = 1;
    }
    return 0;
}


/* Broadcasts an ARP request for next_hop on port, from the port's self IP. */
static void ip_out_ask(struct ip_out *io, const struct snapshot *s, uint32_t next_hop,
                       uint16_t port)
{
    struct rte_mbuf *m = lcore_alloc(io->lc);
    uint8_t *frame;

    if (unlikely(m == NULL))
        return;
    frame = (uint8_t *)rte_pktmbuf_append(m, ARP_FRAME_LEN);
    arp_build_request(frame, s->ports[port].self_ip, &io->ports[port].mac, next_hop);
    m->port = port;
    io->stats->arp_requests++;
    lcore_tx(io->lc, m);
}

void ip_out_probe(struct ip_out *io, const struct snapshot *s, uint32_t ip,
                  const struct rte_ether_addr *mac, uint16_t port)
{
    struct rte_mbuf *m;
    uint8_t *frame;

    if (s == NULL || port >= SNAP_MAX_PORTS || !s->ports[port].configured ||
        s->ports[port].self_ip == 0 || io->lc->txb[port] == NULL)
        return;
    m = lcore_alloc(io->lc);
    if (unlikely(m == NULL))
        return;
    frame = (uint8_t *)rte_pktmbuf_append(m, ARP_FRAME_LEN);
    arp_build_probe(frame, s->ports[port].self_ip, &io->ports[port].mac, ip, mac);
    m->port = port;
    io->stats->arp_probes++;
    lcore_tx(io->lc, m);
}

void ip_out_garp(struct ip_out *io, const struct snapshot *s, uint32_t ip, uint16_t port)
{
    struct rte_mbuf *m;
    uint8_t *frame;

    if (s == NULL || port >= SNAP_MAX_PORTS || !s->ports[port].configured ||
        io->lc->txb[port] == NULL)
        return;
    m = lcore_alloc(io->lc);
    if (unlikely(m == NULL))
        return;
    frame = (uint8_t *)rte_pktmbuf_append(m, ARP_FRAME_LEN);
    arp_build_gratuitous(frame, ip, &io->ports[port].mac);
    m->port = port;
    io->stats->garp_sent++;
    lcore_tx(io->lc, m);
}

void ip_out(struct ip_out *io, const struct snapshot *s, struct rte_mbuf *m, uint32_t dst_ip)
{
    struct ip_out_queue *aq = &io->arpq;
    struct ip_out_pending *p;
    struct rte_ether_addr mac;
    uint32_t next_hop;
    uint16_t port, known_port;
    bool asked = false;

    if (snapshot_route(s, dst_ip, &next_hop, &port) != 0) {
        lcore_drop(io->lc, m, DROP_NO_ROUTE);
        return;
    }
    if (likely(ip_out_neigh(io, next_hop, &mac, &known_port) == 0 && known_port == port)) {
        ip_out_to(io, m, &mac, port);
        return;
    }
    if (aq->n == IP_OUT_PENDING) {
        lcore_drop(io->lc, m, DROP_NEIGH_QUEUE_FULL);
        return;
    }
    /* One request per next hop and retry period, however many packets wait for it. */
    for (uint16_t i = 0; i < aq->n; i++)
        if (aq->q[i].next_hop == next_hop && aq->q[i].port == port)
            asked = true;
    p = &aq->q[aq->n++];
    p->m = m;
    p->next_hop = next_hop;
    p->port = port;
    p->since_ms = io->lc->now_ms;
    p->asked_ms = io->lc->now_ms;
    if (!asked)
        ip_out_ask(io, s, next_hop, port);
}

bool ip_out_resolve(struct ip_out *io, const struct snapshot *s, uint32_t dst_ip,
                    struct rte_ether_addr *mac, uint16_t *port)
{
    uint32_t next_hop;
    uint16_t known_port;

    if (snapshot_route(s, dst_ip, &next_hop, port) != 0)
        return false;
    return ip_out_neigh(io, next_hop, mac, &known_port) == 0 && known_port == *port;
}

void ip_out_poll(struct ip_out *io, const struct snapshot *s)
{
    struct ip_out_queue *aq = &io->arpq;
    uint16_t kept = 0;

    if (likely(aq->n == 0))
        return;
    for (uint16_t i = 0; i < aq->n; i++) {
        struct ip_out_pending *p = &aq->q[i];
        struct rte_ether_addr mac;
        uint16_t port;

        if (neigh_lookup(io->neigh, p->next_hop, &mac, &port) == 0 && port == p->port) {
            ip_out_to(io, p->m, &mac, port);
            continue;
        }
        if (s == NULL || io->lc->now_ms - p->since_ms >= IP_OUT_ARP_GIVE_UP_MS) {
            lcore_drop(io->lc, p->m, DROP_NEIGH_TIMEOUT);
            continue;
        }
        if (io->lc->now_ms - p->asked_ms >= IP_OUT_ARP_RETRY_MS) {
            /* Ask once for every entry of this next hop that is due. */
            for (uint16_t j = i; j < aq->n; j++)
                if (aq->q[j].next_hop == p->next_hop && aq->q[j].port == p->port)
                    aq->q[j].asked_ms = io->lc->now_ms;
            ip_out_ask(io, s, p->next_hop, p->port);
        }
        aq->q[kept++] = *p;
    }
    aq->n = kept;
}

void ip_out_flush(struct ip_out *io)
{
    struct ip_out_queue *aq = &io->arpq;

    for (uint16_t i = 0; i < aq->n; i++)
        lcore_drop(io->lc, aq->q[i].m, DROP_NEIGH_TIMEOUT);
    aq->n = 0;
}

void ip_out_frame(struct ip_out *io, const struct snapshot *s, struct rte_mbuf *m,
                  const struct pkt_info *pi, uint32_t dst)
{
    uint32_t len;

    rte_pktmbuf_adj(m, pi->l3_off);
    len = rte_pktmbuf_pkt_len(m);
    if (len > pi->l3_len)
        rte_pktmbuf_trim(m, (uint16_t)(len - pi->l3_len));
    ip_out(io, s, m, dst);
}

void ip_out_frag_needed(struct ip_out *io, const struct snapshot *s,
                        const struct rte_ipv4_hdr *ip, uint32_t avail, uint16_t mtu,
                        uint32_t src)
{
    struct rte_mbuf *e;

    /* Never to ourselves: a packet of our own over the MTU is only dropped. */
    if (s == NULL || src == 0 || snapshot_addr_kind(s, ip->src_addr) != 0 ||
        !icmp_err_may_answer(ip, avail))
        return;
    e = icmp_err_build(io->lc, ip, avail, ICMP_ERR_UNREACH, ICMP_ERR_FRAG_NEEDED,
                       rte_cpu_to_be_32(mtu), src, ip->src_addr);
    if (e == NULL)
        return;
    io->stats->frag_needed_sent++;
    ip_out(io, s, e, ip->src_addr);
}

/*
 * m (data at its IPv4 header, any number of segments) is longer than mtu. DF: answered
 * (ip_out_frag_needed, from the self IP of the port m came in on) and dropped.
 * Otherwise sent as fragments: the first with m's header (options included), the
 * others with its 20 fixed bytes (options are not copied: lbd forwards none that must
 * be), payloads in 8-byte units, the last keeping m's own MF (m may itself be a
 * fragment). All the mbufs are taken first, so a pool running dry sends nothing.
 */
void ip_out_fragment(struct ip_out *io, struct rte_mbuf *m, const struct rte_ether_addr *mac,
                     uint16_t port, uint16_t mtu)
{
    const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
    struct rte_mbuf *fr[IP_OUT_MAX_FRAGS];
    uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4, tot = rte_pktmbuf_pkt_len(m);
    uint16_t fo = rte_be_to_cpu_16(ip->fragment_offset);
    uint32_t room, first, rest, n, off, base = (uint32_t)(fo & RTE_IPV4_HDR_OFFSET_MASK) * 8;
    uint16_t mf = fo & RTE_IPV4_HDR_MF_FLAG;

    if (m->ol_flags & RTE_MBUF_F_TX_L4_MASK)
        lcore_tx_csum_sw(m, 0);         /* fragments carry the final checksum */
    if (fo & RTE_IPV4_HDR_DF_FLAG) {
        const struct snapshot *s = io->lc->snap;
        uint16_t in = m->port;
        ip_out_frag_needed(io, s, ip, rte_pktmbuf_data_len(m), mtu,
                           s != NULL && in < SNAP_MAX_PORTS && s->ports[in].configured
                               ? s->ports[in].self_ip : 0);
        lcore_drop(io->lc, m, DROP_FRAG_NEEDED);
        return;
    }
    /* A frame must fit one mbuf of the pool, headroom and Ethernet header included. */
    room = rte_pktmbuf_data_room_size(io->lc->pool);
    room = room > RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN ? room - RTE_PKTMBUF_HEADROOM -
                                                                 RTE_ETHER_HDR_LEN : 0;
    mtu = (uint16_t)RTE_MIN((uint32_t)mtu, room);
    if (ihl > rte_pktmbuf_data_len(m) || tot < ihl || mtu < ihl + 8 ||
        mtu < sizeof(*ip) + 8) {
        lcore_drop(io->lc, m, DROP_FRAG_FAILED);
        return;
    }
    first = (mtu - ihl) & ~7u;
    rest = (mtu - (uint32_t)sizeof(*ip)) & ~7u;
    n = 1 + (tot - ihl > first ? (tot - ihl - first + rest - 1) / rest : 0);
    if (n > IP_OUT_MAX_FRAGS) {
        lcore_drop(io->lc, m, DROP_FRAG_FAILED);
        return;
    }
    if (rte_pktmbuf_alloc_bulk(io->lc->pool, fr, n) != 0) {
        io->lc->stats->mbuf_alloc_failed++;
        lcore_drop(io->lc, m, DROP_FRAG_FAILED);
        return;
    }
    off = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h = i == 0 ? ihl : (uint32_t)sizeof(*ip);
        uint32_t len = RTE_MIN(i == 0 ? first : rest, tot - ihl - off);
        uint8_t *d = (uint8_t *)rte_pktmbuf_append(fr[i], (uint16_t)(h + len));
        struct rte_ipv4_hdr *fip = (struct rte_ipv4_hdr *)d;
        const void *src;
        uint16_t nfo;

        memcpy(d, ip, sizeof(*ip));
        if (i == 0 && ihl > sizeof(*ip))
            memcpy(d + sizeof(*ip), (const uint8_t *)ip + sizeof(*ip), ihl - sizeof(*ip));
        fip->version_ihl = (uint8_t)(0x40 | (h / 4));
        src = rte_pktmbuf_read(m, ihl + off, len, d + h);
        if (src != NULL && src != d + h)
            memcpy(d + h, src, len);
        nfo = (uint16_t)((base + off) / 8);
        if (i + 1 < n || mf)
            nfo |= RTE_IPV4_HDR_MF_FLAG;
        fip->fragment_offset = rte_cpu_to_be_16(nfo);
        fip->total_length = rte_cpu_to_be_16((uint16_t)(h + len));
        fip->hdr_checksum = 0;
        fip->hdr_checksum = rte_ipv4_cksum(fip);
        off += len;
    }
    rte_pktmbuf_free(m);
    io->stats->frag_packets++;
    io->stats->frag_out += n;
    for (uint32_t i = 0; i < n; i++)
        ip_out_to(io, fr[i], mac, port);
}
