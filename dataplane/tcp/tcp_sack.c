/*
 * tcp_sack: SACK blocks and the RFC 6675 scoreboard. See tcp_sack.h.
 *
 * Hot path: fixed arrays only (the scoreboard lives in the control block, the recency
 * list in the out-of-order block), no allocation, no logging.
 */
#include "tcp/tcp_sack.h"

#include <string.h>

/* ---- receiver ---- */

void tcp_sack_note_rcv(struct tcp_ooo *q, uint32_t seq)
{
    unsigned i, n = q->n_recent;

    for (i = 0; i < n && q->recent[i] != seq; i++)
        ;
    if (i == n) {                       /* new: the oldest falls off when full */
        if (n < TCP_SACK_BLOCKS)
            q->n_recent = (uint16_t)++n;
        i = n - 1;
    }
    for (; i > 0; i--)
        q->recent[i] = q->recent[i - 1];
    q->recent[0] = seq;
}

unsigned tcp_sack_blocks(const struct tcp_conn *c, struct tcp_sack_range *blk, unsigned max)
{
    const struct tcp_ooo *q = c->ooo;
    struct tcp_sack_range runs[TCP_OOO_MAX];
    bool used[TCP_OOO_MAX];
    unsigned nr = 0, n = 0, i, r;

    if (q == NULL || !(c->flags & TCPF_SACK) || max == 0)
        return 0;
    for (i = 0; i < q->n; i++) {
        uint32_t s = q->e[i].seq, e = s + q->e[i].len;
        if (nr > 0 && SEQ_GEQ(runs[nr - 1].end, s)) {
            if (SEQ_GT(e, runs[nr - 1].end))
                runs[nr - 1].end = e;
            continue;
        }
        runs[nr].start = s;
        runs[nr].end = e;
        used[nr++] = false;
    }
    /* RFC 2018 section 4: the run holding the latest segment first, then the
     * most recently reported ones. */
    for (i = 0; i < q->n_recent && n < max; i++) {
        uint32_t s = q->recent[i];
        for (r = 0; r < nr; r++) {
            if (SEQ_GEQ(s, runs[r].start) && SEQ_LT(s, runs[r].end)) {
                if (!used[r]) {
                    used[r] = true;
                    blk[n++] = runs[r];
                }
                break;
            }
        }
    }
    for (r = nr; r-- > 0 && n < max;) {
        if (!used[r])
            blk[n++] = runs[r];
    }
    return n;
}

/* ---- sender ---- */

void tcp_sack_clear(struct tcp_conn *c)
{
    c->sack_n = 0;
}

void tcp_sack_trim(struct tcp_conn *c, uint32_t una)
{
    unsigned i, j;

    for (i = 0; i < c->sack_n && SEQ_LEQ(c->sack[i].end, una); i++)
        ;
    if (i > 0) {
        for (j = 0; i < c->sack_n; i++, j++)
            c->sack[j] = c->sack[i];
        c->sack_n = j;
    }
    if (c->sack_n > 0 && SEQ_LT(c->sack[0].start, una))
        c->sack[0].start = una;
}

/* Merges [s, e) into the scoreboard. Returns true when it added SACKed bytes. */
static bool tcp_sack_add(struct tcp_conn *c, uint32_t s, uint32_t e)
{
    struct tcp_sack_range out[TCP_SACK_MAX + 1];
    uint32_t ns = s, ne = e;
    unsigned i, j = 0;
    bool placed = false;

    for (i = 0; i < c->sack_n; i++) {
        const struct tcp_sack_range *r = &c->sack[i];
        if (SEQ_LEQ(r->start, s) && SEQ_GEQ(r->end, e))
            return false;               /* nothing new */
        if (SEQ_LT(r->end, ns)) {
            out[j++] = *r;
            continue;
        }
        if (SEQ_GT(r->start, ne)) {
            if (!placed) {
                out[j].start = ns;
                out[j++].end = ne;
                placed = true;
            }
            out[j++] = *r;
            continue;
        }
        if (SEQ_LT(r->start, ns))       /* overlapping or adjacent: merge */
            ns = r->start;
        if (SEQ_GT(r->end, ne))
            ne = r->end;
    }
    if (!placed) {
        out[j].start = ns;
        out[j++].end = ne;
    }
    if (j > TCP_SACK_MAX) {
        c->st->stats.sack_board_full++;
        j = TCP_SACK_MAX;               /* forget the highest range */
    }
    memcpy(c->sack, out, j * sizeof(out[0]));
    c->sack_n = j;
    return true;
}

