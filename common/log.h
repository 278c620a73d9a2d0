/*
 * log: leveled logging for the control side and start-up.
 *
 * Never called per packet: the dataplane counts instead. Each module declares its
 * own log type name; the level is checked before any formatting happens.
 */
#ifndef LBD_LOG_H
#define LBD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern enum log_level log_threshold;

void log_set_level(enum log_level lvl);

/*
 * Log lines for the systemd journal: when standard error is the journal's stream
 * ($JOURNAL_STREAM names its device and inode, as systemd sets it for a service with
 * StandardError=journal), each line starts with its syslog priority ("<3>" err, "<4>"
 * warn, "<6>" info, "<7>" debug), which the journal takes as the line's level, and
 * carries no timestamp of its own (the journal has one). Otherwise lines are as
 * before: "2026-01-01T12:00:00.000 lbd warn main: ...". Returns whether it is on.
 * Start-up calls it once, before logging.
 */
bool log_detect_journal(void);
/* Parses "err", "warn", "info", "debug"; returns 0 or LBD_EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
void log_write(enum log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG(lvl, module, ...)                                                  \
    do {                                                                       \
        if ((lvl) <= log_threshold)                                            \
            log_write((lvl), (module), __VA_ARGS__);                           \
    } while (0)

#define LOG_ERR(m, ...) LOG(LOG_LVL_ERR, m, __VA_ARGS__)
#define LOG_WARN(m, ...) LOG(LOG_LVL_WARN, m, __VA_ARGS__)
#define LOG_INFO(m, ...) LOG(LOG_LVL_INFO, m, __VA_ARGS__)
#define LOG_DEBUG(m, ...) LOG(LOG_LVL_DEBUG, m, __VA_ARGS__)

/*
 * A line about something that may repeat at any rate (a flood): at most one per
 * interval, saying how many occurrences it stands for. Zeroed: nothing logged yet.
 *   log_limit_hit: one occurrence at now_ms; true when a line is due now, with *n the
 *     occurrences it reports (this one and those held back since the last line).
 *   log_limit_due: true when occurrences were held back and a line is due (the
 *     interval passed), with *n as above: the summary even when no new one comes.
 */
struct log_limit {
    uint64_t last_ms;       /* when the last line was due */
    uint64_t pending;       /* occurrences not reported yet */
    bool logged;            /* a line was due before */
};

bool log_limit_hit(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *n);
bool log_limit_due(struct log_limit *l, uint64_t now_ms, uint64_t interval_ms, uint64_t *n);

#endif
