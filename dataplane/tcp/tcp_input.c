/*
 * tcp_input: the receive side of the state machine. See tcp_input.h.
 *
 * Hot path: no allocation (control blocks and out-of-order blocks come from
 * preallocated pools), no copies (payload mbufs are cut to the payload and queued),
 * no logging. Every segment the stack does not want is counted. The top of the
 * stack with tcp.c (neither calls the other): calls tcp_entry, tcp_output, tcp_tcb,
 * tcp_timer, tcp_sack and tcp_syncookie.
 */
#define ALLOW_EXPERIMENTAL_API 1
#include "tcp/tcp_input.h"

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "base/csum.h"
#include "base/siphash.h"
#include "net/rx_csum.h"
#include "tcp/tcp_cc.h"
#include "tcp/tcp_entry.h"
#include "tcp/tcp_output.h"
#include "tcp/tcp_rack.h"
#include "tcp/tcp_rcvbuf.h"
#include "tcp/tcp_sack.h"
#include "tcp/tcp_sndbuf.h"
#include "tcp/tcp_syncookie.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"
#include "tcp/tcp_tw.h"

/* Events a segment raised, delivered once processing is done. */
#define EVB_ESTABLISHED (1u << 0)
#define EVB_READABLE (1u << 1)
#define EVB_PEER_FIN (1u << 2)
#define EVB_WRITABLE (1u << 3)
#define EVB_CLOSED (1u << 4)

#define WSCALE_NONE 0xff

/* A parsed segment. */
struct tcp_seg {
    struct rte_mbuf *m;     /* the frame; NULL once queued or freed */
    uint32_t seq;
    uint32_t ack;
    uint32_t len;           /* payload bytes */
    uint32_t front;         /* bytes before the payload in m (headers, trimmed data) */
    uint32_t back;          /* bytes after it (padding, trimmed data) */
    uint16_t wnd;           /* raw field */
    uint16_t mss;           /* option, 0 = absent */
    uint8_t wscale;         /* option, WSCALE_NONE = absent */
    uint8_t flags;
    bool sack_ok;           /* SACK-permitted option (SYN) */
    bool ts;                /* Timestamps option (RFC 7323): tsval, tsecr */
    uint32_t tsval;
    uint32_t tsecr;
    bool sack_bad;          /* a SACK option of impossible length */
    uint8_t n_sack;         /* SACK blocks (host order) */
    struct tcp_sack_range sack[TCP_SACK_BLOCKS];
};

/* Reads a 32-bit big-endian option field. */
static inline uint32_t tcp_input_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * Parses the options of a segment: MSS, window scale, SACK-permitted, SACK blocks
 * (at most TCP_SACK_BLOCKS, a longer option sets sack_bad), Timestamps (kind 8,
 * length 10; another length is ignored). Returns 0, or -1 when they are malformed
 * (the caller drops a SYN; other segments lose their SACK blocks).
 */
static int tcp_input_options(const uint8_t *o, unsigned n, struct tcp_seg *s)
{
    unsigned i = 0;

    while (i < n) {
        uint8_t kind = o[i], len;
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= n)
            return -1;
        len = o[i + 1];
        if (len < 2 || i + len > n)
            return -1;
        if (kind == 2 && len == 4)
            s->mss = (uint16_t)((o[i + 2] << 8) | o[i + 3]);
        else if (kind == 3 && len == 3)
            s->wscale = o[i + 2] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o[i + 2];
        else if (kind == 4 && len == 2)
            s->sack_ok = true;
        else if (kind == 8 && len == 10) {
            s->ts = true;
            s->tsval = tcp_input_be32(o + i + 2);
            s->tsecr = tcp_input_be32(o + i + 6);
        } else if (kind == 5) {
            unsigned nb = (len - 2) / 8;
            if (len < 10 || (len - 2) % 8 != 0 || nb > TCP_SACK_BLOCKS || s->n_sack != 0) {
                s->sack_bad = true;
            } else {
                for (unsigned b = 0; b < nb; b++) {
                    s->sack[b].start = tcp_input_be32(o + i + 2 + 8 * b);
                    s->sack[b].end = tcp_input_be32(o + i + 6 + 8 * b);
                }
                s->n_sack = (uint8_t)nb;
            }
        }
        i += len;
    }
    return 0;
}

/* Frees what is left of the segment's mbuf. */
static inline void tcp_input_release(struct tcp_seg *s)
{
    if (s->m != NULL) {
        rte_pktmbuf_free(s->m);
        s->m = NULL;
    }
}

/* The payload as its own packet (headers and trimmed bytes cut off); NULL if none. */
static struct rte_mbuf *tcp_input_take_payload(struct tcp_seg *s)
{
    struct rte_mbuf *m = s->m;

    s->m = NULL;
    if (s->len == 0) {
        rte_pktmbuf_free(m);
        return NULL;
    }
    if (mbufq_pkt_trim(&m, s->front, s->back) != 0)
        return NULL;
    return m;
}

/*
 * The ACK limiter of challenge ACKs (RFC 5961 sections 3.2, 4.2, 5.2) and of TIME_WAIT's
 * ACKs, limited twice. Per connection (or entry: its own *sec, *count): at most
 * conf.challenge_ack_per_conn a second. Per stack: a budget drawn afresh each second
 * in [L/2, L/2 + L) for L = conf.challenge_ack_per_s (Linux's limit + jitter), so
 * that a fixed, shared count cannot be read from outside (CVE-2016-5696: an off-path
 * host that counts the challenge ACKs it gets in a second learns whether another
 * connection was sent one). The jitter is SipHash of the second under the stack's
 * key: unpredictable, and no syscall. Returns TCP_ACK_OK (taken from both), or which
 * limit refused it.
 */
enum tcp_ack_limit { TCP_ACK_OK = 0, TCP_ACK_CONN_LIMITED, TCP_ACK_STACK_LIMITED };

static enum tcp_ack_limit tcp_input_ack_limit(struct tcp_stack *st, uint8_t *chal_sec,
                                              uint8_t *chal_count)
{
    uint64_t sec = tcp_now(st) / 1000;

    if (sec != st->challenge_sec) {
        uint32_t lim = st->conf.challenge_ack_per_s;
        st->challenge_sec = sec;
        st->challenge_left =
            lim == 0 ? 0
                     : (lim + 1) / 2 +
                           (uint32_t)(siphash24(&st->challenge_key, &sec, sizeof(sec)) % lim);
    }
    if (*chal_sec != (uint8_t)sec) {
        *chal_sec = (uint8_t)sec;
        *chal_count = 0;
    }
    if (*chal_count >= st->conf.challenge_ack_per_conn)
        return TCP_ACK_CONN_LIMITED;
    if (st->challenge_left == 0)
        return TCP_ACK_STACK_LIMITED;
    st->challenge_left--;
    (*chal_count)++;
    return TCP_ACK_OK;
}

/* A challenge ACK, if the limiter allows it. */
static void tcp_input_challenge(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    switch (tcp_input_ack_limit(st, &c->chal_sec, &c->chal_count)) {
    case TCP_ACK_CONN_LIMITED:
        st->stats.challenge_ack_conn_limited++;
        return;
    case TCP_ACK_STACK_LIMITED:
        st->stats.challenge_ack_limited++;
        return;
    case TCP_ACK_OK:
        break;
    }
    st->stats.challenge_acks++;
    tcp_output_ack(c);
}

