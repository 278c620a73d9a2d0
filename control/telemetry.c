#include "telemetry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <rte_telemetry.h>

#include "err.h"
#include "stats.h"

static pthread_mutex_t pub_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pub_json;              /* the last stats reply published; NULL: none */
static uint64_t next_publish_ms;

/* A telemetry name: DPDK takes letters, digits, '_' and '/' only; the rest become '_'. */
static void tel_name(char *out, size_t len, const char *prefix, const char *name)
{
    snprintf(out, len, "%s%s", prefix, name);
    for (char *p = out; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '/'))
            *p = '_';
}

/* Adds every number of object o (its direct members) to d, names prefixed. */
static void add_numbers(struct rte_tel_data *d, const cJSON *o, const char *prefix)
{
    const cJSON *c;

    cJSON_ArrayForEach(c, o) {
        char name[RTE_TEL_MAX_STRING_LEN];
        if (!cJSON_IsNumber(c) || c->string == NULL)
            continue;
        tel_name(name, sizeof(name), prefix, c->string);
        /* A full dict (256 entries) refuses the rest: what fits is answered. */
        rte_tel_data_add_dict_u64(d, name, c->valuedouble > 0 ? (uint64_t)c->valuedouble : 0);
    }
}

/* A dict of o's numbers, for a container entry; NULL when out of memory. */
static struct rte_tel_data *numbers_dict(const cJSON *o)
{
    struct rte_tel_data *d = rte_tel_data_alloc();

    if (d == NULL)
        return NULL;
    rte_tel_data_start_dict(d);
    add_numbers(d, o, "");
    return d;
}

static void add_container(struct rte_tel_data *d, const char *label, const cJSON *o)
{
    struct rte_tel_data *c = numbers_dict(o);
    char name[RTE_TEL_MAX_STRING_LEN];

    tel_name(name, sizeof(name), "", label);
    if (c != NULL && rte_tel_data_add_dict_container(d, name, c, 0) != 0)
        rte_tel_data_free(c);
}

/* The workers' numbers summed, as a dict. */
static struct rte_tel_data *workers_sum(const cJSON *workers)
{
    cJSON *sum = cJSON_CreateObject();
    const cJSON *w, *c;
    struct rte_tel_data *d;

    cJSON_ArrayForEach(w, workers) {
        cJSON_ArrayForEach(c, w) {
            cJSON *t;
            if (!cJSON_IsNumber(c) || c->string == NULL || strcmp(c->string, "worker") == 0 ||
                strcmp(c->string, "lcore") == 0)
                continue;
            t = cJSON_GetObjectItemCaseSensitive(sum, c->string);
            if (t == NULL)
                cJSON_AddNumberToObject(sum, c->string, c->valuedouble);
            else
                cJSON_SetNumberValue(t, t->valuedouble + c->valuedouble);
        }
    }
    d = numbers_dict(sum);
    cJSON_Delete(sum);
    return d;
}

static const cJSON *find_labelled(const cJSON *arr, const char *key, const char *want)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, arr) {
        const cJSON *l = cJSON_GetObjectItemCaseSensitive(it, key);
        if (cJSON_IsString(l) && strcmp(l->valuestring, want) == 0)
            return it;
        if (cJSON_IsNumber(l) && want[0] != '\0' && strspn(want, "0123456789") == strlen(want) &&
            l->valuedouble == strtod(want, NULL))
            return it;
    }
    return NULL;
}

int telemetry_answer(const char *stats_json, const char *cmd, const char *params,
                     struct rte_tel_data *d)
{
    cJSON *r = stats_json != NULL ? cJSON_Parse(stats_json) : NULL;
    const cJSON *vss = cJSON_GetObjectItemCaseSensitive(r, "virtual_services");
    const cJSON *workers = cJSON_GetObjectItemCaseSensitive(r, "workers");
    const cJSON *it;
    int rc = 0;

