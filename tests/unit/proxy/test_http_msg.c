/*
 * HTTP/1.x framing (http_msg.h): header blocks, every body framing, what the strict
 * checks refuse (the smuggling corpus), the header-block scan and body feed over mbuf
 * queues cut into small segments, and the header rewriting.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "base/mbufq.h"
#include "eal.h"
#include "proxy/http_msg.h"

static struct rte_mempool *pool;
static struct http_head hd;

static void setup(void)
{
    test_eal_init();
    pool = rte_pktmbuf_pool_create("t_http", 4096, 0, 0, 2048, SOCKET_ID_ANY);
    cr_assert_not_null(pool);
}

TestSuite(http_msg, .init = setup);

/* The header block of s: up to and including the first empty line. */
static uint32_t block_len(const char *s)
{
    const char *e = strstr(s, "\r\n\r\n");

    return e != NULL ? (uint32_t)(e - s) + 4 : (uint32_t)strlen(s);
}

static enum http_verdict parse(struct http_msg *m, enum http_parser_type t, const char *s)
{
    http_msg_init(m, t, false);
    return http_msg_head(m, s, block_len(s), &hd);
}

/* A queue holding s in segments of seg bytes. */
static void fill(struct mbufq *q, const char *s, size_t len, size_t seg)
{
    mbufq_init(q);
    for (size_t off = 0; off < len; off += seg) {
        size_t n = len - off < seg ? len - off : seg;
        struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
        cr_assert_not_null(m);
        memcpy(rte_pktmbuf_append(m, (uint16_t)n), s + off, n);
        mbufq_append(q, m);
    }
}

static const char *field(const char *buf, const char *name)
{
    static char v[256];

    for (uint32_t i = 0; i < hd.n_fields; i++)
        if (http_field_is(buf, &hd.f[i], name)) {
            snprintf(v, sizeof(v), "%.*s", (int)hd.f[i].value.len, buf + hd.f[i].value.off);
            return v;
        }
    return NULL;
}

Test(http_msg, simple_get)
{
    const char *r = "GET /a?b=c HTTP/1.1\r\nHost: lab\r\nAccept:  */*  \r\n\r\n";
    struct http_msg m;

    cr_assert_eq(parse(&m, HTTP_REQUEST, r), HTTP_V_OK);
    cr_assert(m.done);
    cr_assert_eq(hd.body, HTTP_BODY_NONE);
    cr_assert_eq(hd.method, HTTP_GET);
    cr_assert_eq(hd.minor, 1);
    cr_assert(hd.keep_alive);
    cr_assert_eq(hd.n_fields, 2);
    cr_assert_str_eq(field(r, "accept"), "*/*");
    cr_assert_eq(hd.start_line, strlen("GET /a?b=c HTTP/1.1\r\n"));
    cr_assert_eq(hd.f[1].line.off + hd.f[1].line.len, hd.len - 2);
}

