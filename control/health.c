#include "health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "base/ctl_msg.h"
#include "dataplane.h"
#include "err.h"
#include "log.h"

#define HEALTH_ECHO_BASE 0x6c62     /* echo identifiers start near 'lb' */

enum health_result {
    HR_NONE = 0,        /* not checked yet */
    HR_OK,
    HR_TIMEOUT,
    HR_REFUSED,         /* TCP reset / ICMP unreachable */
    HR_BAD_STATUS,      /* HTTP status not the expected one */
    HR_ERROR,           /* could not send (ring full, no route) */
};

static const char *const result_names[] = {"none", "ok", "timeout", "refused", "bad_status",
                                           "error"};

struct health_entry {
    uint32_t rs_id;
    uint32_t ip;
    uint16_t port;                  /* connect / http: the port checked */
    uint16_t vs_slot;
    enum cfg_check_type type;
    uint32_t interval_ms;
    uint32_t timeout_ms;
    uint16_t rise, fall;
    struct health_sm sm;
    bool checked;                   /* has a result */
    bool inflight;
    uint32_t probe;                 /* number of the probe in flight */
    uint16_t echo_id;               /* ping: the identifier it was sent with */
    uint64_t sent_ms;
    uint64_t deadline_ms;
    uint64_t next_due_ms;
    enum health_result last;
    uint16_t last_detail;
    uint64_t last_ms;
    uint64_t last_rtt_ms;
    uint64_t n_ok, n_fail, n_changes;
    char vs_label[CFG_LABEL_MAX];
    char rs_label[CFG_LABEL_MAX];
};

struct health {
    struct health_entry *e;
    size_t n;
    uint32_t next_probe;
};

bool health_sm_result(struct health_sm *sm, bool ok, uint16_t rise, uint16_t fall)
{
    if (ok) {
        sm->fail_run = 0;
        if (sm->ok_run < UINT16_MAX)
            sm->ok_run++;
        if (!sm->up && sm->ok_run >= rise) {
            sm->up = true;
            return true;
        }
        return false;
    }
    sm->ok_run = 0;
    if (sm->fail_run < UINT16_MAX)
        sm->fail_run++;
    if (sm->up && sm->fail_run >= fall) {
        sm->up = false;
        return true;
    }
    return false;
}

struct health *health_create(void)
{
    return calloc(1, sizeof(struct health));
}

void health_free(struct health *h)
{
    if (h == NULL)
        return;
    free(h->e);
    free(h);
}

static struct health_entry *find_id(struct health_entry *e, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (e[i].rs_id == id)
            return &e[i];
    return NULL;
}

/* The port a connect/http check goes to: the check's, else the server's, else the
 * service's first (a server reached on the client's port). */
static uint16_t check_port(const struct cfg_vs *v, const struct cfg_real_server *rs)
{
    if (v->health_check.port != 0)
        return v->health_check.port;
    if (rs->port != 0)
        return rs->port;
    return v->n_ports > 0 ? v->ports[0] : 0;
}

int health_sync(struct health *h, struct lbd_config *cfg, uint64_t now_ms)
{
    size_t n = 0, k = 0;
    struct health_entry *next;

    for (size_t i = 0; i < cfg->n_virtual_services; i++)
        n += cfg->virtual_services[i].n_real_servers;
    next = calloc(n ? n : 1, sizeof(*next));
    if (next == NULL)
        return LBD_ENOMEM;
    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        const struct cfg_vs *v = &cfg->virtual_services[i];
        const struct cfg_health_check *hc = &v->health_check;
        for (size_t j = 0; j < v->n_real_servers; j++) {
            struct cfg_real_server *rs = &v->real_servers[j];
            const struct health_entry *old = find_id(h->e, h->n, rs->id);
            struct health_entry *e = &next[k];
            bool same_check;

            if (old != NULL)
                *e = *old;
            e->rs_id = rs->id;
            e->vs_slot = v->slot;
            snprintf(e->vs_label, sizeof(e->vs_label), "%s", v->label);
            snprintf(e->rs_label, sizeof(e->rs_label), "%s", rs->label);
            same_check = old != NULL && old->type == hc->type && old->ip == rs->ip &&
                         old->port == check_port(v, rs);
            e->ip = rs->ip;
            e->port = check_port(v, rs);
            e->type = hc->type;
            e->interval_ms = hc->interval_ms;
            e->timeout_ms = hc->timeout_ms;
            e->rise = hc->rise ? hc->rise : 1;
            e->fall = hc->fall ? hc->fall : 1;
            if (!same_check || hc->type == CFG_CHECK_NONE) {
                /* A new server, or what is checked changed: start over, up. */
                e->sm = (struct health_sm){.up = true};
                e->checked = false;
                e->inflight = false;
                e->last = HR_NONE;
                e->next_due_ms = now_ms + (hc->interval_ms ? (uint64_t)k * 97 % hc->interval_ms : 0);
            }
            rs->health_down = !e->sm.up;
            k++;
        }
    }
    free(h->e);
    h->e = next;
    h->n = k;
    return 0;
}

