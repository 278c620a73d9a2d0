/*
 * RACK-TLP (RFC 8985) and D-SACK undo on crafted segments, with the clock moving:
 * the reordering window (a hole below a SACKed segment is lost only once it has
 * passed, by the reordering timer), its growth by a D-SACK, a lost retransmission
 * found by time without an RTO, the undo of a recovery whose retransmissions were all
 * D-SACKed, the loss probe's timing, the recovery probe, and the fallback when the
 * records run out.
 */
#include "err.h"
#include "tcp/tcp_rack.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"

#include "tcp_harness.h"

TestSuite(tcp_rack, .init = h_setup, .fini = h_teardown);

#define ISS 1000000u
#define MSS 1460u
#define UNA (ISS + 1)
#define RTT_MS 40

/* The peer's ACK of ack with n SACK blocks [b[2i], b[2i+1]). */
static void sack(uint32_t ack, unsigned n, const uint32_t *b)
{
    struct h_seg a = {.seq = PEER_ISN + 1, .ack = ack, .flags = TCP_ACK, .wnd = 65535,
                      .n_sack = (int)n};
    for (unsigned i = 0; i < 2 * n; i++)
        a.sack[i] = b[i];
    h_in(&a);
}

/* A SACK connection with segs full segments sent at once (the first flight). Its
 * RTT estimate is RTT_MS, as if the handshake had taken that long (the harness's
 * takes no time: SRTT 0, which would put the recovery probe at its 10 ms floor). */
static struct tcp_conn *rack_sender(unsigned segs)
{
    struct tcp_conn *c;

    H.peer_sack = 1;
    h_start();
    c = h_accept(7, 65535);
    c->srtt = RTT_MS << 3;              /* a first sample of RTT_MS (RFC 6298 2.2) */
    c->rttvar = RTT_MS << 1;
    h_skip_out();
    if (segs != 0)
        cr_assert_eq(tcp_send(c, h_payload(segs * MSS, 0, MSS)), 0);
    return c;
}

/* The data segments sent since the last look; *first the first one's seq. */
static unsigned data_out(uint32_t *first)
{
    struct h_out *o;
    unsigned n = 0;

    while ((o = h_next()) != NULL) {
        if (o->len == 0)
            continue;
        if (n++ == 0 && first != NULL)
            *first = o->seq;
    }
    return n;
}

/* One RTT later, segment 0 is acknowledged and segment 2 SACKed: 1 is a hole. */
static void hole_at_1(void)
{
    h_skip_out();
    h_advance(RTT_MS);
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 3 * MSS});
}

Test(tcp_rack, a_hole_is_lost_only_when_the_reordering_window_has_passed)
{
    struct tcp_conn *c = rack_sender(10);
    uint32_t seq = 0;

    hole_at_1();
    /* min_RTT 40 ms: reo_wnd 10 ms. One SACKed segment: RFC 6675 says nothing yet. */
    cr_assert_eq(tcp_rack_reo_wnd(c), RTT_MS * 1000 / 4);
    cr_assert_eq(data_out(NULL), 0, "not lost yet: it may be reordered");
    cr_assert(c->flags & TCPF_REO, "the reordering timer is armed");
    h_advance(RTT_MS / 4 - 1);
    cr_assert_eq(data_out(NULL), 0, "still inside the window");
    cr_assert_eq(H.st->stats.rack_marked_lost, 0);
    h_advance(1);
    cr_assert_eq(H.st->stats.rack_reo_timeouts, 1);
    cr_assert_eq(H.st->stats.rack_marked_lost, 1);
    cr_assert_geq(data_out(&seq), 1);
    cr_assert_eq(seq, UNA + MSS, "the hole goes out when the window has passed");
    cr_assert(c->flags & TCPF_SACK_RECOVERY, "through RFC 6675 recovery");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    cr_assert_eq(H.st->stats.tlp_probes, 0, "no probe with something SACKed");
}

