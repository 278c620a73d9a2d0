/*
 * The history ring (control/history.h): wrap-around at the capacity, rates from
 * cumulative counters (the first sample, a counter that starts again from zero, requests
 * outside HTTP mode), the sampling clock, and services added and removed by
 * history_sync; then the API's `history` command across live reconfigurations.
 */
#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eal.h"

#include "api_cmd.h"
#include "app_fixture.h"
#include "appliance.h"
#include "config.h"
#include "health.h"
#include "history.h"
#include "reconfig.h"
#include "stats.h"

/* The service labelled label in a history_json result, or NULL. */
static const cJSON *service(const cJSON *j, const char *label)
{
    const cJSON *s;

    cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "services"))
        if (strcmp(cJSON_GetObjectItem(s, "label")->valuestring, label) == 0)
            return s;
    return NULL;
}

/* Element k of series name of service s: its number, or NAN for null. */
static double at(const cJSON *s, const char *name, int k)
{
    const cJSON *arr = cJSON_GetObjectItem(s, name);
    const cJSON *v;

    cr_assert(cJSON_IsArray(arr), "%s is an array", name);
    v = cJSON_GetArrayItem(arr, k);
    cr_assert_not_null(v, "%s[%d] exists", name, k);
    if (cJSON_IsNull(v))
        return NAN;
    cr_assert(cJSON_IsNumber(v), "%s[%d] is a number or null", name, k);
    return v->valuedouble;
}

static int samples(const cJSON *s)
{
    int n = cJSON_GetObjectItem(s, "samples")->valueint;

    for (const char *const *k = (const char *const[]){"ago_s", "active_conns", "conns_per_s",
                                                     "requests_per_s", "bytes_in_per_s",
                                                     "bytes_out_per_s", NULL};
         *k != NULL; k++)
        cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(s, *k)), n, "%s has %d", *k, n);
    return n;
}

static void record(struct history *h, const char *label, uint64_t active, uint64_t conns,
                   uint64_t bytes, uint64_t now_ms)
{
    struct history_counters c = {.active_conns = active, .total_conns = conns,
                                 .bytes_in = bytes, .bytes_out = 2 * bytes};
    history_record(h, label, &c, now_ms);
}

Test(history, wraps_at_its_capacity_oldest_first)
{
    static const char *const labels[] = {"A"};
    struct history *h = history_create(1000, 4, 8);
    cJSON *j;
    const cJSON *s;

    cr_assert_not_null(h);
    history_sync(h, labels, 1);
    for (int k = 0; k < 6; k++)
        record(h, "A", (uint64_t)k, 0, 0, 1000u * (uint64_t)k);
    j = history_json(h, NULL, 5000);
    cr_assert_eq(cJSON_GetObjectItem(j, "capacity")->valueint, 4);
    cr_assert_eq(cJSON_GetObjectItem(j, "interval_s")->valuedouble, 1.0);
    s = service(j, "A");
    cr_assert_not_null(s);
    cr_assert_eq(samples(s), 4, "the capacity, not the six recorded");
    for (int k = 0; k < 4; k++) {
        cr_assert_eq(at(s, "active_conns", k), (double)(k + 2), "oldest kept first");
        cr_assert_eq(at(s, "ago_s", k), (double)(3 - k));
    }
    cJSON_Delete(j);
    /* Once more round: the head goes on wrapping. */
    for (int k = 6; k < 11; k++)
        record(h, "A", (uint64_t)k, 0, 0, 1000u * (uint64_t)k);
    j = history_json(h, "A", 10000);
    s = service(j, "A");
    cr_assert_eq(samples(s), 4);
    for (int k = 0; k < 4; k++)
        cr_assert_eq(at(s, "active_conns", k), (double)(k + 7));
    cJSON_Delete(j);
    history_free(h);
}

