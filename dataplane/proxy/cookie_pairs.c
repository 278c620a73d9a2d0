/*
 * cookie_pairs: the cookie-pairs of a Cookie field's value (RFC 6265 section 4.2.1),
 * walked and filtered as plain text. A leaf: calls nothing else of the proxy.
 */
#include "proxy/cookie_pairs.h"

#include <string.h>

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool cookie_pair_next(const char *v, size_t len, size_t *pos, size_t *ps, size_t *pe,
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

bool cookie_pair_named(const char *v, size_t ps, size_t ne, const char *name, size_t nlen)
{
    size_t e = ne;

    while (e > ps && is_ows(v[e - 1]))
        e--;
    return e - ps == nlen && memcmp(v + ps, name, nlen) == 0;
}

void cookie_pair_value(const char *v, size_t *vs, size_t *pe)
{
    while (*vs < *pe && is_ows(v[*vs]))
        (*vs)++;
    /* A quoted value (RFC 6265 allows DQUOTE around it). */
    if (*pe - *vs >= 2 && v[*vs] == '"' && v[*pe - 1] == '"') {
        (*vs)++;
        (*pe)--;
    }
}

int cookie_pairs_strip(const char *v, size_t len, const char *name, size_t name_len,
                       char *out, size_t cap)
{
    size_t pos = 0, ps, pe, ne, vs, o = 0;

    while (cookie_pair_next(v, len, &pos, &ps, &pe, &ne, &vs)) {
        if (ne < pe && cookie_pair_named(v, ps, ne, name, name_len))
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