Test(tcp_rack, a_dsack_grows_the_reordering_window)
{
    struct tcp_conn *c = rack_sender(2);
    uint32_t seq = 0;

    /* A first flight whose last ACK carries a D-SACK (a segment arrived twice). */
    h_skip_out();
    h_advance(RTT_MS);
    sack(UNA + 2 * MSS, 1, (uint32_t[]){UNA + MSS, UNA + 2 * MSS});
    cr_assert_eq(H.st->stats.dsacks_rcvd, 1);
    cr_assert_eq(H.st->stats.rack_reo_wnd_grown, 1);
    cr_assert_eq(c->rack_reo_wnd_mult, 2);
    cr_assert(c->rack_reordering_seen, "a D-SACK: reordering seen");
    cr_assert_eq(H.st->stats.rack_reordering_seen, 1);
    /* The next flight: the same hole now waits 2 x min_RTT / 4 = 20 ms. */
    cr_assert_eq(tcp_send(c, h_payload(10 * MSS, 0, MSS)), 0);
    h_skip_out();
    h_advance(RTT_MS);
    sack(UNA + 3 * MSS, 1, (uint32_t[]){UNA + 4 * MSS, UNA + 5 * MSS});
    cr_assert_eq(tcp_rack_reo_wnd(c), 2 * RTT_MS * 1000 / 4);
    h_advance(RTT_MS / 4);
    cr_assert_eq(data_out(NULL), 0, "10 ms: inside the grown window");
    cr_assert_eq(H.st->stats.rack_marked_lost, 0);
    h_advance(RTT_MS / 4);
    cr_assert_eq(H.st->stats.rack_marked_lost, 1);
    cr_assert_geq(data_out(&seq), 1);
    cr_assert_eq(seq, UNA + 3 * MSS);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp_rack, a_lost_retransmission_is_found_by_time_without_an_rto)
{
    struct tcp_conn *c = rack_sender(12);   /* 10 go (IW10), 2 wait */
    uint32_t seq = 0;
    unsigned n;

    h_skip_out();
    h_advance(RTT_MS);
    /* 0 acknowledged, 2..4 SACKed: 1 is lost (RFC 6675 and RACK agree). */
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 5 * MSS});
    cr_assert(c->flags & TCPF_SACK_RECOVERY);
    n = data_out(&seq);
    cr_assert_eq(n, 1, "the hole");
    cr_assert_eq(seq, UNA + MSS);
    cr_assert_eq(H.st->stats.rack_marked_lost, 1);
    /* 5 and 6 arrive: PRR sends new data, segment 10, after the retransmission. */
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 7 * MSS});
    n = data_out(&seq);
    cr_assert_geq(n, 1);
    cr_assert_eq(seq, UNA + 10 * MSS);
    /* One RTT on: 7..9 and segment 10, sent after the retransmission, are SACKed; the
     * hole is still open, so the retransmission was lost too. Only one segment past it:
     * the order-of-sending rule (DupThresh - 1 segments beyond) would not see it. */
    h_advance(RTT_MS);
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 11 * MSS});
    cr_assert_eq(H.st->stats.rack_marked_lost, 2);
    cr_assert_geq(data_out(&seq), 1);
    cr_assert_eq(seq, UNA + MSS, "the hole goes out a third time at once");
    cr_assert_eq(H.st->stats.lost_rexmits, 0, "found by time, not by order");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp_rack, dsacks_of_every_retransmission_undo_the_reduction)
{
    struct tcp_conn *c = rack_sender(10);
    uint32_t cwnd0, ssthresh0;

    h_skip_out();
    h_advance(RTT_MS);
    cwnd0 = c->cwnd;
    ssthresh0 = c->ssthresh;
    /* 0 acknowledged, 3..5 SACKed: 1 and 2 are lost, retransmitted in recovery. */
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 3 * MSS, UNA + 6 * MSS});
    cr_assert(c->flags & TCPF_SACK_RECOVERY);
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = UNA + MSS, .flags = TCP_ACK, .wnd = 65535,
                         .n_sack = 1, .sack = {UNA + 3 * MSS, UNA + 7 * MSS}});
    cr_assert_geq(H.st->stats.segs_retrans, 2);
    cr_assert_lt(c->ssthresh, ssthresh0);
    /* They were only late: everything arrives, then both retransmissions arrive twice. */
    h_advance(RTT_MS / 2);
    sack(UNA + 10 * MSS, 0, NULL);
    cr_assert(!(c->flags & TCPF_RECOVERY));
    cr_assert_lt(c->cwnd, cwnd0, "reduced");
    sack(UNA + 10 * MSS, 1, (uint32_t[]){UNA + MSS, UNA + 2 * MSS});
    cr_assert_eq(H.st->stats.dsack_undos, 0, "one retransmission is not D-SACKed yet");
    cr_assert_lt(c->cwnd, cwnd0);
    sack(UNA + 10 * MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 3 * MSS});
    cr_assert_eq(H.st->stats.dsack_undos, 1);
    cr_assert_geq(c->cwnd, cwnd0, "cwnd back where it was before the recovery");
    cr_assert_eq(c->ssthresh, ssthresh0);
    cr_assert_eq(c->rack.q, NULL, "the block goes back once nothing is in flight");
}

