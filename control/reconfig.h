/*
 * reconfig: live configuration changes, with no restart and no connection dropped.
 *
 * Every change, whether a whole config (config.apply) or one edit (vs.add, rs.set,
 * ...), goes the same way: the running config is dumped to JSON, edited, and run
 * through the full validator (config_from_json), so a bad change is refused with the
 * field path and nothing changes; a good one gets its services' and real servers'
 * identities carried over from the running config by label, a new snapshot is built
 * and published (RCU), and only then does it become the running config.
 *
 * Identities: a service keeps its counter slot, a real server its id and slot, for as
 * long as its label exists, so existing connections, persistence entries and
 * statistics follow it across changes. Control core only.
 *
 * Above appliance, health and stats (it calls them; none of them calls it); used by
 * persist_api, api_cmd and main.
 */
#ifndef LBD_RECONFIG_H
#define LBD_RECONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "appliance.h"
#include "config.h"

/*
 * Gives every service and real server of next its slot and id: the ones of the
 * service / real server with the same label in prev (NULL at start-up), else free
 * ones. Never fails: the validator bounds the counts to the slots there are.
 */
void reconfig_assign_ids(struct appliance *a, struct lbd_config *next,
                         const struct lbd_config *prev);

/*
 * Makes next the running config: checks that it changes nothing that needs a
 * restart (appliance name and socket, which ports exist), assigns identities,
 * publishes its snapshot. Takes ownership of next on success; on failure next is
 * untouched (the caller frees it), the running config and the dataplane unchanged,
 * and err names the field.
 */
int reconfig_apply(struct appliance *a, struct lbd_config *next, char *err, size_t errlen);

/*
 * Publishes a new snapshot of the running config (after a health change). Returns 0,
 * or LBD_ENOMEM with err filled (the old snapshot stays).
 */
int reconfig_publish(struct appliance *a, char *err, size_t errlen);

/*
 * Publishes one new snapshot if health changed since the last one (the appliance's
 * health_changed), however many servers changed. Once per control-loop iteration.
 */
void reconfig_publish_health(struct appliance *a);

/*
 * Writes the running config as JSON to the file it was loaded from (path NULL or
 * empty), or to path, which must name a file in that file's directory: a bare name
 * (taken in that directory), or a path whose directory is that directory; no ".."
 * anywhere. A target that is a symbolic link is refused, the running config's own
 * file included. Anything else is refused with LBD_EPERM (not_permitted) or
 * LBD_EINVAL, nothing written.
 *
 * Atomically: a temporary file created in that directory (O_CREAT | O_EXCL |
 * O_NOFOLLOW, mode 0600), written, fsync'ed and renamed over the target, then an
 * fsync of the directory; on any error the temporary file is removed (LBD_EIO) and
 * the target is untouched. *written (may be NULL) gets the path of the file written.
 */
int reconfig_save(const struct appliance *a, const char *path, char *written,
                  size_t writtenlen, char *err, size_t errlen);

/*
 * Applies one edit command to a config in JSON form (config_to_json's shape):
 *   vs.add  {vs: {...service}}
 *   vs.set  {vs: "label", <service fields to replace>...}
 *   vs.del  {vs: "label"}
 *   rs.add  {vs: "label", rs: {...real server}}
 *   rs.set  {vs: "label", rs: "label", <real-server fields to replace: state, weight...>}
 *   rs.del  {vs: "label", rs: "label"}
 * Only the shape of the request is checked here (LBD_EINVAL), and that the labels
 * exist (LBD_ENOENT) or not (LBD_EEXIST for add); the values are checked by the
 * validator afterwards. On failure root is unchanged.
 */
int reconfig_edit(cJSON *root, const char *cmd, const cJSON *req, char *err, size_t errlen);

#endif
