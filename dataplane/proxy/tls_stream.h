/*
 * tls_stream: TLS over one connection of the worker's TCP stack, with OpenSSL on
 * memory BIOs: ciphertext mbufs from tcp_recv go into the read BIO, plaintext comes
 * out of SSL_read into fresh mbufs; plaintext mbufs from the user go through SSL_write
 * and the write BIO's ciphertext leaves through tcp_send. No kernel socket, no copy
 * the BIOs do not make themselves.
 *
 * A stream sits between the stack and its user (the proxy): it takes the connection's
 * events (tls_stream_on_tcp is the connection's handler) and gives the user the same
 * events about the plaintext, through the user's own tcp_event_fn:
 *   TCP_EV_ESTABLISHED  the TLS handshake completed (not the TCP one)
 *   TCP_EV_READABLE     plaintext to take (tls_stream_recv)
 *   TCP_EV_WRITABLE     room for plaintext (tls_stream_send_space)
 *   TCP_EV_PEER_FIN     the peer's close_notify or FIN, after all its plaintext
 *   TCP_EV_RESET, TCP_EV_TIMEOUT, TCP_EV_CLOSED   as the stack's; also TCP_EV_RESET
 *                       when the handshake or the record layer failed (the stream sent
 *                       its alert and closed the connection itself; counted by reason)
 * After RESET, TIMEOUT and CLOSED the connection is gone (for CLOSED: once the user's
 * handler returns, as with the stack); the user still frees the stream.
 *
 * Backpressure: plaintext is decrypted only while less than TLS_PLAIN_MAX waits for
 * the user, so unread ciphertext stays in the connection's receive queue and closes
 * its window; tls_stream_send_space is the connection's send space less the records'
 * overhead, 0 while ciphertext the stack refused waits.
 *
 * Handshake CPU: every SSL_do_handshake call is timed; a worker spends at most
 * TLS_HS_BUDGET_US of handshake work per millisecond, the rest waits for the next
 * millisecond on the stream's timer (counted: hs_deferred). The longest single step
 * is kept (hs_step_max_us): with RSA-2048 about 1 ms, with ECDSA P-256 a tenth of it.
 *
 * Ownership: one struct tls_worker per worker, its streams from a pool allocated at
 * start-up (the cap on TLS connections per worker). Owning worker only. OpenSSL
 * allocates its SSL objects and buffers from the heap: the only allocation on this
 * path, bounded by the pool.
 */
#ifndef LBD_TLS_STREAM_H
#define LBD_TLS_STREAM_H

#include <stdint.h>

#include "base/mbufq.h"
#include "base/twheel.h"
#include "config.h"
#include "tcp/tcp_types.h"

struct rte_mbuf;
struct rte_mempool;
struct tcp_stack;
struct tls_svc;
struct tls_backend;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

#define TLS_PLAIN_MAX (64u * 1024)  /* decrypted bytes waiting for the user, at most */
#define TLS_HS_BUDGET_US 500        /* handshake work per worker per millisecond */
#define TLS_RECORD_OVERHEAD 64      /* bytes a record adds at most (header, tag, pad) */
#define TLS_RECORD_MAX 16384

/* Counters of one service on one worker (the API's "tls" object of a service). */
#define TLS_VS_STATS(X)                                                        \
    X(handshakes)           /* client handshakes completed */                  \
    X(resumed)              /* of which resumed (session id or ticket) */      \
    X(failed)               /* client handshakes that failed, all reasons: */  \
    X(failed_not_tls)       /*   the first bytes were no TLS handshake record */ \
    X(failed_protocol)      /*   version, cipher, certificate or message refused */ \
    X(failed_closed)        /*   the client left or timed out before the end */ \
    X(failed_timeout)       /*   not done within layer7.connect_timeout_ms */ \
    X(failed_resources)     /*   no SSL object or no mbuf */                   \
    X(alerts_received)      /* fatal alerts from clients after the handshake */ \
    X(backend_handshakes)   /* re-encrypted connections to real servers */     \
    X(backend_failed)       /* their handshakes that failed (not verification) */ \
    X(backend_verify_failed) /* the real server's certificate failed verification */

struct tls_vs_stats {
#define TLS_STAT_FIELD(n) uint64_t n;
    TLS_VS_STATS(TLS_STAT_FIELD)
#undef TLS_STAT_FIELD
};

/* Counters of one worker (the API's "tls_" fields of a worker). */
#define TLS_STATS(X)                                                           \
    X(streams_refused)      /* stream pool empty: the connection was reset */  \
    X(hs_steps)             /* SSL_do_handshake calls */                       \
    X(hs_deferred)          /* handshake steps put off by the budget */        \
    X(hs_step_max_us)       /* longest handshake step: the loop's stall */     \
    X(hs_us)                /* handshake time in total */                      \
    X(alloc_failed)         /* no mbuf for plaintext or ciphertext: retried */ \
    X(records_in_bytes)     /* ciphertext taken from the stack */              \
    X(records_out_bytes)    /* ciphertext given to the stack */

struct tls_stats {
#define TLS_STAT_FIELD(n) uint64_t n;
    TLS_STATS(TLS_STAT_FIELD)
#undef TLS_STAT_FIELD
    struct tls_vs_stats vs[CFG_MAX_VS];
};

struct tls_worker;

