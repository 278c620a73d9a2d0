/*
 * ha_proto: the wire format of the HA pair (adverts, state-sync batches, resync
 * requests), its authentication and its replay protection. Defined once here and
 * used by the daemon (control/ha.c) and the tests alike.
 *
 * Every message is one UDP datagram from the sender's self IP, port HA_UDP_PORT, to
 * the peer's self IP, port HA_UDP_PORT:
 *
 *   off len  field (multi-byte integers big-endian; addresses and ports as on the wire)
 *     0   4  magic "LBHA"
 *     4   1  version (1)
 *     5   1  type (enum ha_msg_type)
 *     6   1  vrid
 *     7   1  reserved (0)
 *     8   4  sender: the sender's self IP
 *    12   8  counter: strictly increasing per sender (start-up wall-clock seconds in
 *            the high 32 bits, a message count in the low 32), against replay
 *    20      body (by type, below)
 *   end  32  HMAC-SHA256 of everything before it, under the pair's shared key
 *
 *   advert (16 bytes): priority (1, 0 = demoted or in fault), state (1, enum
 *     ha_state), reserved (2), interval_ms (4), sync_tx (4: the last sync batch sent),
 *     sync_rx (4: the last sync batch received in order)
 *   sync (8 + 32 * n bytes): seq (4), n (2, <= HA_SYNC_MAX_RECS), flags (2,
 *     HA_SYNC_F_*), then n records of 32 bytes (struct ha_rec, below)
 *   resync request: no body
 *   config (12 + up to HA_CONFIG_CHUNK bytes): version (4), total (4: the whole text,
 *     <= HA_CONFIG_MAX), offset (4), then that part of the replicated config: the
 *     master's "virtual_services" as JSON text, sent in order
 *
 * Any core; no DPDK. A receiver accepts a message only when it decodes, its MAC
 * verifies under the key (constant-time compare), its sender is the peer and its
 * counter is above every counter accepted from that peer before (ha_replay_check).
 */
#ifndef LBD_HA_PROTO_H
#define LBD_HA_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HA_UDP_PORT 5798
#define HA_MAGIC 0x4c424841u        /* "LBHA" */
#define HA_VERSION 1
#define HA_HDR_LEN 20
#define HA_MAC_LEN 32
#define HA_ADVERT_BODY 16
#define HA_ADVERT_LEN (HA_HDR_LEN + HA_ADVERT_BODY + HA_MAC_LEN)
#define HA_SYNC_BODY_HDR 8
#define HA_REC_LEN 32
#define HA_SYNC_MAX_RECS 40         /* 1340 bytes: one datagram within a 1500 MTU */
#define HA_MSG_MAX (HA_HDR_LEN + HA_SYNC_BODY_HDR + HA_SYNC_MAX_RECS * HA_REC_LEN + HA_MAC_LEN)
#define HA_CONFIG_BODY_HDR 12
#define HA_CONFIG_CHUNK 1200
#define HA_CONFIG_MAX (1u << 20)    /* the largest replicated config accepted */
#define HA_KEY_MIN 16
#define HA_KEY_MAX 256

#define HA_SYNC_F_BULK_START 0x0001 /* the first batch of a bulk resync */
#define HA_SYNC_F_BULK_END 0x0002   /* every entry of the master has been sent */

enum ha_msg_type { HA_MSG_ADVERT = 1, HA_MSG_SYNC = 2, HA_MSG_RESYNC = 3, HA_MSG_CONFIG = 4 };

enum ha_state { HA_STATE_INIT = 0, HA_STATE_BACKUP, HA_STATE_MASTER, HA_STATE_FAULT };

/* Why a message was refused (counted by the receiver). */
enum ha_decode_err {
    HA_OK = 0,
    HA_E_SHORT,         /* shorter than its header, body and MAC */
    HA_E_MAGIC,         /* not ours, or another version */
    HA_E_TYPE,          /* unknown type, or a body of the wrong size */
    HA_E_MAC,           /* the HMAC does not verify: wrong key or altered */
};

struct ha_key {
    uint8_t bytes[HA_KEY_MAX];
    size_t len;
};

struct ha_hdr {
    uint8_t type;           /* enum ha_msg_type */
    uint8_t vrid;
    uint32_t sender;        /* network order */
    uint64_t counter;
};

struct ha_advert {
    uint8_t priority;
    uint8_t state;          /* enum ha_state */
    uint32_t interval_ms;
    uint32_t sync_tx;
    uint32_t sync_rx;
};

struct ha_sync_hdr {
    uint32_t seq;
    uint16_t n;
    uint16_t flags;
};

