/* Unit tests for policy/policy.c (policy.yaml(5)): every matcher, first-match
 * order, every action, the decision reasons, template expansion and name
 * checks, every load refusal with its exact FILE:LINE:COLUMN text, the file
 * checks of policy_load(), and the shipped example.
 *
 * Group membership (client_user groups) is resolved through NSS. So that
 * the test does not depend on the host's accounts, main() re-executes the
 * test under nss_wrapper (LD_PRELOAD=libnss_wrapper.so) with a private
 * passwd and group file, and the group tests first prove the wrapper is
 * active. Linked with only libpolicy.la, lib/errmsg.c and libyaml: the
 * dependency set pam_rstream.so gets. */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "macro.h"
#include "policy.h"

#define NSSW_ENV "POLICY_TEST_NSS_DIR"

static uint8_t key_a[32], key_b[32];

static policy_caller who(const char *name, const uint8_t *key) {
        policy_caller c = {.client_name = name, .key_id = key};
        return c;
}

static policy *parse_ok(const char *text) {
        _cleanup_free_ char *err = NULL;
        policy *p = NULL;
        int r = policy_parse(text, strlen(text), "t.yaml", &p, &err);

        ck_assert_msg(r == 0, "parse failed: %s", err ? err : "(no message)");
        ck_assert_ptr_nonnull(p);
        ck_assert_ptr_null(err);
        return p;
}

static void parse_err(const char *text, const char *expected) {
        _cleanup_free_ char *err = NULL;
        policy *p = (policy *) 0x1;
        int r = policy_parse(text, strlen(text), "t.yaml", &p, &err);

        ck_assert_int_eq(r, -EINVAL);
        ck_assert_ptr_null(p);
        ck_assert_ptr_nonnull(err);
        ck_assert_str_eq(err, expected);
}

static policy_decision decide(const policy *p, const policy_caller *c, const char *requested,
                              const char *default_user, const char *const *labels) {
        policy_request req = {
                .requested_user = requested, .default_user = default_user, .server_labels = labels};
        policy_decision d;

        ck_assert_int_eq(policy_decide(p, c, &req, &d), 0);
        ck_assert(d.reason[0]);
        return d;
}

/* Asserts an allow for user by rule. */
static void expect_allow(const policy_decision *d, const char *user, const char *rule) {
        ck_assert_msg(d->allow, "denied: %s", d->reason);
        ck_assert_str_eq(d->user, user);
        ck_assert_str_eq(d->rule, rule);
}

static void expect_deny(const policy_decision *d, const char *rule) {
        ck_assert_msg(!d->allow, "allowed: %s", d->reason);
        ck_assert_str_eq(d->user, "");
        ck_assert_str_eq(d->rule, rule);
        ck_assert(!d->sudo);
}

/* ---------------- matchers ---------------- */

START_TEST(test_match_client_glob) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: exact\n"
                                   "    match: {client: alice}\n"
                                   "    user: u1\n"
                                   "  - name: prefix\n"
                                   "    match: {client: [\"dev-*\"]}\n"
                                   "    user: u2\n"
                                   "  - name: middle\n"
                                   "    match: {client: [\"a*b*c\", zed]}\n"
                                   "    user: u3\n"
                                   "  - name: literal-q\n"
                                   "    match: {client: [\"x?y\"]}\n"
                                   "    user: u4\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c;
        policy_decision d;

        c = who("alice", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "u1", "exact");
        ck_assert_int_eq(d.kind, POLICY_USER_FIXED);
        c = who("alice2", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
        c = who("dev-", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "u2", "prefix");
        c = who("dev-joe", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "u2", "prefix");
        c = who("xdev-joe", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
        c = who("abc", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "u3", "middle");
        c = who("a-b-b-c", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "u3", "middle");
        c = who("a-b-c-d", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
        c = who("zed", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "u3", "middle");
        /* only '*' is special */
        c = who("xzy", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
        c = who("x?y", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "u4", "literal-q");
        /* a caller without a name never matches a client matcher */
        c = who(NULL, key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
        ck_assert_str_eq(d.reason, "caller \"\" (key aaaaaaaaaaaaaaaa) matched no rule");
}
END_TEST

START_TEST(test_match_key_id) {
        /* upper-case hex in the file matches: ids compare as bytes */
        static const char text[] =
                "version: 1\n"
                "rules:\n"
                "  - name: by-key\n"
                "    match:\n"
                "      key_id:\n"
                "        - BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\n"
                "    user: keyed\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("anyone", key_b);
        policy_decision d;
        uint8_t parsed[32];

        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "keyed", "by-key");
        c = who("anyone", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");

        ck_assert_int_eq(policy_parse_key_id(
                                 "bbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBB", parsed),
                         0);
        ck_assert_mem_eq(parsed, key_b, 32);
        ck_assert_int_eq(policy_parse_key_id("bb", parsed), -EINVAL);
        ck_assert_int_eq(policy_parse_key_id(
                                 "gbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBBbbBB", parsed),
                         -EINVAL);
        ck_assert_int_eq(policy_parse_key_id(NULL, parsed), -EINVAL);
        /* The base64url form the webtty commands print. */
        memset(parsed, 0, sizeof(parsed));
        ck_assert_int_eq(policy_parse_key_id("u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7s", parsed), 0);
        ck_assert_mem_eq(parsed, key_b, 32);
        /* Unused low bits set (another spelling of the same id), a bad character. */
        ck_assert_int_eq(policy_parse_key_id("u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7t", parsed),
                         -EINVAL);
        ck_assert_int_eq(policy_parse_key_id("u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7+", parsed),
                         -EINVAL);
}
END_TEST

START_TEST(test_match_principal_device) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: both\n"
                                   "    match: {principal: [prn_1, prn_2], device: dev_9}\n"
                                   "    user: both\n"
                                   "  - name: principal-only\n"
                                   "    match: {principal: prn_1}\n"
                                   "    user: ponly\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("x", key_a);
        policy_decision d;

        c.principal_id = "prn_2";
        c.device_id = "dev_9";
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "both", "both");
        c.principal_id = "prn_1";
        c.device_id = "dev_8";
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "ponly", "principal-only");
        c.device_id = NULL;
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "ponly", "principal-only");
        c.principal_id = "";
        c.device_id = "dev_9";
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
        c.principal_id = "prn_3";
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
}
END_TEST

START_TEST(test_match_server_labels) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: prod\n"
                                   "    match:\n"
                                   "      server_labels: {env: prod, tier: \"1\"}\n"
                                   "    user: produser\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("x", key_a);
        const char *const both[] = {"region=eu", "tier=1", "env=prod", NULL};
        const char *const one[] = {"env=prod", NULL};
        const char *const wrong[] = {"env=production", "tier=1", NULL};
        const char *const prefix[] = {"envx=prod", "tier=1", NULL};
        const char *const twice[] = {"env=prod", "tier=1", "env=dev", NULL};
        const char *const bare[] = {"env", "tier=1", NULL};
        policy_decision d;

        d = decide(p, &c, NULL, NULL, both);
        expect_allow(&d, "produser", "prod");
        d = decide(p, &c, NULL, NULL, one);
        expect_deny(&d, "");
        d = decide(p, &c, NULL, NULL, wrong);
        expect_deny(&d, "");
        d = decide(p, &c, NULL, NULL, prefix);
        expect_deny(&d, "");
        /* the same label twice with different values matches neither */
        d = decide(p, &c, NULL, NULL, twice);
        expect_deny(&d, "");
        d = decide(p, &c, NULL, NULL, bare);
        expect_deny(&d, "");
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "");
}
END_TEST

