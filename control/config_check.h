/*
 * config_check: `lbd --check-config FILE`. Runs the start-up's own loader and
 * validation on a config file, and reads every file the config names the way start-up
 * reads it (certificates, keys and password files of the TLS services and real
 * servers, the HA pair's key with its permission check, the management server's
 * certificate, key and users file), without starting the EAL, a port or a socket.
 *
 * Any core, any time (it touches no shared state); used before the EAL starts.
 */
#ifndef LBD_CONFIG_CHECK_H
#define LBD_CONFIG_CHECK_H

#include <stddef.h>

/* Called once per problem found, with a sentence that names the field. */
typedef void config_check_report_fn(void *arg, const char *msg);

/*
 * Checks the config at path. A config that does not load or validate is one problem
 * (the loader stops at the first field it refuses); a config that does is then checked
 * for each group of files it names, and every group that fails is one problem. Every
 * message starts with path and names the field: "<path>: virtual_services[2].ports[3]:
 * 70000 is not a port", "<path>: ha.auth_key_file: ...", "<path>: management: tls.cert
 * ...". Returns the number of problems reported through
 * report (0: the config would start) or a negative LBD_E* code for out of memory.
 */
int config_check_file(const char *path, config_check_report_fn *report, void *arg);

#endif
