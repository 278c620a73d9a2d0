/*
 * l4: Layer 4 NAT, forward and reverse path (hot path, owning worker only).
 */
#include "l4/l4.h"

#include <stdio.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include "err.h"
#include "l4/l4_log.h"
#include "l4/l4_sync.h"
#include "l4/synproxy.h"
#include "net/icmp_err.h"
#include "net/nat.h"
#include "net/neigh.h"
#include "net/rx_csum.h"

static uint32_t l4_conn_halted(struct conn *c, uint64_t now, void *arg);
static void l4_conn_refreshed(const struct conn *c, void *arg);

int l4_init(struct l4 *l4, struct lcore_ctx *lc, struct ip_out *io, struct forward *fw,
            struct l4_stats *stats, uint32_t max_conns, int socket)
{
    char name[RTE_HASH_NAMESIZE];

    *l4 = (struct l4){.lc = lc, .io = io, .fw = fw, .stats = stats};
    snprintf(name, sizeof(name), "conn_w%u", lc->id);
    l4->conns = conn_table_create(name, max_conns, socket, &lc->wheel,
                                  lc->traffic->rs_active_conns);
    snprintf(name, sizeof(name), "persist_w%u", lc->id);
    l4->persist = persist_table_create(name, max_conns, socket, &lc->wheel);
    l4->sched = rte_zmalloc_socket("sched", sizeof(*l4->sched), RTE_CACHE_LINE_SIZE, socket);
    l4->sp = synproxy_create(max_conns, socket, lc->now_ms);
    if (l4->conns == NULL || l4->persist == NULL || l4->sched == NULL || l4->sp == NULL) {
        l4_free(l4);
        return LBD_ENOMEM;
    }
    sched_init(l4->sched, lc->n_workers);
    conn_table_on_delete(l4->conns, l4_conn_deleted, l4);
    conn_table_on_halted(l4->conns, l4_conn_halted, l4);
    conn_table_on_refresh(l4->conns, l4_conn_refreshed, l4);
    return 0;
}

void l4_free(struct l4 *l4)
{
    conn_table_free(l4->conns);
    persist_table_free(l4->persist);
    rte_free(l4->sched);
    synproxy_free(l4->sp);
    l4->sp = NULL;
    l4->conns = NULL;
    l4->persist = NULL;
    l4->sched = NULL;
}

/*
 * ip_out_frame for a packet of c travelling in dir, through the connection's cached next
 * hop when the neighbour table and the snapshot have not changed since it was looked
 * up (saves the route and neighbour look-ups on every packet but the first).
 */
/* Out of line, for l4_send_conn: the next hop of c in dir is not cached (first packet
 * that way, or a generation moved). Caches it and returns true, or sends m through
 * ip_out_frame (nh_misses) and returns false. */
static bool __rte_noinline l4_send_resolve(struct l4 *l4, const struct snapshot *s,
                                           struct rte_mbuf *m, const struct pkt_info *pi,
                                           struct conn *c, enum conn_dir dir, uint32_t dst)
{
    uint32_t ngen = ip_out_neigh_gen(l4->io), sgen = (uint32_t)s->generation;
    uint8_t bit = dir == CONN_DIR_FORWARD ? CONN_F_NH_FWD : CONN_F_NH_REV;

    if (c->nh_neigh_gen != ngen || c->nh_snap_gen != sgen) {
        c->flags &= (uint8_t)~(CONN_F_NH_FWD | CONN_F_NH_REV);
        c->nh_neigh_gen = ngen;
        c->nh_snap_gen = sgen;
    }
    if (!(c->flags & bit)) {
        if (!ip_out_resolve(l4->io, s, dst, &c->nh_mac[dir], &c->nh_port[dir])) {
            l4->stats->nh_misses++;
            ip_out_frame(l4->io, s, m, pi, dst);
            return false;
        }
        c->flags |= bit;
    }
    return true;
}

/* Inline: every packet of a connection leaves through here. */
static __rte_always_inline void l4_send_conn(struct l4 *l4, const struct snapshot *s,
                                             struct rte_mbuf *m, const struct pkt_info *pi,
                                             struct conn *c, enum conn_dir dir, uint32_t dst)
{
    uint8_t bit = dir == CONN_DIR_FORWARD ? CONN_F_NH_FWD : CONN_F_NH_REV;
    uint32_t len;

