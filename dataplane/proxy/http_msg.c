/*
 * http_msg: HTTP/1.x framing over receive queues (see http_msg.h).
 */
#include "proxy/http_msg.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <rte_mbuf.h>

#include "base/mbufq.h"
#include "proxy/cookie_pairs.h"

/* What the callbacks of one header-block parse write into. */
struct head_ctx {
    const char *base;
    struct http_head *h;
    struct http_msg *m;
    bool in_value;
    bool too_many;
};

static int on_field(http_parser *p, const char *at, size_t len)
{
    struct head_ctx *c = p->data;
    struct http_head *h = c->h;

    if (c->h == NULL)
        return 0;
    if (h->n_fields == HTTP_MAX_FIELDS) {
        c->too_many = true;
        return 1;
    }
    /* The block is contiguous, so each name and value comes in one call. */
    h->f[h->n_fields].name = (struct http_span){(uint32_t)(at - c->base), (uint32_t)len};
    h->f[h->n_fields].value = (struct http_span){(uint32_t)(at - c->base + len), 0};
    h->n_fields++;
    return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
    struct head_ctx *c = p->data;

    if (c->h == NULL || c->h->n_fields == 0)
        return 0;
    c->h->f[c->h->n_fields - 1].value = (struct http_span){(uint32_t)(at - c->base),
                                                           (uint32_t)len};
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct head_ctx *c = p->data;

    if (c == NULL || c->m == NULL)
        return 0;
    if (p->type == HTTP_RESPONSE &&
        (c->m->skip_body || p->status_code / 100 == 1 || p->status_code == 204 ||
         p->status_code == 304))
        return 1;   /* no body, whatever the fields say */
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct head_ctx *c = p->data;

    if (c != NULL && c->m != NULL)
        c->m->done = true;
    http_parser_pause(p, 1);   /* the next bytes belong to the next message */
    return 0;
}

static const http_parser_settings head_settings = {
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_message_complete = on_message_complete,
};

void http_msg_init(struct http_msg *m, enum http_parser_type type, bool skip_body)
{
    http_parser_init(&m->p, type);
    m->p.data = NULL;
    m->done = false;
    m->skip_body = skip_body;
}

static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

bool http_field_is(const char *buf, const struct http_field *f, const char *name)
{
    size_t n = strlen(name);

    return f->name.len == n && strncasecmp(buf + f->name.off, name, n) == 0;
}

/* Value of field f contains token tok as a list element (case-insensitive). */
static bool value_has_token(const char *buf, const struct http_field *f, const char *tok)
{
    const char *v = buf + f->value.off, *e = v + f->value.len;
    size_t n = strlen(tok);

    while (v < e) {
        const char *s, *t;
        while (v < e && (*v == ' ' || *v == '\t' || *v == ','))
            v++;
        s = v;
        while (v < e && *v != ',')
            v++;
        t = v;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if ((size_t)(t - s) == n && strncasecmp(s, tok, n) == 0)
            return true;
    }
    return false;
}

/* Line ends, obs-fold, NUL: what Debian's lenient build accepts and RFC 9112 does not. */
static bool lines_strict(const char *buf, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        char ch = buf[i];
        if (ch == 0)
            return false;
        if (ch == '\n' && (i == 0 || buf[i - 1] != '\r'))
            return false;           /* bare LF */
        if (ch == '\r' && (i + 1 == len || buf[i + 1] != '\n'))
            return false;           /* bare CR */
        if (ch == '\n' && i + 1 < len && (buf[i + 1] == ' ' || buf[i + 1] == '\t'))
            return false;           /* obs-fold (or white space before the first field) */
    }
    return true;
}

/* Request line: method SP request-target SP HTTP-version, single spaces (the parser
 * lets several through, and a target with a space in it is a classic of desync). */
static bool request_line_strict(const char *buf, uint32_t len)
{
    unsigned sp = 0;
    uint32_t i;

    for (i = 0; i < len && buf[i] != '\r'; i++) {
        if (buf[i] == '\t')
            return false;
        if (buf[i] == ' ') {
            if (i == 0 || buf[i - 1] == ' ')
                return false;
            sp++;
        }
    }
    /* ... and the version ends the line (the parser takes some broken ones across it). */
    return sp == 2 && i >= 9 && i < len &&
           (memcmp(buf + i - 9, " HTTP/1.1", 9) == 0 || memcmp(buf + i - 9, " HTTP/1.0", 9) == 0);
}

