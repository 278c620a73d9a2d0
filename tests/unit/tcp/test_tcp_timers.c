/*
 * The sender's timers against a peer that stalls or vanishes: a connection with data
 * queued or in flight always has a timer (retransmission or persist) and is given up
 * in the documented time when nobody answers; and the tail loss probe's limits (none
 * with nothing outstanding, one per flight).
 */
#include "err.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"

#include "tcp_harness.h"

TestSuite(tcp_timers, .init = h_setup, .fini = h_teardown);

#define ISS 1000000u
#define MSS 1460u

static struct tcp_conn *accept_quiet(int ws, uint16_t wnd)
{
    struct tcp_conn *c = h_accept(ws, wnd);
    h_skip_out();
    return c;
}

static void ack(uint32_t a, uint16_t wnd)
{
    h_in(&(struct h_seg){.seq = PEER_ISN + 1, .ack = a, .flags = TCP_ACK, .wnd = wnd});
}

/* Waits up to max ms for the connection to be given up; returns the ms waited. */
static uint64_t wait_given_up(uint64_t max)
{
    uint64_t t0 = h_now();

    while (H.st->n_conns != 0 && h_now() - t0 < max)
        h_advance(10);
    return h_now() - t0;
}

static void assert_given_up(void)
{
    cr_assert_eq(H.st->n_conns, 0, "the connection was never given up");
    cr_assert_eq(h_last_ev(), TCP_EV_TIMEOUT);
    cr_assert_eq(H.out[H.n_out - 1].flags, TCP_RST | TCP_ACK);
    cr_assert_eq(H.st->stats.timeout_retrans, 1);
    cr_assert_eq(H.st->buf_segs, 0);
    cr_assert_eq(H.wheel.pending, 0, "no timer left behind");
}

/*
 * The lab's vanished peer (tests/lab/t_tcp.sh): a reader that stopped reading leaves
 * a window open but smaller than sender silly-window avoidance waits for (Linux does
 * not shrink the right edge it advertised), nothing in flight, data queued; then the
 * peer goes. The persist timer's expiry used to send nothing (the window was not
 * zero) and re-arm itself for ever: no probe, no retransmission, ESTABLISHED for
 * good. Now it sends what fits, which the RTO then retransmits until it gives up.
 */
Test(tcp_timers, a_small_window_with_data_queued_is_probed_then_given_up)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint32_t una = ISS + 1 + 10 * MSS;
    uint64_t gaps[8], w;
    unsigned n = 0;

    H.conf.max_retries = 5;
    h_start();
    c = accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(20000, 0, 2000)), 0);
    cr_assert_eq(h_pending_out(), 10);
    h_skip_out();
    ack(una, 100);                      /* all acknowledged, 100 bytes of window */
    cr_assert_eq(h_pending_out(), 0, "silly-window avoidance: 100 bytes wait");
    cr_assert_eq(c->snd_una, c->snd_max);
    cr_assert(twheel_pending(&c->t_rexmt), "data queued: a timer is armed");
    cr_assert(c->flags & TCPF_PERSIST);
    w = h_wait_out(10000);
    o = h_next();
    cr_assert_not_null(o, "the persist timer sent nothing within 10 s");
    cr_assert_eq(w, 200);
    cr_assert_eq(o->seq, una);
    cr_assert_eq(o->len, 100, "the override sends what the window takes");
    cr_assert_eq(H.st->stats.persist_probes, 1);
    cr_assert(twheel_pending(&c->t_rexmt) && !(c->flags & TCPF_PERSIST),
              "in flight: the RTO guards it");
    /* The peer is gone: the 100 bytes go again with backoff, then RST. */
    while (n < 8) {
        w = h_wait_out(100000);
        o = h_next();
        if (o == NULL)
            break;
        gaps[n++] = w;
        if (o->flags & TCP_RST)
            break;
        cr_assert_eq(o->seq, una, "retransmits the first unacknowledged byte");
        cr_assert_eq(o->len, 100, "within the window");
    }
    cr_assert_eq(n, 6);
    for (unsigned i = 0; i < 6; i++)
        cr_assert_eq(gaps[i], 200u << i, "gap %u: %lu ms", i, (unsigned long)gaps[i]);
    assert_given_up();
    cr_assert_eq(H.st->stats.rexmt_timeouts, 5);
}

/*
 * A zero window with data queued and nothing in flight: zero-window probes with
 * backoff (from the RTO, at least 200 ms, doubling, at most rto_max_ms), and the
 * connection given up at the expiry after max_retries unanswered probes (as an RTO
 * would: about 13 s with max_retries 5, where it took 222 s before, longer than the
 * lab's vanished peer waits).
 */
