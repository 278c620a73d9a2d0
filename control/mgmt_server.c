#include "mgmt_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "addr.h"
#include "api_cmd.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "mgmt_assets.h"

/* A reply shared by the requests of MGMT_CACHE_MS (MHD counts its references). */
struct cached {
    struct MHD_Response *r;
    unsigned status;
    uint64_t at_ms;
};

struct mgmt_server {
    struct MHD_Daemon *d;
    struct appliance *a;
    int fd;
    struct cached metrics;
    struct cached stats;
};

/* The read-only API commands the page and scripts may ask for, and their argument. */
static const struct {
    const char *path;
    const char *cmd;
    const char *arg;        /* a query parameter passed on as the command's argument */
} api_routes[] = {
    {"/api/stats", "stats", "vs"},
    {"/api/status", "status", NULL},
    {"/api/health", "health.list", "vs"},
    {"/api/services", "vs.list", NULL},
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t n;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    LOG_WARN("mgmt", "%s", msg);
}

static void common_headers(struct MHD_Response *r, const char *type)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

/* A response that owns text (malloc'd): freed by MHD when the last request is done. */
static struct MHD_Response *text_response(char *text, size_t len, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);

    if (r == NULL) {
        free(text);
        return NULL;
    }
    common_headers(r, type);
    return r;
}

