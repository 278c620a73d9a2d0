/*
 * syslog_out: traffic log lines to the host's syslog socket (/dev/log: journald or
 * rsyslog), without ever blocking the control core. syslog(3) sends on a blocking
 * socket: a journal that falls behind would stall the control loop (API, health
 * checks, HA adverts). This sends each line as one datagram in the syslog format the
 * local socket takes ("<PRI>Mmm dd hh:mm:ss lbd[PID]: line") on a non-blocking socket;
 * a line the socket does not take at once is dropped and counted. With no socket there
 * (no syslog daemon), lines are dropped and counted too, and the socket is tried again
 * at most once a second.
 *
 * Control core only.
 */
#ifndef LBD_SYSLOG_OUT_H
#define LBD_SYSLOG_OUT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SYSLOG_OUT_RETRY_MS 1000

struct syslog_out {
    int fd;                         /* -1: not connected */
    char path[CFG_PATH_MAX];        /* the socket it is (to be) connected to */
    uint64_t next_try_ms;           /* no connect attempt before this */
    uint64_t sent;
    uint64_t dropped;               /* not taken at once, or no socket */
};

void syslog_out_init(struct syslog_out *s);
void syslog_out_close(struct syslog_out *s);

/* The syslog facility code (LOG_LOCAL0, ...) of f. */
int syslog_out_facility(enum cfg_log_facility f);

/*
 * Sends line (len bytes, no newline) to the socket at path with facility (a LOG_*
 * facility code) and priority info, now_ms the control core's clock. Returns 0 when
 * the socket took it, else LBD_EBUSY (full), LBD_ENOENT (no socket there) or LBD_EIO;
 * every failure is counted in dropped.
 */
int syslog_out_send(struct syslog_out *s, const char *path, int facility, const char *line,
                    size_t len, uint64_t now_ms);

#endif
