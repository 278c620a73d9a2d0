/*
 * icmp_err: the quote of an ICMP error, checked and rewritten (worker, hot path).
 */
#include "net/icmp_err.h"

#include <string.h>

#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "base/csum.h"

#define ICMP_ERR_QUOTE_L4 8     /* bytes of the quoted L4 header RFC 792 guarantees */

enum drop_reason icmp_err_parse(const uint8_t *frame, const struct pkt_info *pi,
                                enum rx_csum csum, struct icmp_quote *q)
{
    const struct rte_icmp_hdr *icmp = (const struct rte_icmp_hdr *)(frame + pi->l4_off);
    const struct rte_ipv4_hdr *in;
    uint32_t ihl, tot, end = (uint32_t)pi->l4_off + pi->l4_len;
    uint16_t frag;

    if (pi->is_fragment || pi->l3 != PKT_L3_IPV4 || pi->ip_proto != IPPROTO_ICMP ||
        pi->l4_len < sizeof(*icmp) + sizeof(*in) + ICMP_ERR_QUOTE_L4)
        return DROP_ICMP_ERROR_INVALID;
    if (csum == RX_CSUM_BAD || (csum == RX_CSUM_VERIFY && rte_raw_cksum(icmp, pi->l4_len) != 0xffff))
        return DROP_BAD_ICMP_CHECKSUM;
    in = (const struct rte_ipv4_hdr *)(icmp + 1);
    ihl = (uint32_t)(in->version_ihl & 0xf) * 4;
    tot = rte_be_to_cpu_16(in->total_length);
    frag = rte_be_to_cpu_16(in->fragment_offset);
    if ((in->version_ihl >> 4) != 4 || ihl < sizeof(*in) || tot < ihl + ICMP_ERR_QUOTE_L4 ||
        (uint32_t)pi->l4_off + sizeof(*icmp) + ihl + ICMP_ERR_QUOTE_L4 > end ||
        (frag & RTE_IPV4_HDR_OFFSET_MASK) != 0 ||
        (in->next_proto_id != IPPROTO_TCP && in->next_proto_id != IPPROTO_UDP))
        return DROP_ICMP_ERROR_INVALID;
    q->ip_off = (uint16_t)(pi->l4_off + sizeof(*icmp));
    q->l4_off = (uint16_t)(q->ip_off + ihl);
    q->end = (uint16_t)end;
    q->proto = in->next_proto_id;
    q->src_ip = in->src_addr;
    q->dst_ip = in->dst_addr;
    /* TCP and UDP ports sit at the same offsets, in the 8 bytes checked above. */
    memcpy(&q->src_port, frame + q->l4_off, 2);
    memcpy(&q->dst_port, frame + q->l4_off + 2, 2);
    return DROP_NONE;
}

void icmp_err_rewrite_quote(uint8_t *frame, const struct pkt_info *pi,
                            const struct icmp_quote *q, bool src, uint32_t ip, uint16_t port)
{
    struct rte_ipv4_hdr *in = (struct rte_ipv4_hdr *)(frame + q->ip_off);
    struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)(frame + pi->l4_off);
    uint8_t *l4 = frame + q->l4_off;
    size_t csum_end = q->proto == IPPROTO_TCP ? offsetof(struct rte_tcp_hdr, cksum) + 2
                                              : offsetof(struct rte_udp_hdr, dgram_cksum) + 2;
    uint32_t old_ip;
    uint16_t old_port, c;

    /* The quoted header may sit at any even offset: through memcpy, not pointers. */
    memcpy(&old_ip, src ? (void *)&in->src_addr : (void *)&in->dst_addr, 4);
    memcpy(&old_port, l4 + (src ? 0 : 2), 2);
    memcpy(&c, &in->hdr_checksum, 2);
    csum_replace32(&c, old_ip, ip);
    memcpy(&in->hdr_checksum, &c, 2);
    memcpy(src ? (void *)&in->src_addr : (void *)&in->dst_addr, &ip, 4);
    if ((size_t)q->l4_off + csum_end <= q->end) {
        uint8_t *field = l4 + csum_end - 2;
        memcpy(&c, field, 2);
        if (!(q->proto == IPPROTO_UDP && c == 0)) {
            csum_replace32(&c, old_ip, ip);
            csum_replace16(&c, old_port, port);
            if (q->proto == IPPROTO_UDP && c == 0)
                c = 0xffff;
            memcpy(field, &c, 2);
        }
    }
    memcpy(l4 + (src ? 0 : 2), &port, 2);
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, pi->l4_len);
}

bool icmp_err_may_answer(const struct rte_ipv4_hdr *ip, uint32_t avail)
{
    uint32_t ihl = (uint32_t)(ip->version_ihl & 0xf) * 4, src = rte_be_to_cpu_32(ip->src_addr);
    uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);

    if (frag & RTE_IPV4_HDR_OFFSET_MASK)
        return false;
    if (src == 0 || (src & 0xf0000000u) == 0xe0000000u || src == 0xffffffffu)
        return false;
    if (ip->next_proto_id == IPPROTO_ICMP) {
        const uint8_t *icmp = (const uint8_t *)ip + ihl;
        if (avail < ihl + 1 || pkt_icmp_is_error(icmp[0]) || icmp[0] == 4 /* quench */ ||
            icmp[0] == 5 /* redirect */)
            return false;
    }
    return true;
}

struct rte_mbuf *icmp_err_build(struct lcore_ctx *lc, const struct rte_ipv4_hdr *orig,
                                uint32_t avail, uint8_t type, uint8_t code, uint32_t rest,
                                uint32_t src, uint32_t dst)
{
    uint32_t ihl = (uint32_t)(orig->version_ihl & 0xf) * 4;
    uint32_t quote = RTE_MIN(ihl + ICMP_ERR_QUOTE_L4,
                             RTE_MIN(avail, (uint32_t)rte_be_to_cpu_16(orig->total_length)));
    uint32_t len = (uint32_t)sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_icmp_hdr) + quote;
    struct rte_mbuf *e = lcore_alloc(lc);
    struct rte_ipv4_hdr *ip;
    struct rte_icmp_hdr *icmp;

    if (unlikely(e == NULL))
        return NULL;
    ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(e, (uint16_t)len);
    if (unlikely(ip == NULL)) {
        lc->stats->mbuf_alloc_failed++;
        rte_pktmbuf_free(e);
        return NULL;
    }
    memset(ip, 0, sizeof(*ip));
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16((uint16_t)len);
    ip->time_to_live = ICMP_ERR_TTL;
    ip->next_proto_id = IPPROTO_ICMP;
    ip->src_addr = src;
    ip->dst_addr = dst;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    icmp = (struct rte_icmp_hdr *)(ip + 1);
    icmp->icmp_type = type;
    icmp->icmp_code = code;
    icmp->icmp_cksum = 0;
    memcpy(&icmp->icmp_ident, &rest, 4);
    memcpy(icmp + 1, orig, quote);
    icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, sizeof(*icmp) + quote);
    return e;
}
