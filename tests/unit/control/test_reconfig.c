#include <criterion/criterion.h>

#include <string.h>

#include "appliance.h"
#include "config.h"
#include "err.h"
#include "reconfig.h"

static const char *base_json =
    "{\"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
    " \"virtual_services\": ["
    "  {\"label\": \"A\", \"ip\": \"192.168.112.110\", \"ports\": [80], \"layer\": 7,"
    "   \"real_servers\": [{\"label\": \"a1\", \"ip\": \"192.168.112.51\"},"
    "                      {\"label\": \"a2\", \"ip\": \"192.168.112.52\", \"port\": 8080}]},"
    "  {\"label\": \"B\", \"ip\": \"192.168.112.111\", \"ports\": [3478], \"layer\": 4,"
    "   \"protocol\": \"udp\", \"real_servers\": [{\"label\": \"b1\", \"ip\": \"192.168.112.51\"}]}"
    " ]}";

static cJSON *root;
static char err[512];

static void setup(void)
{
    struct lbd_config *c;
    cr_assert_eq(config_parse(base_json, &c, err, sizeof(err)), 0, "%s", err);
    root = config_to_json(c);
    config_free(c);
    err[0] = '\0';
}

static void teardown(void)
{
    cJSON_Delete(root);
}

/* Runs an edit given as JSON text; returns its code. */
static int edit(const char *req_text)
{
    cJSON *req = cJSON_Parse(req_text);
    const cJSON *cmd;
    int rc;

    cr_assert_not_null(req, "bad test JSON: %s", req_text);
    cmd = cJSON_GetObjectItem(req, "cmd");
    rc = reconfig_edit(root, cmd->valuestring, req, err, sizeof(err));
    cJSON_Delete(req);
    return rc;
}

/* The edited JSON, validated into a config (the caller frees). */
static struct lbd_config *validated(void)
{
    struct lbd_config *c = NULL;
    int rc = config_from_json(root, &c, err, sizeof(err));
    cr_assert_eq(rc, 0, "edited config invalid: %s", err);
    return c;
}

TestSuite(reconfig_edit, .init = setup, .fini = teardown);

Test(reconfig_edit, rs_set_state_and_weight)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a2\",\"state\":\"drain\","
                      "\"weight\":7}"), 0, "%s", err);
    c = validated();
    cr_assert_eq(c->virtual_services[0].real_servers[1].state, CFG_RS_DRAIN);
    cr_assert_eq(c->virtual_services[0].real_servers[1].weight, 7);
    cr_assert_eq(c->virtual_services[0].real_servers[1].port, 8080, "other fields kept");
    cr_assert_eq(c->virtual_services[0].real_servers[0].state, CFG_RS_ONLINE);
    config_free(c);
}

Test(reconfig_edit, rs_set_port_null_means_client_port)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a2\",\"port\":null}"), 0);
    c = validated();
    cr_assert_eq(c->virtual_services[0].real_servers[1].port, 0);
    config_free(c);
}

Test(reconfig_edit, rs_add_and_del)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"rs.add\",\"vs\":\"B\",\"rs\":{\"label\":\"b2\","
                      "\"ip\":\"192.168.112.52\"}}"), 0, "%s", err);
    cr_assert_eq(edit("{\"cmd\":\"rs.del\",\"vs\":\"A\",\"rs\":\"a1\"}"), 0, "%s", err);
    c = validated();
    cr_assert_eq(c->virtual_services[1].n_real_servers, 2);
    cr_assert_str_eq(c->virtual_services[1].real_servers[1].label, "b2");
    cr_assert_eq(c->virtual_services[0].n_real_servers, 1);
    cr_assert_str_eq(c->virtual_services[0].real_servers[0].label, "a2");
    config_free(c);
}

Test(reconfig_edit, vs_add_set_del)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"vs.add\",\"vs\":{\"label\":\"C\",\"ip\":\"192.168.112.112\","
                      "\"ports\":[443],\"layer\":7}}"), 0, "%s", err);
    cr_assert_eq(edit("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"ports\":[80,443],"
                      "\"scheduler\":\"maglev\"}"), 0, "%s", err);
    cr_assert_eq(edit("{\"cmd\":\"vs.del\",\"vs\":\"B\"}"), 0, "%s", err);
    c = validated();
    cr_assert_eq(c->n_virtual_services, 2);
    cr_assert_str_eq(c->virtual_services[0].label, "A");
    cr_assert_eq(c->virtual_services[0].n_ports, 2);
    cr_assert_eq(c->virtual_services[0].scheduler, CFG_SCHED_MAGLEV);
    cr_assert_eq(c->virtual_services[0].n_real_servers, 2, "real servers kept by vs.set");
    cr_assert_str_eq(c->virtual_services[1].label, "C");
    config_free(c);
}

Test(reconfig_edit, vs_set_null_restores_default)
{
    struct lbd_config *c;

    cr_assert_eq(edit("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"scheduler\":\"sh\"}"), 0);
    cr_assert_eq(edit("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"scheduler\":null}"), 0);
    c = validated();
    cr_assert_eq(c->virtual_services[0].scheduler, CFG_SCHED_WLC);
    config_free(c);
}

