#include "persist_api.h"

#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "base/ctl_msg.h"
#include "dataplane.h"
#include "err.h"
#include "ha.h"
#include "health.h"
#include "reconfig.h"

struct persist_wait {
    struct appliance *a;
    uint32_t req;
    unsigned done;              /* workers that answered */
    uint64_t count;             /* entries listed or flushed, as the workers counted */
    uint64_t listed;
    cJSON *entries;             /* NULL for a flush */
};

static uint32_t persist_api_req;

static const char *vs_label_of(const struct lbd_config *cfg, uint16_t slot,
                               const struct cfg_vs **vs)
{
    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        if (cfg->virtual_services[i].slot == slot) {
            *vs = &cfg->virtual_services[i];
            return cfg->virtual_services[i].label;
        }
    }
    *vs = NULL;
    return "(removed)";
}

static const char *rs_label_of(const struct cfg_vs *vs, uint32_t id)
{
    for (size_t i = 0; vs != NULL && i < vs->n_real_servers; i++)
        if (vs->real_servers[i].id == id)
            return vs->real_servers[i].label;
    return "(removed)";
}

static void persist_api_msg(void *arg, const struct ctl_msg *msg)
{
    struct persist_wait *pw = arg;

    if (msg->type == CTL_MSG_PERSIST_DONE) {
        if (msg->preq.req == pw->req) {
            pw->done++;
            pw->count += msg->preq.count;
        }
        return;
    }
    if (msg->type == CTL_MSG_PERSIST_ENTRY) {
        const struct cfg_vs *vs;
        char ip[ADDR_STR_MAX];
        cJSON *o;
        /* Entries of a listing whose requester gave up are not ours. */
        if (pw->entries == NULL || msg->persist.tag != (pw->req & 0xf))
            return;
        pw->listed++;
        if (pw->listed > PERSIST_API_MAX_ENTRIES)
            return;
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "vs", vs_label_of(pw->a->cfg, msg->port, &vs));
        cJSON_AddStringToObject(o, "client", addr_format_ipv4(msg->ip, ip));
        cJSON_AddStringToObject(o, "rs", rs_label_of(vs, msg->persist.rs_id));
        cJSON_AddNumberToObject(o, "expires_in_s", msg->persist.expires_s);
        cJSON_AddNumberToObject(o, "conns", msg->persist.conns);
        cJSON_AddItemToArray(pw->entries, o);
        return;
    }
    appliance_worker_msg(pw->a, msg);
}

/* Sends the request to every worker and waits for all of them. */
static int persist_api_run(struct appliance *a, uint16_t type, const char *vs,
                           const char *client, struct persist_wait *pw, char *err,
                           size_t errlen)
{
    struct ctl_msg m = {.type = type, .port = CTL_PERSIST_ANY};
    const struct cfg_vs *v;
    uint64_t deadline;

    if (vs != NULL) {
        v = config_find_vs(a->cfg, vs);
        if (v == NULL)
            return lbd_err_set(err, errlen, LBD_ENOENT, "vs: no virtual service labelled '%.64s'",
                               vs);
        m.port = v->slot;
    }
    if (client != NULL && addr_parse_ipv4(client, &m.ip) != 0)
        return lbd_err_set(err, errlen, LBD_EINVAL, "client: \"%.32s\" is not an IPv4 address",
                           client);
    pw->a = a;
    pw->req = ++persist_api_req;
    m.preq.req = pw->req;
    for (unsigned i = 0; i < a->dp->n_workers; i++) {
        if (dp_send_to_worker(a->dp, i, &m) != 0)
            return lbd_err_set(err, errlen, LBD_EBUSY, "worker %u is busy: try again", i);
    }
    deadline = appliance_now_ms() + PERSIST_API_WAIT_MS;
    while (pw->done < a->dp->n_workers) {
        uint64_t now = appliance_now_ms();
        unsigned n = dp_poll_ctl(a->dp, now, 4096, persist_api_msg, pw);

        /* What the control loop does meanwhile goes on: checks are sent and time out,
         * and a change of health reaches the workers at once. */
        if (a->health != NULL && health_poll(a->health, a->cfg, a->dp, now))
            a->health_changed = true;
        ha_poll(a, now);    /* adverts go on: the peer must not see the master gone */
        reconfig_publish_health(a);
        if (n == 0) {
            if (now > deadline)
                return lbd_err_set(err, errlen, LBD_EBUSY,
                                   "%u of %u workers answered in %u ms: try again", pw->done,
                                   a->dp->n_workers, PERSIST_API_WAIT_MS);
            usleep(100);
        }
    }
    return 0;
}

int persist_api_list(struct appliance *a, const char *vs, const char *client, cJSON **out,
                     char *err, size_t errlen)
{
    struct persist_wait pw = {.entries = cJSON_CreateArray()};
    int rc;

    if (pw.entries == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    rc = persist_api_run(a, CTL_MSG_PERSIST_LIST, vs, client, &pw, err, errlen);
    if (rc != 0) {
        cJSON_Delete(pw.entries);
        return rc;
    }
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "entries", pw.entries);
    cJSON_AddNumberToObject(*out, "total", (double)pw.listed);
    cJSON_AddBoolToObject(*out, "truncated", pw.listed > PERSIST_API_MAX_ENTRIES);
    return 0;
}

int persist_api_flush(struct appliance *a, const char *vs, const char *client, cJSON **out,
                      char *err, size_t errlen)
{
    struct persist_wait pw = {0};
    int rc = persist_api_run(a, CTL_MSG_PERSIST_FLUSH, vs, client, &pw, err, errlen);

    if (rc != 0)
        return rc;
    *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(*out, "flushed", (double)pw.count);
    return 0;
}