struct tls_stream {
    struct tls_worker *tw;
    struct tcp_conn *c;             /* NULL once the connection is gone */
    SSL *ssl;
    BIO *rbio, *wbio;               /* owned by ssl */
    tcp_event_fn fn;                /* the user's handler */
    void *arg;
    struct tls_svc *svc;            /* server side: a reference */
    struct tls_backend *be;         /* client side: a reference */
    uint16_t vs_slot;
    uint16_t flags;                 /* TLS_SF_* */
    uint16_t depth;                 /* nesting of the stream's own calls */
    uint8_t first_byte;             /* of the peer's first record */
    struct rte_mbuf *out_pending;   /* ciphertext tcp_send refused, sent first */
    struct mbufq plain;             /* decrypted, not yet taken (charged to the stack) */
    struct twheel_timer timer;      /* a handshake step put off by the budget */
    struct tls_stream *next_free;
};

struct tls_worker {
    unsigned worker_id;
    struct tcp_stack *tcp;
    struct twheel *wheel;
    struct rte_mempool *pool;
    struct tls_stats *stats;
    struct tls_stats own_stats;     /* when the caller gave none */
    uint32_t max_streams;
    uint32_t n_active;
    uint64_t budget_ms;             /* the millisecond the budget is for */
    uint64_t budget_spent;          /* cycles of handshake work in it */
    uint64_t budget_cycles;         /* TLS_HS_BUDGET_US in cycles */
    uint64_t cycles_per_us;
    struct tls_stream *streams;
    struct tls_stream *free_list;
    unsigned char scratch[TLS_RECORD_MAX];  /* plaintext gathered into one record */
};

/* Start-up: the TLS state of a worker with a pool of max_streams streams. stats may be
 * NULL (the worker keeps its own). NULL and err on failure. */
struct tls_worker *tls_worker_create(unsigned worker_id, uint32_t max_streams,
                                     struct tcp_stack *tcp, struct twheel *wheel,
                                     struct rte_mempool *pool, struct tls_stats *stats,
                                     char *err, size_t errlen);
void tls_worker_free(struct tls_worker *tw);

/*
 * Server side: a stream over c (established, from the listener) for service svc (a
 * reference is taken), reporting to fn(c, ev, arg). Becomes c's handler. NULL when the
 * pool is empty or OpenSSL has no memory (counted; c is untouched).
 */
struct tls_stream *tls_stream_accept(struct tls_worker *tw, struct tcp_conn *c,
                                     struct tls_svc *svc, uint16_t vs_slot, tcp_event_fn fn,
                                     void *arg);

/* Client side: a stream towards real server be, before its connection exists: pass
 * tls_stream_on_tcp and the stream to tcp_connect, then tls_stream_attach. */
struct tls_stream *tls_stream_connect(struct tls_worker *tw, struct tls_backend *be,
                                      uint16_t vs_slot, tcp_event_fn fn, void *arg);
void tls_stream_attach(struct tls_stream *ts, struct tcp_conn *c);

/* The connection's event handler (arg = the stream). */
void tls_stream_on_tcp(struct tcp_conn *c, enum tcp_event ev, void *arg);

/* As tcp_send_space, tcp_send, tcp_recv_bytes, tcp_recv, tcp_shutdown, about the
 * plaintext. tls_stream_send takes m (0) or leaves it to the caller (LBD_ESTATE). */
uint32_t tls_stream_send_space(const struct tls_stream *ts);
int tls_stream_send(struct tls_stream *ts, struct rte_mbuf *m);
uint32_t tls_stream_recv_bytes(const struct tls_stream *ts);
struct rte_mbuf *tls_stream_recv(struct tls_stream *ts, uint32_t max);
int tls_stream_shutdown(struct tls_stream *ts);

/*
 * The decrypted plaintext not yet taken, to look at in place (as a connection's rcvq):
 * HTTP mode scans a header block there and takes nothing (tls_stream_recv) until it is
 * whole. Read only. Backpressure holds: nothing more is decrypted while the queue has
 * TLS_PLAIN_MAX bytes (CFG_HTTP_HEADER_BYTES_MAX at most, so a block that does not fit
 * is seen as too large, never waited for); taking from it refills it.
 */
static inline const struct mbufq *tls_stream_rcvq(const struct tls_stream *ts)
{
    return &ts->plain;
}

/* Changes who receives the stream's events (as tcp_set_handler). */
void tls_stream_set_handler(struct tls_stream *ts, tcp_event_fn fn, void *arg);

/*
 * As tcp_close, about the stream: close_notify (after the handshake), what ciphertext
 * the stack takes now, then tcp_close of the connection, and the stream is freed (no
 * more events; ciphertext the stack refused is dropped). ts is invalid afterwards.
 */
void tls_stream_close(struct tls_stream *ts);

/* The user gave up waiting for the handshake: counted (failed_timeout). */
void tls_stream_count_timeout(struct tls_stream *ts);

/* Resets the connection if it is still there, and frees the stream. */
void tls_stream_abort(struct tls_stream *ts);

/* Frees the stream (its connection is gone, or the caller lets it be). */
void tls_stream_free(struct tls_stream *ts);

/* Streams in use. */
static inline uint32_t tls_worker_active(const struct tls_worker *tw)
{
    return tw->n_active;
}

#endif
