/*
 * http_cookie: the persistence cookie's value and the Cookie field (see http_cookie.h).
 */
#include "proxy/http_cookie.h"

#include <string.h>

#include "proxy/cookie_pairs.h"

bool http_cookie_find(const char *buf, const struct http_head *h, const char *name,
                      size_t name_len, struct http_span *val)
{
    for (uint32_t i = 0; i < h->n_fields; i++) {
        const struct http_field *f = &h->f[i];
        const char *v = buf + f->value.off;
        size_t pos = 0, ps, pe, ne, vs;
        if (!http_field_is(buf, f, "cookie"))
            continue;
        while (cookie_pair_next(v, f->value.len, &pos, &ps, &pe, &ne, &vs)) {
            if (ne < pe && cookie_pair_named(v, ps, ne, name, name_len)) {
                cookie_pair_value(v, &vs, &pe);
                *val = (struct http_span){f->value.off + (uint32_t)vs, (uint32_t)(pe - vs)};
                return true;
            }
        }
    }
    return false;
}

static const char hexd[] = "0123456789abcdef";

static void put_hex(char *out, uint64_t x, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = hexd[x & 15];
        x >>= 4;
    }
}

static bool get_hex(const char *s, int digits, uint64_t *x)
{
    uint64_t r = 0;

    for (int i = 0; i < digits; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        r = r << 4 | d;
    }
    *x = r;
    return true;
}

static uint32_t cookie_tag(const struct siphash_key *key, const struct http_cookie_val *cv)
{
    uint8_t b[17];

    memcpy(b, &cv->id, 8);
    memcpy(b + 8, &cv->first_s, 4);
    memcpy(b + 12, &cv->last_s, 4);
    b[16] = 'c';    /* domain separation from the server ids under the same key */
    return (uint32_t)siphash24(key, b, sizeof(b));
}

size_t http_cookie_encode(const struct siphash_key *key, const struct http_cookie_val *cv,
                          char *out)
{
    put_hex(out, cv->id, 16);
    if (!cv->timed) {
        out[16] = 0;
        return 16;
    }
    out[16] = '.';
    put_hex(out + 17, cv->first_s, 8);
    out[25] = '.';
    put_hex(out + 26, cv->last_s, 8);
    out[34] = '.';
    put_hex(out + 35, cookie_tag(key, cv), 8);
    out[43] = 0;
    return 43;
}

bool http_cookie_decode(const struct siphash_key *key, const char *v, size_t len,
                        struct http_cookie_val *cv)
{
    uint64_t a, b, t;

    if (len != 16 && len != 43)
        return false;
    if (!get_hex(v, 16, &cv->id))
        return false;
    cv->timed = len == 43;
    cv->first_s = cv->last_s = 0;
    if (!cv->timed)
        return true;
    if (v[16] != '.' || v[25] != '.' || v[34] != '.' || !get_hex(v + 17, 8, &a) ||
        !get_hex(v + 26, 8, &b) || !get_hex(v + 35, 8, &t))
        return false;
    cv->first_s = (uint32_t)a;
    cv->last_s = (uint32_t)b;
    return cv->last_s >= cv->first_s && (uint32_t)t == cookie_tag(key, cv);
}

bool http_cookie_fresh(const struct http_cookie_val *cv, uint32_t max_idle_s,
                       uint32_t max_life_s, uint32_t now_s)
{
    if (max_idle_s == 0 && max_life_s == 0)
        return true;    /* a session cookie lives as long as the browser keeps it */
    if (!cv->timed || cv->last_s > now_s)
        return false;
    if (max_life_s != 0 && now_s - cv->first_s > max_life_s)
        return false;
    if (max_idle_s != 0 && now_s - cv->last_s > max_idle_s)
        return false;
    return true;
}
