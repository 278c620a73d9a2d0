/*
 * l4: Layer 4 NAT on a worker (DESIGN.md section 2): the client's packets to a
 * service are rewritten to the real server, the real server's answers back to the
 * VIP, through the worker's connection table, with source-IP persistence and the
 * service's scheduler for new connections.
 *
 * Both directions of a connection and every connection of a client meet on the
 * client's worker (owner.h), so everything here is the worker's own: no locks, no
 * look-up on another core. Hot path: no allocation, no logging; every outcome is a
 * counter or a drop reason. The packets leave through ip_out (routes, neighbours).
 * Checksums are updated incrementally (nat.h); a packet whose port left its L4
 * checksum partial (virtio-net, rx_csum.h) has it made final first, so that the real
 * server and the client always receive a correct one.
 *
 * State: struct l4, one per worker, with its tables; everything it needs from the
 * worker (clock, wheel, drops, transmit) comes through the lcore context.
 */
#ifndef LBD_L4_H
#define LBD_L4_H

#include <stdbool.h>

#include <rte_mbuf.h>

#include "base/lcore_ctx.h"
#include "l4/conn.h"
#include "l4/persist.h"
#include "l4/scheduler.h"
#include "net/forward.h"
#include "net/ip_out.h"
#include "net/pkt_parse.h"
#include "snapshot/snapshot.h"
#include "snapshot/traffic.h"

/* Counted by the Layer 4 path; the API names them with an "l4_" prefix. */
struct l4_stats {
    uint64_t halt_resets;           /* RSTs sent for connections of halted servers */
    uint64_t halt_rst_retries;      /* of which re-sent to a client on the entry's timer */
    uint64_t forward_packets;       /* client -> real server, rewritten */
    uint64_t reverse_packets;       /* real server -> client, rewritten */
    uint64_t reverse_reassembled;   /* of which datagrams reassembled from fragments */
    uint64_t conns_created;
    uint64_t conns_ended;           /* expired, closed by halt, ended by a sync record */
    uint64_t conns_midstream;       /* TCP entries created by a packet without SYN */
    uint64_t conns_halted;          /* closed because their real server is halted */
    uint64_t persist_hits;          /* new connection sent to the persistent server */
    uint64_t persist_moved;         /* persistent server drained, halted or gone */
    uint64_t persist_created;
    uint64_t persist_full;          /* no room: the connection went on without */
    uint64_t nh_misses;             /* next hop not cached and not resolved: ip_out asks */
    uint64_t icmp_to_client;        /* ICMP errors about a packet sent to a real server,
                                       translated and sent to the client from the VIP */
    uint64_t icmp_to_server;        /* ICMP errors to a VIP about an answer sent to a
                                       client, translated and sent to the real server */
    uint64_t mss_clamped;           /* SYNs whose MSS option was lowered to the ports' */
    /* HA state sync (l4_sync.h) */
    uint64_t sync_sent;             /* records put on the ring to the control core */
    uint64_t sync_ring_full;        /* records lost to a full ring */
    uint64_t sync_installed;        /* records installed (connections, persistence) */
    uint64_t sync_removed;          /* connections ended by a record */
    uint64_t sync_no_service;       /* records naming no service or real server of ours */
    uint64_t sync_failed;           /* records that did not fit (table full, collision) */
    /* SYN proxy (synproxy.h) */
    uint64_t synproxy_cookies_sent;   /* SYNs answered with a cookie SYN-ACK */
    uint64_t synproxy_cookies_ok;     /* ACKs that returned a valid cookie: opened */
    uint64_t synproxy_cookies_bad;    /* ACKs checked as a cookie that was not one */
    uint64_t synproxy_syn_resent;     /* SYNs to a real server sent again */
    uint64_t synproxy_established;    /* real servers that answered with a SYN-ACK */
    uint64_t synproxy_refused;        /* real servers that answered with an RST */
    uint64_t synproxy_held;           /* client data held until the real server answered */
    uint64_t synproxy_early_drops;    /* client segments dropped while it had not */
    uint64_t synproxy_rescaled;       /* windows rewritten to the other side's scale */
    /* traffic log (l4_log.h) */
    uint64_t log_records;           /* records put in the worker's log ring */
    uint64_t log_lost;              /* records lost: the log ring was full */
};

/* A client of a halted server is sent its RST again this many times, this far apart
 * (more than Linux's 500 ms between challenge ACKs of one socket). */
#define L4_HALT_TRIES 3
#define L4_HALT_RETRY_MS 600

struct synproxy;

struct l4 {
    struct lcore_ctx *lc;
    struct ip_out *io;
    struct forward *fw;             /* ICMP time exceeded for answers whose TTL ran out */
    struct conn_table *conns;       /* connections of this worker's clients */
    struct persist_table *persist;  /* source-IP persistence of the same clients */
    struct sched_state *sched;      /* wrr positions, max_conns shares */
    struct l4_stats *stats;
    struct synproxy *sp;            /* the SYN proxy's keys and per-connection state */
    struct rte_ring *log_ring;      /* traffic log records (struct txlog_rec), single
                                       producer (this worker, shared with its proxy);
                                       NULL: none */
    /* A bulk resync in progress (l4_sync.h): phase 0 none, 1 connections, 2
     * persistence, 3 the end marker; pos the next pool slot. */
    uint8_t bulk_phase;
    uint32_t bulk_pos;
};

