/*
 * ha_monitor: the HA pair's monitored addresses (see ha_monitor.h).
 */
#include "ha_monitor.h"

#include <string.h>

#include "addr.h"
#include "log.h"

void ha_monitor_init(struct ha_monitor *m, const struct cfg_ha *c, unsigned n_workers,
                     uint64_t now)
{
    memset(m, 0, sizeof(*m));
    m->n = (unsigned)(c->n_monitor < CFG_MAX_HA_MONITOR ? c->n_monitor : CFG_MAX_HA_MONITOR);
    m->interval_ms = c->monitor_interval_ms ? c->monitor_interval_ms : 1000;
    m->fall = c->monitor_fall ? c->monitor_fall : 1;
    m->n_workers = n_workers ? n_workers : 1;
    m->next_ms = now;
    for (unsigned i = 0; i < m->n; i++) {
        m->t[i].ip = c->monitor[i];
        m->t[i].good = true;
    }
}

bool ha_monitor_failed(const struct ha_monitor *m)
{
    for (unsigned i = 0; i < m->n; i++)
        if (!m->t[i].good)
            return true;
    return false;
}

/* One miss of t (unanswered, or not sent); logs the change. */
static void ha_monitor_miss(struct ha_monitor *m, struct ha_monitor_target *t)
{
    char ip[ADDR_STR_MAX];

    t->inflight = false;
    t->missed++;
    if (t->miss_run < UINT16_MAX)
        t->miss_run++;
    if (t->good && t->miss_run >= m->fall) {
        t->good = false;
        t->changes++;
        LOG_WARN("ha", "monitored address %s stopped answering (%u pings in a row)",
                 addr_format_ipv4(t->ip, ip), t->miss_run);
    }
}

bool ha_monitor_poll(struct ha_monitor *m, ha_monitor_send_fn send, void *arg, uint64_t now)
{
    bool before = ha_monitor_failed(m);

    if (m->n == 0 || now < m->next_ms)
        return false;
    m->next_ms = now + m->interval_ms;
    m->seq++;
    for (unsigned i = 0; i < m->n; i++) {
        struct ha_monitor_target *t = &m->t[i];
        unsigned w = (m->seq + i) % m->n_workers;
        struct ctl_msg msg = {.type = CTL_MSG_PROBE_PING, .ip = t->ip};
        uint32_t cs = (m->interval_ms + 9) / 10;

        if (t->inflight)
            ha_monitor_miss(m, t);
        msg.echo.id = (uint16_t)((HA_MONITOR_ECHO_BASE / m->n_workers) * m->n_workers + w);
        msg.echo.seq = m->seq;
        msg.echo.timeout_cs = (uint16_t)(cs > UINT16_MAX ? UINT16_MAX : cs);
        t->sent_ms = now;
        if (send(arg, w, &msg) != 0) {
            t->send_failed++;
            ha_monitor_miss(m, t);
            continue;
        }
        t->sent++;
        t->inflight = true;
        t->seq = m->seq;
        t->echo_id = msg.echo.id;
    }
    return ha_monitor_failed(m) != before;
}

bool ha_monitor_on_msg(struct ha_monitor *m, const struct ctl_msg *msg, uint64_t now)
{
    bool before = ha_monitor_failed(m);
    char ip[ADDR_STR_MAX];

    if (msg->type != CTL_MSG_ECHO_REPLY)
        return false;
    for (unsigned i = 0; i < m->n; i++) {
        struct ha_monitor_target *t = &m->t[i];
        if (!t->inflight || t->ip != msg->ip || t->seq != msg->echo.seq ||
            t->echo_id != msg->echo.id)
            continue;
        t->inflight = false;
        t->answered++;
        t->miss_run = 0;
        t->last_ok_ms = now;
        t->last_rtt_ms = (uint32_t)(now - t->sent_ms);
        if (!t->good) {
            t->good = true;
            t->changes++;
            LOG_INFO("ha", "monitored address %s answers again", addr_format_ipv4(t->ip, ip));
        }
        break;
    }
    return ha_monitor_failed(m) != before;
}

cJSON *ha_monitor_status(const struct ha_monitor *m, uint64_t now)
{
    cJSON *arr = cJSON_CreateArray();
    char ip[ADDR_STR_MAX];

    if (arr == NULL)
        return NULL;
    for (unsigned i = 0; i < m->n; i++) {
        const struct ha_monitor_target *t = &m->t[i];
        cJSON *o = cJSON_CreateObject();
        if (o == NULL)
            break;
        cJSON_AddStringToObject(o, "ip", addr_format_ipv4(t->ip, ip));
        cJSON_AddStringToObject(o, "state", t->good ? "up" : "down");
        cJSON_AddNumberToObject(o, "misses_in_a_row", t->miss_run);
        if (t->last_ok_ms != 0) {
            cJSON_AddNumberToObject(o, "last_answer_ms_ago", (double)(now - t->last_ok_ms));
            cJSON_AddNumberToObject(o, "last_rtt_ms", t->last_rtt_ms);
        } else {
            cJSON_AddNullToObject(o, "last_answer_ms_ago");
            cJSON_AddNullToObject(o, "last_rtt_ms");
        }
        cJSON_AddNumberToObject(o, "sent", (double)t->sent);
        cJSON_AddNumberToObject(o, "answered", (double)t->answered);
        cJSON_AddNumberToObject(o, "missed", (double)t->missed);
        cJSON_AddNumberToObject(o, "send_failed", (double)t->send_failed);
        cJSON_AddNumberToObject(o, "changes", (double)t->changes);
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}
