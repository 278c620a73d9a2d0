/*
 * tcp_timer: connection timers on the worker's wheel. See tcp_timer.h.
 */
#include "tcp/tcp_timer.h"

#include <stddef.h>

#include "tcp/tcp_output.h"
#include "tcp/tcp_sack.h"
#include "tcp/tcp_tcb.h"

#define CONN_OF(t, field) ((struct tcp_conn *)((char *)(t) - offsetof(struct tcp_conn, field)))

uint32_t tcp_timer_rto(const struct tcp_conn *c)
{
    const struct tcp_stack_conf *cf = &c->st->conf;
    uint64_t rto = (uint64_t)c->rto << (c->rexmt_shift < 31 ? c->rexmt_shift : 31);

    return rto > cf->rto_max_ms ? cf->rto_max_ms : (uint32_t)rto;
}

void tcp_timer_rexmt_arm(struct tcp_conn *c)
{
    c->flags &= ~TCPF_PERSIST;
    twheel_arm(c->st->conf.wheel, &c->t_rexmt, tcp_now(c->st) + tcp_timer_rto(c));
}

void tcp_timer_rexmt_stop(struct tcp_conn *c)
{
    c->flags &= ~TCPF_PERSIST;
    twheel_cancel(c->st->conf.wheel, &c->t_rexmt);
}

void tcp_timer_persist_arm(struct tcp_conn *c)
{
    const struct tcp_stack_conf *cf = &c->st->conf;
    uint64_t t = c->rto < 200 ? 200 : c->rto;

    if (twheel_pending(&c->t_rexmt))
        return;
    t <<= c->probes < 16 ? c->probes : 16;
    if (t > cf->rto_max_ms)
        t = cf->rto_max_ms;
    c->flags |= TCPF_PERSIST;
    twheel_arm(cf->wheel, &c->t_rexmt, tcp_now(c->st) + t);
}

void tcp_timer_delack_arm(struct tcp_conn *c)
{
    if (c->flags & TCPF_DELACK)
        return;
    c->flags |= TCPF_DELACK;
    twheel_arm(c->st->conf.wheel, &c->t_delack, tcp_now(c->st) + c->st->conf.delack_ms);
}

void tcp_timer_delack_stop(struct tcp_conn *c)
{
    c->flags &= ~TCPF_DELACK;
    twheel_cancel(c->st->conf.wheel, &c->t_delack);
}

void tcp_timer_deadline(struct tcp_conn *c)
{
    const struct tcp_stack_conf *cf = &c->st->conf;
    uint64_t now = tcp_now(c->st);
    struct twheel *tw = cf->wheel;

    switch (c->state) {
    case TCP_SYN_SENT:
        if (cf->connect_timeout_ms != 0)
            twheel_arm(tw, &c->t_idle, now + cf->connect_timeout_ms);
        return;
    case TCP_TIME_WAIT:
        twheel_arm(tw, &c->t_idle, now + cf->time_wait_ms);
        return;
    case TCP_FIN_WAIT_2:
        if (c->flags & TCPF_DETACHED) {
            twheel_arm(tw, &c->t_idle, now + cf->fin_wait2_ms);
            return;
        }
        /* fall through */
    case TCP_ESTABLISHED:
    case TCP_FIN_WAIT_1:
    case TCP_CLOSE_WAIT:
    case TCP_CLOSING:
    case TCP_LAST_ACK:
        if (c->idle_ms != 0)
            twheel_arm(tw, &c->t_idle, c->last_rx_ms + c->idle_ms);
        else
            twheel_cancel(tw, &c->t_idle);
        return;
    default:
        twheel_cancel(tw, &c->t_idle);
        return;
    }
}