Test(tcp_rack, the_probe_timeout_is_two_srtt_and_waits_for_a_delayed_ack_of_one_segment)
{
    struct tcp_conn *c = rack_sender(0);
    uint64_t waited;

    c->srtt = 100u << 3;                /* SRTT 100 ms */
    c->rttvar = 250u << 2;
    c->rto = 1100;
    cr_assert_eq(tcp_send(c, h_payload(10 * MSS, 0, MSS)), 0);
    h_skip_out();
    waited = h_wait_out(5000);
    cr_assert_eq(waited, 200, "PTO = 2 SRTT (RFC 8985 7.2), %lu ms", (unsigned long)waited);
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    sack(UNA + 10 * MSS, 0, NULL);
    h_skip_out();
    cr_assert_eq(tcp_send(c, h_payload(MSS, 0, MSS)), 0);
    h_skip_out();
    waited = h_wait_out(5000);
    cr_assert_eq(waited, 200 + TCP_PTO_WCDELACK_MS, "one segment out: 2 SRTT + WCDelAckT");
    cr_assert_eq(H.st->stats.tlp_probes, 2);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp_rack, without_records_rfc6675_recovers_alone_and_it_is_counted)
{
    struct tcp_conn *a, *b;
    struct h_out *o;
    uint32_t bu, seq = 0;
    unsigned n = 0;

    H.conf.max_rack_blocks = 1;         /* one connection's records */
    a = rack_sender(4);
    cr_assert_not_null(a->rack.q);
    h_skip_out();
    /* A second connection from another port: no block left for it. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN, .flags = TCP_SYN, .wnd = 65535,
                                      .mss = 1460, .wscale = 7, .sack_ok = 1,
                                      .sport = H_PPORT + 1}), DROP_NONE);
    o = h_next();
    cr_assert_not_null(o);
    bu = o->seq + 1;
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = bu, .flags = TCP_ACK,
                                      .wnd = 65535, .sport = H_PPORT + 1}), DROP_NONE);
    b = H.conn;
    cr_assert_neq(a, b);
    cr_assert_eq(tcp_send(b, h_payload(10 * MSS, 0, MSS)), 0);
    cr_assert_eq(b->rack.q, NULL);
    cr_assert_geq(H.st->stats.rack_records_exhausted, 1, "each segment without a record");
    h_skip_out();
    h_advance(RTT_MS);
    /* 1 lost, 2..4 SACKed: RFC 6675's DupThresh rule starts recovery. */
    cr_assert_eq(h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = bu + MSS, .flags = TCP_ACK,
                                      .wnd = 65535, .sport = H_PPORT + 1, .n_sack = 1,
                                      .sack = {bu + 2 * MSS, bu + 5 * MSS}}), DROP_NONE);
    cr_assert(b->flags & TCPF_SACK_RECOVERY);
    while ((o = h_next()) != NULL)
        if (o->len != 0 && o->sport == H_LPORT && o->dport == H_PPORT + 1 && n++ == 0)
            seq = o->seq;
    cr_assert_geq(n, 1);
    cr_assert_eq(seq, bu + MSS, "the hole retransmitted without RACK");
    cr_assert_eq(H.st->stats.rack_marked_lost, 0);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

