/*
 * tcp_testsvc: echo, discard and source services. See tcp_testsvc.h.
 */
#include "tcp/tcp_testsvc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "err.h"
#include "tcp/tcp.h"

/* Per-service byte position of the source stream is per connection; with no state
 * of our own we use the number of bytes the connection has sent so far. */
static uint64_t testsvc_sent(const struct tcp_conn *c)
{
    return (uint64_t)(c->snd_una - c->iss - 1) + c->sndq.bytes;
}

/* Moves received data to the send queue while there is room; half-closes once the
 * peer's FIN has been taken and everything echoed. */
static void testsvc_echo_pump(struct tcp_conn *c)
{
    uint32_t space;

    while (tcp_recv_bytes(c) > 0 && (space = tcp_send_space(c)) > 0) {
        struct rte_mbuf *m = tcp_recv(c, space);
        if (m == NULL)
            break;
        if (tcp_send(c, m) != 0) {
            rte_pktmbuf_free(m);
            tcp_abort(c);
            return;
        }
    }
    if (tcp_conn_state(c) == TCP_CLOSE_WAIT && tcp_recv_bytes(c) == 0)
        tcp_close(c);
}

static void testsvc_echo(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    switch (ev) {
    case TCP_EV_READABLE:
    case TCP_EV_WRITABLE:
    case TCP_EV_PEER_FIN:
        testsvc_echo_pump(c);
        break;
    default:
        break;
    }
}

static void testsvc_discard(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct rte_mbuf *m;

    switch (ev) {
    case TCP_EV_READABLE:
        while ((m = tcp_recv(c, UINT32_MAX)) != NULL)
            rte_pktmbuf_free(m);
        break;
    case TCP_EV_PEER_FIN:
        while ((m = tcp_recv(c, UINT32_MAX)) != NULL)
            rte_pktmbuf_free(m);
        tcp_close(c);
        break;
    default:
        break;
    }
}

/* The stream's line, repeated so that any 1,460 bytes of the stream are one copy from
 * it: the stream from position pos is testsvc_lines + pos % 63 (byte by byte through
 * tcp_testsvc_byte, a division a byte, the source took more of the worker than its
 * TCP did). */
#define TESTSVC_LINE "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
#define TESTSVC_LINE4 TESTSVC_LINE TESTSVC_LINE TESTSVC_LINE TESTSVC_LINE
#define TESTSVC_CHUNK 1460
static const char testsvc_lines[] = TESTSVC_LINE4 TESTSVC_LINE4 TESTSVC_LINE4 TESTSVC_LINE4
    TESTSVC_LINE4 TESTSVC_LINE4 TESTSVC_LINE;
_Static_assert(sizeof(TESTSVC_LINE) - 1 == 63, "the stream's line is 63 bytes");
_Static_assert(sizeof(testsvc_lines) - 1 >= 62 + TESTSVC_CHUNK, "a chunk from any line offset");

/* Fills the send buffer with the stream (fresh mbufs from the stack's pool). */
static void testsvc_source_fill(struct tcp_conn *c)
{
    struct rte_mempool *pool = c->st->conf.pool;
    uint32_t space;

    while ((space = tcp_send_space(c)) >= 1024) {
        struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
        uint64_t pos = testsvc_sent(c);
        uint16_t n;
        uint8_t *p;
        if (m == NULL) {
            tcp_alloc_failed(c->st);
            return;
        }
        n = (uint16_t)RTE_MIN(space, (uint32_t)rte_pktmbuf_tailroom(m));
        n = (uint16_t)RTE_MIN(n, (uint16_t)TESTSVC_CHUNK);
        p = (uint8_t *)rte_pktmbuf_append(m, n);
        memcpy(p, testsvc_lines + pos % 63, n);
        if (tcp_send(c, m) != 0) {
            rte_pktmbuf_free(m);
            return;
        }
    }
}

static void testsvc_source(struct tcp_conn *c, enum tcp_event ev, void *arg)
{
    struct rte_mbuf *m;

    switch (ev) {
    case TCP_EV_ESTABLISHED:
        tcp_set_more(c, true);          /* an endless stream: full segments only */
        testsvc_source_fill(c);
        break;
    case TCP_EV_WRITABLE:
        testsvc_source_fill(c);
        break;
    case TCP_EV_READABLE:
        while ((m = tcp_recv(c, UINT32_MAX)) != NULL)
            rte_pktmbuf_free(m);
        break;
    case TCP_EV_PEER_FIN:
        while ((m = tcp_recv(c, UINT32_MAX)) != NULL)
            rte_pktmbuf_free(m);
        tcp_close(c);
        break;
    default:
        break;
    }
}

int tcp_testsvc_setup(struct tcp_stack *st, const char *spec, char *err, size_t errlen)
{
    char buf[256], *save = NULL, *tok;

    if (strlen(spec) >= sizeof(buf))
        return lbd_err_set(err, errlen, LBD_EINVAL, "tcp test services: spec too long");
    strcpy(buf, spec);
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':'), *end;
        tcp_event_fn fn;
        long port;
        int rc;

        if (strncmp(tok, "retries=", 8) == 0) {
            long v = strtol(tok + 8, &end, 10);
            if (*end != '\0' || v < 1 || v > 30)
                return lbd_err_set(err, errlen, LBD_EINVAL, "tcp test services: bad '%s'", tok);
            st->conf.max_retries = (uint8_t)v;
            continue;
        }
        if (colon == NULL)
            return lbd_err_set(err, errlen, LBD_EINVAL, "tcp test services: '%s' is not "
                               "service:port", tok);
        *colon = '\0';
        port = strtol(colon + 1, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535)
            return lbd_err_set(err, errlen, LBD_EINVAL, "tcp test services: bad port '%s'",
                               colon + 1);
        if (strcmp(tok, "echo") == 0)
            fn = testsvc_echo;
        else if (strcmp(tok, "discard") == 0)
            fn = testsvc_discard;
        else if (strcmp(tok, "source") == 0)
            fn = testsvc_source;
        else
            return lbd_err_set(err, errlen, LBD_EINVAL, "tcp test services: unknown service "
                               "'%s' (echo, discard, source)", tok);
        rc = tcp_listen(st, 0, (uint16_t)port, 0, fn, NULL);
        if (rc != 0)
            return lbd_err_set(err, errlen, rc, "tcp test services: listen on %ld: %s", port,
                               lbd_strerror(rc));
    }
    return 0;
}
