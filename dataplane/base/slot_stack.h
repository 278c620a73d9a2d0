/*
 * slot_stack: the free slots of a preallocated pool, as a stack of indexes.
 *
 * The connection and persistence tables take their entries from pools allocated at
 * set-up; this is their free list: O(1) take and give back, no allocation after
 * init. A table peeks at the next slot (slot_stack_top), tries to index it, and only
 * then takes it (slot_stack_pop), so a failed insert costs nothing. Owning worker
 * only, but for slot_stack_used, which the control core may read (a racy read of one
 * word, for statistics).
 */
#ifndef LBD_SLOT_STACK_H
#define LBD_SLOT_STACK_H

#include <stdbool.h>
#include <stdint.h>

struct slot_stack {
    uint32_t *idx;          /* idx[0..n_free) are free */
    uint32_t n_free;
    uint32_t capacity;
};

/* Set-up: every one of capacity slots free (taken lowest first). 0 or LBD_ENOMEM. */
int slot_stack_init(struct slot_stack *s, const char *name, uint32_t capacity, int socket);
void slot_stack_fini(struct slot_stack *s);

static inline bool slot_stack_empty(const struct slot_stack *s)
{
    return s->n_free == 0;
}

/* The slot slot_stack_pop would take; the stack must not be empty. */
static inline uint32_t slot_stack_top(const struct slot_stack *s)
{
    return s->idx[s->n_free - 1];
}

static inline void slot_stack_pop(struct slot_stack *s)
{
    s->n_free--;
}

static inline void slot_stack_push(struct slot_stack *s, uint32_t slot)
{
    s->idx[s->n_free++] = slot;
}

/* Slots in use. */
static inline uint32_t slot_stack_used(const struct slot_stack *s)
{
    return s->capacity - __atomic_load_n(&s->n_free, __ATOMIC_RELAXED);
}

#endif
