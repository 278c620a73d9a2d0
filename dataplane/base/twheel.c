/*
 * twheel: hierarchical timer wheel (Varghese and Lauck's scheme 7, cascading).
 *
 * Level k holds timers due between 2^(8k) and 2^(8(k+1)) ms after the first tick
 * not yet entered ("base", now + 1), in slot (expires >> 8k) & 255. When the ticks
 * cross a multiple of 2^(8k), the level-k slot they land on is re-placed against the
 * new base, which moves its timers to a lower level: a level-k slot is reached exactly
 * at the start of the 2^(8k)-ms span its timers expire in, never a lap early or late.
 * The wheel's clock (now) is the last tick entered: behind the caller's time only
 * while a budget leaves a backlog.
 */
#include "base/twheel.h"

#include <string.h>

static void twheel_link(struct twheel_timer **head, struct twheel_timer *t)
{
    t->next = *head;
    if (t->next != NULL)
        t->next->pprev = &t->next;
    t->pprev = head;
    *head = t;
}

static void twheel_unlink(struct twheel_timer *t)
{
    *t->pprev = t->next;
    if (t->next != NULL)
        t->next->pprev = t->pprev;
    t->next = NULL;
    t->pprev = NULL;
}

/* Puts t in the slot for its expiry, base being the first tick not yet run. */
static void twheel_place(struct twheel *tw, struct twheel_timer *t, uint64_t base)
{
    uint64_t e = t->expires < base ? base : t->expires;
    uint64_t d = e - base;
    unsigned level = 0;

    if (d > UINT32_MAX) {
        /* Beyond the top level: park at its farthest slot; re-placed when reached. */
        e = base + UINT32_MAX;
        d = UINT32_MAX;
    }
    while (level < TWHEEL_LEVELS - 1 && d >= (1ull << (TWHEEL_SLOT_BITS * (level + 1))))
        level++;
    twheel_link(&tw->slots[level][(e >> (TWHEEL_SLOT_BITS * level)) & (TWHEEL_SLOTS - 1)], t);
}

void twheel_init(struct twheel *tw, uint64_t now_ms)
{
    memset(tw, 0, sizeof(*tw));
    tw->now = now_ms;
}

void twheel_arm(struct twheel *tw, struct twheel_timer *t, uint64_t expires_ms)
{
    if (t->pprev != NULL)
        twheel_unlink(t);
    else
        tw->pending++;
    t->expires = expires_ms;
    /* Against the next tick to enter, also while a cascade into it is half done: the
     * cascade places its timers against the same base. */
    twheel_place(tw, t, tw->now + 1);
}

void twheel_cancel(struct twheel *tw, struct twheel_timer *t)
{
    if (t->pprev == NULL)
        return;
    twheel_unlink(t);
    tw->pending--;
}

/* Moves the list at *from (a slot) to the list head *to, which must be empty. */
static void twheel_take(struct twheel_timer **to, struct twheel_timer **from)
{
    *to = *from;
    *from = NULL;
    if (*to != NULL)
        (*to)->pprev = to;
}

/*
 * One tick at a time, as a sequence of steps that can stop between any two timer
 * operations and resume on the next call: enter tick t = now + 1 (when t crosses a
 * multiple of 2^(8k), cascade the slots of levels top..1 that t lands on, highest
 * first, so that what one level moves down is cascaded again by the next), then take
 * t's level-0 slot as the due list and run it. Entering and taking cost nothing
 * against the budget; each timer moved or run costs one.
 */
unsigned twheel_advance(struct twheel *tw, uint64_t now_ms)
{
    uint64_t budget = tw->budget != 0 ? tw->budget : UINT64_MAX, work = 0;
    unsigned ran = 0;

    for (;;) {
        struct twheel_timer *x;
        uint64_t t = tw->now + 1;

        if (tw->due != NULL) {
            if (work >= budget)
                goto out_of_budget;
            x = tw->due;
            twheel_unlink(x);
            tw->pending--;
            work++;
            ran++;
            x->fn(x, tw->now);
            continue;
        }
        if (tw->casc != NULL) {
            if (work >= budget)
                goto out_of_budget;
            x = tw->casc;
            twheel_unlink(x);
            work++;
            twheel_place(tw, x, t);
            continue;
        }
        if (tw->casc_next > 0) {
            unsigned level = tw->casc_next--;
            twheel_take(&tw->casc,
                        &tw->slots[level][(t >> (TWHEEL_SLOT_BITS * level)) & (TWHEEL_SLOTS - 1)]);
            continue;
        }
        if (tw->entering) {
            tw->entering = 0;
            twheel_take(&tw->due, &tw->slots[0][t & (TWHEEL_SLOTS - 1)]);
            tw->now = t;
            continue;
        }
        if (tw->now >= now_ms)
            break;
        if (tw->pending == 0) {
            tw->now = now_ms;
            break;
        }
        tw->entering = 1;
        if ((t & (TWHEEL_SLOTS - 1)) == 0) {
            unsigned top = 1;
            while (top < TWHEEL_LEVELS - 1 &&
                   (t & ((1ull << (TWHEEL_SLOT_BITS * (top + 1))) - 1)) == 0)
                top++;
            tw->casc_next = (uint8_t)top;
        }
    }
    tw->fired += ran;
    return ran;

out_of_budget:
    tw->budget_hits++;
    tw->fired += ran;
    return ran;
}
