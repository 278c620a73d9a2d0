#include "log.h"

#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_LVL_INFO;

static const char *const level_names[] = {"err", "warn", "info", "debug"};
/* syslog(3) priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int level_prio[] = {3, 4, 6, 7};
static bool log_journal;

bool log_detect_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    log_journal = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
                  fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
                  (unsigned long long)st.st_ino == ino;
    return log_journal;
}

void log_set_level(enum log_level lvl)
{
    log_threshold = lvl;
}

int log_level_parse(const char *s, enum log_level *out)
{
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return LBD_EINVAL;
}

void log_write(enum log_level lvl, const char *module, const char *fmt, ...)
{
    char ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    flockfile(stderr);
    if (log_journal) {
        fprintf(stderr, "<%d>%s %s: ", level_prio[lvl], level_names[lvl], module);
    } else {
        clock_gettime(CLOCK_REALTIME, &now);
        localtime_r(&now.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ld lbd %s %s: ", ts, now.tv_nsec / 1000000, level_names[lvl],
                module);
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}

bool log_limit_due(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *n)
{
    if (l->pending == 0 || (l->logged && now_ms - l->last_ms < interval_ms))
        return false;
    *n = l->pending;
    l->pending = 0;
    l->last_ms = now_ms;
    l->logged = true;
    return true;
}

bool log_limit_hit(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *n)
{
    l->pending++;
    return log_limit_due(l, now_ms, interval_ms, n);
}
