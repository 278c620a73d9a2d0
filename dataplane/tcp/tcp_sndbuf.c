/*
 * tcp_sndbuf: send buffer auto-tuning. See tcp_sndbuf.h.
 */
#include "tcp/tcp_sndbuf.h"

#include "tcp/tcp_budget.h"

/* Sets c's buffer to n bytes (at least conf.sndbuf), keeping the stack's sum. */
static void sndbuf_set(struct tcp_conn *c, uint32_t n)
{
    struct tcp_stack *st = c->st;

    st->sndbuf_grown_bytes = st->sndbuf_grown_bytes - (c->sndbuf - st->conf.sndbuf) +
                             (n - st->conf.sndbuf);
    c->sndbuf = n;
}

void tcp_sndbuf_free(struct tcp_conn *c)
{
    sndbuf_set(c, c->st->conf.sndbuf);
}

void tcp_sndbuf_ack(struct tcp_conn *c, uint32_t smss)
{
    struct tcp_stack *st = c->st;
    uint32_t flight = c->snd_max - c->snd_una, queued = c->sndq.bytes, share, want;
    uint64_t room, cap;

    if (st->conf.sndbuf_max <= st->conf.sndbuf || queued + smss <= c->sndbuf ||
        queued > flight + smss)
        return;                         /* fixed, not full, or not the limit */
    share = tcp_budget_share(st, st->conf.sndbuf);
    if (c->sndbuf > share) {
        sndbuf_set(c, share);
        st->stats.sndbuf_trimmed++;
        return;
    }
    want = c->cwnd > UINT32_MAX / 2 ? UINT32_MAX : 2 * c->cwnd;
    if (want > st->conf.sndbuf_max)
        want = st->conf.sndbuf_max;
    if (want <= c->sndbuf)
        return;
    /* At most the share, and what the budget leaves beside the receive buffers and the
     * others' growth. */
    room = tcp_budget_room(st, c->sndbuf - st->conf.sndbuf);
    cap = st->conf.sndbuf + room < share ? st->conf.sndbuf + room : share;
    if (want > cap) {
        want = (uint32_t)cap;
        st->stats.sndbuf_capped++;
    }
    if (want > c->sndbuf) {
        sndbuf_set(c, want);
        st->stats.sndbuf_grown++;
    }
}
