/*
 * tcp_sndbuf: send buffer auto-tuning. See tcp_sndbuf.h.
 */
#include "tcp/tcp_sndbuf.h"

#include "tcp/tcp_rcvbuf.h"

void tcp_sndbuf_ack(struct tcp_conn *c, uint32_t smss)
{
    struct tcp_stack *st = c->st;
    uint32_t flight = c->snd_max - c->snd_una, queued = c->sndq.bytes, share, want;

    if (st->conf.sndbuf_max <= st->conf.sndbuf || queued + smss <= c->sndbuf ||
        queued > flight + smss)
        return;                         /* fixed, not full, or not the limit */
    share = tcp_rcvbuf_share(st);
    if (share < st->conf.sndbuf)
        share = st->conf.sndbuf;
    if (c->sndbuf > share) {
        c->sndbuf = share;
        st->stats.sndbuf_trimmed++;
        return;
    }
    want = c->cwnd > UINT32_MAX / 2 ? UINT32_MAX : 2 * c->cwnd;
    if (want > st->conf.sndbuf_max)
        want = st->conf.sndbuf_max;
    if (want > share) {
        want = share;
        st->stats.sndbuf_capped++;
    }
    if (want > c->sndbuf) {
        c->sndbuf = want;
        st->stats.sndbuf_grown++;
    }
}
