/*
 * l4: Layer 4 NAT, forward and reverse path (hot path, owning worker only).
 */
#include "l4/l4.h"

#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "net/forward.h"
#include "net/ip_out.h"
#include "net/nat.h"
#include "l4/persist.h"
#include "l4/scheduler.h"
#include "worker.h"

void l4_send(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
             const struct pkt_info *pi, uint32_t dst)
{
    uint32_t len;

    rte_pktmbuf_adj(m, pi->l3_off);
    len = rte_pktmbuf_pkt_len(m);
    if (len > pi->l3_len)
        rte_pktmbuf_trim(m, (uint16_t)(len - pi->l3_len));
    ip_out(w, s, m, dst);
}

/*
 * l4_send for a packet of c travelling in dir, through the connection's cached next
 * hop when the neighbour table and the snapshot have not changed since it was looked
 * up (saves the route and neighbour look-ups on every packet but the first).
 */
static void l4_send_conn(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                         const struct pkt_info *pi, struct conn *c, enum conn_dir dir,
                         uint32_t dst)
{
    uint32_t ngen = neigh_generation(w->dp->neigh), sgen = (uint32_t)s->generation;
    uint8_t bit = dir == CONN_DIR_FORWARD ? CONN_F_NH_FWD : CONN_F_NH_REV;
    uint32_t len;

    if (unlikely(c->nh_neigh_gen != ngen || c->nh_snap_gen != sgen)) {
        c->flags &= (uint8_t)~(CONN_F_NH_FWD | CONN_F_NH_REV);
        c->nh_neigh_gen = ngen;
        c->nh_snap_gen = sgen;
    }
    if (unlikely(!(c->flags & bit))) {
        if (!ip_out_resolve(w, s, dst, &c->nh_mac[dir], &c->nh_port[dir])) {
            w->stats.l4_nh_misses++;
            l4_send(w, s, m, pi, dst);
            return;
        }
        c->flags |= bit;
    }
    rte_pktmbuf_adj(m, pi->l3_off);
    len = rte_pktmbuf_pkt_len(m);
    if (len > pi->l3_len)
        rte_pktmbuf_trim(m, (uint16_t)(len - pi->l3_len));
    ip_out_to(w, m, &c->nh_mac[dir], c->nh_port[dir]);
}

void l4_conn_deleted(const struct conn *c, uint64_t now, void *arg)
{
    struct worker *w = arg;

    w->stats.l4_conns_ended++;
    if (c->flags & CONN_F_PERSIST)
        persist_release(w->persist, c->client_ip, c->vs_slot, now);
}

void l4_snapshot_changed(struct worker *w, const struct snapshot *s)
{
    uint32_t ms[CONN_STATE_MAX] = {
        [CONN_TCP_HANDSHAKE] = s->l4.tcp_handshake_ms,
        [CONN_TCP_ESTABLISHED] = s->l4.tcp_established_ms,
        [CONN_TCP_CLOSING] = s->l4.tcp_closing_ms,
        [CONN_UDP] = s->l4.udp_ms,
    };

    conn_table_set_timeouts(w->conns, ms);
}

/*
 * Turns the TCP segment m (as received, parsed into *pi) into the RST that answers
 * its sender (RFC 9293 section 3.10.7.1: seq = its ACK, or ACK = its end) and sends
 * it: a halted server's connection is closed on both sides as their packets come.
 */
static void l4_reset_sender(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                            const struct pkt_info *pi)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(frame + pi->l4_off);
    uint32_t thl = (uint32_t)(tcp->data_off >> 4) * 4, seg, tmp;
    uint8_t in_flags = tcp->tcp_flags;
    uint16_t port;

    if (m->nb_segs != 1 || thl < sizeof(*tcp) || thl > pi->l4_len) {
        worker_drop(w, m, DROP_L4_RS_HALTED);
        return;
    }
    seg = pi->l4_len - thl + !!(in_flags & RTE_TCP_SYN_FLAG) + !!(in_flags & RTE_TCP_FIN_FLAG);
    tmp = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = tmp;
    port = tcp->src_port;
    tcp->src_port = tcp->dst_port;
    tcp->dst_port = port;
    if (in_flags & RTE_TCP_ACK_FLAG) {
        tcp->sent_seq = tcp->recv_ack;
        tcp->recv_ack = 0;
        tcp->tcp_flags = RTE_TCP_RST_FLAG;
    } else {
        tcp->recv_ack = rte_cpu_to_be_32(rte_be_to_cpu_32(tcp->sent_seq) + seg);
        tcp->sent_seq = 0;
        tcp->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
    }
    tcp->data_off = (sizeof(*tcp) / 4) << 4;
    tcp->rx_win = 0;
    tcp->tcp_urp = 0;
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + sizeof(*tcp));
    ip->packet_id = 0;
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->hdr_checksum = 0;
    /* The TCP header follows a 20-byte IP header now (options dropped). */
    if ((uint8_t *)tcp != (uint8_t *)(ip + 1)) {
        memmove(ip + 1, tcp, sizeof(*tcp));
        tcp = (struct rte_tcp_hdr *)(ip + 1);
    }
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    tcp->cksum = 0;
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    rte_pktmbuf_adj(m, pi->l3_off);
    rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - sizeof(*ip) - sizeof(*tcp)));
    m->ol_flags = 0;
    w->stats.l4_halt_resets++;
    ip_out(w, s, m, ip->dst_addr);
}

