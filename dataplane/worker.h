/*
 * worker: one poll-mode worker lcore (DESIGN.md section 2), the top of the dataplane.
 *
 * The loop polls the worker's rx queues, the hand-off rings from the other workers
 * and its control ring, dispatches each packet to the layer that owns it (net/, l4/,
 * tcp/, proxy/, health/), runs the timer wheel and flushes the tx buffers. Everything
 * below is handed what it needs through the worker's lcore context (base/lcore_ctx.h)
 * and its own state, embedded here; nothing below includes this header.
 *
 * The struct is written by its own worker only (the control core reads the
 * counters); hot fields first, counters last.
 */
#ifndef LBD_WORKER_H
#define LBD_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "base/dp_limits.h"
#include "base/lcore_ctx.h"
#include "health/probe.h"
#include "l4/l4.h"
#include "l4/persist_ctl.h"
#include "net/forward.h"
#include "net/ip_out.h"
#include "net/ip_reass.h"
#include "net/neigh.h"
#include "net/neigh_learn.h"
#include "net/port.h"
#include "proxy/proxy.h"
#include "proxy/tls_stream.h"
#include "snapshot/snapshot.h"
#include "snapshot/traffic.h"

#define WORKER_IDLE_POLLS 64    /* empty iterations before an idle sleep */

/*
 * The stages of the worker loop its TSC cycles are counted in (worker_cycles). The
 * TSC is read at each stage's boundary, per burst and per loop iteration, never per
 * packet: inside a burst, the packets are classified first (dispatch) and the clock
 * is read again only where the next packet goes to another stage than the one
 * before, so a burst of one kind costs two reads.
 */
enum worker_stage {
    WORKER_STAGE_RX = 0,        /* polling the rx queues and the hand-off rings */
    WORKER_STAGE_DISPATCH,      /* Ethernet checks, parsing, address, connection and
                                   service look-ups, owner, hand-off staging */
    WORKER_STAGE_L4,            /* Layer 4 NAT both ways (l4/), fragments to VIPs */
    WORKER_STAGE_TCP,           /* the TCP stack's segment input, with the Layer 7
                                   proxy and TLS work its callbacks do */
    WORKER_STAGE_FORWARD,       /* routing what is not ours (net/forward.h) */
    WORKER_STAGE_LOCAL,         /* ARP, ICMP echo, HA datagrams, probe answers */
    WORKER_STAGE_CONTROL,       /* control ring, persistence listing, HA jobs */
    WORKER_STAGE_TIMERS,        /* the timer wheel (expiry, retransmission, proxy) */
    WORKER_STAGE_TX,            /* the ARP wait queue, the hand-off rings, tx flush */
    WORKER_STAGE_MAX
};

/* The stage's name in the API ("rx", "dispatch", ...). */
const char *worker_stage_name(enum worker_stage st);

/*
 * TSC cycles of one worker (rte_rdtsc). busy: loop iterations that found work (a
 * packet, a message, a timer); idle: those that found none, idle sleep included.
 * stage[]: the busy cycles by stage (their sum is busy, but for the few cycles
 * between the reads). The benchmark entry worker_burst counts its stages too.
 */
struct worker_cycles {
    uint64_t busy;
    uint64_t idle;
    uint64_t stage[WORKER_STAGE_MAX];
};

/*
 * Counters of one worker, each layer's in its own struct (defined with the module
 * that counts them); written by that worker only, read by the control core.
 */
struct worker_stats {
    /* the worker loop's own */
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t handoff_out;
    uint64_t handoff_in;
    uint64_t arp_replies;
    uint64_t arp_gratuitous;        /* gratuitous ARP seen (never answered) */
    uint64_t icmp_echo_replies;
    uint64_t ha_rx;                 /* HA datagrams from the peer passed to the control core */
    uint64_t ha_tx;                 /* HA datagrams of the control core sent */
    struct lcore_stats lcore;       /* tx, drops, allocation and ring failures */
    struct ip_out_stats ip_out;
    struct neigh_learn_stats neigh_learn;
    struct forward_stats forward;
    struct ip_reass_stats reass;
    struct l4_stats l4;
    struct probe_stats probe;
    struct proxy_stats proxy;
    struct tls_stats tls;           /* TLS termination and re-encryption, by service too */
    struct traffic_stats traffic;   /* by service and real server */
    struct proxy_http_stats http;   /* HTTP mode, by service and real server */
    struct worker_cycles cycles;    /* where the worker's time goes */
};

