/*
 * csum: Internet checksums. Incremental updates (RFC 1624, eqn. 3): when a packet's
 * field changes from old to new, the checksum covering it is updated without touching
 * the rest of the packet: HC' = ~(~HC + ~m + m'). Values are taken as they sit in the
 * packet (network order); the arithmetic is byte-order independent.
 *
 * And the sum over a chained mbuf (csum_mbuf_raw, csum_ipv4_l4_mbuf), which every
 * multi-segment checksum here uses instead of DPDK 22.11's rte_raw_cksum_mbuf: that
 * one byte-swaps the unfolded 32-bit sum of a segment cut to 16 bits when the bytes
 * before it are odd in number, so a packet whose data is split at an odd offset before
 * its last segment gets a wrong checksum (and a wrong one verifies as right).
 */
#ifndef LBD_CSUM_H
#define LBD_CSUM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

static inline uint16_t csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/*
 * The 16-bit one's-complement sum (folded, not inverted) of the n4 32-bit words at p,
 * the same value as rte_raw_cksum(p, 4 * n4): 2^16 is 1 modulo 0xffff, so whole words
 * can be added into a 64-bit accumulator and folded once. An IPv4 header (a multiple
 * of 4 bytes) is 5 additions here, 10 dependent ones in DPDK 22.11's 16-bit loop, which
 * was a tenth of the cycles of a routed packet. p need not be aligned.
 */
static inline uint16_t csum_raw32(const void *p, uint32_t n4)
{
    const uint8_t *b = p;
    uint64_t sum = 0;

    for (uint32_t i = 0; i < n4; i++) {
        uint32_t w;
        memcpy(&w, b + 4 * i, sizeof(w));
        sum += w;
    }
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    return csum_fold((uint32_t)sum);
}

/* True when the IPv4 header ip of ihl bytes (a multiple of 4, at least 20) has a right
 * checksum. */
static inline bool csum_ipv4_hdr_ok(const void *ip, uint32_t ihl)
{
    return csum_raw32(ip, ihl / 4) == 0xffff;
}

/* Updates *csum for a 16-bit word changing from old_w to new_w. */
static inline void csum_replace16(uint16_t *csum, uint16_t old_w, uint16_t new_w)
{
    uint32_t sum = (uint16_t)~*csum;
    sum += (uint16_t)~old_w;
    sum += new_w;
    *csum = (uint16_t)~csum_fold(sum);
}

/* Updates *csum for a 32-bit word (an IPv4 address) changing from old_w to new_w. */
static inline void csum_replace32(uint16_t *csum, uint32_t old_w, uint32_t new_w)
{
    uint32_t sum = (uint16_t)~*csum;
    sum += (uint16_t)~(old_w >> 16) + (uint16_t)~(old_w & 0xffff);
    sum += (new_w >> 16) + (new_w & 0xffff);
    *csum = (uint16_t)~csum_fold(sum);
}

/*
 * The 16-bit one's-complement sum (folded, not inverted) of len bytes of m's data from
 * off, across its segments: what rte_raw_cksum gives over the same bytes laid flat.
 * Each segment's part is summed on its own and folded; a part that starts after an odd
 * number of bytes sits in the other half of every word, so its folded sum is
 * byte-swapped (RFC 1071 section 2 (B)). Returns -1 when the range is not in m.
 */
static inline int csum_mbuf_raw(const struct rte_mbuf *m, uint32_t off, uint32_t len,
                                uint16_t *out)
{
    const struct rte_mbuf *seg = m;
    uint32_t sum = 0;
    bool odd = false;

    while (seg != NULL && off >= seg->data_len) {
        off -= seg->data_len;
        seg = seg->next;
    }
    while (len > 0) {
        uint32_t n;
        uint16_t part;

        if (seg == NULL)
            return -1;
        n = seg->data_len - off;
        if (n > len)
            n = len;
        part = rte_raw_cksum(rte_pktmbuf_mtod_offset(seg, const void *, off), n);
        sum += odd ? rte_bswap16(part) : part;
        odd ^= (n & 1) != 0;
        len -= n;
        off = 0;
        seg = seg->next;
    }
    *out = csum_fold(sum);
    return 0;
}

/*
 * The TCP or UDP checksum field for the IPv4 packet m whose header is ip and whose L4
 * header starts at l4_off, whose checksum field holds 0: ~(pseudo-header + L4 header
 * and data), 0xffff for a UDP zero. csum_ipv4_l4_mbuf_ok verifies a received one.
 */
static inline uint16_t csum_ipv4_l4_mbuf(const struct rte_mbuf *m,
                                         const struct rte_ipv4_hdr *ip, uint32_t l4_off)
{
    uint32_t len = (uint32_t)rte_be_to_cpu_16(ip->total_length) - rte_ipv4_hdr_len(ip);
    uint16_t raw, c;

    if (csum_mbuf_raw(m, l4_off, len, &raw) != 0)
        return 0xffff;  /* cannot be the sum of a packet that is all there */
    c = (uint16_t)~csum_fold((uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0));
    if (c == 0 && ip->next_proto_id == IPPROTO_UDP)
        c = 0xffff;
    return c;
}

/* True when the TCP or UDP checksum of m (as csum_ipv4_l4_mbuf) is right. */
static inline bool csum_ipv4_l4_mbuf_ok(const struct rte_mbuf *m,
                                        const struct rte_ipv4_hdr *ip, uint32_t l4_off)
{
    uint32_t len = (uint32_t)rte_be_to_cpu_16(ip->total_length) - rte_ipv4_hdr_len(ip);
    uint16_t raw;

    if (csum_mbuf_raw(m, l4_off, len, &raw) != 0)
        return false;
    return csum_fold((uint32_t)raw + rte_ipv4_phdr_cksum(ip, 0)) == 0xffff;
}

#endif
