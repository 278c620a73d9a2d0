#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    const char *code;
    const char *text;
} err_table[] = {
    [0] = {"ok", "success"},
    [1] = {"invalid_argument", "invalid argument"},
    [2] = {"no_memory", "out of memory"},
    [3] = {"io_error", "input/output error"},
    [4] = {"not_found", "not found"},
    [5] = {"exists", "already exists"},
    [6] = {"out_of_range", "out of range"},
    [7] = {"busy", "busy"},
    [8] = {"not_supported", "not supported"},
    [9] = {"protocol_error", "malformed message"},
    [10] = {"too_big", "too large"},
    [11] = {"bad_state", "not allowed in the current state"},
    [12] = {"not_permitted", "not permitted"},
};

static int err_index(int err)
{
    int i = -err;
    if (i < 0 || i >= (int)(sizeof(err_table) / sizeof(err_table[0])))
        return -1;
    return i;
}

const char *lbd_strerror(int err)
{
    int i = err_index(err);
    return i < 0 ? "unknown error" : err_table[i].text;
}

const char *lbd_err_code(int err)
{
    int i = err_index(err);
    return i < 0 ? "internal" : err_table[i].code;
}

int lbd_err_set(char *buf, size_t len, int err, const char *fmt, ...)
{
    if (buf != NULL && len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, len, fmt, ap);
        va_end(ap);
    }
    return err;
}
