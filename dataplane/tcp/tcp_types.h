/*
 * tcp_types: the types of the user-space TCP stack (DESIGN.md section 4).
 *
 * Types only: the connection control block, the listener, the per-worker stack and
 * its counters. tcp.h is the API; tcp_input.c, tcp_timeout.c, tcp_entry.c,
 * tcp_output.c, tcp_tcb.c, tcp_timer.c, tcp_sack.c and tcp_syncookie.c implement it
 * (doc/tcp.md, "Layers inside dataplane/tcp/"). Everything here belongs to one
 * worker and is touched by that worker only.
 */
#ifndef LBD_TCP_TYPES_H
#define LBD_TCP_TYPES_H

#include <stdbool.h>
#include <stdint.h>

struct rte_ring;

#include "base/idx_list.h"
#include "base/mbufq.h"
#include "base/siphash.h"
#include "base/twheel.h"

struct rte_hash;
struct rte_mbuf;
struct rte_mempool;

/* Sequence-number arithmetic modulo 2^32 (RFC 9293 section 3.4). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

#define TCP_OOO_MAX 32          /* out-of-order runs (holes + 1) held per connection */
#define TCP_MAX_WSCALE 14
#define TCP_SACK_MAX 8          /* SACKed ranges a sender remembers per connection */
#define TCP_SACK_BLOCKS 4       /* SACK blocks per segment we send (40 option bytes) */
#define TCP_SACK_BLOCKS_TS 3    /* ... beside the Timestamps option (12 + 28 bytes) */
#define TCP_TS_OPTLEN 12        /* NOP, NOP, Timestamps (RFC 7323 appendix A) */
#define TCP_PAWS_IDLE_MS (24ull * 86400 * 1000) /* RFC 7323 5.5: TS.Recent invalid after */
#define TCP_DUPTHRESH 3         /* RFC 5681 / RFC 6675 DupThresh */
#define TCP_PTO_MIN_MS 50       /* floor of the loss probe timeout: above a Linux
                                   receiver's 40 ms delayed ACK, so that an ACK held
                                   back for an odd last segment rarely draws a probe */
#define TCP_PTO_WCDELACK_MS 200 /* RFC 8985 WCDelAckT: one segment in flight */
#define TCP_SYN_RESEND_MS 2     /* a SYN sent again this soon after the RST for an
                                   unacceptable ACK in SYN_SENT (tcp_input.c) */
#define TCP_RPTO_MIN_MS 10      /* floor of the recovery probe's timeout (2 SRTT): in
                                   recovery a Linux receiver ACKs at once, its SACK
                                   compression holding an ACK back 1 ms at most */
#define TCP_RACK_SEGS 256       /* transmit records per block (tcp_rack.h): the initial
                                   send buffer (256 KB) in full segments, with room for
                                   splits; a connection whose flight outgrows it moves to
                                   a large block (tcp_stack.rack_big_segs records) */
#define TCP_RACK_REO_PERSIST 16 /* RFC 8985 6.2: recoveries a grown reo_wnd lasts */

/* Congestion control algorithms (tcp_cc.h). */
enum tcp_cc {
    TCP_CC_CUBIC = 0,           /* RFC 9438, the default */
    TCP_CC_NEWRENO,             /* RFC 5681 / RFC 6582 */
    TCP_CC_MAX
};

enum tcp_state {
    TCP_CLOSED = 0,
    TCP_LISTEN,
    TCP_SYN_SENT,
    TCP_SYN_RECEIVED,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT_1,
    TCP_FIN_WAIT_2,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_LAST_ACK,
    TCP_TIME_WAIT,
    TCP_STATE_MAX
};

/*
 * What a connection tells its user. Every connection handed to a user ends with
 * exactly one terminal event (CLOSED, RESET or TIMEOUT) unless the user closed or
 * aborted it first; after a terminal event the handle is no longer valid.
 */