/* State on entering ESTABLISHED: congestion window (tcp_cc_init), timers. */
static void tcp_input_established(struct tcp_conn *c)
{
    tcp_cc_init(c);
    c->recover = c->iss;
    c->rexmt_shift = 0;
    tcp_tcb_set_state(c, TCP_ESTABLISHED);
    tcp_rcvbuf_open(c);
    c->st->stats.established++;
    c->last_rx_ms = tcp_now(c->st);
    tcp_timer_rexmt_stop(c);
    tcp_timer_deadline(c);
}

/* Takes tsval as TS.Recent, stamped with the stack's clock (for PAWS' idle rule). */
static inline void tcp_input_ts_recent(struct tcp_conn *c, uint32_t tsval)
{
    c->ts_recent = tsval;
    c->ts_recent_age = (uint32_t)(tcp_now(c->st) >> 10);
}

/*
 * An RTT sample from the echoed timestamp (RFC 7323 section 4.2) for an ACK that
 * acknowledges new data: our clock now less TSecr, on every such ACK, retransmitted
 * data included (TSecr tells which transmission the ACK is for, so Karn's rule has
 * no ambiguity to avoid). An echo from the future or beyond the RTO ceiling is no
 * sample (a bogus TSecr must not inflate the RTO). Returns true when sampled.
 */
static bool tcp_input_ts_rtt(struct tcp_conn *c, const struct tcp_seg *s)
{
    uint32_t r;

    if (!(c->flags & TCPF_TS) || !s->ts || s->tsecr == 0)
        return false;
    r = tcp_output_tsval(c) - s->tsecr;
    if ((int32_t)r < 0 || r > c->st->conf.rto_max_ms)
        return false;
    c->flags &= ~TCPF_RTT;
    c->st->stats.ts_rtt_samples++;
    tcp_timer_rtt_sample(c, r);
    return true;
}

/* Sets the send MSS and window scaling from the peer's SYN options. */
static void tcp_input_syn_options(struct tcp_conn *c, const struct tcp_seg *s)
{
    uint16_t ours = c->st->conf.mss;
    uint16_t peer = s->mss != 0 ? s->mss : 536;

    c->mss = peer < ours ? peer : ours;
    if (c->mss < 64)
        c->mss = 64;
    if (s->sack_ok)
        c->flags |= TCPF_SACK;
    else
        c->flags &= ~TCPF_SACK;
    if (s->wscale != WSCALE_NONE) {
        c->flags |= TCPF_WSCALE;
        c->snd_wscale = s->wscale;
        c->rcv_wscale = c->st->wscale;
    } else {
        c->flags &= ~TCPF_WSCALE;
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
    }
    /* Timestamps (RFC 7323 section 3.2): a SYN-ACK carries them only when our SYN
     * offered them (conf.timestamps); a SYN's are answered when conf.timestamps. */
    if (s->ts && c->st->conf.timestamps) {
        c->flags |= TCPF_TS;
        tcp_input_ts_recent(c, s->tsval);
    } else {
        c->flags &= ~TCPF_TS;
    }
    c->last_ack_sent = c->rcv_nxt;
}

/* Answers a segment that has no connection (RFC 9293 3.10.7.1). */
static void tcp_input_reset_reply(struct tcp_stack *st, const struct tcp_key *k,
                                  const struct tcp_seg *s)
{
    if (s->flags & TCP_RST)
        return;
    if (s->flags & TCP_ACK)
        tcp_output_raw(st, k, s->ack, 0, TCP_RST, 0, 0, NULL);
    else
        tcp_output_raw(st, k, 0,
                       s->seq + s->len + ((s->flags & TCP_SYN) ? 1 : 0) +
                           ((s->flags & TCP_FIN) ? 1 : 0),
                       TCP_RST | TCP_ACK, 0, 0, NULL);
}

/* A SYN for a listener: a SYN_RECEIVED control block, or a SYN cookie. */
static void tcp_input_listen(struct tcp_stack *st, struct tcp_listener *l, uint16_t li,
                             const struct tcp_key *k, struct tcp_seg *s)
{
    struct tcp_conn *c;
    uint64_t now = tcp_now(st);

    if (l->syn_recv >= l->backlog || !tcp_tcb_have_free(st)) {
        /* Timestamps need no bit of the cookie: the peer sends them on its ACK only
         * when both SYNs had them, and TSval's offset is a function of the 4-tuple. */
        bool use_ts = s->ts && st->conf.timestamps;
        uint32_t ts[2] = {use_ts ? (uint32_t)now + tcp_tcb_ts_offset(st, k) : 0, s->tsval};
        uint16_t mss;
        uint32_t cookie = tcp_syncookie_make(st, k, s->seq, s->mss ? s->mss : 536,
                                             s->wscale == WSCALE_NONE ? TCP_SYNCOOKIE_NO_WSCALE
                                                                      : s->wscale,
                                             now, &mss);
        l->cookie_ms = now ? now : 1;
        st->stats.syncookies_sent++;
        tcp_output_raw(st, k, cookie, s->seq + 1, TCP_SYN | TCP_ACK, mss,
                       s->wscale == WSCALE_NONE ? WSCALE_NONE : st->wscale,
                       use_ts ? ts : NULL);
        return;
    }
    c = tcp_tcb_alloc(st, k);
    if (c == NULL) {
        st->stats.syn_dropped++;
        return;
    }
    c->flags |= TCPF_PASSIVE;
    c->fn = l->fn;
    c->arg = l->arg;
    c->idle_ms = st->conf.idle_ms;
    c->rto = st->conf.rto_init_ms;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->iss = tcp_tcb_iss(st, k);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->ts_offset = tcp_tcb_ts_offset(st, k);
    tcp_input_syn_options(c, s);
    c->snd_wnd = s->wnd;
    c->max_sndwnd = c->snd_wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = c->iss;
    tcp_tcb_set_state(c, TCP_SYN_RECEIVED);
    c->listener = (uint16_t)(li + 1);
    l->syn_recv++;
    st->stats.passive_opens++;
    c->flags |= TCPF_RTT;
    c->rtt_seq = c->iss;
    c->rtt_start = now;
    tcp_output_syn(c);
    tcp_timer_rexmt_arm(c);
}

/* An ACK for a listener without a connection: a returning SYN cookie? */
static struct tcp_conn *tcp_input_cookie(struct tcp_stack *st, struct tcp_listener *l,
                                         const struct tcp_key *k, struct tcp_seg *s)
{
    uint64_t now = tcp_now(st);
    struct tcp_conn *c;
    uint16_t mss;
    uint8_t ws;

    if (l->cookie_ms == 0 || now - l->cookie_ms > (2u << 16))
        return NULL;
    if (tcp_syncookie_check(st, k, s->seq - 1, s->ack - 1, now, &mss, &ws) != 0) {
        st->stats.syncookies_bad++;
        return NULL;
    }
    c = tcp_tcb_alloc(st, k);
    if (c == NULL)
        return NULL;
    st->stats.syncookies_ok++;
    st->stats.passive_opens++;
    c->flags |= TCPF_PASSIVE;
    c->fn = l->fn;
    c->arg = l->arg;
    c->idle_ms = st->conf.idle_ms;
    c->rto = st->conf.rto_init_ms;
    c->irs = s->seq - 1;
    c->rcv_nxt = s->seq;
    c->iss = s->ack - 1;
    c->snd_una = c->snd_nxt = c->snd_max = s->ack;
    c->mss = mss < st->conf.mss ? mss : st->conf.mss;
    if (ws != TCP_SYNCOOKIE_NO_WSCALE) {
        c->flags |= TCPF_WSCALE;
        c->snd_wscale = ws;
        c->rcv_wscale = st->wscale;
    }
    c->rcv_adv = c->rcv_nxt + (c->rcvbuf > 65535 ? 65535 : c->rcvbuf);
    c->snd_wnd = (uint32_t)s->wnd << c->snd_wscale;
    c->max_sndwnd = c->snd_wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    c->last_ack_sent = c->rcv_nxt;
    if (s->ts && st->conf.timestamps) {
        c->flags |= TCPF_TS;
        c->ts_offset = tcp_tcb_ts_offset(st, k);
        tcp_input_ts_recent(c, s->tsval);
    }
    tcp_input_established(c);
    tcp_input_ts_rtt(c, s);             /* the SYN-ACK's round trip */
    return c;
}

