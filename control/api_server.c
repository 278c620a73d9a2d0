#include "api_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api_proto.h"
#include "err.h"
#include "log.h"

struct api_client {
    int fd;
    bool discarding;        /* skipping the rest of an oversized line */
    bool closing;           /* peer closed its side: flush, then close */
    bool slow;              /* dropped for not reading its responses */
    uint64_t last_ms;       /* when it connected or last sent a byte */
    uint64_t req_ms;        /* when the request line it is sending began (0: none) */
    char *in;
    size_t in_len;
    char *out;
    size_t out_len;
    size_t out_off;
};

struct api_server {
    int fd;
    char path[PATH_MAX];
    api_handler_fn fn;
    void *ctx;
    struct api_counters n;
    uint32_t request_timeout_ms;    /* API_REQUEST_TIMEOUT_MS unless a test sets it */
    uint32_t evict_ms;              /* API_EVICT_AFTER_MS likewise */
    int watch_fd;                   /* another fd whose input ends the wait, or -1 */
    struct api_client clients[API_MAX_CLIENTS];
};

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int make_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    char *slash;

    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL || slash == dir)
        return 0;
    *slash = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

int api_server_open(const char *path, api_handler_fn fn, void *ctx, struct api_server **out,
                    char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct api_server *srv;
    mode_t old_mask;
    int fd, rc;

    if (strlen(path) >= sizeof(sa.sun_path))
        return lbd_err_set(err, errlen, LBD_EINVAL, "api socket path too long: %s", path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (make_parent_dir(path) != 0)
        return lbd_err_set(err, errlen, LBD_EIO, "api socket %s: cannot create its directory: %s",
                           path, strerror(errno));

    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lbd_err_set(err, errlen, LBD_EIO, "api socket: %s", strerror(errno));

    /* A socket file that nobody answers on is left over from a crash: replace it. */
    if (access(path, F_OK) == 0) {
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            close(fd);
            return lbd_err_set(err, errlen, LBD_EEXIST,
                               "api socket %s: another daemon is serving it", path);
        }
        unlink(path);
    }

    old_mask = umask(0177);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old_mask);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 16) != 0) {
        lbd_err_set(err, errlen, LBD_EIO, "api socket %s: %s", path, strerror(errno));
        close(fd);
        return LBD_EIO;
    }

    srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        close(fd);
        unlink(path);
        return lbd_err_set(err, errlen, LBD_ENOMEM, "api socket: out of memory");
    }
    srv->fd = fd;
    srv->watch_fd = -1;
    srv->request_timeout_ms = API_REQUEST_TIMEOUT_MS;
    srv->evict_ms = API_EVICT_AFTER_MS;
    srv->fn = fn;
    srv->ctx = ctx;
    snprintf(srv->path, sizeof(srv->path), "%s", path);
    for (int i = 0; i < API_MAX_CLIENTS; i++)
        srv->clients[i].fd = -1;
    *out = srv;
    return 0;
}