static inline uint8_t l4_tcp_flags(const struct pkt_info *pi, const uint8_t *l4)
{
    return pi->ip_proto == IPPROTO_TCP ? ((const struct rte_tcp_hdr *)l4)->tcp_flags : 0;
}

/*
 * The real server for a new connection of the client to vs: its persistent one when
 * it may still take new connections, else the scheduler's. *pe: the client's entry,
 * if any.
 */
static const struct snap_rs *l4_choose(struct worker *w, const struct snapshot *s,
                                       const struct snap_vs *vs, const struct pkt_info *pi,
                                       struct persist_entry **pe)
{
    struct sched_flow f = {
        .client_ip = pi->src_ip,
        .vip = pi->dst_ip,
        .client_port = rte_cpu_to_be_16(pi->src_port),
        .vport = rte_cpu_to_be_16(pi->dst_port),
        .proto = pi->ip_proto,
    };
    const struct snap_rs *rs;

    *pe = NULL;
    if (vs->persist) {
        *pe = persist_lookup(w->persist, pi->src_ip, vs->slot);
        if (*pe != NULL) {
            rs = snapshot_rs(s, (*pe)->rs_idx, (*pe)->rs_id);
            /* Drain and halt move persistent clients too (DESIGN.md section 5). */
            if (rs != NULL && &s->vs[rs->vs] == vs &&
                sched_eligible(w->sched, w->stats.rs_active_conns, rs)) {
                w->stats.l4_persist_hits++;
                return rs;
            }
            w->stats.l4_persist_moved++;
        }
    }
    return sched_pick(w->sched, w->stats.rs_active_conns, vs, &f);
}

/* A new connection for the client's packet k; NULL when m was dropped. */
static struct conn *l4_new_conn(struct worker *w, const struct snapshot *s,
                                struct rte_mbuf *m, const struct pkt_info *pi,
                                const struct snap_vs *vs, const struct conn_key *k,
                                uint8_t tcp_flags)
{
    struct persist_entry *pe;
    const struct snap_rs *rs = l4_choose(w, s, vs, pi, &pe);
    enum conn_state state = CONN_UDP;
    enum conn_err why;
    struct conn *c;

    if (unlikely(rs == NULL)) {
        worker_drop(w, m, DROP_L4_NO_REAL_SERVER);
        return NULL;
    }
    if (pi->ip_proto == IPPROTO_TCP) {
        state = CONN_TCP_HANDSHAKE;
        if (!(tcp_flags & RTE_TCP_SYN_FLAG)) {
            /* Mid-stream (expired entry, or a flow from a peer appliance): carry it. */
            state = CONN_TCP_ESTABLISHED;
            w->stats.l4_conns_midstream++;
        }
    }
    c = conn_create(w->conns, k, rs->ip, rs->port ? rte_cpu_to_be_16(rs->port) : k->dst_port,
                    rs->idx, rs->id, vs->slot, state, w->now_ms, &why);
    if (unlikely(c == NULL)) {
        worker_drop(w, m, why == CONN_COLLISION ? DROP_L4_CONN_COLLISION
                                                : DROP_L4_CONN_TABLE_FULL);
        return NULL;
    }
    w->stats.l4_conns_created++;
    w->stats.vs[vs->slot].conns++;
    w->stats.rs[rs->idx].conns++;
    if (vs->persist) {
        if (pe != NULL) {
            pe->rs_id = rs->id;
            pe->rs_idx = rs->idx;
            persist_touch(pe, vs->persist_timeout_ms, w->now_ms);
        } else {
            pe = persist_insert(w->persist, pi->src_ip, vs->slot, rs->idx, rs->id,
                                vs->persist_timeout_ms, w->now_ms);
            if (pe != NULL)
                w->stats.l4_persist_created++;
            else
                w->stats.l4_persist_full++;
        }
        if (pe != NULL) {
            pe->n_conns++;
            c->flags |= CONN_F_PERSIST;
        }
    }
    return c;
}

static inline void l4_client_key(const struct pkt_info *pi, struct conn_key *k)
{
    *k = (struct conn_key){
        .src_ip = pi->src_ip,
        .dst_ip = pi->dst_ip,
        .src_port = rte_cpu_to_be_16(pi->src_port),
        .dst_port = rte_cpu_to_be_16(pi->dst_port),
        .proto = pi->ip_proto,
    };
}

