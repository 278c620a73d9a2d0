/*
 * rx_csum: completing partial L4 checksums. See rx_csum.h.
 */
#include "net/rx_csum.h"

#include <netinet/in.h>
#include <stddef.h>

#include <rte_icmp.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "base/csum.h"

bool rx_csum_l4_complete(struct rte_mbuf *m, const struct pkt_info *pi)
{
    uint8_t *l4 = rte_pktmbuf_mtod_offset(m, uint8_t *, pi->l4_off);
    const struct rte_ipv4_hdr *ip =
        rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *, pi->l3_off);
    uint16_t *field, raw, c, old;
    uint32_t sum;

    if (pi->l3 != PKT_L3_IPV4 || pi->is_fragment)
        return false;
    switch (pi->ip_proto) {
    case IPPROTO_TCP:
        field = (uint16_t *)(l4 + offsetof(struct rte_tcp_hdr, cksum));
        break;
    case IPPROTO_UDP:
        field = (uint16_t *)(l4 + offsetof(struct rte_udp_hdr, dgram_cksum));
        break;
    case IPPROTO_ICMP:
        field = (uint16_t *)(l4 + offsetof(struct rte_icmp_hdr, icmp_cksum));
        break;
    default:
        return false;
    }
    /* pkt_parse put the L4 header in the first segment and the L4 data in the packet;
     * the data may go on in further segments, which csum_mbuf_raw follows. */
    if ((uint32_t)pi->l4_off + pi->l4_len > rte_pktmbuf_pkt_len(m))
        return false;
    old = *field;
    *field = 0;
    if (csum_mbuf_raw(m, pi->l4_off, pi->l4_len, &raw) != 0) {
        *field = old;   /* not reached: the range was checked above */
        return false;
    }
    sum = raw;
    if (pi->ip_proto != IPPROTO_ICMP)
        sum += rte_ipv4_phdr_cksum(ip, 0);
    c = (uint16_t)~csum_fold(sum);
    if (c == 0 && pi->ip_proto == IPPROTO_UDP)
        c = 0xffff;     /* 0 means "no checksum" in UDP (RFC 768) */
    *field = c;
    m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
    return true;
}
