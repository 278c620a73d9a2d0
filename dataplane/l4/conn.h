/*
 * conn: a worker's Layer 4 connection table.
 *
 * One table per worker, written and read by that worker only (DESIGN.md section 1:
 * both directions of a flow meet on the client's worker), so no locks. A connection
 * is found from either direction: the client's packet (client -> VIP:port) and the
 * real server's (real server -> client) are two keys of one rte_hash pointing at the
 * same entry, the direction in the low bit of the data pointer. Entries come from a
 * pool allocated at set-up, so the hot path never allocates.
 *
 * Expiry runs on the worker's timer wheel with lazy refresh: a packet only stores
 * its time in the entry; when the timer fires, an entry used since is re-armed for
 * the rest of its timeout, an idle one is deleted. The timeout depends on the state:
 * TCP handshake, established and closing, and UDP (conn_table_set_timeouts). A state
 * change to a shorter timeout re-arms at once.
 *
 * The real server is stored by value (address, port) and by identity (snapshot.h),
 * so a reconfig never breaks a connection; active counts by counter index feed the
 * wlc scheduler and max_conns.
 */
#ifndef LBD_CONN_H
#define LBD_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <netinet/in.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>

#include "base/slot_stack.h"
#include "base/twheel.h"

enum conn_state {
    CONN_TCP_HANDSHAKE = 0,
    CONN_TCP_ESTABLISHED,
    CONN_TCP_CLOSING,
    CONN_UDP,
    CONN_STATE_MAX
};

enum conn_dir { CONN_DIR_FORWARD = 0, CONN_DIR_REVERSE = 1 };

#define CONN_F_PERSIST 0x01     /* holds a reference on a persistence entry */
#define CONN_F_REPLIED 0x02     /* the real server has answered (TCP) */
#define CONN_F_NH_FWD 0x04      /* nh[CONN_DIR_FORWARD] is cached */
#define CONN_F_NH_REV 0x08      /* nh[CONN_DIR_REVERSE] is cached */
#define CONN_F_HALTED 0x10      /* closed by halt: both sides were sent an RST */
#define CONN_F_SEQ_FWD 0x20     /* seq_end[CONN_DIR_FORWARD] is set (TCP) */
#define CONN_F_SEQ_REV 0x40     /* seq_end[CONN_DIR_REVERSE] is set (TCP) */
#define CONN_F_SEQ_SYNC 0x80    /* seq_end[CONN_DIR_REVERSE] is the master's (HA sync): a
                                 * floor, not yet what went through here */

/* The first FIN or RST an entry saw, and from which side (conn.closed_by). */
enum conn_close {
    CONN_CLOSE_NONE = 0,
    CONN_CLOSE_CLIENT_FIN,
    CONN_CLOSE_SERVER_FIN,
    CONN_CLOSE_CLIENT_RST,
    CONN_CLOSE_SERVER_RST,
};

/* Why an entry is deleted (the delete hook's argument). */
enum conn_end {
    CONN_END_EXPIRED = 0,       /* its timer: idle for its state's timeout */
    CONN_END_HALTED,            /* its real server is halted */
    CONN_END_SYNC,              /* the HA peer's record ended or replaced it */
};

/* A packet's addresses as they sit in it (network order). */
struct conn_key {
    uint32_t src_ip;
    uint32_t dst_ip;
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t proto;
    uint8_t pad[3];
};

struct conn_table;

/* Slots of the reverse-source counts (struct conn_table, conn_may_reverse). */
#define CONN_REV_SRC_SLOTS 4096u