START_TEST(test_match_unauthenticated) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: everyone\n"
                                   "    user: authed\n"
                                   "  - name: kiosk\n"
                                   "    match: {unauthenticated: true, server_labels: {kiosk: \"yes\"}}\n"
                                   "    user: default\n";
        const char *const kiosk[] = {"kiosk=yes", NULL};
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller anon = {}, c = who("x", key_a);
        policy_decision d;

        /* a rule without `unauthenticated: true` never matches a non-E2E session */
        d = decide(p, &c, NULL, "www", kiosk);
        expect_allow(&d, "authed", "everyone");
        d = decide(p, &anon, NULL, "www", kiosk);
        expect_allow(&d, "www", "kiosk");
        ck_assert_int_eq(d.kind, POLICY_USER_DEFAULT);
        ck_assert_str_eq(
                d.reason,
                "unauthenticated caller matched rule \"kiosk\" (line 5): user www (default login user)");
        d = decide(p, NULL, NULL, "www", kiosk);
        expect_allow(&d, "www", "kiosk");
        d = decide(p, &anon, NULL, "www", NULL);
        expect_deny(&d, "");
        ck_assert_str_eq(d.reason, "unauthenticated caller matched no rule");
        ck_assert(policy_allows_unauthenticated(p));
}
END_TEST

START_TEST(test_first_match_wins) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: block-mallory\n"
                                   "    match: {client: mallory}\n"
                                   "    deny: true\n"
                                   "  - name: all\n"
                                   "    match: {client: \"*\"}\n"
                                   "    user: everyone\n"
                                   "  - name: never\n"
                                   "    match: {client: alice}\n"
                                   "    user: root\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("mallory", key_a);
        policy_decision d;

        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "block-mallory");
        ck_assert_uint_eq(d.rule_line, 3);
        ck_assert_str_eq(d.reason,
                         "caller \"mallory\" (key aaaaaaaaaaaaaaaa) matched rule \"block-mallory\" "
                         "(line 3): denied");
        c = who("alice", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "everyone", "all");
        ck_assert_uint_eq(d.rule_line, 6);
        ck_assert_uint_eq(policy_rule_count(p), 3);
        ck_assert(!policy_allows_unauthenticated(p));
}
END_TEST

START_TEST(test_no_match_and_empty_rules) {
        _cleanup_(policy_freep) policy *p = parse_ok("version: 1\nrules: []\n");
        _cleanup_(policy_freep) policy *q =
                parse_ok("version: 1\nrules:\n  - name: any\n    user: anyone\n");
        policy_caller c = who("x\"y\n", key_a);
        policy_decision d;

        d = decide(p, &c, NULL, "www", NULL);
        expect_deny(&d, "");
        ck_assert_uint_eq(d.rule_line, 0);
        /* quotes and control characters in a name are escaped in the reason */
        ck_assert_str_eq(d.reason, "caller \"x\\x22y\\x0a\" (key aaaaaaaaaaaaaaaa) matched no rule");
        /* a rule without match fits every authenticated caller, no others */
        d = decide(q, &c, NULL, NULL, NULL);
        expect_allow(&d, "anyone", "any");
        d = decide(q, NULL, NULL, "www", NULL);
        expect_deny(&d, "");
        ck_assert_int_eq(policy_decide(NULL, &c, NULL, &d), -EINVAL);
        ck_assert(!d.allow);
}
END_TEST

START_TEST(test_rule_trace) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: c\n"
                                   "    match: {client: [\"a*\"]}\n"
                                   "    deny: true\n"
                                   "  - name: k\n"
                                   "    match: {key_id: "
                                   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb}\n"
                                   "    deny: true\n"
                                   "  - name: p\n"
                                   "    match: {principal: prn_1}\n"
                                   "    deny: true\n"
                                   "  - name: d\n"
                                   "    match: {device: dev_1}\n"
                                   "    deny: true\n"
                                   "  - name: l\n"
                                   "    match: {server_labels: {env: prod}}\n"
                                   "    deny: true\n"
                                   "  - name: u\n"
                                   "    match: {unauthenticated: true}\n"
                                   "    deny: true\n"
                                   "  - name: all\n"
                                   "    user: x\n";
        static const char *const why[] = {
                "client \"zed\" does not match client",
                "key id is not in key_id",
                "principal \"\" is not in principal",
                "device \"dev_2\" is not in device",
                "server label env is not prod",
                "matches only unauthenticated sessions",
                "",
        };
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("zed", key_a), anon = {};
        policy_request req = {};
        policy_rule_info info;

        c.device_id = "dev_2";
        for (size_t i = 0; i < ELEMENTSOF(why); i++) {
                ck_assert_int_eq(policy_rule_trace(p, i, &c, &req, &info), 0);
                ck_assert_str_eq(info.why, why[i]);
                ck_assert(info.matches == (why[i][0] == 0));
        }
        ck_assert_str_eq(info.name, "all");
        ck_assert_uint_eq(info.line, 21);
        ck_assert_int_eq(policy_rule_trace(p, 7, &c, &req, &info), -EINVAL);
        ck_assert_int_eq(policy_rule_trace(p, 0, &anon, NULL, &info), 0);
        ck_assert_str_eq(info.why, "does not match unauthenticated sessions");
        ck_assert_int_eq(policy_rule_trace(p, 5, NULL, NULL, &info), 0);
        ck_assert(info.matches);
}
END_TEST

/* ---------------- actions ---------------- */

START_TEST(test_action_fixed_and_requested_mismatch) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: ops-admins\n"
                                   "    match: {client: [alice, bob]}\n"
                                   "    user: root\n"
                                   "    sudo: true\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("alice", key_a);
        policy_decision d;

        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "root", "ops-admins");
        ck_assert(d.sudo);
        ck_assert_int_eq(d.kind, POLICY_USER_FIXED);
        ck_assert_str_eq(d.reason, "caller \"alice\" (key aaaaaaaaaaaaaaaa) matched rule \"ops-admins\" "
                                   "(line 3): user root, sudo");
        d = decide(p, &c, "root", NULL, NULL);
        expect_allow(&d, "root", "ops-admins");
        d = decide(p, &c, "", NULL, NULL);
        expect_allow(&d, "root", "ops-admins");
        /* asking for another user than the rule maps to fails closed */
        d = decide(p, &c, "bin", NULL, NULL);
        expect_deny(&d, "ops-admins");
        ck_assert_str_eq(d.reason,
                         "caller \"alice\" (key aaaaaaaaaaaaaaaa) matched rule \"ops-admins\" (line 3): "
                         "requested user \"bin\" but rule \"ops-admins\" maps to root");
}
END_TEST

