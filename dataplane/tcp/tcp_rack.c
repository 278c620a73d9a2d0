/*
 * tcp_rack: RACK loss detection and D-SACK undo. See tcp_rack.h.
 *
 * Hot path: the records are a fixed array in a pool block, searched by bisection and
 * scanned only while something is SACKed or a recovery is in progress; no logging.
 */
#include "tcp/tcp_rack.h"

#include <stddef.h>
#include <string.h>

#include <rte_mempool.h>

#include "tcp/tcp_sack.h"
#include "tcp/tcp_timer.h"

#define RACK_MIN_RTT_WINDOW_S 300       /* min_RTT is the minimum of the last 5 minutes
                                           (as Linux's tcp_min_rtt_wlen) */

/* RFC 8985 RACK_sent_after(t1, seq1, t2, seq2), the tie of two segments sent in the
 * same microsecond (one burst, or a test's frozen clock) broken by the order of
 * sending rather than by sequence (a retransmission goes after higher new data). */
static inline bool rack_sent_after(uint32_t t1, uint32_t o1, uint32_t t2, uint32_t o2)
{
    int32_t d = (int32_t)(t1 - t2);

    return d > 0 || (d == 0 && (int32_t)(o1 - o2) > 0);
}

void tcp_rack_init(struct tcp_conn *c)
{
    memset(&c->rack, 0, sizeof(c->rack));
    c->rack_reo_wnd_mult = 1;
    c->rack_reo_wnd_persist = 0;
    c->rack_reordering_seen = 0;
}

void tcp_rack_free(struct tcp_conn *c)
{
    if (c->rack.q == NULL)
        return;
    rte_mempool_put(c->rack.q->cap == TCP_RACK_SEGS ? c->st->rack_pool : c->st->rack_pool_big,
                    c->rack.q);
    c->rack.q = NULL;
}

/* c's block is full (its records start at s[0]): its records move to a large block
 * from the stack's second pool, the small one goes back. Returns the new block, or
 * NULL when c has a large one already or none is left (c keeps its block). */
static struct tcp_rack_q *rack_grow(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    struct tcp_rack_q *q = c->rack.q, *big;

    if (q->cap != TCP_RACK_SEGS || st->rack_pool_big == NULL ||
        rte_mempool_get(st->rack_pool_big, (void **)&big) != 0)
        return NULL;
    memcpy(big, q, offsetof(struct tcp_rack_q, s) + (q->head + q->n) * sizeof(q->s[0]));
    big->cap = st->rack_big_segs;
    rte_mempool_put(st->rack_pool, q);
    c->rack.q = big;
    st->stats.rack_blocks_grown++;
    return big;
}

/* Room for one more record at the end of q: compacts it to the front when the block's
 * end is reached. *i (an index into s) follows the move. False when q is full. */
static bool rack_room(struct tcp_rack_q *q, uint32_t *i)
{
    if (q->head + q->n < q->cap)
        return true;
    if (q->head == 0)
        return false;
    memmove(q->s, q->s + q->head, q->n * sizeof(q->s[0]));
    if (i != NULL)
        *i -= q->head;
    q->head = 0;
    return true;
}

/* Splits record i at seq (inside it): i keeps [start, seq), i + 1 gets [seq, end). */
static bool rack_split(struct tcp_rack_q *q, uint32_t *i, uint32_t seq)
{
    uint32_t last;

    if (!rack_room(q, i))
        return false;
    last = q->head + q->n;
    memmove(q->s + *i + 1, q->s + *i, (last - *i) * sizeof(q->s[0]));
    q->n++;
    q->s[*i].end = seq;
    q->s[*i + 1].start = seq;
    return true;
}

/* The index of the first record of q that ends above seq (head + n: none). */
static uint32_t rack_find(const struct tcp_rack_q *q, uint32_t seq)
{
    uint32_t lo = q->head, hi = q->head + q->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (SEQ_GT(q->s[mid].end, seq))
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

bool tcp_rack_decides(const struct tcp_conn *c, uint32_t seq)
{
    const struct tcp_rack_q *q = c->rack.q;
    uint32_t i;

    if (q == NULL || !c->rack_reordering_seen || q->n == 0)
        return false;
    i = rack_find(q, seq);
    return i < q->head + q->n && SEQ_LEQ(q->s[i].start, seq);
}

void tcp_rack_sent(struct tcp_conn *c, uint32_t seq, uint32_t len, bool rexmt)
{
    struct tcp_stack *st = c->st;
    struct tcp_rack *r = &c->rack;
    struct tcp_rack_q *q = r->q;
    uint32_t now, end = seq + len, i, order;

    if (len == 0)
        return;
    if (q != NULL && rexmt && q->undo_on)
        q->undo_retrans += len;
    if (!(c->flags & TCPF_SACK) || st->rack_pool == NULL)
        return;
    now = (uint32_t)tcp_now_us(st);
    if (!rexmt) {
        if (q == NULL) {
            if (rte_mempool_get(st->rack_pool, (void **)&q) != 0) {
                st->stats.rack_records_exhausted++;
                return;
            }
            memset(q, 0, offsetof(struct tcp_rack_q, s));
            q->cap = TCP_RACK_SEGS;
            q->min_rtt_us = UINT32_MAX;
            r->q = q;
        }
        if (q->n > 0 && SEQ_GT(q->s[q->head + q->n - 1].end, seq))
            return;                     /* not new after all: keep the order */
        if (!rack_room(q, NULL) && (q = rack_grow(c)) == NULL) {
            st->stats.rack_records_exhausted++;
            return;
        }
        q->s[q->head + q->n++] = (struct tcp_rack_seg){
            .start = seq, .end = end, .xmit_us = now, .order = q->next_order++, .flags = 0};
        return;
    }
    if (q == NULL)
        return;
    order = q->next_order++;
    for (i = rack_find(q, seq); i < q->head + q->n && SEQ_LT(q->s[i].start, end); i++) {
        struct tcp_rack_seg *s = &q->s[i];
        if (SEQ_LT(s->start, seq)) {
            if (rack_split(q, &i, seq)) {
                continue;               /* i keeps the part not sent; i + 1 is next */
            }
            st->stats.rack_records_exhausted++;
        } else if (SEQ_GT(s->end, end) && !rack_split(q, &i, end)) {
            st->stats.rack_records_exhausted++;
        }
        s = &q->s[i];
        s->xmit_us = now;
        s->order = order;
        s->flags = (s->flags | TCP_RACKF_RXT) & ~TCP_RACKF_LOST;
    }
}

uint32_t tcp_rack_reo_wnd(const struct tcp_conn *c)
{
    const struct tcp_rack *r = &c->rack;
    const struct tcp_rack_q *q = r->q;
    uint64_t w, cap;
    bool in_recovery = (c->flags & TCPF_RECOVERY) || SEQ_LT(c->snd_una, c->recover);

    if (q == NULL)
        return 0;
    if (!c->rack_reordering_seen) {
        if (in_recovery)
            return 0;
        if (c->sack_n > 0 && tcp_sack_bytes(c) >= TCP_DUPTHRESH * (uint32_t)c->mss)
            return 0;
    }
    if (q->min_rtt_us == UINT32_MAX)
        return 0;
    w = (uint64_t)q->min_rtt_us / 4 * c->rack_reo_wnd_mult;
    /* Capped by SRTT: the estimator's (milliseconds) or, finer, RACK's own of its
     * microsecond samples, whichever is larger; never below min_RTT. Below 1 ms the
     * estimator says 0, and reo_wnd would stop at min_RTT for good: on a LAN a burst
     * reordered by more than one round trip's worth would then be lost every time
     * however many D-SACKs came. */
    cap = (uint64_t)(c->srtt >> 3) * 1000;
    if (cap < q->srtt_us)
        cap = q->srtt_us;
    if (cap < q->min_rtt_us)
        cap = q->min_rtt_us;
    return (uint32_t)(w < cap ? w : cap);
}

/* Undoes the episode's reduction: every byte it retransmitted was D-SACKed. */
static void rack_undo(struct tcp_conn *c)
{
    struct tcp_rack_q *r = c->rack.q;

    c->st->stats.dsack_undos++;
    if (c->flags & TCPF_RECOVERY) {
        c->flags &= ~(TCPF_RECOVERY | TCPF_SACK_RECOVERY);
        c->dupacks = 0;
        c->recover = c->snd_una;
    }
    c->cubic_epoch = 0;                 /* a new epoch from the restored window (the
                                           union held PRR's state in a recovery) */
    if (c->cwnd < r->undo_cwnd)
        c->cwnd = r->undo_cwnd;
    if (c->ssthresh < r->undo_ssthresh)
        c->ssthresh = r->undo_ssthresh;
    if (c->w_max < r->undo_w_max)
        c->w_max = r->undo_w_max;
    if (SEQ_LT(c->snd_nxt, c->snd_max))
        c->snd_nxt = c->snd_max;        /* an RTO's go-back-N was spurious too */
    for (uint32_t i = r->head; i < r->head + r->n; i++)
        r->s[i].flags &= ~TCP_RACKF_LOST;
    r->undo_on = 0;
}

void tcp_rack_undo_start(struct tcp_conn *c, bool fresh)
{
    struct tcp_rack_q *r = c->rack.q;

    if (r == NULL || (!fresh && r->undo_on))
        return;
    r->undo_on = 1;
    r->undo_grace = 0;
    r->undo_marker = c->snd_una;
    r->undo_retrans = 0;
    r->undo_cwnd = c->cwnd;
    r->undo_ssthresh = c->ssthresh;
    r->undo_w_max = c->w_max;
}

void tcp_rack_recovery_end(struct tcp_conn *c)
{
    if (c->rack_reo_wnd_persist > 0 && --c->rack_reo_wnd_persist == 0)
        c->rack_reo_wnd_mult = 1;
}

/* RFC 8985 6.2 steps 1 and 2 for one record the ACK delivered. */
static void rack_deliver(struct tcp_conn *c, const struct tcp_rack_seg *s, uint32_t now,
                         uint64_t now64, bool ts, uint32_t tsecr)
{
    struct tcp_rack_q *r = c->rack.q;
    int32_t d = (int32_t)(now - s->xmit_us);
    uint32_t rtt = d > 0 ? (uint32_t)d : 0;
    uint32_t now_s = (uint32_t)(now64 / 1000000);

    if (SEQ_GT(s->end, r->fack))
        r->fack = s->end;
    else if (SEQ_LT(s->end, r->fack) && !(s->flags & TCP_RACKF_RXT) &&
             !c->rack_reordering_seen) {
        c->rack_reordering_seen = 1;
        c->st->stats.rack_reordering_seen++;
    }
    if (s->flags & TCP_RACKF_RXT) {
        /* Which transmission does the ACK answer? Not this one if it echoes a TSval
         * older than it, or if the RTT would be below the least seen. */
        if (ts && (c->flags & TCPF_TS)) {
            uint32_t xmit_ms = (uint32_t)((now64 - rtt) / 1000) + c->ts_offset;
            if (SEQ_LT(tsecr + 1, xmit_ms))  /* 1 ms of slack: two clocks */
                return;
        }
        if (rtt < r->min_rtt_us)
            return;
    }
    if (rtt <= r->min_rtt_us || now_s - r->min_rtt_s > RACK_MIN_RTT_WINDOW_S) {
        r->min_rtt_us = rtt;
        r->min_rtt_s = now_s;
    }
    if (!r->has_xmit || rack_sent_after(s->xmit_us, s->order, r->xmit_us, r->xmit_order)) {
        r->has_xmit = 1;
        r->xmit_us = s->xmit_us;
        r->xmit_order = s->order;
        r->end_seq = s->end;
        r->rtt_us = rtt;
        r->rtt_fresh = 1;               /* tcp_rack_ack: one SRTT sample an ACK */
    }
}

/* The scoreboard range holding [s, e) whole? */
static bool rack_sacked(const struct tcp_conn *c, uint32_t s, uint32_t e)
{
    for (unsigned i = 0; i < c->sack_n; i++)
        if (SEQ_LEQ(c->sack[i].start, s))
            if (SEQ_GEQ(c->sack[i].end, e))
                return true;
    return false;
}

bool tcp_rack_ack(struct tcp_conn *c, const struct tcp_sack_range *blk, unsigned n,
                  bool ts, uint32_t tsecr)
{
    struct tcp_stack *st = c->st;
    struct tcp_rack *rk = &c->rack;
    struct tcp_rack_q *q = rk->q, *r = q;
    uint64_t now64 = tcp_now_us(st);
    uint32_t now = (uint32_t)now64;
    bool undone = false;
    bool dsack = n > 0 && (SEQ_LEQ(blk[0].end, c->snd_una) ||
                           (n > 1 && SEQ_GEQ(blk[0].start, blk[1].start) &&
                            SEQ_LEQ(blk[0].end, blk[1].end)));

    if (dsack)
        st->stats.dsacks_rcvd++;
    if (q == NULL)
        return false;
    /* RFC 8985 6.2 step 4: one growth of reo_wnd per round trip that sees D-SACKs. */
    if (r->dsack_on && SEQ_GEQ(c->snd_una, r->dsack_round))
        r->dsack_on = 0;
    if (dsack) {
        /* A segment that arrived twice: its first copy was not lost, only late (or
         * its ACK was): reordering (Linux's SACK tagging also takes a D-SACKed
         * retransmission below the SACKed data as reordering). Without this
         * a segment reordered by more than reo_wnd, retransmitted before it arrived,
         * never counts (the RFC's test excludes retransmitted segments). */
        if (!c->rack_reordering_seen) {
            c->rack_reordering_seen = 1;
            st->stats.rack_reordering_seen++;
        }
        if (!r->dsack_on) {
            r->dsack_on = 1;
            r->dsack_round = c->snd_max;
            if (c->rack_reo_wnd_mult < UINT8_MAX)
                c->rack_reo_wnd_mult++;
            c->rack_reo_wnd_persist = TCP_RACK_REO_PERSIST;
            st->stats.rack_reo_wnd_grown++;
        }
        if (r->undo_on && r->undo_retrans > 0 && SEQ_GEQ(blk[0].start, r->undo_marker)) {
            uint32_t d = blk[0].end - blk[0].start;
            r->undo_retrans -= d < r->undo_retrans ? d : r->undo_retrans;
            r->undo_grace = 0;          /* more may come: the block stays an ACK more */
            if (r->undo_retrans == 0) {
                rack_undo(c);
                undone = true;
            }
        }
    }
    /* Acknowledged cumulatively. */
    while (q->n > 0 && SEQ_LEQ(q->s[q->head].end, c->snd_una)) {
        const struct tcp_rack_seg *s = &q->s[q->head];
        if (!(s->flags & TCP_RACKF_SACKED))
            rack_deliver(c, s, now, now64, ts, tsecr);
        q->head++;
        q->n--;
    }
    if (q->n > 0 && SEQ_LT(q->s[q->head].start, c->snd_una))
        q->s[q->head].start = c->snd_una;
    /* Newly SACKed: the records within this ACK's blocks that the board holds whole. */
    for (unsigned b = dsack ? 1 : 0; b < n; b++) {
        uint32_t i = rack_find(q, blk[b].start);
        for (; i < q->head + q->n && SEQ_LEQ(q->s[i].end, blk[b].end); i++) {
            struct tcp_rack_seg *s = &q->s[i];
            if ((s->flags & TCP_RACKF_SACKED) || !rack_sacked(c, s->start, s->end))
                continue;
            s->flags = (s->flags | TCP_RACKF_SACKED) & ~TCP_RACKF_LOST;
            rack_deliver(c, s, now, now64, ts, tsecr);
        }
    }
    if (r->rtt_fresh) {
        /* RACK's SRTT (reo_wnd's cap): RFC 6298's gain on the ACK's RACK.rtt, the
         * first sample taken as it is. */
        r->rtt_fresh = 0;
        r->srtt_us = r->srtt_us == 0 ? (r->rtt_us != 0 ? r->rtt_us : 1)
                                     : r->srtt_us - (r->srtt_us >> 3) + (r->rtt_us >> 3);
    }
    if (q->n == 0) {
        q->head = 0;
        /* Nothing in flight: the block goes back, unless an undo waits on D-SACKs
         * (they come an ACK after the one for the original): one ACK more. */
        if (c->snd_una == c->snd_max) {
            if (q->undo_on && q->undo_retrans > 0 && !q->undo_grace)
                q->undo_grace = 1;
            else
                tcp_rack_free(c);
        }
    }
    return undone;
}

uint32_t tcp_rack_detect(struct tcp_conn *c)
{
    struct tcp_rack_q *q = c->rack.q, *r = q;
    uint32_t now, reo, marked = 0;
    int32_t timeout = 0;

    if (q == NULL || !r->has_xmit)
        return 0;
    now = (uint32_t)tcp_now_us(c->st);
    reo = tcp_rack_reo_wnd(c);
    for (uint32_t i = q->head; i < q->head + q->n; i++) {
        struct tcp_rack_seg *s = &q->s[i];
        int32_t remaining;
        if ((s->flags & (TCP_RACKF_SACKED | TCP_RACKF_LOST)) ||
            !rack_sent_after(r->xmit_us, r->xmit_order, s->xmit_us, s->order))
            continue;
        remaining = (int32_t)(s->xmit_us + r->rtt_us + reo - now);
        if (remaining <= 0) {
            s->flags |= TCP_RACKF_LOST;
            marked++;
        } else if (remaining > timeout) {
            timeout = remaining;
        }
    }
    c->st->stats.rack_marked_lost += marked;
    if (timeout > 0)
        tcp_timer_reo_arm(c, (uint32_t)timeout);
    return marked;
}

bool tcp_rack_next_lost(struct tcp_conn *c, uint32_t smss, uint32_t *seq, uint32_t *len)
{
    struct tcp_rack_q *q = c->rack.q;

    if (q == NULL)
        return false;
    for (uint32_t i = q->head; i < q->head + q->n; i++) {
        struct tcp_rack_seg *s = &q->s[i];
        uint32_t from, limit, to;
        if (!(s->flags & TCP_RACKF_LOST))
            continue;
        from = tcp_sack_skip(c, SEQ_GT(s->start, c->snd_una) ? s->start : c->snd_una, &limit);
        if (SEQ_GEQ(from, s->end)) {
            s->flags = (s->flags | TCP_RACKF_SACKED) & ~TCP_RACKF_LOST;
            continue;
        }
        to = SEQ_LT(limit, s->end) ? limit : s->end;
        if (SEQ_GEQ(from, to))
            continue;
        *seq = from;
        *len = to - from < smss ? to - from : smss;
        return true;
    }
    return false;
}

uint32_t tcp_rack_pipe(const struct tcp_conn *c)
{
    const struct tcp_rack_q *q = c->rack.q;
    uint32_t pipe = tcp_sack_pipe(c), lost = 0;

    if (q == NULL)
        return pipe;
    for (uint32_t i = q->head; i < q->head + q->n; i++) {
        const struct tcp_rack_seg *s = &q->s[i];
        uint32_t len = s->end - s->start;
        if ((s->flags & (TCP_RACKF_LOST | TCP_RACKF_SACKED)) != TCP_RACKF_LOST ||
            tcp_sack_is_lost(c, s->start))
            continue;
        lost += len;
        if ((c->flags & TCPF_SACK_RECOVERY) && SEQ_LT(s->start, c->high_rxt))
            lost += len;                /* its lost retransmission was counted too */
    }
    return lost < pipe ? pipe - lost : 0;
}

uint32_t tcp_rack_lost_below(const struct tcp_conn *c, uint32_t seq)
{
    const struct tcp_rack_q *q = c->rack.q;
    uint32_t lost = 0;

    if (q == NULL)
        return 0;
    for (uint32_t i = q->head; i < q->head + q->n && SEQ_LT(q->s[i].start, seq); i++) {
        const struct tcp_rack_seg *s = &q->s[i];
        if ((s->flags & (TCP_RACKF_LOST | TCP_RACKF_SACKED)) == TCP_RACKF_LOST)
            lost += (SEQ_LT(s->end, seq) ? s->end : seq) - s->start;
    }
    return lost;
}
