#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eal.h"
#include <rte_ring.h>

#include "base/ctl_msg.h"
#include "config.h"
#include "dataplane.h"
#include "err.h"
#include "health.h"

/* ---- the rise/fall state machine ---- */

Test(health_sm, fall_in_a_row_takes_down_rise_in_a_row_brings_back)
{
    struct health_sm sm = {.up = true};

    cr_assert_not(health_sm_result(&sm, false, 2, 3));
    cr_assert_not(health_sm_result(&sm, false, 2, 3));
    cr_assert_not(health_sm_result(&sm, true, 2, 3), "a success breaks the run");
    cr_assert_not(health_sm_result(&sm, false, 2, 3));
    cr_assert_not(health_sm_result(&sm, false, 2, 3));
    cr_assert(sm.up);
    cr_assert(health_sm_result(&sm, false, 2, 3), "third failure in a row");
    cr_assert_not(sm.up);
    cr_assert_not(health_sm_result(&sm, false, 2, 3), "already down");
    cr_assert_not(health_sm_result(&sm, true, 2, 3));
    cr_assert_not(health_sm_result(&sm, false, 2, 3), "a failure breaks the rise");
    cr_assert_not(health_sm_result(&sm, true, 2, 3));
    cr_assert(health_sm_result(&sm, true, 2, 3), "second success in a row");
    cr_assert(sm.up);
}

Test(health_sm, rise_and_fall_of_one)
{
    struct health_sm sm = {.up = true};

    cr_assert(health_sm_result(&sm, false, 1, 1));
    cr_assert(health_sm_result(&sm, true, 1, 1));
    cr_assert(sm.up);
}

/* ---- the scheduler, against a dataplane of two workers' rings ---- */

static struct dataplane dp;
static struct lbd_config *cfg;
static struct health *h;

static const char *cfg_json =
    "{\"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
    " \"virtual_services\": ["
    "  {\"label\": \"P\", \"ip\": \"192.168.112.140\", \"ports\": [3478], \"layer\": 4,"
    "   \"protocol\": \"udp\", \"health_check\": {\"type\": \"ping\", \"interval_ms\": 1000,"
    "   \"timeout_ms\": 500, \"rise\": 2, \"fall\": 2},"
    "   \"real_servers\": [{\"label\": \"a\", \"ip\": \"192.168.112.51\"},"
    "                      {\"label\": \"b\", \"ip\": \"192.168.112.52\"}]},"
    "  {\"label\": \"C\", \"ip\": \"192.168.112.110\", \"ports\": [443, 5061], \"layer\": 7,"
    "   \"health_check\": {\"type\": \"connect\", \"port\": 5061, \"interval_ms\": 1000,"
    "   \"timeout_ms\": 500, \"rise\": 1, \"fall\": 1},"
    "   \"real_servers\": [{\"label\": \"c\", \"ip\": \"192.168.112.57\"}]}"
    " ]}";

static void setup(void)
{
    char err[256];

    test_eal_init();
    dp.n_workers = 2;
    for (unsigned i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof(name), "tw%u", i);
        dp.to_worker[i] = rte_ring_create_elem(name, sizeof(struct ctl_msg), 64, 0,
                                               RING_F_SP_ENQ | RING_F_SC_DEQ);
        cr_assert_not_null(dp.to_worker[i]);
    }
    cr_assert_eq(config_parse(cfg_json, &cfg, err, sizeof(err)), 0, "%s", err);
    /* Ids as the control core gives them. */
    cfg->virtual_services[0].real_servers[0].id = 1;
    cfg->virtual_services[0].real_servers[1].id = 2;
    cfg->virtual_services[1].real_servers[0].id = 3;
    h = health_create();
    cr_assert_eq(health_sync(h, cfg, 0), 0);
}

static void teardown(void)
{
    health_free(h);
    config_free(cfg);
}

/* Takes every probe the workers were sent. */
static unsigned take(struct ctl_msg *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 2; i++)
        n += rte_ring_sc_dequeue_burst_elem(dp.to_worker[i], out + n, sizeof(*out), max - n,
                                            NULL);
    return n;
}

/* What a healthy server's probe brings back: an echo reply, or a connect success. */
static struct ctl_msg answer(const struct ctl_msg *p)
{
    struct ctl_msg r = *p; /* the peer, and the echo id/seq or the probe number */

    if (p->type == CTL_MSG_PROBE_PING) {
        r.type = CTL_MSG_ECHO_REPLY;
    } else {
        r.type = CTL_MSG_PROBE_RESULT;
        r.probe.result = 0;
        r.probe.detail = 0;
    }
    return r;
}

/* One 5 ms step at time t: runs the scheduler and answers every probe but those to
 * silent_ip. Returns true when some server's health changed. */