Test(history, rates_from_counters)
{
    static const char *const labels[] = {"A"};
    struct history *h = history_create(10000, 360, 8);
    struct history_counters c = {0};
    cJSON *j;
    const cJSON *s;

    history_sync(h, labels, 1);
    c = (struct history_counters){.active_conns = 3, .total_conns = 100, .requests = 50,
                                  .bytes_in = 1000, .bytes_out = 9000, .has_requests = true};
    history_record(h, "A", &c, 10000);
    c.total_conns = 150;            /* +50 in 10 s */
    c.requests = 250;               /* +200 */
    c.bytes_in = 11000;             /* +10000 */
    c.bytes_out = 9000;             /* none */
    history_record(h, "A", &c, 20000);
    c.total_conns = 7;              /* went backwards: counted from zero */
    c.requests = 260;
    c.bytes_in = 11000;
    history_record(h, "A", &c, 25000);      /* 5 s later: per second over 5 s */
    c.has_requests = false;         /* the service left HTTP mode */
    c.total_conns = 17;
    history_record(h, "A", &c, 35000);
    j = history_json(h, NULL, 35000);
    s = service(j, "A");
    cr_assert_eq(samples(s), 4);
    cr_assert(isnan(at(s, "conns_per_s", 0)), "no rate from a first sample");
    cr_assert(isnan(at(s, "requests_per_s", 0)));
    cr_assert(isnan(at(s, "bytes_in_per_s", 0)));
    cr_assert_eq(at(s, "active_conns", 0), 3.0, "the gauge is known at once");
    cr_assert_eq(at(s, "conns_per_s", 1), 5.0);
    cr_assert_eq(at(s, "requests_per_s", 1), 20.0);
    cr_assert_eq(at(s, "bytes_in_per_s", 1), 1000.0);
    cr_assert_eq(at(s, "bytes_out_per_s", 1), 0.0);
    cr_assert_eq(at(s, "conns_per_s", 2), 7.0 / 5.0, "from zero, over the 5 s");
    cr_assert_eq(at(s, "requests_per_s", 2), 2.0);
    cr_assert(isnan(at(s, "requests_per_s", 3)), "no requests outside HTTP mode");
    cr_assert_eq(at(s, "conns_per_s", 3), 1.0);
    cr_assert_eq(at(s, "ago_s", 0), 25.0);
    cr_assert_eq(at(s, "ago_s", 3), 0.0);
    cJSON_Delete(j);
    history_free(h);
}

Test(history, one_sample_per_interval)
{
    struct history *h = history_create(10000, 360, 8);

    cr_assert(history_due(h, 5), "the first call samples");
    history_sampled(h, 5);
    cr_assert_not(history_due(h, 5));
    cr_assert_not(history_due(h, 10004));
    cr_assert(history_due(h, 10005));
    history_sampled(h, 10300);              /* late: the grid stays */
    cr_assert_not(history_due(h, 20004));
    cr_assert(history_due(h, 20005));
    history_sampled(h, 75000);              /* a whole interval behind: from now */
    cr_assert_not(history_due(h, 84999));
    cr_assert(history_due(h, 85000));
    cr_assert_not(history_due(NULL, 0));
    history_free(h);
}

Test(history, services_added_and_removed)
{
    static const char *const ab[] = {"A", "B"};
    static const char *const cb[] = {"C", "B"};
    static const char *const abcd[] = {"A", "B", "C", "D"};
    struct history *h = history_create(1000, 10, 3);
    cJSON *j;
    const cJSON *s;

    history_sync(h, ab, 2);
    for (int k = 0; k < 3; k++) {
        record(h, "A", 1, 0, 0, 1000u * (uint64_t)k);
        record(h, "B", 2, 0, 0, 1000u * (uint64_t)k);
    }
    record(h, "Z", 9, 0, 0, 3000);          /* not tracked: ignored */
    cr_assert_not(history_has(h, "Z"));
    /* A removed, C added; B is kept with its samples; the order is the config's. */
    history_sync(h, cb, 2);
    cr_assert_not(history_has(h, "A"));
    j = history_json(h, NULL, 3000);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "services")), 2);
    cr_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "services"), 0)
                         ->child->valuestring, "C");
    cr_assert_null(service(j, "A"));
    cr_assert_eq(samples(service(j, "B")), 3);
    cr_assert_eq(at(service(j, "B"), "active_conns", 2), 2.0);
    cr_assert_eq(samples(service(j, "C")), 0, "a new service starts empty");
    cJSON_Delete(j);
    /* A back again: a new, empty ring, not the old one. */
    history_sync(h, ab, 2);
    j = history_json(h, "A", 3000);
    s = service(j, "A");
    cr_assert_not_null(s);
    cr_assert_eq(samples(s), 0);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "services")), 1, "vs: one only");
    cJSON_Delete(j);
    cr_assert_eq(history_untracked(h), 0);
    /* More services than the cap: the extra one has no history, and is counted. */
    history_sync(h, abcd, 4);
    cr_assert_eq(history_untracked(h), 1);
    cr_assert(history_has(h, "A") && history_has(h, "B") && history_has(h, "C"));
    cr_assert_not(history_has(h, "D"));
    j = history_json(h, NULL, 3000);
    cr_assert_eq(cJSON_GetObjectItem(j, "untracked")->valueint, 1);
    cJSON_Delete(j);
    history_free(h);
}

