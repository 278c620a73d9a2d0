/*
 * tcp_tw: the TIME_WAIT table. See tcp_tw.h.
 * Hot path (entering TIME_WAIT, segments for an entry, expiry): no allocation, the
 * entries are preallocated; the hash is the control blocks' kind (rte_hash).
 */
#include "tcp/tcp_tw.h"

#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "err.h"
#include "tcp/tcp_output.h"
#include "tcp/tcp_tcb.h"
#include "tcp/tcp_timer.h"

_Static_assert(sizeof(struct tcp_tw_entry) == 56, "the docs give 56 bytes an entry");

#define TW_OF(t) ((struct tcp_stack *)((char *)(t) - offsetof(struct tcp_stack, tw.t_expire)))

/* Links entry i as the newest, expiring at now + time_wait_ms; arms the timer when
 * it is the only one (otherwise the timer is pending for an older one already). */
static void tcp_tw_link_tail(struct tcp_stack *st, uint32_t i)
{
    struct tcp_tw_table *t = &st->tw;
    struct tcp_tw_entry *e = &t->e[i];

    e->expire_ms = tcp_now(st) + st->conf.time_wait_ms;
    idx_list_append(&t->age, t->e, link, i);
    if (!twheel_pending(&t->t_expire))
        twheel_arm(st->conf.wheel, &t->t_expire, e->expire_ms);
}

void tcp_tw_remove(struct tcp_stack *st, struct tcp_tw_entry *e)
{
    struct tcp_tw_table *t = &st->tw;
    uint32_t i = (uint32_t)(e - t->e);

    rte_hash_del_key(t->by_key, &e->key);
    idx_list_unlink(&t->age, t->e, link, i);
    e->link.next = t->free;
    t->free = i;
    t->n--;
    st->n_state[TCP_TIME_WAIT]--;
    st->n_conns--;
}

void tcp_tw_restart(struct tcp_stack *st, struct tcp_tw_entry *e)
{
    uint32_t i = (uint32_t)(e - st->tw.e);

    idx_list_unlink(&st->tw.age, st->tw.e, link, i);
    tcp_tw_link_tail(st, i);
}

/*
 * The expiry timer: removes the entries due (oldest first, at most
 * TCP_TW_EXPIRE_BUDGET), then waits for the next one. It may fire before the oldest
 * entry is due (the one it was armed for was removed or restarted): it re-arms.
 */
static void tcp_tw_on_expire(struct twheel_timer *tm, uint64_t now)
{
    struct tcp_stack *st = TW_OF(tm);
    struct tcp_tw_table *t = &st->tw;

    for (unsigned k = 0; t->age.head != TCP_TW_NONE; k++) {
        struct tcp_tw_entry *e = &t->e[t->age.head];
        if (e->expire_ms > now) {
            twheel_arm(st->conf.wheel, &t->t_expire, e->expire_ms);
            return;
        }
        if (k == TCP_TW_EXPIRE_BUDGET) {
            twheel_arm(st->conf.wheel, &t->t_expire, now + 1);
            return;
        }
        tcp_tw_remove(st, e);
    }
}

struct tcp_tw_entry *tcp_tw_lookup(struct tcp_stack *st, const struct tcp_key *k)
{
    struct tcp_tw_table *t = &st->tw;
    struct tcp_tw_entry *e;
    void *data;

    if (t->n == 0 || rte_hash_lookup_data(t->by_key, k, &data) < 0)
        return NULL;
    e = &t->e[(uintptr_t)data];
    if (e->expire_ms <= tcp_now(st)) {
        tcp_tw_remove(st, e);
        return NULL;
    }
    return e;
}

void tcp_tw_enter(struct tcp_conn *c)
{
    struct tcp_stack *st = c->st;
    struct tcp_tw_table *t = &st->tw;
    struct tcp_tw_entry *e;
    uint32_t i;

    /* The ACK of the peer's FIN, while the block can still send it. */
    if (c->flags & (TCPF_ACKNOW | TCPF_DELACK))
        tcp_output_ack(c);
    e = tcp_tw_lookup(st, &c->key);
    if (e != NULL)
        tcp_tw_remove(st, e);           /* never two entries for one 4-tuple */
    if (t->free == TCP_TW_NONE) {
        /* Full: the oldest goes, as Linux's beyond tcp_max_tw_buckets. */
        st->stats.time_wait_evicted++;
        tcp_tw_remove(st, &t->e[t->age.head]);
    }
    i = t->free;
    e = &t->e[i];
    if (rte_hash_add_key_data(t->by_key, &c->key, (void *)(uintptr_t)i) < 0) {
        st->stats.time_wait_evicted++;  /* cannot happen with cap keys at most */
        tcp_tcb_free(c);
        return;
    }
    t->free = e->link.next;
    e->key = c->key;
    e->snd_nxt = c->snd_max;
    e->rcv_nxt = c->rcv_nxt;
    e->wnd = tcp_output_window(c);
    e->flags = (c->flags & TCPF_TS) ? TCP_TWF_TS : 0;
    e->ts_recent = c->ts_recent;
    e->ts_offset = c->ts_offset;
    e->chal_sec = c->chal_sec;
    e->chal_count = c->chal_count;
    tcp_tw_link_tail(st, i);
    t->n++;
    tcp_tcb_free(c);                    /* TIME_WAIT -> CLOSED: the counts drop */
    st->n_state[TCP_TIME_WAIT]++;
    st->n_conns++;
}

int tcp_tw_create(struct tcp_stack *st, char *err, size_t errlen)
{
    struct tcp_tw_table *t = &st->tw;
    struct rte_hash_parameters hp = {0};
    char name[RTE_HASH_NAMESIZE];
    uint64_t cap = st->conf.max_time_wait != 0 ? st->conf.max_time_wait
                                               : 4ull * st->conf.max_conns;

    if (cap > UINT32_MAX - 1)
        cap = UINT32_MAX - 1;
    idx_list_init(&t->age);
    t->free = TCP_TW_NONE;
    twheel_timer_init(&t->t_expire, tcp_tw_on_expire);
    t->cap = (uint32_t)cap;
    t->e = rte_zmalloc_socket("tcp_tw", sizeof(struct tcp_tw_entry) * t->cap,
                              RTE_CACHE_LINE_SIZE, st->conf.socket_id);
    if (t->e == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "tcp stack %s: no memory for %u TIME_WAIT "
                    "entries", st->conf.name, t->cap);
        return LBD_ENOMEM;
    }
    for (uint32_t i = t->cap; i-- > 0;) {
        t->e[i].link.next = t->free;
        t->free = i;
    }
    snprintf(name, sizeof(name), "tw_%s", st->conf.name);
    hp.name = name;
    hp.entries = t->cap < 8 ? 8 : t->cap;
    hp.key_len = sizeof(struct tcp_key);
    hp.hash_func = rte_hash_crc;
    hp.socket_id = st->conf.socket_id;
    hp.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    t->by_key = rte_hash_create(&hp);
    if (t->by_key == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "tcp stack %s: TIME_WAIT table: %s",
                    st->conf.name, rte_strerror(rte_errno));
        return LBD_ENOMEM;
    }
    return 0;
}

void tcp_tw_destroy(struct tcp_stack *st)
{
    struct tcp_tw_table *t = &st->tw;

    if (st->conf.wheel != NULL && t->t_expire.fn != NULL)
        twheel_cancel(st->conf.wheel, &t->t_expire);
    rte_hash_free(t->by_key);
    rte_free(t->e);
    t->by_key = NULL;
    t->e = NULL;
}