Test(http_msg, keep_alive_by_version_and_connection)
{
    struct http_msg m;

    cr_assert_eq(parse(&m, HTTP_REQUEST, "GET / HTTP/1.0\r\n\r\n"), HTTP_V_OK);
    cr_assert(!hd.keep_alive);
    cr_assert_eq(parse(&m, HTTP_REQUEST, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
                 HTTP_V_OK);
    cr_assert(hd.keep_alive);
    cr_assert_eq(parse(&m, HTTP_REQUEST, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
                 HTTP_V_OK);
    cr_assert(!hd.keep_alive);
}

Test(http_msg, content_length_body_ends_exactly)
{
    const char *r = "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n";
    struct http_msg m;
    enum http_verdict v;

    cr_assert_eq(parse(&m, HTTP_REQUEST, r), HTTP_V_OK);
    cr_assert_eq(hd.body, HTTP_BODY_LENGTH);
    cr_assert_eq(hd.content_length, 10);
    cr_assert(!m.done);
    cr_assert_eq(http_msg_body(&m, "abc", 3, &v), 3);
    cr_assert_eq(http_msg_body(&m, "def", 3, &v), 3);
    cr_assert(!m.done);
    /* The last 4 bytes, then the next (pipelined) request: not ours. */
    cr_assert_eq(http_msg_body(&m, "ghijGET / HTTP/1.1\r\n", 20, &v), 4);
    cr_assert_eq(v, HTTP_V_OK);
    cr_assert(m.done);
    cr_assert_eq(http_msg_body(&m, "x", 1, &v), 0);
}

Test(http_msg, chunked_body_with_extension_and_trailer)
{
    const char *r = "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    const char *b = "5;ext=1\r\nhello\r\n3\r\n, w\r\n0\r\nX-Trailer: t\r\n\r\nGET";
    struct http_msg m;
    enum http_verdict v;
    uint32_t n = 0, len = (uint32_t)strlen(b);

    cr_assert_eq(parse(&m, HTTP_REQUEST, r), HTTP_V_OK);
    cr_assert_eq(hd.body, HTTP_BODY_CHUNKED);
    /* A byte at a time: the framing is streamed. */
    for (uint32_t i = 0; i < len && !m.done; i++)
        n += http_msg_body(&m, b + i, 1, &v);
    cr_assert_eq(v, HTTP_V_OK);
    cr_assert(m.done);
    cr_assert_eq(n, len - 3);
}

Test(http_msg, bad_chunks_are_refused)
{
    static const char *const bodies[] = {"5x\r\nhello\r\n0\r\n\r\n", "zz\r\n", "5\nhello\n0\n\n",
                                         "-1\r\n", "5\r\nhelloX\r\n"};

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct http_msg m;
        enum http_verdict v;
        cr_assert_eq(parse(&m, HTTP_REQUEST,
                           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     HTTP_V_OK);
        http_msg_body(&m, bodies[i], (uint32_t)strlen(bodies[i]), &v);
        cr_assert_eq(v, HTTP_V_BAD, "%s", bodies[i]);
    }
}

Test(http_msg, response_until_close)
{
    struct http_msg m;
    enum http_verdict v;

    cr_assert_eq(parse(&m, HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"), HTTP_V_OK);
    cr_assert_eq(hd.body, HTTP_BODY_CLOSE);
    cr_assert(!hd.keep_alive);
    cr_assert_eq(http_msg_body(&m, "anything", 8, &v), 8);
    cr_assert(!m.done);
    cr_assert_eq(http_msg_eof(&m), HTTP_V_OK);
    cr_assert(m.done);
}

Test(http_msg, response_cut_short_is_bad)
{
    struct http_msg m;
    enum http_verdict v;

    cr_assert_eq(parse(&m, HTTP_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
                 HTTP_V_OK);
    cr_assert(hd.keep_alive);
    http_msg_body(&m, "abc", 3, &v);
    cr_assert_eq(http_msg_eof(&m), HTTP_V_BAD);
}

Test(http_msg, responses_without_body)
{
    static const char *const rsp[] = {
        "HTTP/1.1 100 Continue\r\n\r\n",
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
    };
    struct http_msg m;

    for (size_t i = 0; i < sizeof(rsp) / sizeof(rsp[0]); i++) {
        cr_assert_eq(parse(&m, HTTP_RESPONSE, rsp[i]), HTTP_V_OK, "%s", rsp[i]);
        cr_assert(m.done, "%s", rsp[i]);
        cr_assert_eq(hd.body, HTTP_BODY_NONE);
    }
    /* A response to HEAD: its Content-Length describes a body that is not sent. */
    http_msg_init(&m, HTTP_RESPONSE, true);
    cr_assert_eq(http_msg_head(&m, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 40, &hd),
                 HTTP_V_OK);
    cr_assert(m.done);
    cr_assert(hd.keep_alive);
}

Test(http_msg, expect_continue_and_upgrade)
{
    struct http_msg m;

    cr_assert_eq(parse(&m, HTTP_REQUEST, "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                                         "Content-Length: 3\r\n\r\n"),
                 HTTP_V_OK);
    cr_assert(hd.expect_continue);
    cr_assert(!hd.upgrade);
    cr_assert_eq(parse(&m, HTTP_REQUEST, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                                         "Upgrade: websocket\r\n\r\n"),
                 HTTP_V_OK);
    cr_assert(hd.upgrade);
    cr_assert(m.done);
    cr_assert_eq(parse(&m, HTTP_RESPONSE, "HTTP/1.1 101 Switching Protocols\r\n"
                                          "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"),
                 HTTP_V_OK);
    cr_assert(hd.upgrade);
    cr_assert(m.done);
}

/* Requests that must be refused with 400: framing conflicts (smuggling), line-end
 * and field-syntax tricks, versions and methods lbd does not route. */
Test(http_msg, smuggling_corpus_is_refused)
{
    static const char *const bad[] = {
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 3\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nBad[name]: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
        "GET / HTTP/0.9\r\n\r\n",
        "GET /\r\n\r\n",
        "get / HTTP/1.1\r\nHost: a\r\n\r\n",
        "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
        "GET / a HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        /* Found by tests/fuzz/fuzz_http.c: the parser took a version across lines. */
        "POST /u HT\r\n/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
    };
    struct http_msg m;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(parse(&m, HTTP_REQUEST, bad[i]), HTTP_V_BAD, "accepted: %s", bad[i]);
}

Test(http_msg, responses_refused)
{
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
        "HTTP/1.1 999 Odd\r\n\r\n",
        "this is not HTTP\r\n\r\n",
        "HTTP/2 200\r\n\r\n",
    };
    struct http_msg m;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(parse(&m, HTTP_RESPONSE, bad[i]), HTTP_V_BAD, "accepted: %s", bad[i]);
}

Test(http_msg, too_many_fields)
{
    static char r[8192];
    size_t o = (size_t)snprintf(r, sizeof(r), "GET / HTTP/1.1\r\nHost: a\r\n");
    struct http_msg m;

    for (int i = 0; i < HTTP_MAX_FIELDS; i++)
        o += (size_t)snprintf(r + o, sizeof(r) - o, "X-%d: v\r\n", i);
    snprintf(r + o, sizeof(r) - o, "\r\n");
    cr_assert_eq(parse(&m, HTTP_REQUEST, r), HTTP_V_TOO_BIG);
}

Test(http_msg, find_end_over_segments_and_trickle)
{
    const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n";
    struct mbufq q;
    uint32_t scan = 0;

    for (size_t seg = 1; seg < 30; seg++) {
        fill(&q, r, strlen(r), seg);
        scan = 0;
        cr_assert_eq(http_msg_find_end(&q, &scan, 16384), 27, "segments of %zu", seg);
        mbufq_purge(&q);
    }
    /* Trickling in: what was looked at is not looked at again. */
    for (size_t n = 1; n <= 27; n++) {
        fill(&q, r, n, 5);
        cr_assert_eq(http_msg_find_end(&q, &scan, 16384), n < 27 ? 0 : 27, "%zu bytes", n);
        mbufq_purge(&q);
    }
    /* Not within the limit. */
    fill(&q, r, strlen(r), 8);
    scan = 0;
    cr_assert_eq(http_msg_find_end(&q, &scan, 20), 0);
    mbufq_purge(&q);
    /* A bare LF ends the block too (to be refused, not waited for). */
    fill(&q, "GET / HTTP/1.1\nHost: a\n\n", 24, 3);
    scan = 0;
    cr_assert_eq(http_msg_find_end(&q, &scan, 16384), 24);
    mbufq_purge(&q);
}

Test(http_msg, body_over_segments)
{
    const char *b = "4\r\nwiki\r\n5\r\npedia\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    struct http_msg m;
    struct mbufq q;
    enum http_verdict v;

    for (size_t seg = 1; seg < 12; seg++) {
        uint32_t n;
        cr_assert_eq(parse(&m, HTTP_REQUEST,
                           "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"),
                     HTTP_V_OK);
        fill(&q, b, strlen(b), seg);
        n = http_msg_body_q(&m, &q, 10, &v);
        cr_assert_eq(n, 10);
        mbufq_drop_front(&q, n);
        n = http_msg_body_q(&m, &q, UINT32_MAX, &v);
        cr_assert_eq(v, HTTP_V_OK);
        cr_assert(m.done);
        cr_assert_eq(n + 10, strlen(b) - strlen("GET / HTTP/1.1\r\n"));
        mbufq_purge(&q);
    }
}

Test(http_msg, empty_lines_before_a_request)
{
    struct mbufq q;

    fill(&q, "\r\n\r\nGET / HTTP/1.1\r\n", 20, 3);
    cr_assert_eq(http_msg_leading_crlf(&q), 4);
    mbufq_purge(&q);
    fill(&q, "GET / HTTP/1.1\r\n", 16, 3);
    cr_assert_eq(http_msg_leading_crlf(&q), 0);
    mbufq_purge(&q);
}

Test(http_msg, copy_from_queue)
{
    const char *r = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    char out[64] = "";
    struct mbufq q;

    fill(&q, r, strlen(r), 4);
    http_msg_copy(&q, (uint32_t)strlen(r), out);
    cr_assert_str_eq(out, r);
    mbufq_purge(&q);
}

Test(http_msg, rewrite_request_cookie_and_xff)
{
    const char *r = "GET /x HTTP/1.1\r\nHost: a\r\nCookie: a=1; MS-WSMAN=0123456789abcdef; b=2\r\n"
                    "Cookie: MS-WSMAN=ffff\r\nAccept: */*\r\n\r\n";
    char out[1024];
    struct http_msg m;
    int n;

    cr_assert_eq(parse(&m, HTTP_REQUEST, r), HTTP_V_OK);
    n = http_rewrite_request(r, &hd, "MS-WSMAN", 8, "192.168.112.20", out, sizeof(out));
    cr_assert_gt(n, 0);
    out[n] = 0;
    cr_assert_str_eq(out, "GET /x HTTP/1.1\r\nHost: a\r\nCookie: a=1; b=2\r\nAccept: */*\r\n"
                          "X-Forwarded-For: 192.168.112.20\r\n\r\n");
    /* What goes on parses again. */
    cr_assert_eq(parse(&m, HTTP_REQUEST, out), HTTP_V_OK);
    /* Nothing to strip, no XFF: as it came. */
    cr_assert_eq(parse(&m, HTTP_REQUEST, r), HTTP_V_OK);
    n = http_rewrite_request(r, &hd, NULL, 0, NULL, out, sizeof(out));
    cr_assert_eq((size_t)n, strlen(r));
    cr_assert(memcmp(out, r, strlen(r)) == 0);
    /* Too small an output. */
    cr_assert_eq(http_rewrite_request(r, &hd, "MS-WSMAN", 8, "1.2.3.4", out, 20), -1);
}

Test(http_msg, rewrite_response_set_cookie)
{
    const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
    const char *sc = "MS-WSMAN=0123456789abcdef; path=/";
    char out[512];
    struct http_msg m;
    int n;

    cr_assert_eq(parse(&m, HTTP_RESPONSE, r), HTTP_V_OK);
    n = http_rewrite_response(r, &hd, sc, strlen(sc), out, sizeof(out));
    cr_assert_gt(n, 0);
    out[n] = 0;
    cr_assert_str_eq(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                          "Set-Cookie: MS-WSMAN=0123456789abcdef; path=/\r\n"
                          "Cache-Control: private\r\n\r\n");
    cr_assert_eq(parse(&m, HTTP_RESPONSE, out), HTTP_V_OK);
    cr_assert_eq(hd.content_length, 2);
}

Test(http_msg, error_responses_are_valid_and_short)
{
    static const unsigned codes[] = {400, 408, 431, 502, 503, 504};
    char out[512];
    struct http_msg m;
    enum http_verdict v;

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        int n = http_error_response(codes[i], out, sizeof(out));
        uint32_t hl;
        cr_assert_gt(n, 0);
        out[n] = 0;
        cr_assert_eq(parse(&m, HTTP_RESPONSE, out), HTTP_V_OK, "%s", out);
        cr_assert_eq(hd.status, codes[i]);
        cr_assert(!hd.keep_alive, "Connection: close");
        hl = block_len(out);
        cr_assert_eq(http_msg_body(&m, out + hl, (uint32_t)n - hl, &v), (uint32_t)n - hl);
        cr_assert(m.done, "Content-Length matches the body");
        cr_assert(strstr(out + hl, "lbd") != NULL);
        cr_assert_lt(n, 256);
    }
}

Test(http_msg, empty_values_pass_and_rewrite)
{
    const char *r = "GET /who HTTP/1.1\r\nHost:\r\nX-Empty:   \r\n\r\n";
    char out[256];
    struct http_msg m;
    int n;

    cr_assert_eq(parse(&m, HTTP_REQUEST, r), HTTP_V_OK);
    cr_assert_eq(hd.f[0].value.len, 0);
    cr_assert_eq(hd.f[1].value.len, 0);
    n = http_rewrite_request(r, &hd, "MS-WSMAN", 8, "10.0.0.1", out, sizeof(out));
    cr_assert_gt(n, 0);
    out[n] = 0;
    cr_assert_str_eq(out, "GET /who HTTP/1.1\r\nHost:\r\nX-Empty:   \r\nX-Forwarded-For: 10.0.0.1\r\n\r\n");
    cr_assert_eq(parse(&m, HTTP_REQUEST, out), HTTP_V_OK);
}