/* Records a result for e; updates the running config on a change. */
static bool record(struct health_entry *e, struct lbd_config *cfg, enum health_result r,
                   uint16_t detail, uint64_t now_ms)
{
    bool ok = r == HR_OK, changed;
    char ip[ADDR_STR_MAX];

    e->inflight = false;
    e->last = r;
    e->last_detail = detail;
    e->last_ms = now_ms;
    e->checked = true;
    if (ok) {
        e->n_ok++;
        e->last_rtt_ms = now_ms - e->sent_ms;
    } else {
        e->n_fail++;
    }
    changed = health_sm_result(&e->sm, ok, e->rise, e->fall);
    if (!changed)
        return false;
    e->n_changes++;
    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        struct cfg_vs *v = &cfg->virtual_services[i];
        for (size_t j = 0; j < v->n_real_servers; j++)
            if (v->real_servers[j].id == e->rs_id)
                v->real_servers[j].health_down = !e->sm.up;
    }
    if (e->sm.up)
        LOG_INFO("health", "%s/%s (%s) is up: %u checks passed", e->vs_label, e->rs_label,
                 addr_format_ipv4(e->ip, ip), e->rise);
    else
        LOG_WARN("health", "%s/%s (%s) is down: %u checks failed, last %s", e->vs_label,
                 e->rs_label, addr_format_ipv4(e->ip, ip), e->fall, result_names[r]);
    return true;
}

/* Hands e's probe to a worker. */
static bool send_probe(struct health *h, struct health_entry *e, struct lbd_config *cfg,
                       struct dataplane *dp, uint64_t now_ms)
{
    unsigned n = dp->n_workers, w;
    struct ctl_msg msg = {0};
    uint16_t timeout_cs = (uint16_t)(e->timeout_ms / 10 > UINT16_MAX ? UINT16_MAX
                                                                     : (e->timeout_ms + 9) / 10);

    e->probe = ++h->next_probe;
    w = e->probe % n;
    msg.ip = e->ip;
    if (e->type == CFG_CHECK_PING) {
        /* The worker keeps the ping until its deadline and passes on only a reply that
         * matches it (probe.h): token, source, identifier, sequence. */
        msg.type = CTL_MSG_PROBE_PING;
        msg.echo.id = (uint16_t)((HEALTH_ECHO_BASE / n) * n + w);
        msg.echo.seq = (uint16_t)e->probe;
        msg.echo.timeout_cs = timeout_cs;
        e->echo_id = msg.echo.id;
    } else {
        msg.type = CTL_MSG_PROBE_CONNECT;
        msg.port = e->port;
        msg.probe.id = e->probe;
        msg.probe.detail = e->vs_slot;
        msg.probe.timeout_cs = timeout_cs;
    }
    e->sent_ms = now_ms;
    e->deadline_ms = now_ms + e->timeout_ms;
    e->next_due_ms = now_ms + e->interval_ms;
    if (dp_send_to_worker(dp, w, &msg) != 0)
        return record(e, cfg, HR_ERROR, 0, now_ms);
    e->inflight = true;
    return false;
}