static bool step(uint64_t t, uint32_t silent_ip)
{
    struct ctl_msg m[16];
    bool changed = health_poll(h, cfg, &dp, t);
    unsigned n = take(m, 16);

    for (unsigned i = 0; i < n; i++) {
        struct ctl_msg r = answer(&m[i]);
        if (m[i].ip != silent_ip)
            changed |= health_on_msg(h, cfg, &r, t);
    }
    return changed;
}

static struct ctl_msg *probe_for(struct ctl_msg *m, unsigned n, uint32_t ip)
{
    for (unsigned i = 0; i < n; i++)
        if (m[i].ip == ip)
            return &m[i];
    return NULL;
}

TestSuite(health, .init = setup, .fini = teardown);

Test(health, probes_are_spread_and_sent_once_per_interval)
{
    struct ctl_msg m[16];
    unsigned n, total = 0;

    for (uint64_t t = 0; t < 1000; t += 5) {
        health_poll(h, cfg, &dp, t);
        n = take(m, 16);
        total += n;
        for (unsigned i = 0; i < n; i++) {
            if (m[i].type == CTL_MSG_PROBE_PING) {
                /* The echo id names the worker whose ring carried it. */
                cr_assert(m[i].echo.id % 2 == 0 || m[i].echo.id % 2 == 1);
            } else {
                cr_assert_eq(m[i].type, CTL_MSG_PROBE_CONNECT);
                cr_assert_eq(m[i].port, 5061, "the check port");
            }
        }
        /* Answer every ping and connect at once, so nothing times out. */
        for (unsigned i = 0; i < n; i++) {
            struct ctl_msg r = answer(&m[i]);
            health_on_msg(h, cfg, &r, t);
        }
    }
    cr_assert_eq(total, 3, "one probe per server in the first interval, got %u", total);
    cr_assert_str_eq(health_state_name(h, 1), "up");
    cr_assert_str_eq(health_state_name(h, 3), "up");
}

Test(health, echo_id_encodes_the_worker)
{
    struct ctl_msg m[16];
    unsigned n;

    for (uint64_t t = 0; t < 1000; t += 5)
        health_poll(h, cfg, &dp, t);
    for (unsigned w = 0; w < 2; w++) {
        n = rte_ring_sc_dequeue_burst_elem(dp.to_worker[w], m, sizeof(m[0]), 16, NULL);
        for (unsigned i = 0; i < n; i++)
            if (m[i].type == CTL_MSG_PROBE_PING)
                cr_assert_eq(m[i].echo.id % 2, w);
    }
}

Test(health, down_after_fall_timeouts_and_back_after_rise)
{
    uint32_t b = cfg->virtual_services[0].real_servers[1].ip;
    uint64_t t, down_at = 0, up_at = 0;

    /* b never answers; a and c always do. */
    for (t = 0; t < 10000 && down_at == 0; t += 5)
        if (step(t, b) && cfg->virtual_services[0].real_servers[1].health_down)
            down_at = t;
    cr_assert_neq(down_at, 0, "b never went down");
    /* fall (2) x interval (1000) + timeout (500), from its first check (< 1000 ms). */
    cr_assert_leq(down_at, 1000 + 2 * 1000 + 500, "down at %lu ms", down_at);
    cr_assert_str_eq(health_state_name(h, 2), "down");
    cr_assert_not(cfg->virtual_services[0].real_servers[0].health_down);

    /* Now b answers again. */
    for (; t < 20000 && up_at == 0; t += 5)
        if (step(t, 0) && !cfg->virtual_services[0].real_servers[1].health_down)
            up_at = t;
    cr_assert_neq(up_at, 0, "b never came back");
    cr_assert_leq(up_at - down_at, 2 * 1000 + 5, "back after %lu ms", up_at - down_at);
}

Test(health, stray_and_late_replies_are_ignored)
{
    struct ctl_msg m[16], r = {.type = CTL_MSG_ECHO_REPLY};
    struct ctl_msg *pa;
    unsigned n;

    health_poll(h, cfg, &dp, 999);
    n = take(m, 16);
    pa = probe_for(m, n, cfg->virtual_services[0].real_servers[0].ip);
    cr_assert_not_null(pa);
    /* Someone else's echo reply from the same host, wrong sequence number. */
    r.ip = pa->ip;
    r.echo.id = pa->echo.id;
    r.echo.seq = (uint16_t)(pa->echo.seq + 1);
    health_on_msg(h, cfg, &r, 1000);
    /* A reply from a host we did not probe. */
    r.ip = 0x01020304;
    r.echo.seq = pa->echo.seq;
    health_on_msg(h, cfg, &r, 1000);
    cr_assert_str_eq(health_state_name(h, 1), "unknown", "no result recorded yet");
    /* The real answer still counts. */
    r.ip = pa->ip;
    health_on_msg(h, cfg, &r, 1001);
    cr_assert_str_eq(health_state_name(h, 1), "up");
}

