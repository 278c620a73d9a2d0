/*
 * api_proto: the control API's wire format, shared by lbd and lbctl.
 *
 * JSON lines over a Unix stream socket: one request object per line, one response
 * object per line, in order.
 *   request:  {"cmd": "<name>", ...arguments}
 *   response: {"ok": true, "result": <any>}
 *             {"ok": false, "error": {"code": "<code>", "message": "<text>"}}
 * Codes are lbd_err_code() names plus the API's own (below).
 */
#ifndef LBD_API_PROTO_H
#define LBD_API_PROTO_H

#include <cjson/cJSON.h>

#define API_MAX_REQUEST (1024 * 1024)   /* bytes in one request line, newline excluded */
#define API_DEFAULT_SOCKET "/run/lbd/lbd.sock"

#define API_CODE_UNKNOWN_COMMAND "unknown_command"
#define API_CODE_PROTOCOL "protocol_error"
#define API_CODE_TOO_BIG "too_big"
#define API_CODE_BUSY "busy"

/* A response line ending in '\n' (malloc'd; the caller frees). Takes result. NULL on OOM. */
char *api_reply_ok(cJSON *result);

/* An error response line ending in '\n' (malloc'd). NULL on OOM. */
char *api_reply_error(const char *code, const char *message);

/* A request line ending in '\n' for cmd with optional args merged in (malloc'd). */
char *api_request(const char *cmd, const cJSON *args);

#endif