Test(tcp_timers, a_zero_window_peer_that_vanishes_is_given_up_after_the_probes)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint64_t t0, expect = 0;
    unsigned probes = 0;

    H.conf.max_retries = 5;
    h_start();
    c = accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(20000, 0, 2000)), 0);
    h_skip_out();
    ack(ISS + 1 + 10 * MSS, 0);         /* acknowledged, window closed */
    cr_assert_eq(h_pending_out(), 0);
    cr_assert(c->flags & TCPF_PERSIST);
    t0 = h_now();
    for (;;) {
        uint64_t w = h_wait_out(200000);
        o = h_next();
        cr_assert_not_null(o, "nothing sent for 200 s after probe %u", probes);
        if (o->flags & TCP_RST)
            break;
        expect += 200u << probes;
        cr_assert_eq(w, 200u << probes, "probe %u after %lu ms", probes, (unsigned long)w);
        cr_assert_eq(o->seq, ISS + 10 * MSS, "a probe is snd_una - 1");
        cr_assert_eq(o->len, 0);
        probes++;
    }
    cr_assert_eq(probes, 5, "max_retries probes");
    expect += 200u << 5;                /* the expiry after the last probe gives up */
    cr_assert_eq(h_now() - t0, expect);
    cr_assert_eq(expect, 12600);
    cr_assert_eq(H.st->stats.persist_probes, 5);
    assert_given_up();
}

/*
 * A live reader that keeps its window closed answers every probe: it is kept however
 * long it takes (as Linux: any ACK answers the probes), the backoff growing to
 * rto_max_ms all the same; when it vanishes, max_retries probes later it is given up.
 */
Test(tcp_timers, a_zero_window_reader_that_answers_is_kept_until_it_vanishes)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint64_t t0;

    H.conf.max_retries = 5;
    H.conf.rto_max_ms = 60000;
    h_start();
    c = accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(20000, 0, 2000)), 0);
    h_skip_out();
    ack(ISS + 1 + 10 * MSS, 0);
    for (unsigned i = 0; i < 20; i++) {
        uint64_t w = h_wait_out(200000), want = 200u << (i < 16 ? i : 16);
        o = h_next();
        cr_assert_not_null(o);
        cr_assert_eq(o->len, 0);
        cr_assert_eq(w, want > 60000 ? 60000 : want, "probe %u after %lu ms", i,
                     (unsigned long)w);
        ack(ISS + 1 + 10 * MSS, 0);     /* still closed */
    }
    cr_assert_eq(H.st->n_conns, 1, "a live reader is not given up");
    cr_assert_eq(c->state, TCP_ESTABLISHED);
    t0 = h_now();
    wait_given_up(1000000);
    cr_assert_eq(h_now() - t0, 6 * 60000, "5 unanswered probes, then the give-up");
    cr_assert_eq(H.st->stats.persist_probes, 25);
    assert_given_up();
}

/*
 * The peer closes its window with data in flight, then vanishes: the RTO used to
 * retransmit nothing (no window) and give up without one byte sent again. Now the
 * first segment goes at every expiry (as Linux), with backoff, then RST.
 */
Test(tcp_timers, a_window_closed_with_data_in_flight_is_retransmitted_then_given_up)
{
    struct tcp_conn *c;
    struct h_out *o;
    uint64_t gaps[8], w;
    unsigned n = 0;

    H.conf.max_retries = 5;
    h_start();
    c = accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    cr_assert_eq(h_pending_out(), 3);
    h_skip_out();
    ack(ISS + 1 + MSS, 0);              /* the first segment; window closed */
    cr_assert_eq(h_pending_out(), 0);
    cr_assert(twheel_pending(&c->t_rexmt) && !(c->flags & TCPF_PERSIST));
    while (n < 8) {
        w = h_wait_out(100000);
        o = h_next();
        if (o == NULL)
            break;
        gaps[n++] = w;
        if (o->flags & TCP_RST)
            break;
        cr_assert_eq(o->seq, ISS + 1 + MSS, "the first unacknowledged segment");
        cr_assert_eq(o->len, MSS);
    }
    cr_assert_eq(n, 6);
    for (unsigned i = 0; i < 6; i++)
        cr_assert_eq(gaps[i], 200u << i, "gap %u: %lu ms", i, (unsigned long)gaps[i]);
    cr_assert_eq(H.st->stats.segs_retrans, 5);
    assert_given_up();
}

/*
 * 3000 bytes sent, the first segment acknowledged with window win (MSS bytes and
 * more are still in flight), then the retransmission timer's first segment: *o, from
 * the first unacknowledged byte.
 */
