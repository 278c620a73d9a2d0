/*
 * tcp_timeout: what happens when a connection's timer fires. See tcp_timeout.h.
 * Runs from twheel_advance as an entry of its own (tcp_entry_begin/end); no
 * allocation.
 */
#include "tcp/tcp_timeout.h"

#include <stddef.h>

#include "tcp/tcp_cc.h"
#include "tcp/tcp_entry.h"
#include "tcp/tcp_output.h"
#include "tcp/tcp_rack.h"
#include "tcp/tcp_sack.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"
#include "tcp/tcp_txwait.h"

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
    if (c->snd_una == c->snd_max) {
        tcp_output(c);                  /* queued data: sent, or the persist timer */
        return;
    }
    if (++c->rexmt_shift > cf->max_retries) {
        st->stats.timeout_retrans++;
        tcp_output_rst(c);
        tcp_entry_terminate(c, TCP_EV_TIMEOUT);
        return;
    }
    st->stats.rexmt_timeouts++;
    /* Why no ACK clock was left (doc/tcp.md, "RTO causes"): counted by the state the
     * timeout finds, before it changes it. */
    if (c->rexmt_shift > 1)
        st->stats.rto_backoff++;
    else if (c->flags & TCPF_RECOVERY)
        st->stats.rto_in_recovery++;
    else if (SEQ_LT(c->snd_una, c->recover))
        st->stats.rto_in_loss++;
    else if (c->flags & TCPF_TLP)
        st->stats.rto_tlp_out++;
    else
        st->stats.rto_open++;
    /* An undo episode: a fresh one unless a recovery's or an earlier RTO's is on. */
    tcp_rack_undo_start(c, c->rexmt_shift == 1 && !(c->flags & TCPF_RECOVERY));
    tcp_cc_rto(c, c->snd_max - c->snd_una, c->rexmt_shift == 1);
    c->snd_nxt = c->snd_una;
    c->recover = c->snd_max;
    c->high_rxt = c->snd_una;
    c->dupacks = 0;
    c->flags &= ~(TCPF_RECOVERY | TCPF_SACK_RECOVERY | TCPF_RTT | TCPF_TLP | TCPF_TLP_RXT |
                  TCPF_RPROBE);
    /* The scoreboard is kept at the first timeout, so that go-back-N sends only the
     * holes at once (as Linux does, RFC 6675 section 5.1 allowing it); the receiver may
     * have dropped what it SACKed (reneging, RFC 2018 section 8), and then a second
     * timeout comes: it clears the board, later ACKs rebuild it and go-back-N skips
     * what they SACK again. */
    if (c->rexmt_shift > 1)
        tcp_sack_clear(c);
    tcp_output(c);
    /* A window the peer closed with data in flight: the first segment goes anyway,
     * as a probe the RTO keeps backing off (as Linux: not one byte retransmitted
     * would give up a live peer whose window update was lost). */
    if (c->snd_nxt == c->snd_una)
        tcp_output_rexmt_first(c);
    if (!twheel_pending(&c->t_rexmt))
        tcp_timer_rexmt_arm(c);
}

/* A probe's new segment (the tail loss probe's, the recovery probe's): one SMSS
 * beyond cwnd when the peer's window lets one go past what is in flight and no
 * go-back-N is under way. Returns true when it went. */
static bool tcp_timeout_probe_new(struct tcp_conn *c, uint32_t smss)
{
    return c->snd_nxt == c->snd_max && tcp_output_unsent(c) > 0 &&
           c->snd_wnd >= c->snd_nxt - c->snd_una + smss && tcp_output_probe_new(c, smss) != 0;
}

/*
 * The tail loss probe (RFC 8985 section 7.3): no ACK for 2 SRTT after the last segment
 * sent. One new segment if the window lets one go, else the most recently sent one
 * again (its FIN with it; a FIN alone when only the FIN is out, as Linux probes its
 * write queue's tail, so that a lost FIN waits 2 SRTT and not the RTO); either draws
 * an ACK whose SACK shows what is missing, so that recovery starts now rather than at
 * the RTO. Then the RTO is armed; one probe until it is answered.
 */
static void tcp_timeout_tlp(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint32_t smss = tcp_output_smss(c);

    if (c->snd_una == c->snd_max) {
        tcp_output(c);                  /* queued data: sent, or the persist timer */
        return;
    }
    c->flags &= ~TCPF_TLP_RXT;
    if (tcp_txwait_busy(st)) {
        /* What the probe would draw an ACK for may still wait in the worker's own
         * transmit backlog (as Linux's skb_still_in_host_queue): no probe, the RTO
         * stays armed. */
        st->stats.tlp_held++;
    } else if (tcp_timeout_probe_new(c, smss)) {
        st->stats.tlp_probes++;
    } else if (tcp_output_rexmt_tail(c, smss) != 0) {
        c->flags |= TCPF_TLP_RXT;
        st->stats.tlp_probes++;
    }
    /* TCPF_TLP also when nothing could go: the timer is not a probe timer again until
     * an ACK answers what is out. */
    c->flags |= TCPF_TLP;
    c->tlp_end = c->snd_max;
    tcp_timer_rexmt_arm(c);
}

