/* Traffic log lines to a syslog socket without blocking (control/syslog_out.h). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "err.h"
#include "syslog_out.h"

static char path[64];

/* A syslog daemon's socket at path that reads nothing unless asked. */
static int listener(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0), small = 4096;

    cr_assert_geq(fd, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    return fd;
}

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/lbd-syslog-test-%d", (int)getpid());
}

static void teardown(void)
{
    unlink(path);
}

TestSuite(syslog_out, .init = setup, .fini = teardown);

Test(syslog_out, a_line_is_one_datagram_with_priority_time_ident_and_pid)
{
    struct syslog_out s;
    char buf[2048], want[64];
    int fd = listener();
    ssize_t n;

    syslog_out_init(&s);
    cr_assert_eq(syslog_out_send(&s, path, syslog_out_facility(CFG_LOG_LOCAL3), "hello x", 7, 0),
                 0);
    n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    cr_assert_gt(n, 0);
    buf[n] = '\0';
    /* <PRI>: local3 (19 * 8) + info (6) = 158. */
    cr_assert(strncmp(buf, "<158>", 5) == 0, "%s", buf);
    snprintf(want, sizeof(want), " lbd[%d]: hello x", (int)getpid());
    cr_assert(strstr(buf, want) != NULL && buf[n - 1] == 'x', "%s", buf);
    cr_assert_eq(s.sent, 1);
    syslog_out_close(&s);
    close(fd);
}

Test(syslog_out, a_full_socket_drops_and_counts_never_blocks)
{
    struct syslog_out s;
    char line[900];
    int fd = listener(), busy = 0;

    memset(line, 'a', sizeof(line));
    syslog_out_init(&s);
    /* Nobody reads: the socket fills; every send returns at once. */
    for (int i = 0; i < 2000; i++)
        if (syslog_out_send(&s, path, LOG_LOCAL0, line, sizeof(line), 0) == LBD_EBUSY)
            busy++;
    cr_assert_gt(busy, 0, "the socket filled up");
    cr_assert_eq(s.sent + s.dropped, 2000);
    cr_assert_eq(s.dropped, (uint64_t)busy);
    syslog_out_close(&s);
    close(fd);
}

Test(syslog_out, no_socket_is_counted_and_tried_again_a_second_later)
{
    struct syslog_out s;
    int fd;

    syslog_out_init(&s);
    cr_assert_eq(syslog_out_send(&s, path, LOG_LOCAL0, "a", 1, 1000), LBD_ENOENT);
    fd = listener();
    /* Within the second: not tried again. */
    cr_assert_eq(syslog_out_send(&s, path, LOG_LOCAL0, "b", 1, 1500), LBD_ENOENT);
    cr_assert_eq(s.dropped, 2);
    cr_assert_eq(syslog_out_send(&s, path, LOG_LOCAL0, "c", 1, 2000), 0);
    cr_assert_eq(s.sent, 1);
    syslog_out_close(&s);
    close(fd);
}
