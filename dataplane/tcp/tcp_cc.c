/*
 * tcp_cc: congestion control arithmetic (CUBIC, NewReno, PRR). See tcp_cc.h.
 *
 * Windows are in bytes; CUBIC's formulas (RFC 9438) are in segments of c->mss and
 * seconds, converted here. The cubic root is libm's cbrt, once per epoch.
 */
#include "tcp/tcp_cc.h"

#include <math.h>
#include <string.h>

#define TCP_CWND_MAX (1u << 30)
/* beta_cubic and (1 + beta_cubic) / 2 as exact fractions, for the integer windows. */
#define TCP_CUBIC_BETA_NUM 7
#define TCP_CUBIC_BETA_DEN 10
#define TCP_CUBIC_FC_NUM 17
#define TCP_CUBIC_FC_DEN 20
/* RFC 9438 4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), the Reno-friendly slope. */
#define TCP_CUBIC_ALPHA (3.0 * (1.0 - TCP_CUBIC_BETA) / (1.0 + TCP_CUBIC_BETA))

void tcp_cc_init(struct tcp_conn *c)
{
    uint32_t iw = 14600;

    if (iw > 10u * c->mss)
        iw = 10u * c->mss;
    if (iw < 2u * c->mss)
        iw = 2u * c->mss;
    c->cwnd = iw;
    c->ssthresh = 0x7fffffff;
    c->w_max = 0;
    c->cwnd_prior = 0;
    c->cubic_origin = 0;
    c->cubic_k_ms = 0;
    c->cubic_epoch = 0;
    c->cubic_west = 0;
}

double tcp_cc_cubic_w(const struct tcp_conn *c, double t_ms)
{
    double t = (t_ms - (double)c->cubic_k_ms) / 1000.0;

    return TCP_CUBIC_C * t * t * t * (double)c->mss + (double)c->cubic_origin;
}

/* RFC 9438 section 4.2-4.4: one ACK in congestion avoidance. */
static void tcp_cc_cubic_ack(struct tcp_conn *c, uint32_t acked, uint64_t now_ms)
{
    double cwnd = (double)c->cwnd, target, t, rtt, alpha;

    if (c->cubic_epoch == 0) {
        /* The epoch starts with the first ACK in congestion avoidance (after slow start
         * or a recovery): K is the time to climb back to the plateau. */
        c->cubic_epoch = now_ms + 1;
        c->cubic_origin = c->w_max > c->cwnd ? c->w_max : c->cwnd;
        c->cubic_k_ms = (uint32_t)(cbrt((double)(c->cubic_origin - c->cwnd) /
                                        (double)c->mss / TCP_CUBIC_C) * 1000.0 + 0.5);
        c->cubic_west = cwnd;
    }
    t = (double)(now_ms + 1 - c->cubic_epoch);
    rtt = (c->flags & TCPF_HAD_SAMPLE) ? (double)(c->srtt >> 3) : 0.0;
    /* The target one RTT ahead, between cwnd and 1.5 cwnd (section 4.2). */
    target = tcp_cc_cubic_w(c, t + rtt);
    if (target < cwnd)
        target = cwnd;
    if (target > 1.5 * cwnd)
        target = 1.5 * cwnd;
    /* W_est grows as Reno with CUBIC's beta would (section 4.3): alpha_cubic per RTT
     * until it reaches the window of the last congestion event, then 1. */
    alpha = c->cubic_west >= (double)c->cwnd_prior ? 1.0 : TCP_CUBIC_ALPHA;
    c->cubic_west += alpha * (double)c->mss * (double)acked / cwnd;
    if (tcp_cc_cubic_w(c, t) < c->cubic_west) {
        /* The Reno-friendly region: at least what Reno would have. */
        if (c->cubic_west > cwnd)
            cwnd = c->cubic_west;
    } else {
        /* Concave or convex region (sections 4.4, 4.5). */
        cwnd += (target - cwnd) * (double)acked / cwnd;
    }
    c->cwnd = cwnd >= (double)TCP_CWND_MAX ? TCP_CWND_MAX : (uint32_t)cwnd;
}

