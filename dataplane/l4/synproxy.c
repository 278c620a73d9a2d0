/*
 * synproxy: SYN cookies for Layer 4 TCP services and the sequence translation of the
 * connections they open (see synproxy.h). Owning worker only.
 */
#include "l4/synproxy.h"

#include <stddef.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>

#include "base/csum.h"
#include "base/siphash.h"
#include "l4/l4.h"
#include "net/ip_out.h"
#include "net/nat.h"
#include "net/tcp_opt.h"

#define SP_PERIOD_SHIFT 16                  /* key periods of 65.5 s */
#define SP_MAC_BITS 24
#define SP_MAC_MASK ((1u << SP_MAC_BITS) - 1)
#define SP_SACK_BIT (1u << 24)
#define SP_WS_SHIFT 25
#define SP_NO_WSCALE 15
#define SP_MAX_WSCALE 14
#define SP_SYN_RETRY_MS 1000
#define SP_TCP_MAIN (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG | RTE_TCP_FIN_FLAG)

static const uint16_t sp_mss_table[4] = {536, 1220, 1440, 1460};

enum sp_state { SP_NONE = 0, SP_WAIT, SP_OPEN };

/* A proxied connection's state, by the connection's pool index. */
struct sp_conn {
    struct rte_mbuf *held;      /* the client's first data segment (from its IP header) */
    uint32_t iss;               /* the cookie: lbd's ISS to the client */
    uint32_t cnext;             /* the client's ISN + 1 */
    uint32_t delta;             /* the server's ISS less the cookie */
    uint32_t syn_ms;            /* when the SYN to the server last went (low 32 bits) */
    uint32_t ts_a;              /* timestamps, waiting: the TSval lbd gave the client
                                 * (echoed in its ACK); open: the server's TSval clock
                                 * less it (the client's TSecr get it added, the
                                 * server's TSval have it taken away) */
    uint32_t ts_c;              /* timestamps: the client's TSval of its ACK */
    uint16_t client_win;        /* the window of the client's ACK (host order, raw) */
    uint16_t mss;               /* the cookie's */
    uint8_t state;              /* enum sp_state */
    uint8_t client_ws;          /* SP_NO_WSCALE: not offered */
    uint8_t sack;               /* the client offered SACK */
    uint8_t fwd_shift;          /* client -> server windows: << this */
    int8_t rev_shift;           /* server -> client windows: << (or >> when negative) */
    uint8_t ts;                 /* timestamps: 1 the client's, 2 both sides' (open) */
};

struct synproxy {
    struct sp_conn *conns;
    uint32_t capacity;
    struct siphash_key cur;     /* the key of period `period` */
    struct siphash_key prev;    /* of period - 1 */
    uint64_t period;
    uint64_t cookie_ms;         /* when a cookie was last sent (0: never) */
    uint32_t ts_off;            /* lbd's TSval = its ms clock + this (random) */
    /* The cookie synproxy_client accepted last, for synproxy_open. */
    uint32_t pend_iss;
    uint16_t pend_mss;
    uint8_t pend_ws;
    uint8_t pend_sack;
    uint8_t pend_ts;
    uint32_t pend_tsval;
    uint32_t pend_tsecr;
};

/* The options of a SYN (or of any segment: ts and its values) that matter here. */
struct sp_opts {
    uint16_t mss;               /* 536 when absent (RFC 9293) */
    uint8_t ws;                 /* SP_NO_WSCALE when absent */
    uint8_t sack;
    uint8_t ts;
    uint32_t tsval;             /* host order */
    uint32_t tsecr;
};

/* The key of period p from the key before it: one-way (tcp_syncookie.c's scheme). */
static struct siphash_key sp_key_next(const struct siphash_key *k, uint64_t p)
{
    uint64_t in[2] = {p, UINT64_C(0x6c62642d73796e70)};    /* "lbd-synp" */
    struct siphash_key n;

    n.k0 = siphash24(k, in, sizeof(in));
    in[1] ^= 1;
    n.k1 = siphash24(k, in, sizeof(in));
    return n;
}