static enum MHD_Result queue_static(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                             MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    common_headers(r, "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue_cached(struct MHD_Connection *c, struct cached *k)
{
    return MHD_queue_response(c, k->status, k->r);
}

/* Replaces k's reply when it is older than MGMT_CACHE_MS. */
static bool cache_fresh(const struct cached *k, uint64_t now)
{
    return k->r != NULL && now - k->at_ms < MGMT_CACHE_MS;
}

static void cache_set(struct cached *k, struct MHD_Response *r, unsigned status, uint64_t now)
{
    if (k->r != NULL)
        MHD_destroy_response(k->r);
    k->r = r;
    k->status = status;
    k->at_ms = now;
}

static enum MHD_Result serve_metrics(struct mgmt_server *m, struct MHD_Connection *c)
{
    uint64_t now = appliance_now_ms();
    struct MHD_Response *r;
    size_t len = 0;
    char *text;

    if (!cache_fresh(&m->metrics, now)) {
        text = metrics_build(m->a, &len);
        if (text == NULL)
            return queue_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
        r = text_response(text, len, METRICS_CONTENT_TYPE);
        if (r == NULL)
            return MHD_NO;
        cache_set(&m->metrics, r, MHD_HTTP_OK, now);
    }
    return queue_cached(c, &m->metrics);
}

/*
 * The API's reply to cmd (with arg_name = the query parameter of that name, if any),
 * exactly as the control socket gives it, through the same handler. An error reply
 * ({"ok": false, ...}) is sent with a 4xx/5xx status.
 */
static struct MHD_Response *api_reply(struct mgmt_server *m, struct MHD_Connection *c,
                                      const char *cmd, const char *arg_name, unsigned *status)
{
    const char *arg = arg_name != NULL ? MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                                                     arg_name)
                                       : NULL;
    cJSON *req = cJSON_CreateObject(), *resp;
    char *line = NULL, *reply;
    size_t len;

    if (req == NULL || cJSON_AddStringToObject(req, "cmd", cmd) == NULL ||
        (arg != NULL && cJSON_AddStringToObject(req, arg_name, arg) == NULL) ||
        (line = cJSON_PrintUnformatted(req)) == NULL) {
        cJSON_Delete(req);
        return NULL;
    }
    cJSON_Delete(req);
    reply = api_cmd_handle(m->a, line, strlen(line));
    cJSON_free(line);
    if (reply == NULL)
        return NULL;
    len = strlen(reply);
    while (len > 0 && reply[len - 1] == '\n')
        reply[--len] = '\0';
    *status = MHD_HTTP_OK;
    resp = cJSON_ParseWithLength(reply, len);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok"))) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
        *status = cJSON_IsString(code) && strcmp(code->valuestring, "not_found") == 0
                      ? MHD_HTTP_NOT_FOUND
                  : cJSON_IsString(code) && strcmp(code->valuestring, "invalid_argument") == 0
                      ? MHD_HTTP_BAD_REQUEST
                      : MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    cJSON_Delete(resp);
    return text_response(reply, len, "application/json");
}

static enum MHD_Result serve_api(struct mgmt_server *m, struct MHD_Connection *c, size_t route)
{
    const char *cmd = api_routes[route].cmd, *arg_name = api_routes[route].arg;
    bool plain_stats = strcmp(cmd, "stats") == 0 &&
                       MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "vs") == NULL;
    uint64_t now = appliance_now_ms();
    struct MHD_Response *r;
    enum MHD_Result ret;
    unsigned status;

    if (plain_stats && cache_fresh(&m->stats, now))
        return queue_cached(c, &m->stats);
    r = api_reply(m, c, cmd, arg_name, &status);
    if (r == NULL)
        return queue_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    if (plain_stats) {
        cache_set(&m->stats, r, status, now);
        return queue_cached(c, &m->stats);
    }
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_asset(struct MHD_Connection *c, const struct mgmt_asset *as)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(as->len, (void *)as->data,
                                                             MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    common_headers(r, as->content_type);
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'; form-action 'none'");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct mgmt_server *m = cls;

    (void)version;
    (void)upload_data;
    (void)con_cls;
    /* Read-only: GET and HEAD (MHD sends no body for HEAD); anything else, and a GET
     * with a body, is refused at once, before any body is read. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return queue_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (*upload_data_size != 0)
        return queue_static(c, MHD_HTTP_BAD_REQUEST, "a GET has no body\n");
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(m, c);
    for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++)
        if (strcmp(url, api_routes[i].path) == 0)
            return serve_api(m, c, i);
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    for (size_t i = 0; i < mgmt_n_assets; i++)
        if (strcmp(url, mgmt_assets[i].path) == 0)
            return serve_asset(c, &mgmt_assets[i]);
    return queue_static(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

int mgmt_server_open(struct appliance *a, struct mgmt_server **out, char *err, size_t errlen)
{
    const struct cfg_management *cm = &a->cfg->management;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    const union MHD_DaemonInfo *info;
    struct mgmt_server *m;
    char ip[ADDR_STR_MAX];

    *out = NULL;
    if (!cm->enabled)
        return 0;
    addr_format_ipv4(cm->address, ip);
    if (!MHD_is_feature_supported(MHD_FEATURE_EPOLL))
        return lbd_err_set(err, errlen, LBD_EIO, "libmicrohttpd without epoll");
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    m->a = a;
    sa.sin_addr.s_addr = cm->address;
    sa.sin_port = htons(cm->port);
    /* No thread of MHD's own: mgmt_server_run() from the control loop (see the header). */
    errno = 0;
    m->d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, cm->port, NULL, NULL, on_request, m,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cm->max_clients,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cm->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MGMT_CONN_MEMORY,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)cm->max_clients,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_END);
    if (m->d == NULL) {
        int e = errno;
        free(m);
        return lbd_err_set(err, errlen, LBD_EIO, "cannot listen on %s:%u%s%s", ip,
                           cm->port, e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
    }
    info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
    m->fd = info != NULL ? info->epoll_fd : -1;
    if (m->fd < 0) {
        MHD_stop_daemon(m->d);
        free(m);
        return lbd_err_set(err, errlen, LBD_EIO, "no epoll descriptor");
    }
    LOG_INFO("mgmt", "management server on http://%s:%u/ (metrics at /metrics)", ip, cm->port);
    *out = m;
    return 0;
}

int mgmt_server_fd(const struct mgmt_server *m)
{
    return m != NULL ? m->fd : -1;
}

void mgmt_server_run(struct mgmt_server *m)
{
    if (m != NULL)
        MHD_run(m->d);
}

void mgmt_server_close(struct mgmt_server *m)
{
    if (m == NULL)
        return;
    MHD_stop_daemon(m->d);
    cache_set(&m->metrics, NULL, 0, 0);
    cache_set(&m->stats, NULL, 0, 0);
    free(m);
}
