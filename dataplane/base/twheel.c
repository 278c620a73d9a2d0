/*
 * twheel: hierarchical timer wheel (Varghese and Lauck's scheme 7, cascading).
 *
 * Level k holds timers due between 2^(8k) and 2^(8(k+1)) ms after the first tick
 * not yet run ("base"), in slot (expires >> 8k) & 255. When the clock crosses a
 * multiple of 2^(8k), the level-k slot it lands on is re-placed against the new
 * base, which moves its timers to a lower level: a level-k slot is reached exactly
 * at the start of the 2^(8k)-ms span its timers expire in, never a lap early or late.
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
    twheel_place(tw, t, tw->now + 1);
}

void twheel_cancel(struct twheel *tw, struct twheel_timer *t)
{
    if (t->pprev == NULL)
        return;
    twheel_unlink(t);
    tw->pending--;
}

/* Re-places every timer of one slot of a higher level against base. */
static void twheel_cascade(struct twheel *tw, unsigned level, uint64_t base)
{
    struct twheel_timer **slot =
        &tw->slots[level][(base >> (TWHEEL_SLOT_BITS * level)) & (TWHEEL_SLOTS - 1)];
    struct twheel_timer *list = *slot;

    *slot = NULL;
    while (list != NULL) {
        struct twheel_timer *t = list;
        list = t->next;
        twheel_place(tw, t, base);
    }
}

unsigned twheel_advance(struct twheel *tw, uint64_t now_ms)
{
    unsigned ran = 0;

    while (tw->now < now_ms) {
        uint64_t t = tw->now + 1;
        struct twheel_timer *run;

        if (tw->pending == 0) {
            tw->now = now_ms;
            break;
        }
        if ((t & (TWHEEL_SLOTS - 1)) == 0) {
            /* Highest level first, so that what it moves down is cascaded again. */
            unsigned top = 1;
            while (top < TWHEEL_LEVELS - 1 &&
                   (t & ((1ull << (TWHEEL_SLOT_BITS * (top + 1))) - 1)) == 0)
                top++;
            for (unsigned level = top; level >= 1; level--)
                twheel_cascade(tw, level, t);
        }
        /* Move the due slot to a local head, so callbacks may cancel any of its timers. */
        run = tw->slots[0][t & (TWHEEL_SLOTS - 1)];
        tw->slots[0][t & (TWHEEL_SLOTS - 1)] = NULL;
        if (run != NULL)
            run->pprev = &run;
        tw->now = t;
        while (run != NULL) {
            struct twheel_timer *x = run;
            twheel_unlink(x);
            tw->pending--;
            ran++;
            x->fn(x, t);
        }
    }
    tw->fired += ran;
    return ran;
}