/*
 * After an RTO, go-back-N resends from snd_una; a retransmission of it that is lost
 * again lies below snd_nxt, where go-back-N never returns. RACK finds it by time (a
 * later retransmission SACKed) and it goes again at once, before the go-back-N front
 * moves on: without that it waited for a second, backed-off RTO.
 */
Test(tcp_rack, a_retransmission_lost_after_an_rto_goes_again_without_a_second_rto)
{
    struct tcp_conn *c = rack_sender(10);
    uint32_t seq = 0, a;
    unsigned n, i;

    /* An RTT sample first (min_RTT 40 ms), so that RACK may time retransmissions;
     * the two segments it lets out are lost with the other eight. */
    h_skip_out();
    h_advance(RTT_MS);
    sack(UNA + 2 * MSS, 0, NULL);
    a = UNA + 2 * MSS;
    h_skip_out();
    /* Nothing comes back: the loss probe, then the RTO. */
    for (i = 0; i < 400 && H.st->stats.rexmt_timeouts == 0; i++)
        h_advance(10);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    h_skip_out();
    /* Go-back-N: the first segment is acknowledged, the next two go out. */
    h_advance(RTT_MS);
    sack(a + MSS, 0, NULL);
    n = data_out(&seq);
    cr_assert_eq(n, 2, "%u sent, cwnd %u", n, c->cwnd);
    cr_assert_eq(seq, a + MSS);
    /* The first of them is lost again, the second SACKed: RACK marks it lost. */
    h_advance(RTT_MS);
    sack(a + MSS, 1, (uint32_t[]){a + 2 * MSS, a + 3 * MSS});
    cr_assert_geq(H.st->stats.rack_marked_lost, 1);
    cr_assert_geq(data_out(&seq), 1);
    cr_assert_eq(seq, a + MSS, "the lost retransmission goes again first");
    cr_assert_eq(H.st->stats.rto_lost_rexmits, 1);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
}

/*
 * The recovery probe (doc/tcp.md, "Recovery probe"). One RTT after the first flight,
 * segment 0 is acknowledged and 3..5 SACKed: 1 and 2 are lost, SACK recovery begins
 * and the first hole goes out. Returns when (the stack's clock) that ACK came; the
 * RTO is due tcp_timer_rto(c) after it.
 */
static uint64_t recovery_at_1(struct tcp_conn *c)
{
    h_skip_out();
    h_advance(RTT_MS);
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 3 * MSS, UNA + 6 * MSS});
    cr_assert(c->flags & TCPF_SACK_RECOVERY);
    h_skip_out();
    return h_now();
}

