/*
 * ha_proto: encoding, decoding and authentication of the HA pair's messages.
 */
#include "ha_proto.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static bool ha_mac(const struct ha_key *key, const uint8_t *buf, size_t len,
                   uint8_t out[HA_MAC_LEN])
{
    unsigned int n = 0;

    return HMAC(EVP_sha256(), key->bytes, (int)key->len, buf, len, out, &n) != NULL &&
           n == HA_MAC_LEN;
}

static void put_hdr(uint8_t *p, const struct ha_hdr *h, uint8_t type)
{
    put32(p, HA_MAGIC);
    p[4] = HA_VERSION;
    p[5] = type;
    p[6] = h->vrid;
    p[7] = 0;
    memcpy(p + 8, &h->sender, 4);
    put64(p + 12, h->counter);
}

/* Appends the MAC after len bytes; the message's whole length, or 0. */
static size_t seal(uint8_t *buf, size_t len, const struct ha_key *key)
{
    return ha_mac(key, buf, len, buf + len) ? len + HA_MAC_LEN : 0;
}

size_t ha_encode_advert(uint8_t *buf, size_t cap, const struct ha_key *key,
                        const struct ha_hdr *h, const struct ha_advert *a)
{
    uint8_t *b = buf + HA_HDR_LEN;

    if (cap < HA_ADVERT_LEN)
        return 0;
    put_hdr(buf, h, HA_MSG_ADVERT);
    b[0] = a->priority;
    b[1] = a->state;
    put16(b + 2, 0);
    put32(b + 4, a->interval_ms);
    put32(b + 8, a->sync_tx);
    put32(b + 12, a->sync_rx);
    return seal(buf, HA_HDR_LEN + HA_ADVERT_BODY, key);
}

static void put_rec(uint8_t *p, const struct ha_rec *r)
{
    p[0] = r->type;
    p[1] = r->proto;
    p[2] = r->state;
    p[3] = r->flags;
    memcpy(p + 4, &r->client_ip, 4);
    memcpy(p + 8, &r->vip, 4);
    memcpy(p + 12, &r->rs_ip, 4);
    memcpy(p + 16, &r->client_port, 2);
    memcpy(p + 18, &r->vport, 2);
    memcpy(p + 20, &r->rs_port, 2);
    put16(p + 22, 0);
    put32(p + 24, r->timeout_ms);
    put32(p + 28, r->seq_end_rev);
}

static void get_rec(const uint8_t *p, struct ha_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->type = p[0];
    r->proto = p[1];
    r->state = p[2];
    r->flags = p[3];
    memcpy(&r->client_ip, p + 4, 4);
    memcpy(&r->vip, p + 8, 4);
    memcpy(&r->rs_ip, p + 12, 4);
    memcpy(&r->client_port, p + 16, 2);
    memcpy(&r->vport, p + 18, 2);
    memcpy(&r->rs_port, p + 20, 2);
    r->timeout_ms = get32(p + 24);
    r->seq_end_rev = get32(p + 28);
}

size_t ha_encode_sync(uint8_t *buf, size_t cap, const struct ha_key *key,
                      const struct ha_hdr *h, const struct ha_sync_hdr *sh,
                      const struct ha_rec *recs)
{
    size_t len = HA_HDR_LEN + HA_SYNC_BODY_HDR + (size_t)sh->n * HA_REC_LEN;
    uint8_t *b = buf + HA_HDR_LEN;

    if (sh->n > HA_SYNC_MAX_RECS || cap < len + HA_MAC_LEN)
        return 0;
    put_hdr(buf, h, HA_MSG_SYNC);
    put32(b, sh->seq);
    put16(b + 4, sh->n);
    put16(b + 6, sh->flags);
    for (uint16_t i = 0; i < sh->n; i++)
        put_rec(b + HA_SYNC_BODY_HDR + (size_t)i * HA_REC_LEN, &recs[i]);
    return seal(buf, len, key);
}

size_t ha_encode_resync(uint8_t *buf, size_t cap, const struct ha_key *key,
                        const struct ha_hdr *h)
{
    if (cap < HA_HDR_LEN + HA_MAC_LEN)
        return 0;
    put_hdr(buf, h, HA_MSG_RESYNC);
    return seal(buf, HA_HDR_LEN, key);
}

size_t ha_encode_config(uint8_t *buf, size_t cap, const struct ha_key *key,
                        const struct ha_hdr *h, const struct ha_config_hdr *ch,
                        const char *text, size_t len)
{
    size_t total = HA_HDR_LEN + HA_CONFIG_BODY_HDR + len;
    uint8_t *b = buf + HA_HDR_LEN;

    if (len > HA_CONFIG_CHUNK || cap < total + HA_MAC_LEN)
        return 0;
    put_hdr(buf, h, HA_MSG_CONFIG);
    put32(b, ch->version);
    put32(b + 4, ch->total);
    put32(b + 8, ch->offset);
    memcpy(b + HA_CONFIG_BODY_HDR, text, len);
    return seal(buf, total, key);
}

enum ha_decode_err ha_decode(const uint8_t *buf, size_t len, const struct ha_key *key,
                             struct ha_hdr *h, const uint8_t **body, size_t *body_len)
{
    uint8_t mac[HA_MAC_LEN];
    size_t blen;

