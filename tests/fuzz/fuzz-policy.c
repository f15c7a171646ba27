/* libFuzzer target for policy/policy.c: a policy.yaml text
 * (policy_parse()).
 *
 * A refused text must come with a "NAME:..." message and no policy. An
 * accepted one is asked for decisions for a fixed set of callers and
 * requests; every decision must be coherent: an allow names a user, a
 * rule and its line and matches what was requested, a deny names no user,
 * every decision has a reason, and the deciding rule is the first one
 * policy_rule_trace() says fits. Template accounts get their home and gecos
 * expanded. The input is capped (the loader's own limit is 1 MiB; the
 * fuzzer explores structure, not size). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "policy.h"

#define FUZZ_MAX_INPUT (64u * 1024u)

/* Always evaluated, also under -DNDEBUG. */
#define CHECK(x)                                                                                            \
        do {                                                                                                \
                if (!(x)) {                                                                                 \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);               \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

static void one(const policy *p, const policy_caller *c, const char *requested, const char *def,
                const char *const *labels) {
        policy_request req = {.requested_user = requested, .default_user = def, .server_labels = labels};
        policy_decision d;

        size_t n = policy_rule_count(p), first = n;

        CHECK(policy_decide(p, c, &req, &d) == 0);
        CHECK(d.reason[0] && strlen(d.reason) < sizeof(d.reason));
        /* the trace agrees: the deciding rule is the first one that fits */
        for (size_t i = 0; i < n && first == n; i++) {
                policy_rule_info info;

                CHECK(policy_rule_trace(p, i, c, &req, &info) == 0);
                CHECK(info.matches == (info.why[0] == 0));
                if (info.matches) {
                        first = i;
                        CHECK(strcmp(info.name, d.rule) == 0 && info.line == d.rule_line);
                }
        }
        if (first == n)
                CHECK(d.rule[0] == 0 && !d.allow);
        if (!d.allow) {
                CHECK(d.user[0] == 0 && !d.sudo);
                CHECK((d.rule[0] == 0) == (d.rule_line == 0));
                return;
        }
        CHECK(d.user[0] && d.rule[0] && d.rule_line > 0);
        CHECK(!strchr(d.user, ':') && !strchr(d.user, '/') && d.user[0] != '-');
        if (requested && requested[0])
                CHECK(strcmp(requested, d.user) == 0);
        if (!c || !c->key_id)
                CHECK(d.kind == POLICY_USER_DEFAULT && def && strcmp(def, d.user) == 0);
        if (d.kind == POLICY_USER_TEMPLATE) {
                char home[POLICY_NAME_MAX], gecos[POLICY_NAME_MAX];
                char *err = NULL;

                if (policy_account_fields(p, c, d.user, home, gecos, &err) == 0)
                        CHECK(home[0] == '/' && !strchr(home, ':') && !strchr(gecos, ':'));
                else
                        CHECK(err);
                free(err);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const names[] = {"alice", "dev-joe", "ci", "mallory", "Bob", "..", "", NULL};
        static const char *const requested[] = {NULL, "root", "deploy", "rs-dev-joe", "bad:user"};
        const char *const labels[] = {"env=prod", "tier=1", NULL};
        _cleanup_free_ char *err = NULL;
        policy *p = NULL;
        uint8_t key[32];
        int r;

        if (size > FUZZ_MAX_INPUT)
                return 0;
        r = policy_parse(data, size, "fuzz.yaml", &p, &err);
        if (r < 0) {
                CHECK(!p);
                CHECK(r == -ENOMEM || (err && strncmp(err, "fuzz.yaml", 9) == 0));
                return 0;
        }
        CHECK(p && !err);
        CHECK(policy_get_accounts(p)->uid_min <= policy_get_accounts(p)->uid_max);
        memset(key, 0x3f, sizeof(key));
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                for (size_t j = 0; j < ELEMENTSOF(requested); j++) {
                        policy_caller c = {.client_name = names[i],
                                           .key_id = key,
                                           .principal_id = "prn_1",
                                           .device_id = i % 2 ? "dev_1" : NULL};

                        one(p, &c, requested[j], j % 2 ? "www-data" : NULL, i % 2 ? labels : NULL);
                }
        one(p, NULL, NULL, "www-data", labels);
        one(p, NULL, "root", "root", NULL);
        (void) policy_allows_unauthenticated(p);
        policy_free(p);
        return 0;
}
