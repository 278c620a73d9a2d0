#include "syslog_out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

void syslog_out_init(struct syslog_out *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}

void syslog_out_close(struct syslog_out *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

int syslog_out_facility(enum cfg_log_facility f)
{
    static const int codes[] = {
        [CFG_LOG_LOCAL0] = LOG_LOCAL0, [CFG_LOG_LOCAL1] = LOG_LOCAL1,
        [CFG_LOG_LOCAL2] = LOG_LOCAL2, [CFG_LOG_LOCAL3] = LOG_LOCAL3,
        [CFG_LOG_LOCAL4] = LOG_LOCAL4, [CFG_LOG_LOCAL5] = LOG_LOCAL5,
        [CFG_LOG_LOCAL6] = LOG_LOCAL6, [CFG_LOG_LOCAL7] = LOG_LOCAL7,
        [CFG_LOG_USER] = LOG_USER,     [CFG_LOG_DAEMON] = LOG_DAEMON,
    };

    return (unsigned)f < sizeof(codes) / sizeof(codes[0]) ? codes[f] : LOG_LOCAL0;
}

/* Connects to path (non-blocking datagram socket). 0, or an LBD_E*. */
static int syslog_out_connect(struct syslog_out *s, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path))
        return LBD_EINVAL;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return LBD_EIO;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        return e == ENOENT || e == ECONNREFUSED ? LBD_ENOENT : LBD_EIO;
    }
    s->fd = fd;
    snprintf(s->path, sizeof(s->path), "%s", path);
    return 0;
}

int syslog_out_send(struct syslog_out *s, const char *path, int facility, const char *line,
                    size_t len, uint64_t now_ms)
{
    char msg[64 + 1024];
    struct tm tm;
    time_t t = time(NULL);
    int n, rc;

    if (s->fd >= 0 && strcmp(s->path, path) != 0)
        syslog_out_close(s);    /* the config names another socket now */
    if (s->fd < 0) {
        if (now_ms < s->next_try_ms) {
            s->dropped++;
            return LBD_ENOENT;
        }
        s->next_try_ms = now_ms + SYSLOG_OUT_RETRY_MS;
        rc = syslog_out_connect(s, path);
        if (rc != 0) {
            s->dropped++;
            return rc;
        }
    }
    localtime_r(&t, &tm);
    n = snprintf(msg, sizeof(msg), "<%d>", facility | LOG_INFO);
    n += (int)strftime(msg + n, sizeof(msg) - (size_t)n, "%b %e %H:%M:%S ", &tm);
    n += snprintf(msg + n, sizeof(msg) - (size_t)n, "lbd[%d]: %.*s", (int)getpid(), (int)len,
                  line);
    if (n >= (int)sizeof(msg))
        n = (int)sizeof(msg) - 1;
    if (send(s->fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n) {
        s->sent++;
        return 0;
    }
    s->dropped++;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
        return LBD_EBUSY;
    /* The daemon went (restarted, or the socket was replaced): connect again later. */
    syslog_out_close(s);
    return LBD_EIO;
}