bool tcp_sack_input(struct tcp_conn *c, uint32_t lo, const struct tcp_sack_range *blk,
                    unsigned n)
{
    struct tcp_stats *stats = &c->st->stats;
    bool gained = false;

    if (c->sack_n > 0)
        tcp_sack_trim(c, lo);
    for (unsigned i = 0; i < n; i++) {
        uint32_t s = blk[i].start, e = blk[i].end;
        if (SEQ_LEQ(e, lo) && SEQ_LT(s, e)) {
            stats->sack_blocks_old++;   /* D-SACK (RFC 2883) or stale */
            continue;
        }
        if (!SEQ_LT(s, e) || !SEQ_GT(s, lo) || SEQ_GT(e, c->snd_max)) {
            stats->sack_blocks_bad++;
            continue;
        }
        stats->sack_blocks_rcvd++;
        gained |= tcp_sack_add(c, s, e);
    }
    return gained;
}

/* IsLost for a hole just below range i: the ranges i.. lie above it. */
static inline bool tcp_sack_lost_below(const struct tcp_conn *c, unsigned i, uint32_t above)
{
    return c->sack_n - i >= TCP_DUPTHRESH || above > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss;
}

uint32_t tcp_sack_bytes(const struct tcp_conn *c)
{
    uint32_t b = 0;

    for (unsigned i = 0; i < c->sack_n; i++)
        b += c->sack[i].end - c->sack[i].start;
    return b;
}

bool tcp_sack_is_lost(const struct tcp_conn *c, uint32_t seq)
{
    uint32_t count = 0, bytes = 0;

    for (unsigned i = c->sack_n; i-- > 0 && SEQ_GT(c->sack[i].start, seq);) {
        count++;
        bytes += c->sack[i].end - c->sack[i].start;
    }
    return count >= TCP_DUPTHRESH || bytes > (TCP_DUPTHRESH - 1) * (uint32_t)c->mss;
}

uint32_t tcp_sack_pipe(const struct tcp_conn *c)
{
    uint32_t above = tcp_sack_bytes(c), pipe = 0;
    uint32_t rx = (c->flags & TCPF_SACK_RECOVERY) ? c->high_rxt : c->snd_una;

    for (unsigned i = 0; i <= c->sack_n; i++) {
        uint32_t hs = i == 0 ? c->snd_una : c->sack[i - 1].end;
        uint32_t he = i < c->sack_n ? c->sack[i].start : c->snd_max;
        if (SEQ_LT(hs, he)) {
            if (!tcp_sack_lost_below(c, i, above))
                pipe += he - hs;
            if (SEQ_GT(rx, hs))
                pipe += (SEQ_LT(rx, he) ? rx : he) - hs;
        }
        if (i < c->sack_n)
            above -= c->sack[i].end - c->sack[i].start;
    }
    return pipe;
}

bool tcp_sack_next_hole(const struct tcp_conn *c, bool lost_only, uint32_t smss,
                        uint32_t *seq, uint32_t *len)
{
    uint32_t above = tcp_sack_bytes(c);

    for (unsigned i = 0; i < c->sack_n; i++) {
        uint32_t hs = i == 0 ? c->snd_una : c->sack[i - 1].end;
        uint32_t he = c->sack[i].start;
        uint32_t s = SEQ_GT(c->high_rxt, hs) ? c->high_rxt : hs;
        if (lost_only && !tcp_sack_lost_below(c, i, above))
            return false;               /* holes above are not lost either */
        above -= c->sack[i].end - c->sack[i].start;
        if (SEQ_GEQ(s, he))
            continue;
        *seq = s;
        *len = he - s < smss ? he - s : smss;
        return true;
    }
    return false;
}

uint32_t tcp_sack_skip(const struct tcp_conn *c, uint32_t seq, uint32_t *limit)
{
    for (unsigned i = 0; i < c->sack_n; i++) {
        if (SEQ_LT(seq, c->sack[i].start)) {
            *limit = c->sack[i].start;
            return seq;
        }
        if (SEQ_LT(seq, c->sack[i].end))
            seq = c->sack[i].end;
    }
    *limit = c->snd_max;
    return seq;
}

bool tcp_sack_last_unsacked(const struct tcp_conn *c, uint32_t end, uint32_t smss,
                            uint32_t *seq, uint32_t *len)
{
    uint32_t lo = c->snd_una;

    for (unsigned i = c->sack_n; i-- > 0;) {
        if (SEQ_GEQ(c->sack[i].start, end))
            continue;                   /* wholly at or above end */
        if (SEQ_LT(c->sack[i].end, end)) {
            lo = c->sack[i].end;        /* [its end, end) is not SACKed */
            break;
        }
        end = c->sack[i].start;         /* SACKed up to end: look below it */
    }
    if (!SEQ_GT(end, lo))
        return false;
    *len = end - lo < smss ? end - lo : smss;
    *seq = end - *len;
    return true;
}

bool tcp_sack_is_sacked(const struct tcp_conn *c, uint32_t seq)
{
    for (unsigned i = 0; i < c->sack_n; i++)
        if (SEQ_GEQ(seq, c->sack[i].start) && SEQ_LT(seq, c->sack[i].end))
            return true;
    return false;
}