enum tcp_event {
    TCP_EV_ESTABLISHED = 0, /* handshake complete (active or passive open) */
    TCP_EV_READABLE,        /* data waits in the receive queue (tcp_recv) */
    TCP_EV_WRITABLE,        /* send space was freed (tcp_send) */
    TCP_EV_PEER_FIN,        /* the peer closed its direction; no more data will come */
    TCP_EV_RESET,           /* terminal: reset by the peer, or refused */
    TCP_EV_TIMEOUT,         /* terminal: retransmissions, connect or idle time ran out */
    TCP_EV_CLOSED,          /* terminal: both directions closed and acknowledged */
};

struct tcp_conn;
typedef void (*tcp_event_fn)(struct tcp_conn *c, enum tcp_event ev, void *arg);

/* Connection flags. */
#define TCPF_ACKNOW       (1u << 0)   /* send an ACK at the next output */
#define TCPF_DELACK       (1u << 1)   /* an ACK is being delayed */
#define TCPF_FIN_QUEUED   (1u << 2)   /* user shut down writing: FIN after the data */
#define TCPF_FIN_SENT     (1u << 3)   /* our FIN has a sequence number (snd_max covers it) */
#define TCPF_FIN_RCVD     (1u << 4)   /* the peer's FIN was taken in order */
#define TCPF_DETACHED     (1u << 5)   /* the user closed: no more events, data discarded */
#define TCPF_DEAD         (1u << 6)   /* freed; waits for the end of the current entry */
#define TCPF_WSCALE       (1u << 7)   /* both sides sent window scale */
#define TCPF_RECOVERY     (1u << 8)   /* in NewReno fast recovery */
#define TCPF_PERSIST      (1u << 9)   /* the rexmt timer is the persist timer */
#define TCPF_RTT          (1u << 10)  /* an RTT measurement is running (rtt_seq) */
#define TCPF_OUTQ         (1u << 11)  /* on the stack's pending output list */
#define TCPF_OOO_FIN      (1u << 12)  /* a FIN arrived out of order at ooo_fin */
#define TCPF_PASSIVE      (1u << 13)  /* created by a listener */
#define TCPF_NOTIFIED     (1u << 14)  /* the user has seen ESTABLISHED */
#define TCPF_IN_HASH      (1u << 15)
#define TCPF_HAD_SAMPLE   (1u << 16)  /* srtt/rttvar hold a measurement */
#define TCPF_SACK         (1u << 17)  /* both SYNs carried SACK-permitted (RFC 2018) */
#define TCPF_SACK_RECOVERY (1u << 18) /* the recovery in progress is RFC 6675's */
#define TCPF_PTO          (1u << 19)  /* the rexmt timer is the tail loss probe's (PTO) */
#define TCPF_TLP          (1u << 20)  /* a loss probe is out, up to tlp_end */
#define TCPF_TLP_RXT      (1u << 21)  /* ... and it was a retransmission */
#define TCPF_TS           (1u << 22)  /* both SYNs carried Timestamps (RFC 7323) */
#define TCPF_RCVBUF       (1u << 23)  /* rcvbuf counted in the stack's share (tcp_rcvbuf.h):
                                         established, until no more data can come */
#define TCPF_REO          (1u << 24)  /* the rexmt timer is RACK's reordering timer */
#define TCPF_RPTO         (1u << 25)  /* the rexmt timer is the recovery probe's, the RTO
                                         due at rto_at behind it */
#define TCPF_RPROBE       (1u << 26)  /* a recovery probe is out: no other until an ACK
                                         makes progress */
#define TCPF_SYN_RESENT   (1u << 27)  /* SYN_SENT: the SYN was sent again early, after the
                                         RST for an unacceptable ACK (once) */
#define TCPF_MORE         (1u << 28)  /* the user has more data at once (tcp_set_more): a
                                         tail of new data smaller than a segment waits */
#define TCPF_TXWAIT       (1u << 29)  /* parked until the ports' transmit backlog is gone
                                         (tcp_txwait.h) */

/*
 * Out-of-order data of one connection, taken from the stack's pool on demand. Each
 * entry is a run of contiguous bytes (the segments that arrived back to back, chained),
 * so the entries count the holes in the window, not its segments.
 */
