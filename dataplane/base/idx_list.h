/*
 * idx_list: a doubly linked list threaded by index through the elements of a fixed
 * array, oldest at the head.
 *
 * The TIME_WAIT table and the neighbour table keep their entries in preallocated
 * arrays and need them in age order (expiry, least recently confirmed): each element
 * embeds a struct idx_link, the table holds a struct idx_list. Indexes, not pointers,
 * so that a link costs 8 bytes and the arrays stay position-independent. Neither
 * DPDK nor sys/queue.h has an index-linked list; this is the 40 lines of it.
 *
 * idx_list_unlink and idx_list_append take the array and the member's name:
 *     idx_list_append(&t->age, t->meta, link, pos);
 * Not thread-safe: the table's owner only.
 */
#ifndef LBD_IDX_LIST_H
#define LBD_IDX_LIST_H

#include <stddef.h>
#include <stdint.h>

#define IDX_NONE UINT32_MAX     /* no element: an end of the list, or an empty list */

struct idx_link {
    uint32_t prev, next;
};

struct idx_list {
    uint32_t head, tail;        /* oldest, newest (IDX_NONE: empty) */
};

static inline void idx_list_init(struct idx_list *l)
{
    l->head = l->tail = IDX_NONE;
}

/* The link of element i of an array of elements stride bytes apart, the link at off. */
static inline struct idx_link *idx_link_at(void *base, size_t stride, size_t off, uint32_t i)
{
    return (struct idx_link *)((char *)base + (size_t)i * stride + off);
}

static inline void idx_list_unlink_(struct idx_list *l, void *base, size_t stride, size_t off,
                                    uint32_t i)
{
    struct idx_link *e = idx_link_at(base, stride, off, i);

    if (e->prev != IDX_NONE)
        idx_link_at(base, stride, off, e->prev)->next = e->next;
    else
        l->head = e->next;
    if (e->next != IDX_NONE)
        idx_link_at(base, stride, off, e->next)->prev = e->prev;
    else
        l->tail = e->prev;
    e->prev = e->next = IDX_NONE;
}

static inline void idx_list_append_(struct idx_list *l, void *base, size_t stride, size_t off,
                                    uint32_t i)
{
    struct idx_link *e = idx_link_at(base, stride, off, i);

    e->prev = l->tail;
    e->next = IDX_NONE;
    if (l->tail != IDX_NONE)
        idx_link_at(base, stride, off, l->tail)->next = i;
    else
        l->head = i;
    l->tail = i;
}

/* Removes element i of arr (whose struct idx_link is member) from the list. */
#define idx_list_unlink(l, arr, member, i) \
    idx_list_unlink_((l), (arr), sizeof(*(arr)), offsetof(__typeof__(*(arr)), member), (i))
/* Links element i of arr at the tail (the newest end). */
#define idx_list_append(l, arr, member, i) \
    idx_list_append_((l), (arr), sizeof(*(arr)), offsetof(__typeof__(*(arr)), member), (i))
/* The element after i, IDX_NONE at the tail. */
#define idx_list_next(arr, member, i) ((arr)[(i)].member.next)

#endif