START_TEST(test_action_default) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: d\n"
                                   "    user: default\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("alice", key_a);
        policy_decision d;

        d = decide(p, &c, NULL, "www", NULL);
        expect_allow(&d, "www", "d");
        ck_assert_int_eq(d.kind, POLICY_USER_DEFAULT);
        ck_assert(!d.sudo);
        d = decide(p, &c, "www", "www", NULL);
        expect_allow(&d, "www", "d");
        d = decide(p, &c, "root", "www", NULL);
        expect_deny(&d, "d");
        ck_assert_str_eq(d.reason, "caller \"alice\" (key aaaaaaaaaaaaaaaa) matched rule \"d\" (line 3): "
                                   "requested user \"root\" but rule \"d\" maps to www");
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "d");
        ck_assert_str_eq(d.reason,
                         "caller \"alice\" (key aaaaaaaaaaaaaaaa) matched rule \"d\" (line 3): maps to the "
                         "default login user, and none is configured (--login-user)");
        d = decide(p, &c, NULL, "bad:name", NULL);
        expect_deny(&d, "d");
}
END_TEST

START_TEST(test_action_template) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: developers\n"
                                   "    match: {client: [\"dev-*\"]}\n"
                                   "    user_template: \"rs-{name}\"\n"
                                   "  - name: by-key\n"
                                   "    user_template: \"k{key_id}\"\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("dev-joe", key_a);
        policy_decision d;

        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "rs-dev-joe", "developers");
        ck_assert_int_eq(d.kind, POLICY_USER_TEMPLATE);
        ck_assert_str_eq(d.reason,
                         "caller \"dev-joe\" (key aaaaaaaaaaaaaaaa) matched rule \"developers\" (line 3): "
                         "user rs-dev-joe (template rs-{name})");
        d = decide(p, &c, "rs-dev-joe", NULL, NULL);
        expect_allow(&d, "rs-dev-joe", "developers");
        d = decide(p, &c, "root", NULL, NULL);
        expect_deny(&d, "developers");
        ck_assert_str_eq(d.reason,
                         "caller \"dev-joe\" (key aaaaaaaaaaaaaaaa) matched rule \"developers\" (line 3): "
                         "requested user \"root\" but rule \"developers\" maps to rs-dev-joe");
        /* a name that makes an invalid user name is refused, never mangled */
        c = who("dev-Joe", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "developers");
        ck_assert_str_eq(d.reason,
                         "caller \"dev-Joe\" (key aaaaaaaaaaaaaaaa) matched rule \"developers\" (line 3): "
                         "template \"rs-{name}\" gives \"rs-dev-Joe\" for caller \"dev-Joe\": not a valid "
                         "user name ([a-z_][a-z0-9_-]*, at most 32 bytes)");
        c = who("dev-abcdefghijabcdefghijabcdefghij", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "developers");
        c = who("other", key_b);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "kbbbbbbbbbbbbbbbb", "by-key");
}
END_TEST

START_TEST(test_action_deny_and_sudo_default) {
        static const char text[] = "version: 1\n"
                                   "rules:\n"
                                   "  - name: blocked\n"
                                   "    match: {client: [mallory]}\n"
                                   "    deny: true\n"
                                   "  - name: plain\n"
                                   "    user: someone\n"
                                   "    sudo: false\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("mallory", key_a);
        policy_decision d;

        d = decide(p, &c, "mallory", "www", NULL);
        expect_deny(&d, "blocked");
        c = who("bob", key_a);
        d = decide(p, &c, NULL, NULL, NULL);
        expect_allow(&d, "someone", "plain");
        ck_assert(!d.sudo);
        ck_assert_str_eq(
                d.reason,
                "caller \"bob\" (key aaaaaaaaaaaaaaaa) matched rule \"plain\" (line 6): user someone");
}
END_TEST

static bool nss_wrapped(void) {
        struct passwd *pw = getpwnam("pt-primary");

        return pw && pw->pw_uid == 4001;
}

START_TEST(test_action_client_user_lists_and_groups) {
        static const char text[] =
                "version: 1\n"
                "rules:\n"
                "  - name: deploy\n"
                "    match: {client: [ci]}\n"
                "    client_user: {users: [deploy, www-data], groups: [pt-deployers, pt-nogroup]}\n"
                "  - name: listed-only\n"
                "    client_user: {users: [deploy]}\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        policy_caller c = who("ci", key_a);
        policy_decision d;

        ck_assert_msg(nss_wrapped(), "nss_wrapper is not active (is libnss-wrapper installed?)");
        d = decide(p, &c, "www-data", NULL, NULL);
        expect_allow(&d, "www-data", "deploy");
        ck_assert_int_eq(d.kind, POLICY_USER_REQUESTED);
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): user "
                         "www-data (requested, listed in users)");
        /* the primary group counts (getgrouplist semantics) */
        d = decide(p, &c, "pt-primary", NULL, NULL);
        expect_allow(&d, "pt-primary", "deploy");
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): user "
                         "pt-primary (requested, member of group pt-deployers)");
        /* a supplementary member */
        d = decide(p, &c, "pt-member", NULL, NULL);
        expect_allow(&d, "pt-member", "deploy");
        d = decide(p, &c, "pt-outsider", NULL, NULL);
        expect_deny(&d, "deploy");
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): requested "
                         "user pt-outsider is not allowed (not listed in users and not a member of an "
                         "allowed group)");
        d = decide(p, &c, "pt-nosuchuser", NULL, NULL);
        expect_deny(&d, "deploy");
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): requested "
                         "user pt-nosuchuser is not allowed (not listed in users, and no such account for a "
                         "group check)");
        d = decide(p, &c, "bad:user", NULL, NULL);
        expect_deny(&d, "deploy");
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): requested "
                         "user \"bad:user\" is not a valid user name");

        /* no user requested: the default login user, if the rule allows it */
        d = decide(p, &c, NULL, "pt-member", NULL);
        expect_allow(&d, "pt-member", "deploy");
        ck_assert_int_eq(d.kind, POLICY_USER_DEFAULT);
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): user "
                         "pt-member (default login user, member of group pt-deployers)");
        d = decide(p, &c, NULL, "pt-outsider", NULL);
        expect_deny(&d, "deploy");
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): no user "
                         "requested, and the default login user pt-outsider is not allowed (not listed in "
                         "users and not a member of an allowed group)");
        d = decide(p, &c, NULL, NULL, NULL);
        expect_deny(&d, "deploy");
        ck_assert_str_eq(d.reason,
                         "caller \"ci\" (key aaaaaaaaaaaaaaaa) matched rule \"deploy\" (line 3): no user "
                         "requested, and no default login user is configured (--login-user)");
        /* users only: no group lookup at all */
        c = who("other", key_a);
        d = decide(p, &c, "pt-primary", NULL, NULL);
        expect_deny(&d, "listed-only");
        ck_assert_str_eq(d.reason,
                         "caller \"other\" (key aaaaaaaaaaaaaaaa) matched rule \"listed-only\" (line 6): "
                         "requested user pt-primary is not allowed (not listed in users)");
}
END_TEST

/* ---------------- templates ---------------- */

