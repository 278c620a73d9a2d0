/*
 * http_cookie: the persistence cookie's value and the Cookie field (see http_cookie.h).
 */
#include "proxy/http_cookie.h"

#include <string.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Walks the cookie-pairs of a Cookie value: the next pair at or after *pos into
 * [*ns, *ne) (name) and [*vs, *ve) (value). False when there is none.
 */
static bool next_pair(const char *v, size_t len, size_t *pos, size_t *ps, size_t *pe,
                      size_t *ne, size_t *vs)
{
    size_t i = *pos;

    while (i < len && (is_ows(v[i]) || v[i] == ';'))
        i++;
    if (i >= len)
        return false;
    *ps = i;
    while (i < len && v[i] != ';')
        i++;
    *pe = i;
    while (*pe > *ps && is_ows(v[*pe - 1]))
        (*pe)--;
    *pos = i;
    *ne = *ps;
    while (*ne < *pe && v[*ne] != '=')
        (*ne)++;
    *vs = *ne < *pe ? *ne + 1 : *pe;
    return true;
}

static bool name_is(const char *v, size_t ps, size_t ne, const char *name, size_t nlen)
{
    size_t e = ne;

    while (e > ps && is_ows(v[e - 1]))
        e--;
    return e - ps == nlen && memcmp(v + ps, name, nlen) == 0;
}

bool http_cookie_find(const char *buf, const struct http_head *h, const char *name,
                      size_t name_len, struct http_span *val)
{
    for (uint32_t i = 0; i < h->n_fields; i++) {
        const struct http_field *f = &h->f[i];
        const char *v = buf + f->value.off;
        size_t pos = 0, ps, pe, ne, vs;
        if (!http_field_is(buf, f, "cookie"))
            continue;
        while (next_pair(v, f->value.len, &pos, &ps, &pe, &ne, &vs)) {
            if (ne < pe && name_is(v, ps, ne, name, name_len)) {
                while (vs < pe && is_ows(v[vs]))
                    vs++;
                /* A quoted value (RFC 6265 allows DQUOTE around it). */
                if (pe - vs >= 2 && v[vs] == '"' && v[pe - 1] == '"') {
                    vs++;
                    pe--;
                }
                *val = (struct http_span){f->value.off + (uint32_t)vs, (uint32_t)(pe - vs)};
                return true;
            }
        }
    }
    return false;
}

int http_cookie_strip(const char *v, size_t len, const char *name, size_t name_len,
                      char *out, size_t cap)
{
    size_t pos = 0, ps, pe, ne, vs, o = 0;

    while (next_pair(v, len, &pos, &ps, &pe, &ne, &vs)) {
        if (ne < pe && name_is(v, ps, ne, name, name_len))
            continue;
        if (o + (o ? 2 : 0) + (pe - ps) > cap)
            return -1;
        if (o) {
            memcpy(out + o, "; ", 2);
            o += 2;
        }
        memcpy(out + o, v + ps, pe - ps);
        o += pe - ps;
    }
    return (int)o;
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
