/*
 * tcp_rcvbuf: receive buffer auto-tuning within the worker's fair share. See
 * tcp_rcvbuf.h. Per event, no allocation; calls tcp_budget and tcp_timer (the clock).
 */
#include "tcp/tcp_rcvbuf.h"

#include "tcp/tcp_budget.h"
#include "tcp/tcp_timer.h"

void tcp_rcvbuf_init(struct tcp_conn *c)
{
    c->rcvbuf = c->st->conf.rcvbuf_init;
}

void tcp_rcvbuf_open(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    c->rcv_space_seq = c->rcv_nxt;
    c->rcv_space_ms = (uint16_t)tcp_now(st);
    if (c->flags & (TCPF_RCVBUF | TCPF_FIN_RCVD | TCPF_DETACHED))
        return;
    c->flags |= TCPF_RCVBUF;
    st->rcv_conns++;
    st->rcvbuf_bytes += c->rcvbuf;
}

void tcp_rcvbuf_close(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (!(c->flags & TCPF_RCVBUF))
        return;
    c->flags &= ~TCPF_RCVBUF;
    st->rcv_conns--;
    st->rcvbuf_bytes -= c->rcvbuf;
}

/* Sets c's buffer to n bytes, keeping the stack's sum. */
static inline void tcp_rcvbuf_set(struct tcp_conn *c, uint32_t n)
{
    c->st->rcvbuf_bytes = c->st->rcvbuf_bytes - c->rcvbuf + n;
    c->rcvbuf = n;
}

void tcp_rcvbuf_adjust(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint16_t now = (uint16_t)tcp_now(st);
    uint32_t rtt = c->srtt >> 3;
    uint32_t read, share, max = (uint32_t)65535 << c->rcv_wscale;
    uint64_t want, grant, room;

    /* Only a connection that counts in the share (established, data still to come)
     * and has an RTT to measure by (the handshake gives one, unless a SYN cookie
     * without timestamps opened it: it keeps rcvbuf_init). */
    if (!(c->flags & TCPF_RCVBUF) || !(c->flags & TCPF_HAD_SAMPLE))
        return;
    if (rtt < TCP_RCVBUF_MIN_RTT_MS)
        rtt = TCP_RCVBUF_MIN_RTT_MS;
    if (rtt > UINT16_MAX)
        rtt = UINT16_MAX;               /* what the 16-bit stamp can measure */
    if ((uint16_t)(now - c->rcv_space_ms) < rtt)
        return;                         /* (a read after 65.5 s idle may wait a trip more) */
    read = c->rcv_nxt - c->rcvq.bytes;  /* no FIN in rcv_nxt: TCPF_RCVBUF ends with it */
    want = 2ull * (uint32_t)(read - c->rcv_space_seq);
    c->rcv_space_seq = read;
    c->rcv_space_ms = now;
    share = tcp_budget_share(st, st->conf.rcvbuf_init);
    if (c->rcvbuf > share) {
        /* Others came since it grew: back to the share, taken from what the window
         * reopens to as the user reads, never from what was advertised. */
        tcp_rcvbuf_set(c, share);
        st->stats.rcvbuf_trimmed++;
        return;
    }
    if (max > st->conf.rcvbuf)
        max = st->conf.rcvbuf;          /* and 64 KB without window scaling */
    if (want > max)
        want = max;
    if (want <= c->rcvbuf)
        return;                         /* the user drains less than half of it a trip */
    grant = want < share ? want : share;
    /* And what the budget leaves beside the others' buffers (tcp_budget.h). */
    room = tcp_budget_room(st, c->rcvbuf);
    if (grant > room)
        grant = room;
    if (grant < want)
        st->stats.rcvbuf_capped++;      /* the share or the budget refused some */
    if (grant <= c->rcvbuf)
        return;
    tcp_rcvbuf_set(c, (uint32_t)grant);
    st->stats.rcvbuf_grown++;
}
