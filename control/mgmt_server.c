#include "mgmt_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "addr.h"
#include "api_cmd.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "mgmt_assets.h"
#include "mgmt_auth.h"

#define PEM_MAX (1024u * 1024)
#define FAIL_LOG_MS 10000

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
    struct cached history;          /* the plain /api/history: all services */
    struct mgmt_auth *auth;         /* NULL: no actions */
    char *tls_cert, *tls_key;       /* PEM, for MHD */
    uint64_t fail_log_ms;           /* last log line about refused logins */
    unsigned long fails;            /* refused logins since it */
};

/* The body of an action (POST), gathered over the handler's calls. */
struct post_ctx {
    char user[64];
    size_t len;
    bool too_big;
    char body[MGMT_BODY_MAX + 1];
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
    {"/api/history", "history", "vs"},
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
    bool plain = arg_name == NULL ||
                 MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, arg_name) == NULL;
    /* The replies that grow with the config, shared for MGMT_CACHE_MS. */
    struct cached *k = !plain                        ? NULL
                       : strcmp(cmd, "stats") == 0   ? &m->stats
                       : strcmp(cmd, "history") == 0 ? &m->history
                                                     : NULL;
    uint64_t now = appliance_now_ms();
    struct MHD_Response *r;
    enum MHD_Result ret;
    unsigned status;

    if (k != NULL && cache_fresh(k, now))
        return queue_cached(c, k);
    r = api_reply(m, c, cmd, arg_name, &status);
    if (r == NULL)
        return queue_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    if (k != NULL) {
        cache_set(k, r, status, now);
        return queue_cached(c, k);
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

static enum MHD_Result queue_json(struct MHD_Connection *c, unsigned status, char *text)
{
    struct MHD_Response *r = text_response(text, strlen(text), "application/json");
    enum MHD_Result ret;

    if (r == NULL)
        return MHD_NO;
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_actions_info(struct mgmt_server *m, struct MHD_Connection *c)
{
    char *text = malloc(64);

    if (text == NULL)
        return MHD_NO;
    snprintf(text, 64, "{\"ok\":true,\"result\":{\"enabled\":%s}}",
             m->auth != NULL ? "true" : "false");
    return queue_json(c, MHD_HTTP_OK, text);
}

/* Logs refused logins, at most one line per FAIL_LOG_MS with the count since the last. */
static void login_refused(struct mgmt_server *m, struct MHD_Connection *c, const char *user)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c,
                                                                 MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint64_t now = appliance_now_ms();
    char ip[INET6_ADDRSTRLEN] = "?";

    m->fails++;
    if (m->fail_log_ms != 0 && now - m->fail_log_ms < FAIL_LOG_MS)
        return;
    if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, ip,
                  sizeof(ip));
    LOG_WARN("mgmt", "login refused for user '%.63s' from %s (%lu refused since the last "
                     "line)", user != NULL ? user : "", ip, m->fails);
    m->fail_log_ms = now;
    m->fails = 0;
}

/*
 * The first call of a POST, before its body: the login, then what a browser sends
 * only when our own page asks (JSON, from our own origin), so that another site
 * cannot make a logged-in browser act. Fills ctx->user on success.
 */
static enum MHD_Result post_gate(struct mgmt_server *m, struct MHD_Connection *c,
                                 struct post_ctx *ctx, bool *pass)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    char *password = NULL, *user = MHD_basic_auth_get_username_password(c, &password);
    enum mgmt_auth_result ar = mgmt_auth_check(m->auth, user, password, appliance_now_ms());
    struct MHD_Response *r;
    enum MHD_Result ret;

    *pass = false;
    if (ar == MGMT_AUTH_OK)
        snprintf(ctx->user, sizeof(ctx->user), "%s", user);
    else if (user != NULL)
        login_refused(m, c, user);
    if (password != NULL) {
        explicit_bzero(password, strlen(password));
        MHD_free(password);
    }
    if (user != NULL)
        MHD_free(user);
    if (ar == MGMT_AUTH_THROTTLED)
        return queue_static(c, MHD_HTTP_TOO_MANY_REQUESTS, "too many logins: try again\n");
    if (ar != MGMT_AUTH_OK) {
        r = MHD_create_response_from_buffer(strlen("login required\n"), "login required\n",
                                            MHD_RESPMEM_PERSISTENT);
        if (r == NULL)
            return MHD_NO;
        common_headers(r, "text/plain; charset=utf-8");
        ret = MHD_queue_basic_auth_fail_response(c, "lbd management", r);
        MHD_destroy_response(r);
        return ret;
    }
    if (type == NULL || strncasecmp(type, "application/json", 16) != 0)
        return queue_static(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "the body must be JSON\n");
    if (origin != NULL) {
        char want[300];
        snprintf(want, sizeof(want), "https://%s", host != NULL ? host : "");
        if (strcmp(origin, want) != 0)
            return queue_static(c, MHD_HTTP_FORBIDDEN, "not from this appliance's page\n");
    }
    *pass = true;
    return MHD_YES;
}

