#include "appliance.h"

#include <time.h>

#include "health.h"
#include "log.h"
#include "reconfig.h"

void appliance_worker_msg(struct appliance *a, const struct ctl_msg *msg)
{
    if (a->health != NULL && health_on_msg(a->health, a->cfg, msg, appliance_now_ms()))
        a->health_changed = true;
}

void appliance_publish_health(struct appliance *a)
{
    char err[256];

    if (!a->health_changed)
        return;
    /* On failure the flag stays, so the next iteration tries again. */
    if (reconfig_publish(a, err, sizeof(err)) != 0)
        LOG_ERR("health", "cannot publish the health change: %s", err);
}

uint64_t appliance_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}
