/*
 * mgmt_assets: the status page's files (control/www/), compiled into the daemon by
 * control/www/embed.py, so that the page needs nothing from outside the appliance.
 */
#ifndef LBD_MGMT_ASSETS_H
#define LBD_MGMT_ASSETS_H

#include <stddef.h>

struct mgmt_asset {
    const char *path;           /* URL path: "/status.js" ("/index.html" is also "/") */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};

extern const struct mgmt_asset mgmt_assets[];
extern const size_t mgmt_n_assets;

#endif
