/*
 * ha: the HA pair on the control core: the election (ha_elect.h) fed by the peer's
 * authenticated adverts, the ownership of the VIPs and floating addresses (published
 * in every snapshot: a backup drops their traffic), gratuitous ARP on becoming master,
 * and the state sync (the master batches the workers' records and sends them; the
 * backup hands each to the worker owning its client). Wire format: ha_proto.h.
 *
 * Packets to and from the peer go through the dataplane (dataplane.h: dp_ha_send,
 * dp_ha_recv): the control core never opens a socket, and the workers see only ring
 * operations. Every message from the network is bounded (one datagram, at most
 * HA_SYNC_MAX_RECS records) and every refusal is counted (ha.status).
 *
 * Layer: above reconfig (it publishes snapshots), below persist_api (which runs
 * ha_poll while it waits for the workers) and api_cmd. Control core only.
 */
#ifndef LBD_HA_H
#define LBD_HA_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "appliance.h"

#define HA_GARP_ROUNDS 3            /* gratuitous ARP rounds on becoming master */
#define HA_GARP_INTERVAL_MS 1000
#define HA_FAULT_CHECK_MS 100       /* data port link state */
#define HA_RESYNC_RETRY_MS 2000     /* a backup without a complete bulk asks again */
#define HA_BULK_TIMEOUT_MS 10000    /* a bulk whose end never came is started again */
#define HA_HISTORY 8                /* state changes ha.status lists */

struct ha;

/*
 * Start-up, after the dataplane and before the first snapshot: with an "ha" section,
 * reads the key (refused unless mode 0600, ha_proto.h), starts in backup (the VIPs
 * are the peer's until the election says otherwise). Without one, a->ha stays NULL
 * and nothing here runs. 0, or an LBD_E* with err filled.
 */
int ha_init(struct appliance *a, char *err, size_t errlen);
void ha_free(struct appliance *a);

/* Control loop, every iteration: datagrams, timers, state changes, sync. */
void ha_poll(struct appliance *a, uint64_t now);

/* API: ha.status; ha.promote and ha.demote (LBD_ESTATE without an "ha" section). */
cJSON *ha_status(const struct appliance *a, uint64_t now);
int ha_promote(struct appliance *a, char *err, size_t errlen);
int ha_demote(struct appliance *a, char *err, size_t errlen);

/* "master", "backup", "fault", or "standalone" without an "ha" section. */
const char *ha_state_str(const struct appliance *a);

#endif
