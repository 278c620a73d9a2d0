/*
 * worker: the per-packet path. No allocation, no locks, no syscalls (but the
 * optional idle sleep), no logging: every outcome is a counter.
 */
#include "worker.h"

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <stdio.h>
#include <string.h>

#include "base/ctl_msg.h"
#include "err.h"
#include "ha_proto.h"
#include "l4/l4_sync.h"
#include "net/arp.h"
#include "net/icmp.h"
#include "net/neigh_learn.h"
#include "net/owner.h"
#include "net/rx_csum.h"
#include "tcp/tcp.h"
#include "tcp/tcp_icmp.h"
#include "tcp/tcp_input.h"

void worker_tcp_tx(void *arg, struct rte_mbuf *m, uint32_t dst_ip)
{
    struct worker *w = arg;

    if (unlikely(w->lc.snap == NULL)) {
        lcore_drop(&w->lc, m, DROP_NO_CONFIG);
        return;
    }
    ip_out(&w->io, w->lc.snap, m, dst_ip);
}

/*
 * ARP owned by this worker. The sender is learned (or confirmed) when it is a
 * neighbour: on the connected subnet of the port, and not one of our addresses. A
 * gratuitous ARP (sender IP == target IP) is an announcement: never answered, it
 * moves a neighbour we already have to its new MAC and creates nothing.
 */
static void worker_arp(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                       uint8_t *frame, const struct pkt_info *pi, bool target_ours)
{
    const struct dp_port *port = &w->links.ports[m->port];
    const struct rte_arp_hdr *arp = (const struct rte_arp_hdr *)(frame + pi->l3_off);
    bool neighbour = pi->src_ip != 0 && snapshot_on_link(s, m->port, pi->src_ip) &&
                     snapshot_addr_kind(s, pi->src_ip) == 0;

    if (pi->src_ip != 0 && pi->src_ip == pi->dst_ip) {
        if (neighbour)
            neigh_learn_garp(&w->nlearn, m->port, pi->src_ip, &arp->arp_data.arp_sha);
        w->stats.arp_gratuitous++;
        rte_pktmbuf_free(m);
        return;
    }
    if (!target_ours) {
        lcore_drop(&w->lc, m, DROP_ARP_NOT_OURS);
        return;
    }
    if (neighbour)
        neigh_learn_seen(&w->nlearn, m->port, pi->src_ip, &arp->arp_data.arp_sha);
    if (pi->arp_op != RTE_ARP_OP_REQUEST) {
        /* A reply to us: learned above, nothing to send. */
        rte_pktmbuf_free(m);
        return;
    }
    arp_reply_in_place(frame, pi, &port->mac);
    w->stats.arp_replies++;
    lcore_tx(&w->lc, m);
}

/*
 * A fragment to a VIP: into the reassembly table; a datagram it completes goes to
 * its Layer 4 service like any client packet. Only Layer 4 TCP and UDP services take
 * reassembled datagrams (the TCP stack works on single-segment packets).
 */
static void worker_fragment(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                            const struct pkt_info *pi)
{
    struct pkt_info dpi = *pi;
    const struct snap_vs *vs;

    m = ip_reass_input(&w->reass, m, &dpi);
    if (m == NULL)
        return;
    if (dpi.ip_proto == IPPROTO_TCP || dpi.ip_proto == IPPROTO_UDP) {
        vs = snapshot_service(s, dpi.dst_ip, dpi.ip_proto, dpi.dst_port);
        if (vs != NULL && vs->layer == 4) {
            w->stats.traffic.vs[vs->slot].packets_in++;
            w->stats.traffic.vs[vs->slot].bytes_in += dpi.l3_len;
            l4_from_client(&w->l4, s, m, &dpi, vs, NULL);
            return;
        }
    }
    lcore_drop(&w->lc, m, DROP_REASS_NOT_L4);
}

/*
 * A TCP or UDP fragment routed through us from a Layer 4 real server: into the
 * reassembly table, so that an answer to one of this worker's clients gets the reverse
 * NAT as a whole (only its first fragment holds the ports; the others would leave with
 * the real server's address) and is fragmented again to the client's MTU by ip_out; a
 * datagram of no connection is routed as reassembled (ip_out fragments it the same
 * way). Fragments from any other source are routed as they come: lbd reassembles for
 * its own flows only, and the table (bounded, shared with fragments to VIPs) is open
 * to no other sender. All the fragments of a datagram to one client meet on its
 * worker (owner.h: a foreign destination's hash), where its connections are.
 */
static void worker_server_fragment(struct worker *w, const struct snapshot *s,
                                   struct rte_mbuf *m, const struct pkt_info *pi)
{
    struct pkt_info dpi = *pi;