START_TEST(test_expand_template) {
        _cleanup_free_ char *err = NULL;
        policy_caller c = who("alice", key_a), anon = {};
        char out[POLICY_NAME_MAX], small[8];

        ck_assert_int_eq(policy_expand_template("rs-{name}", &c, NULL, out, sizeof(out), &err), 0);
        ck_assert_str_eq(out, "rs-alice");
        ck_assert_int_eq(policy_expand_template("u{key_id}", &c, NULL, out, sizeof(out), &err), 0);
        ck_assert_str_eq(out, "uaaaaaaaaaaaaaaaa");
        ck_assert_int_eq(policy_expand_template("/home/{user}", &c, "rs-alice", out, sizeof(out), &err), 0);
        ck_assert_str_eq(out, "/home/rs-alice");
        ck_assert_int_eq(policy_expand_template("rstream {name} {key_id}", &c, "u", out, sizeof(out), &err),
                         0);
        ck_assert_str_eq(out, "rstream alice aaaaaaaaaaaaaaaa");
        ck_assert_ptr_null(err);

        ck_assert_int_eq(policy_expand_template("{user}", &c, NULL, out, sizeof(out), &err), -EINVAL);
        ck_assert_str_eq(err, "template \"{user}\": {user} is only valid in home and gecos");
        ck_assert_int_eq(policy_expand_template("rs-{name}", &anon, NULL, out, sizeof(out), &err), -EINVAL);
        ck_assert_str_eq(err,
                         "template \"rs-{name}\" needs the caller's client name, and the caller has none");
        ck_assert_int_eq(policy_expand_template("rs-{key_id}", &anon, NULL, out, sizeof(out), &err),
                         -EINVAL);
        ck_assert_str_eq(err, "template \"rs-{key_id}\" needs the caller's key id, and the caller has none");
        ck_assert_int_eq(policy_expand_template("rs-{name}", &c, NULL, small, sizeof(small), &err),
                         -ENAMETOOLONG);
        ck_assert_str_eq(err, "template \"rs-{name}\" for caller \"alice\" expands to more than 7 bytes");
        ck_assert_int_eq(policy_expand_template("rs-{nope}", &c, NULL, out, sizeof(out), &err), -EINVAL);
        ck_assert_str_eq(err, "template \"rs-{nope}\": bad placeholder at byte 4");
        c.client_name = "a:b";
        ck_assert_int_eq(policy_expand_template("x {name}", &c, "u", out, sizeof(out), &err), -EINVAL);
        ck_assert_str_eq(
                err,
                "template \"x {name}\" for caller \"a:b\" gives a value with ':' or a control character");
        c.client_name = "9lives";
        ck_assert_int_eq(policy_expand_template("{name}", &c, NULL, out, sizeof(out), &err), -EINVAL);
        ck_assert_str_eq(err,
                         "template \"{name}\" gives \"9lives\" for caller \"9lives\": not a valid user name "
                         "([a-z_][a-z0-9_-]*, at most 32 bytes)");
        c.client_name = "_ok-9";
        ck_assert_int_eq(policy_expand_template("{name}", &c, NULL, out, sizeof(out), &err), 0);
        ck_assert_str_eq(out, "_ok-9");
}
END_TEST

START_TEST(test_accounts_section) {
        static const char text[] = "version: 1\n"
                                   "accounts:\n"
                                   "  uid_range: 1000-1999\n"
                                   "  group: 100\n"
                                   "  home: /srv/rs/{name}\n"
                                   "  shell: /bin/sh\n"
                                   "  gecos: \"rs user {user}\"\n"
                                   "rules: []\n";
        _cleanup_(policy_freep) policy *p = parse_ok(text);
        _cleanup_(policy_freep) policy *q = parse_ok("version: 1\nrules: []\n");
        _cleanup_free_ char *err = NULL;
        const policy_accounts *a = policy_get_accounts(p);
        policy_caller c = who("joe", key_a);
        char home[POLICY_NAME_MAX], gecos[POLICY_NAME_MAX];

        ck_assert_uint_eq(a->uid_min, 1000);
        ck_assert_uint_eq(a->uid_max, 1999);
        ck_assert_uint_eq(a->gid, 100);
        ck_assert_str_eq(a->home_template, "/srv/rs/{name}");
        ck_assert_str_eq(a->shell, "/bin/sh");
        ck_assert_str_eq(a->gecos_template, "rs user {user}");
        ck_assert_int_eq(policy_account_fields(p, &c, "rs-joe", home, gecos, &err), 0);
        ck_assert_str_eq(home, "/srv/rs/joe");
        ck_assert_str_eq(gecos, "rs user rs-joe");
        /* a client name cannot climb out of the home base */
        c.client_name = "..";
        ck_assert_int_eq(policy_account_fields(p, &c, "rs-x", home, gecos, &err), -EINVAL);
        ck_assert_str_eq(err, "home \"/srv/rs/..\" for user rs-x has a \".\" or \"..\" component");

        a = policy_get_accounts(q);
        ck_assert_uint_eq(a->uid_min, 70000);
        ck_assert_uint_eq(a->uid_max, 79999);
        ck_assert_uint_eq(a->gid, 0);
        ck_assert_str_eq(a->home_template, "/home/{user}");
        ck_assert_str_eq(a->shell, "/bin/bash");
        ck_assert_str_eq(a->gecos_template, "rstream {name}");
        c.client_name = "joe";
        ck_assert_int_eq(policy_account_fields(q, &c, "rs-joe", home, gecos, &err), 0);
        ck_assert_str_eq(home, "/home/rs-joe");
        ck_assert_str_eq(gecos, "rstream joe");
}
END_TEST

/* ---------------- refusals ---------------- */

