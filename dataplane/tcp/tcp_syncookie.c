/*
 * tcp_syncookie: encoding and checking SYN cookies, rotating their keys. See
 * tcp_syncookie.h.
 */
#include "tcp/tcp_syncookie.h"

#define COOKIE_MAC_BITS 25
#define COOKIE_MAC_MASK ((1u << COOKIE_MAC_BITS) - 1)
static const uint16_t cookie_mss[4] = {536, 1220, 1440, 1460};

/* The key of period p, made from the key of the period before: one-way, so a key in
 * memory tells nothing of the keys before it. */
static struct siphash_key cookie_key_next(const struct siphash_key *k, uint64_t p)
{
    uint64_t in[2] = {p, UINT64_C(0x6c62642d636f6f6b)};    /* "lbd-cook" */
    struct siphash_key n;

    n.k0 = siphash24(k, in, sizeof(in));
    in[1] ^= 1;
    n.k1 = siphash24(k, in, sizeof(in));
    return n;
}

void tcp_syncookie_init(struct tcp_cookie_keys *ck, const struct siphash_key *first,
                        uint64_t now_ms)
{
    ck->period = now_ms >> TCP_SYNCOOKIE_PERIOD_SHIFT;
    ck->cur = *first;
    /* No cookie of the period before exists: any key that is not cur will do. */
    ck->prev = cookie_key_next(first, ck->period - 1);
}

void tcp_syncookie_rotate(struct tcp_cookie_keys *ck, uint64_t now_ms)
{
    uint64_t p = now_ms >> TCP_SYNCOOKIE_PERIOD_SHIFT;

    if (p <= ck->period)
        return;
    if (p == ck->period + 1) {
        ck->prev = ck->cur;
        ck->cur = cookie_key_next(&ck->prev, p);
    } else {
        /* Idle for two periods or more: no cookie made with either key is valid. */
        ck->prev = cookie_key_next(&ck->cur, p - 1);
        ck->cur = cookie_key_next(&ck->prev, p);
    }
    ck->period = p;
}

/* The MAC of a cookie whose top bits (31..25) are top, under key. */
static uint32_t cookie_mac(const struct siphash_key *key, const struct tcp_key *k,
                           uint32_t irs, uint32_t top)
{
    uint32_t w[5] = {k->laddr, k->raddr, ((uint32_t)k->lport << 16) | k->rport, irs, top};

    return (uint32_t)siphash24(key, w, sizeof(w)) & COOKIE_MAC_MASK;
}

uint32_t tcp_syncookie_make(struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                            uint16_t peer_mss, uint8_t peer_wscale, uint64_t now_ms,
                            uint16_t *mss)
{
    uint32_t idx = 0, top;

    tcp_syncookie_rotate(&st->cookie, now_ms);
    for (uint32_t i = 0; i < 4; i++)
        if (cookie_mss[i] <= peer_mss && cookie_mss[i] <= st->conf.mss)
            idx = i;
    if (peer_wscale > TCP_MAX_WSCALE)
        peer_wscale = TCP_SYNCOOKIE_NO_WSCALE;
    top = ((uint32_t)(st->cookie.period & 1) << 31) | (idx << 29) |
          ((uint32_t)peer_wscale << COOKIE_MAC_BITS);
    *mss = cookie_mss[idx];
    return top | cookie_mac(&st->cookie.cur, k, irs, top);
}

int tcp_syncookie_check(struct tcp_stack *st, const struct tcp_key *k, uint32_t irs,
                        uint32_t cookie, uint64_t now_ms, uint16_t *mss, uint8_t *wscale)
{
    uint32_t top = cookie & ~COOKIE_MAC_MASK;
    uint32_t ws = (cookie >> COOKIE_MAC_BITS) & 0xf;
    const struct siphash_key *key;

    tcp_syncookie_rotate(&st->cookie, now_ms);
    /* The parity names the period: this one, or the one before. */
    key = (cookie >> 31) == (uint32_t)(st->cookie.period & 1) ? &st->cookie.cur
                                                               : &st->cookie.prev;
    if (cookie_mac(key, k, irs, top) != (cookie & COOKIE_MAC_MASK))
        return -1;
    if (ws != TCP_SYNCOOKIE_NO_WSCALE && ws > TCP_MAX_WSCALE)
        return -1;
    *mss = cookie_mss[(cookie >> 29) & 3];
    *wscale = (uint8_t)ws;
    return 0;
}