/* Status line: HTTP-version SP 3DIGIT SP reason, or no reason. */
static bool status_line_strict(const char *buf, uint32_t len)
{
    if (len < 14 || (memcmp(buf, "HTTP/1.1 ", 9) != 0 && memcmp(buf, "HTTP/1.0 ", 9) != 0))
        return false;
    for (int i = 9; i < 12; i++)
        if (buf[i] < '0' || buf[i] > '9')
            return false;
    return buf[12] == ' ' || buf[12] == '\r';
}

/* Fills each field's whole line and its value (without white space around it) from the
 * block itself: the parser's value span is not used (for an empty value it points past
 * the line). Checks the names. */
static bool fields_finish(const char *buf, struct http_head *h)
{
    for (uint32_t i = 0; i < h->n_fields; i++) {
        struct http_field *f = &h->f[i];
        uint32_t colon = f->name.off + f->name.len, e, vs, ve;
        if (f->name.len == 0)
            return false;
        for (uint32_t k = 0; k < f->name.len; k++)
            if (!is_tchar((unsigned char)buf[f->name.off + k]))
                return false;
        /* name ':' OWS value OWS CRLF: no white space before the colon. */
        if (colon >= h->len || buf[colon] != ':')
            return false;
        e = colon;
        while (e < h->len && buf[e] != '\n')
            e++;
        if (e >= h->len)
            return false;
        f->line = (struct http_span){f->name.off, e + 1 - f->name.off};
        vs = colon + 1;
        ve = e - 1;         /* the CR */
        while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t'))
            vs++;
        while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
            ve--;
        f->value = (struct http_span){vs, ve - vs};
        /* Line after line: nothing in the block that is not a field (the rewrite
         * copies fields, so what the parser skipped would silently go). */
        if (f->line.off != (i == 0 ? h->start_line : h->f[i - 1].line.off + h->f[i - 1].line.len))
            return false;
    }
    return (h->n_fields == 0 ? h->start_line
                             : h->f[h->n_fields - 1].line.off + h->f[h->n_fields - 1].line.len) ==
           h->len - 2;
}

enum http_verdict http_msg_head(struct http_msg *m, const char *buf, uint32_t len,
                                struct http_head *h)
{
    struct head_ctx c = {.base = buf, .h = h, .m = m};
    enum http_errno e;
    uint32_t n_host = 0, n_te = 0;
    size_t n;

    memset(h, 0, offsetof(struct http_head, f));
    h->len = len;
    if (len < 4 || memcmp(buf + len - 4, "\r\n\r\n", 4) != 0 || !lines_strict(buf, len))
        return HTTP_V_BAD;
    m->p.data = &c;
    n = http_parser_execute(&m->p, &head_settings, buf, len);
    m->p.data = NULL;
    e = HTTP_PARSER_ERRNO(&m->p);
    if (c.too_many)
        return HTTP_V_TOO_BIG;
    if (e == HPE_PAUSED)
        http_parser_pause(&m->p, 0);
    else if (e != HPE_OK)
        return HTTP_V_BAD;
    if (n != len)
        return HTTP_V_BAD;
    h->start_line = (uint32_t)((const char *)memchr(buf, '\n', len) - buf) + 1;
    h->major = (uint8_t)m->p.http_major;
    h->minor = (uint8_t)m->p.http_minor;
    h->method = (uint8_t)m->p.method;
    h->status = (uint16_t)m->p.status_code;
    if (h->major != 1 || h->minor > 1)
        return HTTP_V_BAD;
    if (!fields_finish(buf, h))
        return HTTP_V_BAD;
    for (uint32_t i = 0; i < h->n_fields; i++) {
        const struct http_field *f = &h->f[i];
        if (http_field_is(buf, f, "host"))
            n_host++;
        else if (http_field_is(buf, f, "transfer-encoding"))
            n_te++;
        else if (http_field_is(buf, f, "expect") && value_has_token(buf, f, "100-continue"))
            h->expect_continue = true;
    }
    h->keep_alive = http_should_keep_alive(&m->p) != 0;
    h->upgrade = m->p.upgrade != 0;
    if (m->p.type == HTTP_REQUEST) {
        if (!request_line_strict(buf, len))
            return HTTP_V_BAD;
        if (h->method == HTTP_CONNECT)
            return HTTP_V_BAD;
        if (n_te > 1 || (n_te > 0 && h->minor == 0))
            return HTTP_V_BAD;
        if (h->minor == 1 ? n_host != 1 : n_host > 1)
            return HTTP_V_BAD;
    } else if (h->status < 100 || h->status > 599 || !status_line_strict(buf, len)) {
        return HTTP_V_BAD;
    }
    if (m->done) {
        h->body = HTTP_BODY_NONE;
    } else if (m->p.flags & F_CHUNKED) {
        h->body = HTTP_BODY_CHUNKED;
    } else if (m->p.content_length != ULLONG_MAX && m->p.content_length > 0) {
        h->body = HTTP_BODY_LENGTH;
        h->content_length = m->p.content_length;
    } else {
        h->body = HTTP_BODY_CLOSE;
    }
    return HTTP_V_OK;
}

