/*
 * mbufq: a byte queue made of mbuf segments, for TCP send and receive buffers.
 *
 * The queue links the segments it holds through their own `next` pointers (no
 * allocation of its own): appending a packet appends its segments, dropping bytes
 * from the front frees whole segments and moves the data offset of a partial one,
 * and reading a range hands out indirect mbufs attached to the queued segments
 * (rte_pktmbuf_attach), so payload is never copied (but for small payloads that fit
 * behind the last segment: mbufq_absorb). Only the per-segment fields
 * data_off, data_len and next are meaningful inside the queue.
 *
 * Single-threaded: a queue belongs to one connection of one worker.
 */
#ifndef LBD_MBUFQ_H
#define LBD_MBUFQ_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;

struct mbufq {
    struct rte_mbuf *head;
    struct rte_mbuf *tail;
    struct rte_mbuf *cur;   /* read cursor: a segment that starts at byte cur_off */
    uint32_t cur_off;
    uint32_t bytes;
    uint32_t segs;
};

static inline void mbufq_init(struct mbufq *q)
{
    q->head = q->tail = q->cur = (struct rte_mbuf *)0;
    q->cur_off = q->bytes = q->segs = 0;
}

/* Appends every segment of the packet m (ownership moves to the queue). Empty
 * segments are freed. Returns the number of segments added. */
uint32_t mbufq_append(struct mbufq *q, struct rte_mbuf *m);

/*
 * Small payloads without a segment each. A peer that sends one byte per segment would
 * otherwise cost an mbuf (2 KiB) per byte held, and the stack's segment budget is
 * shared by every connection of the worker. These copy the bytes of packet m (at most
 * MBUFQ_ABSORB_MAX of them) into the tailroom of the last segment they would follow,
 * when it is a direct mbuf (its own buffer) and they fit: bytes past its data_len are
 * referred to by no clone, so a segment already sent or handed out stays intact.
 * Return 1 when copied (m stays the caller's, to free), 0 when nothing changed.
 */
#define MBUFQ_ABSORB_MAX 512

/* Onto the queue's last segment (the queue grows by m->pkt_len bytes). */
int mbufq_absorb(struct mbufq *q, const struct rte_mbuf *m);

/* Onto last, the last segment of the packet head (head->pkt_len grows). */
int mbufq_pkt_absorb(struct rte_mbuf *head, struct rte_mbuf *last, const struct rte_mbuf *m);

/* Frees the first n bytes (n <= bytes). Returns the number of segments freed. */
uint32_t mbufq_drop_front(struct mbufq *q, uint32_t n);

/* Frees everything. Returns the number of segments freed. */
uint32_t mbufq_purge(struct mbufq *q);

/*
 * A packet of indirect mbufs (from pool) referencing bytes [off, off + len) of the
 * queue, with pkt_len and nb_segs set; NULL when len is 0, the range is outside
 * the queue, or the pool is empty (nothing leaks). The queue keeps its data.
 */
struct rte_mbuf *mbufq_clone(struct mbufq *q, uint32_t off, uint32_t len,
                             struct rte_mempool *pool);

/*
 * How many of the bytes [off, off + len) of the queue mbufq_clone would hand out in at
 * most max_segs segments (the rest, beyond the range or the queue, not counted): the
 * bound a transmit path with a segment limit puts on one packet. 0 when off is past
 * the end or max_segs is 0.
 */
uint32_t mbufq_span(struct mbufq *q, uint32_t off, uint32_t len, uint32_t max_segs);

/*
 * Removes up to max bytes from the front and returns them as a packet (pkt_len and
 * nb_segs set). Whole segments move as they are; when the first segment is longer
 * than max, its first max bytes are handed out as an indirect mbuf from pool.
 * *segs_out receives the number of segments the queue lost. NULL when empty, max is
 * 0 or the pool is empty.
 */
struct rte_mbuf *mbufq_pop(struct mbufq *q, uint32_t max, struct rte_mempool *pool,
                           uint32_t *segs_out);

/*
 * Cuts front bytes from the start and back bytes from the end of the packet *m
 * (freeing segments that become empty, fixing pkt_len and nb_segs). *m becomes
 * NULL when nothing is left. Returns 0, or -1 when front + back > pkt_len (then *m
 * is freed and NULL).
 */
int mbufq_pkt_trim(struct rte_mbuf **m, uint32_t front, uint32_t back);

#endif