struct ha_config_hdr {
    uint32_t version;       /* the master's count of pushes */
    uint32_t total;         /* bytes of the whole text */
    uint32_t offset;        /* of this part */
};

/* One sync record: also the element of the rings between the control core and the
 * workers (32 bytes). Addresses and ports in network order, timeout_ms host order. */
enum ha_rec_type {
    HA_REC_CONN = 1,        /* a Layer 4 connection: created, or its state changed */
    HA_REC_CONN_DEL = 2,    /* a Layer 4 connection ended */
    HA_REC_PERSIST = 3,     /* a persistence entry (client, service) -> real server */
    HA_REC_BULK_END = 4,    /* worker -> control only: this worker's bulk dump is done */
};

#define HA_REC_F_SEQ_REV 0x01   /* conn: seq_end_rev is set */

struct ha_rec {
    uint8_t type;           /* enum ha_rec_type */
    uint8_t proto;          /* IPPROTO_TCP / IPPROTO_UDP */
    uint8_t state;          /* connection state (dataplane/l4/conn.h) */
    uint8_t flags;          /* HA_REC_F_* */
    uint32_t client_ip;
    uint32_t vip;
    uint32_t rs_ip;
    uint16_t client_port;
    uint16_t vport;         /* persistence: the service's first port */
    uint16_t rs_port;
    uint16_t pad;
    uint32_t timeout_ms;    /* persistence: lifetime left once unused */
    /* conn (TCP, with HA_REC_F_SEQ_REV): the sequence number just after what the real
     * server had sent through the master when the record was made (host order): where a
     * halt resets the client after a takeover (l4.c; a floor, the server may have sent
     * more since). The forward direction's is not carried: nothing reads it. */
    uint32_t seq_end_rev;
};

_Static_assert(sizeof(struct ha_rec) == HA_REC_LEN, "a sync record is 32 bytes");

/* Replay protection: the highest counter accepted from the peer. */
struct ha_replay {
    uint64_t last;
    bool seen;
};

/*
 * Encoders: write the message into buf (cap bytes) with its MAC; return its length,
 * or 0 when it does not fit (or n > HA_SYNC_MAX_RECS).
 */
size_t ha_encode_advert(uint8_t *buf, size_t cap, const struct ha_key *key,
                        const struct ha_hdr *h, const struct ha_advert *a);
size_t ha_encode_sync(uint8_t *buf, size_t cap, const struct ha_key *key,
                      const struct ha_hdr *h, const struct ha_sync_hdr *sh,
                      const struct ha_rec *recs);
size_t ha_encode_resync(uint8_t *buf, size_t cap, const struct ha_key *key,
                        const struct ha_hdr *h);
/* One part of the replicated config: len <= HA_CONFIG_CHUNK bytes of text. */
size_t ha_encode_config(uint8_t *buf, size_t cap, const struct ha_key *key,
                        const struct ha_hdr *h, const struct ha_config_hdr *ch,
                        const char *text, size_t len);

/*
 * Checks buf (len bytes): header, size for its type, MAC under key. On HA_OK fills *h
 * and points *body at the body (*body_len bytes, the MAC excluded).
 */
enum ha_decode_err ha_decode(const uint8_t *buf, size_t len, const struct ha_key *key,
                             struct ha_hdr *h, const uint8_t **body, size_t *body_len);

/* Body decoders, after ha_decode; false when the body is malformed. ha_decode_sync
 * fills at most HA_SYNC_MAX_RECS records. */
bool ha_decode_advert(const uint8_t *body, size_t len, struct ha_advert *a);
bool ha_decode_sync(const uint8_t *body, size_t len, struct ha_sync_hdr *sh,
                    struct ha_rec *recs);

/* After ha_decode of an HA_MSG_CONFIG: the header and the part (*text, *len); false
 * when the part does not fit in total or total exceeds HA_CONFIG_MAX. */
bool ha_decode_config(const uint8_t *body, size_t len, struct ha_config_hdr *ch,
                      const char **text, size_t *text_len);

/* True, and the counter noted, when counter is above every one accepted so far. */
bool ha_replay_check(struct ha_replay *r, uint64_t counter);

/*
 * Reads the shared key from path: a regular file readable by its owner only (no group
 * or other permission bits: mode 0600 or 0400), HA_KEY_MIN..HA_KEY_MAX bytes once
 * trailing white space is removed. 0, or an LBD_E* code with err filled.
 */
int ha_key_load(const char *path, struct ha_key *key, char *err, size_t errlen);

/* "init", "backup", "master", "fault". */
const char *ha_state_name(enum ha_state s);

#endif
