/*
 * l4: Layer 4 NAT on a worker (DESIGN.md section 2): the client's packets to a
 * service are rewritten to the real server, the real server's answers back to the
 * VIP, through the worker's connection table, with source-IP persistence and the
 * service's scheduler for new connections.
 *
 * Both directions of a connection and every connection of a client meet on the
 * client's worker (owner.h), so everything here is the worker's own: no locks, no
 * look-up on another core. Hot path: no allocation, no logging; every outcome is a
 * counter or a drop reason. The packets leave through ip_out (routes, neighbours).
 */
#ifndef LBD_L4_H
#define LBD_L4_H

#include <stdbool.h>

#include <rte_mbuf.h>

#include "l4/conn.h"
#include "net/pkt_parse.h"
#include "snapshot/snapshot.h"

struct worker;

/*
 * The connection a client's TCP or UDP packet (not a fragment) to a VIP belongs to,
 * or NULL. A connection lives on the client's worker only, so a hit also says that
 * this worker owns the packet: the dispatcher asks this first and, on a hit, skips
 * the service look-up and the owner computation.
 */
struct conn *l4_client_conn(struct worker *w, const struct pkt_info *pi);

/*
 * A client's TCP or UDP packet (not a fragment) to a Layer 4 service. vs: the
 * service, or NULL when the caller found the connection c (l4_client_conn) and did
 * not look the service up; c: the connection, or NULL to look it up here. Takes
 * ownership of m: sent to the real server, or dropped and counted.
 */
void l4_from_client(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi, const struct snap_vs *vs, struct conn *c);

/*
 * A TCP or UDP packet (not a fragment) that is not addressed to us. When it is a real
 * server's answer on a connection of this worker, takes ownership (sent to the client
 * from the VIP, or dropped and counted) and returns true; otherwise returns false and
 * m is the caller's (to be routed).
 */
bool l4_from_server(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
                    const struct pkt_info *pi);

/*
 * The connection-table delete hook (conn_table_on_delete, arg = the worker): drops
 * the connection's persistence reference and counts it.
 */
void l4_conn_deleted(const struct conn *c, uint64_t now, void *arg);

/* Worker, when it sees a new snapshot: the timeouts by state from s->l4. */
void l4_snapshot_changed(struct worker *w, const struct snapshot *s);

/*
 * Hands m, parsed into *pi with its IPv4 header final, to ip_out towards dst: strips
 * the Ethernet header and any padding after the IP packet. Worker only.
 */
void l4_send(struct worker *w, const struct snapshot *s, struct rte_mbuf *m,
             const struct pkt_info *pi, uint32_t dst);

#endif
