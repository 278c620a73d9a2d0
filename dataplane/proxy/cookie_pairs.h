/*
 * cookie_pairs: the cookie-pairs of a Cookie field's value (RFC 6265 section 4.2.1)
 * as plain text: walked one by one, matched by name, and the value rebuilt without
 * some of them. Used by the header rewrite (http_msg) and the persistence cookie's
 * lookup (http_cookie); a leaf.
 */
#ifndef LBD_COOKIE_PAIRS_H
#define LBD_COOKIE_PAIRS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The next cookie-pair of v[0..len) at or after *pos (moved past it): the pair is
 * [*ps, *pe) without surrounding whitespace, its name ends at *ne (the '=' or *pe) and
 * its value starts at *vs. False when there is none.
 */
bool cookie_pair_next(const char *v, size_t len, size_t *pos, size_t *ps, size_t *pe,
                      size_t *ne, size_t *vs);

/* Whether the pair's name v[ps..ne) (trailing whitespace aside) is name[0..nlen). */
bool cookie_pair_named(const char *v, size_t ps, size_t ne, const char *name, size_t nlen);

/* Narrows a pair's value [*vs, *pe) to the cookie's value: leading whitespace and the
 * double quotes RFC 6265 allows around it taken off. */
void cookie_pair_value(const char *v, size_t *vs, size_t *pe);

/*
 * A Cookie field's value v[0..len) without the cookies named name, the others joined
 * by "; ", into out (cap bytes). Returns the length (0: nothing left), or -1 when out
 * is too small.
 */
int cookie_pairs_strip(const char *v, size_t len, const char *name, size_t name_len,
                       char *out, size_t cap);

#endif