struct tcp_ooo {
    uint16_t n;
    uint16_t n_recent;
    uint32_t recent[TCP_SACK_BLOCKS];   /* seqs of the latest segments, newest first:
                                           the order of the SACK blocks we send */
    struct {
        uint32_t seq;
        uint32_t len;
        struct rte_mbuf *m;     /* payload only, a chain of the run's segments */
        struct rte_mbuf *last;  /* m's last segment */
    } e[TCP_OOO_MAX];
};

/*
 * The transmit records of one connection's sent-but-unacknowledged segments (RACK,
 * RFC 8985; tcp_rack.h), and RACK's state that only matters while data is in
 * flight, in a block of the stack's pool taken while data is in flight. The records
 * are sorted by sequence, disjoint, in s[head .. head + n); a segment without room is
 * not recorded (rack_records_exhausted): RFC 6675 alone looks after it.
 */
#define TCP_RACKF_RXT    0x01   /* retransmitted at least once */
#define TCP_RACKF_SACKED 0x02   /* wholly SACKed */
#define TCP_RACKF_LOST   0x04   /* marked lost, not yet sent again */

struct tcp_rack_seg {
    uint32_t start, end;        /* [start, end) of sequence space */
    uint32_t xmit_us;           /* the stack's microsecond clock (mod 2^32) at the last
                                   (re)transmission */
    uint32_t order;             /* the connection's transmission count then: the order
                                   of sending between segments of the same time */
    uint32_t flags;             /* TCP_RACKF_* */
};

struct tcp_rack_q {
    uint32_t head, n;
    uint32_t next_order;        /* transmissions so far */
    uint32_t xmit_us;           /* RACK.xmit_ts (valid while has_xmit) */
    uint32_t xmit_order;        /* ... its segment's order */
    uint32_t end_seq;           /* RACK.end_seq */
    uint32_t rtt_us;            /* RACK.rtt */
    uint32_t min_rtt_us;        /* RACK.min_RTT (UINT32_MAX: none yet) */
    uint32_t min_rtt_s;         /* the stack's clock in seconds when it was taken */
    uint32_t srtt_us;           /* SRTT of RACK.rtt's samples, microseconds (7/8 EWMA;
                                   0: none yet): reo_wnd's cap where c->srtt's
                                   milliseconds are too coarse (a LAN) */
    uint32_t fack;              /* RACK.fack: highest end_seq delivered */
    uint32_t dsack_round;       /* RACK.dsack_round (valid while dsack_on) */
    uint8_t has_xmit;
    uint8_t rtt_fresh;          /* RACK.rtt taken by this ACK (for srtt_us) */
    uint8_t dsack_on;
    uint8_t undo_on;            /* an episode (recovery or RTO) may be undone */
    uint8_t undo_grace;         /* nothing in flight, the block kept for one more ACK */
    uint32_t undo_marker;       /* snd_una when the episode began */
    uint32_t undo_retrans;      /* bytes retransmitted in it not yet D-SACKed */
    uint32_t undo_cwnd;         /* cwnd, ssthresh and W_max before it */
    uint32_t undo_ssthresh;
    uint32_t undo_w_max;
    uint32_t cap;               /* records s has room for: TCP_RACK_SEGS, or a large
                                   block's rack_big_segs */
    struct tcp_rack_seg s[];
};

/* RACK's block of a connection (its state that outlives a flight, RFC 8985 section
 * 6.1, is in struct tcp_conn: rack_reo_wnd_mult, rack_reo_wnd_persist,
 * rack_reordering_seen). */
struct tcp_rack {
    struct tcp_rack_q *q;       /* NULL: nothing in flight recorded */
};

/* 4-tuple key of the connection table; addresses network order, ports host order. */
struct tcp_key {
    uint32_t laddr;
    uint32_t raddr;
    uint16_t lport;
    uint16_t rport;
};

/* A range of sequence space [start, end) the peer selectively acknowledged. */
struct tcp_sack_range {
    uint32_t start;
    uint32_t end;
};

