/*
 * test_mbufq: the byte queue of mbuf segments (the TCP stack's send and receive
 * queues). Clones at any offset carry the queue's bytes, and the seek cursor that
 * makes a clone after the last one cheap stays right across the front being dropped
 * (an ACK) and the tail growing (a write).
 */
#include <criterion/criterion.h>

#include <string.h>

#include <rte_mbuf.h>

#include "base/mbufq.h"
#include "eal.h"

static struct rte_mempool *pool;

static void setup(void)
{
    test_eal_init();
    pool = rte_pktmbuf_pool_create("q_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    cr_assert_not_null(pool);
}

TestSuite(mbufq, .init = setup);

static uint8_t byte_at(uint64_t i)
{
    return (uint8_t)(i * 7 + i / 251);
}

/* A segment of n stream bytes from stream position pos. */
static struct rte_mbuf *seg(uint64_t pos, uint16_t n)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
    uint8_t *p;

    cr_assert_not_null(m);
    p = (uint8_t *)rte_pktmbuf_append(m, n);
    cr_assert_not_null(p);
    for (uint16_t i = 0; i < n; i++)
        p[i] = byte_at(pos + i);
    return m;
}

static void check_clone(struct mbufq *q, uint64_t base, uint32_t off, uint32_t len)
{
    struct rte_mbuf *c = mbufq_clone(q, off, len, pool), *s;
    uint32_t k = 0;

    cr_assert_not_null(c, "clone [%u, +%u) of %u", off, len, q->bytes);
    cr_assert_eq(c->pkt_len, len);
    for (s = c; s != NULL; s = s->next)
        for (uint16_t i = 0; i < s->data_len; i++, k++)
            cr_assert_eq(rte_pktmbuf_mtod(s, uint8_t *)[i], byte_at(base + off + k),
                         "byte %u of the clone at %u", k, off);
    cr_assert_eq(k, len);
    rte_pktmbuf_free(c);
}

/* As a send queue: written in 1,460-byte pieces, sent in 1,448-byte segments from
 * where the last one ended, cut at the front by ACKs that fall inside segments,
 * between them and beyond the last segment sent. */
Test(mbufq, clones_stay_right_while_the_front_is_dropped_and_the_tail_grows)
{
    struct mbufq q;
    uint64_t base = 0, written = 0;     /* stream positions of q's first byte, its end */
    uint32_t sent = 0;                  /* offset in q of the next segment to send */

    mbufq_init(&q);
    for (int round = 0; round < 400; round++) {
        while (q.bytes < 200000) {
            mbufq_append(&q, seg(written, 1460));
            written += 1460;
        }
        for (int i = 0; i < 3 && sent + 1448 <= q.bytes; i++) {
            check_clone(&q, base, sent, 1448);
            sent += 1448;
        }
        /* An ACK: every other one cuts inside a segment, some reach past the cursor. */
        uint32_t ack = round % 7 == 0 ? sent + 100 : (round % 2 ? 2 * 1448 : 1448 + 333);
        if (ack > q.bytes)
            ack = q.bytes;
        mbufq_drop_front(&q, ack);
        base += ack;
        sent = sent > ack ? sent - ack : 0;
        /* Past where the cursor was: a cursor not moved with the cut seeks wrong. */
        if (round % 5 == 0)
            check_clone(&q, base, q.bytes - 1448, 1448);
        if (round % 11 == 0)
            check_clone(&q, base, 0, 100);  /* the front: from the head again */
    }
    mbufq_purge(&q);
}
