/*
 * csum: incremental Internet checksum updates (RFC 1624, eqn. 3).
 *
 * When a packet's field changes from old to new, the checksum covering it is
 * updated without touching the rest of the packet: HC' = ~(~HC + ~m + m').
 * Values are taken as they sit in the packet (network order); the arithmetic is
 * byte-order independent.
 */
#ifndef LBD_CSUM_H
#define LBD_CSUM_H

#include <stdint.h>

static inline uint16_t csum_fold(uint32_t sum)
{
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
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

#endif