struct conn *l4_client_conn(struct worker *w, const struct pkt_info *pi)
{
    struct conn_key k;
    enum conn_dir dir;
    struct conn *c;

    l4_client_key(pi, &k);
    c = conn_lookup(w->conns, &k, &dir);
    return c != NULL && dir == CONN_DIR_FORWARD ? c : NULL;
}

void l4_from_client(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi, const struct snap_vs *vs, struct conn *c)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    uint8_t *l4 = frame + pi->l4_off;
    uint8_t flags = l4_tcp_flags(pi, l4);
    struct conn_key k;
    enum conn_dir dir;

    l4_client_key(pi, &k);
    if (c == NULL) {
        c = conn_lookup(w->conns, &k, &dir);
        if (unlikely(c != NULL && dir != CONN_DIR_FORWARD)) {
            worker_drop(w, m, DROP_L4_CONN_COLLISION);
            return;
        }
    }
    if (c != NULL) {
        const struct snap_rs *rs = snapshot_rs(s, c->rs_idx, c->rs_id);
        /* Halt closes existing connections; a new SYN or UDP packet is rescheduled. */
        if (unlikely(rs != NULL && rs->state == CFG_RS_HALT)) {
            conn_delete(w->conns, c, w->now_ms);
            w->stats.l4_conns_halted++;
            c = NULL;
            if (pi->ip_proto == IPPROTO_TCP && !(flags & RTE_TCP_SYN_FLAG)) {
                if (flags & RTE_TCP_RST_FLAG)
                    worker_drop(w, m, DROP_L4_RS_HALTED);
                else
                    l4_reset_sender(w, s, m, pi); /* the client learns it is closed */
                return;
            }
        }
    }
    if (c == NULL) {
        if (pi->ip_proto == IPPROTO_TCP && (flags & RTE_TCP_RST_FLAG)) {
            worker_drop(w, m, DROP_L4_TCP_NO_CONN);
            return;
        }
        /* The caller went by the connection; a new one needs the service. */
        if (vs == NULL)
            vs = snapshot_service(s, pi->dst_ip, pi->ip_proto, pi->dst_port);
        if (unlikely(vs == NULL || vs->layer != 4)) {
            worker_drop(w, m, DROP_NO_SERVICE);
            return;
        }
        c = l4_new_conn(w, s, m, pi, vs, &k, flags);
        if (c == NULL)
            return;
    }
    conn_update(c, CONN_DIR_FORWARD, flags, w->now_ms);
    nat_rewrite_dst(ip, l4, pi->ip_proto, c->rs_ip, c->rs_port);
    w->stats.l4_forward_packets++;
    w->stats.rs[c->rs_idx].bytes_in += pi->l3_len;
    w->stats.rs[c->rs_idx].packets_in++;
    l4_send_conn(w, s, m, pi, c, CONN_DIR_FORWARD, c->rs_ip);
}

bool l4_from_server(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    uint8_t *l4 = frame + pi->l4_off;
    struct conn_key k = {
        .src_ip = pi->src_ip,
        .dst_ip = pi->dst_ip,
        .src_port = rte_cpu_to_be_16(pi->src_port),
        .dst_port = rte_cpu_to_be_16(pi->dst_port),
        .proto = pi->ip_proto,
    };
    const struct snap_rs *rs;
    enum conn_dir dir;
    struct conn *c = conn_lookup(w->conns, &k, &dir);

    if (c == NULL || dir != CONN_DIR_REVERSE)
        return false;
    rs = snapshot_rs(s, c->rs_idx, c->rs_id);
    if (unlikely(rs != NULL && rs->state == CFG_RS_HALT)) {
        conn_delete(w->conns, c, w->now_ms);
        w->stats.l4_conns_halted++;
        /* The server learns its connection is closed (the RST bears the client's address). */
        if (pi->ip_proto == IPPROTO_TCP && !(l4_tcp_flags(pi, l4) & RTE_TCP_RST_FLAG))
            l4_reset_sender(w, s, m, pi);
        else
            worker_drop(w, m, DROP_L4_RS_HALTED);
        return true;
    }
    /* The answer is routed: the TTL goes down on the way through. */
    if (unlikely(!nat_ttl_decrement(ip))) {
        forward_time_exceeded(w, s, m, pi);
        return true;
    }
    conn_update(c, CONN_DIR_REVERSE, l4_tcp_flags(pi, l4), w->now_ms);
    nat_rewrite_src(ip, l4, pi->ip_proto, c->vip, c->vport);
    w->stats.l4_reverse_packets++;
    w->stats.vs[c->vs_slot].packets_out++;
    w->stats.vs[c->vs_slot].bytes_out += pi->l3_len;
    w->stats.rs[c->rs_idx].bytes_out += pi->l3_len;
    w->stats.rs[c->rs_idx].packets_out++;
    l4_send_conn(w, s, m, pi, c, CONN_DIR_REVERSE, pi->dst_ip);
    return true;
}
