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
 * time between two advances).
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

/* Called when the timer expires; now is the tick being run (ms). The timer is no
 * longer pending when this runs. */
typedef void (*twheel_fn)(struct twheel_timer *t, uint64_t now);

struct twheel_timer {
    struct twheel_timer *next;
    struct twheel_timer **pprev;    /* NULL when not pending */
    uint64_t expires;               /* ms, on the wheel's clock */
    twheel_fn fn;
};

struct twheel {
    uint64_t now;                   /* last tick run: every timer <= now has fired */
    uint64_t pending;               /* timers armed */
    uint64_t fired;                 /* callbacks run, for statistics */
    struct twheel_timer *slots[TWHEEL_LEVELS][TWHEEL_SLOTS];
};

/* Starts an empty wheel whose clock reads now_ms. */
void twheel_init(struct twheel *tw, uint64_t now_ms);

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
 * before the wheel's clock fires on the next advance.
 */
void twheel_arm(struct twheel *tw, struct twheel_timer *t, uint64_t expires_ms);

/* Cancels t if pending; harmless otherwise. */
void twheel_cancel(struct twheel *tw, struct twheel_timer *t);

/*
 * Moves the clock to now_ms, running every timer that expires on the way in expiry
 * order (timers of the same millisecond in no particular order). Returns the number
 * of callbacks run. A clock that goes backwards is ignored.
 */
unsigned twheel_advance(struct twheel *tw, uint64_t now_ms);

/* The wheel's clock: the last tick run. */
static inline uint64_t twheel_now(const struct twheel *tw)
{
    return tw->now;
}

#endif
