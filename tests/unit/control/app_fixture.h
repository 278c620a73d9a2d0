/*
 * app_fixture: an appliance for the control core's unit tests, without a dataplane:
 * the EAL, the running config parsed from json, identities assigned, health in step
 * with it, and a config path of its own (tag and the process id) for config.save.
 */
#ifndef LBD_TEST_APP_FIXTURE_H
#define LBD_TEST_APP_FIXTURE_H

#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eal.h"

#include "appliance.h"
#include "config.h"
#include "health.h"
#include "reconfig.h"

/* A config of one Layer 7 service (A, 192.168.112.110:80) with one real server (a1). */
#define APP_FIXTURE_ONE_L7                                                                 \
    "{\"appliance\": {\"name\": \"t\"},"                                                   \
    " \"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"                      \
    " \"virtual_services\": ["                                                             \
    "  {\"label\": \"A\", \"ip\": \"192.168.112.110\", \"ports\": [80], \"layer\": 7,"     \
    "   \"real_servers\": [{\"label\": \"a1\", \"ip\": \"192.168.112.51\"}]}]}"

static inline void app_fixture(struct appliance *app, const char *json, const char *tag)
{
    char err[256];

    test_eal_init();
    memset(app, 0, sizeof(*app));
    cr_assert_eq(config_parse(json, &app->cfg, err, sizeof(err)), 0, "%s", err);
    snprintf(app->config_path, sizeof(app->config_path), "/tmp/lbd-test-%s-%d.json", tag,
             getpid());
    app->health = health_create();
    reconfig_assign_ids(app, app->cfg, NULL);
    cr_assert_eq(health_sync(app->health, app->cfg, 0), 0);
}

#endif