uint32_t http_msg_body(struct http_msg *m, const char *data, uint32_t len,
                       enum http_verdict *v)
{
    struct head_ctx c = {.m = m};
    enum http_errno e;
    size_t n;

    *v = HTTP_V_OK;
    if (m->done || len == 0)
        return 0;
    m->p.data = &c;
    n = http_parser_execute(&m->p, &head_settings, data, len);
    m->p.data = NULL;
    e = HTTP_PARSER_ERRNO(&m->p);
    if (e == HPE_PAUSED) {
        http_parser_pause(&m->p, 0);
    } else if (e != HPE_OK) {
        *v = HTTP_V_BAD;
        return (uint32_t)n;
    }
    return (uint32_t)n;
}

enum http_verdict http_msg_eof(struct http_msg *m)
{
    struct head_ctx c = {.m = m};

    if (m->done)
        return HTTP_V_OK;
    m->p.data = &c;
    http_parser_execute(&m->p, &head_settings, NULL, 0);
    m->p.data = NULL;
    if (HTTP_PARSER_ERRNO(&m->p) == HPE_PAUSED)
        http_parser_pause(&m->p, 0);
    return m->done ? HTTP_V_OK : HTTP_V_BAD;
}

uint32_t http_msg_find_end(const struct mbufq *q, uint32_t *scan, uint32_t limit)
{
    const struct rte_mbuf *s;
    uint32_t pos = 0, start = *scan > 3 ? *scan - 3 : 0, end = q->bytes;
    /* 0: in a line; 1: after LF; 2: after LF CR. An empty line ends the block: CRLF
     * CRLF, and also LF LF or LF CRLF, which http_msg_head then refuses (a bare LF
     * must get its 400, not wait for the limit). */
    unsigned st = 0;

    if (end > limit)
        end = limit;
    for (s = q->head; s != NULL && pos < end; s = s->next) {
        const char *d = rte_pktmbuf_mtod(s, const char *);
        uint32_t l = s->data_len, i = 0;
        if (pos + l <= start) {
            pos += l;
            continue;
        }
        if (pos < start)
            i = start - pos;
        for (; i < l && pos + i < end; i++) {
            char ch = d[i];
            if (ch == '\n') {
                if (st != 0) {
                    *scan = pos + i + 1;
                    return pos + i + 1;
                }
                st = 1;
            } else {
                st = ch == '\r' && st == 1 ? 2 : 0;
            }
        }
        pos += l;
    }
    *scan = end;
    return 0;
}

uint32_t http_msg_leading_crlf(const struct mbufq *q)
{
    const struct rte_mbuf *s;
    uint32_t n = 0;

    for (s = q->head; s != NULL; s = s->next) {
        const char *d = rte_pktmbuf_mtod(s, const char *);
        for (uint32_t i = 0; i < s->data_len; i++, n++)
            if (d[i] != '\r' && d[i] != '\n')
                return n;
    }
    return n;
}

