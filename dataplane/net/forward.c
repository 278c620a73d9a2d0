/*
 * forward: IPv4 forwarding and ICMP time exceeded (hot path, worker only).
 */
#include "net/forward.h"

#include <string.h>

#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "net/nat.h"
#include "net/rx_csum.h"

#define FORWARD_QUOTE_AFTER_HDR 8   /* bytes of the offending packet past its IP header */

void forward_init(struct forward *fw, struct lcore_ctx *lc, struct ip_out *io,
                  struct forward_stats *stats)
{
    fw->lc = lc;
    fw->io = io;
    fw->stats = stats;
}

static inline bool forward_is_multicast_or_broadcast(uint32_t ip_be)
{
    uint32_t ip = rte_be_to_cpu_32(ip_be);

    return (ip & 0xf0000000u) == 0xe0000000u || ip == 0xffffffffu || ip == 0;
}

void forward_packet(struct forward *fw, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi)
{
    const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
    struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pi->l3_off);

    if (!s->forward || pi->l3 != PKT_L3_IPV4 || rte_is_broadcast_ether_addr(&eth->dst_addr) ||
        forward_is_multicast_or_broadcast(pi->dst_ip)) {
        lcore_drop(fw->lc, m, DROP_NOT_OURS);
        return;
    }
    if (unlikely(!nat_ttl_decrement(ip))) {
        forward_time_exceeded(fw, s, m, pi);
        return;
    }
    /* The next hop needs the checksum a partial one (virtio-net) stands for. */
    if (unlikely(!rx_csum_l4_finish(fw->lc, m, pi))) {
        lcore_drop(fw->lc, m, DROP_PARTIAL_CHECKSUM);
        return;
    }
    fw->stats->forwarded++;
    ip_out_frame(fw->io, s, m, pi, pi->dst_ip);
}

/* True when m may be answered with an ICMP error (RFC 1812 4.3.2.7). */
static bool forward_may_answer(const struct pkt_info *pi, const uint8_t *frame)
{
    const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(frame + pi->l3_off);

    if (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK)
        return false;
    if (forward_is_multicast_or_broadcast(pi->src_ip))
        return false;
    if (pi->ip_proto == IPPROTO_ICMP && !pi->is_fragment &&
        pi->icmp_type != RTE_IP_ICMP_ECHO_REQUEST && pi->icmp_type != RTE_IP_ICMP_ECHO_REPLY)
        return false;
    return true;
}

void forward_time_exceeded(struct forward *fw, const struct snapshot *s, struct rte_mbuf *m,
                           const struct pkt_info *pi)
{
    const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
    const struct rte_ipv4_hdr *orig = (const struct rte_ipv4_hdr *)(frame + pi->l3_off);
    uint32_t ihl = (uint32_t)(orig->version_ihl & 0xf) * 4;
    uint32_t quote = RTE_MIN(ihl + FORWARD_QUOTE_AFTER_HDR, (uint32_t)pi->l3_len);
    uint32_t len = (uint32_t)sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_icmp_hdr) + quote;
    uint16_t in_port = m->port;
    struct rte_ipv4_hdr *ip;
    struct rte_icmp_hdr *icmp;
    struct rte_mbuf *e;

    fw->lc->stats->drops[DROP_TTL_EXCEEDED]++;
    if (in_port >= SNAP_MAX_PORTS || !s->ports[in_port].configured ||
        !forward_may_answer(pi, frame)) {
        rte_pktmbuf_free(m);
        return;
    }
    e = lcore_alloc(fw->lc);
    if (unlikely(e == NULL)) {
        rte_pktmbuf_free(m);
        return;
    }
    ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(e, (uint16_t)len);
    if (unlikely(ip == NULL)) {
        fw->lc->stats->mbuf_alloc_failed++;
        rte_pktmbuf_free(e);
        rte_pktmbuf_free(m);
        return;
    }
    memset(ip, 0, sizeof(*ip));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16((uint16_t)len);
    ip->time_to_live = FORWARD_ICMP_TTL;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = s->ports[in_port].self_ip;
    ip->dst_addr = pi->src_ip;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    icmp = (struct rte_icmp_hdr *)(ip + 1);
    memset(icmp, 0, sizeof(*icmp));     /* type/code, checksum, 4 unused bytes */
    icmp->icmp_type = FORWARD_ICMP_TIME_EXCEEDED;
    memcpy(icmp + 1, orig, quote);
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
    rte_pktmbuf_free(m);
    fw->stats->icmp_errors_sent++;
    ip_out(fw->io, s, e, pi->src_ip);
}
