#include "api_cmd.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "addr.h"
#include "api_proto.h"
#include "err.h"
#include "ha.h"
#include "history.h"
#include "persist_api.h"
#include "reconfig.h"
#include "stats.h"
#include "txlog_sink.h"

#define API_ERR_MAX 512

struct api_cmd {
    const char *name;
    /* Fills *result, or returns an LBD_E* with err filled. */
    int (*fn)(struct appliance *a, const cJSON *req, cJSON **result, char *err, size_t errlen);
    const char *help;
};

/* Optional string argument: NULL when absent; LBD_EINVAL when present but not a string. */
static int arg_string(const cJSON *req, const char *name, const char **out, char *err,
                      size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: must be a string", name);
    *out = v->valuestring;
    return 0;
}

/* The optional "vs" argument: NULL (every service) or the label of one that exists. */
static int arg_vs(const struct appliance *a, const cJSON *req, const char **vs, char *err,
                  size_t errlen)
{
    int rc = arg_string(req, "vs", vs, err, errlen);

    if (rc != 0)
        return rc;
    if (*vs != NULL && config_find_vs(a->cfg, *vs) == NULL)
        return lbd_err_set(err, errlen, LBD_ENOENT, "vs: no virtual service labelled '%.64s'",
                           *vs);
    return 0;
}

/* key: the names of the offloads in mask that lbd enabled on a port (rx or tx), as
 * DPDK names them (TCP_CKSUM, TCP_TSO, MULTI_SEGS, ...). */
static void add_offloads(cJSON *o, const char *key, uint64_t mask, bool rx)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);

    for (unsigned b = 0; b < 64; b++) {
        uint64_t bit = UINT64_C(1) << b;
        if (mask & bit)
            cJSON_AddItemToArray(a, cJSON_CreateString(rx ? rte_eth_dev_rx_offload_name(bit)
                                                          : rte_eth_dev_tx_offload_name(bit)));
    }
}

static int cmd_status(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                      size_t errlen)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *ports, *ha;

    cJSON_AddStringToObject(o, "name", a->cfg->appliance.name);
    cJSON_AddStringToObject(o, "version", LBD_VERSION);
    cJSON_AddNumberToObject(o, "pid", getpid());
    cJSON_AddNumberToObject(o, "uptime_s", (double)((appliance_now_ms() - a->start_ms) / 1000));
    cJSON_AddStringToObject(o, "config_file", a->config_path);
    cJSON_AddNumberToObject(o, "workers", a->dp->n_workers);
    cJSON_AddNumberToObject(o, "virtual_services", (double)a->cfg->n_virtual_services);
    ports = cJSON_AddArrayToObject(o, "ports");
    for (size_t i = 0; i < a->cfg->n_interfaces; i++) {
        const struct cfg_interface *ifc = &a->cfg->interfaces[i];
        const struct dp_port *p = &a->dp->ports[ifc->port];
        cJSON *po = cJSON_CreateObject();
        char mac[RTE_ETHER_ADDR_FMT_SIZE], ip[ADDR_PREFIX_STR_MAX];
        rte_ether_format_addr(mac, sizeof(mac), &p->mac);
        cJSON_AddNumberToObject(po, "port", ifc->port);
        cJSON_AddStringToObject(po, "name", p->name);
        cJSON_AddStringToObject(po, "driver", p->driver);
        cJSON_AddStringToObject(po, "mac", mac);
        cJSON_AddStringToObject(po, "ip", addr_format_prefix(ifc->ip, ifc->prefix_len, ip));
        cJSON_AddNumberToObject(po, "rx_queues", p->n_rxq);
        cJSON_AddNumberToObject(po, "tx_queues", p->n_txq);
        cJSON_AddStringToObject(po, "link", port_link_state(ifc->port));
        cJSON_AddNumberToObject(po, "mtu", p->mtu);
        add_offloads(po, "rx_offloads", p->rx_offloads, true);
        add_offloads(po, "tx_offloads", p->tx_offloads, false);
        if (p->tx_max_segs == UINT16_MAX)
            cJSON_AddNullToObject(po, "tx_max_segs");
        else
            cJSON_AddNumberToObject(po, "tx_max_segs", p->tx_max_segs);
        cJSON_AddItemToArray(ports, po);
    }
    ha = cJSON_AddObjectToObject(o, "ha");
    cJSON_AddStringToObject(ha, "state", ha_state_str(a));
    cJSON_AddBoolToObject(ha, "configured", a->cfg->ha.enabled);
    *result = o;
    return 0;
}

