/*
 * mgmt_server: the management HTTP server (config "management"): GET /metrics
 * (Prometheus, control/metrics.h), the status page (GET /, its script and style,
 * compiled in) and the JSON it refreshes from (GET /api/stats, /api/status,
 * /api/health, /api/services: the API's own replies, through api_cmd_handle).
 *
 * libmicrohttpd without threads of its own, run from the control loop: every request
 * is answered on the control core, where `stats` reads the counters, between two
 * passes of the loop, so nothing needs a lock and the dataplane never sees it. The
 * sockets are non-blocking and the work per request is bounded (a reply is built in
 * one go and sent as the socket takes it): a slow or stuck client holds one of
 * management.max_clients connections until management.timeout_s closes it, never the
 * loop. A request's head may use at most MGMT_CONN_MEMORY bytes. The replies of
 * /metrics and /api/stats are built at most every MGMT_CACHE_MS and shared by the
 * requests in between, so a burst of scrapes costs one build.
 *
 * With management.tls the server is HTTPS only; with management.users_file (which
 * needs tls) it also takes POST /api/rs, the API's rs.set, for a good login (HTTP
 * basic, control/mgmt_auth.h) with a JSON body from its own origin; every action is
 * logged with the user. GET /api/actions says whether it does.
 *
 * Control core only.
 */
#ifndef LBD_MGMT_SERVER_H
#define LBD_MGMT_SERVER_H

#include <stddef.h>

#include "appliance.h"

#define MGMT_CONN_MEMORY (32u * 1024)   /* per connection: request line and headers */
#define MGMT_CACHE_MS 200
#define MGMT_BODY_MAX 4096              /* an action's JSON body */

struct mgmt_server;

/*
 * Listens on a->cfg->management (address, port) with its limits. Fails (err filled)
 * when the address cannot be bound. *out stays NULL, with 0 returned, when the config
 * has no management section.
 */
int mgmt_server_open(struct appliance *a, struct mgmt_server **out, char *err, size_t errlen);

/*
 * Reads the files cm names as mgmt_server_open does (the TLS certificate and key, the
 * users file), without listening: for `lbd --check-config`. 0 when there is nothing to
 * read or everything reads; otherwise an LBD_E* code and err says which file.
 */
int mgmt_server_check(const struct cfg_management *cm, char *err, size_t errlen);

/* The fd whose input means work for mgmt_server_run (for the control loop's wait). */
int mgmt_server_fd(const struct mgmt_server *m);

/* Serves what is ready, without blocking; closes timed-out connections. */
void mgmt_server_run(struct mgmt_server *m);

/* Closes every connection and the socket. NULL is fine. */
void mgmt_server_close(struct mgmt_server *m);

#endif
