/*
 * l4_log: the traffic log of the Layer 4 path (common/txlog.h): when a connection of a
 * service with "log" ends, the record of it (client, VIP, service, real server,
 * protocol, duration, packets each way, how it ended) goes into the worker's log ring,
 * the one the Layer 7 proxy fills (single producer: this worker).
 *
 * A connection ends when its entry is deleted (expired, halted, ended by the HA
 * peer's record) or when a client's SYN reopens a closing entry on the same ports.
 * An entry that carried no packet here (installed from the master's sync records on
 * a backup) is not logged: the backup carried none of its traffic.
 *
 * Owning worker only. Hot path: nothing per packet here; the record is filled on the
 * stack and copied into the ring by value; a full ring is counted (l4_log_lost),
 * never waited for. No allocation, no syscall, no formatting.
 */
#ifndef LBD_L4_LOG_H
#define LBD_L4_LOG_H

#include <stdint.h>

#include "l4/l4.h"
#include "txlog.h"

/*
 * How c ended, deleted for why, in the traffic log's terms: halt, sync_removed; when
 * it expired (or a SYN reopened it), by the first FIN or RST it saw (client_close,
 * server_close, client_reset, server_reset), connect_timeout for a TCP handshake the
 * real server never answered, otherwise idle_timeout.
 */
enum txlog_end l4_log_end(const struct conn *c, enum conn_end why);

/*
 * If c's service logs (c->log) and c carried a packet here: its record, ended by end
 * at now, into l4->log_ring (l4_log_records, or l4_log_lost when full). Nothing when
 * the ring is NULL.
 */
void l4_log_conn(struct l4 *l4, const struct conn *c, enum txlog_end end, uint64_t now);

#endif