void tcp_cc_ack(struct tcp_conn *c, uint32_t acked, uint64_t now_ms)
{
    if (c->cwnd < c->ssthresh) {
        /* Slow start with Appropriate Byte Counting (RFC 3465, L = 2 SMSS): the bytes
         * this ACK acknowledged, at most two segments' worth, so that a receiver that
         * ACKs every other segment (RFC 5681 4.2) still doubles the window per RTT. */
        uint32_t l = 2u * c->mss;
        c->cwnd += acked < l ? acked : l;
    } else if (c->cc == TCP_CC_CUBIC) {
        tcp_cc_cubic_ack(c, acked, now_ms);
    } else {
        uint32_t inc = (uint32_t)c->mss * c->mss / c->cwnd;
        c->cwnd += inc != 0 ? inc : 1;
    }
    if (c->cwnd > TCP_CWND_MAX)
        c->cwnd = TCP_CWND_MAX;
}

void tcp_cc_loss(struct tcp_conn *c, uint32_t flight)
{
    uint32_t floor = 2u * c->mss, ss;

    if (c->cc == TCP_CC_CUBIC) {
        /* RFC 9438 4.6 and 4.7 (fast convergence: a window that stopped short of the
         * last W_max gives way to newer flows). */
        c->cwnd_prior = c->cwnd;
        if (c->cwnd < c->w_max)
            c->w_max = (uint32_t)((uint64_t)c->cwnd * TCP_CUBIC_FC_NUM / TCP_CUBIC_FC_DEN);
        else
            c->w_max = c->cwnd;
        c->cubic_epoch = 0;
        ss = (uint32_t)((uint64_t)flight * TCP_CUBIC_BETA_NUM / TCP_CUBIC_BETA_DEN);
    } else {
        ss = flight / 2;
    }
    c->ssthresh = ss > floor ? ss : floor;
}

void tcp_cc_recovery_end(struct tcp_conn *c)
{
    c->cwnd = c->ssthresh;
    c->cubic_epoch = 0;                 /* the union held PRR's state */
}

void tcp_cc_rto(struct tcp_conn *c, uint32_t flight, bool first)
{
    if (first)
        tcp_cc_loss(c, flight);
    c->cubic_epoch = 0;                 /* also ends a PRR episode's use of the union */
    c->cwnd = c->mss;
}

void tcp_cc_prr_start(struct tcp_conn *c, uint32_t flight)
{
    c->prr_delivered = 0;
    c->prr_out = 0;
    c->recover_fs = flight != 0 ? flight : 1;
    c->nr_sacked = 0;
}

uint32_t tcp_cc_prr_sndcnt(struct tcp_conn *c, uint32_t delivered, uint32_t pipe,
                           uint32_t smss)
{
    int64_t sndcnt;

    c->prr_delivered += delivered;
    if (pipe > c->ssthresh) {
        /* Proportional part: ssthresh / RecoverFS of what was delivered. */
        uint64_t num = (uint64_t)c->prr_delivered * c->ssthresh + c->recover_fs - 1;
        sndcnt = (int64_t)(num / c->recover_fs) - (int64_t)c->prr_out;
    } else {
        /* Slow-start reduction bound: back up to ssthresh, at most one SMSS beyond
         * what was delivered. */
        int64_t limit = (int64_t)c->prr_delivered - (int64_t)c->prr_out;
        if (limit < (int64_t)delivered)
            limit = (int64_t)delivered;
        limit += smss;
        sndcnt = (int64_t)c->ssthresh - (int64_t)pipe;
        if (sndcnt > limit)
            sndcnt = limit;
    }
    return sndcnt > 0 ? (uint32_t)sndcnt : 0;
}

const char *tcp_cc_name(enum tcp_cc cc)
{
    switch (cc) {
    case TCP_CC_CUBIC:
        return "cubic";
    case TCP_CC_NEWRENO:
        return "newreno";
    default:
        return "?";
    }
}

int tcp_cc_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "cubic") == 0)
        return TCP_CC_CUBIC;
    if (strcmp(s, "newreno") == 0)
        return TCP_CC_NEWRENO;
    return -1;
}