/* Whether the run of mbuf chain a may take chain b after it. */
static inline bool tcp_input_ooo_can_chain(const struct rte_mbuf *a, const struct rte_mbuf *b)
{
    return (uint32_t)a->nb_segs + b->nb_segs <= RTE_MBUF_MAX_NB_SEGS;
}

/* Appends chain m (len bytes, last segment last) to the end of run e. */
static inline void tcp_input_ooo_chain(struct rte_mbuf *head, struct rte_mbuf **head_last,
                                       struct rte_mbuf *m, struct rte_mbuf *last)
{
    (*head_last)->next = m;
    *head_last = last;
    head->nb_segs = (uint16_t)(head->nb_segs + m->nb_segs);
    head->pkt_len += m->pkt_len;
}

/* Run i - 1 grew to end: when run i starts there, it becomes part of run i - 1. */
static inline void tcp_input_ooo_join_next(struct tcp_ooo *q, unsigned i, uint32_t end)
{
    if (i < q->n && q->e[i].seq == end && tcp_input_ooo_can_chain(q->e[i - 1].m, q->e[i].m)) {
        tcp_input_ooo_chain(q->e[i - 1].m, &q->e[i - 1].last, q->e[i].m, q->e[i].last);
        q->e[i - 1].len += q->e[i].len;
        for (unsigned j = i; j + 1 < q->n; j++)
            q->e[j] = q->e[j + 1];
        q->n--;
    }
}

/* Inserts an out-of-order payload (seq, len) into c's reassembly list, trimming
 * overlaps; a payload that touches a run is chained to it, and a run it joins to the
 * next is merged with that one. Takes m in every case. */
static void tcp_input_ooo_insert(struct tcp_conn *c, uint32_t seq, uint32_t len,
                                 struct rte_mbuf *m)
{
    struct tcp_stack *st = c->st;
    struct tcp_ooo *q = c->ooo;
    uint32_t end = seq + len;
    struct rte_mbuf *last;
    unsigned i, j;
    uint16_t nb;

    if (q == NULL) {
        if (rte_mempool_get(st->ooo_pool, (void **)&q) != 0)
            goto drop;
        q->n = 0;
        q->n_recent = 0;
        c->ooo = q;
    }
    tcp_sack_note_rcv(q, seq);
    /* Remove entries that the new segment covers entirely. */
    for (i = 0, j = 0; i < q->n; i++) {
        uint32_t es = q->e[i].seq, ee = es + q->e[i].len;
        if (SEQ_GEQ(es, seq) && SEQ_LEQ(ee, end)) {
            st->buf_segs -= q->e[i].m->nb_segs;
            rte_pktmbuf_free(q->e[i].m);
            continue;
        }
        q->e[j++] = q->e[i];
    }
    q->n = (uint16_t)j;
    /* Position: first entry starting after seq. */
    for (i = 0; i < q->n && SEQ_LEQ(q->e[i].seq, seq); i++)
        ;
    if (i > 0) {
        uint32_t pe = q->e[i - 1].seq + q->e[i - 1].len;
        if (SEQ_GEQ(pe, end)) {
            st->stats.dup_data++;       /* held already, in its predecessor's run */
            rte_pktmbuf_free(m);
            return;
        }
        if (SEQ_GT(pe, seq)) {
            uint32_t cut = pe - seq;
            if (mbufq_pkt_trim(&m, cut, 0) != 0 || m == NULL)
                return;
            seq += cut;
            len -= cut;
        }
    }
    if (i < q->n && SEQ_LT(q->e[i].seq, end)) {
        uint32_t cut = end - q->e[i].seq;
        if (mbufq_pkt_trim(&m, 0, cut) != 0 || m == NULL)
            return;
        len -= cut;
        end = seq + len;
    }
    if (i > 0 && q->e[i - 1].seq + q->e[i - 1].len == seq &&
        mbufq_pkt_absorb(q->e[i - 1].m, q->e[i - 1].last, m)) {
        /* Small, right behind its predecessor's run: copied into its last segment,
         * which costs no segment (a peer sending a byte per segment). */
        rte_pktmbuf_free(m);
        q->e[i - 1].len += len;
        st->stats.rcv_absorbed++;
        st->stats.ooo_segs++;
        tcp_input_ooo_join_next(q, i, end);
        return;
    }
    if (!tcp_tcb_buf_room(st, m->nb_segs))
        goto drop;
    nb = m->nb_segs;
    last = rte_pktmbuf_lastseg(m);
    if (i > 0 && q->e[i - 1].seq + q->e[i - 1].len == seq &&
        tcp_input_ooo_can_chain(q->e[i - 1].m, m)) {
        /* After its predecessor's run; and maybe joining it to the next run. */
        tcp_input_ooo_chain(q->e[i - 1].m, &q->e[i - 1].last, m, last);
        q->e[i - 1].len += len;
        tcp_input_ooo_join_next(q, i, end);
    } else if (i < q->n && q->e[i].seq == end && tcp_input_ooo_can_chain(m, q->e[i].m)) {
        /* Just before the next run: it becomes that run's head. */
        struct rte_mbuf *run_last = q->e[i].last;
        tcp_input_ooo_chain(m, &last, q->e[i].m, run_last);
        q->e[i].seq = seq;
        q->e[i].len += len;
        q->e[i].m = m;
    } else {
        if (q->n >= TCP_OOO_MAX)
            goto drop;
        for (j = q->n; j > i; j--)
            q->e[j] = q->e[j - 1];
        q->e[i].seq = seq;
        q->e[i].len = len;
        q->e[i].m = m;
        q->e[i].last = last;
        q->n++;
    }
    st->buf_segs += nb;
    st->stats.ooo_segs++;
    return;
drop:
    st->stats.ooo_dropped++;
    rte_pktmbuf_free(m);
    if (c->ooo != NULL && c->ooo->n == 0) {
        rte_mempool_put(st->ooo_pool, c->ooo);
        c->ooo = NULL;
    }
}

/*
 * The worker's segment budget is spent and in-order data of c arrived: c's
 * out-of-order runs go first, the highest first (the farthest from being delivered,
 * as Linux's tcp_prune_ofo_queue), until segs segments fit. The peer keeps what we
 * SACKed until it is acknowledged (RFC 2018 section 8: a receiver may discard it), so
 * nothing is lost but a retransmission; in-order data dropped instead would stall the
 * connection with a window that cannot shrink. True when segs fit now.
 */
static bool tcp_input_ooo_prune(struct tcp_conn *c, uint32_t segs)
{
    struct tcp_stack *st = c->st;
    struct tcp_ooo *q = c->ooo;

    while (q != NULL && q->n > 0 && !tcp_tcb_buf_room(st, segs)) {
        struct rte_mbuf *m = q->e[--q->n].m;
        st->buf_segs -= m->nb_segs;
        rte_pktmbuf_free(m);
        st->stats.ooo_pruned++;
    }
    if (q != NULL && q->n == 0) {
        rte_mempool_put(st->ooo_pool, q);
        c->ooo = NULL;
    }
    return tcp_tcb_buf_room(st, segs);
}