/*
 * The recovery probe (doc/tcp.md, "Recovery probe"): in SACK recovery, no ACK for
 * 2 SRTT, the RTO still to come. The ACK that answered lbd's last burst was lost and
 * nothing left in flight may draw another: one segment goes out to draw one, new data
 * if the peer's window lets one go (beyond cwnd, as the tail loss probe), else the
 * highest segment not acknowledged or SACKed again. The RTO stays armed for the time
 * it had (rto_at); no other probe until an ACK makes progress (TCPF_RPROBE).
 */
static void tcp_timeout_rprobe(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    uint32_t smss = tcp_output_smss(c), seq, len;
    uint32_t data_end = c->snd_una + c->sndq.bytes;
    uint64_t now = tcp_now(st);

    if (c->snd_una == c->snd_max) {
        tcp_output(c);                  /* queued data: sent, or the persist timer */
        return;
    }
    if (c->flags & TCPF_SACK_RECOVERY) {
        bool sent = tcp_timeout_probe_new(c, smss);
        if (SEQ_GT(data_end, c->snd_max))
            data_end = c->snd_max;
        if (!sent && tcp_sack_last_unsacked(c, data_end, smss, &seq, &len)) {
            /* Not a hole retransmitted in RFC 6675's order: HighRxt stays, so that
             * NextSeg still sends the holes below it. */
            uint32_t high_rxt = c->high_rxt;
            tcp_output_rexmt(c, seq, len);
            c->high_rxt = high_rxt;
            sent = true;
        }
        if (sent)
            st->stats.recovery_probes++;
        c->flags |= TCPF_RPROBE;        /* one per ACK silence */
    }
    twheel_arm(st->conf.wheel, &c->t_rexmt, c->rto_at > now ? c->rto_at : now);
}

/*
 * RACK's reordering timer (RFC 8985 6.3): segments that were not yet lost when the
 * last ACK came, because a reordering window had to pass, may be now. Those marked go
 * out through recovery (entered now if it may be); then the RTO or probe is re-armed.
 */
static void tcp_timeout_reo(struct tcp_conn *c)
{
    c->st->stats.rack_reo_timeouts++;
    if (c->snd_una == c->snd_max) {
        tcp_output(c);
        return;
    }
    if (tcp_rack_detect(c) != 0) {
        if (tcp_output_sack_can_recover(c)) {
            tcp_output_sack_enter(c);
            tcp_rack_detect(c);         /* the reordering timer for the rest */
        } else {
            tcp_output(c);
        }
    }
    if (!twheel_pending(&c->t_rexmt))
        tcp_timer_rexmt_arm(c);
}

/*
 * The persist timer: nothing in flight, data queued that the peer's window keeps back.
 * A closed window gets a zero-window probe; an open one too small for sender
 * silly-window avoidance gets the data that fits (the override), which the RTO then
 * guards. Either counts as a probe; as Linux (tcp_probe_timer), any ACK answers the
 * probes (a live reader that keeps its window closed is kept for ever, the backoff
 * kept too), and max_retries unanswered ones give the connection up. The timer is
 * re-armed while data waits, so that a connection with queued data always has one.
 */
static void tcp_timeout_persist(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;

    if (c->snd_una != c->snd_max) {     /* data in flight: the RTO's to guard */
        tcp_output(c);
        if (!twheel_pending(&c->t_rexmt))
            tcp_timer_rexmt_arm(c);
        return;
    }
    if (tcp_output_unsent(c) == 0) {
        tcp_output(c);                  /* no data waits (a FIN goes regardless) */
        return;
    }
    if (++c->probes > st->conf.max_retries) {
        st->stats.timeout_retrans++;
        tcp_output_rst(c);
        tcp_entry_terminate(c, TCP_EV_TIMEOUT);
        return;
    }
    st->stats.persist_probes++;
    if (c->persist_shift < 16)
        c->persist_shift++;
    if (c->snd_wnd != 0 && tcp_output_window_probe(c) != 0)
        return;                         /* new data out, the RTO armed */
    tcp_output_probe(c);
    tcp_timer_persist_arm(c);
}

static void tcp_timeout_on_rexmt(struct twheel_timer *t, uint64_t now)
{
    struct tcp_conn *c = CONN_OF(t, t_rexmt);
    struct tcp_stack *st = c->st;

    tcp_entry_begin(st);
    if (c->flags & TCPF_PERSIST) {
        c->flags &= ~TCPF_PERSIST;
        tcp_timeout_persist(c);
    } else if (c->flags & TCPF_PTO) {
        c->flags &= ~TCPF_PTO;
        tcp_timeout_tlp(c);
    } else if (c->flags & TCPF_RPTO) {
        c->flags &= ~TCPF_RPTO;
        tcp_timeout_rprobe(c);
    } else if (c->flags & TCPF_REO) {
        c->flags &= ~TCPF_REO;
        tcp_timeout_reo(c);
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
