/*
 * proxy: the Layer 7 SNAT proxy in TCP mode (issue 5; DESIGN.md sections 1, 4).
 *
 * A client's connection to a (VIP, port) of a layer-7 TCP-mode service ends in the
 * worker's TCP stack. The proxy picks a real server (source-IP persistence first,
 * then the service's scheduler; servers down, draining, halted or at max_conns are
 * skipped), opens a backend connection from the service's source_address (the VIP
 * by default) on a local port that encodes this worker (tcp_connect), and splices
 * the two: payload mbufs move from one side's receive queue to the other's send
 * queue by reference, only while the other side has send space, so a slow reader
 * closes the fast writer's receive window (backpressure). FIN and RST travel from
 * each side to the other; connect and idle timeouts come from the config's
 * "layer7" object.
 *
 * Ownership: one struct proxy per worker, used by that worker only. The client's
 * connection lives on worker hash(client IP) % N and the backend connection's local
 * port makes its packets come to the same worker, so a session never leaves its
 * worker: no locks. Hot path (events, timers): no allocation, no logging; every
 * outcome is a counter in struct proxy_stats.
 *
 * HTTP mode (a layer-7 service with "mode": "http") runs on the same sessions, stack
 * and splice: proxy_http.c reads each request's header block, routes the request on
 * its own (persistence cookie, else the service's persistence, else the scheduler),
 * reuses the backend connection only for the same real server, rewrites the headers
 * (cookie taken out, X-Forwarded-For, Set-Cookie and Cache-Control), streams bodies
 * with their framing (http_msg.h) and answers errors itself; an upgrade turns the pair
 * into the TCP-mode splice. http_cookie.h is the persistence cookie. With "tls" on the
 * service (termination) or on a real server (re-encryption) HTTP mode reads and writes
 * through the same per-half TLS streams as TCP mode (half_* in proxy_int.h).
 *
 * proxy.c holds the hot path; proxy_setup.c the slow path (creation, listeners from
 * a snapshot, closing the sessions of halted servers); proxy_int.h what proxy.c
 * shares with proxy_http.c.
 */
#ifndef LBD_PROXY_H
#define LBD_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "base/mbufq.h"
#include "base/twheel.h"
#include "l4/persist.h"
#include "l4/scheduler.h"
#include "proxy/proxy_log.h"
#include "snapshot/snapshot.h"
#include "snapshot/traffic.h"
#include "tcp/tcp_types.h"

struct tls_stream;
struct tls_stats;
struct tls_worker;

#define PROXY_MAX_TRIES 3           /* real servers tried for one client connection */
#define PROXY_STALL_RETRY_MS 5      /* retry after the stack's buffer cap refused data */

enum proxy_sess_state {
    PROXY_FREE = 0,
    PROXY_HANDSHAKE,                /* client established, its TLS handshake under way */
    PROXY_CONNECTING,               /* client established, backend SYN sent */
    PROXY_SPLICING,                 /* both established (or closing) */
    PROXY_HTTP,                     /* HTTP mode, message by message (proxy_http.c) */
};

struct proxy_http;
struct proxy_mode;
struct http_head;

/* One proxied connection: the client half and the backend half. */
struct proxy_sess {
    struct tcp_conn *cli;           /* NULL once the client half is gone */
    struct tcp_conn *srv;           /* NULL before connect and once gone */
    struct proxy *px;
    uint8_t state;                  /* enum proxy_sess_state */
    uint8_t flags;                  /* PROXY_SF_* */
    uint8_t n_tried;
    uint8_t pad;
    uint16_t vs_slot;
    uint16_t rs_idx;                /* counter index of the current real server */
    uint32_t rs_id;
    uint32_t persist_ref;           /* with PROXY_SF_PERSIST: the entry held (persist_hold) */
    uint32_t client_ip;             /* network order */
    uint32_t vip;                   /* network order */
    uint16_t vport;                 /* host order */
    uint16_t tried[PROXY_MAX_TRIES];    /* counter indexes already tried */
    struct twheel_timer timer;      /* connect deadline, or stall retry */
    struct rte_mbuf *stall[2];      /* refused by tcp_send (buffer cap), sent first */
    struct mbufq held[2];           /* data of a side that closed, not yet passed on */
                                    /* (both charged to the stack: tcp_buf_charge) */
    struct tls_stream *tls[2];      /* TLS over the client [0] / server [1] half, or NULL */
    struct proxy_http *http;        /* HTTP mode: the message state; NULL in TCP mode */
    struct proxy_sess_log log;      /* the traffic log record in the making */
    struct proxy_sess *next_free;
};

