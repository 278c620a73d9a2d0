/*
 * The API's command handlers on an appliance without a dataplane: every command's
 * argument checking (malformed arguments are refused with the right code and leave
 * the running config as it was), and the edits that change the running config.
 */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eal.h"

#include "api_cmd.h"
#include "app_fixture.h"
#include "appliance.h"
#include "config.h"
#include "health.h"
#include "reconfig.h"

static struct appliance app;

static const char *cfg_json = APP_FIXTURE_ONE_L7;

static void setup(void)
{
    app_fixture(&app, cfg_json, "api-cmd");
}

static void teardown(void)
{
    unlink(app.config_path);
    health_free(app.health);
    config_free(app.cfg);
}

/* Sends line; returns the reply's error code, or "" for ok. */
static const char *call(const char *line, char *msg, size_t msglen)
{
    static char code[64];
    char *resp = api_cmd_handle(&app, line, strlen(line));
    cJSON *j = cJSON_Parse(resp);

    cr_assert_not_null(j, "%s", resp);
    code[0] = '\0';
    if (msg != NULL)
        msg[0] = '\0';
    if (!cJSON_IsTrue(cJSON_GetObjectItem(j, "ok"))) {
        cJSON *e = cJSON_GetObjectItem(j, "error");
        snprintf(code, sizeof(code), "%s", cJSON_GetObjectItem(e, "code")->valuestring);
        if (msg != NULL)
            snprintf(msg, msglen, "%s", cJSON_GetObjectItem(e, "message")->valuestring);
    }
    cJSON_Delete(j);
    free(resp);
    return code;
}

static void refused(const char *line, const char *code)
{
    char msg[512], *before = cJSON_PrintUnformatted(config_to_json(app.cfg)), *after;

    cr_assert_str_eq(call(line, msg, sizeof(msg)), code, "%s -> %s", line, msg);
    after = cJSON_PrintUnformatted(config_to_json(app.cfg));
    cr_assert_str_eq(before, after, "%s changed the running config", line);
    free(before);
    free(after);
}

TestSuite(api_cmd_handlers, .init = setup, .fini = teardown);

Test(api_cmd_handlers, malformed_arguments_of_every_command)
{
    refused("{\"cmd\":\"stats\",\"vs\":1}", "invalid_argument");
    refused("{\"cmd\":\"health.list\",\"vs\":[]}", "invalid_argument");
    refused("{\"cmd\":\"health.list\",\"vs\":\"nope\"}", "not_found");
    refused("{\"cmd\":\"persist.list\",\"vs\":false}", "invalid_argument");
    refused("{\"cmd\":\"persist.flush\",\"client\":7}", "invalid_argument");
    refused("{\"cmd\":\"config.apply\"}", "invalid_argument");
    refused("{\"cmd\":\"config.apply\",\"config\":\"x\"}", "invalid_argument");
    refused("{\"cmd\":\"config.apply\",\"config\":{}}", "invalid_argument");
    refused("{\"cmd\":\"config.save\",\"path\":3}", "invalid_argument");
    refused("{\"cmd\":\"vs.add\",\"vs\":[]}", "invalid_argument");
    refused("{\"cmd\":\"vs.add\",\"vs\":{\"label\":\"B\"}}", "invalid_argument");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"ports\":\"x\"}", "invalid_argument");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"Q\",\"ports\":[1]}", "not_found");
    refused("{\"cmd\":\"vs.del\"}", "invalid_argument");
    refused("{\"cmd\":\"rs.add\",\"vs\":\"A\",\"rs\":{\"label\":\"a2\"}}", "invalid_argument");
    refused("{\"cmd\":\"rs.add\",\"vs\":\"A\",\"rs\":{\"label\":\"a1\",\"ip\":\"192.168.112.52\"}}",
            "exists");
    refused("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a1\",\"weight\":-1}", "invalid_argument");
    refused("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a1\",\"state\":\"off\"}", "invalid_argument");
    refused("{\"cmd\":\"rs.del\",\"vs\":\"A\",\"rs\":\"zz\"}", "not_found");
    refused("{\"cmd\":\"ha.promote\"}", "bad_state");   /* standalone: no \"ha\" section */
    refused("{\"cmd\":\"ha.demote\"}", "bad_state");
}

Test(api_cmd_handlers, edits_change_the_running_config)
{
    char msg[512];

    cr_assert_str_eq(call("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a1\",\"state\":\"drain\"}",
                          msg, sizeof(msg)), "", "%s", msg);
    cr_assert_eq(app.cfg->virtual_services[0].real_servers[0].state, CFG_RS_DRAIN);
    cr_assert_str_eq(call("{\"cmd\":\"vs.add\",\"vs\":{\"label\":\"B\",\"ip\":\"192.168.112.111\","
                          "\"ports\":[3478],\"layer\":4,\"protocol\":\"udp\"}}", msg, sizeof(msg)),
                     "", "%s", msg);
    cr_assert_eq(app.cfg->n_virtual_services, 2);
    cr_assert_eq(app.cfg->virtual_services[1].slot, 1, "a new slot for the new service");
    cr_assert_eq(app.generation, 2);
    cr_assert_str_eq(call("{\"cmd\":\"vs.del\",\"vs\":\"A\"}", msg, sizeof(msg)), "");
    cr_assert_eq(app.cfg->n_virtual_services, 1);
    cr_assert_eq(app.cfg->virtual_services[0].slot, 1, "B keeps its slot");
}

