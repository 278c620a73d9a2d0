/*
 * mbufq: mbuf segment queues. See mbufq.h. Hot path: no allocation but the
 * indirect mbufs of a clone, no copies but of small payloads (absorb).
 */
#include "base/mbufq.h"

#include <string.h>

#include <rte_mbuf.h>

uint32_t mbufq_append(struct mbufq *q, struct rte_mbuf *m)
{
    uint32_t added = 0;

    while (m != NULL) {
        struct rte_mbuf *next = m->next;
        m->next = NULL;
        if (m->data_len == 0) {
            rte_pktmbuf_free_seg(m);
        } else {
            if (q->tail != NULL)
                q->tail->next = m;
            else
                q->head = m;
            q->tail = m;
            q->bytes += m->data_len;
            q->segs++;
            added++;
        }
        m = next;
    }
    return added;
}

/* Copies m's bytes behind last's data when allowed (see mbufq.h). */
static int mbufq_seg_absorb(struct rte_mbuf *last, const struct rte_mbuf *m)
{
    uint8_t *dst;

    if (last == NULL || m->pkt_len == 0 || m->pkt_len > MBUFQ_ABSORB_MAX ||
        !RTE_MBUF_DIRECT(last) || m->pkt_len > rte_pktmbuf_tailroom(last))
        return 0;
    dst = rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len);
    for (const struct rte_mbuf *s = m; s != NULL; s = s->next) {
        memcpy(dst, rte_pktmbuf_mtod(s, const uint8_t *), s->data_len);
        dst += s->data_len;
    }
    last->data_len = (uint16_t)(last->data_len + m->pkt_len);
    return 1;
}

int mbufq_absorb(struct mbufq *q, const struct rte_mbuf *m)
{
    if (!mbufq_seg_absorb(q->tail, m))
        return 0;
    q->bytes += m->pkt_len;
    return 1;
}

int mbufq_pkt_absorb(struct rte_mbuf *head, struct rte_mbuf *last, const struct rte_mbuf *m)
{
    if (!mbufq_seg_absorb(last, m))
        return 0;
    head->pkt_len += m->pkt_len;
    return 1;
}

uint32_t mbufq_drop_front(struct mbufq *q, uint32_t n)
{
    uint32_t freed = 0, cut;

    if (n > q->bytes)
        n = q->bytes;
    cut = n;
    /* The cursor stays when its segment starts at or after the cut (it is not freed or
     * trimmed): its offset less what went. A send queue is cut at every ACK, and a
     * seek from the head at every segment sent after it costs a walk of the queue: with
     * megabytes queued, most of a worker. */
    if (q->cur != NULL && q->cur_off >= cut)
        q->cur_off -= cut;
    else
        q->cur = NULL;
    while (n > 0 && q->head != NULL) {
        struct rte_mbuf *h = q->head;
        if (h->data_len <= n) {
            n -= h->data_len;
            q->bytes -= h->data_len;
            q->head = h->next;
            h->next = NULL;
            rte_pktmbuf_free_seg(h);
            q->segs--;
            freed++;
        } else {
            h->data_off = (uint16_t)(h->data_off + n);
            h->data_len = (uint16_t)(h->data_len - n);
            q->bytes -= n;
            n = 0;
        }
    }
    if (q->head == NULL)
        q->tail = NULL;
    return freed;
}

uint32_t mbufq_purge(struct mbufq *q)
{
    uint32_t segs = q->segs;
    struct rte_mbuf *m = q->head;

    while (m != NULL) {
        struct rte_mbuf *next = m->next;
        m->next = NULL;
        rte_pktmbuf_free_seg(m);
        m = next;
    }
    mbufq_init(q);
    return segs;
}

/* The segment holding byte off, and the offset of that segment's first byte. */
static struct rte_mbuf *mbufq_seek(struct mbufq *q, uint32_t off, uint32_t *seg_start)
{
    struct rte_mbuf *s = q->head;
    uint32_t start = 0;

    if (q->cur != NULL && q->cur_off <= off) {
        s = q->cur;
        start = q->cur_off;
    }
    while (s != NULL && start + s->data_len <= off) {
        start += s->data_len;
        s = s->next;
    }
    if (s != NULL) {
        q->cur = s;
        q->cur_off = start;
    }
    *seg_start = start;
    return s;
}

/* An indirect mbuf over bytes [o, o + n) of segment s, or NULL. */
static struct rte_mbuf *mbufq_ref(struct rte_mbuf *s, uint32_t o, uint32_t n,
                                  struct rte_mempool *pool)
{
    struct rte_mbuf *mi = rte_pktmbuf_alloc(pool);