/* The control block. Hot fields first. */
struct tcp_conn {
    struct tcp_key key;
    uint8_t state;              /* enum tcp_state */
    uint8_t snd_wscale;         /* peer's shift, applied to windows it sends */
    uint8_t rcv_wscale;         /* our shift, applied to windows we send */
    uint8_t dupacks;
    uint8_t rexmt_shift;        /* retransmissions of the current segment (backoff) */
    uint8_t probes;             /* persist probes no ACK has answered since */
    uint8_t persist_shift;      /* persist backoff (kept across answered probes) */
    uint8_t cc;                 /* enum tcp_cc */
    uint16_t mss;               /* send MSS */
    uint16_t rcv_space_ms;      /* receive auto-tuning (tcp_rcvbuf.c): when the measurement
                                   began, the stack's clock mod 2^16 (round trips are at
                                   most rto_max_ms, 60 s) */
    uint32_t flags;             /* TCPF_* */

    /* send sequence space */
    uint32_t iss;
    uint32_t snd_una;
    uint32_t snd_nxt;
    uint32_t snd_max;           /* highest sequence sent + 1 */
    uint32_t snd_wnd;           /* peer's window, scaled */
    uint32_t max_sndwnd;
    uint32_t snd_wl1;
    uint32_t snd_wl2;
    uint32_t cwnd;
    uint32_t ssthresh;
    uint32_t recover;           /* RFC 6582; RFC 6675 RecoveryPoint */
    uint32_t high_rxt;          /* RFC 6675 HighRxt: end of the highest retransmission */
    uint32_t tlp_end;           /* snd_max when the loss probe went out */
    uint32_t rxt_mark;          /* SACK recovery: snd_max when the segment at snd_una was
                                   retransmitted (at the latest); SACKs well beyond it
                                   say that retransmission was lost */

    /* Congestion control (tcp_cc.c), bytes and ms; cc is beside the scoreboard */
    uint32_t w_max;             /* CUBIC W_max: cwnd before the last reduction (RFC 9438) */
    uint32_t cwnd_prior;        /* cwnd at the last congestion event (W_est's alpha) */
    uint32_t sndbuf;            /* send buffer now (bytes): conf.sndbuf, grown by
                                   tcp_sndbuf_ack up to conf.sndbuf_max and the share */
    uint32_t rcvbuf;            /* receive buffer now (bytes): conf.rcvbuf_init, grown by
                                   tcp_rcvbuf_adjust up to conf.rcvbuf and the fair share
                                   (here, in the hole before the union: the block stays
                                   within 512 bytes) */
    /* RACK's state that outlives a flight (RFC 8985 section 6.1), beside the buffers
     * for the same reason (not in struct tcp_rack, whose padding would take 5 bytes). */
    uint8_t rack_reo_wnd_mult;  /* RACK.reo_wnd_mult (1 ..) */
    uint8_t rack_reo_wnd_persist;   /* RACK.reo_wnd_persist */
    uint8_t rack_reordering_seen;   /* RACK.reordering_seen */
    union {
        struct {                /* CUBIC's epoch, outside recovery (cubic_epoch 0: none) */
            uint32_t cubic_origin;  /* the plateau: max(W_max, cwnd at the epoch start) */
            uint32_t cubic_k_ms;    /* K: from the epoch's start to the plateau */
            uint64_t cubic_epoch;   /* clock + 1 at the epoch's first ACK */
            double cubic_west;      /* W_est, the Reno-friendly estimate (4.3) */
        };
        struct {                /* PRR (RFC 6937), while TCPF_RECOVERY: no epoch then */
            uint32_t prr_delivered; /* bytes reported delivered since recovery began */
            uint32_t prr_out;       /* bytes sent since recovery began */
            uint32_t recover_fs;    /* RecoverFS: FlightSize when recovery began */
            uint32_t nr_sacked;     /* NewReno: bytes the duplicates say arrived */
        };
    };

    /* receive sequence space */
    uint32_t irs;
    uint32_t rcv_nxt;
    uint32_t rcv_adv;           /* right edge of the window we advertised */
    uint32_t ooo_fin;

    /* RTT (RFC 6298), milliseconds; srtt scaled by 8, rttvar by 4 */
    uint32_t srtt;
    uint32_t rttvar;
    uint32_t rto;
    uint32_t rtt_seq;
    uint64_t rtt_start;

    /* SACK scoreboard (RFC 6675): sorted, disjoint, non-adjacent, above snd_una */
    uint32_t sack_n;
    struct tcp_sack_range sack[TCP_SACK_MAX];
    uint32_t rcv_space_seq;     /* receive auto-tuning: where the user had read to when the
                                   measurement began (here, beside rcv_space_ms's hole) */

