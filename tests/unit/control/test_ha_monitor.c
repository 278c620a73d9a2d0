#include <criterion/criterion.h>

#include <arpa/inet.h>

#include "ha_monitor.h"

/* The monitor with a fake worker ring: what was sent is kept, and may be refused. */
static struct ha_monitor m;
static struct ctl_msg sent[64];
static unsigned sent_w[64];
static unsigned n_sent;
static bool refuse;
static uint64_t now;

static int fake_send(void *arg, unsigned w, const struct ctl_msg *msg)
{
    (void)arg;
    if (refuse)
        return -1;
    cr_assert_lt(n_sent, 64);
    sent_w[n_sent] = w;
    sent[n_sent++] = *msg;
    return 0;
}

static void start(unsigned n_addr, uint32_t interval, uint16_t fall, unsigned workers)
{
    struct cfg_ha c = {.monitor_interval_ms = interval, .monitor_fall = fall};
    static const char *const ips[] = {"10.200.50.1", "192.168.112.1"};

    for (unsigned i = 0; i < n_addr; i++)
        c.monitor[i] = inet_addr(ips[i]);
    c.n_monitor = n_addr;
    now = 5000;
    n_sent = 0;
    refuse = false;
    ha_monitor_init(&m, &c, workers, now);
}

/* The worker's reply to sent[i]. */
static bool answer(unsigned i)
{
    struct ctl_msg r = {.type = CTL_MSG_ECHO_REPLY, .ip = sent[i].ip};
    r.echo.id = sent[i].echo.id;
    r.echo.seq = sent[i].echo.seq;
    return ha_monitor_on_msg(&m, &r, now);
}

/* One interval: the round is sent; answered (for each address) when `ok` says so. */
static bool round_(bool ok0, bool ok1)
{
    unsigned first = n_sent;
    bool changed = ha_monitor_poll(&m, fake_send, NULL, now);

    for (unsigned i = first; i < n_sent; i++) {
        bool ok = sent[i].ip == inet_addr("10.200.50.1") ? ok0 : ok1;
        now += 3;
        if (ok)
            changed |= answer(i);
    }
    now += 1000 - 3 * (n_sent - first);
    return changed;
}

Test(ha_monitor, pings_every_interval_from_the_worker_its_id_names)
{
    start(2, 1000, 3, 2);
    cr_assert(ha_monitor_poll(&m, fake_send, NULL, now) == false);
    cr_assert_eq(n_sent, 2, "one ping per address at start-up");
    for (unsigned i = 0; i < n_sent; i++) {
        cr_assert_eq(sent[i].type, CTL_MSG_PROBE_PING);
        cr_assert_eq(sent[i].echo.id % 2, sent_w[i], "the reply comes back to the sender");
        cr_assert_eq(sent[i].echo.timeout_cs, 100, "taken until the next round");
    }
    cr_assert_neq(sent[0].echo.id / 2, 0x6c62 / 2, "not a health check's identifier");
    now += 999;
    ha_monitor_poll(&m, fake_send, NULL, now);
    cr_assert_eq(n_sent, 2, "not before the interval");
    now += 1;
    ha_monitor_poll(&m, fake_send, NULL, now);
    cr_assert_eq(n_sent, 4);
}

Test(ha_monitor, fall_misses_in_a_row_fail_one_answer_clears)
{
    start(1, 1000, 3, 1);
    cr_assert_not(round_(true, true));
    cr_assert_not(ha_monitor_failed(&m));
    cr_assert_not(round_(false, true));
    cr_assert_not(round_(false, true));
    cr_assert_not(round_(true, true), "an answer breaks the run");
    cr_assert_not(round_(false, true));
    cr_assert_not(round_(false, true));
    cr_assert_not(round_(false, true), "three unanswered; the third is a miss at the next");
    cr_assert_not(ha_monitor_failed(&m));
    cr_assert(round_(false, true), "the third miss: failed");
    cr_assert(ha_monitor_failed(&m));
    cr_assert_not(round_(false, true), "still failed: no change");
    cr_assert(round_(true, true), "one answer: good again");
    cr_assert_not(ha_monitor_failed(&m));
    cr_assert_eq(m.t[0].changes, 2);
}

Test(ha_monitor, any_address_failing_is_a_failure)
{
    start(2, 1000, 1, 1);
    round_(true, false);
    cr_assert(round_(true, false), "the second address missed once (fall 1)");
    cr_assert(ha_monitor_failed(&m));
    cr_assert(m.t[0].good);
    cr_assert_not(m.t[1].good);
    cr_assert(round_(true, true));
    cr_assert_not(ha_monitor_failed(&m));
}

Test(ha_monitor, wrong_late_or_foreign_replies_do_not_count)
{
    struct ctl_msg r;

    start(1, 1000, 1, 1);
    ha_monitor_poll(&m, fake_send, NULL, now);
    r = (struct ctl_msg){.type = CTL_MSG_ECHO_REPLY, .ip = sent[0].ip};
    r.echo.id = sent[0].echo.id;
    r.echo.seq = (uint16_t)(sent[0].echo.seq + 1);
    ha_monitor_on_msg(&m, &r, now);
    r.echo.seq = sent[0].echo.seq;
    r.echo.id = 0x6c62;                 /* a health check's */
    ha_monitor_on_msg(&m, &r, now);
    r.echo.id = sent[0].echo.id;
    r.ip = inet_addr("10.200.50.2");
    ha_monitor_on_msg(&m, &r, now);
    r.ip = sent[0].ip;
    r.type = CTL_MSG_PROBE_RESULT;
    ha_monitor_on_msg(&m, &r, now);
    cr_assert_eq(m.t[0].answered, 0);
    now += 1000;
    cr_assert(ha_monitor_poll(&m, fake_send, NULL, now), "unanswered: a miss, fall 1");
    /* The reply to the first ping, arriving after the next was sent, is late. */
    cr_assert_not(answer(0));
    cr_assert(ha_monitor_failed(&m));
    cr_assert(answer(1), "the current ping's reply clears it");
}

Test(ha_monitor, a_ping_the_ring_refuses_is_a_miss)
{
    start(1, 1000, 2, 1);
    refuse = true;
    cr_assert_not(ha_monitor_poll(&m, fake_send, NULL, now));
    now += 1000;
    cr_assert(ha_monitor_poll(&m, fake_send, NULL, now));
    cr_assert_eq(m.t[0].send_failed, 2);
    refuse = false;
    now += 1000;
    ha_monitor_poll(&m, fake_send, NULL, now);
    cr_assert(answer(0));
}

Test(ha_monitor, nothing_configured_nothing_sent)
{
    start(0, 1000, 3, 1);
    for (int i = 0; i < 10; i++)
        cr_assert_not(round_(false, false));
    cr_assert_eq(n_sent, 0);
    cr_assert_not(ha_monitor_failed(&m));
}
