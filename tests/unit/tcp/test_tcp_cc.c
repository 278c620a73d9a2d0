/*
 * Congestion control arithmetic (tcp_cc.c): CUBIC (RFC 9438) window growth over
 * time, W_max and fast convergence, the Reno-friendly region; NewReno; PRR's sndcnt
 * (RFC 6937). The functions work on a control block alone, driven here by hand: no
 * stack, no EAL. (The stack-level recovery with PRR, with and without SACK, is in
 * test_tcp.c: fast_retransmit_and_newreno_recovery, sack_loss_detected_before_three_
 * duplicates, prr_spreads_a_sack_recovery_over_the_acks.)
 */
#include <criterion/criterion.h>

#include <math.h>
#include <string.h>

#include "tcp/tcp_cc.h"

#define MSS 1000u

static struct tcp_conn conn(enum tcp_cc cc)
{
    struct tcp_conn c;

    memset(&c, 0, sizeof(c));
    c.mss = MSS;
    c.cc = (uint8_t)cc;
    tcp_cc_init(&c);
    return c;
}

/* One RTT of ACKs, one per MSS of cwnd, spread over rtt_ms starting at *now. */
static void one_rtt(struct tcp_conn *c, uint64_t *now, uint32_t rtt_ms)
{
    uint32_t n = c->cwnd / MSS;

    for (uint32_t i = 0; i < n; i++)
        tcp_cc_ack(c, MSS, *now + (uint64_t)rtt_ms * i / n);
    *now += rtt_ms;
}

Test(tcp_cc, init_is_iw10_and_slow_start)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);

    cr_assert_eq(c.cwnd, 10 * MSS);
    tcp_cc_ack(&c, MSS, 1000);
    cr_assert_eq(c.cwnd, 11 * MSS, "slow start: the bytes acknowledged below ssthresh");
    tcp_cc_ack(&c, 2 * MSS, 1000);
    cr_assert_eq(c.cwnd, 13 * MSS, "a delayed ACK of two segments grows cwnd by two");
    tcp_cc_ack(&c, 5 * MSS, 1000);
    cr_assert_eq(c.cwnd, 15 * MSS, "at most 2 MSS per ACK (RFC 3465, L = 2 SMSS)");
    tcp_cc_ack(&c, 300, 1000);
    cr_assert_eq(c.cwnd, 15 * MSS + 300, "a partial segment counts its bytes");
}

Test(tcp_cc, slow_start_doubles_per_rtt_with_delayed_acks)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);

    /* A receiver that ACKs every other segment: cwnd / 2 ACKs of 2 MSS per RTT. */
    for (int rtt = 0; rtt < 3; rtt++) {
        uint32_t acks = c.cwnd / (2 * MSS);

        for (uint32_t i = 0; i < acks; i++)
            tcp_cc_ack(&c, 2 * MSS, 1000);
    }
    cr_assert_eq(c.cwnd, 80 * MSS, "10 -> 20 -> 40 -> 80 MSS: %u", c.cwnd);
}

Test(tcp_cc, recovery_ends_at_ssthresh_whatever_is_in_flight)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);

    c.cwnd = 100 * MSS;
    tcp_cc_loss(&c, 100 * MSS);
    tcp_cc_prr_start(&c, 100 * MSS);
    c.cwnd = 3 * MSS;                   /* PRR had brought it low; little in flight */
    tcp_cc_recovery_end(&c);
    cr_assert_eq(c.cwnd, 70 * MSS, "cwnd = ssthresh at the end (RFC 6937 3.1): %u", c.cwnd);
    cr_assert_eq(c.cubic_epoch, 0, "CUBIC's epoch starts with the next ACK");
}