/* Moves out-of-order data that became in order to the receive queue. */
static void tcp_input_ooo_drain(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    struct tcp_ooo *q = c->ooo;
    unsigned i = 0, j;

    while (i < q->n && SEQ_LEQ(q->e[i].seq, c->rcv_nxt)) {
        struct rte_mbuf *m = q->e[i].m;
        uint32_t end = q->e[i].seq + q->e[i].len;
        st->buf_segs -= m->nb_segs;
        if (SEQ_GT(end, c->rcv_nxt) &&
            mbufq_pkt_trim(&m, c->rcv_nxt - q->e[i].seq, 0) == 0 && m != NULL) {
            st->buf_segs += mbufq_append(&c->rcvq, m);
            c->rcv_nxt = end;
        } else if (m != NULL) {
            rte_pktmbuf_free(m);
        }
        i++;
    }
    for (j = 0; i < q->n; i++, j++)
        q->e[j] = q->e[i];
    q->n = (uint16_t)j;
    if (q->n == 0) {
        rte_mempool_put(st->ooo_pool, q);
        c->ooo = NULL;
    }
}

/* The peer's FIN taken in order. Returns the events it raises. */
static unsigned tcp_input_fin(struct tcp_conn *c)
{
    c->rcv_nxt++;
    c->flags |= TCPF_FIN_RCVD | TCPF_ACKNOW;
    c->flags &= ~TCPF_OOO_FIN;
    tcp_rcvbuf_close(c);                /* no more data: its buffer leaves the share */
    switch (c->state) {
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
        tcp_tcb_set_state(c, TCP_CLOSE_WAIT);
        return EVB_PEER_FIN;
    case TCP_FIN_WAIT_1:
        tcp_tcb_set_state(c, TCP_CLOSING);
        return EVB_PEER_FIN;
    case TCP_FIN_WAIT_2:
        tcp_tcb_set_state(c, TCP_TIME_WAIT);
        tcp_timer_rexmt_stop(c);
        tcp_timer_delack_stop(c);
        tcp_timer_deadline(c);
        return EVB_PEER_FIN | EVB_CLOSED;
    default:
        return 0;
    }
}

/*
 * An ACK of new data: the end of a recovery (RFC 6582 section 3.2 step 3, RFC 6675),
 * a partial ACK in one (NewReno: the next hole at once, RFC 6582 step 2), or window
 * growth (tcp_cc_ack). Returns true when the ACK ended a recovery.
 */
static bool tcp_input_cc_ack(struct tcp_conn *c, uint32_t acked)
{
    struct tcp_stack *st = c->st;

    if (c->flags & TCPF_RECOVERY) {
        if (SEQ_GEQ(c->snd_una, c->recover)) {
            tcp_cc_recovery_end(c);
            tcp_rack_recovery_end(c);
            c->flags &= ~(TCPF_RECOVERY | TCPF_SACK_RECOVERY);
            c->dupacks = 0;
            return true;
        }
        st->stats.partial_acks++;
        if (c->flags & TCPF_SACK_RECOVERY) {
            /* RFC 6675: the holes are retransmitted by tcp_output (NextSeg). */
            if (SEQ_LT(c->high_rxt, c->snd_una))
                c->high_rxt = c->snd_una;
            else
                c->rxt_mark = c->snd_max;   /* the new first hole went out by now */
        } else {
            tcp_output_rexmt_first(c);
        }
        return false;
    }
    c->dupacks = 0;
    tcp_cc_ack(c, acked, tcp_now(st));
    return false;
}

/*
 * PRR (RFC 6937) on an ACK during recovery: delivered is what the ACK reports
 * delivered. With SACK, pipe is RFC 6675's; without, the flight less what the
 * duplicates said arrived (nr_sacked), and cwnd stays measured against the flight
 * (tcp_output sends up to cwnd beyond snd_una), so it carries nr_sacked on top.
 */
static void tcp_input_prr(struct tcp_conn *c, uint32_t delivered)
{
    uint32_t flight = c->snd_max - c->snd_una, pipe, sndcnt;

    if (c->flags & TCPF_SACK_RECOVERY)
        pipe = tcp_rack_pipe(c);
    else
        pipe = flight > c->nr_sacked ? flight - c->nr_sacked : 0;
    sndcnt = tcp_cc_prr_sndcnt(c, delivered, pipe, tcp_output_smss(c));
    c->cwnd = ((c->flags & TCPF_SACK_RECOVERY) ? pipe : flight) + sndcnt;
}

/*
 * An ACK while a loss probe is out (RFC 8985 section 7.4). Once it shows the probe
 * delivered (acknowledged or SACKed), what was sent before the probe and is still
 * missing was lost (the probe went out 2 SRTT after it): SACK recovery starts at once,
 * where RFC 6675 alone would wait for DupThresh SACKs that a tail never brings, and
 * then for the RTO. A probe that was a retransmission and leaves nothing missing
 * repaired a loss on its own, unless the ACK carries a D-SACK (RFC 2883: the original
 * had arrived); the congestion response to a loss is taken then (section 7.4.2).
 */
static void tcp_input_tlp_ack(struct tcp_conn *c, const struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    bool dsack = s->n_sack > 0 &&
                 (SEQ_LEQ(s->sack[0].end, s->ack) ||
                  (s->n_sack > 1 && SEQ_GEQ(s->sack[0].start, s->sack[1].start) &&
                   SEQ_LEQ(s->sack[0].end, s->sack[1].end)));

    if (!SEQ_GEQ(s->ack, c->tlp_end) &&
        !(c->sack_n > 0 && SEQ_GEQ(c->sack[c->sack_n - 1].end, c->tlp_end)))
        return;
    c->flags &= ~TCPF_TLP;
    if (SEQ_LT(c->snd_una, c->tlp_end)) {
        if (tcp_output_sack_can_recover(c)) {
            st->stats.tlp_recoveries++;
            tcp_output_sack_enter(c);
        }
    } else if ((c->flags & TCPF_TLP_RXT) && !dsack) {
        st->stats.tlp_repairs++;
        tcp_cc_loss(c, c->cwnd);
        c->cwnd = c->ssthresh;
    }
    c->flags &= ~TCPF_TLP_RXT;
}

/*
 * A lost retransmission in SACK recovery: the first hole was retransmitted (HighRxt is
 * above snd_una) and the peer SACKs data sent DupThresh - 1 segments after that
 * retransmission, yet the hole is still open: the retransmission was lost too (as
 * Linux's lost-retransmit detection and RACK (RFC 8985) conclude, by order of sending
 * where RACK goes by time). RFC 6675 alone would wait for the RTO, and its backoff.
 * The hole is sent again, once per such evidence (rxt_mark moves to snd_max).
 */
static void tcp_input_sack_lost_rexmt(struct tcp_conn *c)
{
    uint32_t smss = tcp_output_smss(c), len;

    if (c->sack_n == 0 || !SEQ_GT(c->high_rxt, c->snd_una) ||
        !SEQ_GT(c->sack[c->sack_n - 1].end, c->rxt_mark + (TCP_DUPTHRESH - 1) * smss))
        return;
    len = c->sack[0].start - c->snd_una;
    c->st->stats.lost_rexmits++;
    c->st->stats.sack_rexmits++;
    tcp_output_rexmt(c, c->snd_una, len < smss ? len : smss);
    tcp_timer_rexmt_arm(c);
}