static const struct {
        const char *text, *error;
} refusals[] = {
        {"", "t.yaml:1:1: empty policy (expected a mapping with version and rules)"},
        {"# nothing\n", "t.yaml:1:1: empty policy (expected a mapping with version and rules)"},
        {"hello\n", "t.yaml:1:1: a policy must be a mapping with version and rules, not a scalar"},
        {"- a\n", "t.yaml:1:1: a policy must be a mapping with version and rules, not a list"},
        {"rules: []\n", "t.yaml:1:1: missing key \"version\" (this build reads version: 1)"},
        {"version: 2\nrules: []\n", "t.yaml:1:10: unsupported version \"2\" (this build reads version: 1)"},
        {"version: \"1\"\nrules: []\n", "t.yaml:1:10: version must be the plain number 1"},
        {"version: 1\n", "t.yaml:1:1: missing key \"rules\" (an ordered list; rules: [] denies everyone)"},
        {"version: 1\nrules: {a: 1}\n", "t.yaml:2:8: rules must be a list, not a mapping"},
        {"version: 1\nrules: []\nrule: []\n",
         "t.yaml:3:1: unknown key \"rule\" in the policy (valid: version, accounts, rules)"},
        {"version: 1\nrules: []\nversion: 1\n",
         "t.yaml:3:1: duplicate key \"version\" in the policy (first at line 1)"},
        {"version: 1\nrules: []\n[a]: 1\n", "t.yaml:3:1: keys in the policy must be strings, not a list"},
        /* YAML features the format refuses */
        {"version: 1\nrules:\n  - &r {name: a, user: root}\n  - *r\n",
         "t.yaml:3:5: YAML anchors are not allowed in a policy"},
        {"version: 1\nrules:\n  - *r\n", "t.yaml:3:5: YAML aliases are not allowed in a policy"},
        {"version: !!int 1\nrules: []\n", "t.yaml:1:10: YAML tags are not allowed in a policy"},
        {"version: 1\nrules: []\n---\nversion: 1\n",
         "t.yaml:3:1: only one YAML document is allowed in a policy"},
        {"version: 1\nrules: []\nx: [[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]\n",
         "t.yaml:3:19: YAML nested too deeply (more than 16 levels)"},
        /* syntax */
        {"version: 1\nrules:\n  - name: a\n    user: root\n   bad: [\n",
         "t.yaml:5:4: while parsing a block collection: did not find expected '-' indicator"},
        {"version: 1\nrules:\n\t- name: a\n",
         "t.yaml:3:1: while scanning for the next token: found character that cannot start any token"},
        {"version: 1\nrules: []\n# \xff\n", "t.yaml:3:3: invalid leading UTF-8 octet"},
        /* rules */
        {"version: 1\nrules:\n  - just-a-string\n", "t.yaml:3:5: a rule must be a mapping, not a scalar"},
        {"version: 1\nrules:\n  - user: root\n", "t.yaml:3:5: rule has no name"},
        {"version: 1\nrules:\n  - name: \"a b\"\n    user: root\n",
         "t.yaml:3:11: rule name \"a b\" must be 1-64 letters, digits, '.', '_' or '-'"},
        {"version: 1\nrules:\n  - name: a\n    user: root\n  - name: a\n    deny: true\n",
         "t.yaml:5:11: duplicate rule name \"a\" (first at line 3)"},
        {"version: 1\nrules:\n  - name: a\n    match: {client: x}\n",
         "t.yaml:3:5: rule \"a\" needs one of user, user_template, client_user, deny"},
        {"version: 1\nrules:\n  - name: a\n    user: root\n    deny: true\n",
         "t.yaml:5:5: rule \"a\" has both user and deny (exactly one of user, user_template, client_user, "
         "deny)"},
        {"version: 1\nrules:\n  - name: a\n    client_user: {users: [x]}\n    user_template: "
         "\"rs-{name}\"\n",
         "t.yaml:5:5: rule \"a\" has both client_user and user_template (exactly one of user, "
         "user_template, "
         "client_user, deny)"},
        {"version: 1\nrules:\n  - name: a\n    usr: root\n",
         "t.yaml:4:5: unknown key \"usr\" in a rule (valid: name, match, user, user_template, client_user, "
         "deny, "
         "sudo)"},
        {"version: 1\nrules:\n  - name: a\n    user: root\n    user: bin\n",
         "t.yaml:5:5: duplicate key \"user\" in a rule (first at line 4)"},
        {"version: 1\nrules:\n  - name: a\n    deny: false\n",
         "t.yaml:4:11: deny: false has no meaning (use deny: true or remove it)"},
        {"version: 1\nrules:\n  - name: a\n    deny: true\n    sudo: true\n",
         "t.yaml:5:5: sudo has no meaning in a deny rule"},
        {"version: 1\nrules:\n  - name: a\n    user: root\n    sudo: yes\n",
         "t.yaml:5:11: sudo must be true or false"},
        {"version: 1\nrules:\n  - name: a\n    user: \"-rf\"\n",
         "t.yaml:4:11: user \"-rf\" is not a valid user name (letters, digits, '.', '_', '-'; at most 32 "
         "bytes; not "
         "starting with '-')"},
        {"version: 1\nrules:\n  - name: a\n    user: \"123\"\n",
         "t.yaml:4:11: user \"123\" is not a valid user name (letters, digits, '.', '_', '-'; at most 32 "
         "bytes; not "
         "starting with '-')"},
        {"version: 1\nrules:\n  - name: a\n    user: abcdefghijabcdefghijabcdefghijabc\n",
         "t.yaml:4:11: user is longer than 32 bytes"},
        {"version: 1\nrules:\n  - name: a\n    user: [root]\n",
         "t.yaml:4:11: user must be a string, not a list"},
        {"version: 1\nrules:\n  - name: a\n    user: \"ro\\tot\"\n",
         "t.yaml:4:11: user contains a control character"},
        {"version: 1\nrules:\n  - name: a\n    user:\n", "t.yaml:4:10: user must be a string, not nothing"},
        /* templates */
        {"version: 1\nrules:\n  - name: a\n    user_template: \"rs-{nam}\"\n",
         "t.yaml:4:20: user_template \"rs-{nam}\": unknown placeholder at byte 4 (valid: {name}, {key_id})"},
        {"version: 1\nrules:\n  - name: a\n    user_template: \"{user}\"\n",
         "t.yaml:4:20: user_template \"{user}\": unknown placeholder at byte 1 (valid: {name}, {key_id})"},
        {"version: 1\nrules:\n  - name: a\n    user_template: \"rs-}{name}\"\n",
         "t.yaml:4:20: user_template \"rs-}{name}\": unmatched '}' at byte 4 (valid: {name}, {key_id})"},
        {"version: 1\nrules:\n  - name: a\n    user_template: \"rs-fixed\"\n",
         "t.yaml:4:20: user_template \"rs-fixed\" has no {name} or {key_id}: every caller would share one "
         "account "
         "(use user: instead)"},
        {"version: 1\nrules:\n  - name: a\n    user_template: \"RS-{name}\"\n",
         "t.yaml:4:20: user_template \"RS-{name}\" cannot give a valid user name ([a-z_][a-z0-9_-]*, at "
         "most 32 "
         "bytes)"},
        {"version: 1\nrules:\n  - name: a\n    user_template: \"9-{name}\"\n",
         "t.yaml:4:20: user_template \"9-{name}\" cannot give a valid user name ([a-z_][a-z0-9_-]*, at most "
         "32 "
         "bytes)"},
        /* match */
        {"version: 1\nrules:\n  - name: a\n    match:\n    user: root\n",
         "t.yaml:4:11: match must be a mapping, not nothing"},
        {"version: 1\nrules:\n  - name: a\n    match: {clients: [x]}\n    user: root\n",
         "t.yaml:4:13: unknown key \"clients\" in match (valid: client, key_id, principal, device, "
         "server_labels, "
         "unauthenticated)"},
        {"version: 1\nrules:\n  - name: a\n    match: {client: []}\n    user: root\n",
         "t.yaml:4:21: client is an empty list (omit it to match anything)"},
        {"version: 1\nrules:\n  - name: a\n    match: {client: [[x]]}\n    user: root\n",
         "t.yaml:4:22: client entries must be strings, not a list"},
        {"version: 1\nrules:\n  - name: a\n    match: {principal: {a: b}}\n    user: root\n",
         "t.yaml:4:24: principal must be a string or a list of strings, not a mapping"},
        {"version: 1\nrules:\n  - name: a\n    match: {device: [\"\"]}\n    user: root\n",
         "t.yaml:4:22: device must not be empty"},
        {"version: 1\nrules:\n  - name: a\n    match: {key_id: [abc]}\n    user: root\n",
         "t.yaml:4:22: key_id \"abc\" must be 64 hexadecimal digits or 43 base64url characters"},
        {"version: 1\nrules:\n  - name: a\n    match:\n      key_id: "
         "zaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n    user: root\n",
         "t.yaml:5:15: key_id \"zaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" must be "
         "64 "
         "hexadecimal digits or 43 base64url characters"},
        {"version: 1\nrules:\n  - name: a\n    match: {server_labels: [env]}\n    user: root\n",
         "t.yaml:4:28: server_labels must be a mapping, not a list"},
        {"version: 1\nrules:\n  - name: a\n    match: {server_labels: {env: }}\n    user: root\n",
         "t.yaml:4:34: server label \"env\" has no value"},
        {"version: 1\nrules:\n  - name: a\n    match: {server_labels: {env: [a]}}\n    user: root\n",
         "t.yaml:4:34: server label \"env\" must have a string value, not a list"},
        {"version: 1\nrules:\n  - name: a\n    match:\n      server_labels: {env: a, env: b}\n    user: "
         "root\n",
         "t.yaml:5:31: duplicate key \"env\" in server_labels (first at line 5)"},
        {"version: 1\nrules:\n  - name: a\n    match: {server_labels: {\"a=b\": c}}\n    user: root\n",
         "t.yaml:4:29: server label name \"a=b\" must not contain '='"},
        {"version: 1\nrules:\n  - name: a\n    match: {server_labels: {}}\n    user: root\n",
         "t.yaml:4:28: server_labels is empty (omit it to match any server)"},
        {"version: 1\nrules:\n  - name: a\n    match: {unauthenticated: 1}\n    user: default\n",
         "t.yaml:4:30: unauthenticated must be true or false"},
        {"version: 1\nrules:\n  - name: a\n    match: {client: x, unauthenticated: true}\n    user: "
         "default\n",
         "t.yaml:4:24: unauthenticated: true cannot be combined with client, key_id, principal or device "
         "(an "
         "unauthenticated session has none)"},
        {"version: 1\nrules:\n  - name: a\n    match: {unauthenticated: true}\n    user: root\n",
         "t.yaml:5:5: rule \"a\" matches unauthenticated sessions, which may only map to user: default (or "
         "deny), "
         "not user"},
        {"version: 1\nrules:\n  - name: a\n    match: {unauthenticated: true}\n    user_template: "
         "\"rs-{name}\"\n",
         "t.yaml:5:5: rule \"a\" matches unauthenticated sessions, which may only map to user: default (or "
         "deny), "
         "not user_template"},
        {"version: 1\nrules:\n  - name: a\n    match: {unauthenticated: true}\n    client_user: {users: "
         "[x]}\n",
         "t.yaml:5:5: rule \"a\" matches unauthenticated sessions, which may only map to user: default (or "
         "deny), "
         "not client_user"},
        /* client_user */
        {"version: 1\nrules:\n  - name: a\n    client_user: {}\n",
         "t.yaml:4:18: client_user needs users, groups or both"},
        {"version: 1\nrules:\n  - name: a\n    client_user: {users: [\"a:b\"]}\n",
         "t.yaml:4:27: users: \"a:b\" is not a valid user name"},
        {"version: 1\nrules:\n  - name: a\n    client_user: {groups: [\"-g\"]}\n",
         "t.yaml:4:28: groups: \"-g\" is not a valid group name"},
        {"version: 1\nrules:\n  - name: a\n    client_user: {user: [x]}\n",
         "t.yaml:4:19: unknown key \"user\" in client_user (valid: users, groups)"},
        {"version: 1\nrules:\n  - name: a\n    client_user: [x]\n",
         "t.yaml:4:18: client_user must be a mapping, not a list"},
        /* accounts */
        {"version: 1\naccounts: []\nrules: []\n", "t.yaml:2:11: accounts must be a mapping, not a list"},
        {"version: 1\naccounts: {uid: 1}\nrules: []\n",
         "t.yaml:2:12: unknown key \"uid\" in accounts (valid: uid_range, group, home, shell, gecos)"},
        {"version: 1\naccounts: {uid_range: 70000}\nrules: []\n",
         "t.yaml:2:23: uid_range \"70000\" must be MIN-MAX (two decimal uids)"},
        {"version: 1\naccounts: {uid_range: -5-10}\nrules: []\n",
         "t.yaml:2:23: uid_range \"-5-10\" must be MIN-MAX (two decimal uids)"},
        {"version: 1\naccounts: {uid_range: 80000-70000}\nrules: []\n",
         "t.yaml:2:23: uid_range 80000-70000: MIN is greater than MAX"},
        {"version: 1\naccounts: {uid_range: 0-100}\nrules: []\n",
         "t.yaml:2:23: uid_range 0-100: uids below 1000 are reserved for system accounts"},
        {"version: 1\naccounts: {uid_range: 70000-4294967295}\nrules: []\n",
         "t.yaml:2:23: uid_range 70000-4294967295: uids above 2147483646 are not allowed"},
        {"version: 1\naccounts: {uid_range: 70000-99999999999}\nrules: []\n",
         "t.yaml:2:23: uid_range \"70000-99999999999\" must be MIN-MAX (two decimal uids)"},
        {"version: 1\naccounts: {group: users}\nrules: []\n",
         "t.yaml:2:19: group must be a gid number (0: a per-user group with gid = uid)"},
        {"version: 1\naccounts:\n  home: home/{user}\nrules: []\n",
         "t.yaml:3:9: home \"home/{user}\" must be an absolute path"},
        {"version: 1\naccounts:\n  home: /home/{usr}\nrules: []\n",
         "t.yaml:3:9: home \"/home/{usr}\": unknown placeholder at byte 7 (valid: {user}, {name}, "
         "{key_id})"},
        {"version: 1\naccounts:\n  home: /home/a:b\nrules: []\n",
         "t.yaml:3:9: home \"/home/a:b\" must not contain ':'"},
        {"version: 1\naccounts: {shell: bash}\nrules: []\n",
         "t.yaml:2:19: shell \"bash\" must be an absolute path without ':', spaces or braces"},
        {"version: 1\naccounts: {gecos: \"a:b\"}\nrules: []\n",
         "t.yaml:2:19: gecos \"a:b\" must not contain ':'"},
        {"version: 1\naccounts:\n  gecos: \"x {foo}\"\nrules: []\n",
         "t.yaml:3:10: gecos \"x {foo}\": unknown placeholder at byte 3 (valid: {user}, {name}, {key_id})"},
};