/* Refusals: code, message, and root left exactly as it was. */
static void refused(const char *req, int code, const char *msg_part)
{
    char *before = cJSON_PrintUnformatted(root), *after;
    int rc = edit(req);

    cr_assert_eq(rc, code, "%s: rc %d (%s)", req, rc, err);
    cr_assert(strstr(err, msg_part) != NULL, "%s: message '%s' lacks '%s'", req, err, msg_part);
    after = cJSON_PrintUnformatted(root);
    cr_assert_str_eq(before, after, "a refused edit changed the config");
    free(before);
    free(after);
}

Test(reconfig_edit, malformed_and_unknown)
{
    refused("{\"cmd\":\"vs.set\",\"ports\":[1]}", LBD_EINVAL, "vs: required");
    refused("{\"cmd\":\"vs.set\",\"vs\":3,\"ports\":[1]}", LBD_EINVAL, "vs: must be a label");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"Z\",\"ports\":[1]}", LBD_ENOENT, "'Z'");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"A\"}", LBD_EINVAL, "nothing to change");
    refused("{\"cmd\":\"vs.set\",\"vs\":\"A\",\"label\":\"X\"}", LBD_EINVAL, "cannot be changed");
    refused("{\"cmd\":\"vs.del\",\"vs\":\"nope\"}", LBD_ENOENT, "nope");
    refused("{\"cmd\":\"vs.add\",\"vs\":\"A\"}", LBD_EINVAL, "vs: must be an object");
    refused("{\"cmd\":\"vs.add\"}", LBD_EINVAL, "vs: required");
    refused("{\"cmd\":\"vs.add\",\"vs\":{\"label\":\"A\"}}", LBD_EEXIST, "exists already");
    refused("{\"cmd\":\"rs.add\",\"vs\":\"A\",\"rs\":\"x\"}", LBD_EINVAL, "rs: must be an object");
    refused("{\"cmd\":\"rs.add\",\"vs\":\"A\",\"rs\":{\"label\":\"a1\"}}", LBD_EEXIST, "a1");
    refused("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"zz\",\"weight\":1}", LBD_ENOENT, "zz");
    refused("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"weight\":1}", LBD_EINVAL, "rs: required");
    refused("{\"cmd\":\"rs.del\",\"vs\":\"Q\",\"rs\":\"a1\"}", LBD_ENOENT, "'Q'");
}

Test(reconfig_edit, values_are_checked_by_the_validator)
{
    struct lbd_config *c = NULL;

    cr_assert_eq(edit("{\"cmd\":\"rs.set\",\"vs\":\"A\",\"rs\":\"a1\",\"state\":\"asleep\"}"), 0);
    cr_assert_neq(config_from_json(root, &c, err, sizeof(err)), 0);
    cr_assert_null(c);
    cr_assert(strstr(err, "virtual_services[0].real_servers[0].state") != NULL, "%s", err);
}

Test(reconfig_ids, carried_by_label_and_never_reused)
{
    static struct appliance a;
    struct lbd_config *one, *two;
    const char *second =
        "{\"interfaces\": [{\"port\": 0, \"ip\": \"192.168.112.5/24\"}],"
        " \"virtual_services\": ["
        "  {\"label\": \"N\", \"ip\": \"192.168.112.120\", \"ports\": [80], \"layer\": 7},"
        "  {\"label\": \"B\", \"ip\": \"192.168.112.111\", \"ports\": [3478], \"layer\": 4,"
        "   \"protocol\": \"udp\", \"real_servers\": [{\"label\": \"new\", \"ip\": \"192.168.112.53\"},"
        "   {\"label\": \"b1\", \"ip\": \"192.168.112.54\"}]}]}";

    cr_assert_eq(config_parse(base_json, &one, err, sizeof(err)), 0);
    cr_assert_eq(config_parse(second, &two, err, sizeof(err)), 0, "%s", err);
    reconfig_assign_ids(&a, one, NULL);
    cr_assert_eq(one->virtual_services[0].slot, 0);
    cr_assert_eq(one->virtual_services[1].slot, 1);
    cr_assert_eq(one->virtual_services[0].real_servers[0].id, 1);
    cr_assert_eq(one->virtual_services[0].real_servers[1].id, 2);
    cr_assert_eq(one->virtual_services[1].real_servers[0].id, 3);

    reconfig_assign_ids(&a, two, one);
    /* B keeps slot 1 and b1 its id although both moved; N takes the free slot 0. */
    cr_assert_eq(two->virtual_services[1].slot, 1);
    cr_assert_eq(two->virtual_services[0].slot, 0);
    cr_assert_eq(two->virtual_services[1].real_servers[1].id, 3);
    cr_assert_eq(two->virtual_services[1].real_servers[1].slot, 0);
    /* A new server gets a new id (never 1 or 2 again) and a free slot. */
    cr_assert_eq(two->virtual_services[1].real_servers[0].id, 4);
    cr_assert_eq(two->virtual_services[1].real_servers[0].slot, 1);
    config_free(one);
    config_free(two);
}