static void sp_rotate(struct synproxy *sp, uint64_t now_ms)
{
    uint64_t p = now_ms >> SP_PERIOD_SHIFT;

    if (p <= sp->period)
        return;
    if (p == sp->period + 1) {
        sp->prev = sp->cur;
        sp->cur = sp_key_next(&sp->prev, p);
    } else {
        sp->prev = sp_key_next(&sp->cur, p - 1);
        sp->cur = sp_key_next(&sp->prev, p);
    }
    sp->period = p;
}

struct synproxy *synproxy_create(uint32_t capacity, int socket, uint64_t now_ms)
{
    struct synproxy *sp = rte_zmalloc_socket("synproxy", sizeof(*sp), RTE_CACHE_LINE_SIZE,
                                             socket);
    struct siphash_key first, ts;

    if (sp == NULL)
        return NULL;
    sp->conns = rte_zmalloc_socket("synproxy_conns", (size_t)capacity * sizeof(*sp->conns),
                                   RTE_CACHE_LINE_SIZE, socket);
    if (sp->conns == NULL || siphash_key_random(&first) != 0 || siphash_key_random(&ts) != 0) {
        synproxy_free(sp);
        return NULL;
    }
    sp->capacity = capacity;
    sp->ts_off = (uint32_t)ts.k0;      /* no bit of a cookie key */
    sp->period = now_ms >> SP_PERIOD_SHIFT;
    sp->cur = first;
    sp->prev = sp_key_next(&first, sp->period - 1);
    return sp;
}

void synproxy_free(struct synproxy *sp)
{
    if (sp == NULL)
        return;
    if (sp->conns != NULL)
        for (uint32_t i = 0; i < sp->capacity; i++)
            rte_pktmbuf_free(sp->conns[i].held);
    rte_free(sp->conns);
    rte_free(sp);
}

static inline struct sp_conn *sp_entry(const struct l4 *l4, const struct conn *c)
{
    return &l4->sp->conns[c - l4->conns->pool];
}

/* The MAC of a cookie with top bits top for the client's SYN (addresses and ports
 * network order, irs the client's ISN). */
static uint32_t sp_mac(const struct siphash_key *key, uint32_t client, uint32_t vip,
                       uint16_t cport, uint16_t vport, uint32_t irs, uint32_t top)
{
    uint32_t w[5] = {client, vip, ((uint32_t)cport << 16) | vport, irs, top};

    return (uint32_t)siphash24(key, w, sizeof(w)) & SP_MAC_MASK;
}