Test(api_cmd_handlers, config_save_writes_a_loadable_file)
{
    char msg[512];
    struct lbd_config *c;

    cr_assert_str_eq(call("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a1\",\"weight\":42}", msg,
                          sizeof(msg)), "");
    cr_assert_str_eq(call("{\"cmd\":\"config.save\"}", msg, sizeof(msg)), "", "%s", msg);
    cr_assert_eq(config_load_file(app.config_path, &c, msg, sizeof(msg)), 0, "%s", msg);
    cr_assert_eq(c->virtual_services[0].real_servers[0].weight, 42);
    config_free(c);
    /* Another directory, or a way out of this one: refused, with the reason. */
    cr_assert_str_eq(call("{\"cmd\":\"config.save\",\"path\":\"/proc/no/such.json\"}", msg,
                          sizeof(msg)), "not_permitted");
    cr_assert_not_null(strstr(msg, "not in the running config's directory"), "%s", msg);
    cr_assert_str_eq(call("{\"cmd\":\"config.save\",\"path\":\"../etc/x.json\"}", msg,
                          sizeof(msg)), "not_permitted");
    cr_assert_not_null(strstr(msg, "'..'"), "%s", msg);
}

Test(api_cmd_handlers, config_save_names_the_file_written_and_reports_io_errors)
{
    static const char save[] = "{\"cmd\":\"config.save\"}";
    char msg[512], line[PATH_MAX + 80], dir[PATH_MAX + 8];
    char *resp;
    cJSON *j;

    resp = api_cmd_handle(&app, save, strlen(save));
    j = cJSON_Parse(resp);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "ok")), "%s", resp);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "result"), "path")->valuestring,
                     app.config_path);
    cJSON_Delete(j);
    free(resp);
    /* In the config's directory, but a directory: the write fails, nothing is left. */
    snprintf(dir, sizeof(dir), "%s.d", app.config_path);
    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(line, sizeof(line), "{\"cmd\":\"config.save\",\"path\":\"%s\"}", dir);
    cr_assert_str_eq(call(line, msg, sizeof(msg)), "io_error", "%s", msg);
    cr_assert_eq(rmdir(dir), 0);
}

Test(api_cmd_handlers, changes_that_need_a_restart_are_refused)
{
    const char *rcvbuf_line;
    char msg[512];

    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"other\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}]}}", "bad_state");
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":1,\"ip\":\"192.168.112.5/24\"}]}}", "bad_state");
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\","
            "\"mbufs_per_worker\":65536},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}]}}", "bad_state");
    /* The TCP stacks' receive buffers (and the window scale they offer): the running
     * config with only that changed, refused for that. */
    rcvbuf_line = "{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}],"
            "\"layer7\":{\"rcvbuf_max\":8388608},"
            "\"virtual_services\":[{\"label\":\"A\",\"ip\":\"192.168.112.110\","
            "\"ports\":[80],\"layer\":7,"
            "\"real_servers\":[{\"label\":\"a1\",\"ip\":\"192.168.112.51\"}]}]}}";
    refused(rcvbuf_line, "bad_state");
    call(rcvbuf_line, msg, sizeof(msg));
    cr_assert(strstr(msg, "layer7.rcvbuf_max") != NULL, "%s", msg);
    /* The TCP stacks' control blocks and TIME_WAIT tables are made at start-up. */
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}],"
            "\"layer7\":{\"max_conns_per_worker\":2048}}}", "bad_state");
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}],"
            "\"layer7\":{\"max_time_wait_per_worker\":4096}}}", "bad_state");
    /* The ports' offloads are asked for at start-up: layer7.tso too. */
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}],"
            "\"layer7\":{\"tso\":false}}}", "bad_state");
    /* A port's queues are set up at start-up: interfaces[].queues too. */
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\",\"queues\":2}]}}",
            "bad_state");
    call("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
         "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\",\"queues\":2}]}}",
         msg, sizeof(msg));
    cr_assert(strstr(msg, "interfaces[0].queues") != NULL, "%s", msg);
    /* The management server is set up at start-up. */
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}],"
            "\"management\":{\"port\":9101}}}", "bad_state");
    /* Adding an HA section to a running standalone appliance. */
    refused("{\"cmd\":\"config.apply\",\"config\":{\"appliance\":{\"name\":\"t\"},"
            "\"interfaces\":[{\"port\":0,\"ip\":\"192.168.112.5/24\"}],"
            "\"ha\":{\"peer\":\"192.168.112.6\"}}}", "bad_state");
}

Test(api_cmd_handlers, health_list_names_every_server)
{
    char *resp = api_cmd_handle(&app, "{\"cmd\":\"health.list\"}", 22);
    cJSON *j = cJSON_Parse(resp), *r = cJSON_GetObjectItem(j, "result");

    cr_assert_eq(cJSON_GetArraySize(r), 1);
    cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "rs")->valuestring, "a1");
    cJSON_Delete(j);
    free(resp);
}
