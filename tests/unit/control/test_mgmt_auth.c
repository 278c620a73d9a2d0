/*
 * The management server's logins (control/mgmt_auth.c): the users file's rules (mode,
 * owner, lines), checking passwords against crypt(3) hashes, remembering a good one,
 * and the limit on checks per second.
 */
#include <criterion/criterion.h>

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "mgmt_auth.h"

static char path[64];

static void setup(void)
{
    snprintf(path, sizeof(path), "/tmp/lbd-test-users-%d", getpid());
}

static void teardown(void)
{
    unlink(path);
}

TestSuite(mgmt_auth, .init = setup, .fini = teardown);

static const char *hash_of(const char *password, const char *setting)
{
    static struct crypt_data cd;
    const char *h = crypt_rn(password, setting, &cd, (int)sizeof(cd));

    cr_assert(h != NULL && h[0] == '$', "crypt_rn");
    return h;
}

static void write_file(const char *text, mode_t mode)
{
    FILE *f;

    unlink(path);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    cr_assert_eq(chmod(path, mode), 0);
}

static struct mgmt_auth *load_ok(const char *text)
{
    struct mgmt_auth *a = NULL;
    char err[512] = "";

    write_file(text, 0600);
    cr_assert_eq(mgmt_auth_load(path, &a, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(a);
    return a;
}

static void load_fails(const char *text, mode_t mode, const char *msg_part)
{
    struct mgmt_auth *a = NULL;
    char err[512] = "";

    write_file(text, mode);
    cr_expect_neq(mgmt_auth_load(path, &a, err, sizeof(err)), 0, "%s loads", text);
    cr_expect_null(a);
    cr_expect_not_null(strstr(err, msg_part), "\"%s\" not in \"%s\"", msg_part, err);
}

Test(mgmt_auth, good_and_bad_passwords)
{
    char text[1024], h1[256];
    struct mgmt_auth *a;

    snprintf(h1, sizeof(h1), "%s", hash_of("s3cret", "$6$abcdefgh$"));
    snprintf(text, sizeof(text), "# operators\n\nalice:%s\nbob:%s  \r\n", h1,
             hash_of("hunter2", "$5$saltsalt$"));
    a = load_ok(text);
    cr_assert_eq(mgmt_auth_users(a), 2);
    /* Each check in a second of its own: the limit is tested below. */
    cr_expect_eq(mgmt_auth_check(a, "alice", "s3cret", 10000), MGMT_AUTH_OK);
    cr_expect_eq(mgmt_auth_check(a, "bob", "hunter2", 20000), MGMT_AUTH_OK);
    cr_expect_eq(mgmt_auth_check(a, "alice", "hunter2", 30000), MGMT_AUTH_BAD);
    cr_expect_eq(mgmt_auth_check(a, "bob", "s3cret", 40000), MGMT_AUTH_BAD);
    cr_expect_eq(mgmt_auth_check(a, "carol", "s3cret", 50000), MGMT_AUTH_BAD);
    cr_expect_eq(mgmt_auth_check(a, "alice", "", 60000), MGMT_AUTH_BAD);
    cr_expect_eq(mgmt_auth_check(a, NULL, NULL, 70000), MGMT_AUTH_BAD);
    mgmt_auth_free(a);
}

Test(mgmt_auth, checks_per_second_are_limited_a_known_password_is_not)
{
    char text[512];
    struct mgmt_auth *a;
    unsigned bad = 0;

    snprintf(text, sizeof(text), "alice:%s\n", hash_of("s3cret", "$6$abcdefgh$"));
    a = load_ok(text);
    cr_assert_eq(mgmt_auth_check(a, "alice", "s3cret", 1000), MGMT_AUTH_OK);   /* 1 check */
    for (int i = 0; i < MGMT_AUTH_CHECKS_PER_S - 1; i++)
        bad += mgmt_auth_check(a, "alice", "guess", 1000) == MGMT_AUTH_BAD;
    cr_expect_eq(bad, MGMT_AUTH_CHECKS_PER_S - 1);
    cr_expect_eq(mgmt_auth_check(a, "alice", "guess", 1500), MGMT_AUTH_THROTTLED);
    cr_expect_eq(mgmt_auth_check(a, "mallory", "guess", 1999), MGMT_AUTH_THROTTLED);
    /* The password already checked needs no crypt: it passes while throttled. */
    cr_expect_eq(mgmt_auth_check(a, "alice", "s3cret", 1999), MGMT_AUTH_OK);
    /* The next second has its own checks. */
    cr_expect_eq(mgmt_auth_check(a, "alice", "guess", 2000), MGMT_AUTH_BAD);
    mgmt_auth_free(a);
}

Test(mgmt_auth, the_file_must_be_private_and_well_formed)
{
    char line[512], two[1024];
    const char *h = hash_of("x", "$6$abcdefgh$");

    snprintf(line, sizeof(line), "alice:%s\n", h);
    load_fails(line, 0644, "mode 0644, must be 0600 (no access for group or others)");
    load_fails(line, 0640, "mode 0640");
    load_fails(line, 0602, "mode 0602");
    load_fails("", 0600, "no user");
    load_fails("# nobody\n\n", 0600, "no user");
    load_fails("alice\n", 0600, ":1: not name:hash");
    load_fails("\n\nalice:plaintext\n", 0600,
               ":3: the password must be a crypt(3) hash");
    load_fails(":$6$x$y\n", 0600, ":1: the name must be 1..63 characters");
    snprintf(two, sizeof(two), "alice:%s\nalice:%s\n", h, h);
    load_fails(two, 0600, ":2: alice given twice");
    {
        struct mgmt_auth *a = NULL;
        char err[256] = "";
        unlink(path);
        cr_expect_eq(mgmt_auth_load(path, &a, err, sizeof(err)), LBD_EIO);
        cr_expect_not_null(strstr(err, "No such file"), "%s", err);
    }
}
