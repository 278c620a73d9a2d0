#include "txlog.h"

#include <stdarg.h>
#include <stdio.h>

#include "addr.h"

static const char *const end_names[TXLOG_END_MAX] = {
    [TXLOG_END_NONE] = "-",
    [TXLOG_END_DONE] = "done",
    [TXLOG_END_CLIENT_CLOSE] = "client_close",
    [TXLOG_END_SERVER_CLOSE] = "server_close",
    [TXLOG_END_CLIENT_RESET] = "client_reset",
    [TXLOG_END_SERVER_RESET] = "server_reset",
    [TXLOG_END_CLIENT_TIMEOUT] = "client_timeout",
    [TXLOG_END_SERVER_TIMEOUT] = "server_timeout",
    [TXLOG_END_CONNECT_TIMEOUT] = "connect_timeout",
    [TXLOG_END_CONNECT_REFUSED] = "connect_refused",
    [TXLOG_END_NO_SERVER] = "no_server",
    [TXLOG_END_HALT] = "halt",
    [TXLOG_END_BAD_REQUEST] = "bad_request",
    [TXLOG_END_ABORTED] = "aborted",
    [TXLOG_END_ERROR] = "error",
    [TXLOG_END_IDLE_TIMEOUT] = "idle_timeout",
    [TXLOG_END_SYNC_REMOVED] = "sync_removed",
};

const char *txlog_end_name(unsigned end)
{
    return end < TXLOG_END_MAX ? end_names[end] : "-";
}

/* Appends to buf at *off, never past len (the text is cut, *off stays < len). */
static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*off + 1 >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *off, len - *off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    *off = *off + (size_t)n < len ? *off + (size_t)n : len - 1;
}

static void put_ms(char *buf, size_t len, size_t *off, const char *key, uint32_t v)
{
    if (v == TXLOG_T_NONE)
        put(buf, len, off, " %s=-", key);
    else
        put(buf, len, off, " %s=%u", key, v);
}

size_t txlog_format(const struct txlog_rec *r, const char *vs, const char *rs, char *buf,
                    size_t len)
{
    char a[ADDR_STR_MAX], b[ADDR_STR_MAX], c[ADDR_STR_MAX];
    size_t off = 0;

    if (len == 0)
        return 0;
    buf[0] = '\0';
    put(buf, len, &off, "client=%s:%u vip=%s:%u vs=%s rs=%s", addr_format_ipv4(r->client_ip, a),
        r->client_port, addr_format_ipv4(r->vip, b), r->vport, vs != NULL ? vs : "-",
        rs != NULL ? rs : "-");
    if (r->rs_ip != 0)
        put(buf, len, &off, " server=%s:%u", addr_format_ipv4(r->rs_ip, c), r->rs_port);
    else
        put(buf, len, &off, " server=-");
    if (txlog_mode_l4(r->mode)) {
        put(buf, len, &off, " mode=l4 proto=%s total_ms=%u packets_in=%u packets_out=%u"
            " end=%s worker=%u", r->mode == TXLOG_MODE_L4_UDP ? "udp" : "tcp", r->t_total_ms,
            r->packets[0], r->packets[1], txlog_end_name(r->end), r->worker);
        return off;
    }
    put(buf, len, &off, " mode=%s", r->mode == TXLOG_MODE_HTTP ? "http" : "tcp");
    if (r->status != 0)
        put(buf, len, &off, " status=%u", r->status);
    else
        put(buf, len, &off, " status=-");
    put_ms(buf, len, &off, "connect_ms", r->t_connect_ms);
    put_ms(buf, len, &off, "first_byte_ms", r->t_first_ms);
    put_ms(buf, len, &off, "total_ms", r->t_total_ms);
    put(buf, len, &off, " bytes_in=%llu bytes_out=%llu end=%s worker=%u",
        (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
        txlog_end_name(r->end), r->worker);
    if (r->mode == TXLOG_MODE_HTTP && r->req_len > 0) {
        unsigned n = r->req_len < TXLOG_REQ_MAX ? r->req_len : TXLOG_REQ_MAX;
        put(buf, len, &off, " req=\"");
        for (unsigned i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)r->req[i];
            if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
                put(buf, len, &off, "\\x%02x", ch);
            else
                put(buf, len, &off, "%c", ch);
        }
        put(buf, len, &off, "\"");
    }
    return off;
}
