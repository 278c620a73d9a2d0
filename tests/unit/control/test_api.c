#include <criterion/criterion.h>

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_cmd.h"
#include "api_proto.h"
#include "api_server.h"

static char sock_path[108];
static char sock_dir[64];
static struct api_server *srv;

#define BIG_REPLY (3u * API_MAX_PENDING_OUT)

/* Handler for framing tests: answers {"ok":true,"result":"<the line>"}; "big" gets a
 * result of BIG_REPLY bytes (a reply larger than the cap on unread output). */
static char *echo_handler(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    if (strcmp(line, "big") == 0) {
        char *r = malloc(BIG_REPLY + 1);
        cJSON *s;
        memset(r, 'b', BIG_REPLY);
        r[BIG_REPLY] = '\0';
        s = cJSON_CreateString(r);
        free(r);
        return api_reply_ok(s);
    }
    return api_reply_ok(cJSON_CreateString(line));
}

static void setup(void)
{
    char err[256];
    snprintf(sock_dir, sizeof(sock_dir), "/tmp/lbd-test-api-XXXXXX");
    cr_assert_not_null(mkdtemp(sock_dir));
    snprintf(sock_path, sizeof(sock_path), "%s/sub/api.sock", sock_dir);
    cr_assert_eq(api_server_open(sock_path, echo_handler, NULL, &srv, err, sizeof(err)), 0,
                 "%s", err);
}

static void teardown(void)
{
    char sub[128];
    api_server_close(srv);
    snprintf(sub, sizeof(sub), "%s/sub", sock_dir);
    rmdir(sub);
    rmdir(sock_dir);
}

static int client(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    api_server_poll(srv, 0); /* accept */
    return fd;
}

static void send_str(int fd, const char *s)
{
    cr_assert_eq(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Serves until one reply line arrives on fd; returns it parsed. */
static cJSON *reply(int fd)
{
    static char buf[1 << 16];
    static size_t have;
    for (int i = 0; i < 200; i++) {
        char *nl = memchr(buf, '\n', have);
        if (nl != NULL) {
            cJSON *j = cJSON_ParseWithLength(buf, (size_t)(nl - buf));
            size_t used = (size_t)(nl - buf) + 1;
            memmove(buf, buf + used, have - used);
            have -= used;
            cr_assert_not_null(j);
            return j;
        }
        api_server_poll(srv, 10);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) > 0) {
            ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
            if (r > 0)
                have += (size_t)r;
        }
    }
    cr_assert_fail("no reply");
    return NULL;
}

static void expect_echo(int fd, const char *want)
{
    cJSON *j = reply(fd);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
    cr_assert_str_eq(cJSON_GetObjectItem(j, "result")->valuestring, want);
    cJSON_Delete(j);
}

static void expect_error(int fd, const char *code)
{
    cJSON *j = reply(fd);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring,
                     code);
    cJSON_Delete(j);
}

TestSuite(api_server, .init = setup, .fini = teardown);