    struct mbufq sndq;          /* from snd_una (once the SYN is acked) */
    struct mbufq rcvq;          /* in order, not yet read by the user */
    struct tcp_ooo *ooo;        /* NULL while no segment is out of order */

    struct twheel_timer t_rexmt;    /* retransmission, SYN retries, persist */
    struct twheel_timer t_delack;   /* delayed ACK */
    struct twheel_timer t_idle;     /* connect, idle, FIN_WAIT_2 and TIME_WAIT */
    uint64_t last_rx_ms;
    uint32_t idle_ms;           /* 0 = no idle timeout */
    uint32_t deadline_ms;       /* t_idle meaning depends on state */
    uint64_t rto_at;            /* the RTO's expiry while the recovery probe's timeout
                                   stands in front of it on t_rexmt (TCPF_RPTO) */

    struct tcp_stack *st;
    tcp_event_fn fn;
    void *arg;
    struct tcp_conn *link;      /* free list, output list or reap list */
    uint16_t listener;          /* index + 1 of the listener while SYN_RECEIVED */
    uint8_t chal_sec;           /* second (mod 256) of the last challenge ACK counted */
    uint8_t chal_count;         /* challenge ACKs sent in that second */
    uint32_t index;             /* in the stack's pool */

    /* Timestamps (RFC 7323), while TCPF_TS */
    uint32_t ts_offset;         /* TSval = stack ms clock + ts_offset (5.4 / 7.1) */
    uint32_t ts_recent;         /* TS.Recent: the peer's TSval we echo */
    uint32_t ts_recent_age;     /* stack clock >> 10 when TS.Recent was set (PAWS idle) */
    uint32_t last_ack_sent;     /* Last.ACK.sent: rcv_nxt of our latest segment */

    struct tcp_rack rack;       /* RACK-TLP loss detection, D-SACK undo (tcp_rack.c) */
};

/*
 * A connection in TIME_WAIT (tcp_tw.h): its control block is freed when it enters
 * the state, and this is what is left, all that answering its segments needs (RFC
 * 9293 3.10.7.4, RFC 6191): 56 bytes, in the stack's fixed array.
 */
#define TCP_TWF_TS 0x01         /* the connection had Timestamps: ts_recent, ts_offset */
#define TCP_TW_NONE IDX_NONE    /* no entry (list ends, empty free list) */

struct tcp_tw_entry {
    struct tcp_key key;
    uint32_t snd_nxt;           /* our next sequence number (after our FIN) */
    uint32_t rcv_nxt;           /* the peer's (after its FIN) */
    uint32_t ts_recent;         /* TS.Recent: the TSecr of our ACKs */
    uint32_t ts_offset;         /* TSval = stack ms clock + ts_offset */
    struct idx_link link;       /* arrival order, oldest first; free list through next */
    uint64_t expire_ms;         /* 2 MSL from the FIN (a retransmitted one restarts it) */
    uint16_t wnd;               /* window field of our ACKs (scaled, as last sent) */
    uint8_t flags;              /* TCP_TWF_* */
    uint8_t chal_sec;           /* ACK limiter (as tcp_conn's): second of the last ACK */
    uint8_t chal_count;         /* ... and ACKs counted in it */
};

/* The stack's TIME_WAIT table: cap entries, a 4-tuple hash of their indexes, and one
 * list in arrival order, which is also expiry order (every entry lives 2 MSL), so
 * a single timer at the oldest one's expiry does for all of them. */
struct tcp_tw_table {
    struct tcp_tw_entry *e;
    struct rte_hash *by_key;    /* tcp_key -> index in e */
    uint32_t cap;
    uint32_t n;                 /* in use */
    struct idx_list age;        /* arrival order: oldest, newest (TCP_TW_NONE: empty) */
    uint32_t free;              /* free list */
    struct twheel_timer t_expire;   /* at the oldest entry's expiry, while n != 0 */
};

