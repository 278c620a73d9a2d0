/*
 * siphash: SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012), the keyed hash behind the TCP stack's ISS (RFC 6528's F()), its SYN cookies
 * and challenge ACK jitter, and the health checks' echo tokens; and drawing its keys
 * from the operating system.
 *
 * Why our own: these run per SYN (and per echo reply), so the PRF must be a plain
 * function call, without allocation, lock or syscall. DPDK 22.11 has no SipHash
 * (rte_jhash, rte_hash_crc and rte_thash are not keyed PRFs). OpenSSL 3.0 has one
 * behind EVP_MAC ("SIPHASH"): its one-shot EVP_Q_mac makes three heap allocations a
 * call (about 375 ns here) and a fresh EVP_MAC_CTX per call two (about 107 ns); a
 * context kept per stack and re-initialised each time does not allocate (about
 * 59 ns) but puts the provider's dispatch on the hot path and OpenSSL under the
 * dataplane, which does not link it; the function below takes about 23 ns for 20
 * bytes on the same machine. libsodium's crypto_shorthash_siphash24 would
 * fit but is a new dependency for some sixty lines. So SipHash-2-4 is written out
 * here, as in the paper, and tests/unit/base/test_siphash.c checks it against the
 * paper's 64 reference vectors (key 00..0f, messages 00..i-1 for i = 0..63).
 *
 * Pure functions: any lcore. siphash_key_random makes a syscall (getrandom): set-up
 * only, never per packet.
 */
#ifndef LBD_SIPHASH_H
#define LBD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* A 128-bit key: k0 is bytes 0..7 of the key read little-endian, k1 bytes 8..15. */
struct siphash_key {
    uint64_t k0;
    uint64_t k1;
};

/* SipHash-2-4 of len bytes at data under key: the paper's 64-bit output. */
uint64_t siphash24(const struct siphash_key *key, const void *data, size_t len);

/* The key made of 16 bytes (the paper's byte order). */
struct siphash_key siphash_key_from_bytes(const uint8_t b[16]);

/*
 * Fills key with 128 bits from the kernel's random source (getrandom(2), waiting for
 * it to be seeded at boot). Set-up only. Returns 0, or LBD_EIO.
 */
int siphash_key_random(struct siphash_key *key);

#endif
