/*
 * config_check: the start-up's checks of a config file, with nothing started
 * (config_check.h).
 */
#include "config_check.h"

#include <stdio.h>

#include <openssl/crypto.h>

#include "config.h"
#include "err.h"
#include "ha_proto.h"
#include "mgmt_server.h"
#include "tls_load.h"

#define CHECK_MSG_MAX 1024

/* The TLS contexts, built for one worker and dropped: what start-up loads. */
static int check_tls(struct lbd_config *cfg, char *err, size_t errlen)
{
    int rc = tls_load_config(cfg, 1, err, errlen);

    tls_load_release(cfg);
    return rc;
}

/* The HA pair's key, which start-up reads before anything starts. */
static int check_ha(struct lbd_config *cfg, char *err, size_t errlen)
{
    struct ha_key key;
    int rc;

    if (!cfg->ha.enabled)
        return 0;
    rc = ha_key_load(cfg->ha.auth_key_file, &key, err, errlen);
    OPENSSL_cleanse(&key, sizeof(key));
    return rc;
}

static int check_mgmt(struct lbd_config *cfg, char *err, size_t errlen)
{
    char msg[CHECK_MSG_MAX];
    int rc = mgmt_server_check(&cfg->management, msg, sizeof(msg));

    if (rc != 0)
        lbd_err_set(err, errlen, rc, "management: %s", msg);
    return rc;
}

static int (*const file_checks[])(struct lbd_config *cfg, char *err, size_t errlen) = {
    check_tls,
    check_ha,
    check_mgmt,
};

int config_check_file(const char *path, config_check_report_fn *report, void *arg)
{
    struct lbd_config *cfg = NULL;
    char err[CHECK_MSG_MAX];
    int rc, problems = 0;

    rc = config_load_file(path, &cfg, err, sizeof(err));
    if (rc == LBD_ENOMEM)
        return rc;
    if (rc != 0) {
        report(arg, err);
        return 1;
    }
    for (size_t i = 0; i < sizeof(file_checks) / sizeof(file_checks[0]); i++) {
        err[0] = '\0';
        rc = file_checks[i](cfg, err, sizeof(err));
        if (rc == LBD_ENOMEM) {
            problems = rc;
            break;
        }
        if (rc != 0) {
            char line[CFG_PATH_MAX + CHECK_MSG_MAX];
            snprintf(line, sizeof(line), "%s: %s", path, err);
            report(arg, line);
            problems++;
        }
    }
    config_free(cfg);
    return problems;
}
