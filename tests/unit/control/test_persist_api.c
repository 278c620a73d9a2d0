/*
 * persist.list / persist.flush on the control core, against a dataplane of one
 * worker's rings and no worker behind them: while it waits for the workers, the
 * control core still runs the health checks and publishes a change of health.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "eal.h"
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "appliance.h"
#include "base/ctl_msg.h"
#include "config.h"
#include "dataplane.h"
#include "err.h"
#include "health.h"
#include "persist_api.h"
#include "reconfig.h"

static struct appliance app;
static struct dataplane dp;

/* One server checked by ping every 100 ms, down after one failure. */
static const char *cfg_json =
    "{\"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
    " \"virtual_services\": ["
    "  {\"label\": \"P\", \"ip\": \"192.168.112.140\", \"ports\": [3478], \"layer\": 4,"
    "   \"protocol\": \"udp\", \"persistence\": {\"type\": \"source_ip\"},"
    "   \"health_check\": {\"type\": \"ping\", \"interval_ms\": 100,"
    "   \"timeout_ms\": 50, \"rise\": 1, \"fall\": 1},"
    "   \"real_servers\": [{\"label\": \"a\", \"ip\": \"192.168.112.51\"}]}]}";

static void setup(void)
{
    char err[256];
    size_t sz = rte_rcu_qsbr_get_memsize(1);

    test_eal_init();
    memset(&app, 0, sizeof(app));
    memset(&dp, 0, sizeof(dp));
    dp.n_workers = 1;
    dp.to_worker[0] = rte_ring_create_elem("pa_to_w0", sizeof(struct ctl_msg), 256, 0,
                                           RING_F_SP_ENQ | RING_F_SC_DEQ);
    dp.to_ctl = rte_ring_create_elem("pa_to_ctl", sizeof(struct ctl_msg), 256, 0,
                                     RING_F_SC_DEQ);
    dp.qsbr = rte_zmalloc("pa_qsbr", sz, RTE_CACHE_LINE_SIZE);
    cr_assert(dp.to_worker[0] != NULL && dp.to_ctl != NULL && dp.qsbr != NULL);
    cr_assert_eq(rte_rcu_qsbr_init(dp.qsbr, 1), 0);
    /* The control core ages the neighbour table while it polls its workers. */
    dp.neigh = neigh_create("pa_neigh", 64, dp.qsbr, err, sizeof(err));
    cr_assert_not_null(dp.neigh, "%s", err);
    cr_assert_eq(config_parse(cfg_json, &app.cfg, err, sizeof(err)), 0, "%s", err);
    app.health = health_create();
    reconfig_assign_ids(&app, app.cfg, NULL);   /* no workers' counters to read */
    app.dp = &dp;
    cr_assert_eq(health_sync(app.health, app.cfg, appliance_now_ms()), 0);
    cr_assert_eq(reconfig_publish(&app, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
    health_free(app.health);
    config_free(app.cfg);
}

TestSuite(persist_api, .init = setup, .fini = teardown);

/* The messages the worker was sent, by type. */
static void taken(unsigned *flushes, unsigned *pings)
{
    struct ctl_msg m;

    *flushes = *pings = 0;
    while (rte_ring_sc_dequeue_elem(dp.to_worker[0], &m, sizeof(m)) == 0) {
        *flushes += m.type == CTL_MSG_PERSIST_FLUSH;
        *pings += m.type == CTL_MSG_PROBE_PING;
    }
}

Test(persist_api, health_checks_go_on_while_it_waits_for_the_workers)
{
    char err[256];
    cJSON *out = NULL;
    uint64_t gen = app.generation, t0 = appliance_now_ms();
    unsigned flushes, pings;

    /* The worker never answers: busy after the wait, the rest went on meanwhile. */
    cr_assert_eq(persist_api_flush(&app, NULL, NULL, &out, err, sizeof(err)), LBD_EBUSY);
    cr_assert_not_null(strstr(err, "0 of 1 workers answered"), "%s", err);
    cr_assert_geq(appliance_now_ms() - t0, PERSIST_API_WAIT_MS);
    taken(&flushes, &pings);
    cr_assert_eq(flushes, 1);
    cr_assert_geq(pings, 5, "checks sent while waiting: %u", pings);
    cr_assert_str_eq(health_state_name(app.health, app.cfg->virtual_services[0].real_servers[0].id),
                     "down", "the unanswered checks timed out");
    cr_assert_gt(app.generation, gen, "the change of health was published while waiting");
    cr_assert_not(app.health_changed);
    cr_assert_eq(dp_snapshot(&dp)->generation, app.generation);
}