    if (unlikely(c->nh_neigh_gen != ip_out_neigh_gen(l4->io) ||
                 c->nh_snap_gen != (uint32_t)s->generation || !(c->flags & bit)) &&
        !l4_send_resolve(l4, s, m, pi, c, dir, dst))
        return;
    rte_pktmbuf_adj(m, pi->l3_off);
    len = rte_pktmbuf_pkt_len(m);
    if (len > pi->l3_len)
        rte_pktmbuf_trim(m, (uint16_t)(len - pi->l3_len));
    ip_out_to(l4->io, m, &c->nh_mac[dir], c->nh_port[dir]);
}

/*
 * A packet of a connection, towards dst, longer than the MTU of the port the route to
 * dst takes and with DF set: answered with ICMP fragmentation needed from `from` (the
 * VIP for the client, which knows no other address; the self IP of the port it came
 * in on for the real server, whose gateway lbd is), quoting the packet as it came,
 * before the rewrite, so that the sender matches it to its flow; dropped
 * (frag_needed). True when so. Without DF, ip_out fragments it. One comparison, inline,
 * when the packet fits every port (l4_too_big); from (0: the self IP of the port m
 * came in on) is looked at only past it.
 */
static bool __rte_noinline l4_too_big_slow(struct l4 *l4, const struct snapshot *s,
                                           struct rte_mbuf *m, const struct pkt_info *pi,
                                           uint32_t dst, uint32_t from)
{
    const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
                                                            pi->l3_off);
    uint32_t nh;
    uint16_t port, mtu;

    if (!(ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG)) ||
        snapshot_route(s, dst, &nh, &port) != 0)
        return false;
    if (from == 0)
        from = m->port < SNAP_MAX_PORTS && s->ports[m->port].configured
                   ? s->ports[m->port].self_ip
                   : 0;
    mtu = lcore_mtu(l4->lc, port);
    if (pi->l3_len <= mtu)
        return false;
    ip_out_frag_needed(l4->io, s, ip, rte_pktmbuf_data_len(m) - pi->l3_off, mtu, from);
    lcore_drop(l4->lc, m, DROP_FRAG_NEEDED);
    return true;
}

static inline bool l4_too_big(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                              const struct pkt_info *pi, uint32_t dst, uint32_t from)
{
    if (likely(pi->l3_len <= lcore_mtu_min(l4->lc)))
        return false;
    return l4_too_big_slow(l4, s, m, pi, dst, from);
}

/* The expiry timer found c used since: the backup's copy is refreshed too. */
static void l4_conn_refreshed(const struct conn *c, void *arg)
{
    l4_sync_conn(arg, c);
}

void l4_conn_deleted(const struct conn *c, uint64_t now, enum conn_end why, void *arg)
{
    struct l4 *l4 = arg;

    l4->stats->conns_ended++;
    l4_sync_conn_del(l4, c);
    if (c->log)
        l4_log_conn(l4, c, l4_log_end(c, why), now);
    if (c->flags & CONN_F_PERSIST)
        persist_release(l4->persist, c->persist_ref, now);
    if (c->synproxy)
        synproxy_conn_end(l4, c);
}

/*
 * A client's SYN reopened the closing entry c on the same ports: the connection that
 * closed is over (logged as its FIN or RST ended it, at its last packet, seen), and c
 * counts the new one from now.
 */
static void l4_conn_reopened(struct l4 *l4, struct conn *c, uint64_t seen)
{
    if (c->log)
        l4_log_conn(l4, c, l4_log_end(c, CONN_END_EXPIRED), seen);
    conn_restart(c, l4->lc->now_ms);
}

void l4_snapshot_changed(struct l4 *l4, const struct snapshot *s)
{
    uint32_t ms[CONN_STATE_MAX] = {
        [CONN_TCP_HANDSHAKE] = s->l4.tcp_handshake_ms,
        [CONN_TCP_ESTABLISHED] = s->l4.tcp_established_ms,
        [CONN_TCP_CLOSING] = s->l4.tcp_closing_ms,
        [CONN_UDP] = s->l4.udp_ms,
    };

    conn_table_set_timeouts(l4->conns, ms);
}