static void client_close(struct api_client *c)
{
    close(c->fd);
    free(c->in);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static bool client_flush(struct api_client *c);

/*
 * Queues a response and sends what the socket takes. False to drop the client: it
 * left more than API_MAX_PENDING_OUT bytes unread (c->slow), or out of memory, or the
 * socket failed.
 */
static bool client_queue(struct api_client *c, char *resp)
{
    size_t n;
    char *grown;

    if (resp == NULL)
        resp = api_reply_error("no_memory", "out of memory");
    if (resp == NULL)
        return false;
    n = strlen(resp);
    if (c->out_len - c->out_off > API_MAX_PENDING_OUT) {
        c->slow = true;
        free(resp);
        return false;
    }
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    grown = realloc(c->out, c->out_len + n);
    if (grown == NULL) {
        free(resp);
        return false;
    }
    c->out = grown;
    memcpy(c->out + c->out_len, resp, n);
    c->out_len += n;
    free(resp);
    return client_flush(c);
}

static bool client_flush(struct api_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    return true;
}

static bool client_line(struct api_server *srv, struct api_client *c, char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (len == 0)
        return true;    /* blank lines are keep-alives */
    return client_queue(c, srv->fn(srv->ctx, line, len));
}

/* Feeds received bytes through the line framer. Returns handled requests, -1 to drop. */
static int client_feed(struct api_server *srv, struct api_client *c, const char *buf, size_t n)
{
    int handled = 0;

    while (n > 0) {
        const char *nl = memchr(buf, '\n', n);
        size_t chunk = nl != NULL ? (size_t)(nl - buf) : n;

        if (c->discarding) {
            if (nl != NULL)
                c->discarding = false;
        } else if (c->in_len + chunk > API_MAX_REQUEST) {
            char msg[96];
            snprintf(msg, sizeof(msg), "request longer than %d bytes", API_MAX_REQUEST);
            c->in_len = 0;
            c->discarding = nl == NULL;
            handled++;
            if (!client_queue(c, api_reply_error(API_CODE_TOO_BIG, msg)))
                return -1;
        } else {
            if (c->in == NULL) {
                c->in = malloc(API_MAX_REQUEST + 1);
                if (c->in == NULL)
                    return -1;
            }
            memcpy(c->in + c->in_len, buf, chunk);
            c->in_len += chunk;
            if (nl != NULL) {
                handled++;
                if (!client_line(srv, c, c->in, c->in_len))
                    return -1;
                c->in_len = 0;
            }
        }
        if (nl == NULL)
            break;
        buf += chunk + 1;
        n -= chunk + 1;
    }
    return handled;
}

/*
 * A full table makes room by closing the client that has stalled longest, told why:
 * silent (nothing sent either way) or with a request line open, for evict_ms at
 * least. lbctl writes its line at once and reads its answer; connections held open
 * silently, or a line trickled in (slowloris), cannot keep the operator out. Returns
 * the freed slot, or -1 when every client is being answered or was active within
 * evict_ms (the newcomer is refused).
 */
static int evict_stalled(struct api_server *srv, uint64_t now)
{
    uint64_t oldest_since = UINT64_MAX;
    int oldest = -1;

    for (int i = 0; i < API_MAX_CLIENTS; i++) {
        const struct api_client *c = &srv->clients[i];
        uint64_t since;
        if (c->out_len > c->out_off)
            continue;                   /* being answered */
        since = c->req_ms != 0 ? c->req_ms : c->last_ms;
        if (now - since < srv->evict_ms)
            continue;
        if (since < oldest_since) {
            oldest_since = since;
            oldest = i;
        }
    }
    if (oldest >= 0) {
        char *resp = api_reply_error(API_CODE_BUSY, "closed while stalled: the api needed room");
        if (resp != NULL) {
            ssize_t ignored = send(srv->clients[oldest].fd, resp, strlen(resp), MSG_NOSIGNAL);
            (void)ignored;
            free(resp);
        }
        client_close(&srv->clients[oldest]);
        srv->n.evicted++;
    }
    return oldest;
}

/* Closes clients whose request line began more than API_REQUEST_TIMEOUT_MS ago. */
static void expire_requests(struct api_server *srv, uint64_t now)
{
    for (int i = 0; i < API_MAX_CLIENTS; i++) {
        struct api_client *c = &srv->clients[i];
        if (c->fd < 0 || c->req_ms == 0 || now - c->req_ms < srv->request_timeout_ms)
            continue;
        if (srv->n.request_timeouts++ == 0)
            LOG_WARN("api", "client disconnected: a request line unfinished after %u ms "
                            "(counted in the api's request_timeouts)",
                     srv->request_timeout_ms);
        client_close(c);
    }
}

static void server_accept(struct api_server *srv)
{
    uint64_t now = now_ms();

    for (;;) {
        int fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        int slot = -1;
        if (fd < 0)
            return;
        for (int i = 0; i < API_MAX_CLIENTS && slot < 0; i++)
            if (srv->clients[i].fd < 0)
                slot = i;
        if (slot < 0)
            slot = evict_stalled(srv, now);
        if (slot < 0) {
            char *resp = api_reply_error(API_CODE_BUSY, "too many api connections");
            if (resp != NULL) {
                ssize_t ignored = send(fd, resp, strlen(resp), MSG_NOSIGNAL);
                (void)ignored;
                free(resp);
            }
            close(fd);
            LOG_WARN("api", "connection refused: %d clients already", API_MAX_CLIENTS);
            continue;
        }
        srv->clients[slot].fd = fd;
        srv->clients[slot].last_ms = now;
    }
}

int api_server_poll(struct api_server *srv, int timeout_ms)
{
    struct pollfd pfd[API_MAX_CLIENTS + 2];
    int idx[API_MAX_CLIENTS + 2];
    int n = 0, handled = 0;
    char buf[65536];

    pfd[n].fd = srv->fd;
    pfd[n].events = POLLIN;
    idx[n++] = -1;
    if (srv->watch_fd >= 0) {
        pfd[n].fd = srv->watch_fd;
        pfd[n].events = POLLIN;
        idx[n++] = -2;
    }
    for (int i = 0; i < API_MAX_CLIENTS; i++) {
        struct api_client *c = &srv->clients[i];
        if (c->fd < 0)
            continue;
        pfd[n].fd = c->fd;
        pfd[n].events = (short)((c->closing ? 0 : POLLIN) | (c->out_len > c->out_off ? POLLOUT : 0));
        idx[n++] = i;
    }
    if (poll(pfd, (nfds_t)n, timeout_ms) <= 0) {
        expire_requests(srv, now_ms());
        return 0;
    }

    for (int k = 0; k < n; k++) {
        struct api_client *c;
        bool ok = true;

        if (pfd[k].revents == 0 || idx[k] == -2)
            continue;
        if (idx[k] < 0) {
            server_accept(srv);
            continue;
        }
        c = &srv->clients[idx[k]];
        if (pfd[k].revents & POLLIN) {
            ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
            if (r > 0) {
                int h = client_feed(srv, c, buf, (size_t)r);
                ok = h >= 0;
                handled += h > 0 ? h : 0;
                c->last_ms = now_ms();
                /* A line still open keeps the time its first byte came (slowloris). */
                if (c->in_len == 0 && !c->discarding)
                    c->req_ms = 0;
                else if (c->req_ms == 0)
                    c->req_ms = c->last_ms;
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                /* A last request without its newline still gets its answer. */
                if (r == 0 && c->in_len > 0 && !c->discarding) {
                    ok = client_line(srv, c, c->in, c->in_len);
                    handled++;
                }
                c->closing = true;
            }
        } else if (pfd[k].revents & (POLLHUP | POLLERR)) {
            c->closing = true;
        }
        if (ok)
            ok = client_flush(c);
        if (!ok && c->slow) {
            srv->n.slow_clients++;
            LOG_WARN("api", "client disconnected: it left %zu bytes of responses unread "
                            "(limit %u)",
                     c->out_len - c->out_off, API_MAX_PENDING_OUT);
        }
        if (!ok || (c->closing && c->out_len == c->out_off))
            client_close(c);
    }
    expire_requests(srv, now_ms());
    return handled;
}

void api_server_watch(struct api_server *srv, int fd)
{
    srv->watch_fd = fd;
}

const struct api_counters *api_server_counters(const struct api_server *srv)
{
    return &srv->n;
}

void api_server_set_timeouts(struct api_server *srv, uint32_t request_ms, uint32_t evict_ms)
{
    srv->request_timeout_ms = request_ms;
    srv->evict_ms = evict_ms;
}

void api_server_close(struct api_server *srv)
{
    if (srv == NULL)
        return;
    for (int i = 0; i < API_MAX_CLIENTS; i++)
        if (srv->clients[i].fd >= 0)
            client_close(&srv->clients[i]);
    close(srv->fd);
    unlink(srv->path);
    free(srv);
}