/* The options of a TCP header h of thl bytes (a bad one ends the walk). */
static void sp_parse_opts(const uint8_t *h, uint32_t thl, struct sp_opts *o)
{
    uint32_t i = sizeof(struct rte_tcp_hdr), v;

    *o = (struct sp_opts){.mss = 536, .ws = SP_NO_WSCALE};
    while (i < thl && h[i] != 0) {
        if (h[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= thl || h[i + 1] < 2 || i + h[i + 1] > thl)
            return;
        if (h[i] == 2 && h[i + 1] == 4) {
            o->mss = (uint16_t)(h[i + 2] << 8 | h[i + 3]);
        } else if (h[i] == 3 && h[i + 1] == 3) {
            o->ws = h[i + 2] > SP_MAX_WSCALE ? SP_MAX_WSCALE : h[i + 2];
        } else if (h[i] == 4 && h[i + 1] == 2) {
            o->sack = 1;
        } else if (h[i] == 8 && h[i + 1] == 10) {
            o->ts = 1;
            memcpy(&v, h + i + 2, 4);
            o->tsval = rte_be_to_cpu_32(v);
            memcpy(&v, h + i + 6, 4);
            o->tsecr = rte_be_to_cpu_32(v);
        }
        i += h[i + 1];
    }
}

/* Writes MSS, [NOP window scale], [NOP NOP SACK permitted] at o; returns the length
 * (a multiple of 4). */
static uint32_t sp_put_opts(uint8_t *o, uint16_t mss, uint8_t ws, uint8_t sack)
{
    uint32_t n = 0;

    o[n++] = 2;
    o[n++] = 4;
    o[n++] = (uint8_t)(mss >> 8);
    o[n++] = (uint8_t)mss;
    if (ws != SP_NO_WSCALE) {
        o[n++] = 1;
        o[n++] = 3;
        o[n++] = 3;
        o[n++] = ws;
    }
    if (sack) {
        o[n++] = 1;
        o[n++] = 1;
        o[n++] = 4;
        o[n++] = 2;
    }
    return n;
}

/* The MSS lbd offers: the table's largest not above the client's nor the narrowest
 * port's (its MTU less 40). */
static uint32_t sp_mss_index(const struct l4 *l4, uint16_t peer_mss)
{
    uint32_t max = (uint32_t)lcore_mtu_min(l4->lc) - 40, idx = 0;

    for (uint32_t i = 0; i < 4; i++)
        if (sp_mss_table[i] <= peer_mss && sp_mss_table[i] <= max)
            idx = i;
    return idx;
}

/* Answers the client's SYN (tcp) with a cookie SYN-ACK from the VIP. */
static void sp_send_cookie(struct l4 *l4, const struct snapshot *s, const struct pkt_info *pi,
                           const struct rte_tcp_hdr *tcp)
{
    struct synproxy *sp = l4->sp;
    uint32_t thl = (uint32_t)(tcp->data_off >> 4) * 4, irs = rte_be_to_cpu_32(tcp->sent_seq);
    uint32_t idx, top, cookie, n;
    struct sp_opts o;
    uint8_t ws, sack, opts[24];

    if (thl > pi->l4_len)
        thl = sizeof(*tcp);
    sp_parse_opts((const uint8_t *)tcp, thl, &o);
    ws = o.ws;
    sack = o.sack;
    idx = sp_mss_index(l4, o.mss);
    sp_rotate(sp, l4->lc->now_ms);
    top = ((uint32_t)(sp->period & 1) << 31) | (idx << 29) | ((uint32_t)ws << SP_WS_SHIFT) |
          (sack ? SP_SACK_BIT : 0);
    cookie = top | sp_mac(&sp->cur, pi->src_ip, pi->dst_ip, tcp->src_port, tcp->dst_port,
                          irs, top);
    n = sp_put_opts(opts, sp_mss_table[idx], ws == SP_NO_WSCALE ? SP_NO_WSCALE : SYNPROXY_WSCALE,
                    sack);
    /* Timestamps need no bit of the cookie: the client puts them on its ACK only when
     * both SYNs had them (RFC 7323), and its TSecr gives back the TSval sent here. */
    if (o.ts)
        n += tcp_opt_put_nop_ts(opts + n, (uint32_t)l4->lc->now_ms + sp->ts_off, o.tsval);
    /* A window of one segment: the client sends at most one before the real server's
     * own window reaches it (synproxy_from_client holds one). */
    if (l4_send_tcp(l4, s, pi->dst_ip, tcp->dst_port, pi->src_ip, tcp->src_port, cookie, irs + 1,
                RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, sp_mss_table[idx], opts, n)) {
        sp->cookie_ms = l4->lc->now_ms ? l4->lc->now_ms : 1;
        l4->stats->synproxy_cookies_sent++;
    }
}

enum synproxy_verdict synproxy_client(struct l4 *l4, const struct snapshot *s,
                                      struct rte_mbuf *m, const struct pkt_info *pi,
                                      uint8_t tcp_flags)
{
    struct synproxy *sp = l4->sp;
    const struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
                                                            pi->l4_off);
    uint32_t irs, cookie, top, ws;
    const struct siphash_key *key;

    if ((tcp_flags & SP_TCP_MAIN) == RTE_TCP_SYN_FLAG) {
        if (s->l4.syn_proxy == CFG_SYN_PROXY_ALWAYS ||
            (s->l4.syn_proxy == CFG_SYN_PROXY_FLOOD &&
             l4->conns->half_open >= s->l4.max_half_open)) {
            sp_send_cookie(l4, s, pi, tcp);
            rte_pktmbuf_free(m);
            return SYNPROXY_DONE;
        }
        return SYNPROXY_PASS;
    }
    /* A returning cookie is an ACK; none can be valid two periods after the last. */
    if ((tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) !=
            RTE_TCP_ACK_FLAG ||
        sp->cookie_ms == 0 || l4->lc->now_ms - sp->cookie_ms > (2u << SP_PERIOD_SHIFT))
        return SYNPROXY_PASS;
    irs = rte_be_to_cpu_32(tcp->sent_seq) - 1;
    cookie = rte_be_to_cpu_32(tcp->recv_ack) - 1;
    top = cookie & ~SP_MAC_MASK;
    ws = (cookie >> SP_WS_SHIFT) & 0xf;
    sp_rotate(sp, l4->lc->now_ms);
    key = (cookie >> 31) == (uint32_t)(sp->period & 1) ? &sp->cur : &sp->prev;
    if (sp_mac(key, pi->src_ip, pi->dst_ip, tcp->src_port, tcp->dst_port, irs, top) !=
            (cookie & SP_MAC_MASK) ||
        (ws != SP_NO_WSCALE && ws > SP_MAX_WSCALE)) {
        l4->stats->synproxy_cookies_bad++;
        return SYNPROXY_PASS;
    }
    sp->pend_iss = cookie;
    sp->pend_mss = sp_mss_table[(cookie >> 29) & 3];
    sp->pend_ws = (uint8_t)ws;
    sp->pend_sack = !!(cookie & SP_SACK_BIT);
    {
        uint32_t thl = (uint32_t)(tcp->data_off >> 4) * 4;
        struct sp_opts o;

        sp_parse_opts((const uint8_t *)tcp, thl <= pi->l4_len ? thl : sizeof(*tcp), &o);
        sp->pend_ts = o.ts;
        sp->pend_tsval = o.tsval;
        sp->pend_tsecr = o.tsecr;
    }
    l4->stats->synproxy_cookies_ok++;
    return SYNPROXY_OPEN;
}

