/*
 * api_server: the JSON-lines control socket (framing and connections only).
 *
 * A Unix stream socket, mode 0600, served from the control core's loop without
 * threads: api_server_poll() waits for activity, reads complete lines, hands each
 * to the handler and queues the handler's response. A line longer than
 * API_MAX_REQUEST gets a too_big error and is skipped to its newline; the
 * connection and the daemon stay up. Responses are sent as soon as they are
 * queued, as far as the socket takes them; a client that does not read them is
 * disconnected when another response is due while more than API_MAX_PENDING_OUT
 * bytes still wait for it (one response may be larger: a big listing is not cut),
 * counted (api_server_slow_clients) and logged once, when it is dropped.
 *
 * Slow or silent clients cannot hold the socket: a request line must be complete
 * within API_REQUEST_TIMEOUT_MS of its first byte, else the client is disconnected
 * (api_server_request_timeouts: a slowloris); and when all API_MAX_CLIENTS slots are
 * taken, a newcomer takes the slot of the client stalled longest (silent, or with a
 * request line open, for API_EVICT_AFTER_MS at least; api_server_evicted), and is
 * refused only when every client is being answered or was active that recently.
 */
#ifndef LBD_API_SERVER_H
#define LBD_API_SERVER_H

#include <stddef.h>
#include <stdint.h>

#define API_MAX_CLIENTS 32
#define API_MAX_PENDING_OUT (1024u * 1024)  /* unread response bytes, then dropped */
#define API_REQUEST_TIMEOUT_MS 5000u        /* from a request line's first byte to its end */
#define API_EVICT_AFTER_MS 250u             /* silent, or a line open, this long: closed
                                               when a newcomer needs the slot */

/* Returns a malloc'd response line ending in '\n' (NULL: out of memory). */
typedef char *(*api_handler_fn)(void *ctx, const char *line, size_t len);

struct api_server;

/*
 * Creates the socket at path (and its parent directory if missing). A stale socket
 * file is replaced; a live one (another daemon answers) is an error.
 */
int api_server_open(const char *path, api_handler_fn fn, void *ctx, struct api_server **out,
                    char *err, size_t errlen);

/* Serves what is ready, waiting up to timeout_ms. Returns the requests handled. */
int api_server_poll(struct api_server *srv, int timeout_ms);

/*
 * Makes api_server_poll() also return when fd has input (the management server's
 * epoll fd, so that the control loop serves it without waiting out its timeout);
 * fd is only watched, never read. -1 stops watching.
 */
void api_server_watch(struct api_server *srv, int fd);

/* What the server refused or closed, counted since it opened. */
struct api_counters {
    unsigned long slow_clients;     /* left more than API_MAX_PENDING_OUT unread */
    unsigned long request_timeouts; /* a request line unfinished after API_REQUEST_TIMEOUT_MS */
    unsigned long evicted;          /* idle or stalled, closed to make room for a new client */
};

/* The counters, live (valid until api_server_close): for the appliance's stats. */
const struct api_counters *api_server_counters(const struct api_server *srv);

/* The two limits above, for tests (the daemon keeps the defaults). */
void api_server_set_timeouts(struct api_server *srv, uint32_t request_ms, uint32_t evict_ms);

/* Closes every connection and removes the socket file. */
void api_server_close(struct api_server *srv);

#endif
