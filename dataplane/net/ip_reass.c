/*
 * ip_reass: the per-worker IPv4 reassembly table (worker only, hot path but rare).
 */
#include "net/ip_reass.h"

#include <string.h>

#include <rte_ip.h>
#include <rte_malloc.h>

#include "err.h"

#define IP_REASS_MAX_LEN 65535u     /* an IPv4 datagram, header included */

static void ip_reass_expired(struct twheel_timer *t, uint64_t now);

int ip_reass_init(struct ip_reass *r, struct lcore_ctx *lc, struct ip_reass_stats *stats,
                  int socket)
{
    memset(r, 0, sizeof(*r));
    r->lc = lc;
    r->stats = stats;
    if (siphash_key_random(&r->key) != 0)
        return LBD_EIO;
    r->entries = rte_zmalloc_socket("reass", sizeof(*r->entries) * DP_REASS_ENTRIES,
                                    RTE_CACHE_LINE_SIZE, socket);
    if (r->entries == NULL)
        return LBD_ENOMEM;
    for (uint32_t i = 0; i < DP_REASS_ENTRIES; i++) {
        struct ip_reass_entry *e = &r->entries[i];
        twheel_timer_init(&e->timer, ip_reass_expired);
        e->r = r;
        e->hnext = r->free;
        r->free = e;
    }
    return 0;
}

static uint32_t ip_reass_bucket(const struct ip_reass *r, uint32_t src, uint32_t dst,
                                uint16_t id, uint8_t proto)
{
    uint8_t k[12];

    memcpy(k, &src, 4);
    memcpy(k + 4, &dst, 4);
    memcpy(k + 8, &id, 2);
    k[10] = proto;
    k[11] = 0;
    return (uint32_t)siphash24(&r->key, k, sizeof(k)) & (IP_REASS_BUCKETS - 1);
}

/* Takes e out of the table and gives it back, its fragments dropped under reason
 * (DROP_NONE: not dropped, the caller took them). */
static void ip_reass_release(struct ip_reass *r, struct ip_reass_entry *e, enum drop_reason why)
{
    for (uint8_t i = 0; i < e->n; i++) {
        if (why != DROP_NONE)
            lcore_drop(r->lc, e->f[i].m, why);
        e->f[i].m = NULL;
    }
    r->n_mbufs -= e->n;
    e->n = 0;
    twheel_cancel(&r->lc->wheel, &e->timer);
    if (e->hnext != NULL)
        e->hnext->hpprev = e->hpprev;
    *e->hpprev = e->hnext;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        r->oldest = e->newer;
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        r->newest = e->older;
    e->hnext = r->free;
    e->hpprev = NULL;
    e->older = e->newer = NULL;
    r->free = e;
    r->n_entries--;
}

static void ip_reass_expired(struct twheel_timer *t, uint64_t now)
{
    struct ip_reass_entry *e = (struct ip_reass_entry *)((char *)t -
                                                         offsetof(struct ip_reass_entry, timer));
    (void)now;
    e->r->stats->timeouts++;
    ip_reass_release(e->r, e, DROP_REASS_TIMEOUT);
}

void ip_reass_free(struct ip_reass *r)
{
    if (r->entries == NULL)
        return;
    while (r->oldest != NULL)
        ip_reass_release(r, r->oldest, DROP_REASS_EVICTED);
    rte_free(r->entries);
    r->entries = NULL;
}

/* The oldest datagram goes, to make room (never `keep`). False when there is none. */
static bool ip_reass_evict(struct ip_reass *r, const struct ip_reass_entry *keep)
{
    struct ip_reass_entry *e = r->oldest;

    if (e == keep)
        e = e->newer;
    if (e == NULL)
        return false;
    r->stats->evicted++;
    ip_reass_release(r, e, DROP_REASS_EVICTED);
    return true;
}