static struct tcp_conn *rto_after_first_ack(uint16_t win, struct h_out **o)
{
    struct tcp_conn *c;

    h_start();
    c = accept_quiet(-1, 65535);
    cr_assert_eq(tcp_send(c, h_payload(3000, 0, 1000)), 0);
    h_skip_out();
    ack(ISS + 1 + MSS, win);
    h_wait_out(1000);
    *o = h_next();
    cr_assert_not_null(*o);
    cr_assert_eq((*o)->seq, ISS + 1 + MSS);
    return c;
}

/* The window opens again after a retransmission into a closed one: data flows. */
Test(tcp_timers, a_window_closed_with_data_in_flight_reopens)
{
    struct tcp_conn *c;
    struct h_out *o;

    c = rto_after_first_ack(0, &o);
    ack(ISS + 1 + 2 * MSS, 65535);      /* the retransmission's ACK, window open */
    o = h_next();
    cr_assert_not_null(o, "the rest goes on the window update");
    cr_assert_eq(o->seq, ISS + 1 + 2 * MSS);
    cr_assert_eq(o->len, 3000 - 2 * MSS);
    ack(ISS + 1 + 3000, 65535);
    cr_assert_eq(c->snd_una, c->snd_max);
    cr_assert(!twheel_pending(&c->t_rexmt), "nothing outstanding: no timer");
}

/*
 * An RTO against a window smaller than the first unacknowledged segment: what fits
 * goes again (silly-window avoidance is for new data), not nothing.
 */
Test(tcp_timers, an_rto_against_a_small_window_retransmits_what_fits)
{
    struct tcp_conn *c;
    struct h_out *o;

    c = rto_after_first_ack(100, &o);
    cr_assert_eq(o->len, 100);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    cr_assert(twheel_pending(&c->t_rexmt));
}

/* A SACK connection with n_segs segments sent, all unacknowledged. */
static struct tcp_conn *sack_sender(unsigned n_segs)
{
    struct tcp_conn *c;

    H.peer_sack = 1;
    h_start();
    c = accept_quiet(7, 65535);
    cr_assert_eq(tcp_send(c, h_payload(n_segs * MSS, 0, MSS)), 0);
    cr_assert_eq(h_pending_out(), n_segs);
    h_skip_out();
    return c;
}

Test(tcp_timers, no_loss_probe_when_nothing_is_outstanding)
{
    struct tcp_conn *c = sack_sender(4);

    ack(ISS + 1 + 4 * MSS, 65535);
    cr_assert_eq(c->snd_una, c->snd_max);
    cr_assert(!twheel_pending(&c->t_rexmt), "nothing outstanding: no probe timer");
    cr_assert_eq(h_wait_out(10000), 10000, "nothing is sent");
    cr_assert_eq(H.st->stats.tlp_probes, 0);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}

/*
 * One probe per flight: the peer vanishes with a flight out; one probe, then only the
 * RTO with backoff until the connection is given up. A new flight after an ACK may
 * have its own probe.
 */
Test(tcp_timers, one_loss_probe_per_flight)
{
    struct tcp_conn *c;
    struct h_out *o;

    H.conf.max_retries = 3;
    c = sack_sender(4);
    h_wait_out(10000);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, ISS + 1 + 3 * MSS, "the probe: the last segment again");
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
    h_wait_out(10000);
    o = h_next();
    cr_assert_not_null(o);
    cr_assert_eq(o->seq, ISS + 1, "then the RTO: go-back-N from snd_una");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 1);
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    (void)c;
    wait_given_up(100000);
    cr_assert_eq(H.st->stats.tlp_probes, 1, "one probe for the flight");
    cr_assert_eq(H.st->stats.rexmt_timeouts, 3);
    assert_given_up();
}

Test(tcp_timers, a_new_flight_gets_its_own_probe)
{
    struct tcp_conn *c = sack_sender(4);

    h_wait_out(10000);
    cr_assert_eq(H.st->stats.tlp_probes, 1);
    h_skip_out();
    h_wait_out(10);
    /* The probe's ACK (the whole flight), then a new flight that is lost too. */
    ack(ISS + 1 + 4 * MSS, 65535);
    cr_assert(!(c->flags & TCPF_TLP));
    cr_assert_eq(tcp_send(c, h_payload(2 * MSS, 0, MSS)), 0);
    h_skip_out();
    h_wait_out(10000);
    cr_assert_eq(H.st->stats.tlp_probes, 2);
    cr_assert_eq(H.st->stats.rexmt_timeouts, 0);
}