START_TEST(test_refusals) {
        parse_err(refusals[_i].text, refusals[_i].error);
}
END_TEST

/* A billion-laughs document is refused at its first anchor, cheaply. */
START_TEST(test_refuse_billion_laughs) {
        static const char text[] = "version: 1\n"
                                   "a: &a [x, x, x, x, x, x, x, x, x]\n"
                                   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                                   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                                   "rules: []\n";

        parse_err(text, "t.yaml:2:4: YAML anchors are not allowed in a policy");
}
END_TEST

START_TEST(test_refuse_size_and_nul) {
        _cleanup_free_ char *err = NULL;
        _cleanup_free_ char *big = malloc(1024 * 1024 + 2);
        policy *p = NULL;

        ck_assert_ptr_nonnull(big);
        memset(big, '#', 1024 * 1024 + 1);
        big[1024 * 1024 + 1] = 0;
        ck_assert_int_eq(policy_parse(big, 1024 * 1024 + 1, "big.yaml", &p, &err), -EFBIG);
        ck_assert_str_eq(err, "big.yaml: larger than 1048576 bytes");
        ck_assert_ptr_null(p);
        /* an embedded NUL is not the end of the text */
        ck_assert_int_eq(policy_parse("version: 1\nrules: []\n\0x: 1\n", 26, "nul.yaml", &p, &err), -EINVAL);
        ck_assert_str_eq(err, "nul.yaml:3:1: control characters are not allowed");
        ck_assert_ptr_null(p);
}
END_TEST