    if (mi == NULL)
        return NULL;
    rte_pktmbuf_attach(mi, s);
    mi->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
    mi->data_off = (uint16_t)(s->data_off + o);
    mi->data_len = (uint16_t)n;
    mi->pkt_len = n;
    return mi;
}

struct rte_mbuf *mbufq_clone(struct mbufq *q, uint32_t off, uint32_t len,
                             struct rte_mempool *pool)
{
    struct rte_mbuf *head = NULL, *tail = NULL, *s;
    uint32_t start, left = len, nsegs = 0;

    if (len == 0 || off + len > q->bytes || off + len < off)
        return NULL;
    s = mbufq_seek(q, off, &start);
    while (left > 0 && s != NULL) {
        uint32_t o = off - start;
        uint32_t n = RTE_MIN((uint32_t)s->data_len - o, left);
        struct rte_mbuf *mi = mbufq_ref(s, o, n, pool);
        if (mi == NULL) {
            rte_pktmbuf_free(head);
            return NULL;
        }
        if (tail != NULL)
            tail->next = mi;
        else
            head = mi;
        tail = mi;
        nsegs++;
        left -= n;
        off += n;
        start += s->data_len;
        s = s->next;
    }
    head->pkt_len = len;
    head->nb_segs = (uint16_t)nsegs;
    return head;
}

uint32_t mbufq_span(struct mbufq *q, uint32_t off, uint32_t len, uint32_t max_segs)
{
    uint32_t start, got = 0;
    struct rte_mbuf *s;

    if (off >= q->bytes || max_segs == 0)
        return 0;
    if (len > q->bytes - off)
        len = q->bytes - off;
    s = mbufq_seek(q, off, &start);
    for (uint32_t n = 0; s != NULL && n < max_segs && got < len; n++) {
        got += (uint32_t)s->data_len - (off + got - start);
        start += s->data_len;
        s = s->next;
    }
    return got < len ? got : len;
}

struct rte_mbuf *mbufq_pop(struct mbufq *q, uint32_t max, struct rte_mempool *pool,
                           uint32_t *segs_out)
{
    struct rte_mbuf *head = NULL, *tail = NULL;
    uint32_t got = 0, nsegs = 0;

    *segs_out = 0;
    if (q->head == NULL || max == 0)
        return NULL;
    q->cur = NULL;
    if (q->head->data_len > max) {
        head = mbufq_ref(q->head, 0, max, pool);
        if (head == NULL)
            return NULL;
        head->nb_segs = 1;
        mbufq_drop_front(q, max);
        return head;
    }
    while (q->head != NULL && got + q->head->data_len <= max) {
        struct rte_mbuf *s = q->head;
        q->head = s->next;
        s->next = NULL;
        got += s->data_len;
        q->bytes -= s->data_len;
        q->segs--;
        nsegs++;
        if (tail != NULL)
            tail->next = s;
        else
            head = s;
        tail = s;
    }
    if (q->head == NULL)
        q->tail = NULL;
    head->pkt_len = got;
    head->nb_segs = (uint16_t)nsegs;
    *segs_out = nsegs;
    return head;
}

int mbufq_pkt_trim(struct rte_mbuf **mp, uint32_t front, uint32_t back)
{
    struct rte_mbuf *m = *mp, *s, *prev;
    uint32_t keep, nsegs = 0, seen = 0;

    if (front + back > m->pkt_len) {
        rte_pktmbuf_free(m);
        *mp = NULL;
        return -1;
    }
    keep = m->pkt_len - front - back;
    /* Front: free whole segments, then move into the first one kept. */
    while (m != NULL && front >= m->data_len) {
        struct rte_mbuf *next = m->next;
        front -= m->data_len;
        m->next = NULL;
        rte_pktmbuf_free_seg(m);
        m = next;
    }
    if (m == NULL || keep == 0) {
        if (m != NULL)
            rte_pktmbuf_free(m);
        *mp = NULL;
        return 0;
    }
    m->data_off = (uint16_t)(m->data_off + front);
    m->data_len = (uint16_t)(m->data_len - front);
    /* Back: keep `keep` bytes, free the rest. */
    prev = NULL;
    for (s = m; s != NULL && seen < keep; s = s->next) {
        if (seen + s->data_len > keep)
            s->data_len = (uint16_t)(keep - seen);
        seen += s->data_len;
        nsegs++;
        prev = s;
    }
    if (prev->next != NULL) {
        rte_pktmbuf_free(prev->next);
        prev->next = NULL;
    }
    m->pkt_len = keep;
    m->nb_segs = (uint16_t)nsegs;
    *mp = m;
    return 0;
}