    m = ip_reass_input(&w->reass, m, &dpi);
    if (m == NULL)
        return;
    if (l4_from_server(&w->l4, s, m, &dpi)) {
        w->stats.l4.reverse_reassembled++;
        return;
    }
    forward_packet(&w->fw, s, m, &dpi);
}

/*
 * An HA datagram to a self IP: from the peer, it goes to the control core (which
 * authenticates it), its data trimmed to the UDP payload and hash.usr the sender;
 * from anyone else it is dropped and counted (ha_not_peer).
 */
static void worker_ha_rx(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                         const struct pkt_info *pi)
{
    uint32_t off = (uint32_t)pi->l4_off + sizeof(struct rte_udp_hdr);
    uint32_t end = (uint32_t)pi->l3_off + pi->l3_len;

    if (pi->src_ip != s->ha_peer) {
        lcore_drop(&w->lc, m, DROP_HA_NOT_PEER);
        return;
    }
    if (w->links.ha_rx == NULL || end < off || rte_pktmbuf_data_len(m) < end) {
        lcore_drop(&w->lc, m, DROP_MALFORMED_UDP);
        return;
    }
    rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - end));
    rte_pktmbuf_adj(m, (uint16_t)off);
    m->hash.usr = pi->src_ip;
    if (rte_ring_mp_enqueue(w->links.ha_rx, m) != 0) {
        lcore_drop(&w->lc, m, DROP_HA_RING_FULL);
        return;
    }
    w->stats.ha_rx++;
}

static void worker_local(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                         uint8_t *frame, const struct pkt_info *pi, const struct snap_vs *vs,
                         int kind)
{
    enum drop_reason r;

    if (pi->is_fragment) {
        if (kind == SNAP_ADDR_VIP)
            worker_fragment(w, s, m, pi);
        else
            lcore_drop(&w->lc, m, DROP_IP_FRAGMENT);
        return;
    }
    switch (pi->ip_proto) {
    case IPPROTO_ICMP: {
        uint32_t want = (uint32_t)pi->l3_off + pi->l3_len;
        if (pi->icmp_type == RTE_IP_ICMP_ECHO_REPLY) {
            probe_echo_reply(&w->probes, m, frame, pi);
            return;
        }
        /* About a segment of our TCP stack (PMTU discovery, tcp_icmp.h)? */
        if (pkt_icmp_is_error(pi->icmp_type) && w->tcp != NULL &&
            tcp_icmp_input(w->tcp, frame, pi, rx_csum_l4(m))) {
            rte_pktmbuf_free(m);
            return;
        }
        if (kind == SNAP_ADDR_VIP && pkt_icmp_is_error(pi->icmp_type)) {
            l4_icmp_to_vip(&w->l4, s, m, pi);
            return;
        }
        r = icmp_echo_reply_in_place(frame, pi, &w->links.ports[m->port].mac, rx_csum_l4(m));
        if (r != DROP_NONE) {
            lcore_drop(&w->lc, m, r);
            return;
        }
        if (rte_pktmbuf_data_len(m) > want)
            rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - want));
        w->stats.icmp_echo_replies++;
        lcore_tx(&w->lc, m);
        return;
    }
    case IPPROTO_TCP:
        if (vs != NULL) {
            w->stats.traffic.vs[vs->slot].packets_in++;
            if (vs->layer == 4) {
                w->stats.traffic.vs[vs->slot].bytes_in += pi->l3_len;
                l4_from_client(&w->l4, s, m, pi, vs, NULL);
                return;
            }
        }
        /* Layer 7 services (TCP and HTTP mode, TLS or not) and local ports: the TCP
         * endpoint (RST when nobody listens). */
        if (w->tcp == NULL) {
            lcore_drop(&w->lc, m, DROP_TCP_NO_STACK);
            return;
        }
        r = tcp_input(w->tcp, m, pi);
        if (r != DROP_NONE)
            lcore_drop(&w->lc, m, r);
        return;
    case IPPROTO_UDP:
        if (vs == NULL && pi->dst_port == HA_UDP_PORT && s->ha_enabled &&
            snapshot_addr_kind(s, pi->dst_ip) == SNAP_ADDR_SELF) {
            worker_ha_rx(w, s, m, pi);
            return;
        }
        if (vs == NULL) {
            lcore_drop(&w->lc, m, DROP_NO_SERVICE);
            return;
        }
        w->stats.traffic.vs[vs->slot].packets_in++;
        w->stats.traffic.vs[vs->slot].bytes_in += pi->l3_len;
        if (vs->layer == 4)
            l4_from_client(&w->l4, s, m, pi, vs, NULL);
        else
            lcore_drop(&w->lc, m, DROP_L7_UNIMPLEMENTED);
        return;
    default:
        lcore_drop(&w->lc, m, DROP_UNSUPPORTED_PROTO);
        return;
    }
}