struct conn {
    struct twheel_timer timer;
    struct conn_table *table;
    uint64_t last_seen;         /* ms, worker clock */
    uint32_t client_ip;         /* network order, all four */
    uint32_t vip;
    uint32_t rs_ip;
    uint16_t client_port;
    uint16_t vport;
    uint16_t rs_port;
    uint8_t closed_by;          /* enum conn_close */
    uint8_t log : 1;            /* the service logs it (l4_log.h): set by the creator */
    uint8_t synproxy : 1;       /* opened by the SYN proxy: sequence numbers translated
                                 * (synproxy.h); set by it, cleared by conn_create */
    uint32_t rs_id;             /* real server identity (snapshot.h) */
    uint16_t rs_idx;            /* its counter index */
    uint16_t vs_slot;           /* service slot: counters, persistence key */
    uint8_t proto;
    uint8_t state;              /* enum conn_state */
    uint8_t flags;              /* CONN_F_* */
    uint8_t halt_tries;         /* CONN_F_HALTED: RSTs re-sent to the client so far */
    uint32_t persist_ref;       /* with CONN_F_PERSIST: the entry held (persist_hold) */
    /* TCP, by direction: the end (host order) of the furthest segment that side has sent
     * through here, so that the RST a halt sends the other side is at the sequence
     * number it expects whatever segment (a retransmission, a window probe) comes. */
    uint32_t seq_end[2];
    /* Next hops by direction (towards the real server, towards the client), cached by
     * l4.c while the neighbour table and the snapshot keep these generations. */
    uint32_t nh_neigh_gen;
    uint32_t nh_snap_gen;
    struct rte_ether_addr nh_mac[2];
    uint16_t nh_port[2];
    /* For the traffic log (l4_log.h): when it started (ms, the low 32 bits of the worker
     * clock: durations up to 49 days) and the packets carried here by direction (0 for
     * an entry installed from the HA peer until packets go through it). Bytes are not
     * counted per entry: 16 bytes more would take the entry past two cache lines. */
    uint32_t created;
    uint32_t packets[2];
};

_Static_assert(sizeof(struct conn) == 128, "a connection entry is two cache lines");

/* Called just before a connection is deleted (expiry or conn_delete), with why. */
typedef void (*conn_delete_fn)(const struct conn *c, uint64_t now, enum conn_end why,
                               void *arg);
/* Called when the expiry timer finds a connection used since and re-arms it. */
typedef void (*conn_refresh_fn)(const struct conn *c, void *arg);

/* Called when the timer of a connection closed by halt (CONN_F_HALTED) fires: returns
 * the ms after which to call it again, or 0 to delete the entry now. */
typedef uint32_t (*conn_halted_fn)(struct conn *c, uint64_t now, void *arg);

struct conn_table {
    struct rte_hash *hash;      /* conn_key -> conn | direction */
    struct conn *pool;
    struct slot_stack free;     /* free pool entries */
    struct twheel *wheel;
    uint32_t *active;           /* by real-server counter index; SNAP_RS_IDS entries */
    uint32_t timeout_ms[CONN_STATE_MAX];
    conn_delete_fn on_delete;
    void *on_delete_arg;
    conn_halted_fn on_halted;
    void *on_halted_arg;
    conn_refresh_fn on_refresh;
    void *on_refresh_arg;
    uint64_t expired;           /* deleted by their timer */
    uint32_t half_open;         /* entries in CONN_TCP_HANDSHAKE */
    uint32_t gen;               /* moves on every insertion and deletion
                                   (conn_lookup_bulk's results hold until it does) */
    /* Connections by a hash of their reverse key's source (the real server's address
     * and port, conn_rev_src_slot): a packet from a source whose slot is 0 has no
     * reverse entry, and the worker skips its look-up (conn_may_reverse). Real servers
     * and their ports are few, so a routed packet's source rarely shares a slot. */
    uint32_t rev_src[CONN_REV_SRC_SLOTS];
};

/* The slot of rev_src counting the connections whose real server is src_ip:src_port
 * (network order). */
static inline uint32_t conn_rev_src_slot(uint32_t src_ip, uint16_t src_port)
{
    return rte_hash_crc_4byte(src_ip, 0x9e370000u | src_port) & (CONN_REV_SRC_SLOTS - 1);
}

/*
 * Owning worker. False when no connection of t has a reverse key from src_ip:src_port
 * (network order): a look-up of a key from there could only find a forward entry.
 * True when one may (a real server's address and port of t's connections hashes to
 * the same slot). One load from a 16 KiB array: cheaper than the miss in the hash
 * table it saves (two buckets read, both cache misses once the table outgrows the
 * cache). By address and port, so that a real server's own traffic (other ports) is
 * told apart from its answers too.
 */
static inline bool conn_may_reverse(const struct conn_table *t, uint32_t src_ip,
                                    uint16_t src_port)
{
    return t->rev_src[conn_rev_src_slot(src_ip, src_port)] != 0;
}

/* Why conn_create failed. */
enum conn_err { CONN_OK = 0, CONN_FULL, CONN_COLLISION };

/*
 * Set-up (any core, before the owning worker runs): a table for capacity connections
 * on NUMA socket `socket`, timers on wheel, active counts in active[SNAP_RS_IDS]
 * (owned by the caller, zeroed). name must be unique. NULL on allocation failure.
 * Timeouts start at the config defaults.
 */
