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

/* Whether ip is the address of a real server of a Layer 4 service (a scan: fragments
 * only). */
static bool worker_is_l4_rs(const struct snapshot *s, uint32_t ip)
{
    for (uint32_t i = 0; i < s->n_rs; i++)
        if (s->rs[i].ip == ip && s->vs[s->rs[i].vs].layer == 4)
            return true;
    return false;
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

/*
 * One packet. from_ring: it came from another worker, which already counted it,
 * checked its Ethernet header and its IP checksum, and found that we own it.
 */
static void worker_packet(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                          bool from_ring)
{
    const struct dp_port *port = &w->links.ports[m->port];
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    uint32_t len = rte_pktmbuf_data_len(m);
    const struct snap_vs *vs = NULL;
    enum owner_dst dst = OWNER_DST_FOREIGN;
    struct pkt_info pi;
    enum drop_reason r;
    enum rx_csum ip_csum = rx_csum_ip(m);
    int kind;

    if (!from_ring) {
        const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)frame;
        w->stats.rx_packets++;
        w->stats.rx_bytes += rte_pktmbuf_pkt_len(m);
        if (len < RTE_ETHER_HDR_LEN) {
            lcore_drop(&w->lc, m, DROP_MALFORMED_ETH);
            return;
        }
        /* Ports are set up for one segment per frame (no scatter, no LRO; the pool's
         * mbufs hold a whole frame); the parser reads the first one only. */
        if (unlikely(m->nb_segs != 1)) {
            lcore_drop(&w->lc, m, DROP_RX_MULTI_SEGMENT);
            return;
        }
        if (rte_is_same_ether_addr(&eth->src_addr, &port->mac)) {
            lcore_drop(&w->lc, m, DROP_OWN_FRAME);
            return;
        }
        if (!rte_is_same_ether_addr(&eth->dst_addr, &port->mac) &&
            !rte_is_broadcast_ether_addr(&eth->dst_addr)) {
            lcore_drop(&w->lc, m, DROP_NOT_OUR_MAC);
            return;
        }
    }
    if (unlikely(s == NULL)) {
        lcore_drop(&w->lc, m, DROP_NO_CONFIG);
        return;
    }

    /* The IPv4 header checksum: the port's verdict, else the parser's (rx_csum.h). */
    if (unlikely(ip_csum == RX_CSUM_BAD)) {
        lcore_drop(&w->lc, m, DROP_BAD_IP_CHECKSUM);
        return;
    }
    r = pkt_parse(frame, len, !from_ring && ip_csum == RX_CSUM_VERIFY, &pi);
    if (r != DROP_NONE) {
        lcore_drop(&w->lc, m, r);
        return;
    }
    if (unlikely((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_NONE) &&
        pi.l3 == PKT_L3_IPV4)
        rx_csum_ip_fix(m, &pi);

    kind = snapshot_addr_kind(s, pi.dst_ip);
    /* The backup of an HA pair leaves the VIPs and floating addresses to the master. */
    if (unlikely(s->ha_standby) && (kind == SNAP_ADDR_VIP || kind == SNAP_ADDR_FLOATING)) {
        lcore_drop(&w->lc, m, DROP_HA_STANDBY);
        return;
    }
    /* Fast path: a packet of an existing Layer 4 connection of this worker. */
    if (kind == SNAP_ADDR_VIP && pi.l3 == PKT_L3_IPV4 && !pi.is_fragment &&
        (pi.ip_proto == IPPROTO_TCP || pi.ip_proto == IPPROTO_UDP)) {
        struct conn *c = l4_client_conn(&w->l4, &pi);
        if (c != NULL) {
            w->stats.traffic.vs[c->vs_slot].packets_in++;
            w->stats.traffic.vs[c->vs_slot].bytes_in += pi.l3_len;
            l4_from_client(&w->l4, s, m, &pi, NULL, c);
            return;
        }
    }
    if (kind != 0 && pi.l3 == PKT_L3_IPV4) {
        dst = OWNER_DST_LOCAL;
        if (!pi.is_fragment && (pi.ip_proto == IPPROTO_TCP || pi.ip_proto == IPPROTO_UDP)) {
            vs = snapshot_service(s, pi.dst_ip, pi.ip_proto, pi.dst_port);
            if (vs != NULL)
                dst = OWNER_DST_SERVICE;
        }
    }

    if (!from_ring) {
        unsigned owner = owner_of(&pi, dst, w->lc.n_workers);
        if (owner != w->lc.id) {
            w->stage[owner][w->stage_n[owner]++] = m;
            return;
        }
    }

    if (pi.l3 == PKT_L3_ARP) {
        worker_arp(w, s, m, frame, &pi, kind != 0);
        return;
    }
    if (kind == 0) {
        /* A real server's answer to a Layer 4 client, or traffic to route. */
        if (unlikely(pi.is_fragment) &&
            (pi.ip_proto == IPPROTO_TCP || pi.ip_proto == IPPROTO_UDP) &&
            worker_is_l4_rs(s, pi.src_ip)) {
            worker_server_fragment(w, s, m, &pi);
            return;
        }
        if (!pi.is_fragment && (pi.ip_proto == IPPROTO_TCP || pi.ip_proto == IPPROTO_UDP) &&
            l4_from_server(&w->l4, s, m, &pi))
            return;
        if (pi.icmp_inner_dst != 0 && pi.ip_proto == IPPROTO_ICMP &&
            l4_icmp_from_server(&w->l4, s, m, &pi))
            return;
        forward_packet(&w->fw, s, m, &pi);
        return;
    }
    worker_local(w, s, m, frame, &pi, vs, kind);
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

void worker_burst(struct worker *w, const struct snapshot *s, struct rte_mbuf **pkts,
                  unsigned n, bool from_ring)
{
    for (unsigned i = 0; i < n; i++) {
        if (i + 1 < n)
            rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
        worker_packet(w, s, pkts[i], from_ring);
    }
    if (!from_ring)
        worker_flush_stage(w);
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

int worker_main(void *arg)
{
    struct worker *w = arg;
    const struct worker_links *ln = &w->links;
    struct rte_mbuf *pkts[DP_BURST];
    struct ctl_msg msgs[16];
    unsigned idle = 0;

    w->cycles_per_ms = rte_get_timer_hz() / 1000;
    w->lc.now_ms = rte_get_timer_cycles() / w->cycles_per_ms;
    twheel_init(&w->lc.wheel, w->lc.now_ms);
    twheel_set_budget(&w->lc.wheel, DP_TIMER_BUDGET);
    rte_rcu_qsbr_thread_register(ln->qsbr, w->lc.id);
    rte_rcu_qsbr_thread_online(ln->qsbr, w->lc.id);

    while (!__atomic_load_n(ln->quit, __ATOMIC_RELAXED)) {
        const struct snapshot *s;
        unsigned work = 0, n;

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
            n = rte_eth_rx_burst(w->rx_ports[i], (uint16_t)w->lc.id, pkts, DP_BURST);
            work += n;
            worker_burst(w, s, pkts, n, false);
        }
        for (unsigned j = 0; j < w->lc.n_workers; j++) {
            if (w->ring_in[j] == NULL)
                continue;
            n = rte_ring_sc_dequeue_burst(w->ring_in[j], (void **)pkts, DP_BURST, NULL);
            w->stats.handoff_in += n;
            work += n;
            worker_burst(w, s, pkts, n, true);
        }
        n = rte_ring_sc_dequeue_burst_elem(ln->from_ctl, msgs, sizeof(msgs[0]),
                                           RTE_DIM(msgs), NULL);
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

        /* Expiry, retransmission and idle timers of this worker, at most DP_TIMER_BUDGET
         * of them: a backlog is work (no idle sleep) and goes on next iteration. */
        w->lc.now_ms = rte_get_timer_cycles() / w->cycles_per_ms;
        twheel_advance(&w->lc.wheel, w->lc.now_ms);
        work += twheel_backlogged(&w->lc.wheel);
        ip_out_poll(&w->io, s);
        for (uint16_t i = 0; i < w->n_tx_ports; i++) {
            uint16_t p = w->tx_ports[i];
            w->stats.lcore.tx_packets += rte_eth_tx_buffer_flush(p, (uint16_t)w->lc.id, w->lc.txb[p]);
        }

        if (work != 0) {
            idle = 0;
        } else if (ln->idle_sleep_us != 0 && ++idle > WORKER_IDLE_POLLS) {
            /* Offline while asleep, so that a snapshot swap need not wait for us. */
            rte_rcu_qsbr_thread_offline(ln->qsbr, w->lc.id);
            rte_delay_us_sleep(ln->idle_sleep_us);
            rte_rcu_qsbr_thread_online(ln->qsbr, w->lc.id);
        }
    }

    ip_out_flush(&w->io);
    for (uint16_t i = 0; i < w->n_tx_ports; i++) {
        uint16_t p = w->tx_ports[i];
        w->stats.lcore.tx_packets += rte_eth_tx_buffer_flush(p, (uint16_t)w->lc.id, w->lc.txb[p]);
    }
    rte_rcu_qsbr_thread_offline(ln->qsbr, w->lc.id);
    rte_rcu_qsbr_thread_unregister(ln->qsbr, w->lc.id);
    return 0;
}