    if (len < HA_HDR_LEN + HA_MAC_LEN)
        return HA_E_SHORT;
    if (get32(buf) != HA_MAGIC || buf[4] != HA_VERSION)
        return HA_E_MAGIC;
    blen = len - HA_HDR_LEN - HA_MAC_LEN;
    switch (buf[5]) {
    case HA_MSG_ADVERT:
        if (blen != HA_ADVERT_BODY)
            return HA_E_TYPE;
        break;
    case HA_MSG_SYNC:
        if (blen < HA_SYNC_BODY_HDR || (blen - HA_SYNC_BODY_HDR) % HA_REC_LEN != 0 ||
            (blen - HA_SYNC_BODY_HDR) / HA_REC_LEN > HA_SYNC_MAX_RECS)
            return HA_E_TYPE;
        break;
    case HA_MSG_RESYNC:
        if (blen != 0)
            return HA_E_TYPE;
        break;
    case HA_MSG_CONFIG:
        if (blen < HA_CONFIG_BODY_HDR || blen > HA_CONFIG_BODY_HDR + HA_CONFIG_CHUNK)
            return HA_E_TYPE;
        break;
    default:
        return HA_E_TYPE;
    }
    if (!ha_mac(key, buf, len - HA_MAC_LEN, mac) ||
        CRYPTO_memcmp(mac, buf + len - HA_MAC_LEN, HA_MAC_LEN) != 0)
        return HA_E_MAC;
    h->type = buf[5];
    h->vrid = buf[6];
    memcpy(&h->sender, buf + 8, 4);
    h->counter = get64(buf + 12);
    *body = buf + HA_HDR_LEN;
    *body_len = blen;
    return HA_OK;
}

bool ha_decode_advert(const uint8_t *body, size_t len, struct ha_advert *a)
{
    if (len != HA_ADVERT_BODY || body[1] > HA_STATE_FAULT)
        return false;
    a->priority = body[0];
    a->state = body[1];
    a->interval_ms = get32(body + 4);
    a->sync_tx = get32(body + 8);
    a->sync_rx = get32(body + 12);
    return a->interval_ms != 0;
}

bool ha_decode_sync(const uint8_t *body, size_t len, struct ha_sync_hdr *sh,
                    struct ha_rec *recs)
{
    if (len < HA_SYNC_BODY_HDR)
        return false;
    sh->seq = get32(body);
    sh->n = get16(body + 4);
    sh->flags = get16(body + 6);
    if (sh->n > HA_SYNC_MAX_RECS || len != HA_SYNC_BODY_HDR + (size_t)sh->n * HA_REC_LEN)
        return false;
    for (uint16_t i = 0; i < sh->n; i++)
        get_rec(body + HA_SYNC_BODY_HDR + (size_t)i * HA_REC_LEN, &recs[i]);
    return true;
}

bool ha_decode_config(const uint8_t *body, size_t len, struct ha_config_hdr *ch,
                      const char **text, size_t *text_len)
{
    if (len < HA_CONFIG_BODY_HDR)
        return false;
    ch->version = get32(body);
    ch->total = get32(body + 4);
    ch->offset = get32(body + 8);
    *text = (const char *)body + HA_CONFIG_BODY_HDR;
    *text_len = len - HA_CONFIG_BODY_HDR;
    return ch->total <= HA_CONFIG_MAX && ch->offset <= ch->total &&
           *text_len <= ch->total - ch->offset;
}

bool ha_replay_check(struct ha_replay *r, uint64_t counter)
{
    if (r->seen && counter <= r->last)
        return false;
    r->last = counter;
    r->seen = true;
    return true;
}

int ha_key_load(const char *path, struct ha_key *key, char *err, size_t errlen)
{
    struct stat st;
    ssize_t n;
    int fd;

    if (path == NULL || path[0] == '\0')
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "ha.auth_key_file: required (adverts and sync are authenticated)");
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return lbd_err_set(err, errlen, LBD_EIO, "ha.auth_key_file: %s: %s", path,
                           strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_EINVAL, "ha.auth_key_file: %s: not a regular file",
                           path);
    }
    if ((st.st_mode & 077) != 0) {
        close(fd);
        return lbd_err_set(err, errlen, LBD_EPERM,
                           "ha.auth_key_file: %s: mode %03o, must be 0600 (no group or other "
                           "access)", path, (unsigned)(st.st_mode & 0777));
    }
    n = read(fd, key->bytes, sizeof(key->bytes));
    if (n > 0 && (size_t)n == sizeof(key->bytes)) {
        char extra;
        if (read(fd, &extra, 1) > 0)
            n = -2;
    }
    close(fd);
    if (n == -2)
        return lbd_err_set(err, errlen, LBD_EINVAL, "ha.auth_key_file: %s: more than %d bytes",
                           path, HA_KEY_MAX);
    if (n < 0)
        return lbd_err_set(err, errlen, LBD_EIO, "ha.auth_key_file: %s: %s", path,
                           strerror(errno));
    while (n > 0 && isspace(key->bytes[n - 1]))
        n--;
    if (n < HA_KEY_MIN)
        return lbd_err_set(err, errlen, LBD_EINVAL,
                           "ha.auth_key_file: %s: the key must have at least %d bytes", path,
                           HA_KEY_MIN);
    key->len = (size_t)n;
    return 0;
}

const char *ha_state_name(enum ha_state s)
{
    switch (s) {
    case HA_STATE_BACKUP: return "backup";
    case HA_STATE_MASTER: return "master";
    case HA_STATE_FAULT: return "fault";
    default: return "init";
    }
}
