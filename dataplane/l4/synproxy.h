/*
 * synproxy: a SYN proxy for Layer 4 TCP services (as DPVS's and Linux's SYNPROXY
 * target): lbd answers a client's SYN itself with a SYN cookie, keeps no state for
 * it, and opens the connection to the real server only when the client's ACK returns
 * a valid cookie. A SYN flood from spoofed sources then costs a SipHash and a SYN-ACK
 * a SYN, and reaches no real server; its SYNs take no connection entry.
 *
 * When (layer4.syn_proxy): "flood" (the default) for a SYN that would be dropped
 * because the worker already holds max_half_open_per_worker handshakes (what Linux's
 * net.ipv4.tcp_syncookies = 1 does with its SYN queue), "always" for every SYN,
 * "off" never.
 *
 * A proxied connection: on the client's ACK, a SYN to the real server with the
 * client's ISN and the options the cookie kept (MSS, window scale, SACK permitted;
 * timestamps when the client's ACK carries them: RFC 7323 puts them there only when
 * both SYNs had them, so they need no bit of the cookie);
 * the client's first data segment, if it comes first, is held (one mbuf). On the
 * server's SYN-ACK, lbd sends the server the handshake's ACK and the held segment;
 * from then on every segment is translated: the difference between the server's ISS
 * and the cookie is added to the client's ACK numbers and SACK edges and taken from
 * the server's sequence numbers, and windows are rescaled when the two sides' scales
 * differ (checksums updated incrementally). The server's SACK edges and the client's
 * sequence numbers are in the client's space on both sides: unchanged. With
 * timestamps on both sides, the difference between the server's TSval clock and the
 * TSval lbd gave the client is taken from the server's TSval and added to the
 * client's TSecr, so each side sees one clock (PAWS and RTT samples keep working).
 * What is lost: the server's MSS (the client is told the cookie's MSS, at most the
 * narrowest port's), and timestamps when the server does not answer with them (the
 * client, which has them on, then gets segments without: Linux takes them, RFC 7323
 * says a receiver should drop them). A real server that answers with an RST
 * has it passed to the client; one that does not answer is sent its SYN again when the
 * client retransmits (at most once a second) until the handshake timeout ends it.
 * Not synced to an HA peer beyond the handshake (the peer lacks the difference).
 *
 * The cookie (lbd's ISS to the client):
 *   bit  31      parity of the 64 s key period
 *   bits 30..29  MSS index (536, 1220, 1440, 1460)
 *   bits 28..25  the client's window scale (15: not offered)
 *   bit  24      the client offered SACK
 *   bits 23..0   SipHash-2-4 of the 4-tuple, the client's ISN and bits 31..24 under
 *                the period's key; the keys rotate as tcp_syncookie.h's (a one-way
 *                step per period, the previous one kept one period more).
 *
 * Owning worker only; the hooks are called by l4.c. Hot path: no heap allocation (the
 * per-connection state is an array beside the connection pool), counters in
 * l4_stats.synproxy_*.
 */
#ifndef LBD_SYNPROXY_H
#define LBD_SYNPROXY_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "l4/conn.h"
#include "net/pkt_parse.h"
#include "snapshot/snapshot.h"

struct l4;

/* The window scale lbd offers a client that offered one (Linux's for a 4 MB buffer). */
#define SYNPROXY_WSCALE 7

/* Set-up: state for `capacity` connections (the connection table's) on `socket`, and
 * the first cookie key from the kernel. Returns NULL on failure. */
struct synproxy *synproxy_create(uint32_t capacity, int socket, uint64_t now_ms);
void synproxy_free(struct synproxy *sp);

enum synproxy_verdict {
    SYNPROXY_PASS = 0,      /* not the proxy's: the caller goes on as without it */
    SYNPROXY_DONE,          /* answered (a cookie SYN-ACK): m was taken */
    SYNPROXY_OPEN,          /* a valid cookie: the caller makes the connection and
                               calls synproxy_open */
};

/*
 * A client's TCP segment of no connection to Layer 4 service vs (m's checksum
 * final). A SYN the mode says to proxy is answered with a cookie; an ACK (no SYN, no
 * RST) whose ACK number is a valid cookie is SYNPROXY_OPEN. The cookie's options are
 * kept in sp until synproxy_open.
 */
enum synproxy_verdict synproxy_client(struct l4 *l4, const struct snapshot *s,
                                      struct rte_mbuf *m, const struct pkt_info *pi,
                                      uint8_t tcp_flags);

/*
 * After SYNPROXY_OPEN and a connection c made for it (in the handshake): sends the
 * real server its SYN, takes m (held when it carries data, else freed).
 */
void synproxy_open(struct l4 *l4, const struct snapshot *s, struct conn *c,
                   struct rte_mbuf *m, const struct pkt_info *pi);

/*
 * A client's segment on proxied connection c (checksum final), before the NAT
 * rewrite: translated, returns true (the caller sends it on); or, while the real
 * server has not answered, held or dropped and counted, returns false (m taken).
 */
bool synproxy_from_client(struct l4 *l4, const struct snapshot *s, struct conn *c,
                          struct rte_mbuf *m, const struct pkt_info *pi, uint8_t *l4h);

/*
 * The real server's segment on proxied connection c (checksum final), before the NAT
 * rewrite: translated, returns true; or its SYN-ACK or RST that completes the
 * handshake (answered, the held segment sent, the RST passed to the client), returns
 * false (m taken).
 */
bool synproxy_from_server(struct l4 *l4, const struct snapshot *s, struct conn *c,
                          struct rte_mbuf *m, const struct pkt_info *pi, uint8_t *l4h);

/* A server sequence number on proxied connection c as the client knows it. */
uint32_t synproxy_seq_to_client(const struct l4 *l4, const struct conn *c, uint32_t seq);

/* The delete hook of a proxied connection: frees what it holds. */
void synproxy_conn_end(struct l4 *l4, const struct conn *c);

#endif
