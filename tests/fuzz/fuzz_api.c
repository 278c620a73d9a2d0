/*
 * fuzz_api: one API request line into the command handlers, on an appliance without a
 * dataplane (as the unit tests run them). Every line gets a JSON reply; the running
 * config stays valid. Not run: config.save (it writes files), and the commands that
 * read the dataplane (status, stats, neigh.list, persist.*), which the daemon always
 * has and this appliance has not (fuzz_frame covers the dataplane).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <rte_eal.h>

#include "api_cmd.h"
#include "appliance.h"
#include "config.h"
#include "health.h"
#include "reconfig.h"

static struct appliance app;

static const char *cfg_json =
    "{\"appliance\": {\"name\": \"f\"},"
    " \"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
    " \"virtual_services\": ["
    "  {\"label\": \"A\", \"ip\": \"192.168.112.110\", \"ports\": [80], \"layer\": 7,"
    "   \"real_servers\": [{\"label\": \"a1\", \"ip\": \"192.168.112.51\"}]},"
    "  {\"label\": \"U\", \"ip\": \"192.168.112.111\", \"ports\": [3478], \"protocol\": \"udp\","
    "   \"layer\": 4, \"persistence\": {\"type\": \"source_ip\", \"timeout_s\": 60},"
    "   \"real_servers\": [{\"label\": \"u1\", \"ip\": \"192.168.112.52\"}]}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    char *eal[] = {"fuzz_api", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                   "--no-telemetry", "--log-level=error", "-l", "0", NULL};

    if (rte_eal_init(10, eal) < 0)
        abort();
    if (config_parse(cfg_json, &app.cfg, err, sizeof(err)) != 0)
        abort();
    snprintf(app.config_path, sizeof(app.config_path), "/tmp/lbd-fuzz-api-%d.json", getpid());
    app.health = health_create();
    reconfig_assign_ids(&app, app.cfg, NULL);
    if (health_sync(app.health, app.cfg, 0) != 0)
        abort();
    return 0;
}

/* True when the line names a command this appliance cannot run (above). */
static int skipped(const char *line, size_t len)
{
    static const char *const names[] = {"save", "status", "stats", "neigh", "persist"};
    cJSON *j = cJSON_ParseWithLength(line, len), *cmd;
    int r = 0;

    /* Read as the handler reads it: the same length, the same case-sensitive key. */
    if (j != NULL && (cmd = cJSON_GetObjectItemCaseSensitive(j, "cmd")) != NULL &&
        cJSON_IsString(cmd))
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            r |= strstr(cmd->valuestring, names[i]) != NULL;
    cJSON_Delete(j);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1), *reply;
    cJSON *j;

    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    if (!skipped(line, size)) {
        reply = api_cmd_handle(&app, line, size);
        j = reply != NULL ? cJSON_Parse(reply) : NULL;
        if (j == NULL || cJSON_GetObjectItem(j, "ok") == NULL)
            abort(); /* every line is answered with a reply object */
        cJSON_Delete(j);
        free(reply);
    }
    free(line);
    return 0;
}