/* A passive-open endpoint: (ip, port); ip 0 = any of our addresses. */
struct tcp_listener {
    uint32_t ip;
    uint16_t port;
    bool used;
    uint32_t backlog;           /* SYN_RECEIVED connections before SYN cookies */
    uint32_t syn_recv;
    uint64_t cookie_ms;         /* last time a cookie was sent (0 = never) */
    tcp_event_fn fn;
    void *arg;
};

/* Segment transmit hook: m starts at the IPv4 header with >= 14 bytes headroom,
 * checksums final (or the TCP one left to the transmit path: conf.tx_csum_defer);
 * the callee owns m. */
typedef void (*tcp_tx_fn)(void *arg, struct rte_mbuf *m, uint32_t dst_ip);

/* Initial sequence number hook (tests); NULL = RFC 6528. */
typedef uint32_t (*tcp_iss_fn)(void *arg, const struct tcp_key *k);

/* The most payload one TSO frame carries: an IPv4 packet of 64 KiB at most, with the
 * largest IPv4 and TCP headers. */
#define TCP_TSO_MAX (65535u - 60u - 60u)

struct tcp_stack_conf {
    const char *name;               /* unique per process, for rte_hash names */
    int socket_id;
    unsigned worker_id;
    unsigned n_workers;
    struct twheel *wheel;           /* the worker's wheel; its clock is the stack's */
    struct rte_mempool *pool;       /* headers and indirect mbufs */
    uint64_t *mbuf_alloc_failed;    /* the worker's counter of failed mbuf allocations
                                       (lcore_stats), NULL: none */
    tcp_tx_fn tx;
    void *tx_arg;
    const uint32_t *tx_backlog;     /* packets in the worker's transmit backlogs (lcore_ctx
                                       .tx_backlog): not 0, new data waits (tcp_txwait.h);
                                       NULL: never */
    tcp_iss_fn iss_fn;
    void *iss_arg;
    uint32_t max_conns;             /* control blocks (cap; refusals counted) */
    uint32_t max_listeners;
    uint32_t max_ooo_blocks;        /* connections that may hold out-of-order data */
    uint32_t max_rack_blocks;       /* connections that may keep RACK's transmit records
                                       (TCP_RACK_SEGS each; 0: RACK off, RFC 6675 only) */
    uint32_t max_buf_segs;          /* mbuf segments all queues together (and what the
                                       stack's users hold: tcp_buf_charge) may hold */
    uint32_t sndbuf;                /* send buffer a connection starts with (bytes) */
    uint32_t sndbuf_max;            /* ... and how far auto-tuning may grow it
                                       (tcp_sndbuf.h; 0 or at most sndbuf: fixed) */
    uint32_t rcvbuf;                /* receive buffer per connection at most (bytes): the
                                       ceiling of auto-tuning, which our window scale is
                                       sized for (tcp_rcvbuf.h) */
    uint32_t rcvbuf_init;           /* ... where each connection starts (0 or more than
                                       rcvbuf: rcvbuf, a fixed buffer) */
    uint16_t mss;                   /* ours: MTU - 40 */
    uint16_t port_lo, port_hi;      /* active-open local ports */
    /* Optional: true when (laddr, lport) (network, host order) is taken by someone
     * else (a service port of the same address): never picked for an active open. */
    bool (*port_taken)(void *arg, uint32_t laddr, uint16_t lport);
    void *port_taken_arg;
    uint32_t syn_backlog;
    uint32_t rto_init_ms, rto_min_ms, rto_max_ms;
    uint8_t max_retries;            /* data retransmissions before giving up */
    uint8_t syn_retries;
    uint32_t delack_ms;
    uint32_t time_wait_ms;
    uint32_t max_time_wait;         /* TIME_WAIT entries (tcp_tw.h); 0 = 4 x max_conns */
    uint32_t fin_wait2_ms;
    uint32_t idle_ms;               /* default idle timeout of new connections, 0 = none */
    uint32_t connect_timeout_ms;
    uint32_t challenge_ack_per_s;   /* RFC 5961 stack-wide rate limit: each second's
                                     * budget is drawn in [limit/2, limit/2 + limit) */
    uint8_t challenge_ack_per_conn; /* at most this many per connection per second */
    bool timestamps;                /* offer and accept RFC 7323 Timestamps */
    uint8_t cc;                     /* enum tcp_cc of new connections (tcp_set_cc) */
    bool tx_csum_defer;             /* leave the TCP checksum to the transmit path
                                       (lcore_tx: the port, or software there): segments
                                       carry the pseudo-header sum and TX_TCP_CKSUM */
    uint32_t tso_max;               /* with tx_csum_defer: payload bytes of one TSO frame
                                       (RTE_MBUF_F_TX_TCP_SEG, cut into MSS-sized
                                       segments by the port or lcore_tx) at most; new
                                       data only, never a retransmission. 0: no TSO */
    uint16_t tso_max_segs;          /* mbuf segments a TSO frame may have, its header
                                       mbuf included (the port's limit); 0: no limit */
    uint16_t tso_seg_trim;          /* TSO segments this many bytes below the MSS (a port
                                       that counts its Ethernet header against the IP
                                       MTU: dp_port.tso_seg_trim); 0 for most */
};

