/*
 * fuzz_http: arbitrary bytes as what a client sends to an HTTP-mode service, through
 * the proxy's framing (http_msg.h) the way proxy_http.c drives it: the first byte
 * picks the segment size of the receive queue, then the header block is found, parsed
 * and checked, rewritten (persistence cookie out, X-Forwarded-For in) and the rewritten
 * block must parse again; the body is fed from the queue, the cookie decoded. Nothing
 * may crash, read out of bounds, or produce a header block lbd itself would refuse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

#include "base/mbufq.h"
#include "proxy/http_cookie.h"
#include "proxy/http_msg.h"

#define LIMIT 16384

static struct rte_mempool *pool;
static struct http_head hd, hd2;
static char in[LIMIT], out[LIMIT + 1024];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char *eal[] = {"fuzz_http", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                   "--no-telemetry", "--log-level=error", "-l", "0", NULL};

    (void)argc;
    (void)argv;
    if (rte_eal_init(10, eal) < 0)
        abort();
    pool = rte_pktmbuf_pool_create("fuzz_http", 8192, 0, 0, 2048, SOCKET_ID_ANY);
    if (pool == NULL)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct siphash_key key = {1, 2};
    struct http_msg m, m2;
    struct mbufq q;
    struct http_span v;
    struct http_cookie_val cv;
    enum http_verdict verdict;
    uint32_t seg, len, scan = 0, off;
    int n;

    if (size < 1 || size > 4 * LIMIT)
        return 0;
    seg = (uint32_t)data[0] % 64 + 1;
    data++;
    size--;
    mbufq_init(&q);
    for (size_t o = 0; o < size; o += seg) {
        size_t k = size - o < seg ? size - o : seg;
        struct rte_mbuf *mb = rte_pktmbuf_alloc(pool);
        if (mb == NULL)
            abort();
        memcpy(rte_pktmbuf_append(mb, (uint16_t)k), data + o, k);
        mbufq_append(&q, mb);
    }
    off = http_msg_leading_crlf(&q);
    if (off > 0)
        mbufq_drop_front(&q, off);
    len = http_msg_find_end(&q, &scan, LIMIT);
    if (len == 0 || len > q.bytes)
        goto done;
    http_msg_copy(&q, len, in);
    http_msg_init(&m, HTTP_REQUEST, false);
    if (http_msg_head(&m, in, len, &hd) != HTTP_V_OK)
        goto done;
    mbufq_drop_front(&q, len);
    if (http_cookie_find(in, &hd, "MS-WSMAN", 8, &v)) {
        if (v.off + v.len > len)
            abort();
        if (http_cookie_decode(&key, in + v.off, v.len, &cv))
            http_cookie_fresh(&cv, 600, 3600, 1000);
    }
    n = http_rewrite_request(in, &hd, "MS-WSMAN", 8, "192.168.112.20", out, sizeof(out));
    if (n < 0)
        abort();    /* the output has room for what is added */
    http_msg_init(&m2, HTTP_REQUEST, false);
    verdict = http_msg_head(&m2, out, (uint32_t)n, &hd2);
    /* X-Forwarded-For may be the field over lbd's own limit: the server has its own. */
    if (!(verdict == HTTP_V_TOO_BIG && hd.n_fields == HTTP_MAX_FIELDS) &&
        (verdict != HTTP_V_OK || hd2.body != hd.body ||
         hd2.content_length != hd.content_length ||
         http_cookie_find(out, &hd2, "MS-WSMAN", 8, &v)))
        abort();    /* what lbd sends on must be what it would accept, same framing */
    while (!m.done && q.bytes > 0) {
        uint32_t k = http_msg_body_q(&m, &q, seg * 3, &verdict);
        if (verdict != HTTP_V_OK || k == 0)
            break;
        mbufq_drop_front(&q, k);
    }
    if (!m.done)
        http_msg_eof(&m);
done:
    mbufq_purge(&q);
    return 0;
}