Test(tcp_rack, in_recovery_an_ack_silence_of_two_srtt_sends_one_probe_the_rto_kept)
{
    struct tcp_conn *c = rack_sender(10);
    uint64_t t_ack = recovery_at_1(c), rto_at = t_ack + tcp_timer_rto(c), waited;
    uint32_t snd_max = c->snd_max;
    struct h_out *o;

    cr_assert_eq(tcp_timer_rto(c), 200);
    cr_assert(c->flags & TCPF_RPTO, "the recovery probe's timeout stands before the RTO");
    waited = h_wait_out(1000);
    cr_assert_eq(waited, 2 * RTT_MS, "2 SRTT after the last ACK, %lu ms", (unsigned long)waited);
    cr_assert_eq(h_pending_out(), 1, "exactly one segment");
    o = h_next();
    /* Nothing new to send: the highest segment neither acknowledged nor SACKed. */
    cr_assert_eq(o->seq, UNA + 9 * MSS);
    cr_assert_eq(o->len, MSS);
    cr_assert_eq(c->snd_max, snd_max);
    cr_assert_eq(H.st->stats.recovery_probes, 1);
    cr_assert_eq(H.st->stats.tlp_probes, 0, "not the open state's loss probe");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    cr_assert(twheel_pending(&c->t_rexmt));
    cr_assert(!(c->flags & (TCPF_RPTO | TCPF_PTO | TCPF_REO | TCPF_PERSIST)), "the RTO");
    cr_assert_eq(c->t_rexmt.expires, rto_at, "at its original time, not restarted");
    cr_assert(c->flags & TCPF_SACK_RECOVERY, "still in recovery");
}

Test(tcp_rack, the_recovery_probe_is_new_data_when_the_window_lets_it_go)
{
    struct tcp_conn *c = rack_sender(14);   /* IW10: 4 wait beyond cwnd */
    uint32_t snd_max;
    struct h_out *o;

    recovery_at_1(c);
    snd_max = c->snd_max;
    cr_assert_lt(snd_max - UNA, 14 * MSS, "data still unsent");
    cr_assert_eq(h_wait_out(1000), 2 * RTT_MS);
    cr_assert_eq(h_pending_out(), 1);
    o = h_next();
    cr_assert_eq(o->seq, snd_max, "the next new segment");
    cr_assert_eq(c->snd_max, snd_max + MSS);
    cr_assert_eq(H.st->stats.recovery_probes, 1);
}

Test(tcp_rack, no_second_recovery_probe_without_an_ack_that_makes_progress)
{
    struct tcp_conn *c = rack_sender(10);
    uint64_t t_ack = recovery_at_1(c), rto_at = t_ack + tcp_timer_rto(c), waited;
    struct h_out *o;

    cr_assert_eq(h_wait_out(1000), 2 * RTT_MS);
    cr_assert_eq(H.st->stats.recovery_probes, 1);
    h_skip_out();
    /* The same ACK again (a duplicate carrying nothing new): no new probe. */
    h_advance(5);
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 3 * MSS, UNA + 6 * MSS});
    cr_assert(!(c->flags & TCPF_RPTO));
    h_skip_out();
    waited = h_wait_out(1000);
    cr_assert_eq(h_now(), rto_at, "the next segment is the RTO's, %lu ms on",
                 (unsigned long)waited);
    o = h_next();
    cr_assert_eq(o->seq, UNA + MSS, "go-back-N from snd_una");
    cr_assert_eq(H.st->stats.recovery_probes, 1, "one probe per ACK silence");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    cr_assert_eq(H.st->stats.rto_in_recovery, 1);
    cr_assert_eq(H.st->stats.recovery_probe_repairs, 0, "nothing answered it");
}

