/*
 * twheel: a worker's timer wheel (hierarchical, cascading, 1 ms ticks).
 *
 * Each worker owns one wheel and drives it with its own clock: twheel_advance(now)
 * runs every timer whose expiry is <= now, so tests drive time by hand and the
 * dataplane passes its loop's millisecond clock. Timers are intrusive (embedded in
 * the connection, control block or entry that owns them): arming, re-arming and
 * cancelling are O(1) with no allocation, and a thousand idle connections cost
 * nothing but their slot in a list. Four levels of 256 slots cover 2^32 ms
 * (49 days); a timer is moved down a level at most three times in its life, and
 * fires in the exact millisecond tick it asked for (never early, late only by the
 * time between two advances, or while a backlog drains).
 *
 * Bounded work per advance: with a budget (twheel_set_budget), one twheel_advance
 * runs at most that many timer operations (an expiry, or a timer moved down a level),
 * so that a million connections expiring in one tick cannot stall the worker. What is
 * left waits, in order, for the next calls: the due timers of the tick being run, a
 * cascade half done. The wheel's clock (twheel_now, which is also the TCP stack's)
 * then stays at the tick being run, so that it never passes a timer that has not
 * fired and never goes back, and catches up with now_ms, tick by tick, as the backlog
 * drains; a timer armed meanwhile takes its place among the ticks still to run (never
 * before the backlog of an earlier one). Each call that stopped with work left counts
 * in budget_hits.
 *
 * Single-threaded: a wheel and its timers belong to one worker. A callback may arm,
 * re-arm or cancel any timer of the same wheel, itself included.
 */
#ifndef LBD_TWHEEL_H
#define LBD_TWHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TWHEEL_LEVELS 4
#define TWHEEL_SLOT_BITS 8
#define TWHEEL_SLOTS (1u << TWHEEL_SLOT_BITS)

struct twheel_timer;

/* Called when the timer expires; now is the tick being run (ms, >= the expiry), which
 * is the wheel's clock while it runs. The timer is no longer pending when this runs. */
typedef void (*twheel_fn)(struct twheel_timer *t, uint64_t now);

struct twheel_timer {
    struct twheel_timer *next;
    struct twheel_timer **pprev;    /* NULL when not pending */
    uint64_t expires;               /* ms, on the wheel's clock */
    twheel_fn fn;
};

struct twheel {
    uint64_t now;                   /* the last tick entered: every timer due before it
                                       has fired, those due at it have or are in due */
    uint64_t pending;               /* timers armed (due ones included) */
    uint64_t fired;                 /* callbacks run, for statistics */
    uint64_t budget_hits;           /* advances that stopped with work left */
    uint32_t budget;                /* timer operations per advance; 0 = no limit */
    uint8_t entering;               /* now + 1 is being entered (cascading) */
    uint8_t casc_next;              /* the next level to cascade for it; 0 = none */
    struct twheel_timer *due;       /* due at now, not yet run (in order) */
    struct twheel_timer *casc;      /* being moved down by the cascade in progress */
    struct twheel_timer *slots[TWHEEL_LEVELS][TWHEEL_SLOTS];
};

/* Starts an empty wheel whose clock reads now_ms, with no budget. */
void twheel_init(struct twheel *tw, uint64_t now_ms);

/* At most n timer operations (expiries, cascade moves) per twheel_advance; 0 = no
 * limit. */
static inline void twheel_set_budget(struct twheel *tw, uint32_t n)
{
    tw->budget = n;
}

/* Prepares a timer (not pending) that calls fn when it expires. */
static inline void twheel_timer_init(struct twheel_timer *t, twheel_fn fn)
{
    t->next = NULL;
    t->pprev = NULL;
    t->expires = 0;
    t->fn = fn;
}

static inline bool twheel_pending(const struct twheel_timer *t)
{
    return t->pprev != NULL;
}

/*
 * Arms t to fire at expires_ms (cancelling it first if pending). An expiry at or
 * before the last tick entered fires in the next tick, after any backlog.
 */
void twheel_arm(struct twheel *tw, struct twheel_timer *t, uint64_t expires_ms);

/* Cancels t if pending; harmless otherwise. */
void twheel_cancel(struct twheel *tw, struct twheel_timer *t);

/*
 * Moves the clock towards now_ms, running the timers that expire on the way in
 * expiry order (timers of the same millisecond in the order of their slot, the same
 * with or without a budget): all the way, or as far as the budget allows, the rest
 * left for the next calls. Returns the number of callbacks run. A clock that goes
 * backwards is ignored.
 */
unsigned twheel_advance(struct twheel *tw, uint64_t now_ms);

/* The wheel's clock: the tick being run, or the last one entered (the time advanced
 * to, unless a backlog is pending). */
static inline uint64_t twheel_now(const struct twheel *tw)
{
    return tw->now;
}

/* True when the last advance stopped on its budget with work left. */
static inline bool twheel_backlogged(const struct twheel *tw)
{
    return tw->due != NULL || tw->casc != NULL;
}

#endif
