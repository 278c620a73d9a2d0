#include "net/neigh.h"

#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>

#include "err.h"

struct neigh_table {
    struct rte_hash *h;
    uint32_t entries;
    uint64_t *updated_ms;   /* by hash position; control core only */
    uint32_t generation;    /* changes with every new or changed entry; atomic */
};

static uint64_t neigh_pack(const struct rte_ether_addr *mac, uint16_t port)
{
    uint64_t v = port;
    for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
        v = (v << 8) | mac->addr_bytes[i];
    return v;
}

static void neigh_unpack(uint64_t v, struct rte_ether_addr *mac, uint16_t *port)
{
    for (int i = RTE_ETHER_ADDR_LEN - 1; i >= 0; i--) {
        mac->addr_bytes[i] = (uint8_t)v;
        v >>= 8;
    }
    *port = (uint16_t)v;
}

struct neigh_table *neigh_create(const char *name, uint32_t entries, char *err, size_t errlen)
{
    struct rte_hash_parameters hp = {
        .name = name,
        .entries = entries,
        .key_len = sizeof(uint32_t),
        .hash_func = rte_hash_crc,
        .socket_id = (int)rte_socket_id(),
        .extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
    };
    struct neigh_table *t = calloc(1, sizeof(*t));

    if (t == NULL)
        goto err_nomem;
    t->entries = entries;
    t->updated_ms = calloc(entries + 1, sizeof(*t->updated_ms));
    if (t->updated_ms == NULL)
        goto err_nomem;
    t->h = rte_hash_create(&hp);
    if (t->h == NULL) {
        lbd_err_set(err, errlen, LBD_ENOMEM, "neighbour table: %s", rte_strerror(rte_errno));
        goto err_free;
    }
    return t;

err_nomem:
    lbd_err_set(err, errlen, LBD_ENOMEM, "neighbour table: out of memory");
err_free:
    neigh_free(t);
    return NULL;
}

void neigh_free(struct neigh_table *t)
{
    if (t == NULL)
        return;
    rte_hash_free(t->h);
    free(t->updated_ms);
    free(t);
}

int neigh_lookup(const struct neigh_table *t, uint32_t ip, struct rte_ether_addr *mac,
                 uint16_t *port)
{
    void *data;

    if (rte_hash_lookup_data(t->h, &ip, &data) < 0)
        return LBD_ENOENT;
    neigh_unpack((uint64_t)(uintptr_t)data, mac, port);
    return 0;
}

int neigh_update(struct neigh_table *t, uint32_t ip, const struct rte_ether_addr *mac,
                 uint16_t port, uint64_t now_ms)
{
    uint64_t v = neigh_pack(mac, port);
    void *old;
    int changed = 1;
    int pos;

    if (rte_hash_lookup_data(t->h, &ip, &old) >= 0 && (uint64_t)(uintptr_t)old == v)
        changed = 0;
    if (changed && rte_hash_add_key_data(t->h, &ip, (void *)(uintptr_t)v) < 0)
        return LBD_ENOMEM;
    pos = rte_hash_lookup(t->h, &ip);
    if (pos >= 0 && (uint32_t)pos <= t->entries)
        t->updated_ms[pos] = now_ms;
    if (changed)
        __atomic_add_fetch(&t->generation, 1, __ATOMIC_RELEASE);
    return changed;
}

uint32_t neigh_generation(const struct neigh_table *t)
{
    return __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE);
}

void neigh_walk(const struct neigh_table *t, int (*fn)(const struct neigh_entry *e, void *arg),
                void *arg)
{
    const void *key;
    void *data;
    uint32_t next = 0;
    int32_t pos;

    while ((pos = rte_hash_iterate(t->h, &key, &data, &next)) >= 0) {
        struct neigh_entry e = {0};
        memcpy(&e.ip, key, sizeof(e.ip));
        neigh_unpack((uint64_t)(uintptr_t)data, &e.mac, &e.port);
        e.updated_ms = (uint32_t)pos <= t->entries ? t->updated_ms[pos] : 0;
        if (fn(&e, arg) != 0)
            break;
    }
}

uint32_t neigh_count(const struct neigh_table *t)
{
    int32_t n = rte_hash_count(t->h);
    return n < 0 ? 0 : (uint32_t)n;
}