/* What the dataplane gives a worker at set-up: its identity and the shared parts. */
struct worker_links {
    unsigned id;
    unsigned n_workers;
    unsigned lcore;
    uint32_t idle_sleep_us;
    struct rte_mempool *pool;
    const struct dp_port *ports;        /* DP_MAX_PORTS entries (port.h) */
    const struct neigh_table *neigh;    /* written by the control core only */
    struct rte_ring *to_ctl;            /* shared worker -> control ring */
    struct rte_ring *from_ctl;          /* control -> this worker */
    struct rte_ring *ha_rx;             /* workers -> control: HA datagrams (mbufs) */
    struct rte_ring *ha_tx;             /* control -> this worker: HA datagrams to send */
    struct rte_ring *sync_out;          /* workers -> control: sync records (ha_rec) */
    struct rte_ring *sync_in;           /* control -> this worker: records to install */
    struct rte_ring *log_ring;          /* this worker -> control: traffic log records
                                           (txlog_rec) of Layer 4 and its proxy; NULL:
                                           none */
    struct rte_rcu_qsbr *qsbr;
    struct snapshot **snap;             /* the published snapshot (atomic) */
    const int *quit;                    /* set by the control core (atomic) */
};

struct worker {
    /* hot: every iteration */
    struct lcore_ctx lc;
    uint16_t n_rx_ports;
    uint16_t n_tx_ports;
    struct worker_rxq {                 /* the rx queues this worker polls: queue q */
        uint16_t port, queue;           /* of a port is polled by worker q mod workers */
    } rx_ports[DP_MAX_PORTS * CFG_PORT_QUEUES_MAX];
    uint16_t tx_ports[DP_MAX_PORTS];
    struct rte_ring *ring_in[DP_MAX_WORKERS];
    struct rte_ring *ring_out[DP_MAX_WORKERS];
    uint16_t stage_n[DP_MAX_WORKERS];
    struct rte_mbuf *stage[DP_MAX_WORKERS][DP_BURST];
    struct worker_links links;
    uint64_t cycles_per_ms;
    uint64_t cycles_per_us;             /* ... per microsecond: the TCP stack's clock */
    uint64_t txw_since_ms;              /* last time no TCP connection waited for the
                                           transmit backlog, or they were resumed */
    uint64_t snap_generation;           /* last snapshot seen (timeouts applied) */
    struct ip_out io;                   /* next hops, neighbours, the ARP wait queue */
    struct neigh_learn nlearn;          /* what ARP tells the control core */
    struct forward fw;                  /* routing of what is not ours */
    struct l4 l4;                       /* Layer 4 NAT and its tables */
    struct ip_reass reass;              /* fragments to VIPs being put together */
    struct tcp_stack *tcp;              /* this worker's TCP endpoint (tcp.h) */
    struct proxy *proxy;                /* Layer 7 TCP-mode proxy on that stack (proxy.h) */
    struct probes probes;               /* health checks in flight */
    struct persist_ctl pctl;            /* persist.list / flush */

    struct worker_stats stats __rte_cache_aligned;
} __rte_cache_aligned;

/*
 * Set-up, before the worker runs: w (zeroed by the caller) takes its links, and its
 * Layer 4 tables (max_conns, on NUMA socket `socket`). Returns 0, LBD_ENOMEM with
 * nothing left allocated, or LBD_EIO when the kernel gave no random key. The tx buffers (w->lc.txb, error callback lcore_tx_error
 * with &w->lc) and the TCP stack (worker_set_tcp) are the caller's to add.
 * worker_free undoes what worker_init did.
 */
int worker_init(struct worker *w, const struct worker_links *links, uint32_t max_conns,
                int socket);
void worker_free(struct worker *w);

/* Set-up: the worker's TCP stack and the proxy on it (either may be NULL). */
void worker_set_tcp(struct worker *w, struct tcp_stack *tcp, struct proxy *px);

/*
 * Handles a burst of received packets (from_ring: handed over by another worker)
 * with snapshot s; takes ownership of every mbuf. The worker loop's per-burst job,
 * and the entry point of packet-in tests and of the benchmark. Worker only.
 */
void worker_burst(struct worker *w, const struct snapshot *s, struct rte_mbuf **pkts,
                  unsigned n, bool from_ring);

/* lcore entry point; arg is the struct worker. Returns when *links.quit is set. */
int worker_main(void *arg);

/* TCP stack transmit hook (tcp_types.h): sends through ip_out. arg is the worker. */
void worker_tcp_tx(void *arg, struct rte_mbuf *m, uint32_t dst_ip);

#endif