/* The entry of (src, dst, id, proto), made if new; NULL only if none can be had. */
static struct ip_reass_entry *ip_reass_entry(struct ip_reass *r, const struct pkt_info *pi,
                                             uint16_t id)
{
    uint32_t b = ip_reass_bucket(r, pi->src_ip, pi->dst_ip, id, pi->ip_proto);
    struct ip_reass_entry *e;

    for (e = r->buckets[b]; e != NULL; e = e->hnext)
        if (e->src_ip == pi->src_ip && e->dst_ip == pi->dst_ip && e->id == id &&
            e->proto == pi->ip_proto)
            return e;
    if (r->free == NULL && !ip_reass_evict(r, NULL))
        return NULL;
    e = r->free;
    r->free = e->hnext;
    e->src_ip = pi->src_ip;
    e->dst_ip = pi->dst_ip;
    e->id = id;
    e->proto = pi->ip_proto;
    e->n = 0;
    e->total = 0;
    e->bytes = 0;
    e->hnext = r->buckets[b];
    if (e->hnext != NULL)
        e->hnext->hpprev = &e->hnext;
    e->hpprev = &r->buckets[b];
    r->buckets[b] = e;
    e->older = r->newest;
    e->newer = NULL;
    if (r->newest != NULL)
        r->newest->newer = e;
    else
        r->oldest = e;
    r->newest = e;
    r->n_entries++;
    twheel_arm(&r->lc->wheel, &e->timer, r->lc->now_ms + DP_REASS_TIMEOUT_MS);
    return e;
}

/* The whole datagram of e, its fragments in order: the first one's headers, every
 * fragment's payload chained behind. NULL when it cannot be (dropped, counted). */
static struct rte_mbuf *ip_reass_build(struct ip_reass *r, struct ip_reass_entry *e,
                                       struct pkt_info *pi)
{
    struct rte_mbuf *head = e->f[0].m, *m;
    struct rte_ipv4_hdr *ip;
    uint32_t ihl, hdr;
    uint8_t n = e->n;
    uint32_t total = e->total;
    enum drop_reason why;

    ip = rte_pktmbuf_mtod_offset(head, struct rte_ipv4_hdr *, pi->l3_off);
    ihl = (uint32_t)(ip->version_ihl & 0xf) * 4;
    if (ihl + total > IP_REASS_MAX_LEN) {
        r->stats->refused++;
        ip_reass_release(r, e, DROP_REASS_TOO_BIG);
        return NULL;
    }
    /* Each fragment: its payload only (Ethernet and IP headers, padding cut). */
    hdr = pi->l3_off + ihl;
    rte_pktmbuf_trim(head, (uint16_t)(rte_pktmbuf_pkt_len(head) - hdr - e->f[0].len));
    for (uint8_t i = 1; i < n; i++) {
        struct rte_mbuf *f = e->f[i].m;
        const struct rte_ipv4_hdr *fip = rte_pktmbuf_mtod_offset(f, const struct rte_ipv4_hdr *,
                                                                 pi->l3_off);
        uint32_t fh = pi->l3_off + (uint32_t)(fip->version_ihl & 0xf) * 4;
        rte_pktmbuf_adj(f, (uint16_t)fh);
        rte_pktmbuf_trim(f, (uint16_t)(rte_pktmbuf_pkt_len(f) - e->f[i].len));
    }
    for (uint8_t i = 1; i < n; i++) {
        if (rte_pktmbuf_chain(head, e->f[i].m) != 0) {
            /* Cannot happen below RTE_MBUF_MAX_NB_SEGS; the rest is freed here. */
            for (uint8_t j = i; j < n; j++)
                rte_pktmbuf_free(e->f[j].m);
            break;
        }
    }
    r->n_mbufs -= n;
    e->n = 0;
    ip_reass_release(r, e, DROP_NONE);
    m = head;
    if (m->nb_segs != n) {
        lcore_drop(r->lc, m, DROP_REASS_TOO_BIG);
        return NULL;
    }
    ip->total_length = rte_cpu_to_be_16((uint16_t)(ihl + total));
    ip->fragment_offset = 0;    /* its sender let it be fragmented: no DF */
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_IP_CKSUM_MASK) | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    pi->l3_len = (uint16_t)(ihl + total);
    pi->l4_len = (uint16_t)total;
    why = pkt_parse_l4(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), pi);
    if (why != DROP_NONE) {
        lcore_drop(r->lc, m, DROP_REASS_INVALID);
        return NULL;
    }
    r->stats->datagrams++;
    return m;
}

