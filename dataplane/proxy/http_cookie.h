/*
 * http_cookie: the persistence cookie of the Layer 7 proxy's HTTP mode, as HAProxy's
 * "cookie NAME insert indirect nocache": the first response to a client without a
 * valid cookie sets NAME to an opaque id of the real server that answered, a request
 * that carries it goes to that server while it may take requests, the cookie is taken
 * out of the request before it goes on (the server never sees it), and a response
 * that sets it is marked "Cache-Control: private".
 *
 * The value is the server's cookie id (snap_rs.cookie_id: a keyed SipHash of its
 * identity, which names no address) in 16 hex digits. When the service limits the
 * cookie's idle time or life (persistence.max_idle_s / max_life_s), the value also
 * carries when it was first issued and last refreshed (seconds of the worker clock)
 * and a 32-bit SipHash tag of the three under the same key, so a client can neither
 * forge a server nor stretch the times:
 *     <id:16 hex>                                   session cookie
 *     <id:16 hex>.<first:8 hex>.<last:8 hex>.<tag:8 hex>   with expiry
 *
 * Pure functions: any lcore, no allocation.
 */
#ifndef LBD_HTTP_COOKIE_H
#define LBD_HTTP_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/siphash.h"
#include "proxy/http_msg.h"

#define HTTP_COOKIE_VALUE_MAX 48    /* the longest value, with its NUL */

struct http_cookie_val {
    uint64_t id;
    bool timed;
    uint32_t first_s;
    uint32_t last_s;
};

/*
 * The value of the first cookie named name in the Cookie fields of the request block
 * buf (h from http_msg_head) into *val (a span of buf). Returns true when found.
 */
bool http_cookie_find(const char *buf, const struct http_head *h, const char *name,
                      size_t name_len, struct http_span *val);

/* Writes the value for cv under key into out (HTTP_COOKIE_VALUE_MAX bytes), NUL
 * terminated; returns its length. */
size_t http_cookie_encode(const struct siphash_key *key, const struct http_cookie_val *cv,
                          char *out);

/* Reads a value (either form); false when it is not one of ours (bad shape or tag). */
bool http_cookie_decode(const struct siphash_key *key, const char *v, size_t len,
                        struct http_cookie_val *cv);

/*
 * Whether a decoded cookie is still good at now_s for a service with the given limits
 * (0 = none): the form must match (timed when any limit is set) and neither the life
 * nor the idle time may have run out.
 */
bool http_cookie_fresh(const struct http_cookie_val *cv, uint32_t max_idle_s,
                       uint32_t max_life_s, uint32_t now_s);

#endif
