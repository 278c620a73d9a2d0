#include "txlog_tail.h"

#include <stdlib.h>
#include <string.h>

struct txlog_tail {
    uint32_t n;
    size_t line_max;
    uint64_t last;              /* sequence number of the newest line; 0: none */
    char *buf;                  /* n lines of line_max + 1 bytes; seq s at (s - 1) % n */
};

struct txlog_tail *txlog_tail_create(uint32_t n, size_t line_max)
{
    struct txlog_tail *t;

    if (n == 0 || line_max == 0)
        return NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->buf = calloc(n, line_max + 1);
    if (t->buf == NULL) {
        free(t);
        return NULL;
    }
    t->n = n;
    t->line_max = line_max;
    return t;
}

void txlog_tail_free(struct txlog_tail *t)
{
    if (t == NULL)
        return;
    free(t->buf);
    free(t);
}

static char *slot(const struct txlog_tail *t, uint64_t seq)
{
    return t->buf + ((seq - 1) % t->n) * (t->line_max + 1);
}

uint64_t txlog_tail_push(struct txlog_tail *t, const char *line, size_t len)
{
    char *p;

    if (len > t->line_max)
        len = t->line_max;
    t->last++;
    p = slot(t, t->last);
    memcpy(p, line, len);
    p[len] = '\0';
    return t->last;
}

uint64_t txlog_tail_last(const struct txlog_tail *t)
{
    return t->last;
}

uint64_t txlog_tail_first(const struct txlog_tail *t)
{
    if (t->last == 0)
        return 0;
    return t->last > t->n ? t->last - t->n + 1 : 1;
}

uint64_t txlog_tail_read(const struct txlog_tail *t, uint64_t after, uint32_t max,
                         void (*fn)(void *arg, uint64_t seq, const char *line), void *arg,
                         uint64_t *next)
{
    uint64_t first = txlog_tail_first(t), missed = 0, seq;

    if (after > t->last)
        after = t->last;        /* a cursor from before a restart: from now on */
    seq = after + 1;
    if (first != 0 && seq < first) {
        missed = first - seq;
        seq = first;
    }
    for (uint32_t i = 0; i < max && seq <= t->last; i++, seq++)
        fn(arg, seq, slot(t, seq));
    *next = seq - 1;
    return missed;
}
