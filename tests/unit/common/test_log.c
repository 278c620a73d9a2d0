/*
 * log (common/log.h): under systemd (standard error is the stream $JOURNAL_STREAM
 * names) every line starts with its syslog priority so that the journal keeps the
 * level, and carries no timestamp; anywhere else (another stream named, none) lines
 * keep their timestamp and no prefix. The threshold applies either way.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char path[] = "/tmp/lbd-log-test-XXXXXX";

static void setup(void)
{
    int fd = mkstemp(path);

    cr_assert(fd >= 0);
    close(fd);
    cr_assert_not_null(freopen(path, "w", stderr));
    setvbuf(stderr, NULL, _IONBF, 0);
}

static void teardown(void)
{
    unlink(path);
}

/* Names stderr's device and inode (or a wrong inode) in $JOURNAL_STREAM. */
static void set_stream(long ino_delta)
{
    struct stat st;
    char v[64];

    cr_assert_eq(fstat(fileno(stderr), &st), 0);
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino + (unsigned long long)ino_delta);
    cr_assert_eq(setenv("JOURNAL_STREAM", v, 1), 0);
}

static void read_log(char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n;

    cr_assert_not_null(f);
    n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
    fclose(f);
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, journal_lines_carry_the_syslog_priority)
{
    char out[1024];

    set_stream(0);
    cr_assert(log_detect_journal());
    log_set_level(LOG_LVL_INFO);
    LOG_ERR("main", "e %d", 1);
    LOG_WARN("port", "w %d", 2);
    LOG_INFO("ha", "i %d", 3);
    LOG_DEBUG("ha", "not shown");
    log_set_level(LOG_LVL_DEBUG);
    LOG_DEBUG("tls", "d %d", 4);
    read_log(out, sizeof(out));
    cr_assert_str_eq(out, "<3>err main: e 1\n<4>warn port: w 2\n<6>info ha: i 3\n"
                          "<7>debug tls: d 4\n");
}

Test(log, another_stream_keeps_the_timestamped_lines)
{
    char out[1024];

    set_stream(1);
    cr_assert_not(log_detect_journal());
    log_set_level(LOG_LVL_INFO);
    LOG_WARN("main", "w");
    read_log(out, sizeof(out));
    cr_assert_eq(out[0] >= '1' && out[0] <= '9', true, "%s", out);
    cr_assert(strstr(out, " lbd warn main: w\n") != NULL, "%s", out);
    cr_assert(strchr(out, '<') == NULL, "%s", out);
}

Test(log, no_journal_stream_keeps_the_timestamped_lines)
{
    char out[1024];

    unsetenv("JOURNAL_STREAM");
    cr_assert_not(log_detect_journal());
    LOG_ERR("main", "e");
    read_log(out, sizeof(out));
    cr_assert(strstr(out, " lbd err main: e\n") != NULL, "%s", out);
    cr_assert(out[0] != '<', "%s", out);
}
