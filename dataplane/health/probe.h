/*
 * probe: the worker's side of health checks.
 *
 * The control core schedules checks and keeps their state; a worker only sends what
 * it is told (an ICMP echo request from the self IP of the port that reaches the
 * target) and reports what comes back (echo replies to our pings, TCP outcomes)
 * through its control ring. An echo identifier encodes its worker (id % n_workers),
 * so a reply comes back to the worker that sent the request, wherever it arrives.
 *
 * Echo replies are matched here, not on the control core: each ping in flight holds
 * a slot of a bounded table (PROBE_ECHO_SLOTS, each with its deadline) with the
 * server's address, our source address, the identifier, the sequence number and a
 * 64-bit token drawn for it (SipHash-2-4 of a counter under a key drawn from the
 * kernel at set-up), which the request carries in its payload with the slot's index.
 * Only a reply that matches a slot in every field, before its deadline, becomes a
 * message to the control core, and it frees the slot: a reply that matches nothing
 * (a stray or forged reply, a wrong token, source or identifier, a replay) is
 * dropped as echo_unmatched, one past its deadline as echo_late, and neither reaches
 * the shared ring. A result the full ring refuses is counted (results_lost); the
 * control core then sees the check time out at its own deadline.
 */
#ifndef LBD_PROBE_H
#define LBD_PROBE_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "base/ctl_msg.h"
#include "base/lcore_ctx.h"
#include "base/siphash.h"
#include "base/twheel.h"
#include "net/ip_out.h"
#include "net/pkt_parse.h"

#define PROBE_ECHO_PAYLOAD 16   /* bytes of payload in a ping check: "lbd-hc", the
                                 * slot (2 bytes, network order), the token (8) */
#define PROBE_ECHO_SLOTS 256    /* ping checks in flight per worker */
#define PROBE_ECHO_TIMEOUT_MS 1000  /* a ping's deadline when the message gives none */
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
    uint64_t echo_replies_in;       /* replies that matched a ping in flight */
    uint64_t results_lost;          /* results and replies the full control ring refused */
};

/* A ping in flight: what its reply must match. */
struct probe_echo {
    uint64_t deadline_ms;       /* 0: the slot is free */
    uint64_t token;             /* carried in the request's payload */
    uint32_t dst;               /* the server pinged: the reply's source */
    uint32_t src;               /* our address it was sent from: the reply's destination */
    uint16_t id;
    uint16_t seq;
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
    struct siphash_key token_key;       /* echo tokens: drawn at set-up */
    uint64_t token_count;               /* tokens drawn so far */
    uint32_t echo_cursor;               /* where the search for a free slot starts */
    struct probe_echo echo[PROBE_ECHO_SLOTS];
};

/* Set-up (draws the token key from the kernel). Returns 0, or LBD_EIO. */
int probes_init(struct probes *pr, struct lcore_ctx *lc, struct ip_out *io,
                struct tcp_stack *tcp, struct probe_stats *stats);

/*
 * Worker: carries out one control message addressed to it (CTL_MSG_PROBE_*): a ping
 * sends an echo request; a connect check opens a TCP connection from the self IP to
 * the server (an http check then sends GET path and reads the status line) and
 * reports ok, refused (reset), timeout, or bad_status, then closes cleanly.
 */
void probe_handle_ctl(struct probes *pr, const struct snapshot *s, const struct ctl_msg *msg);

/*
 * Worker: m is an ICMP echo reply to one of our addresses (parsed into *pi). Its
 * checksum is checked as its port flagged it (rx_csum.h). Reports it to the control
 * core when it answers a ping in flight (and frees that slot); drops and counts it
 * otherwise (bad_icmp_checksum, echo_unmatched, echo_late). Takes m.
 */
void probe_echo_reply(struct probes *pr, struct rte_mbuf *m, const uint8_t *frame,
                      const struct pkt_info *pi);

/*
 * Worker: starts a ping src -> dst (id, seq) that must be answered within timeout_ms:
 * takes a slot, draws its token, and returns the request (an mbuf of the lcore's
 * pool, data at the IPv4 header, checksums final) for the caller to send. NULL, with
 * nothing kept, when every slot holds a ping still in flight (probe_failed) or the
 * pool is empty (mbuf_alloc_failed).
 */
struct rte_mbuf *probe_echo_request(struct probes *pr, uint32_t src, uint32_t dst, uint16_t id,
                                    uint16_t seq, uint32_t timeout_ms);

/*
 * Builds an ICMP echo request src -> dst (id, seq) in m, which must be empty: the
 * IPv4 header and the message whose payload names the slot and carries the token,
 * checksums final, data at the IPv4 header. Returns 0, or LBD_ENOMEM when m has no
 * room.
 */
int probe_build_echo(struct rte_mbuf *m, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq,
                     uint16_t slot, uint64_t token);

#endif
