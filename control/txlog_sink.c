#include "txlog_sink.h"

#include <string.h>

#include "err.h"
#include "txlog.h"

int txlog_sink_init(struct txlog_sink *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof(*s));
    s->tail = txlog_tail_create(TXLOG_TAIL_LINES, TXLOG_LINE_MAX);
    if (s->tail == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "traffic log tail: out of memory");
    syslog_out_init(&s->syslog);
    return 0;
}

void txlog_sink_free(struct txlog_sink *s)
{
    txlog_tail_free(s->tail);
    s->tail = NULL;
    syslog_out_close(&s->syslog);
}

static const char *vs_label(const struct lbd_config *cfg, uint16_t slot)
{
    for (size_t i = 0; i < cfg->n_virtual_services; i++)
        if (cfg->virtual_services[i].slot == slot)
            return cfg->virtual_services[i].label;
    return NULL;
}

static const char *rs_label(const struct lbd_config *cfg, uint16_t slot, uint32_t id)
{
    if (id == 0)
        return NULL;
    for (size_t i = 0; i < cfg->n_virtual_services; i++) {
        const struct cfg_vs *v = &cfg->virtual_services[i];
        if (v->slot != slot)
            continue;
        for (size_t j = 0; j < v->n_real_servers; j++)
            if (v->real_servers[j].id == id)
                return v->real_servers[j].label;
    }
    return NULL;
}

size_t txlog_sink_format(const struct lbd_config *cfg, const struct txlog_rec *r, char *buf)
{
    return txlog_format(r, vs_label(cfg, r->vs_slot), rs_label(cfg, r->vs_slot, r->rs_id), buf,
                        TXLOG_LINE_MAX);
}

void txlog_sink_put(struct txlog_sink *s, const struct lbd_config *cfg,
                    const struct txlog_rec *r)
{
    char line[TXLOG_LINE_MAX];
    size_t n = txlog_sink_format(cfg, r, line);

    txlog_tail_push(s->tail, line, n);
    s->lines++;
    if (cfg->logging.syslog)
        syslog_out_send(&s->syslog, cfg->logging.syslog_socket,
                        syslog_out_facility(cfg->logging.facility), line, n,
                        appliance_now_ms());
}

unsigned txlog_sink_poll(struct txlog_sink *s, struct appliance *a)
{
    struct txlog_rec recs[TXLOG_POLL_BURST];
    unsigned total = 0, n_workers, idle = 0;

    if (a->dp == NULL || s->tail == NULL || (n_workers = a->dp->n_workers) == 0)
        return 0;
    /* Round robin over the workers, a burst each, until the budget or every ring is
     * empty: a busy worker cannot starve the others' lines. */
    while (total < TXLOG_POLL_BUDGET && idle < n_workers) {
        unsigned w = s->next_worker++ % n_workers;
        unsigned n = dp_log_recv(a->dp, w, recs, TXLOG_POLL_BURST);
        if (n == 0) {
            idle++;
            continue;
        }
        idle = 0;
        for (unsigned i = 0; i < n; i++)
            txlog_sink_put(s, a->cfg, &recs[i]);
        total += n;
    }
    return total;
}
