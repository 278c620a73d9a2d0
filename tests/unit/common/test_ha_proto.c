#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "ha_proto.h"

static struct ha_key key_of(const char *s)
{
    struct ha_key k = {.len = strlen(s)};
    memcpy(k.bytes, s, k.len);
    return k;
}

static const struct ha_hdr hdr = {.vrid = 7, .counter = 0x0102030405060708ull};

Test(ha_proto, advert_round_trip)
{
    struct ha_key k = key_of("0123456789abcdef-pair-key");
    struct ha_hdr h = hdr, got;
    struct ha_advert a = {.priority = 150, .state = HA_STATE_MASTER, .interval_ms = 200,
                          .sync_tx = 41, .sync_rx = 40}, b;
    uint8_t buf[HA_MSG_MAX];
    const uint8_t *body;
    size_t blen, n;

    h.sender = inet_addr("192.168.112.5");
    n = ha_encode_advert(buf, sizeof(buf), &k, &h, &a);
    cr_assert_eq(n, HA_ADVERT_LEN);
    cr_assert_eq(memcmp(buf, "LBHA", 4), 0, "magic on the wire");
    cr_assert_eq(buf[5], HA_MSG_ADVERT);
    cr_assert_eq(buf[12], 0x01, "counter big-endian");
    cr_assert_eq(buf[19], 0x08);
    cr_assert_eq(buf[20], 150, "priority first in the body");
    cr_assert_eq(ha_decode(buf, n, &k, &got, &body, &blen), HA_OK);
    cr_assert_eq(got.type, HA_MSG_ADVERT);
    cr_assert_eq(got.vrid, 7);
    cr_assert_eq(got.sender, h.sender);
    cr_assert_eq(got.counter, h.counter);
    cr_assert(ha_decode_advert(body, blen, &b));
    cr_assert_eq(b.priority, 150);
    cr_assert_eq(b.state, HA_STATE_MASTER);
    cr_assert_eq(b.interval_ms, 200);
    cr_assert_eq(b.sync_tx, 41);
    cr_assert_eq(b.sync_rx, 40);
    cr_assert_eq(ha_encode_advert(buf, HA_ADVERT_LEN - 1, &k, &h, &a), 0, "too small a buffer");
}

Test(ha_proto, conn_record_layout_carries_the_servers_sequence_end)
{
    struct ha_key k = key_of("another key of the pair, 32 byte");
    struct ha_rec r = {
        .type = HA_REC_CONN, .proto = IPPROTO_TCP, .state = 2, .flags = HA_REC_F_SEQ_REV,
        .client_ip = inet_addr("10.200.50.20"), .vip = inet_addr("10.200.50.120"),
        .rs_ip = inet_addr("192.168.112.51"), .client_port = htons(40000),
        .vport = htons(8000), .rs_port = htons(8000), .seq_end_rev = 0x01020304u,
    }, got;
    struct ha_sync_hdr sh = {.seq = 1, .n = 1}, sg;
    struct ha_hdr h;
    uint8_t buf[HA_MSG_MAX];
    const uint8_t *body, *p;
    size_t blen, n;

    n = ha_encode_sync(buf, sizeof(buf), &k, &hdr, &sh, &r);
    cr_assert_eq(n, HA_HDR_LEN + HA_SYNC_BODY_HDR + HA_REC_LEN + HA_MAC_LEN);
    p = buf + HA_HDR_LEN + HA_SYNC_BODY_HDR;
    cr_assert_eq(p[3], HA_REC_F_SEQ_REV, "flags at byte 3");
    cr_assert_eq(p[28], 1);
    cr_assert_eq(p[29], 2);
    cr_assert_eq(p[30], 3);
    cr_assert_eq(p[31], 4, "the end of the server's data at 28, big-endian");
    cr_assert_eq(p[22] | p[23], 0, "the reserved bytes stay zero");
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
    cr_assert(ha_decode_sync(body, blen, &sg, &got));
    cr_assert_eq(got.flags, HA_REC_F_SEQ_REV);
    cr_assert_eq(got.seq_end_rev, 0x01020304u);
    cr_assert_eq(memcmp(&r, &got, sizeof(r)), 0);
}

