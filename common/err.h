/*
 * err: the project-wide error codes.
 *
 * Every function that can fail returns 0 on success or a negative LBD_E* code.
 * Control-plane functions also fill a caller's error buffer with a sentence that
 * goes straight into an API error reply or a start-up message; lbd_err_code()
 * gives the stable, machine-readable name used as the API's "code" field.
 */
#ifndef LBD_ERR_H
#define LBD_ERR_H

#include <stddef.h>

enum lbd_err {
    LBD_OK = 0,
    LBD_EINVAL = -1,   /* bad argument or value */
    LBD_ENOMEM = -2,   /* out of memory or table full */
    LBD_EIO = -3,      /* I/O error (file, socket, port) */
    LBD_ENOENT = -4,   /* no such object */
    LBD_EEXIST = -5,   /* object already exists */
    LBD_ERANGE = -6,   /* value out of range */
    LBD_EBUSY = -7,    /* resource busy, try again */
    LBD_ENOTSUP = -8,  /* not supported (yet) */
    LBD_EPROTO = -9,   /* malformed message */
    LBD_E2BIG = -10,   /* message or object too large */
    LBD_ESTATE = -11,  /* not allowed in the current state */
    LBD_EPERM = -12,   /* refused: outside what the caller may do (a path, ...) */
};

/* Human-readable text for an LBD_E* code. Never NULL. */
const char *lbd_strerror(int err);

/* Stable machine name for an LBD_E* code ("invalid_argument", ...). Never NULL. */
const char *lbd_err_code(int err);

/* printf into a caller's error buffer; safe with buf == NULL or len == 0. Returns err. */
int lbd_err_set(char *buf, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