/* A duplicate ACK (RFC 5681 section 3.2, RFC 6582, RFC 6675). */
static void tcp_input_cc_dupack(struct tcp_conn *c, uint32_t ack)
{
    struct tcp_stack *st = c->st;

    st->stats.dupacks++;
    if (c->flags & TCPF_RECOVERY) {
        if (!(c->flags & TCPF_SACK_RECOVERY)) {
            /* NewReno: one more segment left the network (RFC 6937's DeliveredData
             * without SACK); the PRR step follows in tcp_input_ack. */
            uint32_t flight = c->snd_max - c->snd_una;
            c->nr_sacked = c->nr_sacked + c->mss < flight ? c->nr_sacked + c->mss : flight;
        }
        return;
    }
    if (++c->dupacks < 3) {
        /* Limited transmit (RFC 3042): one new segment per duplicate, beyond cwnd. */
        uint32_t cwnd = c->cwnd;
        c->cwnd = (c->snd_max - c->snd_una) + c->mss;
        if (c->snd_nxt == c->snd_max) {
            st->stats.limited_transmits++;
            tcp_output(c);
        }
        c->cwnd = cwnd;
        return;
    }
    if (c->dupacks != 3)
        return;
    if (tcp_output_sack_can_recover(c)) {
        if (!tcp_rack_decides(c, c->snd_una))
            tcp_output_sack_enter(c);
        return;                         /* else RACK's window decides (tcp_input_ack) */
    }
    if (!SEQ_GT(ack, c->recover))
        return;                         /* RFC 6582 section 3.2 step 2: no new recovery */
    if (c->flags & TCPF_SACK)
        st->stats.sack_newreno_fallbacks++;     /* no SACK information to go by */
    {
        uint32_t flight = c->snd_max - c->snd_una;
        tcp_rack_undo_start(c, true);
        tcp_cc_loss(c, flight);
        tcp_cc_prr_start(c, flight);
        /* The three duplicates each said a segment arrived. */
        c->nr_sacked = 3u * c->mss < flight ? 3u * c->mss : flight;
    }
    c->recover = c->snd_max;
    c->flags |= TCPF_RECOVERY;
    st->stats.fast_retrans++;
    tcp_output_rexmt_first(c);
    tcp_timer_rexmt_arm(c);
}

/*
 * ACK processing for synchronized states (RFC 9293 3.10.7.4 fifth step, RFC 5961
 * section 5). Returns events raised, or -1 when the segment must be dropped.
 */
static int tcp_input_ack(struct tcp_conn *c, struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    uint32_t ack = s->ack;
    uint32_t wnd = (uint32_t)s->wnd << c->snd_wscale;
    uint32_t una0 = c->snd_una, sacked0 = c->sack_n > 0 ? tcp_sack_bytes(c) : 0;
    uint32_t nr_sacked0 = c->nr_sacked;
    bool was_rec = (c->flags & TCPF_RECOVERY) != 0, ended = false, sack_new = false;
    uint32_t rack_lost = 0;
    int ev = 0;

    if (SEQ_GT(ack, c->snd_max)) {
        st->stats.ack_too_new++;
        c->flags |= TCPF_ACKNOW;
        return -1;
    }
    if (SEQ_LT(ack, c->snd_una - c->max_sndwnd)) {
        st->stats.ack_too_old++;
        c->flags |= TCPF_ACKNOW;
        return -1;
    }
    c->probes = 0;                      /* the peer is there: persist probes answered */
    if (c->flags & TCPF_SACK) {
        if (s->sack_bad)
            st->stats.sack_blocks_bad++;
        if (s->n_sack > 0)
            sack_new = tcp_sack_input(c, SEQ_GT(ack, c->snd_una) ? ack : c->snd_una,
                                      s->sack, s->n_sack);
    }
    if (SEQ_GT(ack, c->snd_una)) {
        uint32_t acked = ack - c->snd_una;
        uint32_t data = acked < c->sndq.bytes ? acked : c->sndq.bytes;
        bool fin_acked = (c->flags & TCPF_FIN_SENT) && acked > c->sndq.bytes;

        if (tcp_input_ts_rtt(c, s)) {
            /* RFC 7323 section 4.2: on every ACK of new data */
        } else if ((c->flags & TCPF_RTT) && SEQ_GT(ack, c->rtt_seq)) {
            c->flags &= ~TCPF_RTT;
            tcp_timer_rtt_sample(c, (uint32_t)(tcp_now(st) - c->rtt_start));
        }
        if (data > 0)
            tcp_sndbuf_ack(c, tcp_output_smss(c));
        st->buf_segs -= mbufq_drop_front(&c->sndq, data);
        c->snd_una = ack;
        if (c->sack_n > 0)
            tcp_sack_trim(c, ack);
        if (SEQ_LT(c->snd_nxt, c->snd_una))
            c->snd_nxt = c->snd_una;
        c->rexmt_shift = 0;
        c->persist_shift = 0;
        if ((c->flags & TCPF_RECOVERY) && !(c->flags & TCPF_SACK_RECOVERY)) {
            /* NewReno: a partial ACK covers the retransmitted hole (one MSS), and
             * beyond it segments the duplicates counted already (as Linux's
             * tcp_remove_reno_sacks): those are not delivered again. */
            uint32_t hole = acked < c->mss ? acked : c->mss;
            uint32_t n = acked - hole < c->nr_sacked ? acked - hole : c->nr_sacked;
            c->nr_sacked -= n;
            nr_sacked0 = c->nr_sacked + n;
        }
        ended = tcp_input_cc_ack(c, acked);
        if (c->snd_una == c->snd_max)
            tcp_timer_rexmt_stop(c);
        else
            tcp_timer_rexmt_arm(c);
        if (data > 0 && !(c->flags & TCPF_FIN_QUEUED))
            ev |= EVB_WRITABLE;
        if (fin_acked) {
            switch (c->state) {
            case TCP_FIN_WAIT_1:
                tcp_tcb_set_state(c, TCP_FIN_WAIT_2);
                tcp_timer_deadline(c);
                break;
            case TCP_CLOSING:
                tcp_tcb_set_state(c, TCP_TIME_WAIT);
                tcp_timer_rexmt_stop(c);
                tcp_timer_deadline(c);
                ev |= EVB_CLOSED;
                break;
            case TCP_LAST_ACK:
                ev |= EVB_CLOSED;
                break;
            default:
                break;
            }
        }
    } else if (ack == c->snd_una && s->len == 0 && !(s->flags & (TCP_SYN | TCP_FIN)) &&
               wnd >= c->snd_wnd && c->snd_una != c->snd_max) {
        tcp_input_cc_dupack(c, ack);
    }
    /* RACK (RFC 8985 6.2 steps 1-4) and the D-SACK undo: an undone recovery is over. */
    if ((c->flags & TCPF_SACK) && tcp_rack_ack(c, s->sack, s->n_sack, s->ts, s->tsecr))
        ended = was_rec;
    if (c->flags & TCPF_TLP)
        tcp_input_tlp_ack(c, s);
    if (c->flags & TCPF_SACK_RECOVERY)
        tcp_input_sack_lost_rexmt(c);
    /* RACK step 5: lost by time (only something SACKed, or a recovery, can show a
     * segment sent before the latest delivered one still missing). */
    if (c->rack.q != NULL && (c->sack_n > 0 || SEQ_LT(c->snd_una, c->recover)))
        rack_lost = tcp_rack_detect(c);
    /* RFC 6675 section 5 (b): the first hole is lost by the SACKs alone (this also
     * covers ACKs that carry data, which never count as duplicates), until RACK has
     * seen reordering; or RACK says a segment is. */
    if (tcp_output_sack_can_recover(c) &&
        (rack_lost != 0 || (!tcp_rack_decides(c, c->snd_una) && tcp_sack_is_lost(c, c->snd_una)))) {
        tcp_output_sack_enter(c);
        if (rack_lost != 0)
            tcp_rack_detect(c);         /* the reordering timer for the rest */
    }
    /* PRR (RFC 6937): DeliveredData = the cumulative advance plus the change in SACKed
     * bytes (without SACK: one MSS per duplicate, and a cumulative advance less what
     * the duplicates had counted already). */
    if ((c->flags & TCPF_RECOVERY) && !ended) {
        int64_t d = (int64_t)(uint32_t)(c->snd_una - una0);
        if (c->flags & TCPF_SACK_RECOVERY)
            d += (int64_t)tcp_sack_bytes(c) - (int64_t)sacked0;
        else if (!was_rec)
            d = c->mss;                 /* the duplicate that began it */
        else
            d += (int64_t)c->nr_sacked - (int64_t)nr_sacked0;
        tcp_input_prr(c, d > 0 ? (uint32_t)d : 0);
    }
    /* The recovery probe (doc/tcp.md): an ACK with progress after one was sent answers
     * it and allows the next; any ACK in recovery restarts the silence it waits for. */
    if (SEQ_GT(c->snd_una, una0) || sack_new) {
        if (c->flags & TCPF_RPROBE)
            st->stats.recovery_probe_repairs++;
        c->flags &= ~TCPF_RPROBE;
    }
    if (c->flags & (TCPF_SACK_RECOVERY | TCPF_RPTO))
        tcp_timer_rprobe_arm(c);
    /* Window update (RFC 9293 3.10.7.4). */
    if (SEQ_LT(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && SEQ_LEQ(c->snd_wl2, ack))) {
        if (wnd > c->snd_wnd && c->snd_wnd == 0)
            st->stats.window_updates++;
        c->snd_wnd = wnd;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = ack;
        if (wnd > c->max_sndwnd)
            c->max_sndwnd = wnd;
        if (wnd > 0 && (c->flags & TCPF_PERSIST)) {
            tcp_timer_rexmt_stop(c);
            c->persist_shift = 0;
            c->snd_nxt = c->snd_una;
        }
    }
    return ev;
}

