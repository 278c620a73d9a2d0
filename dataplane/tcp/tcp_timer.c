/*
 * tcp_timer: arming and cancelling connection timers on the worker's wheel, and the
 * RTT estimator. See tcp_timer.h. The bottom layer: calls nothing else of the stack.
 */
#include "tcp/tcp_timer.h"

uint32_t tcp_timer_rto(const struct tcp_conn *c)
{
    const struct tcp_stack_conf *cf = &c->st->conf;
    uint64_t rto = (uint64_t)c->rto << (c->rexmt_shift < 31 ? c->rexmt_shift : 31);

    return rto > cf->rto_max_ms ? cf->rto_max_ms : (uint32_t)rto;
}

/* What t_rexmt is armed for, besides the RTO: one of these at most. */
#define TCP_REXMT_KINDS (TCPF_PERSIST | TCPF_PTO | TCPF_REO | TCPF_RPTO)

/*
 * The tail loss probe's timeout (RFC 8985 section 7.2) when one may be armed now, else
 * 0: SACK in use, data in flight in a synchronized state, no recovery, nothing SACKed
 * (RACK's reordering timer looks after that), no timeout or probe out already, an RTT
 * measured. 2 SRTT, at least TCP_PTO_MIN_MS, plus the worst
 * delayed ACK when one segment is in flight.
 */
static uint32_t tcp_timer_pto(const struct tcp_conn *c)
{
    uint32_t pto;

    if ((c->flags & (TCPF_SACK | TCPF_HAD_SAMPLE)) != (TCPF_SACK | TCPF_HAD_SAMPLE) ||
        (c->flags & (TCPF_RECOVERY | TCPF_TLP)) || c->rexmt_shift != 0 || c->sack_n != 0 ||
        c->snd_una == c->snd_max || c->state < TCP_ESTABLISHED)
        return 0;
    pto = c->srtt >> 2;                 /* srtt is scaled by 8 */
    if (pto < TCP_PTO_MIN_MS)
        pto = TCP_PTO_MIN_MS;
    if (c->snd_max - c->snd_una <= c->mss)
        pto += TCP_PTO_WCDELACK_MS;
    return pto;
}

/*
 * The recovery probe's timeout (doc/tcp.md, "Recovery probe") when one may be armed
 * now, else 0: in SACK recovery, data in flight, an RTT measured, no timeout in
 * progress, and no probe out since the last ACK that made progress (TCPF_RPROBE).
 * 2 SRTT, at least TCP_RPTO_MIN_MS.
 */
static uint32_t tcp_timer_rpto(const struct tcp_conn *c)
{
    uint32_t pto;

    if ((c->flags & (TCPF_SACK_RECOVERY | TCPF_HAD_SAMPLE)) !=
            (TCPF_SACK_RECOVERY | TCPF_HAD_SAMPLE) ||
        (c->flags & TCPF_RPROBE) || c->rexmt_shift != 0 || c->snd_una == c->snd_max ||
        c->state < TCP_ESTABLISHED)
        return 0;
    pto = c->srtt >> 2;                 /* srtt is scaled by 8 */
    return pto < TCP_RPTO_MIN_MS ? TCP_RPTO_MIN_MS : pto;
}

void tcp_timer_rexmt_arm(struct tcp_conn *c)
{
    uint32_t rto = tcp_timer_rto(c), pto = tcp_timer_pto(c), rpto;
    uint64_t now = tcp_now(c->st);

    c->flags &= ~TCP_REXMT_KINDS;
    if (pto != 0) {                     /* no later than the RTO would be */
        c->flags |= TCPF_PTO;
        rto = pto < rto ? pto : rto;
    } else if ((rpto = tcp_timer_rpto(c)) != 0 && rpto < rto) {
        c->flags |= TCPF_RPTO;          /* strictly before the RTO, kept behind it */
        c->rto_at = now + rto;
        rto = rpto;
    }
    twheel_arm(c->st->conf.wheel, &c->t_rexmt, now + rto);
}

void tcp_timer_rprobe_arm(struct tcp_conn *c)
{
    uint32_t rpto = tcp_timer_rpto(c);
    uint64_t rto_at, at;

    if (!twheel_pending(&c->t_rexmt) || (c->flags & (TCPF_PERSIST | TCPF_PTO | TCPF_REO)))
        return;
    rto_at = (c->flags & TCPF_RPTO) ? c->rto_at : c->t_rexmt.expires;
    at = tcp_now(c->st) + rpto;
    c->flags &= ~TCPF_RPTO;
    if (rpto != 0 && at < rto_at) {
        c->flags |= TCPF_RPTO;
        c->rto_at = rto_at;
    } else {
        at = rto_at;                    /* no probe (or not before the RTO): the RTO */
    }
    if (at != c->t_rexmt.expires)
        twheel_arm(c->st->conf.wheel, &c->t_rexmt, at);
}

void tcp_timer_rexmt_at(struct tcp_conn *c, uint32_t ms)
{
    c->flags &= ~TCP_REXMT_KINDS;
    twheel_arm(c->st->conf.wheel, &c->t_rexmt, tcp_now(c->st) + ms);
}

void tcp_timer_rexmt_stop(struct tcp_conn *c)
{
    c->flags &= ~TCP_REXMT_KINDS;
    twheel_cancel(c->st->conf.wheel, &c->t_rexmt);
}

void tcp_timer_reo_arm(struct tcp_conn *c, uint32_t us)
{
    uint64_t at = tcp_now(c->st) + (us + 999) / 1000;

    /* The recovery probe gives way: RACK's timer may find the loss it would probe for. */
    if (twheel_pending(&c->t_rexmt) && !(c->flags & (TCPF_PERSIST | TCPF_REO)) &&
        ((c->flags & TCPF_RPTO) ? c->rto_at : c->t_rexmt.expires) <= at)
        return;
    c->flags &= ~(TCPF_PERSIST | TCPF_PTO | TCPF_RPTO);
    c->flags |= TCPF_REO;
    twheel_arm(c->st->conf.wheel, &c->t_rexmt, at);
}

void tcp_timer_persist_arm(struct tcp_conn *c)
{
    const struct tcp_stack_conf *cf = &c->st->conf;
    uint64_t t = c->rto < 200 ? 200 : c->rto;

    if (twheel_pending(&c->t_rexmt))
        return;
    t <<= c->persist_shift < 16 ? c->persist_shift : 16;
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

void tcp_timer_init(struct tcp_conn *c)
{
    const struct tcp_timer_fns *fn = &c->st->timer_fns;

    twheel_timer_init(&c->t_rexmt, fn->rexmt);
    twheel_timer_init(&c->t_delack, fn->delack);
    twheel_timer_init(&c->t_idle, fn->idle);
}

void tcp_timer_stop_all(struct tcp_conn *c)
{
    struct twheel *tw = c->st->conf.wheel;

    twheel_cancel(tw, &c->t_rexmt);
    twheel_cancel(tw, &c->t_delack);
    twheel_cancel(tw, &c->t_idle);
}