/* Session flags. Direction 0 is client -> server, 1 is server -> client. */
#define PROXY_SF_EOF0       (1u << 0)   /* client's FIN taken */
#define PROXY_SF_EOF1       (1u << 1)   /* server's FIN taken */
#define PROXY_SF_SHUT0      (1u << 2)   /* FIN queued to the server */
#define PROXY_SF_SHUT1      (1u << 3)   /* FIN queued to the client */
#define PROXY_SF_COUNTED    (1u << 4)   /* counted active on rs_idx */
#define PROXY_SF_PERSIST    (1u << 5)   /* holds a reference on the persistence entry */
#define PROXY_SF_BOUND      (1u << 6)   /* server came from an existing persistence entry */

/*
 * Layer 7 proxy counters of one worker; every outcome and fallback of the
 * proxy has one. Names are the API's (control/stats.c prints them with a "proxy_"
 * prefix, doc/api.md lists them).
 */
#define PROXY_STATS(X)                                                         \
    X(accepted)             /* client connections established on a VIP */      \
    X(sessions_closed)      /* sessions ended, whatever the reason */          \
    X(no_service)           /* the service went away before the accept */    \
    X(refused_pool)         /* no free session: client reset */              \
    X(no_server)            /* no eligible real server: client reset */      \
    X(connect_attempts)                                                        \
    X(connected)            /* backend connections established */            \
    X(connect_refused)      /* RST from the real server */                     \
    X(connect_timeouts)     /* layer7.connect_timeout_ms (or SYN retries) */   \
    X(connect_errors)       /* no control block or local port */             \
    X(retries)              /* next real server tried after a failure */     \
    X(retry_fallbacks)      /* the scheduler named a server already tried */ \
    X(connect_failed_reset) /* client reset: bound by persistence, or out of tries */ \
    X(persist_hits)                                                            \
    X(persist_moved)        /* persistent server drained, halted, down, full */ \
    X(persist_created)                                                         \
    X(persist_full)                                                            \
    X(client_resets)        /* RST from the client, passed to the server */   \
    X(server_resets)        /* RST from the server, passed to the client */   \
    X(client_timeouts)      /* layer7.client_timeout_s ran out (or retries) */ \
    X(server_timeouts)      /* layer7.server_timeout_s ran out (or retries) */ \
    X(halted)               /* sessions closed: their real server was halted */ \
    X(fin_client)           /* client half-close passed to the server */     \
    X(fin_server)           /* server half-close passed to the client */     \
    X(backpressure)         /* a side had data, the other no send space */   \
    X(send_stalls)          /* tcp_send refused (stack buffer cap): retried */ \
    X(held_after_close)     /* data taken from a side that closed before the other drained it */ \
    X(discarded_bytes)      /* data for a side that is gone */               \
    X(listen_failed)        /* a (VIP, port) the stack could not listen on */ \
    X(http_pool_full)       /* HTTP mode: no free message state: client reset */ \
    X(http_requests)        /* HTTP mode: requests read */                   \
    X(http_backend_reused)  /* a request sent on a kept-alive backend connection */ \
    X(http_alloc_failed)    /* no mbuf for a rewritten header: 503 or reset */ \
    X(log_records)          /* traffic log records put in the log ring */     \
    X(log_lost)             /* traffic log records lost: the log ring was full */

struct proxy_stats {
#define PROXY_STAT_FIELD(n) uint64_t n;
    PROXY_STATS(PROXY_STAT_FIELD)
#undef PROXY_STAT_FIELD
};

/*
 * HTTP-mode counters of one worker by service slot and by real-server counter index
 * (control/stats.c adds them up; doc/api.md lists them). Responses by class count
 * what went to the clients, lbd's own error responses included (vs) or what the real
 * server sent (rs); errors count lbd's own answers and aborts by reason.
 */
#define PROXY_HTTP_VS_STATS(X)                                                 \
    X(requests)                                                                \
    X(responses_1xx) X(responses_2xx) X(responses_3xx) X(responses_4xx)       \
    X(responses_5xx)                                                           \
    X(err_400)              /* malformed or smuggling-shaped request */       \
    X(err_408)              /* request header not in within the time */      \
    X(err_431)              /* request header block too large */            \
    X(err_502)              /* server closed or sent garbage before its status line */ \
    X(err_503)              /* no usable server, or connect failed after retries */ \
    X(err_504)              /* server timeout before its status line */      \
    X(aborted)              /* a message cut short: the connections reset */ \
    X(idle_closed)          /* kept-alive client connections closed idle */   \
    X(upgrades)             /* Connection: Upgrade, switched to a tunnel */  \
    X(cookie_inserted)      /* Set-Cookie added to a response */             \
    X(cookie_hits)          /* a request sent where its cookie said */       \
    X(cookie_replaced)      /* a cookie for a server not usable, expired or forged */