    if (r == NULL)
        return -1;
    if (params == NULL)
        params = "";
    if (strcmp(cmd, "/lbd/stats") == 0) {
        struct rte_tel_data *w;
        rte_tel_data_start_dict(d);
        add_numbers(d, r, "");
        add_container(d, "drops", cJSON_GetObjectItemCaseSensitive(r, "drops"));
        w = workers_sum(workers);
        if (w != NULL && rte_tel_data_add_dict_container(d, "workers", w, 0) != 0)
            rte_tel_data_free(w);
    } else if (strcmp(cmd, "/lbd/workers") == 0) {
        rte_tel_data_start_array(d, RTE_TEL_U64_VAL);
        cJSON_ArrayForEach(it, workers) {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "worker");
            if (cJSON_IsNumber(n))
                rte_tel_data_add_array_u64(d, (uint64_t)n->valuedouble);
        }
    } else if (strcmp(cmd, "/lbd/worker") == 0) {
        it = find_labelled(workers, "worker", params);
        if (it == NULL) {
            rc = -1;
        } else {
            rte_tel_data_start_dict(d);
            add_numbers(d, it, "");
            add_container(d, "drops", cJSON_GetObjectItemCaseSensitive(it, "drops"));
        }
    } else if (strcmp(cmd, "/lbd/services") == 0) {
        rte_tel_data_start_dict(d);
        cJSON_ArrayForEach(it, vss) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(it, "label");
            if (cJSON_IsString(l))
                add_container(d, l->valuestring, it);
        }
    } else if (strcmp(cmd, "/lbd/service") == 0) {
        it = find_labelled(vss, "label", params);
        if (it == NULL) {
            rc = -1;
        } else {
            const cJSON *rs;
            rte_tel_data_start_dict(d);
            add_numbers(d, it, "");
            cJSON_ArrayForEach(rs, cJSON_GetObjectItemCaseSensitive(it, "real_servers")) {
                const cJSON *l = cJSON_GetObjectItemCaseSensitive(rs, "label");
                char prefix[RTE_TEL_MAX_STRING_LEN];
                if (!cJSON_IsString(l))
                    continue;
                snprintf(prefix, sizeof(prefix), "%s/", l->valuestring);
                add_numbers(d, rs, prefix);
            }
        }
    } else {
        rc = -1;
    }
    cJSON_Delete(r);
    return rc;
}

/* telemetry_cb, on DPDK's telemetry thread: answers from the published copy. */
static int lbd_telemetry_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
    char *copy = NULL;
    int rc;

    pthread_mutex_lock(&pub_lock);
    if (pub_json != NULL)
        copy = strdup(pub_json);
    pthread_mutex_unlock(&pub_lock);
    rc = telemetry_answer(copy, cmd, params, d);
    free(copy);
    return rc;
}

int telemetry_init(struct appliance *a, char *err, size_t errlen)
{
    static const struct {
        const char *cmd, *help;
    } cmds[] = {
        {"/lbd/stats", "lbd: appliance counters, drops by reason, worker counters summed"},
        {"/lbd/workers", "lbd: the worker indexes"},
        {"/lbd/worker", "lbd: one worker's counters. Parameters: int worker"},
        {"/lbd/services", "lbd: every service's counters, by label"},
        {"/lbd/service", "lbd: a service's counters and its real servers'. Parameters: label"},
    };

    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (rte_telemetry_register_cmd(cmds[i].cmd, lbd_telemetry_cb, cmds[i].help) != 0)
            return lbd_err_set(err, errlen, LBD_EIO, "telemetry: cannot register %s",
                               cmds[i].cmd);
    next_publish_ms = 0;
    telemetry_tick(a, appliance_now_ms());
    return 0;
}

void telemetry_term(struct appliance *a)
{
    (void)a;
    pthread_mutex_lock(&pub_lock);
    cJSON_free(pub_json);
    pub_json = NULL;
    pthread_mutex_unlock(&pub_lock);
}

void telemetry_tick(struct appliance *a, uint64_t now_ms)
{
    char err[128];
    cJSON *r;
    char *text;
    int rc = 0;

    if (now_ms < next_publish_ms)
        return;
    next_publish_ms = now_ms + TELEMETRY_PUBLISH_MS;
    r = stats_build(a, NULL, &rc, err, sizeof(err));
    if (r == NULL)
        return;
    text = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    if (text == NULL)
        return;
    pthread_mutex_lock(&pub_lock);
    cJSON_free(pub_json);
    pub_json = text;
    pthread_mutex_unlock(&pub_lock);
}