Test(tcp_rack, an_ack_with_progress_after_the_recovery_probe_counts_a_repair_and_rearms_it)
{
    struct tcp_conn *c = rack_sender(10);
    uint64_t t_ack = recovery_at_1(c), rto_at = t_ack + tcp_timer_rto(c);

    cr_assert_eq(h_wait_out(1000), 2 * RTT_MS);
    cr_assert_eq(H.st->stats.recovery_probes, 1);
    h_skip_out();
    /* The probe (segment 9) arrives and is SACKed: new SACK information. */
    h_advance(10);
    sack(UNA + MSS, 2, (uint32_t[]){UNA + 3 * MSS, UNA + 6 * MSS, UNA + 9 * MSS, UNA + 10 * MSS});
    cr_assert_eq(H.st->stats.recovery_probe_repairs, 1);
    cr_assert(!(c->flags & TCPF_RPROBE), "the next silence may be probed");
    cr_assert(c->flags & TCPF_SACK_RECOVERY);
    cr_assert(c->flags & TCPF_RPTO, "re-armed");
    cr_assert_eq(c->rto_at, rto_at, "the RTO still at its time (snd_una did not move)");
    /* Silence again: a second probe 2 SRTT after this ACK, before the RTO. */
    h_skip_out();
    cr_assert_eq(h_wait_out(1000), 2 * RTT_MS);
    cr_assert_eq(H.st->stats.recovery_probes, 2, "a probe for the new silence");
    cr_assert_lt(h_now(), rto_at);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    /* A duplicate without anything new is not a repair. */
    sack(UNA + MSS, 2, (uint32_t[]){UNA + 3 * MSS, UNA + 6 * MSS, UNA + 9 * MSS, UNA + 10 * MSS});
    cr_assert_eq(H.st->stats.recovery_probe_repairs, 1);
    /* snd_una advancing is progress too. */
    sack(UNA + 2 * MSS, 2, (uint32_t[]){UNA + 3 * MSS, UNA + 6 * MSS, UNA + 9 * MSS, UNA + 10 * MSS});
    cr_assert_eq(H.st->stats.recovery_probe_repairs, 2);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp_rack, no_recovery_probe_outside_recovery_the_open_state_has_the_tail_loss_probe)
{
    struct tcp_conn *c = rack_sender(10);

    h_skip_out();
    h_advance(RTT_MS);
    sack(UNA + 2 * MSS, 0, NULL);       /* open: nothing SACKed, no recovery */
    cr_assert(!(c->flags & TCPF_RECOVERY));
    cr_assert(c->flags & TCPF_PTO, "the tail loss probe's timeout");
    cr_assert(!(c->flags & TCPF_RPTO));
    h_skip_out();
    cr_assert_eq(h_wait_out(1000), 2 * RTT_MS);
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    cr_assert_eq(H.st->stats.recovery_probes, 0);
    /* The probe unanswered: the RTO, and no recovery probe after it either. */
    h_skip_out();
    for (unsigned i = 0; i < 1000 && H.st->stats.rexmt_timeouts == 0; i++)
        h_advance(1);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    cr_assert(!(c->flags & TCPF_RPTO));
    cr_assert_eq(H.st->stats.recovery_probes, 0);
}

Test(tcp_rack, no_recovery_probe_in_newreno_recovery)
{
    struct tcp_conn *c;
    uint64_t t0;

    h_start();
    c = h_accept(7, 65535);             /* no SACK */
    c->srtt = RTT_MS << 3;
    c->rttvar = RTT_MS << 1;
    cr_assert_eq(tcp_send(c, h_payload(10 * MSS, 0, MSS)), 0);
    h_skip_out();
    h_advance(RTT_MS);
    for (unsigned i = 0; i < 3; i++)
        sack(UNA + MSS, 0, NULL);
    sack(UNA + MSS, 0, NULL);
    cr_assert(c->flags & TCPF_RECOVERY);
    cr_assert(!(c->flags & TCPF_RPTO));
    h_skip_out();
    t0 = h_now();
    h_wait_out(1000);
    cr_assert_geq(h_now() - t0, 3 * RTT_MS, "no probe at 2 SRTT");
    cr_assert_eq(H.st->stats.recovery_probes, 0);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
}

/*
 * A LAN: round trips well below a millisecond, so the RTT estimator (milliseconds)
 * says 0. RACK keeps an SRTT of its own microsecond samples (7/8 EWMA), and the
 * reordering window that D-SACKs grow is capped by it, not stopped at min_RTT: a
 * reordering longer than one round trip is tolerated once the D-SACKs have shown it.
 */