/*
 * Turns the TCP segment m (as received, parsed into *pi) into the RST that answers
 * its sender (RFC 9293 section 3.10.7.1: seq = its ACK, or ACK = its end) and sends
 * it: a halted server's connection is closed on both sides as their packets come.
 */
static void l4_reset_sender(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                            const struct pkt_info *pi)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(frame + pi->l4_off);
    uint32_t thl = (uint32_t)(tcp->data_off >> 4) * 4, seg, tmp;
    uint8_t in_flags = tcp->tcp_flags;
    uint16_t port;

    if (m->nb_segs != 1 || thl < sizeof(*tcp) || thl > pi->l4_len) {
        lcore_drop(l4->lc, m, DROP_L4_RS_HALTED);
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
    l4->stats->halt_resets++;
    ip_out(l4->io, s, m, ip->dst_addr);
}

bool l4_send_tcp(struct l4 *l4, const struct snapshot *s, uint32_t src, uint16_t sport,
                 uint32_t dst, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                 uint16_t win, const uint8_t *opts, uint32_t opt_len)
{
    struct rte_mbuf *m = lcore_alloc(l4->lc);
    uint32_t len = (uint32_t)(sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_tcp_hdr)) +
                   opt_len;
    struct rte_ipv4_hdr *ip;
    struct rte_tcp_hdr *tcp;

    if (unlikely(m == NULL))
        return false;
    ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(m, (uint16_t)len);
    if (unlikely(ip == NULL)) {
        rte_pktmbuf_free(m);
        return false;
    }
    tcp = (struct rte_tcp_hdr *)(ip + 1);
    memset(ip, 0, len);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->total_length = rte_cpu_to_be_16((uint16_t)len);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_TCP;
    ip->src_addr = src;
    ip->dst_addr = dst;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    tcp->src_port = sport;
    tcp->dst_port = dport;
    tcp->sent_seq = rte_cpu_to_be_32(seq);
    tcp->recv_ack = rte_cpu_to_be_32(ack);
    tcp->data_off = (uint8_t)(((sizeof(*tcp) + opt_len) / 4) << 4);
    tcp->tcp_flags = flags;
    tcp->rx_win = rte_cpu_to_be_16(win);
    if (opt_len != 0)
        memcpy(tcp + 1, opts, opt_len);
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    ip_out(l4->io, s, m, dst);
    return true;
}

/*
 * Sends a bare RST src:sport -> dst:dport (network order) with sequence number seq
 * (host order): when a halted server's connection is closed on a packet of one side,
 * the other side is told too. Slow path (halt only); counted as halt_resets, or
 * mbuf_alloc_failed.
 */
static void l4_send_rst(struct l4 *l4, const struct snapshot *s, uint32_t src,
                        uint16_t sport, uint32_t dst, uint16_t dport, uint32_t seq)
{
    if (l4_send_tcp(l4, s, src, sport, dst, dport, seq, 0, RTE_TCP_RST_FLAG, 0, NULL, 0))
        l4->stats->halt_resets++;
}

/*
 * The timer of a connection closed by halt: the client's RST is sent again, at most
 * L4_HALT_TRIES times L4_HALT_RETRY_MS apart, then the entry goes. The first may have
 * been lost, or been in the window but not exactly at RCV.NXT (data in flight the client
 * dropped) while the challenge ACK it calls for was held back by the client's own limit
 * (Linux: one a socket per 500 ms); a client with nothing to send would then wait for
 * ever. The spacing lets each try draw a challenge ACK, which the client path answers
 * with an RST at its ACK. Slow path (halt only).
 */
static uint32_t l4_conn_halted(struct conn *c, uint64_t now, void *arg)
{
    struct l4 *l4 = arg;

    (void)now;
    if (c->proto != IPPROTO_TCP || !(c->flags & CONN_F_SEQ_REV) ||
        c->halt_tries >= L4_HALT_TRIES || l4->lc->snap == NULL)
        return 0;
    c->halt_tries++;
    l4->stats->halt_rst_retries++;
    l4_send_rst(l4, l4->lc->snap, c->vip, c->vport, c->client_ip, c->client_port,
                c->seq_end[CONN_DIR_REVERSE]);
    return L4_HALT_RETRY_MS;
}