/* What dispatch found out about one packet of a burst, for the stage that takes it. */
struct worker_pkt {
    struct rte_mbuf *m;             /* NULL: dropped in dispatch */
    struct pkt_info pi;
    int kind;                       /* snapshot_addr_kind of its destination */
    int key;                        /* its connection key's index in the burst, or
                                       WORKER_KEY_NONE / WORKER_KEY_SKIPPED */
    struct conn *c;                 /* the connection found for it (worker_route) */
    const struct snap_vs *vs;       /* its service, when looked up */
    uint8_t act;                    /* enum worker_act */
};

/* worker_pkt.key when the packet has no key in the bulk look-up. */
enum {
    WORKER_KEY_NONE = -1,           /* it has no connection to look up */
    WORKER_KEY_SKIPPED = -2,        /* routed, from an address and port no
                                       connection's real server has (conn_may_reverse):
                                       a look-up would miss, unless the burst created
                                       one since */
};

/* What the handling stage does with a packet (worker_route). */
enum worker_act {
    WORKER_ACT_DONE = 0,            /* handed to its owner */
    WORKER_ACT_CLIENT_CONN,         /* client -> VIP on connection c */
    WORKER_ACT_SERVER_CONN,         /* real server -> client on connection c */
    WORKER_ACT_ARP,
    WORKER_ACT_FOREIGN,             /* not ours: routed (or an ICMP error about a flow) */
    WORKER_ACT_LOCAL,               /* to one of our addresses */
};

static const char *const worker_stage_names[WORKER_STAGE_MAX] = {
    [WORKER_STAGE_RX] = "rx",           [WORKER_STAGE_DISPATCH] = "dispatch",
    [WORKER_STAGE_L4] = "l4",           [WORKER_STAGE_TCP] = "tcp",
    [WORKER_STAGE_FORWARD] = "forward", [WORKER_STAGE_LOCAL] = "local",
    [WORKER_STAGE_CONTROL] = "control", [WORKER_STAGE_TIMERS] = "timers",
    [WORKER_STAGE_TX] = "tx",
};

const char *worker_stage_name(enum worker_stage st)
{
    return (unsigned)st < WORKER_STAGE_MAX ? worker_stage_names[st] : "unknown";
}

/* Adds the cycles since t to *acc; returns the TSC now. */
static inline uint64_t worker_stamp(uint64_t *acc, uint64_t t)
{
    uint64_t now = rte_rdtsc();

    *acc += now - t;
    return now;
}

/*
 * The parse a worker hands over with a packet it stages for its owner (worker_route),
 * at the start of the mbuf's headroom, which nothing uses between the two workers: the
 * owner takes it instead of parsing the frame again. NULL when the headroom is too
 * small (both sides see the same data_off, so they agree).
 */
static inline struct pkt_info *worker_carried_pi(struct rte_mbuf *m)
{
    return m->data_off >= sizeof(struct pkt_info) ? (struct pkt_info *)m->buf_addr : NULL;
}

/*
 * Dispatch, first pass over a packet: the Ethernet checks, the parse, the address
 * look-up. from_ring: it came from another worker, which already counted it, checked
 * its Ethernet header and its IP checksum, parsed it (worker_carried_pi) and found
 * that we own it. False when m
 * was dropped. p->key is 0 when the packet's connection is to be looked up (a TCP or
 * UDP packet to a VIP or not ours, that this worker owns: the owner check comes
 * first, so that a packet for another worker costs no look-up), WORKER_KEY_SKIPPED
 * when it is not ours and comes from no real server of this worker's connections
 * (conn_may_reverse: routed traffic costs no look-up either), else WORKER_KEY_NONE.
 */