/* Segment text (RFC 9293 3.10.7.4 seventh step). Returns events raised. */
static unsigned tcp_input_data(struct tcp_conn *c, struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    struct rte_mbuf *m;
    unsigned ev = 0;

    if (s->len == 0)
        return 0;
    if (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT_1 &&
        c->state != TCP_FIN_WAIT_2)
        return 0;
    if (c->flags & TCPF_DETACHED) {
        /* Nobody will read it: acknowledge and discard, in order only. */
        if (s->seq == c->rcv_nxt) {
            c->rcv_nxt += s->len;
            st->stats.discarded_after_close++;
        }
        c->flags |= TCPF_ACKNOW;
        return 0;
    }
    if (s->seq != c->rcv_nxt) {
        m = tcp_input_take_payload(s);
        if (m != NULL)
            tcp_input_ooo_insert(c, s->seq, s->len, m);
        c->flags |= TCPF_ACKNOW;        /* a duplicate ACK at once (RFC 5681 4.2) */
        return 0;
    }
    m = tcp_input_take_payload(s);
    if (m == NULL)
        return 0;
    if (mbufq_absorb(&c->rcvq, m)) {
        /* Small, behind the last segment held: no segment of its own. */
        st->stats.rcv_absorbed++;
        rte_pktmbuf_free(m);
    } else if (!tcp_tcb_buf_room(st, m->nb_segs) && !tcp_input_ooo_prune(c, m->nb_segs)) {
        st->stats.rcv_mem_dropped++;
        c->flags |= TCPF_ACKNOW;
        rte_pktmbuf_free(m);
        return 0;
    } else {
        st->buf_segs += mbufq_append(&c->rcvq, m);
    }
    c->rcv_nxt += s->len;
    ev |= EVB_READABLE;
    if (c->ooo != NULL) {
        tcp_input_ooo_drain(c);
        c->flags |= TCPF_ACKNOW;        /* a hole was filled (RFC 5681 4.2) */
    } else if (c->flags & TCPF_DELACK) {
        c->flags |= TCPF_ACKNOW;        /* every second full segment */
    } else {
        tcp_timer_delack_arm(c);
    }
    return ev;
}

/*
 * Delivers the events of one segment, in order; then the connection's output. Inside a
 * receive burst (tcp_burst_begin) too, that output goes at once: the ACK the segment
 * calls for (every second segment, RFC 5681 4.2: one ACK for a whole burst of data
 * would be a stretch ACK; each out-of-order one, which a sender without SACK counts),
 * and what the ACK lets the connection send (new data, retransmissions), as outside a
 * burst. What the events ask of other connections waits for the burst's end.
 */
static void tcp_input_deliver(struct tcp_conn *c, unsigned ev)
{
    if ((ev & EVB_ESTABLISHED) && !(c->flags & TCPF_NOTIFIED)) {
        c->flags |= TCPF_NOTIFIED;
        if (!tcp_entry_notify(c, TCP_EV_ESTABLISHED))
            return;
    }
    if ((ev & EVB_READABLE) && c->rcvq.bytes > 0 && !tcp_entry_notify(c, TCP_EV_READABLE))
        return;
    if ((ev & EVB_PEER_FIN) && !tcp_entry_notify(c, TCP_EV_PEER_FIN))
        return;
    if ((ev & EVB_WRITABLE) && !tcp_entry_notify(c, TCP_EV_WRITABLE))
        return;
    if (ev & EVB_CLOSED) {
        if (c->state == TCP_LAST_ACK || c->state == TCP_CLOSED) {
            tcp_entry_terminate(c, TCP_EV_CLOSED);
            return;
        }
        /* TIME_WAIT: the user is done; an entry of the TIME_WAIT table replaces the
         * control block for 2 MSL (tcp_tw.h). */
        if (!(c->flags & TCPF_DETACHED)) {
            c->st->stats.closed++;
            tcp_entry_notify(c, TCP_EV_CLOSED);
            c->flags |= TCPF_DETACHED;
        }
        if (!(c->flags & TCPF_DEAD) && c->state == TCP_TIME_WAIT) {
            tcp_tw_enter(c);
            return;
        }
    }
    if (c->flags & TCPF_DEAD)
        return;
    if (c->st->in_burst)
        tcp_output(c);
    else
        tcp_entry_output_later(c);
}

