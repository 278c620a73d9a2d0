/*
 * proxy_http: Layer 7 HTTP mode on the proxy's sessions (see doc/architecture.md).
 * Built on the splice core (proxy_int.h); the core reaches it only through
 * proxy_http_mode, which proxy_create installs.
 */
#ifndef LBD_PROXY_HTTP_H
#define LBD_PROXY_HTTP_H

#include <stddef.h>

#include "proxy/proxy_int.h"

/* accept: a client established on an HTTP-mode service starts its session; timer: the
 * session's timer fired (not while splicing); release: the session ends, its message
 * state goes back to the pool. */
extern const struct proxy_mode proxy_http_mode;

/* Set-up: the size of one message state; threads px->http_pool into its free list. */
size_t proxy_http_state_size(void);
void proxy_http_pool_init(struct proxy *px);

#endif