/* A text of `count` copies of `item` between head and tail (malloc'd). */
static char *repeat(const char *head, const char *item, size_t count, const char *tail) {
        size_t hl = strlen(head), il = strlen(item), tl = strlen(tail);
        char *s = malloc(hl + il * count + tl + 1), *o = s;

        ck_assert_ptr_nonnull(s);
        memcpy(o, head, hl);
        o += hl;
        for (size_t i = 0; i < count; i++, o += il)
                memcpy(o, item, il);
        memcpy(o, tail, tl + 1);
        return s;
}

START_TEST(test_refuse_limits) {
        _cleanup_free_ char *clients =
                repeat("version: 1\nrules:\n  - name: a\n    match:\n      client: [x", ",x", 1000,
                       "]\n    user: root\n");
        _cleanup_free_ char *nodes = repeat("version: 1\nrules: []\nx: [x", ",x", 200000, "]\n");
        _cleanup_free_ char *labels = NULL, *rules = NULL;
        char item[64];

        parse_err(clients, "t.yaml:5:15: client has more than 1000 entries");
        parse_err(nodes, "t.yaml:3:399991: too many YAML nodes (more than 200000)");
        {
                FILE *m;
                size_t len;

                m = open_memstream(&labels, &len);
                ck_assert_ptr_nonnull(m);
                fputs("version: 1\nrules:\n  - name: a\n    match:\n      server_labels:\n", m);
                for (int i = 0; i < 65; i++)
                        fprintf(m, "        l%d: v\n", i);
                fputs("    user: root\n", m);
                fclose(m);
                m = open_memstream(&rules, &len);
                ck_assert_ptr_nonnull(m);
                fputs("version: 1\nrules:\n", m);
                for (int i = 0; i < 10001; i++) {
                        snprintf(item, sizeof(item), "  - {name: r%d, deny: true}\n", i);
                        fputs(item, m);
                }
                fclose(m);
        }
        parse_err(labels, "t.yaml:6:9: server_labels has more than 64 labels");
        parse_err(rules, "t.yaml:3:3: more than 10000 rules");
        /* a template whose fixed text alone is too long for a user name */
        parse_err("version: 1\nrules:\n  - name: a\n    user_template: "
                  "\"abcdefghijabcdefghijabcdefghijab{name}\"\n",
                  "t.yaml:4:20: user_template \"abcdefghijabcdefghijabcdefghijab{name}\" cannot give a "
                  "valid user "
                  "name ([a-z_][a-z0-9_-]*, at most 32 bytes)");
}
END_TEST

/* Long and hostile names are cut and escaped in reasons. */
START_TEST(test_reason_caps_names) {
        _cleanup_(policy_freep) policy *p = parse_ok("version: 1\nrules: []\n");
        _cleanup_free_ char *name = repeat("", "n", 100, "");
        policy_caller c = who(name, key_a);
        policy_decision d;
        char expected[256];

        d = decide(p, &c, NULL, NULL, NULL);
        snprintf(expected, sizeof(expected), "caller \"%.64s...\" (key aaaaaaaaaaaaaaaa) matched no rule",
                 name);
        ck_assert_str_eq(d.reason, expected);
}
END_TEST

/* ---------------- files ---------------- */

static char *scratch;

static void files_setup(void) {
        char tmpl[] = "/tmp/test-policy-XXXXXX";

        ck_assert_ptr_nonnull(mkdtemp(tmpl));
        scratch = strdup(tmpl);
}

static void files_teardown(void) {
        static const char *const names[] = {"ok.yaml", "gw.yaml", "ow.yaml", "bad.yaml", "other.yaml"};

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[256];

                snprintf(path, sizeof(path), "%s/%s", scratch, names[i]);
                (void) unlink(path);
        }
        ck_assert_int_eq(rmdir(scratch), 0);
        free(scratch);
}

static char *write_policy(const char *name, const char *text, mode_t mode) {
        char *path = NULL;
        int fd;

        ck_assert_int_ge(asprintf(&path, "%s/%s", scratch, name), 0);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
        return path;
}

