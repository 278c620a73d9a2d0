#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "base/twheel.h"

#define N_TIMERS 20000

struct probe {
    struct twheel_timer t;
    uint64_t want;          /* expiry asked for */
    uint64_t fired_at;      /* tick it ran in, 0 = not yet */
    int fired;
};

static struct twheel tw;
static struct probe probes[N_TIMERS];

static void on_probe(struct twheel_timer *t, uint64_t now)
{
    struct probe *p = (struct probe *)t;
    p->fired++;
    p->fired_at = now;
}

Test(twheel, fires_in_its_own_tick_never_early)
{
    uint64_t start = 1000000, now;

    srand(7);
    twheel_init(&tw, start);
    for (int i = 0; i < N_TIMERS; i++) {
        /* Spread over every level: ms, seconds, hours, weeks. */
        uint64_t span = (uint64_t[]){200, 70000, 20000000, 3000000000ull}[i % 4];
        twheel_timer_init(&probes[i].t, on_probe);
        probes[i].want = start + 1 + (uint64_t)rand() % span;
        twheel_arm(&tw, &probes[i].t, probes[i].want);
    }
    cr_assert_eq(tw.pending, N_TIMERS);
    /* Advance in uneven steps (1 ms to 97 s) and check every probe at every stop. */
    now = start;
    while (tw.pending > 0) {
        uint64_t step = (uint64_t[]){1, 7, 250, 97000, 3600000}[rand() % 5];
        now += step;
        twheel_advance(&tw, now);
        cr_assert_eq(twheel_now(&tw), now);
        if ((rand() % 64) != 0)
            continue;
        for (int i = 0; i < N_TIMERS; i++) {
            if (probes[i].want <= now)
                cr_assert_eq(probes[i].fired, 1, "timer %d due %lu not fired at %lu", i,
                             probes[i].want, now);
            else
                cr_assert_eq(probes[i].fired, 0, "timer %d due %lu fired early at %lu", i,
                             probes[i].want, probes[i].fired_at);
        }
    }
    for (int i = 0; i < N_TIMERS; i++) {
        cr_assert_eq(probes[i].fired, 1);
        cr_assert_geq(probes[i].fired_at, probes[i].want);
    }
}

Test(twheel, exact_tick_when_advanced_every_ms)
{
    uint64_t want[] = {1, 2, 255, 256, 257, 511, 512, 65535, 65536, 65537, 70001, 16777216,
                       16777217};
    size_t n = sizeof(want) / sizeof(want[0]);

    twheel_init(&tw, 0);
    for (size_t i = 0; i < n; i++) {
        twheel_timer_init(&probes[i].t, on_probe);
        probes[i].want = want[i];
        twheel_arm(&tw, &probes[i].t, want[i]);
    }
    for (uint64_t now = 1; now <= 16777300; now++)
        twheel_advance(&tw, now);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(probes[i].fired_at, want[i], "want %lu got %lu", want[i],
                     probes[i].fired_at);
}

Test(twheel, past_expiry_fires_on_next_advance)
{
    twheel_init(&tw, 5000);
    twheel_timer_init(&probes[0].t, on_probe);
    twheel_arm(&tw, &probes[0].t, 10);
    cr_assert(twheel_pending(&probes[0].t));
    cr_assert_eq(twheel_advance(&tw, 5001), 1);
    cr_assert_eq(probes[0].fired_at, 5001);
    cr_assert_not(twheel_pending(&probes[0].t));
}

Test(twheel, cancel_and_rearm)
{
    memset(probes, 0, sizeof(probes));
    twheel_init(&tw, 0);
    twheel_timer_init(&probes[0].t, on_probe);
    twheel_timer_init(&probes[1].t, on_probe);
    twheel_arm(&tw, &probes[0].t, 100);
    twheel_arm(&tw, &probes[1].t, 100);
    twheel_cancel(&tw, &probes[0].t);
    twheel_cancel(&tw, &probes[0].t); /* twice is harmless */
    twheel_arm(&tw, &probes[1].t, 300000); /* re-arm moves it */
    cr_assert_eq(tw.pending, 1);
    twheel_advance(&tw, 299999);
    cr_assert_eq(probes[0].fired + probes[1].fired, 0);
    twheel_advance(&tw, 300000);
    cr_assert_eq(probes[1].fired, 1);
    cr_assert_eq(probes[0].fired, 0);
    cr_assert_eq(tw.pending, 0);
}

/* A callback that cancels its slot neighbour and re-arms itself (as a lazily
 * refreshed idle timer does). */
static struct probe *victim;
static void on_cancel_other(struct twheel_timer *t, uint64_t now)
{
    struct probe *p = (struct probe *)t;
    p->fired++;
    twheel_cancel(&tw, &victim->t);
    if (p->fired < 3)
        twheel_arm(&tw, t, now + 1000);
}

Test(twheel, callback_cancels_neighbour_and_rearms_itself)
{
    memset(probes, 0, sizeof(probes));
    twheel_init(&tw, 0);
    twheel_timer_init(&probes[0].t, on_cancel_other);
    twheel_timer_init(&probes[1].t, on_probe);
    victim = &probes[1];
    /* Same tick: whichever runs first, the victim must not run after being cancelled
     * by the other (if it ran first it counts once, which is allowed). */
    twheel_arm(&tw, &probes[1].t, 50);
    twheel_arm(&tw, &probes[0].t, 50);
    twheel_advance(&tw, 10000);
    cr_assert_eq(probes[0].fired, 3);
    cr_assert_leq(probes[1].fired, 1);
    cr_assert_eq(tw.pending, 0);
}
