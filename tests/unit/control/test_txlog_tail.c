/* The traffic log's tail for the API (control/txlog_tail.h). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "txlog_tail.h"

struct got {
    char lines[16][64];
    uint64_t seqs[16];
    unsigned n;
};

static void take(void *arg, uint64_t seq, const char *line)
{
    struct got *g = arg;

    cr_assert_lt(g->n, 16);
    snprintf(g->lines[g->n], sizeof(g->lines[0]), "%s", line);
    g->seqs[g->n++] = seq;
}

static void push(struct txlog_tail *t, unsigned i)
{
    char line[32];
    int n = snprintf(line, sizeof(line), "line %u", i);

    cr_assert_eq(txlog_tail_push(t, line, (size_t)n), i);
}

Test(txlog_tail, lines_after_a_cursor_in_order)
{
    struct txlog_tail *t = txlog_tail_create(8, 32);
    struct got g = {0};
    uint64_t next;

    cr_assert_not_null(t);
    cr_assert_eq(txlog_tail_read(t, 0, 10, take, &g, &next), 0);
    cr_assert_eq(g.n, 0);
    cr_assert_eq(next, 0);
    for (unsigned i = 1; i <= 5; i++)
        push(t, i);
    cr_assert_eq(txlog_tail_read(t, 2, 10, take, &g, &next), 0);
    cr_assert_eq(g.n, 3);
    cr_assert_str_eq(g.lines[0], "line 3");
    cr_assert_str_eq(g.lines[2], "line 5");
    cr_assert_eq(next, 5);
    memset(&g, 0, sizeof(g));
    cr_assert_eq(txlog_tail_read(t, next, 10, take, &g, &next), 0);
    cr_assert_eq(g.n, 0, "nothing new");
    cr_assert_eq(next, 5);
    /* max bounds one read; the cursor says where the next one starts. */
    cr_assert_eq(txlog_tail_read(t, 0, 2, take, &g, &next), 0);
    cr_assert_eq(g.n, 2);
    cr_assert_eq(next, 2);
    txlog_tail_free(t);
}

Test(txlog_tail, a_reader_that_fell_behind_is_told_what_it_missed)
{
    struct txlog_tail *t = txlog_tail_create(4, 32);
    struct got g = {0};
    uint64_t next;

    for (unsigned i = 1; i <= 10; i++)
        push(t, i);
    cr_assert_eq(txlog_tail_first(t), 7);
    cr_assert_eq(txlog_tail_last(t), 10);
    cr_assert_eq(txlog_tail_read(t, 3, 10, take, &g, &next), 3, "4, 5, 6 are gone");
    cr_assert_eq(g.n, 4);
    cr_assert_eq(g.seqs[0], 7);
    cr_assert_str_eq(g.lines[3], "line 10");
    cr_assert_eq(next, 10);
    /* A cursor from the future (a daemon restarted): from now on. */
    memset(&g, 0, sizeof(g));
    cr_assert_eq(txlog_tail_read(t, 1000, 10, take, &g, &next), 0);
    cr_assert_eq(g.n, 0);
    cr_assert_eq(next, 10);
    txlog_tail_free(t);
}

Test(txlog_tail, long_lines_are_cut)
{
    struct txlog_tail *t = txlog_tail_create(2, 8);
    struct got g = {0};
    uint64_t next;

    txlog_tail_push(t, "0123456789abcdef", 16);
    txlog_tail_read(t, 0, 1, take, &g, &next);
    cr_assert_str_eq(g.lines[0], "01234567");
    txlog_tail_free(t);
}
