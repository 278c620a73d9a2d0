/*
 * The index-linked list (idx_list.h): order kept through appends and unlinks at the
 * head, the middle and the tail, with the link in the middle of its element.
 */
#include <criterion/criterion.h>

#include "base/idx_list.h"

struct elem {
    uint64_t before;
    struct idx_link link;
    uint16_t after;
};

/* The list from head to tail as a string of indexes ("" when empty), checking the
 * back links on the way. */
static const char *order(const struct idx_list *l, struct elem *a)
{
    static char buf[64];
    size_t n = 0;
    uint32_t prev = IDX_NONE;

    for (uint32_t i = l->head; i != IDX_NONE; i = idx_list_next(a, link, i)) {
        cr_assert_eq(a[i].link.prev, prev, "element %u links back to %u", i, prev);
        buf[n++] = (char)('0' + i);
        prev = i;
    }
    cr_assert_eq(l->tail, prev, "the tail is the last element");
    buf[n] = '\0';
    return buf;
}

Test(idx_list, keeps_order_through_appends_and_unlinks)
{
    struct elem a[6] = {0};
    struct idx_list l;

    idx_list_init(&l);
    cr_assert_str_eq(order(&l, a), "");
    for (uint32_t i = 0; i < 6; i++)
        idx_list_append(&l, a, link, i);
    cr_assert_str_eq(order(&l, a), "012345");
    idx_list_unlink(&l, a, link, 0);            /* the head */
    idx_list_unlink(&l, a, link, 3);            /* the middle */
    idx_list_unlink(&l, a, link, 5);            /* the tail */
    cr_assert_str_eq(order(&l, a), "124");
    cr_assert_eq(a[3].link.prev, IDX_NONE, "an unlinked element links nowhere");
    cr_assert_eq(a[3].link.next, IDX_NONE);
    idx_list_append(&l, a, link, 0);            /* moved to the newest end */
    idx_list_unlink(&l, a, link, 2);
    idx_list_append(&l, a, link, 2);
    cr_assert_str_eq(order(&l, a), "1402");
    for (uint32_t i = 0; i < 6; i++)
        cr_assert_eq(a[i].before, 0, "nothing outside the link is written");
    idx_list_unlink(&l, a, link, 1);
    idx_list_unlink(&l, a, link, 4);
    idx_list_unlink(&l, a, link, 0);
    idx_list_unlink(&l, a, link, 2);
    cr_assert_str_eq(order(&l, a), "");
    cr_assert_eq(l.head, IDX_NONE);
}