START_TEST(test_load_file_checks) {
        _cleanup_free_ char *ok = write_policy("ok.yaml", "version: 1\nrules: []\n", 0644);
        _cleanup_free_ char *gw = write_policy("gw.yaml", "version: 1\nrules: []\n", 0664);
        _cleanup_free_ char *ow = write_policy("ow.yaml", "version: 1\nrules: []\n", 0646);
        _cleanup_free_ char *bad = write_policy("bad.yaml", "version: 1\nrules:\n  - name: x\n", 0600);
        _cleanup_free_ char *missing = NULL, *expected = NULL, *err = NULL;
        _cleanup_(policy_freep) policy *p = NULL;
        policy *q = NULL;
        int fd;

        ck_assert_int_eq(policy_load(ok, &p, &err), 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(policy_rule_count(p), 0);

        ck_assert_int_eq(policy_load(gw, &q, &err), -EPERM);
        ck_assert_ptr_null(q);
        ck_assert_int_ge(asprintf(&expected, "%s: must not be writable by group or others", gw), 0);
        ck_assert_str_eq(err, expected);
        free(expected);
        ck_assert_int_eq(policy_load(ow, &q, &err), -EPERM);
        ck_assert_int_ge(asprintf(&expected, "%s: must not be writable by group or others", ow), 0);
        ck_assert_str_eq(err, expected);
        free(expected);

        /* parse errors name the path given */
        ck_assert_int_eq(policy_load(bad, &q, &err), -EINVAL);
        ck_assert_int_ge(asprintf(&expected,
                                  "%s:3:5: rule \"x\" needs one of user, user_template, client_user, deny",
                                  bad),
                         0);
        ck_assert_str_eq(err, expected);
        free(expected);

        ck_assert_int_ge(asprintf(&missing, "%s/missing.yaml", scratch), 0);
        ck_assert_int_eq(policy_load(missing, &q, &err), -ENOENT);
        ck_assert_int_ge(asprintf(&expected, "%s: No such file or directory", missing), 0);
        ck_assert_str_eq(err, expected);
        free(expected);

        ck_assert_int_eq(policy_load(scratch, &q, &err), -EINVAL);
        ck_assert_int_ge(asprintf(&expected, "%s: not a regular file", scratch), 0);
        ck_assert_str_eq(err, expected);
        free(expected);
        expected = NULL;

        /* owned by someone else: only testable as root (chown) */
        if (geteuid() == 0) {
                _cleanup_free_ char *other = write_policy("other.yaml", "version: 1\nrules: []\n", 0644);

                ck_assert_int_eq(chown(other, 12345, 0), 0);
                ck_assert_int_eq(policy_load(other, &q, &err), -EPERM);
                ck_assert_int_ge(asprintf(&expected, "%s: owned by uid 12345, not by root", other), 0);
                ck_assert_str_eq(err, expected);
                free(expected);
                expected = NULL;
        } else
                fprintf(stderr, "test_load_file_checks: not root, the owner check is not tested\n");

        /* one byte over the limit */
        fd = open(ok, O_WRONLY | O_TRUNC | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(ftruncate(fd, 1024 * 1024 + 1), 0);
        close(fd);
        ck_assert_int_eq(policy_load(ok, &q, &err), -EFBIG);
        ck_assert_int_ge(asprintf(&expected, "%s: larger than 1048576 bytes", ok), 0);
        ck_assert_str_eq(err, expected);
        ck_assert_ptr_null(q);
}
END_TEST

/* The shipped example loads as is (no rules: deny all), and its commented
 * example rules, uncommented, are a valid policy too. */
START_TEST(test_example_file) {
        _cleanup_(policy_freep) policy *p = NULL, *q = NULL;
        _cleanup_free_ char *err = NULL, *text = NULL;
        const char *path = SRCDIR "/policy/policy.yaml.example";
        char line[512];
        size_t len = 0;
        bool in_rules = false;
        FILE *f;

        ck_assert_msg(policy_parse("version: 1\nrules: []\n", 21, "x", &p, &err) == 0, "%s", err);
        policy_free(TAKE_PTR(p));
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        {
                char *all = NULL;
                size_t n = 0;
                FILE *m = open_memstream(&all, &n);

                ck_assert_ptr_nonnull(m);
                while (fgets(line, sizeof(line), f))
                        fputs(line, m);
                fclose(m);
                ck_assert_msg(policy_parse(all, n, path, &p, &err) == 0, "%s", err);
                ck_assert_uint_eq(policy_rule_count(p), 0);
                free(all);
        }
        rewind(f);
        {
                FILE *m = open_memstream(&text, &len);

                ck_assert_ptr_nonnull(m);
                while (fgets(line, sizeof(line), f)) {
                        if (strcmp(line, "rules: []\n") == 0)
                                continue;
                        if (strcmp(line, "# rules:\n") == 0)
                                in_rules = true;
                        if (in_rules && line[0] == '#')
                                fputs(line[1] == ' ' ? line + 2 : line + 1, m);
                        else if (!in_rules)
                                fputs(line, m);
                }
                fclose(m);
        }
        fclose(f);
        ck_assert(in_rules);
        ck_assert_msg(policy_parse(text, len, "example", &q, &err) == 0, "%s", err);
        ck_assert_uint_eq(policy_rule_count(q), 7);
        ck_assert(policy_allows_unauthenticated(q));
}
END_TEST

static Suite *policy_suite(void) {
        Suite *s = suite_create("policy");
        TCase *tc;

        tc = tcase_create("match");
        tcase_add_test(tc, test_match_client_glob);
        tcase_add_test(tc, test_match_key_id);
        tcase_add_test(tc, test_match_principal_device);
        tcase_add_test(tc, test_match_server_labels);
        tcase_add_test(tc, test_match_unauthenticated);
        tcase_add_test(tc, test_first_match_wins);
        tcase_add_test(tc, test_no_match_and_empty_rules);
        tcase_add_test(tc, test_rule_trace);
        suite_add_tcase(s, tc);

        tc = tcase_create("actions");
        tcase_add_test(tc, test_action_fixed_and_requested_mismatch);
        tcase_add_test(tc, test_action_default);
        tcase_add_test(tc, test_action_template);
        tcase_add_test(tc, test_action_deny_and_sudo_default);
        tcase_add_test(tc, test_action_client_user_lists_and_groups);
        suite_add_tcase(s, tc);

        tc = tcase_create("templates");
        tcase_add_test(tc, test_expand_template);
        tcase_add_test(tc, test_accounts_section);
        suite_add_tcase(s, tc);

        tc = tcase_create("refusals");
        tcase_add_loop_test(tc, test_refusals, 0, (int) ELEMENTSOF(refusals));
        tcase_add_test(tc, test_refuse_billion_laughs);
        tcase_add_test(tc, test_refuse_size_and_nul);
        tcase_add_test(tc, test_refuse_limits);
        tcase_add_test(tc, test_reason_caps_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("files");
        tcase_add_checked_fixture(tc, files_setup, files_teardown);
        tcase_add_test(tc, test_load_file_checks);
        tcase_add_test(tc, test_example_file);
        suite_add_tcase(s, tc);
        return s;
}

/* Runs the test again under nss_wrapper with private passwd and group files
 * (see the top of this file). Returns only on failure to set it up. */
static void reexec_under_nss_wrapper(char **argv) {
        /* pt-primary has pt-deployers as its primary group only; pt-member
         * is a supplementary member; pt-outsider is in another group. */
        static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                     "pt-primary:x:4001:4100::/nonexistent:/bin/sh\n"
                                     "pt-member:x:4002:4002::/nonexistent:/bin/sh\n"
                                     "pt-outsider:x:4003:4003::/nonexistent:/bin/sh\n";
        static const char group[] = "root:x:0:\n"
                                    "pt-deployers:x:4100:pt-member\n"
                                    "pt-member:x:4002:\n"
                                    "pt-outsider:x:4003:\n"
                                    "pt-other:x:4200:pt-outsider\n";
        char dir[] = "/tmp/test-policy-nss-XXXXXX", p[128], g[128];
        FILE *f;

        if (!mkdtemp(dir))
                return;
        snprintf(p, sizeof(p), "%s/passwd", dir);
        snprintf(g, sizeof(g), "%s/group", dir);
        f = fopen(p, "we");
        if (!f)
                return;
        fputs(passwd, f);
        fclose(f);
        f = fopen(g, "we");
        if (!f)
                return;
        fputs(group, f);
        fclose(f);
        setenv(NSSW_ENV, dir, 1);
        setenv("NSS_WRAPPER_PASSWD", p, 1);
        setenv("NSS_WRAPPER_GROUP", g, 1);
        setenv("LD_PRELOAD", "libnss_wrapper.so", 1);
        execv("/proc/self/exe", argv);
        fprintf(stderr, "test-policy: re-exec under nss_wrapper failed: %m\n");
}

static void remove_nss_dir(const char *dir) {
        char path[256];

        snprintf(path, sizeof(path), "%s/passwd", dir);
        (void) unlink(path);
        snprintf(path, sizeof(path), "%s/group", dir);
        (void) unlink(path);
        (void) rmdir(dir);
}

int main(int argc, char **argv) {
        const char *nss_dir = getenv(NSSW_ENV);
        SRunner *sr;
        int failed;

        (void) argc;
        if (!nss_dir) {
                reexec_under_nss_wrapper(argv);
                return EXIT_FAILURE;
        }
        memset(key_a, 0xaa, sizeof(key_a));
        memset(key_b, 0xbb, sizeof(key_b));
        sr = srunner_create(policy_suite());
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        remove_nss_dir(nss_dir);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