/* The SYN to c's real server, from the client's address with its ISN and options. */
static void sp_send_syn(struct l4 *l4, const struct snapshot *s, const struct conn *c,
                        struct sp_conn *e)
{
    uint8_t opts[24];
    uint32_t n = sp_put_opts(opts, e->mss, e->client_ws, e->sack);
    uint32_t win = e->client_ws == SP_NO_WSCALE ? e->client_win
                                                : (uint32_t)e->client_win << e->client_ws;

    if (e->ts)
        n += tcp_opt_put_nop_ts(opts + n, e->ts_c, 0);
    e->syn_ms = (uint32_t)l4->lc->now_ms;
    l4_send_tcp(l4, s, c->client_ip, c->client_port, c->rs_ip, c->rs_port, e->cnext - 1, 0,
            RTE_TCP_SYN_FLAG, (uint16_t)(win > 65535 ? 65535 : win), opts, n);
}

/* Whether TCP segment tcp (of l4_len bytes) carries data or a FIN. */
static inline bool sp_has_payload(const struct rte_tcp_hdr *tcp, uint32_t l4_len)
{
    return l4_len > (uint32_t)(tcp->data_off >> 4) * 4 || (tcp->tcp_flags & RTE_TCP_FIN_FLAG);
}

/* Keeps m (the client's segment parsed as pi) from its IP header, for later. */
static void sp_hold(struct l4 *l4, struct sp_conn *e, struct rte_mbuf *m,
                    const struct pkt_info *pi)
{
    uint32_t len;

    rte_pktmbuf_adj(m, pi->l3_off);
    len = rte_pktmbuf_pkt_len(m);
    if (len > pi->l3_len)
        rte_pktmbuf_trim(m, (uint16_t)(len - pi->l3_len));
    e->held = m;
    l4->stats->synproxy_held++;
}