static bool worker_classify(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                            bool from_ring, struct worker_pkt *p)
{
    const struct dp_port *port = &w->links.ports[m->port];
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    uint32_t len = rte_pktmbuf_data_len(m);
    struct pkt_info *pi = &p->pi;
    enum drop_reason r;
    enum rx_csum ip_csum = rx_csum_ip(m);

    if (!from_ring) {
        const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
        w->stats.rx_packets++;
        w->stats.rx_bytes += rte_pktmbuf_pkt_len(m);
        if (len < RTE_ETHER_HDR_LEN) {
            lcore_drop(&w->lc, m, DROP_MALFORMED_ETH);
            return false;
        }
        /* Ports are set up for one segment per frame (no scatter, no LRO; the pool's
         * mbufs hold a whole frame); the parser reads the first one only. */
        if (unlikely(m->nb_segs != 1)) {
            lcore_drop(&w->lc, m, DROP_RX_MULTI_SEGMENT);
            return false;
        }
        if (rte_is_same_ether_addr(&eth->src_addr, &port->mac)) {
            lcore_drop(&w->lc, m, DROP_OWN_FRAME);
            return false;
        }
        if (!rte_is_same_ether_addr(&eth->dst_addr, &port->mac) &&
            !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
            lcore_drop(&w->lc, m, DROP_NOT_OUR_MAC);
            return false;
        }
    }
    if (unlikely(s == NULL)) {
        lcore_drop(&w->lc, m, DROP_NO_CONFIG);
        return false;
    }

    /* The IPv4 header checksum: the port's verdict, else the parser's (rx_csum.h). */
    if (unlikely(ip_csum == RX_CSUM_BAD)) {
        lcore_drop(&w->lc, m, DROP_BAD_IP_CHECKSUM);
        return false;
    }
    if (from_ring && worker_carried_pi(m) != NULL) {
        *pi = *worker_carried_pi(m);
    } else {
        r = pkt_parse(frame, len, !from_ring && ip_csum == RX_CSUM_VERIFY, pi);
        if (r != DROP_NONE) {
            lcore_drop(&w->lc, m, r);
            return false;
        }
    }
    if (unlikely((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_NONE) &&
        pi->l3 == PKT_L3_IPV4)
        rx_csum_ip_fix(m, pi);

    p->kind = snapshot_addr_kind(s, pi->dst_ip);
    /* The backup of an HA pair leaves the VIPs and floating addresses to the master. */
    if (unlikely(s->ha_standby) && (p->kind == SNAP_ADDR_VIP || p->kind == SNAP_ADDR_FLOATING)) {
        lcore_drop(&w->lc, m, DROP_HA_STANDBY);
        return false;
    }
    p->key = WORKER_KEY_NONE;
    if ((p->kind == SNAP_ADDR_VIP || p->kind == 0) && pi->l3 == PKT_L3_IPV4 &&
        !pi->is_fragment && (pi->ip_proto == IPPROTO_TCP || pi->ip_proto == IPPROTO_UDP) &&
        (from_ring || owner_of(pi, p->kind == 0 ? OWNER_DST_FOREIGN : OWNER_DST_SERVICE,
                               w->lc.n_workers) == w->lc.id)) {
        /* Not ours: only a real server's answer has an entry to find (reverse). */
        if (p->kind == 0 &&
            !conn_may_reverse(w->l4.conns, pi->src_ip, rte_cpu_to_be_16(pi->src_port)))
            p->key = WORKER_KEY_SKIPPED;
        else
            p->key = 0;
    }
    return true;
}

/*
 * Dispatch, second pass: where the packet goes, in p->act, and the stage that takes
 * it. p->c: its connection (a client's, forward, or a real server's, reverse), found
 * by the bulk look-up. A packet of a connection goes straight to Layer 4 (the entry
 * proves it is ours and a service packet); any other packet to us has its service
 * looked up, and one owned by another worker is staged for the hand-off.
 */
static enum worker_stage worker_route(struct worker *w, const struct snapshot *s,
                                      struct worker_pkt *p, bool from_ring)
{
    const struct pkt_info *pi = &p->pi;
    enum owner_dst dst = OWNER_DST_FOREIGN;

    p->vs = NULL;
    if (p->c != NULL) {
        p->act = p->kind == 0 ? WORKER_ACT_SERVER_CONN : WORKER_ACT_CLIENT_CONN;
        return WORKER_STAGE_L4;
    }
    if (p->kind != 0 && pi->l3 == PKT_L3_IPV4) {
        dst = OWNER_DST_LOCAL;
        if (!pi->is_fragment && (pi->ip_proto == IPPROTO_TCP || pi->ip_proto == IPPROTO_UDP)) {
            p->vs = snapshot_service(s, pi->dst_ip, pi->ip_proto, pi->dst_port);
            if (p->vs != NULL)
                dst = OWNER_DST_SERVICE;
        } else if (!pi->is_fragment && pi->ip_proto == IPPROTO_ICMP && pi->icmp_inner_dst != 0 &&
                   (pi->icmp_inner_sport == 0 ||
                    snapshot_service(s, pi->dst_ip, pi->icmp_inner_proto, pi->icmp_inner_sport) !=
                        NULL)) {
            /* An error about a packet of a service (or one without ports): the
             * client's worker; about one from a local port: that port's (owner.h).
             * The error's destination is the quoted packet's source. */
            dst = OWNER_DST_SERVICE;
        }
    }
    if (!from_ring) {
        unsigned owner = owner_of(pi, dst, w->lc.n_workers);
        if (owner != w->lc.id) {
            struct pkt_info *carry = worker_carried_pi(p->m);
            if (carry != NULL)
                *carry = *pi;
            w->stage[owner][w->stage_n[owner]++] = p->m;
            p->act = WORKER_ACT_DONE;
            return WORKER_STAGE_DISPATCH;
        }
    }
    if (pi->l3 == PKT_L3_ARP) {
        p->act = WORKER_ACT_ARP;
        return WORKER_STAGE_LOCAL;
    }
    if (p->kind == 0) {
        p->act = WORKER_ACT_FOREIGN;
        return (pi->ip_proto == IPPROTO_ICMP && pi->icmp_inner_dst != 0) || pi->is_fragment
                   ? WORKER_STAGE_L4
                   : WORKER_STAGE_FORWARD;
    }
    p->act = WORKER_ACT_LOCAL;
    if (pi->is_fragment)
        return p->kind == SNAP_ADDR_VIP ? WORKER_STAGE_L4 : WORKER_STAGE_LOCAL;
    if (p->vs != NULL && p->vs->layer == 4)
        return WORKER_STAGE_L4;
    return pi->ip_proto == IPPROTO_TCP ? WORKER_STAGE_TCP : WORKER_STAGE_LOCAL;
}

/* The stage that takes the packet worker_route placed. */
static void worker_handle(struct worker *w, const struct snapshot *s, struct worker_pkt *p)
{
    struct rte_mbuf *m = p->m;
    const struct pkt_info *pi = &p->pi;

    switch ((enum worker_act)p->act) {
    case WORKER_ACT_CLIENT_CONN:
        w->stats.traffic.vs[p->c->vs_slot].packets_in++;
        w->stats.traffic.vs[p->c->vs_slot].bytes_in += pi->l3_len;
        l4_from_client(&w->l4, s, m, pi, NULL, p->c);
        return;
    case WORKER_ACT_SERVER_CONN:
        l4_server_conn(&w->l4, s, m, pi, p->c);
        return;
    case WORKER_ACT_ARP:
        worker_arp(w, s, m, rte_pktmbuf_mtod(m, uint8_t *), pi, p->kind != 0);
        return;
    case WORKER_ACT_FOREIGN:
        /* A real server's answer to a Layer 4 client was found by the bulk look-up;
         * what is left is traffic to route, a real server's fragment, or an ICMP
         * error about a flow. */
        if (unlikely(pi->is_fragment) &&
            (pi->ip_proto == IPPROTO_TCP || pi->ip_proto == IPPROTO_UDP) &&
            snapshot_is_l4_rs(s, pi->src_ip)) {
            worker_server_fragment(w, s, m, pi);
            return;
        }
        if (pi->icmp_inner_dst != 0 && pi->ip_proto == IPPROTO_ICMP &&
            l4_icmp_from_server(&w->l4, s, m, pi))
            return;
        forward_packet(&w->fw, s, m, pi);
        return;
    case WORKER_ACT_LOCAL:
        worker_local(w, s, m, rte_pktmbuf_mtod(m, uint8_t *), pi, p->vs, p->kind);
        return;
    case WORKER_ACT_DONE:
    default:
        return;
    }
}

/* Hands staged packets to their owners; what a full ring refuses is dropped. */
static void worker_flush_stage(struct worker *w)
{
    for (unsigned j = 0; j < w->lc.n_workers; j++) {
        unsigned n = w->stage_n[j], sent;
        if (n == 0)
            continue;
        sent = rte_ring_sp_enqueue_burst(w->ring_out[j], (void **)w->stage[j], n, NULL);
        w->stats.handoff_out += sent;
        for (unsigned i = sent; i < n; i++)
            lcore_drop(&w->lc, w->stage[j][i], DROP_HANDOFF_RING_FULL);
        w->stage_n[j] = 0;
    }
}

/* The control core asks a stale neighbour whether it is still there. */
static void worker_neigh_probe(struct worker *w, const struct snapshot *s,
                               const struct ctl_msg *msg)
{
    struct rte_ether_addr mac;

    memcpy(mac.addr_bytes, msg->mac, RTE_ETHER_ADDR_LEN);
    ip_out_probe(&w->io, s, msg->ip, &mac, msg->port);
}

/*
 * A burst of at most DP_BURST packets, started at TSC t; returns the TSC at its end.
 * Three passes: classify every packet (dispatch), look the connections of those that
 * have one up in bulk, then route and handle each in order; what the TCP stack's
 * callbacks ask of other connections goes once at the end (tcp_burst_begin). The
 * stages' cycles go to w->stats.cycles, the clock read where a packet goes to another
 * stage than the one before it.
 */
static uint64_t worker_burst_tsc(struct worker *w, const struct snapshot *s,
                                 struct rte_mbuf **pkts, unsigned n, bool from_ring, uint64_t t)
{
    struct worker_pkt bp[DP_BURST];
    struct conn_key keys[DP_BURST];
    const struct conn_key *kp[DP_BURST];
    struct conn *found[DP_BURST];
    uint8_t dirs[DP_BURST];
    uint64_t *cyc = w->stats.cycles.stage;
    enum worker_stage cur = WORKER_STAGE_DISPATCH, st;
    unsigned nk = 0, staged = 0;
    bool tcp_open = false;
    uint32_t gen;

    for (unsigned i = 0; i < n; i++) {
        struct worker_pkt *p = &bp[i];
        if (i + 1 < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
        p->m = pkts[i];
        if (!worker_classify(w, s, p->m, from_ring, p)) {
            p->m = NULL;
            continue;
        }
        if (p->key == 0) {
            l4_pkt_key(&p->pi, &keys[nk]);
            kp[nk] = &keys[nk];
            p->key = (int)nk++;
        }
    }
    if (nk != 0)
        conn_lookup_bulk(w->l4.conns, kp, nk, found, dirs);
    gen = conn_table_gen(w->l4.conns);

    for (unsigned i = 0; i < n; i++) {
        struct worker_pkt *p = &bp[i];
        if (p->m == NULL)
            continue;
        p->c = NULL;
        if (unlikely(p->key == WORKER_KEY_SKIPPED) && conn_table_gen(w->l4.conns) != gen &&
            conn_may_reverse(w->l4.conns, p->pi.src_ip, rte_cpu_to_be_16(p->pi.src_port))) {
            /* A packet before this one opened a connection from this source. */
            struct conn_key k;
            struct conn *c;
            enum conn_dir dir;
            l4_pkt_key(&p->pi, &k);
            c = conn_lookup(w->l4.conns, &k, &dir);
            if (c != NULL && dir == CONN_DIR_REVERSE)
                p->c = c;
        } else if (p->key >= 0) {
            struct conn *c = found[p->key];
            enum conn_dir dir = (enum conn_dir)dirs[p->key];
            /* A packet before this one opened or closed a connection: look again. */
            if (unlikely(conn_table_gen(w->l4.conns) != gen))
                c = conn_lookup(w->l4.conns, &keys[p->key], &dir);
            if (c != NULL && dir == (p->kind == 0 ? CONN_DIR_REVERSE : CONN_DIR_FORWARD))
                p->c = c;
        }
        st = worker_route(w, s, p, from_ring);
        staged += p->act == WORKER_ACT_DONE;
        if (st != cur) {
            t = worker_stamp(&cyc[cur], t);
            cur = st;
        }
        if (unlikely(st == WORKER_STAGE_TCP) && !tcp_open && w->tcp != NULL) {
            /* The stack's output for the whole burst goes at its end (tcp.h). */
            tcp_burst_begin(w->tcp);
            tcp_open = true;
        }
        worker_handle(w, s, p);
    }
    if (tcp_open) {
        if (cur != WORKER_STAGE_TCP) {
            t = worker_stamp(&cyc[cur], t);
            cur = WORKER_STAGE_TCP;
        }
        tcp_burst_end(w->tcp);
    }
    /* The hand-off (tx) has a clock read of its own only when it has packets to hand:
     * a burst the worker owns whole costs one read less (41 cycles on a VM's TSC). */
    if (!from_ring && staged != 0) {
        if (cur != WORKER_STAGE_TX) {
            t = worker_stamp(&cyc[cur], t);
            cur = WORKER_STAGE_TX;
        }
        worker_flush_stage(w);
    }
    return worker_stamp(&cyc[cur], t);
}

void worker_burst(struct worker *w, const struct snapshot *s, struct rte_mbuf **pkts,
                  unsigned n, bool from_ring)
{
    uint64_t t = rte_rdtsc();

    for (unsigned i = 0; i < n; i += DP_BURST)
        t = worker_burst_tsc(w, s, pkts + i, RTE_MIN(n - i, (unsigned)DP_BURST), from_ring, t);
}

/*
 * The HA pair's jobs of one iteration: the control core's datagrams to send (through
 * ip_out), sync records to install, a step of a bulk resync. Returns the work done.
 */
static unsigned worker_ha_poll(struct worker *w, const struct snapshot *s)
{
    struct rte_mbuf *pkts[16];
    struct ha_rec recs[32];
    unsigned n, work = 0;

    if (w->links.ha_tx != NULL) {
        n = rte_ring_sc_dequeue_burst(w->links.ha_tx, (void **)pkts, RTE_DIM(pkts), NULL);
        for (unsigned i = 0; i < n; i++) {
            const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(pkts[i], const struct rte_ipv4_hdr *);
            if (s == NULL) {
                lcore_drop(&w->lc, pkts[i], DROP_NO_CONFIG);
                continue;
            }
            w->stats.ha_tx++;
            ip_out(&w->io, s, pkts[i], ip->dst_addr);
        }
        work += n;
    }
    if (w->links.sync_in != NULL) {
        n = rte_ring_sc_dequeue_burst_elem(w->links.sync_in, recs, sizeof(recs[0]),
                                           RTE_DIM(recs), NULL);
        for (unsigned i = 0; i < n; i++)
            l4_sync_install(&w->l4, s, &recs[i]);
        work += n;
    }
    if (l4_sync_bulk_step(&w->l4, s))
        work++;
    return work;
}

int worker_init(struct worker *w, const struct worker_links *links, uint32_t max_conns,
                int socket)
{
    w->links = *links;
    w->lc.id = links->id;
    w->lc.n_workers = links->n_workers;
    w->lc.pool = links->pool;
    w->lc.to_ctl = links->to_ctl;
    w->lc.sync_out = links->sync_out;
    w->lc.stats = &w->stats.lcore;
    w->lc.traffic = &w->stats.traffic;
    ip_out_init(&w->io, &w->lc, links->neigh, links->ports, &w->stats.ip_out);
    neigh_learn_init(&w->nlearn, &w->lc, links->neigh, &w->stats.neigh_learn);
    forward_init(&w->fw, &w->lc, &w->io, &w->stats.forward);
    if (probes_init(&w->probes, &w->lc, &w->io, NULL, &w->stats.probe) != 0)
        return LBD_EIO;
    if (l4_init(&w->l4, &w->lc, &w->io, &w->fw, &w->stats.l4, max_conns, socket) != 0)
        return LBD_ENOMEM;
    w->l4.log_ring = links->log_ring;
    persist_ctl_init(&w->pctl, &w->lc, w->l4.persist);
    if (ip_reass_init(&w->reass, &w->lc, &w->stats.reass, socket) != 0)
        return LBD_EIO;
    return 0;
}

void worker_free(struct worker *w)
{
    l4_free(&w->l4);
    ip_reass_free(&w->reass);
    w->pctl.persist = NULL;
}

void worker_set_tcp(struct worker *w, struct tcp_stack *tcp, struct proxy *px)
{
    w->tcp = tcp;
    w->proxy = px;
    w->probes.tcp = tcp;
}

/* Sends what waits on every port: its backlog, then its tx buffer (lcore_tx_flush). */
static void worker_flush(struct worker *w)
{
    for (uint16_t i = 0; i < w->n_tx_ports; i++)
        lcore_tx_flush(&w->lc, w->tx_ports[i]);
}

int worker_main(void *arg)
{
    struct worker *w = arg;
    const struct worker_links *ln = &w->links;
    struct rte_mbuf *pkts[DP_BURST];
    struct ctl_msg msgs[16];
    unsigned idle = 0;
    uint64_t t;

    w->cycles_per_ms = rte_get_timer_hz() / 1000;
    w->cycles_per_us = rte_get_timer_hz() / 1000000 ? rte_get_timer_hz() / 1000000 : 1;
    w->lc.now_ms = rte_get_timer_cycles() / w->cycles_per_ms;
    twheel_init(&w->lc.wheel, w->lc.now_ms);
    twheel_set_budget(&w->lc.wheel, DP_TIMER_BUDGET);
    rte_rcu_qsbr_thread_register(ln->qsbr, w->lc.id);
    rte_rcu_qsbr_thread_online(ln->qsbr, w->lc.id);

    /* The clock is read at each stage's end (worker_stage); an iteration's stages are
     * counted when it found work, else the whole iteration is idle. */
    t = rte_rdtsc();
    while (!__atomic_load_n(ln->quit, __ATOMIC_RELAXED)) {
        const struct snapshot *s;
        unsigned work = 0, n;
        uint64_t t0 = t, t_end, fired = w->lc.wheel.fired, cyc[WORKER_STAGE_MAX] = {0};
        bool busy;

        rte_rcu_qsbr_quiescent(ln->qsbr, w->lc.id);
        s = __atomic_load_n(ln->snap, __ATOMIC_ACQUIRE);
        /* Before anything may send (a halted server's sessions are reset below): the
         * previous snapshot may be freed as soon as we passed the quiescent state. */
        w->lc.snap = s;
        if (w->proxy != NULL)
            proxy_set_snapshot(w->proxy, s);
        if (unlikely(s != NULL && s->generation != w->snap_generation)) {
            l4_snapshot_changed(&w->l4, s);
            if (w->proxy != NULL)
                proxy_snapshot_changed(w->proxy, s);
            w->snap_generation = s->generation;
        }

        for (uint16_t i = 0; i < w->n_rx_ports; i++) {
            n = rte_eth_rx_burst(w->rx_ports[i].port, w->rx_ports[i].queue, pkts, DP_BURST);
            if (n == 0)
                continue;
            work += n;
            t = worker_stamp(&cyc[WORKER_STAGE_RX], t);
            t = worker_burst_tsc(w, s, pkts, n, false, t);
        }
        for (unsigned j = 0; j < w->lc.n_workers; j++) {
            if (w->ring_in[j] == NULL)
                continue;
            n = rte_ring_sc_dequeue_burst(w->ring_in[j], (void **)pkts, DP_BURST, NULL);
            if (n == 0)
                continue;
            w->stats.handoff_in += n;
            work += n;
            t = worker_stamp(&cyc[WORKER_STAGE_RX], t);
            t = worker_burst_tsc(w, s, pkts, n, true, t);
        }
        t = worker_stamp(&cyc[WORKER_STAGE_RX], t);
        n = rte_ring_sc_dequeue_burst_elem(ln->from_ctl, msgs, sizeof(msgs[0]),
                                           RTE_DIM(msgs), NULL);
        busy = n != 0;
        for (unsigned i = 0; i < n; i++) {
            if (msgs[i].type == CTL_MSG_PERSIST_LIST || msgs[i].type == CTL_MSG_PERSIST_FLUSH)
                persist_ctl_handle(&w->pctl, &msgs[i]);
            else if (msgs[i].type == CTL_MSG_NEIGH_PROBE)
                worker_neigh_probe(w, s, &msgs[i]);
            else if (msgs[i].type == CTL_MSG_HA_GARP)
                ip_out_garp(&w->io, s, msgs[i].ip, msgs[i].port);
            else if (msgs[i].type == CTL_MSG_HA_BULK)
                l4_sync_bulk_start(&w->l4);
            else
                probe_handle_ctl(&w->probes, s, &msgs[i]);
        }
        work += persist_ctl_poll(&w->pctl); /* a listing in progress is work */
        work += worker_ha_poll(w, s);
        t = worker_stamp(&cyc[WORKER_STAGE_CONTROL], t);

        /* Expiry, retransmission and idle timers of this worker, at most DP_TIMER_BUDGET
         * of them: a backlog is work (no idle sleep) and goes on next iteration. */
        {
            uint64_t cyc = rte_get_timer_cycles();
            w->lc.now_ms = cyc / w->cycles_per_ms;
            if (w->tcp != NULL)     /* RACK's clock (RFC 8985), from the same read */
                tcp_stack_set_clock_us(w->tcp, cyc / w->cycles_per_us);
        }
        twheel_advance(&w->lc.wheel, w->lc.now_ms);
        work += twheel_backlogged(&w->lc.wheel);
        t = worker_stamp(&cyc[WORKER_STAGE_TIMERS], t);
        ip_out_poll(&w->io, s);
        worker_flush(w);
        if (w->tcp != NULL && tcp_stack_tx_waiting(w->tcp)) {
            /* The ports took their backlogs: the connections that held new data back
             * for them (tcp.h) send it now; all of them when the backlog did not empty
             * for DP_TX_WAIT_MAX_MS. */
            bool force = w->lc.now_ms - w->txw_since_ms >= DP_TX_WAIT_MAX_MS;
            if (w->lc.tx_backlog == 0 || force) {
                tcp_stack_tx_resume(w->tcp, w->lc.tx_backlog != 0);
                w->txw_since_ms = w->lc.now_ms;
                worker_flush(w);
            }
        } else {
            w->txw_since_ms = w->lc.now_ms;
        }
        work += w->lc.tx_backlog != 0;      /* a backlog is work: sent on at once */
        t = worker_stamp(&cyc[WORKER_STAGE_TX], t);

        t_end = t;
        if (work != 0) {
            idle = 0;
        } else if (ln->idle_sleep_us != 0 && ++idle > WORKER_IDLE_POLLS) {
            /* Offline while asleep, so that a snapshot swap need not wait for us. */
            rte_rcu_qsbr_thread_offline(ln->qsbr, w->lc.id);
            rte_delay_us_sleep(ln->idle_sleep_us);
            rte_rcu_qsbr_thread_online(ln->qsbr, w->lc.id);
            t = rte_rdtsc();
        }
        /* A message handled or a timer fired is work too, for the accounting. */
        if (busy || work != 0 || w->lc.wheel.fired != fired) {
            w->stats.cycles.busy += t_end - t0;
            for (unsigned k = 0; k < WORKER_STAGE_MAX; k++)
                w->stats.cycles.stage[k] += cyc[k];
            w->stats.cycles.idle += t - t_end;      /* the sleep, if any */
        } else {
            w->stats.cycles.idle += t - t0;
        }
    }

    ip_out_flush(&w->io);
    worker_flush(w);
    lcore_tx_backlog_free(&w->lc);
    rte_rcu_qsbr_thread_offline(ln->qsbr, w->lc.id);
    rte_rcu_qsbr_thread_unregister(ln->qsbr, w->lc.id);
    return 0;
}