struct rte_mbuf *ip_reass_input(struct ip_reass *r, struct rte_mbuf *m, struct pkt_info *pi)
{
    const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
                                                            pi->l3_off);
    uint16_t frag = rte_be_to_cpu_16(ip->fragment_offset);
    uint32_t off = (uint32_t)(frag & RTE_IPV4_HDR_OFFSET_MASK) * 8, len = pi->l4_len;
    uint32_t end = off + len;
    bool last = !(frag & RTE_IPV4_HDR_MF_FLAG);
    struct ip_reass_entry *e;
    uint8_t pos;

    r->stats->fragments++;
    /* Alone: empty, a non-last one not in 8-byte units, past the largest datagram. */
    if (len == 0 || (!last && (len & 7) != 0) || end + (pi->l4_off - pi->l3_off) > IP_REASS_MAX_LEN) {
        lcore_drop(r->lc, m, len != 0 && (last || (len & 7) == 0) ? DROP_REASS_TOO_BIG
                                                                  : DROP_REASS_INVALID);
        return NULL;
    }
    e = ip_reass_entry(r, pi, ip->packet_id);
    if (unlikely(e == NULL)) {
        lcore_drop(r->lc, m, DROP_REASS_EVICTED);
        return NULL;
    }
    /* Where it goes, and whether it overlaps a neighbour (RFC 5722). */
    for (pos = 0; pos < e->n && e->f[pos].off < off; pos++)
        ;
    if (pos < e->n && e->f[pos].off == off && e->f[pos].len == len) {
        lcore_drop(r->lc, m, DROP_REASS_DUPLICATE);
        return NULL;
    }
    if ((pos > 0 && e->f[pos - 1].off + e->f[pos - 1].len > off) ||
        (pos < e->n && end > e->f[pos].off)) {
        r->stats->refused++;
        lcore_drop(r->lc, m, DROP_REASS_OVERLAP);
        ip_reass_release(r, e, DROP_REASS_OVERLAP);
        return NULL;
    }
    if ((last && ((e->total != 0 && e->total != end) || (e->n > 0 && e->f[e->n - 1].off +
                                                         e->f[e->n - 1].len > end))) ||
        (!last && e->total != 0 && end >= e->total)) {
        r->stats->refused++;
        lcore_drop(r->lc, m, DROP_REASS_INVALID);
        ip_reass_release(r, e, DROP_REASS_INVALID);
        return NULL;
    }
    if (e->n == DP_REASS_FRAGS || e->bytes + len > DP_REASS_BYTES) {
        r->stats->refused++;
        lcore_drop(r->lc, m, DROP_REASS_TOO_BIG);
        ip_reass_release(r, e, DROP_REASS_TOO_BIG);
        return NULL;
    }
    /* Room among all the fragments held: older datagrams go first. */
    while (r->n_mbufs >= DP_REASS_MBUFS && ip_reass_evict(r, e))
        ;
    if (r->n_mbufs >= DP_REASS_MBUFS) {
        lcore_drop(r->lc, m, DROP_REASS_EVICTED);
        return NULL;
    }
    memmove(&e->f[pos + 1], &e->f[pos], sizeof(e->f[0]) * (e->n - pos));
    e->f[pos] = (struct ip_reass_frag){.m = m, .off = (uint16_t)off, .len = (uint16_t)len};
    e->n++;
    e->bytes += len;
    r->n_mbufs++;
    if (last)
        e->total = end;
    if (e->total == 0 || e->bytes != e->total)
        return NULL;
    /* Complete: nothing overlaps and every byte of [0, total) is here. The first
     * fragment's parse (its pi, its L3 offsets) stands for the datagram's. */
    {
        struct rte_mbuf *head = e->f[0].m;
        const struct rte_ipv4_hdr *hip = rte_pktmbuf_mtod_offset(head,
                                                                 const struct rte_ipv4_hdr *,
                                                                 pi->l3_off);
        pi->l4_off = (uint16_t)(pi->l3_off + (hip->version_ihl & 0xf) * 4);
    }
    return ip_reass_build(r, e, pi);
}