void synproxy_open(struct l4 *l4, const struct snapshot *s, struct conn *c,
                   struct rte_mbuf *m, const struct pkt_info *pi)
{
    struct synproxy *sp = l4->sp;
    struct sp_conn *e = sp_entry(l4, c);
    const struct rte_tcp_hdr *tcp = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
                                                            pi->l4_off);

    rte_pktmbuf_free(e->held);
    *e = (struct sp_conn){
        .iss = sp->pend_iss,
        .cnext = rte_be_to_cpu_32(tcp->sent_seq),
        .client_win = rte_be_to_cpu_16(tcp->rx_win),
        .mss = sp->pend_mss,
        .state = SP_WAIT,
        .client_ws = sp->pend_ws,
        .sack = sp->pend_sack,
        .ts = sp->pend_ts,
        .ts_a = sp->pend_tsecr,
        .ts_c = sp->pend_tsval,
    };
    c->synproxy = 1;
    sp_send_syn(l4, s, c, e);
    conn_update(c, CONN_DIR_FORWARD, RTE_TCP_SYN_FLAG, l4->lc->now_ms);
    c->packets[CONN_DIR_FORWARD]++;
    if (sp_has_payload(tcp, pi->l4_len))
        sp_hold(l4, e, m, pi);
    else
        rte_pktmbuf_free(m);
}

/* Rewrites the 32-bit field of tcp at byte offset off to v (host order). */
static inline void sp_set32(struct rte_tcp_hdr *tcp, size_t off, uint32_t v)
{
    uint8_t *w = (uint8_t *)tcp + off;
    uint32_t old, nv = rte_cpu_to_be_32(v);
    uint16_t c = tcp->cksum;

    memcpy(&old, w, 4);
    csum_replace32(&c, old, nv);
    tcp->cksum = c;
    memcpy(w, &nv, 4);
}

/* The window of tcp rescaled by shift (<< when positive), at most 65535, and not 0
 * when it was not. */
static void sp_rescale(struct l4 *l4, struct rte_tcp_hdr *tcp, int shift)
{
    uint32_t w = rte_be_to_cpu_16(tcp->rx_win), n = shift > 0 ? w << shift : w >> -shift;
    uint16_t c = tcp->cksum, nv;

    if (n > 65535)
        n = 65535;
    if (n == 0 && w != 0)
        n = 1;
    if (n == w)
        return;
    nv = rte_cpu_to_be_16((uint16_t)n);
    csum_replace16(&c, tcp->rx_win, nv);
    tcp->cksum = c;
    tcp->rx_win = nv;
    l4->stats->synproxy_rescaled++;
}

/*
 * Adds sack_delta to every SACK edge of tcp (thl bytes of header), tsval_delta to its
 * TSval and tsecr_delta to its TSecr. A value at an odd offset (no stack puts one
 * there: NOP NOP before the option) has the checksum recomputed over the segment (ip).
 */
