/*
 * tcp_timeout: what happens when a connection's timer fires. See tcp_timeout.h.
 * Runs from twheel_advance as an entry of its own (tcp_entry_begin/end); no
 * allocation.
 */
#include "tcp/tcp_timeout.h"

#include <stddef.h>

#include "tcp/tcp_entry.h"
#include "tcp/tcp_output.h"
#include "tcp/tcp_sack.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"

#define CONN_OF(t, field) ((struct tcp_conn *)((char *)(t) - offsetof(struct tcp_conn, field)))

/* Retransmission timeout: SYN retries, RFC 6298 5.4-5.6 and RFC 5681 eq. 4. */
static void tcp_timeout_rexmt(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    const struct tcp_stack_conf *cf = &st->conf;

    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
        if (++c->rexmt_shift > cf->syn_retries) {
            if (c->state == TCP_SYN_SENT)
                st->stats.timeout_connect++;
            else
                st->stats.timeout_retrans++;
            tcp_entry_terminate(c, TCP_EV_TIMEOUT);
            return;
        }
        st->stats.rexmt_timeouts++;
        c->flags &= ~TCPF_RTT;
        tcp_output_syn(c);
        tcp_timer_rexmt_arm(c);
        return;
    }
    if (c->snd_una == c->snd_max)
        return;
    if (++c->rexmt_shift > cf->max_retries) {
        st->stats.timeout_retrans++;
        tcp_output_rst(c);
        tcp_entry_terminate(c, TCP_EV_TIMEOUT);
        return;
    }
    st->stats.rexmt_timeouts++;
    if (c->rexmt_shift == 1) {
        uint32_t flight = c->snd_max - c->snd_una;
        c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
    }
    c->cwnd = c->mss;
    c->snd_nxt = c->snd_una;
    c->recover = c->snd_max;
    c->high_rxt = c->snd_una;
    c->dupacks = 0;
    c->flags &= ~(TCPF_RECOVERY | TCPF_SACK_RECOVERY | TCPF_RTT);
    /* The scoreboard is kept at the first timeout, so that go-back-N sends only the
     * holes at once (as Linux does, RFC 6675 section 5.1 allowing it); the receiver may
     * have dropped what it SACKed (reneging, RFC 2018 section 8), and then a second
     * timeout comes: it clears the board, later ACKs rebuild it and go-back-N skips
     * what they SACK again. */
    if (c->rexmt_shift > 1)
        tcp_sack_clear(c);
    tcp_output(c);
    if (!twheel_pending(&c->t_rexmt))
        tcp_timer_rexmt_arm(c);
}

static void tcp_timeout_on_rexmt(struct twheel_timer *t, uint64_t now)
{
    struct tcp_conn *c = CONN_OF(t, t_rexmt);
    struct tcp_stack *st = c->st;

    tcp_entry_begin(st);
    if (c->flags & TCPF_PERSIST) {
        c->flags &= ~TCPF_PERSIST;
        if (c->snd_wnd == 0 && c->sndq.bytes > c->snd_nxt - c->snd_una) {
            if (++c->probes > st->conf.max_retries * 2) {
                st->stats.timeout_retrans++;
                tcp_output_rst(c);
                tcp_entry_terminate(c, TCP_EV_TIMEOUT);
            } else {
                st->stats.persist_probes++;
                tcp_output_probe(c);
                tcp_timer_persist_arm(c);
            }
        } else {
            tcp_output(c);
        }
    } else {
        tcp_timeout_rexmt(c);
    }
    tcp_entry_end(st);
}

static void tcp_timeout_on_delack(struct twheel_timer *t, uint64_t now)
{
    struct tcp_conn *c = CONN_OF(t, t_delack);
    struct tcp_stack *st = c->st;

    tcp_entry_begin(st);
    c->flags &= ~TCPF_DELACK;
    c->flags |= TCPF_ACKNOW;
    st->stats.delayed_acks++;
    tcp_output(c);
    tcp_entry_end(st);
}

static void tcp_timeout_on_idle(struct twheel_timer *t, uint64_t now)
{
    struct tcp_conn *c = CONN_OF(t, t_idle);
    struct tcp_stack *st = c->st;

    tcp_entry_begin(st);
    switch (c->state) {
    case TCP_SYN_SENT:
        st->stats.timeout_connect++;
        tcp_entry_terminate(c, TCP_EV_TIMEOUT);
        break;
    case TCP_TIME_WAIT:
        tcp_tcb_free(c);
        break;
    case TCP_FIN_WAIT_2:
        if (c->flags & TCPF_DETACHED) {
            st->stats.timeout_fin_wait2++;
            tcp_tcb_free(c);
            break;
        }
        /* fall through */
    default:
        if (c->idle_ms == 0)
            break;
        if (now < c->last_rx_ms + c->idle_ms) {
            twheel_arm(st->conf.wheel, &c->t_idle, c->last_rx_ms + c->idle_ms);
            break;
        }
        st->stats.timeout_idle++;
        tcp_output_rst(c);
        tcp_entry_terminate(c, TCP_EV_TIMEOUT);
        break;
    }
    tcp_entry_end(st);
}

void tcp_timeout_install(struct tcp_stack *st)
{
    st->timer_fns = (struct tcp_timer_fns){
        .rexmt = tcp_timeout_on_rexmt,
        .delack = tcp_timeout_on_delack,
        .idle = tcp_timeout_on_idle,
    };
}