static int cmd_config_get(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                          size_t errlen)
{
    *result = config_to_json(a->cfg);
    if (*result == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    return 0;
}

static int cmd_stats(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                     size_t errlen)
{
    const char *vs;
    int rc = arg_string(req, "vs", &vs, err, errlen);

    if (rc != 0)
        return rc;
    *result = stats_build(a, vs, &rc, err, errlen);
    return rc;
}

/*
 * Validates the JSON config j (consumed) and applies it. A validation error names the
 * field; on any error nothing changes.
 */
static int apply_json(struct appliance *a, cJSON *j, cJSON **result, char *err, size_t errlen)
{
    struct lbd_config *next = NULL;
    int rc = config_from_json(j, &next, err, errlen);

    cJSON_Delete(j);
    if (rc != 0)
        return rc;
    rc = reconfig_apply(a, next, err, errlen);
    if (rc != 0) {
        config_free(next);
        return rc;
    }
    *result = cJSON_CreateObject();
    cJSON_AddNumberToObject(*result, "generation", (double)a->generation);
    cJSON_AddNumberToObject(*result, "virtual_services", (double)a->cfg->n_virtual_services);
    return 0;
}

static int cmd_config_apply(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                            size_t errlen)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, "config");
    cJSON *copy;

    if (!cJSON_IsObject(c))
        return lbd_err_set(err, errlen, LBD_EINVAL, "config: required (the whole config object)");
    copy = cJSON_Duplicate(c, true);
    if (copy == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    return apply_json(a, copy, result, err, errlen);
}

static int cmd_config_save(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                           size_t errlen)
{
    char written[PATH_MAX + NAME_MAX + 2];
    const char *path;
    int rc = arg_string(req, "path", &path, err, errlen);

    if (rc == 0)
        rc = reconfig_save(a, path, written, sizeof(written), err, errlen);
    if (rc != 0)
        return rc;
    *result = cJSON_CreateObject();
    cJSON_AddStringToObject(*result, "path", written);
    return 0;
}