bool health_poll(struct health *h, struct lbd_config *cfg, struct dataplane *dp,
                 uint64_t now_ms)
{
    bool changed = false;

    for (size_t i = 0; i < h->n; i++) {
        struct health_entry *e = &h->e[i];
        if (e->type == CFG_CHECK_NONE)
            continue;
        if (e->inflight && now_ms >= e->deadline_ms)
            changed |= record(e, cfg, HR_TIMEOUT, 0, now_ms);
        if (!e->inflight && now_ms >= e->next_due_ms)
            changed |= send_probe(h, e, cfg, dp, now_ms);
    }
    return changed;
}

static enum health_result probe_result(int16_t rc)
{
    switch (rc) {
    case 0: return HR_OK;
    case LBD_EPROTO: return HR_BAD_STATUS;
    case LBD_ESTATE: return HR_REFUSED;
    case LBD_EBUSY: return HR_TIMEOUT;
    default: return HR_ERROR;
    }
}

bool health_on_msg(struct health *h, struct lbd_config *cfg, const struct ctl_msg *msg,
                   uint64_t now_ms)
{
    for (size_t i = 0; i < h->n; i++) {
        struct health_entry *e = &h->e[i];
        if (!e->inflight || e->ip != msg->ip)
            continue;
        if (msg->type == CTL_MSG_ECHO_REPLY && e->type == CFG_CHECK_PING &&
            (uint16_t)e->probe == msg->echo.seq && e->echo_id == msg->echo.id)
            return record(e, cfg, HR_OK, 0, now_ms);
        if (msg->type == CTL_MSG_PROBE_RESULT && e->type != CFG_CHECK_PING &&
            e->probe == msg->probe.id)
            return record(e, cfg, probe_result(msg->probe.result), msg->probe.detail, now_ms);
    }
    /* Late (the check already timed out, or a result the full ring lost has been
     * counted as a timeout meanwhile), a duplicate, or a probe of a server since
     * forgotten: nothing to record. */
    return false;
}

static const char *entry_state(const struct health_entry *e)
{
    if (e->type == CFG_CHECK_NONE || !e->checked)
        return e->sm.up ? "unknown" : "down";
    return e->sm.up ? "up" : "down";
}

const char *health_state_name(const struct health *h, uint32_t rs_id)
{
    const struct health_entry *e = find_id(h->e, h->n, rs_id);

    return e ? entry_state(e) : "unknown";
}

const char *health_last_result(const struct health *h, uint32_t rs_id)
{
    const struct health_entry *e = find_id(h->e, h->n, rs_id);

    return e ? result_names[e->last] : "none";
}

cJSON *health_list(const struct health *h, const char *vs, uint64_t now_ms)
{
    cJSON *arr = cJSON_CreateArray();

    for (size_t i = 0; arr != NULL && i < h->n; i++) {
        const struct health_entry *e = &h->e[i];
        char ip[ADDR_STR_MAX];
        cJSON *o;

        if (vs != NULL && strcmp(vs, e->vs_label) != 0)
            continue;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "vs", e->vs_label);
        cJSON_AddStringToObject(o, "rs", e->rs_label);
        cJSON_AddStringToObject(o, "ip", addr_format_ipv4(e->ip, ip));
        cJSON_AddStringToObject(o, "check", cfg_check_name(e->type));
        if (e->type == CFG_CHECK_CONNECT || e->type == CFG_CHECK_HTTP)
            cJSON_AddNumberToObject(o, "port", e->port);
        cJSON_AddStringToObject(o, "health", entry_state(e));
        cJSON_AddStringToObject(o, "last_result", result_names[e->last]);
        if (e->last == HR_BAD_STATUS)
            cJSON_AddNumberToObject(o, "last_status", e->last_detail);
        if (e->last != HR_NONE)
            cJSON_AddNumberToObject(o, "last_check_ms_ago", (double)(now_ms - e->last_ms));
        if (e->n_ok > 0)
            cJSON_AddNumberToObject(o, "last_rtt_ms", (double)e->last_rtt_ms);
        cJSON_AddNumberToObject(o, "checks_ok", (double)e->n_ok);
        cJSON_AddNumberToObject(o, "checks_failed", (double)e->n_fail);
        cJSON_AddNumberToObject(o, "changes", (double)e->n_changes);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}