struct conn_table *conn_table_create(const char *name, uint32_t capacity, int socket,
                                     struct twheel *wheel, uint32_t *active);

/* Set-up or owning worker: frees the table and every entry (their timers cancelled). */
void conn_table_free(struct conn_table *t);

/* Owning worker: timeouts by state, ms (applies from each entry's next timer run). */
void conn_table_set_timeouts(struct conn_table *t, const uint32_t ms[CONN_STATE_MAX]);

/* Owning worker: the hook run before every deletion (persistence references). */
void conn_table_on_delete(struct conn_table *t, conn_delete_fn fn, void *arg);
void conn_table_on_halted(struct conn_table *t, conn_halted_fn fn, void *arg);

/* Fires c's timer at `at` (ms, worker clock) instead of its state's timeout: for an
 * entry closed by halt, whose timer then goes to on_halted. */
void conn_arm(struct conn *c, uint64_t at);

/* Owning worker: the hook run when the expiry timer re-arms a busy entry (HA sync). */
void conn_table_on_refresh(struct conn_table *t, conn_refresh_fn fn, void *arg);
/* Owning worker. The connection k belongs to, and *dir, or NULL. */
struct conn *conn_lookup(const struct conn_table *t, const struct conn_key *k,
                         enum conn_dir *dir);

/* Most keys one conn_lookup_bulk takes (rte_hash's bulk look-up takes 64). */
#define CONN_LOOKUP_BULK_MAX 32

/*
 * Owning worker. conn_lookup of n keys (1..CONN_LOOKUP_BULK_MAX) at once: out[i] and
 * dir[i] for keys[i] (out[i] NULL for a miss). One pass computes the hashes and
 * prefetches every bucket before any is compared, so the cache misses of a burst
 * overlap; the entries found are prefetched too. The results hold while
 * conn_table_gen(t) stays what it was when they were taken: an insertion or a
 * deletion in between (a packet of the same burst opening or closing a connection)
 * calls for conn_lookup again.
 */
void conn_lookup_bulk(const struct conn_table *t, const struct conn_key *const *keys,
                      unsigned n, struct conn **out, uint8_t *dir);

/* The table's generation (conn_lookup_bulk). */
static inline uint32_t conn_table_gen(const struct conn_table *t)
{
    return t->gen;
}

/*
 * Owning worker. A new connection for the client's packet fwd (client -> VIP:port),
 * to the real server rs_ip:rs_port (network order), in state `state`, last seen and
 * created now, no packets counted, log off. Both keys are inserted and the timer
 * armed. NULL with *why set when the table is full or the reverse key is taken by
 * another connection.
 */
struct conn *conn_create(struct conn_table *t, const struct conn_key *fwd, uint32_t rs_ip,
                         uint16_t rs_port, uint16_t rs_idx, uint32_t rs_id, uint16_t vs_slot,
                         enum conn_state state, uint64_t now, enum conn_err *why);

/*
 * Owning worker: a packet of c travelled in dir with TCP flags tcp_flags (0 for UDP)
 * at now. Stores the time, moves the TCP state (handshake -> established once the
 * server answered and the client acknowledged; FIN or RST -> closing, the first one
 * noted in closed_by; a new SYN from the client on a closing entry -> handshake
 * again: a new connection, for which the caller, having logged the old one, calls
 * conn_restart). Counts no packet (the caller does, in packets[dir]). Inline: a UDP
 * packet only stores its time; TCP's state machine is conn_update_tcp.
 */
void conn_update_tcp(struct conn *c, enum conn_dir dir, uint8_t tcp_flags, uint64_t now);

static inline void conn_update(struct conn *c, enum conn_dir dir, uint8_t tcp_flags,
                               uint64_t now)
{
    c->last_seen = now;
    if (c->proto == IPPROTO_TCP)
        conn_update_tcp(c, dir, tcp_flags, now);
}

/* Owning worker: c carries a new connection from now: created now, no packet counted,
 * no FIN or RST seen. */
static inline void conn_restart(struct conn *c, uint64_t now)
{
    c->created = (uint32_t)now;
    c->packets[0] = c->packets[1] = 0;
    c->closed_by = CONN_CLOSE_NONE;
}

/* Owning worker: deletes c now (the delete hook runs, told why). */
void conn_delete(struct conn_table *t, struct conn *c, uint64_t now, enum conn_end why);

/* Connections in the table. */
static inline uint32_t conn_count(const struct conn_table *t)
{
    return slot_stack_used(&t->free);
}

#endif