static int cmd_vs_list(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                       size_t errlen)
{
    cJSON *j = config_to_json(a->cfg);
    cJSON *vs;

    if (j == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    vs = cJSON_DetachItemFromObjectCaseSensitive(j, "virtual_services");
    cJSON_Delete(j);
    *result = vs ? vs : cJSON_CreateArray();
    return 0;
}

/* vs.add, vs.set, vs.del, rs.add, rs.set, rs.del: an edit of the running config. */
static int cmd_edit(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                    size_t errlen)
{
    const char *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring;
    cJSON *j = config_to_json(a->cfg);
    int rc;

    if (j == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    rc = reconfig_edit(j, cmd, req, err, errlen);
    if (rc != 0) {
        cJSON_Delete(j);
        return rc;
    }
    return apply_json(a, j, result, err, errlen);
}

static int cmd_health_list(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                           size_t errlen)
{
    const char *vs;
    int rc = arg_vs(a, req, &vs, err, errlen);

    if (rc != 0)
        return rc;
    *result = health_list(a->health, vs, appliance_now_ms());
    return *result ? 0 : lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
}

static int cmd_history(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                       size_t errlen)
{
    const char *vs;
    int rc = arg_vs(a, req, &vs, err, errlen);

    if (rc != 0)
        return rc;
    if (a->history == NULL)
        return lbd_err_set(err, errlen, LBD_ENOTSUP, "no history is kept");
    *result = history_json(a->history, vs, appliance_now_ms());
    return *result ? 0 : lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
}

static int cmd_persist(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                       size_t errlen)
{
    const char *cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd")->valuestring;
    const char *vs, *client;
    int rc = arg_string(req, "vs", &vs, err, errlen);

    if (rc == 0)
        rc = arg_string(req, "client", &client, err, errlen);
    if (rc != 0)
        return rc;
    if (strcmp(cmd, "persist.list") == 0)
        return persist_api_list(a, vs, client, result, err, errlen);
    return persist_api_flush(a, vs, client, result, err, errlen);
}

struct neigh_list_ctx {
    cJSON *arr;
    uint64_t now_ms;
};

static int neigh_list_one(const struct neigh_entry *e, void *arg)
{
    struct neigh_list_ctx *c = arg;
    cJSON *o = cJSON_CreateObject();
    char ip[ADDR_STR_MAX], mac[RTE_ETHER_ADDR_FMT_SIZE];

    rte_ether_format_addr(mac, sizeof(mac), &e->mac);
    cJSON_AddStringToObject(o, "ip", addr_format_ipv4(e->ip, ip));
    cJSON_AddStringToObject(o, "mac", mac);
    cJSON_AddNumberToObject(o, "port", e->port);
    cJSON_AddNumberToObject(o, "age_s", (double)((c->now_ms - e->updated_ms) / 1000));
    cJSON_AddStringToObject(o, "state", e->state == NEIGH_STALE ? "stale" : "reachable");
    cJSON_AddNumberToObject(o, "probes", e->probes);
    cJSON_AddItemToArray(c->arr, o);
    return 0;
}

static int cmd_neigh_list(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                          size_t errlen)
{
    struct neigh_list_ctx c = {.arr = cJSON_CreateArray(), .now_ms = appliance_now_ms()};

    neigh_walk(a->dp->neigh, c.now_ms, neigh_list_one, &c);
    *result = c.arr;
    return 0;
}

#define LOGS_MAX_LINES 500          /* lines in one "logs" reply */

/* Optional whole-number argument in [0, max]: def when absent. */
static int arg_uint(const cJSON *req, const char *name, double max, double def, double *out,
                    char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    *out = def;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return lbd_err_set(err, errlen, LBD_EINVAL, "%s: must be a whole number 0..%.0f", name,
                           max);
    *out = v->valuedouble;
    return 0;
}

static void logs_add_line(void *arg, uint64_t seq, const char *line)
{
    (void)seq;
    cJSON_AddItemToArray(arg, cJSON_CreateString(line));
}

/*
 * The traffic log's tail (txlog_tail.h): the lines after cursor "after", or without
 * it the last "n" (default 20); at most "max" (default and cap LOGS_MAX_LINES).
 */
static int cmd_logs(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                    size_t errlen)
{
    struct txlog_tail *t = a->txlog != NULL ? a->txlog->tail : NULL;
    double after, n, max;
    uint64_t last, next, missed, lost = 0, records = 0;
    cJSON *o, *lines;
    int rc;

    if ((rc = arg_uint(req, "after", 9007199254740991.0, -1, &after, err, errlen)) != 0 ||
        (rc = arg_uint(req, "n", LOGS_MAX_LINES, 20, &n, err, errlen)) != 0 ||
        (rc = arg_uint(req, "max", LOGS_MAX_LINES, LOGS_MAX_LINES, &max, err, errlen)) != 0)
        return rc;
    if (t == NULL)
        return lbd_err_set(err, errlen, LBD_ESTATE, "the traffic log is not running");
    last = txlog_tail_last(t);
    if (after < 0)
        after = last > (uint64_t)n ? (double)(last - (uint64_t)n) : 0;
    o = cJSON_CreateObject();
    lines = cJSON_AddArrayToObject(o, "lines");
    missed = txlog_tail_read(t, (uint64_t)after, (uint32_t)max, logs_add_line, lines, &next);
    for (unsigned w = 0; w < a->dp->n_workers; w++) {
        const struct worker_stats *ws = dp_worker_stats(a->dp, w);
        lost += ws->proxy.log_lost + ws->l4.log_lost;
        records += ws->proxy.log_records + ws->l4.log_records;
    }
    cJSON_AddNumberToObject(o, "next", (double)next);
    cJSON_AddNumberToObject(o, "last", (double)last);
    cJSON_AddNumberToObject(o, "missed", (double)missed);
    cJSON_AddNumberToObject(o, "records", (double)records);
    cJSON_AddNumberToObject(o, "lost", (double)lost);
    cJSON_AddNumberToObject(o, "syslog_sent", (double)a->txlog->syslog.sent);
    cJSON_AddNumberToObject(o, "syslog_dropped", (double)a->txlog->syslog.dropped);
    *result = o;
    return 0;
}

static int cmd_help(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                    size_t errlen);

static int cmd_ha_status(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                         size_t errlen)
{
    *result = ha_status(a, appliance_now_ms());
    return *result != NULL ? 0 : lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
}

static int cmd_ha_change(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                         size_t errlen)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(req, "cmd");
    int rc = strcmp(c->valuestring, "ha.promote") == 0 ? ha_promote(a, err, errlen)
                                                       : ha_demote(a, err, errlen);

    if (rc != 0)
        return rc;
    *result = ha_status(a, appliance_now_ms());
    return *result != NULL ? 0 : lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
}

static const struct api_cmd api_cmds[] = {
    {"status", cmd_status, "name, version, uptime, workers, ports, HA state"},
    {"stats", cmd_stats, "counters per service, worker and port; drops by reason [vs]"},
    {"config.get", cmd_config_get, "the running config, every default explicit"},
    {"config.apply", cmd_config_apply, "validate and apply a whole config atomically {config}"},
    {"config.save", cmd_config_save,
     "write the running config to its file atomically [path: in the same directory]"},
    {"vs.list", cmd_vs_list, "the virtual services, every default explicit"},
    {"vs.add", cmd_edit, "add a virtual service {vs: object}"},
    {"vs.set", cmd_edit, "change fields of a virtual service {vs: label, fields...}"},
    {"vs.del", cmd_edit, "remove a virtual service {vs: label}"},
    {"rs.add", cmd_edit, "add a real server {vs: label, rs: object}"},
    {"rs.set", cmd_edit, "change a real server {vs, rs: label, state?, weight?, fields...}"},
    {"rs.del", cmd_edit, "remove a real server {vs: label, rs: label}"},
    {"health.list", cmd_health_list, "per real server: health, last check result and time [vs]"},
    {"history", cmd_history,
     "the last hour per service, a sample every 10 s: active conns, conns, requests and "
     "bytes per second [vs]"},
    {"persist.list", cmd_persist, "persistence entries: vs, client, rs, expiry [vs, client]"},
    {"persist.flush", cmd_persist, "delete persistence entries [vs, client]"},
    {"neigh.list", cmd_neigh_list, "the neighbour (ARP) table"},
    {"logs", cmd_logs,
     "traffic log lines after a cursor, or the last n [after, n, max]; next: the cursor"},
    {"ha.status", cmd_ha_status, "HA pair: state, priority, peer, last advert, transitions, sync"},
    {"ha.promote", cmd_ha_change, "HA pair: become master now (priority 255 until ha.demote)"},
    {"ha.demote", cmd_ha_change, "HA pair: hand over to the peer (priority 0 until ha.promote)"},
    {"help", cmd_help, "this list"},
};

static int cmd_help(struct appliance *a, const cJSON *req, cJSON **result, char *err,
                    size_t errlen)
{
    cJSON *o = cJSON_CreateObject();

    for (size_t i = 0; i < sizeof(api_cmds) / sizeof(api_cmds[0]); i++)
        cJSON_AddStringToObject(o, api_cmds[i].name, api_cmds[i].help);
    *result = o;
    return 0;
}

char *api_cmd_handle(void *ctx, const char *line, size_t len)
{
    struct appliance *a = ctx;
    char err[API_ERR_MAX] = "";
    const cJSON *cmd;
    cJSON *req, *result = NULL;
    char *resp;
    int rc;

    req = cJSON_ParseWithLength(line, len);
    if (req == NULL)
        return api_reply_error(API_CODE_PROTOCOL, "request is not valid JSON");
    if (!cJSON_IsObject(req)) {
        cJSON_Delete(req);
        return api_reply_error(API_CODE_PROTOCOL, "request must be a JSON object");
    }
    cmd = cJSON_GetObjectItemCaseSensitive(req, "cmd");
    if (!cJSON_IsString(cmd)) {
        cJSON_Delete(req);
        return api_reply_error(lbd_err_code(LBD_EINVAL), "cmd: required string");
    }
    for (size_t i = 0; i < sizeof(api_cmds) / sizeof(api_cmds[0]); i++) {
        if (strcmp(cmd->valuestring, api_cmds[i].name) != 0)
            continue;
        rc = api_cmds[i].fn(a, req, &result, err, sizeof(err));
        cJSON_Delete(req);
        if (rc != 0)
            return api_reply_error(lbd_err_code(rc), err[0] ? err : lbd_strerror(rc));
        return api_reply_ok(result);
    }
    snprintf(err, sizeof(err), "unknown command '%.64s' (try help)", cmd->valuestring);
    cJSON_Delete(req);
    resp = api_reply_error(API_CODE_UNKNOWN_COMMAND, err);
    return resp;
}