static inline uint8_t l4_tcp_flags(const struct pkt_info *pi, const uint8_t *l4)
{
    return pi->ip_proto == IPPROTO_TCP ? ((const struct rte_tcp_hdr *)l4)->tcp_flags : 0;
}

/* The sequence number just after TCP segment l4 (host order): its data, SYN and FIN. */
static inline uint32_t l4_tcp_seq_end(const struct pkt_info *pi, const uint8_t *l4)
{
    const struct rte_tcp_hdr *tcp = (const struct rte_tcp_hdr *)l4;
    uint32_t thl = (uint32_t)(tcp->data_off >> 4) * 4;
    uint32_t len = pi->l4_len > thl ? pi->l4_len - thl : 0;

    return rte_be_to_cpu_32(tcp->sent_seq) + len + !!(tcp->tcp_flags & RTE_TCP_SYN_FLAG) +
           !!(tcp->tcp_flags & RTE_TCP_FIN_FLAG);
}

/*
 * A SYN or SYN-ACK offers an MSS no larger than the narrowest port allows (its MTU less
 * the 40 bytes of IPv4 and TCP headers): Linux's clamp-mss-to-pmtu, so that neither end
 * sends segments lbd would have to refuse (DF) or fragment. One test for other segments.
 */
static inline void l4_clamp_mss(struct l4 *l4, const struct rte_mbuf *m,
                                const struct pkt_info *pi, uint8_t *l4h)
{
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4h;
    uint32_t thl;

    if (likely(pi->ip_proto != IPPROTO_TCP || !(tcp->tcp_flags & RTE_TCP_SYN_FLAG)))
        return;
    thl = (uint32_t)(tcp->data_off >> 4) * 4;
    if (thl <= sizeof(*tcp) || thl > pi->l4_len || pi->l4_off + thl > rte_pktmbuf_data_len(m))
        return;
    if (nat_tcp_clamp_mss(tcp, thl, (uint16_t)(lcore_mtu_min(l4->lc) - 40)))
        l4->stats->mss_clamped++;
}

/* Notes how far side dir of TCP connection c has sent (RFC 9293 serial arithmetic:
 * a retransmission or a window probe does not move it back). */
static inline void l4_track_seq(struct conn *c, enum conn_dir dir, const struct pkt_info *pi,
                                const uint8_t *l4)
{
    uint8_t bit = dir == CONN_DIR_FORWARD ? CONN_F_SEQ_FWD : CONN_F_SEQ_REV;
    uint32_t end;

    if (pi->ip_proto != IPPROTO_TCP)
        return;
    end = l4_tcp_seq_end(pi, l4);
    if (!(c->flags & bit) || (int32_t)(end - c->seq_end[dir]) > 0) {
        c->seq_end[dir] = end;
        c->flags |= bit;
        if (dir == CONN_DIR_REVERSE)
            c->flags &= (uint8_t)~CONN_F_SEQ_SYNC;     /* seen here now, not the master's */
    }
}

/*
 * The real server for a new connection of the client to vs: its persistent one when
 * it may still take new connections, else the scheduler's. *pe: the client's entry,
 * if any.
 */
static const struct snap_rs *l4_choose(struct l4 *l4, const struct snapshot *s,
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
        *pe = persist_lookup(l4->persist, pi->src_ip, vs->slot);
        if (*pe != NULL) {
            rs = snapshot_rs(s, (*pe)->rs_idx, (*pe)->rs_id);
            /* Drain and halt move persistent clients too (DESIGN.md section 5). */
            if (rs != NULL && &s->vs[rs->vs] == vs &&
                sched_eligible(l4->sched, l4->lc->traffic->rs_active_conns, rs)) {
                l4->stats->persist_hits++;
                return rs;
            }
            l4->stats->persist_moved++;
        }
    }
    return sched_pick(l4->sched, l4->lc->traffic->rs_active_conns, vs, &f);
}

/* A new connection for the client's packet k; NULL when m was dropped. proven: a
 * returning SYN cookie (synproxy.h), opened in the handshake beyond the half-open cap. */