Test(api_server, socket_is_owner_only)
{
    struct stat st;
    cr_assert_eq(stat(sock_path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
}

Test(api_server, lines_in_order_split_and_joined)
{
    int fd = client();
    send_str(fd, "one\ntwo\nthr");
    expect_echo(fd, "one");
    expect_echo(fd, "two");
    send_str(fd, "ee\r\n\n\nfour\n");
    expect_echo(fd, "three");
    expect_echo(fd, "four");
    close(fd);
}

Test(api_server, oversized_line_gets_too_big_and_connection_survives)
{
    int fd = client();
    size_t n = API_MAX_REQUEST + 4096;
    char *big = malloc(n);
    size_t sent = 0;
    memset(big, 'x', n);
    while (sent < n) {
        ssize_t w = send(fd, big + sent, n - sent, MSG_DONTWAIT);
        if (w > 0)
            sent += (size_t)w;
        api_server_poll(srv, 1);
    }
    free(big);
    send_str(fd, "tail-of-big\nafter\n");
    expect_error(fd, API_CODE_TOO_BIG);
    expect_echo(fd, "after");
    close(fd);
}

Test(api_server, last_line_without_newline_is_answered)
{
    int fd = client();
    send_str(fd, "no-newline");
    shutdown(fd, SHUT_WR);
    expect_echo(fd, "no-newline");
    close(fd);
}

Test(api_server, live_socket_is_not_stolen_and_stale_one_is_replaced)
{
    struct api_server *other = NULL;
    char err[256];
    int fd;

    cr_assert_neq(api_server_open(sock_path, echo_handler, NULL, &other, err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "another daemon"));
    /* A socket file nobody listens on is replaced. */
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    char stale[96];
    snprintf(stale, sizeof(stale), "%s/stale.sock", sock_dir);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stale);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    cr_assert_eq(api_server_open(stale, echo_handler, NULL, &other, err, sizeof(err)), 0, "%s", err);
    api_server_close(other);
    cr_assert_neq(access(stale, F_OK), 0, "socket file removed on close");
}

Test(api_server, many_clients_are_served_and_extra_ones_refused)
{
    int fds[API_MAX_CLIENTS + 1];

    /* Every client counts as active for 10 s: none may be evicted for the newcomer. */
    api_server_set_timeouts(srv, 5000, 10000);
    for (int i = 0; i < API_MAX_CLIENTS; i++)
        fds[i] = client();
    fds[API_MAX_CLIENTS] = client();
    expect_error(fds[API_MAX_CLIENTS], API_CODE_BUSY);
    send_str(fds[API_MAX_CLIENTS - 1], "last\n");
    expect_echo(fds[API_MAX_CLIENTS - 1], "last");
    for (int i = 0; i <= API_MAX_CLIENTS; i++)
        close(fds[i]);
}

Test(api_server, one_reply_larger_than_the_cap_reaches_a_client_that_reads)
{
    int fd = client();
    size_t got = 0;
    char *buf = malloc(BIG_REPLY + 4096);

    send_str(fd, "big\n");
    /* Read as it comes: the reply is three times the cap on unread output. */
    for (int i = 0; i < 20000 && (got == 0 || buf[got - 1] != '\n'); i++) {
        ssize_t r;
        api_server_poll(srv, 1);
        r = recv(fd, buf + got, BIG_REPLY + 4096 - got, MSG_DONTWAIT);
        if (r > 0)
            got += (size_t)r;
    }
    cr_assert_gt(got, BIG_REPLY, "the whole reply arrived (%zu bytes)", got);
    cr_assert_eq(buf[got - 1], '\n');
    free(buf);
    cr_assert_eq(api_server_counters(srv)->slow_clients, 0);
    send_str(fd, "after\n");
    expect_echo(fd, "after");
    close(fd);
}

Test(api_server, a_client_that_does_not_read_its_replies_is_disconnected)
{
    int fd = client(), other = client();
    size_t line_len = 60000, sent = 0, total = 40 * (line_len + 1);
    char *lines = malloc(total);
    bool dropped = false;

    /* 40 requests of 60 kB, 2.4 MB of replies, never read. */
    memset(lines, 'r', total);
    for (size_t i = 1; i <= 40; i++)
        lines[i * (line_len + 1) - 1] = '\n';
    for (int i = 0; i < 20000 && !dropped; i++) {
        if (sent < total) {
            ssize_t w = send(fd, lines + sent, total - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN)
                dropped = true;             /* the server closed its side */
        }
        api_server_poll(srv, 1);
        dropped = dropped || api_server_counters(srv)->slow_clients > 0;
    }
    free(lines);
    cr_assert(dropped, "still connected after %zu bytes sent", sent);
    cr_assert_eq(api_server_counters(srv)->slow_clients, 1, "counted once");
    /* The connection is gone: reading drains what was sent, then ends. */
    {
        char buf[65536];
        ssize_t r;
        int polls = 0;
        while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0 || (r < 0 && errno == EAGAIN)) {
            cr_assert_lt(++polls, 100000, "the server did not close the connection");
            if (r < 0)
                usleep(100);
        }
        cr_assert(r == 0 || errno == ECONNRESET, "r %zd errno %d", r, errno);
    }
    /* Everyone else is served as before. */
    send_str(other, "still here\n");
    expect_echo(other, "still here");
    cr_assert_eq(api_server_counters(srv)->slow_clients, 1);
    close(fd);
    close(other);
}

/* Dispatch errors are answered before any handler touches the appliance. */
static void expect_cmd_error(const char *line, const char *code)
{
    char *resp = api_cmd_handle(NULL, line, strlen(line));
    cJSON *j;
    cr_assert_not_null(resp);
    cr_assert_eq(resp[strlen(resp) - 1], '\n');
    j = cJSON_Parse(resp);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")), "%s", resp);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code")->valuestring,
                     code, "%s", resp);
    cJSON_Delete(j);
    free(resp);
}

