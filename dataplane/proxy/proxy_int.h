/*
 * proxy_int: what the TCP-mode core of the proxy (proxy.c) shares with HTTP mode
 * (proxy_http.c). Private to dataplane/proxy/; owning worker only.
 */
#ifndef LBD_PROXY_INT_H
#define LBD_PROXY_INT_H

#include "proxy/proxy.h"
#include "proxy/tls_stream.h"
#include "tcp/tcp.h"

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

/*
 * The byte stream of one half (side 0: the client's, 1: the server's; the same index
 * as the direction whose data comes from it): the TCP connection itself, or TLS over
 * it (tls_stream.h, which reports the same events about the plaintext). The half must
 * exist (s->cli or s->srv not NULL).
 */
static inline struct tcp_conn *half_conn(const struct proxy_sess *s, int side)
{
    return side == DIR_IN ? s->cli : s->srv;
}

static inline uint32_t half_send_space(const struct proxy_sess *s, int side)
{
    return s->tls[side] != NULL ? tls_stream_send_space(s->tls[side])
                                : tcp_send_space(half_conn(s, side));
}

static inline int half_send(struct proxy_sess *s, int side, struct rte_mbuf *m)
{
    return s->tls[side] != NULL ? tls_stream_send(s->tls[side], m)
                                : tcp_send(half_conn(s, side), m);
}

static inline uint32_t half_recv_bytes(const struct proxy_sess *s, int side)
{
    return s->tls[side] != NULL ? tls_stream_recv_bytes(s->tls[side])
                                : tcp_recv_bytes(half_conn(s, side));
}

static inline struct rte_mbuf *half_recv(struct proxy_sess *s, int side, uint32_t max)
{
    return s->tls[side] != NULL ? tls_stream_recv(s->tls[side], max)
                                : tcp_recv(half_conn(s, side), max);
}

static inline void half_shutdown(struct proxy_sess *s, int side)
{
    if (s->tls[side] != NULL)
        tls_stream_shutdown(s->tls[side]);
    else
        tcp_shutdown(half_conn(s, side));
}

/* The half's received bytes not yet taken, to look at in place: the connection's receive
 * queue, or the TLS stream's plaintext (tls_stream_rcvq). Take with half_recv. */
static inline const struct mbufq *half_rcvq(const struct proxy_sess *s, int side)
{
    return s->tls[side] != NULL ? tls_stream_rcvq(s->tls[side]) : &half_conn(s, side)->rcvq;
}

/* Resets the half (its TLS stream too) if it is still there. */
void half_abort(struct proxy_sess *s, int side);
/* Closes the half (tcp_close, or tls_stream_close: close_notify first) if it is still
 * there; no more events from it. */
void half_close(struct proxy_sess *s, int side);
/* Frees the TLS stream of a half whose connection is gone. */
void half_drop_tls(struct proxy_sess *s, int side);
/* The half's events go to fn (arg: s), through its TLS stream if it has one. */
void half_set_handler(struct proxy_sess *s, int side, tcp_event_fn fn);

/* proxy.c */
struct proxy_sess *proxy_sess_alloc(struct proxy *px);
/*
 * A client c established on Layer 7 service vs: a session from the pool holding the
 * client half (events to fn, the client idle timeout, counted on the service) and, on
 * a TLS service, its TLS stream with the handshake under the connect deadline (state
 * PROXY_HANDSHAKE; fn hears ESTABLISHED when it is done). NULL when refused (no
 * session: c reset, refused_pool) or the TLS stream could not start (aborted).
 */
struct proxy_sess *proxy_sess_accept(struct proxy *px, struct tcp_conn *c,
                                     const struct snap_vs *vs, tcp_event_fn fn);
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

/*
 * HTTP mode's entry points (proxy_http.h): the splice core calls HTTP mode only through
 * these, set by proxy_create, so that proxy.c takes nothing from the mode built on it.
 */
struct proxy_mode {
    void (*accept)(struct proxy *px, struct tcp_conn *c, const struct snap_vs *vs);
    void (*timer)(struct proxy_sess *s);        /* the session's timer, not splicing */
    void (*release)(struct proxy_sess *s);      /* the session ends */
};

#endif