/* The stack's counters; names in tcp.h (tcp_stat_name). */
#define TCP_STATS(X)                                                           \
    X(segs_in) X(segs_out) X(bytes_in) X(bytes_out)                            \
    X(bad_checksum) X(malformed) X(no_socket) X(rst_sent) X(rst_rcvd)          \
    X(rst_ignored) X(challenge_acks) X(challenge_ack_limited)                  \
    X(passive_opens) X(active_opens) X(established) X(refused_conns)           \
    X(refused_ports) X(refused_listen_full) X(syncookies_sent)                 \
    X(syncookies_ok) X(syncookies_bad) X(syn_dropped)                          \
    X(out_of_window) X(dup_data) X(ack_too_new) X(ack_too_old)                 \
    X(ooo_segs) X(ooo_dropped) X(rcv_mem_dropped) X(snd_mem_refused)           \
    X(discarded_after_close)                                                   \
    X(rexmt_timeouts) X(segs_retrans) X(bytes_retrans) X(fast_retrans)         \
    X(partial_acks) X(dupacks) X(limited_transmits) X(persist_probes) X(delayed_acks)            \
    X(timeout_retrans) X(timeout_connect) X(timeout_idle)                      \
    X(timeout_fin_wait2) X(time_wait_reused) X(closed) X(reset)                \
    X(rtt_samples) X(hdr_alloc_fail) X(window_updates)                       \
    X(sack_blocks_sent) X(sack_blocks_rcvd) X(sack_blocks_bad)                \
    X(sack_blocks_old) X(sack_board_full) X(sack_recoveries) X(sack_rexmits)  \
    X(sack_newreno_fallbacks) X(challenge_ack_conn_limited) X(lost_rexmits) \
    X(tlp_probes) X(tlp_recoveries) X(tlp_repairs)                          \
    X(rcv_absorbed) X(snd_absorbed) X(time_wait_evicted)                   \
    X(paws_dropped) X(ts_rtt_samples)                                       \
    X(pmtu_reduced) X(icmp_bad_seq) X(icmp_ignored)                         \
    X(rcvbuf_grown) X(rcvbuf_capped) X(rcvbuf_trimmed) X(ooo_pruned)            \
    X(sndbuf_grown) X(sndbuf_capped) X(sndbuf_trimmed)            \
    X(time_wait_acks) X(time_wait_ack_limited)                              \
    X(rack_marked_lost) X(rack_reo_timeouts) X(rack_records_exhausted)         \
    X(rack_reo_wnd_grown) X(rack_blocks_grown) X(dsacks_rcvd) X(dsack_undos)                 \
    X(rack_reordering_seen)                                                   \
    X(tso_frames) X(tso_bytes)                                                \
    X(rto_in_recovery) X(rto_in_loss) X(rto_backoff) X(rto_tlp_out) X(rto_open) \
    X(rto_lost_rexmits) X(recovery_probes) X(recovery_probe_repairs)          \
    X(syn_bad_ack_resends) X(burst_outputs_deferred) X(burst_bulk_sends)  \
    X(more_held) X(tx_waits) X(tx_wait_resumes) X(tx_wait_forced) X(tx_wait_full) \
    X(tlp_held)