Test(tcp_cc, cubic_loss_sets_w_max_and_beta_ssthresh)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);

    c.cwnd = 100 * MSS;
    tcp_cc_loss(&c, 100 * MSS);
    cr_assert_eq(c.w_max, 100 * MSS, "W_max = cwnd at the congestion event");
    cr_assert_eq(c.cwnd_prior, 100 * MSS);
    cr_assert_eq(c.ssthresh, 70 * MSS, "ssthresh = 0.7 FlightSize");
    cr_assert_eq(c.cubic_epoch, 0, "a new epoch begins with the next ACK");
    /* The floor of 2 MSS. */
    c.cwnd = 2 * MSS;
    tcp_cc_loss(&c, 2 * MSS);
    cr_assert_eq(c.ssthresh, 2 * MSS);
}

Test(tcp_cc, cubic_fast_convergence_lowers_w_max)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);

    c.cwnd = 100 * MSS;
    tcp_cc_loss(&c, 100 * MSS);
    /* The next loss comes before the window got back to W_max: W_max =
     * cwnd (1 + beta) / 2 (RFC 9438 4.7), so a newer flow gets room. */
    c.cwnd = 90 * MSS;
    tcp_cc_loss(&c, 90 * MSS);
    cr_assert_eq(c.w_max, 76500, "90 MSS * 0.85");
    cr_assert_eq(c.ssthresh, 63 * MSS);
    /* Beyond W_max: W_max = cwnd. */
    c.cwnd = 120 * MSS;
    tcp_cc_loss(&c, 120 * MSS);
    cr_assert_eq(c.w_max, 120 * MSS);
}

Test(tcp_cc, cubic_window_is_concave_then_plateau_then_convex)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);
    uint64_t now = 10000;
    double k;

    /* A long RTT (200 ms) keeps the Reno-friendly estimate below the curve. */
    c.flags = TCPF_HAD_SAMPLE;
    c.srtt = 200 << 3;
    c.cwnd = 100 * MSS;
    tcp_cc_loss(&c, 100 * MSS);
    c.cwnd = c.ssthresh;                /* recovery over */
    tcp_cc_ack(&c, MSS, now);           /* the epoch starts */
    k = cbrt(30.0 / TCP_CUBIC_C);       /* (W_max - cwnd_epoch) / C, in segments */
    cr_assert_eq(c.cubic_origin, 100 * MSS);
    cr_assert(fabs(c.cubic_k_ms - k * 1000.0) <= 1.0, "K = %u ms, want %.0f", c.cubic_k_ms,
              k * 1000.0);
    cr_assert(fabs(tcp_cc_cubic_w(&c, 0) - 70.0 * MSS) < 5.0, "W_cubic(0) = cwnd_epoch");
    cr_assert(fabs(tcp_cc_cubic_w(&c, k * 1000.0) - 100.0 * MSS) < 1e-6, "W_cubic(K) = W_max");
    cr_assert(fabs(tcp_cc_cubic_w(&c, 2 * k * 1000.0) - 130.0 * MSS) < 5.0, "symmetric");

    /* Concave: fast at first, slowing down towards W_max. */
    uint32_t w0 = c.cwnd;
    one_rtt(&c, &now, 200);
    uint32_t first = c.cwnd - w0;
    while (now - 10000 < (uint64_t)(k * 1000.0) - 600)
        one_rtt(&c, &now, 200);
    uint32_t before = c.cwnd;
    one_rtt(&c, &now, 200);
    uint32_t late = c.cwnd - before;
    cr_assert_gt(first, 3 * late, "concave: growth %u per RTT at first, %u near W_max",
                 first, late);
    cr_assert_lt(c.cwnd, 101 * MSS, "not beyond W_max before K: %u", c.cwnd);
    cr_assert_gt(c.cwnd, 97 * MSS, "close to W_max near K: %u", c.cwnd);
    /* Plateau around K, then convex: growth speeds up again. */
    while (now - 10000 < (uint64_t)(k * 1000.0) + 200)
        one_rtt(&c, &now, 200);
    before = c.cwnd;
    one_rtt(&c, &now, 200);
    uint32_t plateau = c.cwnd - before;
    for (int i = 0; i < 10; i++)
        one_rtt(&c, &now, 200);
    before = c.cwnd;
    one_rtt(&c, &now, 200);
    uint32_t convex = c.cwnd - before;
    cr_assert_gt(convex, 3 * plateau + MSS, "convex: %u per RTT after, %u at the plateau",
                 convex, plateau);
    /* The window tracks W_cubic(t + RTT) within a segment or two. */
    double want = tcp_cc_cubic_w(&c, (double)(now + 1 - c.cubic_epoch));
    cr_assert(fabs((double)c.cwnd - want) < 3.0 * MSS, "cwnd %u, W_cubic %.0f", c.cwnd, want);
}

