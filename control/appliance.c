#include "appliance.h"

#include <time.h>

#include "ha_monitor.h"
#include "health.h"
#include "snapshot/snapshot.h"

void appliance_worker_msg(struct appliance *a, const struct ctl_msg *msg)
{
    if (a->health != NULL && health_on_msg(a->health, a->cfg, msg, appliance_now_ms()))
        a->health_changed = true;
    if (a->ha_mon != NULL)
        (void)ha_monitor_on_msg(a->ha_mon, msg, appliance_now_ms());    /* ha_poll looks */
}

uint64_t appliance_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void appliance_snapshot_counted(struct appliance *a, const struct snapshot *s)
{
    a->generation = s->generation;
    a->maglev_built += s->maglev_built;
    a->maglev_reused += s->maglev_reused;
    a->routes_reused += s->routes_reused;
    a->routes_built += !s->routes_reused;
}