Test(health, sync_keeps_state_of_kept_servers)
{
    struct ctl_msg m[16];
    struct lbd_config *next;
    char err[256];

    /* Take b down: two timeouts. */
    for (uint64_t t = 0; t < 4000; t += 5) {
        health_poll(h, cfg, &dp, t);
        take(m, 16);
    }
    cr_assert_str_eq(health_state_name(h, 2), "down");
    cr_assert_eq(config_parse(cfg_json, &next, err, sizeof(err)), 0);
    next->virtual_services[0].real_servers[0].id = 1;
    next->virtual_services[0].real_servers[1].id = 2;
    next->virtual_services[1].real_servers[0].id = 7; /* a new server */
    cr_assert_eq(health_sync(h, next, 4000), 0);
    cr_assert(next->virtual_services[0].real_servers[1].health_down, "b is still down");
    cr_assert_str_eq(health_state_name(h, 7), "unknown");
    cr_assert_str_eq(health_state_name(h, 3), "unknown", "3 is forgotten");
    config_free(next);
}

/* ---- echo replies: what the worker passes on, and what the control core takes ---- */

Test(health, ping_tells_the_worker_how_long_to_wait_for_the_reply)
{
    struct ctl_msg m[16];
    unsigned n, pings = 0;

    for (uint64_t t = 0; t < 1000; t += 5) {
        health_poll(h, cfg, &dp, t);
        n = take(m, 16);
        for (unsigned i = 0; i < n; i++) {
            if (m[i].type != CTL_MSG_PROBE_PING)
                continue;
            pings++;
            /* The worker keeps the ping that long and then drops its reply as late. */
            cr_assert_eq(m[i].echo.timeout_cs, 50, "timeout_ms 500");
        }
    }
    cr_assert_eq(pings, 2);
}

Test(health, echo_reply_with_another_identifier_is_ignored)
{
    struct ctl_msg m[16], r;
    struct ctl_msg *pa;
    unsigned n;

    health_poll(h, cfg, &dp, 0);
    n = take(m, 16);
    pa = probe_for(m, n, cfg->virtual_services[0].real_servers[0].ip);
    cr_assert_not_null(pa);
    r = answer(pa);
    r.echo.id = (uint16_t)(pa->echo.id + 2);    /* same worker, someone else's ping */
    cr_assert_not(health_on_msg(h, cfg, &r, 10));
    cr_assert_str_eq(health_last_result(h, 1), "none", "not taken as a's answer");
    r = answer(pa);
    health_on_msg(h, cfg, &r, 11);
    cr_assert_str_eq(health_last_result(h, 1), "ok");
}

/* A reply the worker dropped, or whose message the full ring lost, never comes: the
 * check times out at its deadline, not before; an answer after that is not counted,
 * neither for the check it answered nor for the next one. */
Test(health, reply_that_never_comes_is_a_timeout_at_the_deadline)
{
    struct ctl_msg m[16], old, r;
    struct ctl_msg *pa;
    unsigned n;

    health_poll(h, cfg, &dp, 0);
    n = take(m, 16);
    pa = probe_for(m, n, cfg->virtual_services[0].real_servers[0].ip);
    cr_assert_not_null(pa);
    old = *pa;
    health_poll(h, cfg, &dp, 499);
    take(m, 16);
    cr_assert_str_eq(health_last_result(h, 1), "none", "still waiting");
    health_poll(h, cfg, &dp, 500);
    take(m, 16);
    cr_assert_str_eq(health_last_result(h, 1), "timeout", "at timeout_ms (500)");
    r = answer(&old);
    cr_assert_not(health_on_msg(h, cfg, &r, 600));
    cr_assert_str_eq(health_last_result(h, 1), "timeout", "a late answer is not counted");
    /* The next check (one interval after the first) is a new ping. */
    health_poll(h, cfg, &dp, 1000);
    n = take(m, 16);
    pa = probe_for(m, n, cfg->virtual_services[0].real_servers[0].ip);
    cr_assert_not_null(pa);
    cr_assert_neq(pa->echo.seq, old.echo.seq);
    cr_assert_not(health_on_msg(h, cfg, &r, 1001));
    cr_assert_str_eq(health_last_result(h, 1), "timeout", "the old answer is not the new one's");
    r = answer(pa);
    health_on_msg(h, cfg, &r, 1002);
    cr_assert_str_eq(health_last_result(h, 1), "ok");
    /* Its duplicate changes nothing. */
    cr_assert_not(health_on_msg(h, cfg, &r, 1003));
}