/*
 * Set-up, before the worker runs: the Layer 4 tables (max_conns connections and as
 * many persistence entries, on NUMA socket `socket`, named after lc->id) on lc's
 * wheel. Returns 0 or LBD_ENOMEM with nothing left allocated. l4_free undoes it.
 */
int l4_init(struct l4 *l4, struct lcore_ctx *lc, struct ip_out *io, struct forward *fw,
            struct l4_stats *stats, uint32_t max_conns, int socket);
void l4_free(struct l4 *l4);

/*
 * The connection a client's TCP or UDP packet (not a fragment) to a VIP belongs to,
 * or NULL. A connection lives on the client's worker only, so a hit also says that
 * this worker owns the packet: the dispatcher asks this first and, on a hit, skips
 * the service look-up and the owner computation.
 */
struct conn *l4_client_conn(struct l4 *l4, const struct pkt_info *pi);

/*
 * A client's TCP or UDP packet (not a fragment) to a Layer 4 service. vs: the
 * service, or NULL when the caller found the connection c (l4_client_conn) and did
 * not look the service up; c: the connection, or NULL to look it up here. Takes
 * ownership of m: sent to the real server, or dropped and counted.
 */
void l4_from_client(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi, const struct snap_vs *vs, struct conn *c);

/*
 * A TCP or UDP packet (not a fragment) that is not addressed to us. When it is a real
 * server's answer on a connection of this worker, takes ownership (sent to the client
 * from the VIP, or dropped and counted) and returns true; otherwise returns false and
 * m is the caller's (to be routed).
 */
bool l4_from_server(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi);

/*
 * The connection key of a TCP or UDP packet (not a fragment) as its addresses sit in
 * it: a client's packet finds its connection forward, a real server's reverse. For the
 * dispatcher's bulk look-up (conn_lookup_bulk) over a burst.
 */
static inline void l4_pkt_key(const struct pkt_info *pi, struct conn_key *k)
{
    *k = (struct conn_key){
        .src_ip = pi->src_ip,
        .dst_ip = pi->dst_ip,
        .src_port = rte_cpu_to_be_16(pi->src_port),
        .dst_port = rte_cpu_to_be_16(pi->dst_port),
        .proto = pi->ip_proto,
    };
}

/*
 * Sends a TCP segment src:sport -> dst:dport (network order) with seq, ack (host
 * order), flags, window and opt_len bytes of options, built in a new mbuf, checksums
 * complete, through ip_out. False when no mbuf (counted by lcore_alloc). Slow path:
 * halt's resets and the SYN proxy's own segments (synproxy.c).
 */
bool l4_send_tcp(struct l4 *l4, const struct snapshot *s, uint32_t src, uint16_t sport,
                 uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                 uint16_t win, const uint8_t *opts, uint32_t opt_len);

/*
 * l4_from_server for a packet whose connection c the caller found (its reverse key,
 * l4_pkt_key): takes ownership of m.
 */
void l4_server_conn(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi, struct conn *c);

/*
 * An ICMP error (pkt_icmp_is_error, pi->icmp_inner_dst set) not addressed to us. When
 * it quotes a packet this worker sent a real server on one of its connections
 * (client -> real server: from the real server itself, or a router beyond it), takes
 * ownership: the quote becomes client -> VIP:port, the error comes from the VIP
 * (outer source), TTL decremented, every checksum kept right, sent to the client
 * (returns true). A fragmentation-needed error keeps its next-hop MTU, so the
 * client's path MTU discovery works through the NAT. Otherwise returns false and m is
 * the caller's (routed as it is: an error about a flow lbd only routes).
 */
bool l4_icmp_from_server(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                         const struct pkt_info *pi);

/*
 * An ICMP error addressed to a VIP (from the client, or a router on its side). When
 * it quotes an answer this worker sent the client on one of its connections
 * (VIP:port -> client), the quote becomes real server -> client, the error goes to
 * the real server (outer destination), checksums kept right, and is sent. Otherwise
 * dropped and counted: l4_icmp_no_conn (no connection), icmp_error_invalid,
 * bad_icmp_checksum. Takes ownership of m.
 */
void l4_icmp_to_vip(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi);

/*
 * The connection-table delete hook (conn_table_on_delete, arg = the struct l4): counts
 * the end, tells the HA peer, logs the connection (l4_log.h), drops its persistence
 * reference.
 */
void l4_conn_deleted(const struct conn *c, uint64_t now, enum conn_end why, void *arg);

/* Worker, when it sees a new snapshot: the timeouts by state from s->l4. */
void l4_snapshot_changed(struct l4 *l4, const struct snapshot *s);

#endif