Test(tcp_cc, cubic_growth_per_ack_is_capped_at_half_a_window_per_rtt)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);
    uint64_t now = 1000;

    /* Far beyond K (a small W_max long ago): the target is capped at 1.5 cwnd. */
    c.flags = TCPF_HAD_SAMPLE;
    c.srtt = 100 << 3;
    c.cwnd = 20 * MSS;
    tcp_cc_loss(&c, 20 * MSS);
    c.cwnd = c.ssthresh;
    tcp_cc_ack(&c, MSS, now);
    now += 60000;
    uint32_t w = c.cwnd;
    one_rtt(&c, &now, 100);
    cr_assert_leq(c.cwnd, w + w / 2 + MSS, "at most 1.5x per RTT: %u -> %u", w, c.cwnd);
    cr_assert_geq(c.cwnd, w + w / 3, "and close to it: %u -> %u", w, c.cwnd);
}

Test(tcp_cc, cubic_reno_friendly_region_on_a_short_rtt)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);
    uint64_t now = 5000;

    /* A 2 ms RTT: Reno would add alpha_cubic (0.53) MSS every 2 ms, far faster than the
     * cubic curve near its plateau (K = 1.96 s for W_max 10 MSS): cwnd = W_est. */
    c.flags = TCPF_HAD_SAMPLE;
    c.srtt = 2 << 3;
    c.cwnd = 10 * MSS;
    tcp_cc_loss(&c, 10 * MSS);
    c.cwnd = c.ssthresh;
    cr_assert_eq(c.cwnd, 7 * MSS);
    for (int i = 0; i < 20; i++)
        one_rtt(&c, &now, 2);
    double cub = tcp_cc_cubic_w(&c, (double)(now + 1 - c.cubic_epoch));
    cr_assert_lt(cub, 8.0 * MSS, "the curve is still near cwnd_epoch: %.0f", cub);
    cr_assert_geq(c.cwnd, (uint32_t)c.cubic_west, "cwnd = W_est");
    /* 20 RTTs: alpha 0.53 per RTT until W_est reaches cwnd_prior (10 MSS, about 6
     * RTTs), then 1 per RTT: about 24 MSS. */
    cr_assert_gt(c.cwnd, 21 * MSS, "Reno-friendly growth: %u", c.cwnd);
    cr_assert_lt(c.cwnd, 26 * MSS, "no faster than Reno: %u", c.cwnd);
}

Test(tcp_cc, newreno_halves_and_grows_one_mss_per_rtt)
{
    struct tcp_conn c = conn(TCP_CC_NEWRENO);
    uint64_t now = 0;

    c.cwnd = 40 * MSS;
    tcp_cc_loss(&c, 40 * MSS);
    cr_assert_eq(c.ssthresh, 20 * MSS, "FlightSize / 2");
    c.cwnd = c.ssthresh;
    for (int i = 0; i < 10; i++)
        one_rtt(&c, &now, 100);
    cr_assert(c.cwnd >= 29 * MSS && c.cwnd <= 30 * MSS, "about 1 MSS per RTT: %u", c.cwnd);
}