Test(api_cmd, malformed_requests)
{
    expect_cmd_error("{bad json", API_CODE_PROTOCOL);
    expect_cmd_error("[1,2]", API_CODE_PROTOCOL);
    expect_cmd_error("\"status\"", API_CODE_PROTOCOL);
    expect_cmd_error("{}", "invalid_argument");
    expect_cmd_error("{\"cmd\": 5}", "invalid_argument");
    expect_cmd_error("{\"cmd\": \"nope\"}", API_CODE_UNKNOWN_COMMAND);
}

Test(api_cmd, help_lists_commands)
{
    const char *line = "{\"cmd\":\"help\"}";
    char *resp = api_cmd_handle(NULL, line, strlen(line));
    cJSON *j = cJSON_Parse(resp);
    cJSON *r = cJSON_GetObjectItem(j, "result");
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")));
    cr_assert_not_null(cJSON_GetObjectItem(r, "status"));
    cr_assert_not_null(cJSON_GetObjectItem(r, "stats"));
    cr_assert_not_null(cJSON_GetObjectItem(r, "config.get"));
    cJSON_Delete(j);
    free(resp);
}

Test(api_proto, request_line_has_cmd_and_args)
{
    cJSON *args = cJSON_CreateObject();
    char *line;
    cJSON *j;
    cJSON_AddStringToObject(args, "vs", "FePool");
    cJSON_AddStringToObject(args, "cmd", "ignored");
    line = api_request("stats", args);
    cr_assert_eq(line[strlen(line) - 1], '\n');
    j = cJSON_Parse(line);
    cr_assert_str_eq(cJSON_GetObjectItem(j, "cmd")->valuestring, "stats");
    cr_assert_str_eq(cJSON_GetObjectItem(j, "vs")->valuestring, "FePool");
    cJSON_Delete(j);
    cJSON_Delete(args);
    free(line);
}

/*
 * Slowloris: clients that send a request a byte at a time, never finishing it, are
 * disconnected once the line is older than the request timeout (not when each byte
 * is late), while a client that finishes its lines is served all along.
 */
Test(api_server, an_unfinished_request_line_is_cut_after_the_request_timeout)
{
    int slow[4], good = client();
    char b;

    api_server_set_timeouts(srv, 300, 10000);
    for (int i = 0; i < 4; i++)
        slow[i] = client();
    for (int t = 0; t < 8; t++) {           /* a byte every 60 ms, 480 ms in all */
        for (int i = 0; i < 4; i++)
            send(slow[i], "{", 1, MSG_NOSIGNAL);
        send_str(good, "ok\n");
        expect_echo(good, "ok");
        usleep(60000);
        api_server_poll(srv, 0);
    }
    cr_assert_eq(api_server_counters(srv)->request_timeouts, 4);
    for (int i = 0; i < 4; i++) {
        struct pollfd p = {.fd = slow[i], .events = POLLIN};
        cr_assert_eq(poll(&p, 1, 100), 1);
        cr_assert_eq(recv(slow[i], &b, 1, 0), 0, "closed by the server");
        close(slow[i]);
    }
    send_str(good, "still\n");
    expect_echo(good, "still");
    close(good);
}

/*
 * Connections held open and silent fill every slot: a newcomer takes the slot of the
 * client idle longest, which is told why; a client active within the limit is not
 * the one evicted.
 */
Test(api_server, a_full_table_of_idle_clients_makes_room_for_a_newcomer)
{
    int fds[API_MAX_CLIENTS], late;
    cJSON *j;

    api_server_set_timeouts(srv, 5000, 200);
    for (int i = 0; i < API_MAX_CLIENTS; i++)
        fds[i] = client();
    usleep(250000);
    send_str(fds[5], "awake\n");            /* one of them is active again */
    expect_echo(fds[5], "awake");
    late = client();
    send_str(late, "hello\n");
    expect_echo(late, "hello");
    cr_assert_eq(api_server_counters(srv)->evicted, 1);
    j = reply(fds[0]);                      /* the longest idle: the first */
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "ok")));
    cJSON_Delete(j);
    send_str(fds[5], "kept\n");
    expect_echo(fds[5], "kept");
    for (int i = 0; i < API_MAX_CLIENTS; i++)
        close(fds[i]);
    close(late);
}
