/*
 * probe: the worker's side of health checks.
 *
 * The control core schedules checks and keeps their state; a worker only sends what
 * it is told (an ICMP echo request from the self IP of the port that reaches the
 * target) and reports what comes back (echo replies to our addresses, TCP outcomes)
 * through its control ring. An echo identifier encodes its worker (id % n_workers),
 * so a reply comes back to the worker that sent the request, wherever it arrives.
 */
#ifndef LBD_PROBE_H
#define LBD_PROBE_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "base/ctl_msg.h"
#include "base/lcore_ctx.h"
#include "base/twheel.h"
#include "net/ip_out.h"
#include "net/pkt_parse.h"

#define PROBE_ECHO_PAYLOAD 16   /* bytes of payload in a ping check */
#define PROBE_TCP_SLOTS 64      /* connect / http checks in flight per worker */
#define PROBE_STATUS_MAX 16     /* bytes of an HTTP status line kept ("HTTP/1.1 200") */

struct snapshot;
struct tcp_conn;
struct tcp_stack;
struct probes;

/* Counted by the worker's side of health checks. */
struct probe_stats {
    uint64_t probes_sent;
    uint64_t probe_failed;          /* not sent: no route, no slot, no stack */
    uint64_t probes_ok;
    uint64_t echo_replies_in;
};

/* A connect or http check in flight on this worker's TCP stack. */
struct probe_tcp {
    struct twheel_timer timer;  /* the check's own deadline (first: container_of) */
    struct probes *set;         /* the worker's checks this slot belongs to */
    struct tcp_conn *c;         /* NULL: the slot is free */
    uint32_t id;                /* the control core's probe number */
    uint32_t ip;
    uint16_t port;
    uint16_t expect;            /* http: the status expected; 0 = a connect check */
    uint16_t vs_slot;           /* http: the service whose path is asked for */
    uint8_t got;
    char status[PROBE_STATUS_MAX];
};

/* One worker's checks: where they leave (ip_out, the TCP stack) and their slots. */
struct probes {
    struct lcore_ctx *lc;
    struct ip_out *io;
    struct tcp_stack *tcp;              /* NULL: connect and http checks fail */
    struct probe_stats *stats;
    struct probe_tcp slots[PROBE_TCP_SLOTS];
};

/* Set-up. */
void probes_init(struct probes *pr, struct lcore_ctx *lc, struct ip_out *io,
                 struct tcp_stack *tcp, struct probe_stats *stats);

/*
 * Worker: carries out one control message addressed to it (CTL_MSG_PROBE_*): a ping
 * sends an echo request; a connect check opens a TCP connection from the self IP to
 * the server (an http check then sends GET path and reads the status line) and
 * reports ok, refused (reset), timeout, or bad_status, then closes cleanly.
 */
void probe_handle_ctl(struct probes *pr, const struct snapshot *s, const struct ctl_msg *msg);

/*
 * Worker: m is an ICMP echo reply to one of our addresses (parsed into *pi); reports
 * it to the control core and frees m. Its checksum is checked as its port flagged it
 * (rx_csum.h): a bad one is dropped as bad_icmp_checksum.
 */
void probe_echo_reply(struct probes *pr, struct rte_mbuf *m, const uint8_t *frame,
                      const struct pkt_info *pi);

/*
 * Builds an ICMP echo request src -> dst (id, seq) in m, which must be empty: the
 * IPv4 header and the message, checksums final, data at the IPv4 header. Returns 0,
 * or LBD_ENOMEM when m has no room.
 */
int probe_build_echo(struct rte_mbuf *m, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq);

#endif