Test(ha_proto, sync_round_trip)
{
    struct ha_key k = key_of("another key of the pair, 32 byte");
    struct ha_rec recs[HA_SYNC_MAX_RECS], got[HA_SYNC_MAX_RECS];
    struct ha_sync_hdr sh = {.seq = 9, .n = HA_SYNC_MAX_RECS, .flags = HA_SYNC_F_BULK_END}, sg;
    struct ha_hdr h;
    uint8_t buf[HA_MSG_MAX];
    const uint8_t *body;
    size_t blen, n;

    for (int i = 0; i < HA_SYNC_MAX_RECS; i++)
        recs[i] = (struct ha_rec){
            .type = (uint8_t)(i % 3 + 1), .proto = IPPROTO_TCP, .state = (uint8_t)(i % 4),
            .client_ip = inet_addr("10.200.50.20") + (uint32_t)i,
            .vip = inet_addr("10.200.50.120"), .rs_ip = inet_addr("192.168.112.51"),
            .client_port = htons((uint16_t)(40000 + i)), .vport = htons(8000),
            .rs_port = htons(8000), .timeout_ms = 1200000u + (uint32_t)i,
            .flags = i % 2 ? HA_REC_F_SEQ_REV : 0,
            .seq_end_rev = i % 2 ? 0xfffffff0u + (uint32_t)i * 1000 : 0,
        };
    n = ha_encode_sync(buf, sizeof(buf), &k, &hdr, &sh, recs);
    cr_assert_eq(n, HA_MSG_MAX, "a full batch is the largest message");
    cr_assert_leq(n + 28, 1500, "one datagram within a 1500-byte MTU");
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
    cr_assert_eq(h.type, HA_MSG_SYNC);
    cr_assert(ha_decode_sync(body, blen, &sg, got));
    cr_assert_eq(sg.seq, 9);
    cr_assert_eq(sg.n, HA_SYNC_MAX_RECS);
    cr_assert_eq(sg.flags, HA_SYNC_F_BULK_END);
    cr_assert_eq(memcmp(recs, got, sizeof(recs)), 0, "every record as it was");
    sh.n = HA_SYNC_MAX_RECS + 1;
    cr_assert_eq(ha_encode_sync(buf, sizeof(buf), &k, &hdr, &sh, recs), 0, "too many records");

    /* An empty batch (a bulk end alone) and a resync request. */
    sh.n = 0;
    n = ha_encode_sync(buf, sizeof(buf), &k, &hdr, &sh, recs);
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
    cr_assert(ha_decode_sync(body, blen, &sg, got));
    cr_assert_eq(sg.n, 0);
    n = ha_encode_resync(buf, sizeof(buf), &k, &hdr);
    cr_assert_eq(n, HA_HDR_LEN + HA_MAC_LEN);
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
    cr_assert_eq(h.type, HA_MSG_RESYNC);
}

Test(ha_proto, wrong_key_and_any_altered_byte_fail_the_mac)
{
    struct ha_key k = key_of("0123456789abcdef-pair-key"), other = key_of("0123456789abcdef-pair-kez");
    struct ha_advert a = {.priority = 100, .state = HA_STATE_BACKUP, .interval_ms = 1000};
    struct ha_hdr h;
    uint8_t buf[HA_MSG_MAX];
    const uint8_t *body;
    size_t blen, n = ha_encode_advert(buf, sizeof(buf), &k, &hdr, &a);

    cr_assert_eq(ha_decode(buf, n, &other, &h, &body, &blen), HA_E_MAC);
    for (size_t i = 8; i < n; i++) {
        buf[i] ^= 0x20;
        cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_E_MAC, "byte %zu altered", i);
        buf[i] ^= 0x20;
    }
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
}

Test(ha_proto, malformed_messages_are_refused_before_the_mac)
{
    struct ha_key k = key_of("0123456789abcdef-pair-key");
    struct ha_advert a = {.priority = 100, .state = HA_STATE_BACKUP, .interval_ms = 1000};
    struct ha_hdr h;
    uint8_t buf[HA_MSG_MAX];
    const uint8_t *body;
    size_t blen, n = ha_encode_advert(buf, sizeof(buf), &k, &hdr, &a);

    cr_assert_eq(ha_decode(buf, HA_HDR_LEN + HA_MAC_LEN - 1, &k, &h, &body, &blen), HA_E_SHORT);
    cr_assert_eq(ha_decode(buf, n - 1, &k, &h, &body, &blen), HA_E_TYPE, "advert of 67 bytes");
    buf[0] = 'X';
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_E_MAGIC);
    buf[0] = 'L';
    buf[4] = 2;
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_E_MAGIC, "another version");
    buf[4] = 1;
    buf[5] = 9;
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_E_TYPE);
    buf[5] = HA_MSG_ADVERT;
    /* A sync body whose count disagrees with its length. */
    {
        struct ha_sync_hdr sh = {.seq = 1, .n = 1};
        struct ha_rec r = {.type = HA_REC_CONN}, out[HA_SYNC_MAX_RECS];
        n = ha_encode_sync(buf, sizeof(buf), &k, &hdr, &sh, &r);
        cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
        cr_assert(!ha_decode_sync(body, blen - HA_REC_LEN, &sh, out));
    }
}

