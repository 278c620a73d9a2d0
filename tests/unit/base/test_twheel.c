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

/* ---- the budget per advance ---- */

#define N_BURST 1000000
#define BURST_BUDGET 4096

/* A million timers, and the order they fired in (their index, by firing). */
struct burst_probe {
    struct twheel_timer t;
    uint64_t want;
    uint64_t fired_at;
    uint32_t fired;
};

static struct burst_probe burst[N_BURST];
static uint32_t order_free[N_BURST], order_budget[N_BURST];
static uint32_t *order;
static uint32_t n_order;

static void on_burst(struct twheel_timer *t, uint64_t now)
{
    struct burst_probe *p = (struct burst_probe *)t;

    cr_assert_geq(now, p->want, "fired early: due %lu, run at %lu", p->want, now);
    cr_assert_eq(twheel_now(&tw), now, "the wheel's clock is the tick being run");
    p->fired++;
    p->fired_at = now;
    order[n_order++] = (uint32_t)(p - burst);
}

/* Arms every burst timer at due (in index order) on a wheel started at start. */
static void arm_burst(uint64_t start, uint64_t due)
{
    twheel_init(&tw, start);
    n_order = 0;
    for (uint32_t i = 0; i < N_BURST; i++) {
        twheel_timer_init(&burst[i].t, on_burst);
        burst[i].want = due;
        burst[i].fired = 0;
        burst[i].fired_at = 0;
        twheel_arm(&tw, &burst[i].t, due);
    }
}

Test(twheel, a_million_timers_due_at_once_expire_over_several_calls_in_order)
{
    /* Due 5 s ahead: on level 1, so the cascade that brings them down is budgeted too. */
    uint64_t start = 1000000, due = start + 5000, now = due, last_clock = start;
    unsigned calls = 0, ran;
    uint64_t total = 0;

    /* Without a budget: every one in one call, the reference order. */
    order = order_free;
    arm_burst(start, due);
    cr_assert_eq(twheel_advance(&tw, due), N_BURST);
    cr_assert_eq(tw.budget_hits, 0);
    cr_assert_eq(n_order, N_BURST);

    /* With a budget: many calls, each within it, the clock moving on meanwhile. */
    order = order_budget;
    arm_burst(start, due);
    twheel_set_budget(&tw, BURST_BUDGET);
    while (tw.pending > 0) {
        cr_assert_lt(calls, 4 * N_BURST / BURST_BUDGET, "the backlog does not drain");
        ran = twheel_advance(&tw, now);
        cr_assert_leq(ran, BURST_BUDGET);
        cr_assert_geq(twheel_now(&tw), last_clock, "the clock never goes back");
        cr_assert_leq(twheel_now(&tw), now);
        if (tw.pending > 0) {
            cr_assert(twheel_backlogged(&tw));
            cr_assert_eq(tw.budget_hits, calls + 1, "every call that stopped is counted");
        }
        last_clock = twheel_now(&tw);
        total += ran;
        calls++;
        now += calls % 2;   /* the caller's clock moves on while the backlog drains */
    }
    cr_assert_eq(total, N_BURST);
    /* The cascade (a million moves) and the expiries, BURST_BUDGET at a time. */
    cr_assert_geq(calls, 2 * N_BURST / BURST_BUDGET);
    cr_assert_not(twheel_backlogged(&tw));
    for (uint32_t i = 0; i < N_BURST; i++) {
        cr_assert_eq(burst[i].fired, 1, "timer %u fired %u times", i, burst[i].fired);
        cr_assert_eq(burst[i].fired_at, due, "in its own tick");
    }
    cr_assert_eq(n_order, N_BURST);
    cr_assert_eq(memcmp(order_free, order_budget, sizeof(order_free)), 0,
                 "the same order as without a budget");
    /* Drained: the clock catches up with the caller's. */
    twheel_advance(&tw, now);
    cr_assert_eq(twheel_now(&tw), now);
}

Test(twheel, a_timer_armed_during_a_backlog_waits_its_turn)
{
    uint64_t start = 1000000, due = start + 10;
    enum { N = 10000 };
    struct burst_probe *late, *next, *soon, *far, *cancelled, *moved;

    order = order_budget;
    n_order = 0;
    twheel_init(&tw, start);
    twheel_set_budget(&tw, 1000);
    for (uint32_t i = 0; i < N; i++) {
        twheel_timer_init(&burst[i].t, on_burst);
        burst[i].want = due;
        burst[i].fired = 0;
        twheel_arm(&tw, &burst[i].t, due);
    }
    cr_assert_eq(twheel_advance(&tw, due + 5), 1000);
    cr_assert(twheel_backlogged(&tw));
    cr_assert_eq(twheel_now(&tw), due, "the clock stays at the tick with a backlog");

    /* Arms and changes while the backlog is pending. */
    late = &burst[N];       /* due now: after the backlog of this tick */
    next = &burst[N + 1];   /* the next tick */
    soon = &burst[N + 2];
    far = &burst[N + 3];
    for (struct burst_probe *p = late; p <= far; p++) {
        twheel_timer_init(&p->t, on_burst);
        p->fired = 0;
    }
    late->want = due;
    next->want = due + 1;
    soon->want = due + 3;
    far->want = due + 100;
    for (struct burst_probe *p = late; p <= far; p++)
        twheel_arm(&tw, &p->t, p->want);
    /* One of the backlog is cancelled, another moved later; neither runs now. */
    cancelled = NULL;
    moved = NULL;
    for (uint32_t i = 0; i < N && moved == NULL; i++) {
        if (burst[i].fired != 0)
            continue;
        if (cancelled == NULL) {
            cancelled = &burst[i];
            twheel_cancel(&tw, &cancelled->t);
        } else {
            moved = &burst[i];
            moved->want = due + 50;
            twheel_arm(&tw, &moved->t, moved->want);
        }
    }
    cr_assert_not_null(moved);
    cr_assert_eq(tw.pending, N - 1000 - 1 + 4);

    while (twheel_backlogged(&tw) || twheel_now(&tw) < due + 5)
        twheel_advance(&tw, due + 5);
    cr_assert_eq(twheel_now(&tw), due + 5);
    /* The tick's backlog first, complete, then the ticks after it. */
    cr_assert_eq(n_order, N - 2 + 3);
    for (uint32_t k = 0; k < N - 2; k++)
        cr_assert_eq(burst[order[k]].want, due, "position %u: a timer of the backlog", k);
    cr_assert_eq(late->fired, 1);
    cr_assert_eq(late->fired_at, due + 1, "after the backlog of its tick: the next tick");
    cr_assert_eq(next->fired_at, due + 1);
    cr_assert_eq(soon->fired_at, due + 3);
    cr_assert_eq(far->fired, 0);
    cr_assert_eq(cancelled->fired, 0);
    cr_assert_eq(moved->fired, 0);
    twheel_advance(&tw, due + 100);
    cr_assert_eq(moved->fired_at, due + 50);
    cr_assert_eq(far->fired_at, due + 100);
    cr_assert_eq(cancelled->fired, 0);
    cr_assert_eq(tw.pending, 0);
}
