/*
 * persist_ctl: the worker's side of persist.list and persist.flush.
 *
 * The control core never reads a worker's persistence table; it asks every worker
 * through its control ring. A listing walks the table's pool in slot order and streams
 * one CTL_MSG_PERSIST_ENTRY per matching entry back through the shared worker ->
 * control ring, only while the ring has room, and in each loop iteration at most
 * PERSIST_CTL_BATCH entries sent and PERSIST_CTL_VISIT slots looked at (whether they
 * match, or are in use, or not), so that a table of a million entries neither floods
 * the ring nor stalls the worker, however few entries the filter matches;
 * CTL_MSG_PERSIST_DONE ends it. A flush deletes the matching entries at once and
 * answers DONE with the count. Slow path: worker only.
 */
#ifndef LBD_PERSIST_CTL_H
#define LBD_PERSIST_CTL_H

#include <stdbool.h>
#include <stdint.h>

#define PERSIST_CTL_BATCH 256       /* entries listed per loop iteration at most */
#define PERSIST_CTL_VISIT 4096      /* table slots looked at per loop iteration at most */

struct ctl_msg;
struct lcore_ctx;
struct persist_table;

/* A listing in progress on a worker. */
struct persist_ctl_dump {
    bool active;
    uint32_t req;
    uint32_t pos;                   /* the next pool slot to look at */
    uint32_t client;                /* 0 = every client */
    uint16_t vs_slot;               /* CTL_PERSIST_ANY = every service */
    uint32_t count;                 /* entries sent */
    uint64_t visited;               /* pool slots looked at */
};

/* The worker's side: its context (clock, ring to the control core) and table. */
struct persist_ctl {
    struct lcore_ctx *lc;
    struct persist_table *persist;  /* NULL: no table (nothing listed or flushed) */
    struct persist_ctl_dump dump;
};

/* Set-up. */
void persist_ctl_init(struct persist_ctl *pc, struct lcore_ctx *lc,
                      struct persist_table *persist);

/* Starts a listing or carries out a flush (CTL_MSG_PERSIST_LIST / _FLUSH). */
void persist_ctl_handle(struct persist_ctl *pc, const struct ctl_msg *msg);

/*
 * Continues a listing in progress; cheap when none is. Once per loop iteration.
 * Returns the slots it looked at (0 when idle or the ring is full): work done, so
 * that a listing in progress keeps the worker out of its idle sleep.
 */
unsigned persist_ctl_poll(struct persist_ctl *pc);

#endif