Test(ha_proto, replay_counter_only_goes_up)
{
    struct ha_replay r = {0};

    cr_assert(ha_replay_check(&r, 5ull << 32 | 1));
    cr_assert(ha_replay_check(&r, 5ull << 32 | 2));
    cr_assert(!ha_replay_check(&r, 5ull << 32 | 2), "the same message again");
    cr_assert(!ha_replay_check(&r, 5ull << 32 | 1), "an older one");
    cr_assert(!ha_replay_check(&r, 4ull << 32 | 99), "from before the peer's restart");
    cr_assert(ha_replay_check(&r, 6ull << 32 | 1), "after the peer's restart");
}

static void write_key(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(chmod(path, mode), 0);
}

Test(ha_proto, key_file_must_be_private)
{
    char path[64], err[256];
    struct ha_key k;

    snprintf(path, sizeof(path), "/tmp/lbd-test-ha-key-%d", (int)getpid());
    write_key(path, "a shared secret of the pair\n", 0600);
    cr_assert_eq(ha_key_load(path, &k, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(k.len, strlen("a shared secret of the pair"), "trailing newline removed");
    write_key(path, "a shared secret of the pair\n", 0400);
    cr_assert_eq(ha_key_load(path, &k, err, sizeof(err)), 0, "%s", err);
    write_key(path, "a shared secret of the pair\n", 0640);
    cr_assert_eq(ha_key_load(path, &k, err, sizeof(err)), LBD_EPERM);
    cr_assert(strstr(err, "0600") != NULL, "%s", err);
    write_key(path, "a shared secret of the pair\n", 0604);
    cr_assert_eq(ha_key_load(path, &k, err, sizeof(err)), LBD_EPERM);
    write_key(path, "short\n", 0600);
    cr_assert_eq(ha_key_load(path, &k, err, sizeof(err)), LBD_EINVAL);
    unlink(path);
    cr_assert_eq(ha_key_load(path, &k, err, sizeof(err)), LBD_EIO);
    cr_assert_eq(ha_key_load("", &k, err, sizeof(err)), LBD_EINVAL, "a key is required");
}

Test(ha_proto, config_parts_round_trip_and_bounds)
{
    struct ha_key k = key_of("0123456789abcdef-pair-key");
    struct ha_config_hdr ch = {.version = 3, .total = 2500, .offset = 1200}, got;
    char text[HA_CONFIG_CHUNK + 1];
    uint8_t buf[HA_MSG_MAX];
    const uint8_t *body;
    const char *part;
    struct ha_hdr h;
    size_t blen, plen, n;

    memset(text, 'x', sizeof(text));
    n = ha_encode_config(buf, sizeof(buf), &k, &hdr, &ch, text, HA_CONFIG_CHUNK);
    cr_assert_gt(n, 0);
    cr_assert_leq(n, HA_MSG_MAX);
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
    cr_assert_eq(h.type, HA_MSG_CONFIG);
    cr_assert(ha_decode_config(body, blen, &got, &part, &plen));
    cr_assert_eq(got.version, 3);
    cr_assert_eq(got.total, 2500);
    cr_assert_eq(got.offset, 1200);
    cr_assert_eq(plen, HA_CONFIG_CHUNK);
    cr_assert_eq(memcmp(part, text, plen), 0);
    cr_assert_eq(ha_encode_config(buf, sizeof(buf), &k, &hdr, &ch, text, HA_CONFIG_CHUNK + 1),
                 0, "a part larger than a chunk");
    ch.offset = 2000;       /* 1200 bytes at 2000 do not fit in 2500 */
    n = ha_encode_config(buf, sizeof(buf), &k, &hdr, &ch, text, HA_CONFIG_CHUNK);
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
    cr_assert(!ha_decode_config(body, blen, &got, &part, &plen));
    ch = (struct ha_config_hdr){.version = 1, .total = HA_CONFIG_MAX + 1};
    n = ha_encode_config(buf, sizeof(buf), &k, &hdr, &ch, text, 10);
    cr_assert_eq(ha_decode(buf, n, &k, &h, &body, &blen), HA_OK);
    cr_assert(!ha_decode_config(body, blen, &got, &part, &plen), "larger than the cap");
}