static struct conn *l4_new_conn(struct l4 *l4, const struct snapshot *s,
                                struct rte_mbuf *m, const struct pkt_info *pi,
                                const struct snap_vs *vs, const struct conn_key *k,
                                uint8_t tcp_flags, bool proven)
{
    struct persist_entry *pe;
    const struct snap_rs *rs;
    enum conn_state state = CONN_UDP;
    enum conn_err why;
    struct conn *c;

    /*
     * Only a SYN opens a TCP connection: anything else without an entry (a spoofed
     * ACK flood, a flow whose entry expired) would otherwise take a table entry and a
     * persistence entry and be forwarded to a real server. layer4.tcp_midstream
     * carries such packets as established instead (the backup of an HA pair taking
     * over flows it was not told about). Half-open entries are capped per worker, so
     * that a SYN flood cannot take the table from established connections.
     */
    if (pi->ip_proto == IPPROTO_TCP && !proven) {
        state = CONN_TCP_HANDSHAKE;
        if ((tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != RTE_TCP_SYN_FLAG) {
            if (!s->l4.tcp_midstream) {
                lcore_drop(l4->lc, m, DROP_L4_TCP_NOT_SYN);
                return NULL;
            }
            state = CONN_TCP_ESTABLISHED;
        } else if (unlikely(l4->conns->half_open >= s->l4.max_half_open)) {
            lcore_drop(l4->lc, m, DROP_L4_HALF_OPEN_FULL);
            return NULL;
        }
    } else if (proven) {
        state = CONN_TCP_HANDSHAKE;
    }
    rs = l4_choose(l4, s, vs, pi, &pe);
    if (unlikely(rs == NULL)) {
        lcore_drop(l4->lc, m, DROP_L4_NO_REAL_SERVER);
        return NULL;
    }
    if (state == CONN_TCP_ESTABLISHED)
        l4->stats->conns_midstream++;
    c = conn_create(l4->conns, k, rs->ip, rs->port ? rte_cpu_to_be_16(rs->port) : k->dst_port,
                    rs->idx, rs->id, vs->slot, state, l4->lc->now_ms, &why);
    if (unlikely(c == NULL)) {
        lcore_drop(l4->lc, m, why == CONN_COLLISION ? DROP_L4_CONN_COLLISION
                                                : DROP_L4_CONN_TABLE_FULL);
        return NULL;
    }
    c->log = vs->log;
    l4->stats->conns_created++;
    l4->lc->traffic->vs[vs->slot].conns++;
    l4->lc->traffic->rs[rs->idx].conns++;
    if (vs->persist) {
        if (pe != NULL) {
            bool moved = pe->rs_id != rs->id;
            pe->rs_id = rs->id;
            pe->rs_idx = rs->idx;
            persist_touch(pe, vs->persist_timeout_ms, l4->lc->now_ms);
            if (moved)
                l4_sync_persist(l4, vs, pe, rs);
        } else {
            pe = persist_insert(l4->persist, pi->src_ip, vs->slot, rs->idx, rs->id,
                                vs->persist_timeout_ms, l4->lc->now_ms);
            if (pe != NULL) {
                l4->stats->persist_created++;
                l4_sync_persist(l4, vs, pe, rs);
            } else {
                l4->stats->persist_full++;
            }
        }
        if (pe != NULL) {
            c->persist_ref = persist_hold(pe);
            c->flags |= CONN_F_PERSIST;
        }
    }
    l4_sync_conn(l4, c);
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

struct conn *l4_client_conn(struct l4 *l4, const struct pkt_info *pi)
{
    struct conn_key k;
    enum conn_dir dir;
    struct conn *c;

    l4_client_key(pi, &k);
    c = conn_lookup(l4->conns, &k, &dir);
    return c != NULL && dir == CONN_DIR_FORWARD ? c : NULL;
}

void l4_from_client(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi, const struct snap_vs *vs, struct conn *c)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    uint8_t *l4h = frame + pi->l4_off;
    uint8_t flags = l4_tcp_flags(pi, l4h);
    struct conn_key k;
    enum conn_dir dir;

    /* A partial checksum (virtio-net) is made final before the incremental update. */
    if (unlikely(!rx_csum_l4_finish(l4->lc, m, pi))) {
        lcore_drop(l4->lc, m, DROP_PARTIAL_CHECKSUM);
        return;
    }
    if (c == NULL) {
        l4_client_key(pi, &k);
        c = conn_lookup(l4->conns, &k, &dir);
        if (unlikely(c != NULL && dir != CONN_DIR_FORWARD)) {
            lcore_drop(l4->lc, m, DROP_L4_CONN_COLLISION);
            return;
        }
    }
    if (c != NULL) {
        const struct snap_rs *rs = snapshot_rs(s, c->rs_idx, c->rs_id);
        /* Halt closes existing connections; a new SYN or UDP packet is rescheduled. */
        if (unlikely(rs != NULL && rs->state == CFG_RS_HALT)) {
            if (!(c->flags & CONN_F_HALTED))
                l4->stats->conns_halted++;
            conn_delete(l4->conns, c, l4->lc->now_ms, CONN_END_HALTED);
            c = NULL;
            if (pi->ip_proto == IPPROTO_TCP && !(flags & RTE_TCP_SYN_FLAG)) {
                if (flags & RTE_TCP_RST_FLAG)
                    lcore_drop(l4->lc, m, DROP_L4_RS_HALTED);
                else
                    l4_reset_sender(l4, s, m, pi); /* the client learns it is closed */
                return;
            }
        } else if (unlikely(c->synproxy) &&
                   (flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) {
            /* A new connection on the ports of a proxied one: opened as any other. */
            conn_delete(l4->conns, c, l4->lc->now_ms, CONN_END_EXPIRED);
            c = NULL;
        }
    }
    if (c == NULL) {
        if (pi->ip_proto == IPPROTO_TCP && (flags & RTE_TCP_RST_FLAG)) {
            lcore_drop(l4->lc, m, DROP_L4_TCP_NO_CONN);
            return;
        }
        l4_client_key(pi, &k);      /* a packet of a known connection needs no key */
        /* The caller went by the connection; a new one needs the service. */
        if (vs == NULL)
            vs = snapshot_service(s, pi->dst_ip, pi->ip_proto, pi->dst_port);
        if (unlikely(vs == NULL || vs->layer != 4)) {
            lcore_drop(l4->lc, m, DROP_NO_SERVICE);
            return;
        }
        if (pi->ip_proto == IPPROTO_TCP) {
            enum synproxy_verdict v = synproxy_client(l4, s, m, pi, flags);
            if (v == SYNPROXY_DONE)
                return;
            if (v == SYNPROXY_OPEN) {
                c = l4_new_conn(l4, s, m, pi, vs, &k, flags, true);
                if (c != NULL)
                    synproxy_open(l4, s, c, m, pi);
                return;
            }
        }
        c = l4_new_conn(l4, s, m, pi, vs, &k, flags, false);
        if (c == NULL)
            return;
    }
    if (unlikely(l4_too_big(l4, s, m, pi, c->rs_ip, c->vip)))
        return;
    {
        uint8_t before = c->state;
        uint64_t seen = c->last_seen;
        conn_update(c, CONN_DIR_FORWARD, flags, l4->lc->now_ms);
        if (unlikely(c->state != before)) {
            if (before == CONN_TCP_CLOSING && c->state == CONN_TCP_HANDSHAKE)
                l4_conn_reopened(l4, c, seen);
            l4_sync_conn(l4, c);
        }
    }
    if (unlikely(c->synproxy) && !synproxy_from_client(l4, s, c, m, pi, l4h))
        return;
    c->packets[CONN_DIR_FORWARD]++;
    l4_track_seq(c, CONN_DIR_FORWARD, pi, l4h);
    l4_clamp_mss(l4, m, pi, l4h);
    nat_rewrite_dst(ip, l4h, pi->ip_proto, c->rs_ip, c->rs_port);
    l4->stats->forward_packets++;
    l4->lc->traffic->rs[c->rs_idx].bytes_in += pi->l3_len;
    l4->lc->traffic->rs[c->rs_idx].packets_in++;
    l4_send_conn(l4, s, m, pi, c, CONN_DIR_FORWARD, c->rs_ip);
}

bool l4_from_server(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi)
{
    struct conn_key k;
    enum conn_dir dir;
    struct conn *c;

    l4_pkt_key(pi, &k);
    c = conn_lookup(l4->conns, &k, &dir);
    if (c == NULL || dir != CONN_DIR_REVERSE)
        return false;
    l4_server_conn(l4, s, m, pi, c);
    return true;
}

void l4_server_conn(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi, struct conn *c)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    uint8_t *l4h = frame + pi->l4_off;
    const struct snap_rs *rs;

    /* A backup of an HA pair carries no VIP traffic (its entries are the master's). */
    if (unlikely(s->ha_standby)) {
        lcore_drop(l4->lc, m, DROP_HA_STANDBY);
        return;
    }
    rs = snapshot_rs(s, c->rs_idx, c->rs_id);
    if (unlikely(rs != NULL && rs->state == CFG_RS_HALT)) {
        if (!(c->flags & CONN_F_HALTED))
            l4->stats->conns_halted++;
        if (pi->ip_proto == IPPROTO_TCP && !(l4_tcp_flags(pi, l4h) & RTE_TCP_RST_FLAG)) {
            /*
             * Both ends learn it is closed: the server from the client's address (seq =
             * its ACK), the client from the VIP at the end of what the server sent it
             * through here (not this segment's seq: a retransmission of data the client
             * has, or a zero-window probe at snd_una - 1, would put the RST behind the
             * client's window, where it is dropped without a word, and a client that
             * has nothing to send then waits for ever). The entry stays, closing, so
             * that the client's next segment (the challenge ACK of RFC 5961 when that
             * RST was not exactly in sequence, data still in flight) is answered with
             * an RST it takes (seq = its ACK) on the client path: only a SYN opens a
             * connection, so without the entry the client would wait out its timeout.
             * After a takeover the end may be the master's (CONN_F_SEQ_SYNC, from its
             * last sync record): the server may have sent more since, so this segment's
             * seq wins when it is ahead. Either way it is kept for the retries.
             */
            uint32_t seg = rte_be_to_cpu_32(((const struct rte_tcp_hdr *)l4h)->sent_seq);
            uint32_t seq;

            if (unlikely(c->synproxy))
                seg = synproxy_seq_to_client(l4, c, seg);
            seq = seg;

            if (c->flags & CONN_F_SEQ_REV) {
                seq = c->seq_end[CONN_DIR_REVERSE];
                if ((c->flags & CONN_F_SEQ_SYNC) && (int32_t)(seg - seq) > 0)
                    seq = seg;
            }
            c->seq_end[CONN_DIR_REVERSE] = seq;
            c->flags = (uint8_t)((c->flags | CONN_F_SEQ_REV) & ~CONN_F_SEQ_SYNC);
            l4_send_rst(l4, s, c->vip, c->vport, c->client_ip, c->client_port, seq);
            c->flags |= CONN_F_HALTED;
            conn_update(c, CONN_DIR_REVERSE, RTE_TCP_RST_FLAG, l4->lc->now_ms);
            conn_arm(c, l4->lc->now_ms + L4_HALT_RETRY_MS);     /* l4_conn_halted */
            l4_reset_sender(l4, s, m, pi);
            return;
        }
        conn_delete(l4->conns, c, l4->lc->now_ms, CONN_END_HALTED);
        lcore_drop(l4->lc, m, DROP_L4_RS_HALTED);
        return;
    }
    /* The answer is routed: the TTL goes down on the way through. */
    if (unlikely(!nat_ttl_decrement(ip))) {
        forward_time_exceeded(l4->fw, s, m, pi);
        return;
    }
    if (unlikely(!rx_csum_l4_finish(l4->lc, m, pi))) {
        lcore_drop(l4->lc, m, DROP_PARTIAL_CHECKSUM);
        return;
    }
    if (unlikely(l4_too_big(l4, s, m, pi, pi->dst_ip, 0)))   /* from the port's self IP */
        return;
    if (unlikely(c->synproxy) && !synproxy_from_server(l4, s, c, m, pi, l4h))
        return;
    {
        uint8_t before = c->state;
        conn_update(c, CONN_DIR_REVERSE, l4_tcp_flags(pi, l4h), l4->lc->now_ms);
        if (unlikely(c->state != before))
            l4_sync_conn(l4, c);
    }
    c->packets[CONN_DIR_REVERSE]++;
    l4_track_seq(c, CONN_DIR_REVERSE, pi, l4h);
    l4_clamp_mss(l4, m, pi, l4h);
    nat_rewrite_src(ip, l4h, pi->ip_proto, c->vip, c->vport);
    l4->stats->reverse_packets++;
    l4->lc->traffic->vs[c->vs_slot].packets_out++;
    l4->lc->traffic->vs[c->vs_slot].bytes_out += pi->l3_len;
    l4->lc->traffic->rs[c->rs_idx].bytes_out += pi->l3_len;
    l4->lc->traffic->rs[c->rs_idx].packets_out++;
    l4_send_conn(l4, s, m, pi, c, CONN_DIR_REVERSE, pi->dst_ip);
}

/* The outer IPv4 source (src true) or destination address becomes new_ip. */
static inline void l4_icmp_outer(struct rte_ipv4_hdr *ip, bool src, uint32_t new_ip)
{
    uint16_t c = ip->hdr_checksum;

    csum_replace32(&c, src ? ip->src_addr : ip->dst_addr, new_ip);
    ip->hdr_checksum = c;
    if (src)
        ip->src_addr = new_ip;
    else
        ip->dst_addr = new_ip;
}

bool l4_icmp_from_server(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                         const struct pkt_info *pi)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    struct icmp_quote q;
    struct conn_key k;
    enum conn_dir dir;
    struct conn *c;

    if (icmp_err_parse(frame, pi, rx_csum_l4(m), &q) != DROP_NONE)
        return false;
    /* The quote is what lbd sent the real server: client -> real server. Its answers'
     * key is the reverse: real server -> client. */
    k = (struct conn_key){.src_ip = q.dst_ip, .dst_ip = q.src_ip, .src_port = q.dst_port,
                          .dst_port = q.src_port, .proto = q.proto};
    c = conn_lookup(l4->conns, &k, &dir);
    if (c == NULL || dir != CONN_DIR_REVERSE || c->client_ip != pi->dst_ip)
        return false;
    if (unlikely(!nat_ttl_decrement(ip))) {
        forward_time_exceeded(l4->fw, s, m, pi);
        return true;
    }
    icmp_err_rewrite_quote(frame, pi, &q, false, c->vip, c->vport);
    l4_icmp_outer(ip, true, c->vip);
    m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;   /* recomputed: final */
    l4->stats->icmp_to_client++;
    l4->lc->traffic->vs[c->vs_slot].packets_out++;
    l4->lc->traffic->vs[c->vs_slot].bytes_out += pi->l3_len;
    l4_send_conn(l4, s, m, pi, c, CONN_DIR_REVERSE, pi->dst_ip);
    return true;
}