/*
 * POST /api/rs {"vs", "rs", "state"?, "weight"?}: the API's rs.set, through its own
 * handler, logged with the user's name.
 */
static enum MHD_Result post_rs(struct mgmt_server *m, struct MHD_Connection *c,
                               const struct post_ctx *ctx)
{
    static const char *const allowed[] = {"vs", "rs", "state", "weight", NULL};
    cJSON *in = cJSON_ParseWithLength(ctx->body, ctx->len), *req, *it;
    const cJSON *vs = cJSON_GetObjectItemCaseSensitive(in, "vs");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(in, "rs");
    char *line, *reply, *text;
    unsigned status = MHD_HTTP_OK;
    cJSON *resp;
    size_t len;

    if (!cJSON_IsObject(in) || !cJSON_IsString(vs) || !cJSON_IsString(rs)) {
        cJSON_Delete(in);
        return queue_static(c, MHD_HTTP_BAD_REQUEST,
                            "expected {\"vs\": label, \"rs\": label, \"state\"?, "
                            "\"weight\"?}\n");
    }
    cJSON_ArrayForEach(it, in) {
        bool ok = false;
        for (const char *const *k = allowed; *k != NULL; k++)
            ok |= it->string != NULL && strcmp(it->string, *k) == 0;
        if (!ok) {
            cJSON_Delete(in);
            return queue_static(c, MHD_HTTP_BAD_REQUEST, "only vs, rs, state and weight\n");
        }
    }
    req = cJSON_Duplicate(in, true);
    cJSON_Delete(in);
    if (req == NULL || cJSON_AddStringToObject(req, "cmd", "rs.set") == NULL ||
        (line = cJSON_PrintUnformatted(req)) == NULL) {
        cJSON_Delete(req);
        return queue_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    cJSON_Delete(req);
    reply = api_cmd_handle(m->a, line, strlen(line));
    if (reply == NULL) {
        cJSON_free(line);
        return queue_static(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    len = strlen(reply);
    while (len > 0 && reply[len - 1] == '\n')
        reply[--len] = '\0';
    resp = cJSON_ParseWithLength(reply, len);
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok")))
        status = MHD_HTTP_BAD_REQUEST;
    LOG_INFO("mgmt", "user %s: %s: %s", ctx->user, line,
             status == MHD_HTTP_OK ? "done" : reply);
    cJSON_Delete(resp);
    cJSON_free(line);
    /* What the page reads next shows the change. */
    cache_set(&m->metrics, NULL, 0, 0);
    cache_set(&m->stats, NULL, 0, 0);
    text = reply;
    return queue_json(c, status, text);
}

static enum MHD_Result on_post(struct mgmt_server *m, struct MHD_Connection *c, const char *url,
                               const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    struct post_ctx *ctx = *con_cls;
    enum MHD_Result ret;
    bool pass;

    if (ctx == NULL) {
        if (m->auth == NULL)
            return queue_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        if (strcmp(url, "/api/rs") != 0)
            return queue_static(c, MHD_HTTP_NOT_FOUND, "not found\n");
        ctx = calloc(1, sizeof(*ctx));
        if (ctx == NULL)
            return MHD_NO;
        ret = post_gate(m, c, ctx, &pass);
        if (!pass) {
            free(ctx);
            return ret;
        }
        *con_cls = ctx;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        if (ctx->len + n > MGMT_BODY_MAX)
            ctx->too_big = true;
        else
            memcpy(ctx->body + ctx->len, upload_data, n);
        if (!ctx->too_big)
            ctx->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (ctx->too_big)
        return queue_static(c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large\n");
    ctx->body[ctx->len] = '\0';
    return post_rs(m, c, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    if (*con_cls != NULL) {
        explicit_bzero(*con_cls, sizeof(struct post_ctx));
        free(*con_cls);
        *con_cls = NULL;
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct mgmt_server *m = cls;

    (void)version;
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
        return on_post(m, c, url, upload_data, upload_data_size, con_cls);
    /* Else read-only: GET and HEAD (MHD sends no body for HEAD); anything else is
     * refused at once, before any body is read. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return queue_static(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/metrics") == 0)
        return serve_metrics(m, c);
    if (strcmp(url, "/api/actions") == 0)
        return serve_actions_info(m, c);
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

/* A PEM file, whole, NUL-terminated (malloc'd). */
static int read_pem(const char *what, const char *path, char **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf;
    size_t len = 0;
    ssize_t n;

    if (fd < 0)
        return lbd_err_set(err, errlen, LBD_EIO, "tls.%s %s: %s", what, path, strerror(errno));
    buf = malloc(PEM_MAX);
    if (buf == NULL) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_ENOMEM, "out of memory");
    }
    while ((n = read(fd, buf + len, PEM_MAX - 1 - len)) > 0 && len + (size_t)n < PEM_MAX - 1)
        len += (size_t)n;
    close(fd);
    if (n != 0) {
        explicit_bzero(buf, PEM_MAX);
        free(buf);
        return lbd_err_set(err, errlen, LBD_EIO, "tls.%s %s: %s", what, path,
                           n < 0 ? strerror(errno) : "larger than 1 MiB");
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

static void free_secret(char *p)
{
    if (p != NULL) {
        explicit_bzero(p, strlen(p));
        free(p);
    }
}

int mgmt_server_check(const struct cfg_management *cm, char *err, size_t errlen)
{
    struct mgmt_auth *auth = NULL;
    char *cert = NULL, *key = NULL;
    int rc = 0;

    if (!cm->enabled)
        return 0;
    if (cm->tls) {
        rc = read_pem("cert", cm->tls_cert, &cert, err, errlen);
        if (rc == 0)
            rc = read_pem("key", cm->tls_key, &key, err, errlen);
    }
    if (rc == 0 && cm->users_file[0] != '\0')
        rc = mgmt_auth_load(cm->users_file, &auth, err, errlen);
    mgmt_auth_free(auth);
    free_secret(cert);
    free_secret(key);
    return rc;
}

int mgmt_server_open(struct appliance *a, struct mgmt_server **out, char *err, size_t errlen)
{
    const struct cfg_management *cm = &a->cfg->management;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct MHD_OptionItem tls_opts[3] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL},
                                         {MHD_OPTION_END, 0, NULL}};
    const union MHD_DaemonInfo *info;
    struct mgmt_server *m;
    char ip[ADDR_STR_MAX];
    int rc;

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
    if (cm->tls) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            free(m);
            return lbd_err_set(err, errlen, LBD_EIO, "tls: libmicrohttpd without TLS");
        }
        rc = read_pem("cert", cm->tls_cert, &m->tls_cert, err, errlen);
        if (rc == 0)
            rc = read_pem("key", cm->tls_key, &m->tls_key, err, errlen);
        if (rc != 0)
            goto err_free;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, m->tls_cert};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, m->tls_key};
    }
    if (cm->users_file[0] != '\0') {
        rc = mgmt_auth_load(cm->users_file, &m->auth, err, errlen);
        if (rc != 0)
            goto err_free;
    }
    /* No thread of MHD's own: mgmt_server_run() from the control loop (see the header). */
    errno = 0;
    m->d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (cm->tls ? MHD_USE_TLS : 0), cm->port, NULL, NULL,
        on_request, m,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cm->max_clients,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cm->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MGMT_CONN_MEMORY,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)cm->max_clients,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_ARRAY, tls_opts,
        MHD_OPTION_END);
    if (m->d == NULL) {
        int e = errno;
        rc = lbd_err_set(err, errlen, LBD_EIO, "cannot listen on %s:%u%s%s%s", ip, cm->port,
                         e != 0 ? ": " : "", e != 0 ? strerror(e) : "",
                         cm->tls ? " (or the TLS certificate and key do not load)" : "");
        goto err_free;
    }
    info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
    m->fd = info != NULL ? info->epoll_fd : -1;
    if (m->fd < 0) {
        MHD_stop_daemon(m->d);
        rc = lbd_err_set(err, errlen, LBD_EIO, "no epoll descriptor");
        goto err_free;
    }
    LOG_INFO("mgmt", "management server on %s://%s:%u/ (metrics at /metrics; %s)",
             cm->tls ? "https" : "http", ip, cm->port,
             m->auth != NULL ? "actions for the users of the users file" : "read-only");
    *out = m;
    return 0;

err_free:
    mgmt_auth_free(m->auth);
    free_secret(m->tls_cert);
    free_secret(m->tls_key);
    free(m);
    return rc;
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
    cache_set(&m->history, NULL, 0, 0);
    mgmt_auth_free(m->auth);
    free_secret(m->tls_cert);
    free_secret(m->tls_key);
    free(m);
}
