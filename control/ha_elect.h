/*
 * ha_elect: the election of the HA pair's master (RFC 5798's timers, both units
 * advertising), as a state machine with no I/O and no clock of its own: the caller
 * feeds it the peer's authenticated adverts, its fault condition and the time, and
 * sends an advert when it says so. Control core only; unit tests drive the clock.
 *
 * Rules:
 *   - Both units start in backup and advertise every interval (state, effective
 *     priority). A backup that hears no master for the master-down interval (3
 *     intervals + skew, skew = (256 - priority) * interval / 256) becomes master.
 *   - A unit wins against the peer when its effective priority is higher, or equal
 *     and its self IP is higher. A backup that hears a peer that is not master (at
 *     start, demoted, in fault) and wins becomes master at once.
 *   - A master that hears the peer also master (split brain healed, or a preemption)
 *     steps down when it loses, and advertises at once when it wins.
 *   - Preemption (preempt true): a backup that wins against the master takes over
 *     once it has heard that master for preempt_delay_ms, and once its bulk resync
 *     is done (sync_ready) or HA_ELECT_SYNC_WAIT_MS more have passed. With preempt
 *     false it stays backup while a master is heard.
 *   - Fault (a data port down, or a monitored address not answering: each cause is
 *     set and cleared apart, HA_FAULT_*): state fault, effective priority 0, adverts
 *     go on so that the peer takes over at once; when every cause has cleared, backup.
 *   - ha.promote: effective priority 255 and master at once; ha.demote: effective
 *     priority 0 and backup (the peer, winning, takes over on the next advert).
 */
#ifndef LBD_HA_ELECT_H
#define LBD_HA_ELECT_H

#include <stdbool.h>
#include <stdint.h>

#include "ha_proto.h"

#define HA_ELECT_SYNC_WAIT_MS 3000

enum ha_override { HA_OVERRIDE_NONE = 0, HA_OVERRIDE_PROMOTED, HA_OVERRIDE_DEMOTED };

/* The causes of a fault (bits of ha_elect.faults). */
enum ha_fault {
    HA_FAULT_LINK = 1,          /* a data port is down */
    HA_FAULT_MONITOR = 2,       /* a monitored address stopped answering */
};

struct ha_elect_cfg {
    uint32_t self_ip;           /* network order: the tie-break */
    uint32_t peer_ip;
    uint8_t priority;           /* 1..254 */
    uint32_t interval_ms;
    bool preempt;
    uint32_t preempt_delay_ms;
};

struct ha_elect {
    struct ha_elect_cfg cfg;
    enum ha_state state;
    enum ha_override override;
    bool fault;                 /* faults != 0 */
    unsigned faults;            /* HA_FAULT_* bits */
    bool sync_ready;            /* the caller: a bulk resync ended since we became backup */
    uint64_t master_down_at;    /* backup: when the master counts as gone */
    uint64_t next_advert_at;
    uint64_t lower_master_since;/* backup: since when a master we beat is heard; 0 none */
    bool peer_seen;
    uint8_t peer_state;
    uint8_t peer_priority;
    uint32_t peer_interval_ms;
    uint64_t peer_last_ms;
    uint64_t transitions;
    uint64_t since_ms;          /* when the current state was entered */
    const char *reason;         /* why the last transition happened */
};

void ha_elect_init(struct ha_elect *e, const struct ha_elect_cfg *cfg, uint64_t now);

/* The peer's advert (already authenticated, from the peer). */
void ha_elect_advert(struct ha_elect *e, const struct ha_advert *a, uint64_t now);

/* Timers and the fault condition; call at least every few milliseconds. */
void ha_elect_tick(struct ha_elect *e, uint64_t now);

/* Cause `cause` (HA_FAULT_*) of a fault is there (on) or gone (off); the unit is in
 * fault while any cause is there. */
void ha_elect_set_fault(struct ha_elect *e, enum ha_fault cause, bool on, uint64_t now);

/* Operator overrides (ha.promote, ha.demote). Promote fails (false) in fault. */
bool ha_elect_promote(struct ha_elect *e, uint64_t now);
void ha_elect_demote(struct ha_elect *e, uint64_t now);

/* True when an advert is due now (and the next one is scheduled). */
bool ha_elect_advert_due(struct ha_elect *e, uint64_t now);

/* The priority we advertise: 0 in fault or demoted, 255 promoted. */
uint8_t ha_elect_priority(const struct ha_elect *e);

/* The master-down interval (3 intervals + skew), ms. */
uint32_t ha_elect_master_down_ms(const struct ha_elect *e);

/* The peer was heard within the master-down interval. */
bool ha_elect_peer_alive(const struct ha_elect *e, uint64_t now);

#endif