static void sp_fix_opts(struct rte_ipv4_hdr *ip, struct rte_tcp_hdr *tcp, uint32_t thl,
                        uint32_t sack_delta, uint32_t tsval_delta, uint32_t tsecr_delta)
{
    uint8_t *h = (uint8_t *)tcp;
    uint32_t i = sizeof(*tcp);
    bool redo = false;

    while (i < thl && h[i] != 0) {
        uint32_t first = 0, end = 0, delta = 0;

        if (h[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= thl || h[i + 1] < 2 || i + h[i + 1] > thl)
            break;
        if (h[i] == 5 && h[i + 1] >= 10 && (h[i + 1] - 2) % 8 == 0 && sack_delta != 0) {
            first = i + 2;
            end = i + h[i + 1];
            delta = sack_delta;
        } else if (h[i] == 8 && h[i + 1] == 10) {
            /* Two values with their own differences: one at a time. */
            first = tsval_delta != 0 ? i + 2 : i + 6;
            end = tsecr_delta != 0 ? i + 10 : i + 6;
            delta = tsval_delta;
        }
        for (uint32_t e = first; e < end; e += 4) {
            uint32_t old, v;
            if (h[i] == 8)
                delta = e == i + 2 ? tsval_delta : tsecr_delta;
            memcpy(&old, h + e, 4);
            v = rte_cpu_to_be_32(rte_be_to_cpu_32(old) + delta);
            if (e & 1) {
                redo = true;
            } else {
                uint16_t c = tcp->cksum;
                csum_replace32(&c, old, v);
                tcp->cksum = c;
            }
            memcpy(h + e, &v, 4);
        }
        i += h[i + 1];
    }
    if (redo) {
        tcp->cksum = 0;
        tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
    }
}

/* A client's segment (tcp, thl bytes of header) of an open proxied connection into the
 * server's sequence space. */
static void sp_to_server(struct l4 *l4, const struct sp_conn *e, struct rte_ipv4_hdr *ip,
                         struct rte_tcp_hdr *tcp)
{
    uint32_t thl = (uint32_t)(tcp->data_off >> 4) * 4;

    if (tcp->tcp_flags & RTE_TCP_ACK_FLAG)
        sp_set32(tcp, offsetof(struct rte_tcp_hdr, recv_ack), rte_be_to_cpu_32(tcp->recv_ack) + e->delta);
    if (thl > sizeof(*tcp))
        sp_fix_opts(ip, tcp, thl, e->delta, 0, e->ts == 2 ? e->ts_a : 0);
    if (e->fwd_shift != 0)
        sp_rescale(l4, tcp, e->fwd_shift);
}

bool synproxy_from_client(struct l4 *l4, const struct snapshot *s, struct conn *c,
                          struct rte_mbuf *m, const struct pkt_info *pi, uint8_t *l4h)
{
    struct sp_conn *e = sp_entry(l4, c);
    struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pi->l3_off);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4h;

    if (likely(e->state == SP_OPEN)) {
        sp_to_server(l4, e, ip, tcp);
        return true;
    }
    if (e->state != SP_WAIT)
        return true;
    /* The real server has not answered yet. */
    if (tcp->tcp_flags & RTE_TCP_RST_FLAG)
        return true;                    /* in the client's space: the server takes it */
    if ((uint32_t)l4->lc->now_ms - e->syn_ms >= SP_SYN_RETRY_MS) {
        sp_send_syn(l4, s, c, e);
        l4->stats->synproxy_syn_resent++;
    }
    if (e->held == NULL && sp_has_payload(tcp, pi->l4_len) &&
        rte_be_to_cpu_32(tcp->sent_seq) == e->cnext) {
        sp_hold(l4, e, m, pi);
        return false;
    }
    l4->stats->synproxy_early_drops++;
    lcore_drop(l4->lc, m, DROP_L4_SYNPROXY_WAIT);
    return false;
}

/* The window shifts once the server's SYN-ACK said whether it scales (ws_s). */
static void sp_shifts(struct sp_conn *e, uint8_t ws_s)
{
    bool client_on = e->client_ws != SP_NO_WSCALE;
    bool server_on = client_on && ws_s != SP_NO_WSCALE;
    int s_scale = server_on ? ws_s : 0, l_scale = client_on ? SYNPROXY_WSCALE : 0;

    e->rev_shift = (int8_t)(s_scale - l_scale);
    e->fwd_shift = client_on && !server_on ? e->client_ws : 0;
}

/* The server answered: its handshake's ACK, then the held segment. */
static void sp_established(struct l4 *l4, const struct snapshot *s, struct conn *c,
                           struct sp_conn *e, const struct rte_tcp_hdr *tcp, uint32_t thl)
{
    uint32_t srv_iss = rte_be_to_cpu_32(tcp->sent_seq), win = e->client_win, n = 0;
    struct sp_opts o;
    uint8_t opts[12];

