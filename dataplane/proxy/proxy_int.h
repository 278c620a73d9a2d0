/*
 * proxy_int: what the TCP-mode core of the proxy (proxy.c) shares with HTTP mode
 * (proxy_http.c). Private to dataplane/proxy/; owning worker only.
 */
#ifndef LBD_PROXY_INT_H
#define LBD_PROXY_INT_H

#include "proxy/proxy.h"

#define DIR_IN 0        /* client -> server */
#define DIR_OUT 1       /* server -> client */

static inline uint64_t proxy_now(const struct proxy *px)
{
    return twheel_now(px->conf.wheel);
}

static inline struct proxy_stats *proxy_stats(struct proxy *px)
{
    return px->conf.stats;
}

/* proxy.c */
struct proxy_sess *proxy_sess_alloc(struct proxy *px);
void proxy_sess_uncount(struct proxy_sess *s);
void proxy_sess_end(struct proxy_sess *s);
void proxy_sess_abort(struct proxy_sess *s);
void proxy_persist(struct proxy_sess *s, const struct snap_vs *vs, const struct snap_rs *rs,
                   struct persist_entry *pe);
void proxy_count_bytes(struct proxy_sess *s, int d, uint32_t len);
void proxy_retry_later(struct proxy_sess *s);
/* Turns s (both halves established) into the TCP-mode splice: from now on bytes pass
 * untouched both ways (an HTTP upgrade). */
void proxy_splice(struct proxy_sess *s);

/* proxy_http.c */
/* A client established on an HTTP-mode service vs: starts its session. */
void proxy_http_accept(struct proxy *px, struct tcp_conn *c, const struct snap_vs *vs);
/* The session's timer fired (not while splicing). */
void proxy_http_timer(struct proxy_sess *s);
/* The session ends: its message state goes back to the pool. */
void proxy_http_release(struct proxy_sess *s);
/* Set-up: the size of one message state; threads px->http_pool into its free list. */
size_t proxy_http_state_size(void);
void proxy_http_pool_init(struct proxy *px);

#endif