void tcp_timer_rtt_sample(struct tcp_conn *c, uint32_t r)
{
    const struct tcp_stack_conf *cf = &c->st->conf;
    uint32_t rto;

    if (!(c->flags & TCPF_HAD_SAMPLE)) {
        c->srtt = r << 3;
        c->rttvar = r << 1;
        c->flags |= TCPF_HAD_SAMPLE;
    } else {
        int32_t err = (int32_t)r - (int32_t)(c->srtt >> 3);
        uint32_t aerr = err < 0 ? (uint32_t)-err : (uint32_t)err;
        c->srtt = (uint32_t)((int32_t)c->srtt + err);
        c->rttvar = c->rttvar + aerr - (c->rttvar >> 2);
    }
    rto = (c->srtt >> 3) + (c->rttvar > 1 ? c->rttvar : 1);
    if (rto < cf->rto_min_ms)
        rto = cf->rto_min_ms;
    if (rto > cf->rto_max_ms)
        rto = cf->rto_max_ms;
    c->rto = rto;
    c->st->stats.rtt_samples++;
}

/* Retransmission timeout: SYN retries, RFC 6298 5.4-5.6 and RFC 5681 eq. 4. */
static void tcp_timer_rexmt_fire(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    const struct tcp_stack_conf *cf = &st->conf;

    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED) {
        if (++c->rexmt_shift > cf->syn_retries) {
            if (c->state == TCP_SYN_SENT)
                st->stats.timeout_connect++;
            else
                st->stats.timeout_retrans++;
            tcp_tcb_terminate(c, TCP_EV_TIMEOUT);
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
        tcp_tcb_terminate(c, TCP_EV_TIMEOUT);
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
    /* The receiver may have dropped what it SACKed (RFC 2018 section 8): start over;
     * later ACKs rebuild the scoreboard and go-back-N skips what they SACK again
     * (RFC 6675 section 5.1). */
    tcp_sack_clear(c);
    tcp_output(c);
    if (!twheel_pending(&c->t_rexmt))
        tcp_timer_rexmt_arm(c);
}

static void tcp_timer_on_rexmt(struct twheel_timer *t, uint64_t now)
{
    struct tcp_conn *c = CONN_OF(t, t_rexmt);
    struct tcp_stack *st = c->st;

    tcp_tcb_enter(st);
    if (c->flags & TCPF_PERSIST) {
        c->flags &= ~TCPF_PERSIST;
        if (c->snd_wnd == 0 && c->sndq.bytes > c->snd_nxt - c->snd_una) {
            if (++c->probes > st->conf.max_retries * 2) {
                st->stats.timeout_retrans++;
                tcp_output_rst(c);
                tcp_tcb_terminate(c, TCP_EV_TIMEOUT);
            } else {
                st->stats.persist_probes++;
                tcp_output_probe(c);
                tcp_timer_persist_arm(c);
            }
        } else {
            tcp_output(c);
        }
    } else {
        tcp_timer_rexmt_fire(c);
    }
    tcp_tcb_leave(st);
}

static void tcp_timer_on_delack(struct twheel_timer *t, uint64_t now)
{
    struct tcp_conn *c = CONN_OF(t, t_delack);
    struct tcp_stack *st = c->st;

    tcp_tcb_enter(st);
    c->flags &= ~TCPF_DELACK;
    c->flags |= TCPF_ACKNOW;
    st->stats.delayed_acks++;
    tcp_output(c);
    tcp_tcb_leave(st);
}

static void tcp_timer_on_idle(struct twheel_timer *t, uint64_t now)
{
    struct tcp_conn *c = CONN_OF(t, t_idle);
    struct tcp_stack *st = c->st;

    tcp_tcb_enter(st);
    switch (c->state) {
    case TCP_SYN_SENT:
        st->stats.timeout_connect++;
        tcp_tcb_terminate(c, TCP_EV_TIMEOUT);
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
        tcp_tcb_terminate(c, TCP_EV_TIMEOUT);
        break;
    }
    tcp_tcb_leave(st);
}

void tcp_timer_init(struct tcp_conn *c)
{
    twheel_timer_init(&c->t_rexmt, tcp_timer_on_rexmt);
    twheel_timer_init(&c->t_delack, tcp_timer_on_delack);
    twheel_timer_init(&c->t_idle, tcp_timer_on_idle);
}

void tcp_timer_stop_all(struct tcp_conn *c)
{
    struct twheel *tw = c->st->conf.wheel;

    twheel_cancel(tw, &c->t_rexmt);
    twheel_cancel(tw, &c->t_delack);
    twheel_cancel(tw, &c->t_idle);
}