Test(tcp_rack, below_a_millisecond_the_reordering_window_grows_to_rack_s_own_srtt)
{
    uint64_t t0 = 5000000;
    struct tcp_conn *c = rack_sender(0);
    struct tcp_rack_q *q;

    c->srtt = 0;                        /* the estimator: 0 ms */
    c->rttvar = 0;
    tcp_stack_set_clock_us(H.st, t0);
    cr_assert_eq(tcp_send(c, h_payload(5 * MSS, 0, MSS)), 0);
    q = c->rack.q;
    cr_assert_not_null(q);
    /* The first segment acknowledged 80 us later, the next three (one ACK: one
     * sample) 400 us after they left; the fifth stays in flight (with nothing in
     * flight the records' block goes back to the pool). */
    tcp_stack_set_clock_us(H.st, t0 + 80);
    sack(UNA + MSS, 0, NULL);
    cr_assert_eq(q->min_rtt_us, 80);
    cr_assert_eq(q->srtt_us, 80, "the first sample as it is");
    tcp_stack_set_clock_us(H.st, t0 + 400);
    sack(UNA + 4 * MSS, 0, NULL);
    cr_assert_eq(q->srtt_us, 80 - 80 / 8 + 400 / 8, "7/8 of the old, 1/8 of the new: %u",
                 q->srtt_us);
    cr_assert_eq(q->min_rtt_us, 80);

    /* Reordering seen, the window grown by D-SACKs: min_RTT / 4 x mult, capped by
     * RACK's SRTT (120 us), not by min_RTT (80 us) as the estimator's 0 ms would. */
    c->rack_reordering_seen = 1;
    c->rack_reo_wnd_mult = 2;
    cr_assert_eq(tcp_rack_reo_wnd(c), 40);
    c->rack_reo_wnd_mult = 5;
    cr_assert_eq(tcp_rack_reo_wnd(c), 100);
    c->rack_reo_wnd_mult = 50;
    cr_assert_eq(tcp_rack_reo_wnd(c), q->srtt_us, "the cap: RACK's SRTT, %u", q->srtt_us);
    cr_assert_gt(tcp_rack_reo_wnd(c), q->min_rtt_us);
    tcp_stack_set_clock_us(H.st, 0);
}

/*
 * Three segments SACKed above a hole: RFC 6675's DupThresh calls it lost at once, and
 * so does RACK before any reordering (reo_wnd 0 at DupThresh). Once the connection has
 * seen reordering, RACK alone decides (tcp_rack_decides): the hole waits out the
 * reordering window, and goes when it has passed, by the reordering timer.
 */
static void three_sacked_above_the_hole(bool reordering_seen, bool *at_once)
{
    struct tcp_conn *c = rack_sender(10);
    uint32_t seq = 0;

    c->rack_reordering_seen = reordering_seen;
    h_skip_out();
    h_advance(RTT_MS);
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 3 * MSS});
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 4 * MSS});
    sack(UNA + MSS, 1, (uint32_t[]){UNA + 2 * MSS, UNA + 5 * MSS});
    *at_once = data_out(&seq) > 0 && seq == UNA + MSS;
    if (!*at_once) {
        cr_assert_eq(tcp_rack_reo_wnd(c), RTT_MS * 1000 / 4);
        h_advance(RTT_MS / 4);
        cr_assert_geq(data_out(&seq), 1, "the window passed: the hole goes");
        cr_assert_eq(seq, UNA + MSS);
        cr_assert_eq(H.st->stats.rack_reo_timeouts, 1);
    }
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

Test(tcp_rack, before_any_reordering_three_sacked_segments_make_the_hole_lost_at_once)
{
    bool at_once;

    three_sacked_above_the_hole(false, &at_once);
    cr_assert(at_once, "DupThresh: retransmitted with the third SACK");
}

Test(tcp_rack, after_reordering_dupthresh_waits_for_rack_s_window)
{
    bool at_once;

    three_sacked_above_the_hole(true, &at_once);
    cr_assert(!at_once, "RACK decides: not before its window has passed");
}
