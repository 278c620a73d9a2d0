/*
 * api_cmd: the control API's commands (DESIGN.md section 5).
 *
 * Parses one request line, dispatches on "cmd", and returns the response line.
 * Malformed JSON, a missing or unknown command, or bad arguments give an error
 * response; nothing here can stop the daemon. Control core only: api_server calls it
 * back from the control loop.
 */
#ifndef LBD_API_CMD_H
#define LBD_API_CMD_H

#include <stddef.h>

#include "appliance.h"

/* api_handler_fn for api_server: ctx is the struct appliance. */
char *api_cmd_handle(void *ctx, const char *line, size_t len);

#endif
