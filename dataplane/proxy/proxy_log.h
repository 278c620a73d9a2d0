/*
 * proxy_log: the traffic log of the Layer 7 proxy (common/txlog.h): what a session
 * notes as it goes (start, connect and first-byte times, bytes each way, status, how
 * it ended) and the record it puts in the worker's log ring when a connection (TCP
 * mode) or a request (HTTP mode) of a service with "log" is over.
 *
 * Owning worker only; the ring is the worker's own (single producer, the control
 * core the single consumer). Hot path: the record is filled on the stack and copied
 * into the ring by value; a full ring is counted (proxy_stats.log_lost), never
 * waited for. No allocation, no syscall, no formatting here.
 */
#ifndef LBD_PROXY_LOG_H
#define LBD_PROXY_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "txlog.h"

struct proxy_sess;
struct rte_ring;

/* What one session notes for its log record; reset per request in HTTP mode. */
struct proxy_sess_log {
    uint64_t t0;                    /* the worker's clock (ms) when it started */
    uint64_t bytes[2];              /* payload moved, by direction (DIR_IN, DIR_OUT) */
    uint32_t rs_ip;                 /* the real server of this record; 0: none */
    uint32_t rs_id;
    uint16_t rs_port;
    uint16_t client_port;           /* host order; set at accept, kept across requests */
    uint32_t t_connect;             /* ms after t0; TXLOG_T_NONE: not (yet) */
    uint32_t t_first;               /* ms after t0: the first byte from the server */
    uint16_t status;                /* HTTP: the status the client got */
    uint8_t end;                    /* enum txlog_end: the first cause noted */
    uint8_t connect_fail;           /* enum txlog_end: why the last connect failed */
    uint8_t pending;                /* a record is due when this ends */
    uint8_t on;                     /* the service has "log" (set at accept) */
    uint8_t req_len;
    char req[TXLOG_REQ_MAX];        /* HTTP: the request line */
};

/*
 * Starts what s logs, at the worker's clock now: a connection (TCP mode, at accept)
 * or a request (HTTP mode, its header read; between requests, with due false, the
 * wait for the next). due: a record is due at the end (if the service logs: "on").
 */
void proxy_log_begin(struct proxy_sess *s, uint64_t now, bool due);

/* HTTP mode: the request line (line[0..len), CRLF excluded), truncated. */
void proxy_log_request(struct proxy_sess *s, const char *line, uint32_t len);

/* Notes why s ends unless a cause was noted already (the first one stays). */
static inline void proxy_log_end(struct proxy_sess_log *l, enum txlog_end why)
{
    if (l->end == TXLOG_END_NONE)
        l->end = (uint8_t)why;
}

/* The record's real server is rs, on port (host order). */
void proxy_log_server(struct proxy_sess *s, uint32_t ip, uint16_t port, uint32_t id);

/* The backend connection is up now (or, 0 ms, was up already: HTTP keep-alive). */
void proxy_log_connected(struct proxy_sess *s, uint64_t now);

/* len payload bytes moved in direction d (0: to the server, 1: to the client). */
static inline void proxy_log_bytes(struct proxy_sess_log *l, int d, uint32_t len, uint64_t now)
{
    l->bytes[d] += len;
    if (d == 1 && l->t_first == TXLOG_T_NONE && len > 0)
        l->t_first = (uint32_t)(now - l->t0);
}

/*
 * If a record is due: fills it (now: the end) and puts it in the proxy's log ring,
 * counted as log_records, or as log_lost when the ring is full. Nothing is due after
 * (until the next proxy_log_begin). No end noted: "-".
 */
void proxy_log_emit(struct proxy_sess *s, uint64_t now);

#endif