void http_msg_copy(const struct mbufq *q, uint32_t len, char *dst)
{
    const struct rte_mbuf *s;

    for (s = q->head; s != NULL && len > 0; s = s->next) {
        uint32_t l = s->data_len < len ? s->data_len : len;
        memcpy(dst, rte_pktmbuf_mtod(s, const char *), l);
        dst += l;
        len -= l;
    }
}

uint32_t http_msg_body_q(struct http_msg *m, const struct mbufq *q, uint32_t max,
                         enum http_verdict *v)
{
    const struct rte_mbuf *s;
    uint32_t total = 0;

    *v = HTTP_V_OK;
    for (s = q->head; s != NULL && total < max && !m->done; s = s->next) {
        uint32_t l = s->data_len < max - total ? s->data_len : max - total;
        uint32_t n = http_msg_body(m, rte_pktmbuf_mtod(s, const char *), l, v);
        total += n;
        if (*v != HTTP_V_OK || n < l)
            break;
    }
    return total;
}

/* Appends n bytes; false when out of room. */
static bool put(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n > cap)
        return false;
    memcpy(out + *o, s, n);
    *o += n;
    return true;
}

int http_rewrite_request(const char *in, const struct http_head *h, const char *cookie,
                         size_t cookie_len, const char *xff, char *out, size_t cap)
{
    size_t o = 0;

    if (!put(out, cap, &o, in, h->start_line))
        return -1;
    for (uint32_t i = 0; i < h->n_fields; i++) {
        const struct http_field *f = &h->f[i];
        if (cookie != NULL && http_field_is(in, f, "cookie")) {
            size_t at = o;
            int n;
            if (!put(out, cap, &o, "Cookie: ", 8))
                return -1;
            n = cookie_pairs_strip(in + f->value.off, f->value.len, cookie, cookie_len,
                                  out + o, cap - o);
            if (n < 0)
                return -1;
            if (n == 0) {
                o = at;     /* nothing but ours: the field goes */
                continue;
            }
            o += (size_t)n;
            if (!put(out, cap, &o, "\r\n", 2))
                return -1;
            continue;
        }
        if (!put(out, cap, &o, in + f->line.off, f->line.len))
            return -1;
    }
    if (xff != NULL && (!put(out, cap, &o, "X-Forwarded-For: ", 17) ||
                        !put(out, cap, &o, xff, strlen(xff)) || !put(out, cap, &o, "\r\n", 2)))
        return -1;
    if (!put(out, cap, &o, "\r\n", 2))
        return -1;
    return (int)o;
}

int http_rewrite_response(const char *in, const struct http_head *h, const char *set_cookie,
                          size_t set_cookie_len, char *out, size_t cap)
{
    size_t o = 0;

    if (!put(out, cap, &o, in, h->len - 2))
        return -1;
    if (set_cookie != NULL &&
        (!put(out, cap, &o, "Set-Cookie: ", 12) ||
         !put(out, cap, &o, set_cookie, set_cookie_len) ||
         !put(out, cap, &o, "\r\nCache-Control: private\r\n", 26)))
        return -1;
    if (!put(out, cap, &o, "\r\n", 2))
        return -1;
    return (int)o;
}

int http_error_response(unsigned status, char *out, size_t cap)
{
    const char *reason, *text;
    int n;

    switch (status) {
    case 400: reason = "Bad Request"; text = "the request is malformed"; break;
    case 408: reason = "Request Timeout"; text = "the request did not arrive in time"; break;
    case 431: reason = "Request Header Fields Too Large"; text = "the request header is too large"; break;
    case 502: reason = "Bad Gateway"; text = "the server sent no valid response"; break;
    case 503: reason = "Service Unavailable"; text = "no server is available"; break;
    case 504: reason = "Gateway Timeout"; text = "the server did not answer in time"; break;
    default: status = 500; reason = "Internal Server Error"; text = "internal error"; break;
    }
    n = snprintf(out, cap,
                 "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-cache\r\nConnection: close\r\n\r\nlbd: %s\n",
                 status, reason, strlen(text) + 6, text);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
