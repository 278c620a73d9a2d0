/*
 * l4_sync: the worker side of the HA pair's state sync (control/ha.c is the other).
 *
 * On the master (snapshot ha_sync), every Layer 4 connection created, changed in
 * state, refreshed by its expiry timer or ended, and every persistence entry created
 * or moved to another real server, becomes one struct ha_rec on the shared worker ->
 * control ring (lc->sync_out); the control core batches, authenticates and sends them
 * to the backup. A full ring drops the record and counts it (l4_sync_ring_full); the
 * control core, seeing the count grow, starts a bulk resync. A bulk resync
 * (CTL_MSG_HA_BULK) walks both tables in bounded steps (at most L4_SYNC_BULK_STEP
 * slots an iteration, and only while the ring has room) and ends with an
 * HA_REC_BULK_END record.
 *
 * On the backup, the control core hands each record received to the worker that owns
 * its client (owner.h: hash(client IP) % N), which installs it here: a connection
 * entry as it is on the master (state included: an established TCP entry takes
 * mid-stream packets after a takeover, the rule that only a SYN opens an entry
 * is not in the way), holding the client's persistence entry as the master's does.
 * Records name services and real servers by address (VIP, protocol, port; real
 * server address and port), never by the master's local ids. An installed entry
 * lives its state's timeout plus half of it after the last record about it: the
 * master's timer refreshes a busy entry once per timeout.
 *
 * Owning worker only; no allocation, no logging.
 */
#ifndef LBD_L4_SYNC_H
#define LBD_L4_SYNC_H

#include <stdbool.h>

#include "ha_proto.h"
#include "l4/l4.h"

#define L4_SYNC_BULK_STEP 1024      /* table slots looked at per loop iteration */
#define L4_SYNC_RING_RESERVE 64     /* room kept in the ring for live changes */

/* Master: the record of connection c (created, changed, refreshed) / its end. */
void l4_sync_conn(struct l4 *l4, const struct conn *c);
void l4_sync_conn_del(struct l4 *l4, const struct conn *c);
/* Master: persistence entry pe of service vs now points at rs. */
void l4_sync_persist(struct l4 *l4, const struct snap_vs *vs, const struct persist_entry *pe,
                     const struct snap_rs *rs);

/* Backup: installs record r (from the peer, authenticated) with snapshot s. */
void l4_sync_install(struct l4 *l4, const struct snapshot *s, const struct ha_rec *r);

/* Master: starts a bulk dump (restarts one in progress). */
void l4_sync_bulk_start(struct l4 *l4);
/* One bounded step of the dump in progress; true while it is not finished. */
bool l4_sync_bulk_step(struct l4 *l4, const struct snapshot *s);

#endif