/* SYN_SENT (RFC 9293 3.10.7.3). */
static void tcp_input_syn_sent(struct tcp_conn *c, struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    bool ack_ok = false;

    if (s->flags & TCP_ACK) {
        if (SEQ_LEQ(s->ack, c->iss) || SEQ_GT(s->ack, c->snd_max)) {
            if (!(s->flags & TCP_RST)) {
                tcp_output_raw(st, &c->key, s->ack, 0, TCP_RST, 0, 0, NULL);
                /* Most often the peer still holds an older connection of this 4-tuple:
                 * a Linux TIME_WAIT that did not take our SYN (its timestamp or ISN not
                 * above the old connection's, RFC 6191) answers with an ACK of that
                 * connection. The RST ends it there, and the SYN goes again shortly
                 * after it rather than at the 1 s initial RTO, as Linux's
                 * tcp_rcv_synsent_state_process does. Once a connection: after a
                 * retransmitted SYN the RTO waits as usual (a spoofed ACK flood draws
                 * one extra SYN per connection). */
                if (c->rexmt_shift == 0 && !(c->flags & TCPF_SYN_RESENT)) {
                    c->flags |= TCPF_SYN_RESENT;
                    st->stats.syn_bad_ack_resends++;
                    tcp_timer_rexmt_at(c, TCP_SYN_RESEND_MS);
                }
            }
            return;
        }
        ack_ok = true;
    }
    if (s->flags & TCP_RST) {
        if (ack_ok) {
            st->stats.rst_rcvd++;
            tcp_entry_terminate(c, TCP_EV_RESET);
        } else {
            st->stats.rst_ignored++;
        }
        return;
    }
    if (!(s->flags & TCP_SYN))
        return;
    c->irs = s->seq;
    c->rcv_nxt = s->seq + 1;
    tcp_input_syn_options(c, s);
    c->snd_wnd = s->wnd;                /* never scaled in a SYN (RFC 7323 2.2) */
    c->max_sndwnd = c->snd_wnd;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
    c->flags |= TCPF_ACKNOW;
    if (ack_ok) {
        if (!tcp_input_ts_rtt(c, s) && (c->flags & TCPF_RTT) && c->rexmt_shift == 0)
            tcp_timer_rtt_sample(c, (uint32_t)(tcp_now(st) - c->rtt_start));
        c->flags &= ~TCPF_RTT;
        c->snd_una = s->ack;
        c->rcv_adv = c->rcv_nxt;
        tcp_input_established(c);
        if (c->flags & TCPF_FIN_QUEUED)
            tcp_tcb_set_state(c, TCP_FIN_WAIT_1);
        tcp_input_deliver(c, EVB_ESTABLISHED);
        return;
    }
    /* Simultaneous open. */
    tcp_tcb_set_state(c, TCP_SYN_RECEIVED);
    c->flags &= ~TCPF_RTT;
    tcp_output_syn(c);
    tcp_timer_rexmt_arm(c);
}

/* Synchronized states and SYN_RECEIVED (RFC 9293 3.10.7.4). */
static void tcp_input_conn(struct tcp_conn *c, struct tcp_seg *s)
{
    struct tcp_stack *st = c->st;
    uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    uint32_t seglen = s->len + ((s->flags & TCP_SYN) ? 1 : 0) + ((s->flags & TCP_FIN) ? 1 : 0);
    unsigned ev = 0;
    bool ok;
    int r;

    c->last_rx_ms = tcp_now(st);
    /* PAWS (RFC 7323 section 5.3 R1): a TSval older than TS.Recent is an old
     * duplicate, unless TS.Recent is over 24 days old (section 5.5): dropped, ACKed. */
    if ((c->flags & TCPF_TS) && s->ts && !(s->flags & TCP_RST) &&
        (int32_t)(s->tsval - c->ts_recent) < 0) {
        if ((uint32_t)(tcp_now(st) >> 10) - c->ts_recent_age <= TCP_PAWS_IDLE_MS / 1024) {
            st->stats.paws_dropped++;
            tcp_output_ack(c);
            return;
        }
        tcp_input_ts_recent(c, s->tsval);
    }
    /* First: sequence number acceptability. */
    if (seglen == 0)
        ok = wnd == 0 ? s->seq == c->rcv_nxt
                      : SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd);
    else
        ok = wnd != 0 &&
             ((SEQ_GEQ(s->seq, c->rcv_nxt) && SEQ_LT(s->seq, c->rcv_nxt + wnd)) ||
              (SEQ_GEQ(s->seq + seglen - 1, c->rcv_nxt) &&
               SEQ_LT(s->seq + seglen - 1, c->rcv_nxt + wnd)));
    if (!ok) {
        if (s->flags & TCP_RST) {
            st->stats.rst_ignored++;
            return;
        }
        if (c->state == TCP_SYN_RECEIVED && (s->flags & TCP_SYN) && s->seq == c->irs) {
            c->flags |= TCPF_ACKNOW;    /* the peer lost our SYN-ACK */
            tcp_output(c);
            return;
        }
        if (s->flags & TCP_SYN) {
            tcp_input_challenge(c);
            return;
        }
        if (SEQ_LT(s->seq, c->rcv_nxt))
            st->stats.dup_data++;
        else
            st->stats.out_of_window++;
        tcp_output_ack(c);
        return;
    }
    /* RFC 7323 section 4.3 (R3): TS.Recent takes the TSval of an acceptable segment
     * when it is not older and the segment starts at or before Last.ACK.sent, so that
     * TSecr echoes the earliest of the segments an ACK (delayed or not) covers. */
    if ((c->flags & TCPF_TS) && s->ts && SEQ_GEQ(s->tsval, c->ts_recent) &&
        SEQ_LEQ(s->seq, c->last_ack_sent))
        tcp_input_ts_recent(c, s->tsval);
    /* Second: RST (RFC 5961 section 3.2). */
    if (s->flags & TCP_RST) {
        if (s->seq != c->rcv_nxt) {
            tcp_input_challenge(c);
            return;
        }
        st->stats.rst_rcvd++;
        if (c->state == TCP_SYN_RECEIVED && (c->flags & TCPF_PASSIVE)) {
            tcp_tcb_free(c);            /* back to LISTEN: nothing to tell */
            return;
        }
        tcp_entry_terminate(c, TCP_EV_RESET);
        return;
    }
    /* Fourth: SYN in a synchronized state (RFC 5961 section 4.2). */
    if (s->flags & TCP_SYN) {
        tcp_input_challenge(c);
        return;
    }
    /* Trim to the window. */
    if (SEQ_LT(s->seq, c->rcv_nxt)) {
        uint32_t cut = c->rcv_nxt - s->seq;
        if (cut > s->len) {
            cut = s->len;
            s->flags &= (uint8_t)~TCP_FIN;
        }
        s->front += cut;
        s->len -= cut;
        s->seq += cut;
        st->stats.dup_data++;
        c->flags |= TCPF_ACKNOW;
    }
    if (SEQ_GT(s->seq + s->len, c->rcv_nxt + wnd)) {
        uint32_t cut = s->seq + s->len - (c->rcv_nxt + wnd);
        s->back += cut;
        s->len -= cut;
        s->flags &= (uint8_t)~TCP_FIN;
        c->flags |= TCPF_ACKNOW;
    }
    /* Fifth: ACK. */
    if (!(s->flags & TCP_ACK))
        return;
    if (c->state == TCP_SYN_RECEIVED) {
        if (!SEQ_GT(s->ack, c->snd_una) || SEQ_GT(s->ack, c->snd_max)) {
            tcp_output_raw(st, &c->key, s->ack, 0, TCP_RST, 0, 0, NULL);
            return;
        }
        if (!tcp_input_ts_rtt(c, s) && (c->flags & TCPF_RTT) && c->rexmt_shift == 0)
            tcp_timer_rtt_sample(c, (uint32_t)(tcp_now(st) - c->rtt_start));
        c->flags &= ~TCPF_RTT;
        c->snd_una = c->iss + 1;
        c->snd_wnd = (uint32_t)s->wnd << c->snd_wscale;
        c->max_sndwnd = c->snd_wnd;
        c->snd_wl1 = s->seq;
        c->snd_wl2 = s->ack;
        tcp_input_established(c);
        ev |= EVB_ESTABLISHED;
        if (c->flags & TCPF_FIN_QUEUED)
            tcp_tcb_set_state(c, TCP_FIN_WAIT_1);
    }
    r = tcp_input_ack(c, s);
    if (r < 0) {
        tcp_output_ack(c);
        return;
    }
    ev |= (unsigned)r;
    if ((ev & EVB_CLOSED) && c->state == TCP_LAST_ACK) {
        tcp_input_deliver(c, ev);
        return;
    }
    /* Seventh: data; eighth: FIN. */
    ev |= tcp_input_data(c, s);
    if (s->flags & TCP_FIN) {
        uint32_t fin_seq = s->seq + s->len;
        if (fin_seq == c->rcv_nxt && !(c->flags & TCPF_FIN_RCVD)) {
            ev |= tcp_input_fin(c);
        } else if (SEQ_GT(fin_seq, c->rcv_nxt)) {
            c->flags |= TCPF_OOO_FIN;
            c->ooo_fin = fin_seq;
        }
    }
    if ((c->flags & TCPF_OOO_FIN) && c->ooo_fin == c->rcv_nxt && !(c->flags & TCPF_FIN_RCVD))
        ev |= tcp_input_fin(c);
    tcp_input_deliver(c, ev);
}

