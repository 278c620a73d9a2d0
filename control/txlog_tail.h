/*
 * txlog_tail: the last N traffic log lines, in a fixed ring, for the API's "logs"
 * command (lbctl logs): each line has a sequence number (1, 2, ...), and a reader
 * asks for the lines after the last one it saw. The oldest line is overwritten when
 * the ring is full; a reader that fell behind is told how many it missed.
 *
 * Control core only; all memory is taken at creation.
 */
#ifndef LBD_TXLOG_TAIL_H
#define LBD_TXLOG_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TXLOG_TAIL_LINES 4096       /* lines the API can give back */

struct txlog_tail;

/* A tail of n lines (1 or more), each up to line_max bytes (longer ones are cut);
 * NULL when out of memory. */
struct txlog_tail *txlog_tail_create(uint32_t n, size_t line_max);
void txlog_tail_free(struct txlog_tail *t);

/* Appends line[0..len); returns its sequence number. */
uint64_t txlog_tail_push(struct txlog_tail *t, const char *line, size_t len);

/* The newest sequence number (0: none yet) and the oldest still kept (0: none). */
uint64_t txlog_tail_last(const struct txlog_tail *t);
uint64_t txlog_tail_first(const struct txlog_tail *t);

/*
 * Calls fn(arg, seq, line) for up to max lines after sequence number `after`, oldest
 * first. Returns the number of lines the reader missed (overwritten since `after`),
 * 0 when it missed none; *next is the sequence number to ask after next time.
 */
uint64_t txlog_tail_read(const struct txlog_tail *t, uint64_t after, uint32_t max,
                         void (*fn)(void *arg, uint64_t seq, const char *line), void *arg,
                         uint64_t *next);

#endif
