/*
 * tcp_syncookie: encoding and checking SYN cookies. See tcp_syncookie.h.
 */
#include "tcp/tcp_syncookie.h"

#include <rte_jhash.h>

#define COOKIE_SLOT_SHIFT 16            /* 65.5 s slots */
static const uint16_t cookie_mss[4] = {536, 1220, 1440, 1460};

static uint32_t cookie_hash(const struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                            uint32_t slot, uint32_t bits)
{
    uint32_t w[6] = {k->laddr, k->raddr, ((uint32_t)k->lport << 16) | k->rport, irs,
                     slot, bits};

    return rte_jhash_32b(w, 6, st->secret[0]) ^ rte_jhash_3words(st->secret[1], st->secret[2],
                                                                 st->secret[3], slot);
}

uint32_t tcp_syncookie_make(const struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                            uint16_t peer_mss, uint8_t peer_wscale, uint64_t now_ms,
                            uint16_t *mss)
{
    uint32_t slot = (uint32_t)(now_ms >> COOKIE_SLOT_SHIFT) & 7;
    uint32_t idx = 0, bits;

    for (uint32_t i = 0; i < 4; i++)
        if (cookie_mss[i] <= peer_mss && cookie_mss[i] <= st->conf.mss)
            idx = i;
    if (peer_wscale > TCP_MAX_WSCALE)
        peer_wscale = TCP_SYNCOOKIE_NO_WSCALE;
    bits = (idx << 4) | peer_wscale;
    *mss = cookie_mss[idx];
    return (slot << 29) | (bits << 23) | (cookie_hash(st, k, irs, slot, bits) & 0x7fffff);
}

int tcp_syncookie_check(const struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                        uint32_t cookie, uint64_t now_ms, uint16_t *mss, uint8_t *wscale)
{
    uint32_t now_slot = (uint32_t)(now_ms >> COOKIE_SLOT_SHIFT) & 7;
    uint32_t slot = cookie >> 29, bits = (cookie >> 23) & 0x3f;

    if (slot != now_slot && ((slot + 1) & 7) != now_slot)
        return -1;
    if ((cookie_hash(st, k, irs, slot, bits) & 0x7fffff) != (cookie & 0x7fffff))
        return -1;
    if ((bits & 0xf) != TCP_SYNCOOKIE_NO_WSCALE && (bits & 0xf) > TCP_MAX_WSCALE)
        return -1;
    *mss = cookie_mss[bits >> 4];
    *wscale = (uint8_t)(bits & 0xf);
    return 0;
}