void l4_icmp_to_vip(struct l4 *l4, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi)
{
    uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
    struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + pi->l3_off);
    struct icmp_quote q;
    struct conn_key k;
    enum drop_reason r;
    enum conn_dir dir;
    struct conn *c;

    r = icmp_err_parse(frame, pi, rx_csum_l4(m), &q);
    if (r != DROP_NONE) {
        lcore_drop(l4->lc, m, r);
        return;
    }
    /* The quote is an answer lbd sent the client: VIP -> client. The client's own
     * packets' key is the reverse: client -> VIP. */
    k = (struct conn_key){.src_ip = q.dst_ip, .dst_ip = q.src_ip, .src_port = q.dst_port,
                          .dst_port = q.src_port, .proto = q.proto};
    c = conn_lookup(l4->conns, &k, &dir);
    if (c == NULL || dir != CONN_DIR_FORWARD || c->vip != pi->dst_ip) {
        lcore_drop(l4->lc, m, DROP_L4_ICMP_NO_CONN);
        return;
    }
    icmp_err_rewrite_quote(frame, pi, &q, true, c->rs_ip, c->rs_port);
    l4_icmp_outer(ip, false, c->rs_ip);
    m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
    l4->stats->icmp_to_server++;
    l4->lc->traffic->rs[c->rs_idx].packets_in++;
    l4->lc->traffic->rs[c->rs_idx].bytes_in += pi->l3_len;
    l4_send_conn(l4, s, m, pi, c, CONN_DIR_FORWARD, c->rs_ip);
}
