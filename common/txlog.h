/*
 * txlog: the traffic log's record, one per proxied connection (Layer 7 TCP mode), per
 * request (HTTP mode) or per Layer 4 connection, and its text form.
 *
 * A worker fills a record by value at the end of a connection or request and puts it
 * in its own log ring (dataplane/proxy/proxy_log.h, dataplane/l4/l4_log.h); the
 * control core takes records
 * out, formats them with txlog_format and sends the lines to syslog and to the tail
 * the API serves (control/txlog_sink.h). The record is fixed-size, holds no pointer,
 * and is defined here, once, for both sides. Nothing here needs DPDK.
 */
#ifndef LBD_TXLOG_H
#define LBD_TXLOG_H

#include <stddef.h>
#include <stdint.h>

#define TXLOG_T_NONE UINT32_MAX     /* a timing that did not happen (printed "-") */
#define TXLOG_REQ_MAX 70            /* the request line kept, truncated to this */

/* How a connection or request ended; the first cause seen is the one logged. */
enum txlog_end {
    TXLOG_END_NONE = 0,
    TXLOG_END_DONE,                 /* HTTP: the request and its response went whole */
    TXLOG_END_CLIENT_CLOSE,         /* the client closed (FIN) first */
    TXLOG_END_SERVER_CLOSE,         /* the real server closed (FIN) first */
    TXLOG_END_CLIENT_RESET,
    TXLOG_END_SERVER_RESET,
    TXLOG_END_CLIENT_TIMEOUT,       /* layer7.client_timeout_s, TLS handshake, HTTP 408 */
    TXLOG_END_SERVER_TIMEOUT,       /* layer7.server_timeout_s */
    TXLOG_END_CONNECT_TIMEOUT,      /* no real server answered within connect_timeout_ms */
    TXLOG_END_CONNECT_REFUSED,      /* the (last) real server tried refused */
    TXLOG_END_NO_SERVER,            /* no eligible real server */
    TXLOG_END_HALT,                 /* the real server was halted */
    TXLOG_END_BAD_REQUEST,          /* HTTP: 400, 431 */
    TXLOG_END_ABORTED,              /* HTTP: a message cut short; both sides reset */
    TXLOG_END_ERROR,                /* lbd could not go on (no buffer, service gone) */
    TXLOG_END_IDLE_TIMEOUT,         /* layer 4: the entry expired idle (UDP, established) */
    TXLOG_END_SYNC_REMOVED,         /* layer 4: ended by the HA peer's sync record */
    TXLOG_END_MAX
};

enum txlog_mode {
    TXLOG_MODE_TCP = 0,             /* layer 7 TCP mode */
    TXLOG_MODE_HTTP,                /* layer 7 HTTP mode */
    TXLOG_MODE_L4_TCP,              /* layer 4, a TCP connection */
    TXLOG_MODE_L4_UDP,              /* layer 4, a UDP flow */
};

static inline int txlog_mode_l4(unsigned mode)
{
    return mode == TXLOG_MODE_L4_TCP || mode == TXLOG_MODE_L4_UDP;
}

/*
 * One log record: 128 bytes, by value through an rte_ring of elements. A layer 4
 * record (TXLOG_MODE_L4_*) has no bytes, connect or first-byte time, status or
 * request: its entry counts packets, not bytes (dataplane/l4/conn.h).
 */
struct txlog_rec {
    uint64_t bytes_in;              /* client -> server payload */
    uint64_t bytes_out;             /* server -> client payload */
    uint32_t client_ip;             /* network order */
    uint32_t vip;                   /* network order */
    uint32_t rs_ip;                 /* network order; 0: no real server */
    uint32_t rs_id;                 /* the real server's stable id (labels: control core) */
    union {
        struct {                    /* layer 7 */
            uint32_t t_connect_ms;  /* from the start to the backend established */
            uint32_t t_first_ms;    /* from the start to the first byte from the server */
        };
        uint32_t packets[2];        /* layer 4: client -> server, server -> client */
    };
    uint32_t t_total_ms;            /* from the start to the end (layer 4: to the last
                                       packet) */
    uint16_t client_port;           /* host order */
    uint16_t vport;                 /* host order */
    uint16_t rs_port;               /* host order */
    uint16_t vs_slot;               /* the service's counter slot (labels: control core) */
    uint16_t status;                /* HTTP status sent to the client; 0: none */
    uint8_t end;                    /* enum txlog_end */
    uint8_t mode;                   /* enum txlog_mode */
    uint8_t worker;
    uint8_t req_len;                /* bytes of req used */
    char req[TXLOG_REQ_MAX];        /* HTTP: the request line (no CRLF), truncated */
};

_Static_assert(sizeof(struct txlog_rec) == 128, "txlog_rec is a ring element");

/* "done", "client_close", ...; "-" for TXLOG_END_NONE or out of range. */
const char *txlog_end_name(unsigned end);

#define TXLOG_LINE_MAX 512

/*
 * The line for r (no newline), into buf (TXLOG_LINE_MAX bytes is always enough):
 *   client=IP:PORT vip=IP:PORT vs=LABEL rs=LABEL server=IP:PORT mode=tcp|http
 *   status=N|- connect_ms=N|- first_byte_ms=N|- total_ms=N bytes_in=N bytes_out=N
 *   end=REASON worker=N [req="LINE"]
 * or, for a layer 4 record:
 *   client=IP:PORT vip=IP:PORT vs=LABEL rs=LABEL server=IP:PORT mode=l4 proto=tcp|udp
 *   total_ms=N packets_in=N packets_out=N end=REASON worker=N
 * vs and rs are the labels the caller found for r's slot and id ("-" when NULL: the
 * service or server is gone). Bytes of the request line outside printable ASCII, and
 * '"' and '\', are written as \xHH. Returns the length.
 */
size_t txlog_format(const struct txlog_rec *r, const char *vs, const char *rs, char *buf,
                    size_t len);

#endif