    sp_parse_opts((const uint8_t *)tcp, thl, &o);
    e->delta = srv_iss - e->iss;
    sp_shifts(e, o.ws);
    if (e->ts && o.ts) {
        /* Both sides: the server's clock, as the client sees it, goes on from lbd's. */
        n = tcp_opt_put_nop_ts(opts, e->ts_c, o.tsval);
        e->ts_a = o.tsval - e->ts_a;
        e->ts = 2;
    } else {
        e->ts = 0;
    }
    e->state = SP_OPEN;
    l4->stats->synproxy_established++;
    conn_update(c, CONN_DIR_REVERSE, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG, l4->lc->now_ms);
    c->packets[CONN_DIR_REVERSE]++;
    win <<= e->fwd_shift;
    l4_send_tcp(l4, s, c->client_ip, c->client_port, c->rs_ip, c->rs_port, e->cnext, srv_iss + 1,
            RTE_TCP_ACK_FLAG, (uint16_t)(win > 65535 ? 65535 : win), opts, n);
    conn_update(c, CONN_DIR_FORWARD, RTE_TCP_ACK_FLAG, l4->lc->now_ms);
    if (e->held != NULL) {
        struct rte_mbuf *m = e->held;
        struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
        struct rte_tcp_hdr *t = (struct rte_tcp_hdr *)((uint8_t *)ip + rte_ipv4_hdr_len(ip));

        e->held = NULL;
        sp_to_server(l4, e, ip, t);
        nat_rewrite_dst(ip, t, IPPROTO_TCP, c->rs_ip, c->rs_port);
        c->packets[CONN_DIR_FORWARD]++;
        l4->stats->forward_packets++;
        ip_out(l4->io, s, m, c->rs_ip);
    }
}

bool synproxy_from_server(struct l4 *l4, const struct snapshot *s, struct conn *c,
                          struct rte_mbuf *m, const struct pkt_info *pi, uint8_t *l4h)
{
    struct sp_conn *e = sp_entry(l4, c);
    struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)l4h;
    uint8_t flags = tcp->tcp_flags;
    uint32_t thl = (uint32_t)(tcp->data_off >> 4) * 4;

    if (likely(e->state == SP_OPEN && !(flags & RTE_TCP_SYN_FLAG))) {
        sp_set32(tcp, offsetof(struct rte_tcp_hdr, sent_seq), rte_be_to_cpu_32(tcp->sent_seq) - e->delta);
        if (e->ts == 2 && thl > sizeof(*tcp))
            sp_fix_opts(rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, pi->l3_off), tcp, thl,
                        0, (uint32_t)-e->ts_a, 0);
        if (e->rev_shift != 0)
            sp_rescale(l4, tcp, e->rev_shift);
        return true;
    }
    if (e->state == SP_WAIT && (flags & RTE_TCP_ACK_FLAG) &&
        rte_be_to_cpu_32(tcp->recv_ack) == e->cnext && thl <= pi->l4_len) {
        if ((flags & (RTE_TCP_SYN_FLAG | RTE_TCP_RST_FLAG)) == RTE_TCP_SYN_FLAG) {
            sp_established(l4, s, c, e, tcp, thl);
            rte_pktmbuf_free(m);
            return false;
        }
        if (flags & RTE_TCP_RST_FLAG) {
            /* Refused: the client is told, at the sequence number it expects. */
            l4->stats->synproxy_refused++;
            conn_update(c, CONN_DIR_REVERSE, RTE_TCP_RST_FLAG, l4->lc->now_ms);
            l4_send_tcp(l4, s, c->vip, c->vport, c->client_ip, c->client_port, e->iss + 1, 0,
                    RTE_TCP_RST_FLAG, 0, NULL, 0);
            rte_pktmbuf_free(m);
            return false;
        }
    }
    /* A SYN-ACK again (the handshake's ACK was lost: the client's next segment, its ACK
     * translated, completes it), or something before the SYN-ACK. */
    lcore_drop(l4->lc, m, DROP_L4_SYNPROXY_WAIT);
    return false;
}

uint32_t synproxy_seq_to_client(const struct l4 *l4, const struct conn *c, uint32_t seq)
{
    const struct sp_conn *e = sp_entry(l4, c);

    return e->state == SP_OPEN ? seq - e->delta : seq;
}

void synproxy_conn_end(struct l4 *l4, const struct conn *c)
{
    struct sp_conn *e = sp_entry(l4, c);

    rte_pktmbuf_free(e->held);
    e->held = NULL;
    e->state = SP_NONE;
}