Test(tcp_cc, rto_is_a_loss_once_and_one_mss)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);

    c.cwnd = 50 * MSS;
    tcp_cc_rto(&c, 50 * MSS, true);
    cr_assert_eq(c.cwnd, MSS);
    cr_assert_eq(c.ssthresh, 35 * MSS);
    cr_assert_eq(c.w_max, 50 * MSS);
    tcp_cc_rto(&c, 50 * MSS, false);
    cr_assert_eq(c.ssthresh, 35 * MSS, "a backed-off RTO keeps ssthresh (RFC 5681)");
}

Test(tcp_cc, prr_proportional_sends_ssthresh_over_recoverfs_of_what_is_delivered)
{
    struct tcp_conn c = conn(TCP_CC_NEWRENO);
    uint32_t sent = 0, pipe = 20 * MSS;

    /* RFC 6937 section 5's example: RecoverFS 20, ssthresh 10; each ACK delivers one
     * MSS. While pipe > ssthresh, PRR sends one segment every other ACK. */
    c.ssthresh = 10 * MSS;
    tcp_cc_prr_start(&c, 20 * MSS);
    c.prr_out = MSS;                    /* the fast retransmission */
    sent = MSS;
    pipe = 19 * MSS;                    /* a segment lost, one retransmitted */
    for (int i = 1; i <= 10; i++) {
        pipe -= MSS;                    /* one delivered */
        uint32_t n = tcp_cc_prr_sndcnt(&c, MSS, pipe, MSS);
        uint32_t want = (uint32_t)ceil(i * 10.0 * MSS / 20.0) - c.prr_out;
        cr_assert_eq(n, want > 1u << 31 ? 0 : want, "ack %d: sndcnt %u", i, n);
        n = n / MSS * MSS;              /* whole segments go */
        c.prr_out += n;
        sent += n;
        pipe += n;
    }
    cr_assert_eq(c.prr_delivered, 10 * MSS);
    cr_assert_eq(sent, 5 * MSS, "half of what was delivered: %u", sent);
}

Test(tcp_cc, prr_ssrb_rebuilds_to_ssthresh_at_most_one_mss_beyond_delivered)
{
    struct tcp_conn c = conn(TCP_CC_CUBIC);

    c.ssthresh = 14 * MSS;
    tcp_cc_prr_start(&c, 20 * MSS);
    c.prr_out = 3 * MSS;
    c.prr_delivered = 4 * MSS;
    /* Pipe fell to 5 MSS (many losses): slow-start reduction bound. delivered 2 MSS:
     * limit = max(6 - 3, 2) + 1 = 4 MSS; ssthresh - pipe = 9 MSS: sndcnt 4 MSS. */
    cr_assert_eq(tcp_cc_prr_sndcnt(&c, 2 * MSS, 5 * MSS, MSS), 4 * MSS);
    cr_assert_eq(c.prr_delivered, 6 * MSS);
    /* Close to ssthresh: ssthresh - pipe bounds it. */
    c.prr_out = 7 * MSS;
    cr_assert_eq(tcp_cc_prr_sndcnt(&c, MSS, 13 * MSS + 500, MSS), 500);
    /* Nothing delivered, already sent more than delivered: limit = 0 + 1 MSS. */
    cr_assert_eq(tcp_cc_prr_sndcnt(&c, 0, 2 * MSS, MSS), MSS);
    /* pipe above ssthresh and prr_out ahead: nothing (never negative). */
    cr_assert_eq(tcp_cc_prr_sndcnt(&c, 0, 15 * MSS, MSS), 0);
}

Test(tcp_cc, names_round_trip)
{
    cr_assert_eq(tcp_cc_parse("cubic"), TCP_CC_CUBIC);
    cr_assert_eq(tcp_cc_parse("newreno"), TCP_CC_NEWRENO);
    cr_assert_eq(tcp_cc_parse("reno"), -1);
    cr_assert_eq(tcp_cc_parse(NULL), -1);
    cr_assert_str_eq(tcp_cc_name(TCP_CC_CUBIC), "cubic");
    cr_assert_str_eq(tcp_cc_name(TCP_CC_NEWRENO), "newreno");
}
