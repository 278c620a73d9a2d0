/*
 * http_msg: HTTP/1.0 and 1.1 message framing for the Layer 7 proxy's HTTP mode (RFC 9112),
 * over the bytes of a TCP receive queue (an mbufq of the stack's segments).
 *
 * The parsing itself is Debian's http_parser (2.9.4, libhttp-parser-dev), streaming:
 * a message's header block is parsed in one piece once it has arrived whole (the proxy
 * has to rewrite it anyway), its body is fed segment by segment as it streams through
 * and never held. Debian builds the library with HTTP_PARSER_STRICT=0; on top of what
 * that build refuses (Content-Length with Transfer-Encoding, duplicate or malformed
 * Content-Length, a request's transfer coding other than a final chunked, bad chunk
 * sizes, control characters in values) http_msg_head refuses what it lets through and
 * RFC 9112 forbids or that serves request smuggling: a bare LF or CR as a line end,
 * obs-fold, a header name that is not a token or has white space before the colon,
 * a NUL anywhere, an HTTP version other than 1.0 / 1.1, CONNECT, several
 * Transfer-Encoding fields, Transfer-Encoding in an HTTP/1.0 request, and a missing or
 * repeated Host in HTTP/1.1 (tests/unit/proxy/test_http_msg.c has the corpus).
 *
 * A message's body is one of: none (requests without a length; responses to HEAD,
 * 1xx, 204, 304), Content-Length, chunked, or until the server closes (responses only).
 *
 * Pure functions of their arguments and one struct http_msg per message direction:
 * any lcore, no allocation, no logging.
 */
#ifndef LBD_HTTP_MSG_H
#define LBD_HTTP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>

struct mbufq;

#define HTTP_MAX_FIELDS 128     /* header fields of one message; more: 431 / 502 */

enum http_verdict {
    HTTP_V_OK = 0,
    HTTP_V_BAD,             /* malformed or smuggling-shaped: 400 (request), 502 (response) */
    HTTP_V_TOO_BIG,         /* too many header fields: 431 (request), 502 (response) */
};

enum http_body {
    HTTP_BODY_NONE = 0,
    HTTP_BODY_LENGTH,       /* Content-Length */
    HTTP_BODY_CHUNKED,
    HTTP_BODY_CLOSE,        /* response delimited by the server's close */
};

/* Bytes [off, off + len) of a header block. */
struct http_span {
    uint32_t off;
    uint32_t len;
};

struct http_field {
    struct http_span line;  /* the whole line, CRLF included */
    struct http_span name;
    struct http_span value; /* without surrounding white space */
};

/* What http_msg_head found in a header block. */
struct http_head {
    uint32_t len;           /* header block, final empty line included */
    uint16_t status;        /* responses */
    uint8_t method;         /* requests: enum http_method */
    uint8_t major, minor;
    bool keep_alive;        /* the connection may carry another message after this one */
    bool upgrade;           /* request: asks for an upgrade; response: 101 switching */
    bool expect_continue;   /* request: Expect: 100-continue */
    uint8_t body;           /* enum http_body */
    uint64_t content_length;
    uint32_t start_line;    /* bytes of the request or status line, CRLF included */
    uint32_t n_fields;
    struct http_field f[HTTP_MAX_FIELDS];
};

/* The parser state of one message in one direction. */
struct http_msg {
    http_parser p;
    bool done;              /* the message (body included) is complete */
    bool skip_body;         /* response to a HEAD request */
};

/* Starts a message: HTTP_REQUEST or HTTP_RESPONSE. skip_body: a response to HEAD. */
void http_msg_init(struct http_msg *m, enum http_parser_type type, bool skip_body);

/*
 * Parses the header block buf[0..len) of m's message (len as http_msg_find_end gave
 * it) into h and checks it (above). On HTTP_V_OK the body, if any, follows with
 * http_msg_body; m->done is set when there is none.
 */
enum http_verdict http_msg_head(struct http_msg *m, const char *buf, uint32_t len,
                                struct http_head *h);

/*
 * Feeds body bytes; returns how many belong to the message (fewer than len when it
 * ends inside them: the rest is the next message). Sets m->done at the end; *v is
 * HTTP_V_BAD on a framing error (a bad chunk).
 */
uint32_t http_msg_body(struct http_msg *m, const char *data, uint32_t len,
                       enum http_verdict *v);

/* The peer closed: completes a body delimited by the close; HTTP_V_BAD when the
 * message was cut short. */
enum http_verdict http_msg_eof(struct http_msg *m);

/*
 * Over the receive queue q: the length of the header block (up to and including the
 * first CRLF CRLF) when it lies within the first limit bytes, else 0. *scan is the
 * caller's memory of how far it looked before (0 at the start of a message), so
 * bytes that trickle in are looked at once.
 */
uint32_t http_msg_find_end(const struct mbufq *q, uint32_t *scan, uint32_t limit);

/* How many CR and LF bytes q starts with (empty lines before a request line, which
 * RFC 9112 section 2.2 has a server ignore; http_msg_head refuses them). */
uint32_t http_msg_leading_crlf(const struct mbufq *q);

/* Copies the first len bytes of q (len <= q->bytes) to dst. */
void http_msg_copy(const struct mbufq *q, uint32_t len, char *dst);

/* Feeds up to max bytes from the front of q to the body of m, as http_msg_body. */
uint32_t http_msg_body_q(struct http_msg *m, const struct mbufq *q, uint32_t max,
                         enum http_verdict *v);

/*
 * The request header block in[0..h->len) as it goes to the real server, into out
 * (cap bytes): the cookie named cookie (when cookie is not NULL) taken out of the
 * Cookie fields (a field left empty goes), and "X-Forwarded-For: <xff>" added when
 * xff is not NULL. Returns the length, or -1 when out is too small.
 */
int http_rewrite_request(const char *in, const struct http_head *h, const char *cookie,
                         size_t cookie_len, const char *xff, char *out, size_t cap);

/*
 * The response header block in[0..h->len) as it goes to the client, into out: with
 * "Set-Cookie: <set_cookie>" and "Cache-Control: private" added when set_cookie is
 * not NULL. Returns the length, or -1 when out is too small.
 */
int http_rewrite_response(const char *in, const struct http_head *h, const char *set_cookie,
                          size_t set_cookie_len, char *out, size_t cap);

/* lbd's own response for status (400, 408, 431, 502, 503, 504): a short text naming
 * lbd, "Connection: close". Returns the length, or -1 when out is too small. */
int http_error_response(unsigned status, char *out, size_t cap);

/* True when the name of field f of the block buf is name (case-insensitive). */
bool http_field_is(const char *buf, const struct http_field *f, const char *name);

#endif