/* TIME_WAIT's ACK (tcp_input_time_wait), limited as challenge ACKs are, so that a
 * flood of segments that match an entry (spoofed or not) cannot make the stack send
 * more than the challenge ACK budget a second, nor an entry more than its own share. */
static void tcp_input_tw_ack(struct tcp_stack *st, struct tcp_tw_entry *e)
{
    if (tcp_input_ack_limit(st, &e->chal_sec, &e->chal_count) != TCP_ACK_OK) {
        st->stats.time_wait_ack_limited++;
        return;
    }
    st->stats.time_wait_acks++;
    tcp_output_tw_ack(st, e);
}

/*
 * A segment for a connection in TIME_WAIT, held as an entry of the table (tcp_tw.h;
 * RFC 9293 3.10.7.4). Returns false when a SYN may reuse the 4-tuple: the entry is
 * gone (time_wait_reused) and the SYN goes to the listener as a new connection; true
 * when the segment was dealt with here.
 * - RST: ignored (RFC 1337: a reset would end TIME_WAIT early, "TIME-WAIT
 *   assassination", and let old duplicates into a new incarnation).
 * - SYN (without ACK) to a listener: reuses the 4-tuple when its TSval is newer than
 *   TS.Recent (both sides had timestamps, RFC 6191), else when its sequence number is
 *   above RCV.NXT (RFC 9293, as BSD); any other SYN gets the ACK (RFC 5961 4.2).
 * - A TSval older than TS.Recent (PAWS, RFC 7323 5.3): an ACK, nothing else.
 * - The peer's FIN again (its sequence number RCV.NXT - 1: our ACK was lost): the ACK,
 *   and 2 MSL from now. Any other segment: the ACK, and the expiry stays where it
 *   was, so that no one who knows the 4-tuple can hold the entry for ever.
 * Every ACK goes through tcp_input_tw_ack's limiter.
 */
static bool tcp_input_time_wait(struct tcp_stack *st, struct tcp_tw_entry *e,
                                struct tcp_seg *s)
{
    bool ts = (e->flags & TCP_TWF_TS) && s->ts;

    if (s->flags & TCP_RST) {
        st->stats.rst_ignored++;
        return true;
    }
    if ((s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        bool newer = ts ? (int32_t)(s->tsval - e->ts_recent) > 0 : SEQ_GT(s->seq, e->rcv_nxt);
        if (newer && tcp_tcb_listener(st, e->key.laddr, e->key.lport) != NULL) {
            st->stats.time_wait_reused++;
            tcp_tw_remove(st, e);
            return false;
        }
        tcp_input_tw_ack(st, e);
        return true;
    }
    if (ts && (int32_t)(s->tsval - e->ts_recent) < 0) {
        st->stats.paws_dropped++;
        tcp_input_tw_ack(st, e);
        return true;
    }
    if ((s->flags & TCP_FIN) && s->seq + s->len + 1 == e->rcv_nxt) {
        if (ts)
            e->ts_recent = s->tsval;
        tcp_tw_restart(st, e);
    } else if (SEQ_LT(s->seq, e->rcv_nxt)) {
        st->stats.dup_data++;
    } else {
        st->stats.out_of_window++;
    }
    tcp_input_tw_ack(st, e);
    return true;
}

enum drop_reason tcp_input(struct tcp_stack *st, struct rte_mbuf *m, const struct pkt_info *pi)
{
    const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, const struct rte_ipv4_hdr *,
                                                            pi->l3_off);
    const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *,
                                                           pi->l4_off);
    uint32_t doff = (uint32_t)(th->data_off >> 4) * 4;
    struct tcp_key k = {.laddr = pi->dst_ip, .raddr = pi->src_ip, .lport = pi->dst_port,
                        .rport = pi->src_port};
    struct tcp_seg s = {.m = m, .wscale = WSCALE_NONE};
    struct tcp_listener *l;
    struct tcp_conn *c;
    enum rx_csum ck = rx_csum_l4(m);

    st->stats.segs_in++;
    /* GOOD, and NONE (virtio-net: the field holds the pseudo-header sum only, the data
     * is sound), are accepted as they are; the segment's header is never sent on. */
    if (ck == RX_CSUM_BAD ||
        (ck == RX_CSUM_VERIFY && !csum_ipv4_l4_mbuf_ok(m, ip, pi->l4_off))) {
        st->stats.bad_checksum++;
        return DROP_TCP_BAD_CHECKSUM;
    }
    s.seq = rte_be_to_cpu_32(th->sent_seq);
    s.ack = rte_be_to_cpu_32(th->recv_ack);
    s.flags = th->tcp_flags & 0x3f;
    s.wnd = rte_be_to_cpu_16(th->rx_win);
    s.len = pi->l4_len - doff;
    s.front = pi->l4_off + doff;
    s.back = rte_pktmbuf_pkt_len(m) - s.front - s.len;
    if (doff > 20 && tcp_input_options((const uint8_t *)(th + 1), doff - 20, &s) != 0) {
        if (s.flags & TCP_SYN) {
            st->stats.malformed++;
            return DROP_MALFORMED_TCP;
        }
        s.n_sack = 0;                   /* options we cannot trust: no SACK blocks */
        s.sack_bad = true;
    }
    st->stats.bytes_in += s.len;

    tcp_entry_begin(st);
    c = tcp_tcb_lookup(st, &k);
    if (c == NULL && st->tw.n != 0) {
        struct tcp_tw_entry *e = tcp_tw_lookup(st, &k);
        if (e != NULL && tcp_input_time_wait(st, e, &s)) {
            tcp_input_release(&s);
            tcp_entry_end(st);
            return DROP_NONE;
        }
    }
    if (c != NULL) {
        if (c->state == TCP_SYN_SENT)
            tcp_input_syn_sent(c, &s);
        else
            tcp_input_conn(c, &s);
        tcp_input_release(&s);
        tcp_entry_end(st);
        return DROP_NONE;
    }
    l = tcp_tcb_listener(st, k.laddr, k.lport);
    if (l != NULL && !(s.flags & TCP_RST)) {
        uint16_t li = (uint16_t)(l - st->listeners);
        if ((s.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
            tcp_input_listen(st, l, li, &k, &s);
            tcp_input_release(&s);
            tcp_entry_end(st);
            return DROP_NONE;
        }
        if ((s.flags & (TCP_SYN | TCP_ACK)) == TCP_ACK) {
            c = tcp_input_cookie(st, l, &k, &s);
            if (c != NULL) {
                tcp_input_deliver(c, EVB_ESTABLISHED);
                if (!(c->flags & TCPF_DEAD) && (s.len > 0 || (s.flags & TCP_FIN)))
                    tcp_input_conn(c, &s);
                tcp_input_release(&s);
                tcp_entry_end(st);
                return DROP_NONE;
            }
        }
    }
    st->stats.no_socket++;
    tcp_input_reset_reply(st, &k, &s);
    s.m = NULL;
    tcp_entry_end(st);
    return DROP_TCP_NO_SOCKET;
}