struct tcp_stats {
#define TCP_STAT_FIELD(n) uint64_t n;
    TCP_STATS(TCP_STAT_FIELD)
#undef TCP_STAT_FIELD
};

/*
 * The SYN cookie keys (tcp_syncookie.c): one per 64 s period, the next made from the
 * current one by a one-way step, the previous kept one period more so that cookies
 * in flight still validate.
 */
struct tcp_cookie_keys {
    struct siphash_key cur;             /* for period `period` */
    struct siphash_key prev;            /* for period - 1 */
    uint64_t period;                    /* now_ms >> TCP_SYNCOOKIE_PERIOD_SHIFT */
};

/* What runs when a connection's timer fires (tcp_timeout.c). The stack holds them so
 * that tcp_timer_init can put them on a fresh control block without calling up. */
struct tcp_timer_fns {
    twheel_fn rexmt;                /* t_rexmt: retransmission, SYN retry, persist */
    twheel_fn delack;               /* t_delack */
    twheel_fn idle;                 /* t_idle: connect, idle, FIN_WAIT_2, TIME_WAIT */
};

struct tcp_stack {
    struct tcp_stack_conf conf;
    struct rte_hash *conns_by_key;      /* tcp_key -> struct tcp_conn * */
    struct rte_hash *listen_by_key;     /* (ip, port) -> listener index */
    struct tcp_conn *pool;              /* max_conns control blocks */
    struct tcp_conn *free_list;
    struct tcp_conn *out_list;          /* output deferred to the end of the entry */
    struct tcp_conn *reap_list;         /* freed, returned to the pool at the end */
    struct tcp_listener *listeners;
    struct rte_mempool *ooo_pool;
    struct rte_mempool *rack_pool;      /* struct tcp_rack_q, max_rack_blocks */
    struct rte_mempool *rack_pool_big;  /* large blocks (rack_big_segs records), for the
                                           flights of grown send buffers; NULL: none */
    uint32_t rack_big_segs;
    uint64_t clock_us;                  /* microseconds, set by the worker once per loop
                                           (tcp_stack_set_clock_us); 0: the wheel's ms */
    struct tcp_tw_table tw;             /* TIME_WAIT (tcp_tw.c) */
    uint32_t n_conns;                   /* control blocks in use and TIME_WAIT
                                           entries (n_state[TCP_TIME_WAIT]) */
    uint32_t n_listeners;
    uint32_t buf_segs;                  /* segments held by every queue, and charged
                                           by the stack's users (tcp_buf_charge) */
    uint32_t rcv_conns;                 /* connections with TCPF_RCVBUF */
    uint64_t rcvbuf_bytes;              /* the sum of their rcvbuf (a gauge) */
    uint64_t sndbuf_grown_bytes;        /* what the send buffers grew beyond conf.sndbuf,
                                           together (a gauge; tcp_sndbuf.h): in the same
                                           budget as the receive buffers */
    uint64_t buf_budget;                /* what the two may grow to together: max_buf_segs
                                           full-size segments (tcp_budget.h) */
    uint32_t depth;                     /* nesting of stack entries */
    struct rte_ring *txw;               /* parked connections' indexes (tcp_txwait.h) */
    bool txw_forced;                    /* a forced resume is running: no backlog counts */
    bool in_burst;                      /* between tcp_burst_begin and tcp_burst_end */
    struct siphash_key iss_key;         /* RFC 6528 F(): drawn at creation, kept */
    struct siphash_key challenge_key;   /* each second's challenge ACK budget */
    struct siphash_key ts_key;          /* RFC 7323 7.1: TSval offset per 4-tuple */
    struct tcp_cookie_keys cookie;      /* SYN cookies, rotated */
    uint16_t ip_id;
    uint8_t wscale;                     /* ours, from rcvbuf (the maximum) */
    uint16_t port_cursor;
    uint64_t challenge_sec;             /* the second challenge_left is for */
    uint32_t challenge_left;            /* challenge ACKs still allowed in it */
    uint32_t n_state[TCP_STATE_MAX];
    struct tcp_stats stats;
    struct tcp_timer_fns timer_fns;     /* set by tcp_stack_create; read per new block */
};

#endif
