/*
 * A health change that cannot be published (no EAL memory for the snapshot's route
 * table) is counted, kept and tried again a second later, not on every control-loop
 * iteration; once memory is back it is published and the run of failures ends.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>

#include "eal.h"

#include "app_fixture.h"
#include "appliance.h"
#include "reconfig.h"

static struct appliance app;

static const char *cfg_json = APP_FIXTURE_ONE_L7;

#define HOG_MAX 4096
static void *hog[HOG_MAX];
static unsigned n_hog;

/* Takes every megabyte the EAL heap has left (then smaller pieces). */
static void eal_memory_take(void)
{
    for (size_t sz = 1u << 20; sz >= 4096; sz >>= 1)
        while (n_hog < HOG_MAX && (hog[n_hog] = rte_malloc(NULL, sz, 0)) != NULL)
            n_hog++;
}

static void eal_memory_give_back(void)
{
    while (n_hog > 0)
        rte_free(hog[--n_hog]);
}

static void setup(void)
{
    app_fixture(&app, cfg_json, "publish");
}

static void teardown(void)
{
    eal_memory_give_back();
    unlink(app.config_path);
}

TestSuite(publish, .init = setup, .fini = teardown);

Test(publish, a_failed_health_publish_is_retried_each_second_and_counted)
{
    uint64_t gen = app.generation;

    cr_assert_eq(reconfig_publish(&app, NULL, 0), 0, "publishes with memory");
    cr_assert_eq(app.generation, gen + 1);
    cr_assert_eq(app.routes_built, 1);

    eal_memory_take();
    app.health_changed = true;
    reconfig_publish_health(&app);
    cr_assert_eq(app.publish_failures, 1);
    cr_assert_eq(app.generation, gen + 1, "nothing published");
    cr_assert(app.health_changed, "the change is kept for the next try");

    /* Within the second: no new try, however often the loop comes by. */
    for (int i = 0; i < 100; i++)
        reconfig_publish_health(&app);
    cr_assert_eq(app.publish_failures, 1);

    /* A second later, still no memory: tried once more. */
    usleep(1050 * 1000);
    reconfig_publish_health(&app);
    cr_assert_eq(app.publish_failures, 2);
    cr_assert_eq(app.publish_streak, 2);

    /* Memory back: the next try after the second publishes and ends the run. */
    eal_memory_give_back();
    usleep(1050 * 1000);
    reconfig_publish_health(&app);
    cr_assert_eq(app.publish_failures, 2);
    cr_assert_eq(app.publish_streak, 0);
    cr_assert_not(app.health_changed);
    cr_assert_eq(app.generation, gen + 2);
    cr_assert_eq(app.routes_built, 2);
}