struct proxy_http_vs_counters {
#define PROXY_STAT_FIELD(n) uint64_t n;
    PROXY_HTTP_VS_STATS(PROXY_STAT_FIELD)
#undef PROXY_STAT_FIELD
};

struct proxy_http_rs_counters {
    uint64_t requests;
    uint64_t responses[5];          /* 1xx .. 5xx */
};

struct proxy_http_stats {
    struct proxy_http_vs_counters vs[CFG_MAX_VS];
    struct proxy_http_rs_counters rs[SNAP_RS_IDS];
};

struct proxy_conf {
    struct tcp_stack *tcp;          /* the worker's stack */
    struct twheel *wheel;           /* the worker's wheel (the stack's clock) */
    struct persist_table *persist;  /* the worker's persistence table (shared with L4) */
    struct l4 *l4;                  /* the worker's Layer 4 state: HA sync of persistence
                                       entries (l4/l4_sync.h); NULL: none */
    struct sched_state *sched;      /* the worker's scheduler state (shared with L4) */
    struct proxy_stats *stats;      /* the worker's proxy counters */
    struct traffic_stats *traffic;  /* the worker's counters by service and server */
    struct proxy_http_stats *http;  /* HTTP-mode counters (NULL: the proxy keeps its own) */
    struct rte_mempool *pool;       /* for splitting held data, and rewritten headers */
    uint32_t max_sessions;
    int socket_id;
    struct tls_stats *tls_stats;    /* the worker's TLS counters (NULL: the proxy's own) */
    struct rte_ring *log_ring;      /* traffic log records (struct txlog_rec), single
                                       producer: this worker; NULL: no traffic log */
    uint8_t worker_id;              /* in the log records */
};

/* A (VIP, port) the proxy listens on. */
struct proxy_listener {
    uint32_t ip;
    uint16_t port;
};

struct proxy {
    struct proxy_conf conf;
    const struct snapshot *snap;    /* the worker's current snapshot */
    struct proxy_sess *sessions;    /* max_sessions */
    struct proxy_sess *free_list;
    uint32_t n_active;
    uint32_t n_listeners;
    uint32_t max_listeners;
    struct proxy_listener *listeners;
    struct tls_worker *tls;         /* TLS streams of this worker (tls_stream.h) */
    /* HTTP mode */
    const struct proxy_mode *http_mode; /* its entry points (proxy_http.h) */
    struct proxy_http *http_pool;   /* max_sessions message states */
    struct proxy_http *http_free;
    bool own_http_stats;            /* conf.http allocated here */
    char *http_in;                  /* scratch: a header block as it came */
    char *http_out;                 /* scratch: the block as it goes on */
    struct http_head *http_head;    /* scratch: what the parser found */
};

/* Slow path (proxy_setup.c) */

/*
 * Start-up: a proxy for one worker, with every session preallocated. Returns NULL and
 * fills err on failure. The snapshot comes with proxy_snapshot_changed.
 */
struct proxy *proxy_create(const struct proxy_conf *conf, char *err, size_t errlen);

/* Frees px; sessions still open are dropped without a word to the peers. Stack must
 * be freed after (or the connections' handlers point into freed memory). */
void proxy_free(struct proxy *px);

/*
 * Owning worker, when it sees a new snapshot s (s may be NULL): listens on every
 * (VIP, port) of the layer-7 TCP and HTTP-mode services of s and stops listening on those that
 * are gone (their established sessions carry on), and closes the sessions whose real
 * server is now halted. Bounded by the number of listeners and sessions.
 */
void proxy_snapshot_changed(struct proxy *px, const struct snapshot *s);

/* Hot path (proxy.c) */

/* Owning worker, every loop iteration: the snapshot new connections are made with. */
static inline void proxy_set_snapshot(struct proxy *px, const struct snapshot *s)
{
    px->snap = s;
}

/*
 * The listener's event handler (tcp_event_fn, arg = the proxy): a client's connection
 * to a VIP is established; starts its session.
 */
void proxy_on_accept(struct tcp_conn *c, enum tcp_event ev, void *arg);

/*
 * Owning worker. The real server for a new connection f to vs, or NULL: the client's
 * persistent one when it may take connections (then *bound = 1), else the
 * scheduler's; never one of tried[0..n_tried). *pe: the client's persistence entry,
 * if any. Exposed for tests.
 */
const struct snap_rs *proxy_choose(struct proxy *px, const struct snap_vs *vs,
                                   const struct sched_flow *f, const uint16_t *tried,
                                   unsigned n_tried, struct persist_entry **pe, int *bound);

/* Owning worker: resets every session whose real server is halted in px->snap
 * (slow path: walks the pool). Returns how many. */
uint32_t proxy_close_halted(struct proxy *px);

/* Sessions in use. */
static inline uint32_t proxy_active(const struct proxy *px)
{
    return px->n_active;
}

#endif