/* The API's `history` on an appliance without a dataplane, through live edits. */
static struct appliance app;

static const char *cfg_json =
    "{\"appliance\": {\"name\": \"t\"},"
    " \"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
    " \"virtual_services\": ["
    "  {\"label\": \"A\", \"ip\": \"192.168.112.110\", \"ports\": [80], \"layer\": 7,"
    "   \"mode\": \"http\","
    "   \"real_servers\": [{\"label\": \"a1\", \"ip\": \"192.168.112.51\"}]}]}";

static void app_setup(void)
{
    app_fixture(&app, cfg_json, "history");
    app.history = history_create(HISTORY_INTERVAL_MS, HISTORY_SAMPLES, CFG_MAX_VS);
    stats_history_sync(&app, app.cfg);
}

static void app_teardown(void)
{
    unlink(app.config_path);
    history_free(app.history);
    health_free(app.health);
    config_free(app.cfg);
}

/* The reply to line: its result (to free with the returned root), asserting ok. */
static cJSON *call_ok(const char *line, cJSON **root)
{
    char *resp = api_cmd_handle(&app, line, strlen(line));
    cJSON *j = cJSON_Parse(resp);

    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")), "%s -> %s", line, resp);
    free(resp);
    *root = j;
    return cJSON_GetObjectItem(j, "result");
}

Test(history_api, kept_across_live_reconfiguration, .init = app_setup, .fini = app_teardown)
{
    cJSON *root, *r;
    char *resp;

    stats_history_poll(&app, 1000);
    stats_history_poll(&app, 2000);         /* not due yet */
    stats_history_poll(&app, 11000);
    r = call_ok("{\"cmd\":\"history\"}", &root);
    cr_assert_eq(cJSON_GetObjectItem(r, "interval_s")->valuedouble, 10.0);
    cr_assert_eq(cJSON_GetObjectItem(r, "capacity")->valueint, 360);
    cr_assert_eq(samples(service(r, "A")), 2, "one sample per 10 s");
    cr_assert_eq(at(service(r, "A"), "requests_per_s", 1), 0.0, "HTTP mode: requests known");
    cJSON_Delete(root);

    r = call_ok("{\"cmd\":\"vs.add\",\"vs\":{\"label\":\"B\",\"ip\":\"192.168.112.111\","
                "\"ports\":[3478],\"layer\":4,\"protocol\":\"udp\"}}", &root);
    cJSON_Delete(root);
    r = call_ok("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a1\",\"weight\":5}", &root);
    cJSON_Delete(root);
    stats_history_poll(&app, 21000);
    r = call_ok("{\"cmd\":\"history\"}", &root);
    cr_assert_eq(samples(service(r, "A")), 3, "A kept its history through two applies");
    cr_assert_eq(samples(service(r, "B")), 1, "B's from its first sample");
    cr_assert(isnan(at(service(r, "B"), "requests_per_s", 0)));
    cJSON_Delete(root);

    r = call_ok("{\"cmd\":\"vs.del\",\"vs\":\"A\"}", &root);
    cJSON_Delete(root);
    r = call_ok("{\"cmd\":\"history\",\"vs\":\"B\"}", &root);
    cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(r, "services")), 1);
    cr_assert_null(service(r, "A"));
    cJSON_Delete(root);

    resp = api_cmd_handle(&app, "{\"cmd\":\"history\",\"vs\":\"A\"}", 28);
    cr_assert_not_null(strstr(resp, "\"not_found\""), "%s", resp);
    free(resp);
    resp = api_cmd_handle(&app, "{\"cmd\":\"history\",\"vs\":3}", 25);
    cr_assert_not_null(strstr(resp, "\"invalid_argument\""), "%s", resp);
    free(resp);
}
