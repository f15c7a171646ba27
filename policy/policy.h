/* The caller-to-user login policy (/etc/rstream/webtty/policy.yaml, see
 * policy.yaml(5)): ordered rules, first match wins, default deny.
 *
 * Consumers: webttyd-login (which OS user a session runs as), pam_rstream
 * (account phase; require_session in sudo/su stacks), `webtty policy
 * check|explain`, `webtty accounts sync` (template provisioning).
 *
 * Contract (fixed; the engine behind it is policy.c):
 *   - policy_load()/policy_parse() never return a half-built policy: any
 *     error (syntax, unknown key, bad value, bad uid range, duplicate rule
 *     name, ...) fails the whole file with *ret_error = "FILE:LINE:COLUMN:
 *     message" (malloc'd). A caller that cannot load the policy refuses
 *     every login (fail closed).
 *   - policy_decide() is pure: no I/O except group membership lookups
 *     through NSS (getgrnam_r/getgrouplist) for `allowed_groups`.
 *   - Thread-safe for concurrent policy_decide() on one loaded policy; no
 *     global state.
 *   - Every int function returns 0 or a negative errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POLICY_DEFAULT_PATH "/etc/rstream/webtty/policy.yaml"
#define POLICY_NAME_MAX 256 /* OS user names and rule names, with the NUL */

typedef struct policy policy;

/* Who is calling. An unauthenticated (non-E2E) session has key_id NULL and
 * every other field NULL: only rules that say `unauthenticated: true` can
 * match it. */
typedef struct policy_caller {
        const char *client_name;  /* the authorized-clients entry name of the key */
        const uint8_t *key_id;    /* 32-byte signing key id, or NULL */
        const char *principal_id; /* workspace principal id, NULL/"" when absent */
        const char *device_id;    /* workspace device id, NULL/"" when absent */
} policy_caller;

/* What is asked and where. */
typedef struct policy_request {
        const char *requested_user;       /* Open.config.username, NULL/"" when none */
        const char *default_user;         /* webttyd --login-user, NULL when none */
        const char *const *server_labels; /* "key=value" strings, NULL-terminated; NULL = none */
} policy_request;

typedef enum policy_user_kind {
        POLICY_USER_FIXED,     /* `user: NAME` (an existing account) */
        POLICY_USER_TEMPLATE,  /* `user_template: "rs-{name}"`: provisioned into accounts.db */
        POLICY_USER_REQUESTED, /* the client-requested user, allowed by list or group */
        POLICY_USER_DEFAULT,   /* `user: default`: webttyd's --login-user */
} policy_user_kind;

typedef struct policy_decision {
        bool allow;
        char user[POLICY_NAME_MAX]; /* the OS user, when allow */
        policy_user_kind kind;
        bool sudo;                  /* the rule grants sudo (pam_rstream require_session sudo) */
        char rule[POLICY_NAME_MAX]; /* the deciding rule's name, "" for the default deny */
        unsigned rule_line;         /* its line in the file, 0 for the default deny */
        char reason[512];           /* one line for logs and `policy explain` */
} policy_decision;

/* Template provisioning settings (`accounts:` section). */
typedef struct policy_accounts {
        uid_t uid_min, uid_max; /* inclusive range for provisioned accounts */
        gid_t gid;              /* primary group of provisioned accounts (0: a per-user group = uid) */
        char home_template[POLICY_NAME_MAX]; /* e.g. "/home/{user}" */
        char shell[POLICY_NAME_MAX];         /* e.g. "/bin/bash" */
        char gecos_template[POLICY_NAME_MAX];
} policy_accounts;

int policy_load(const char *path, policy **ret, char **ret_error);
/* name is only used in messages (the FILE part). */
int policy_parse(const void *text, size_t len, const char *name, policy **ret, char **ret_error);
policy *policy_free(policy *p);

int policy_decide(const policy *p, const policy_caller *caller, const policy_request *req,
                  policy_decision *ret);

/* The accounts section (defaults when the file has none). */
const policy_accounts *policy_get_accounts(const policy *p);

/* Whether the file says unauthenticated sessions may log in at all (a rule
 * with `unauthenticated: true` exists that does not deny). */
bool policy_allows_unauthenticated(const policy *p);

/* Expands a user/home/gecos template: {name} = the caller's client name,
 * {user} = the user name (for home/gecos), {key_id} = the first 16 hex
 * digits of the key id. The result must be a valid user name (for user
 * templates): [a-z_][a-z0-9_-]*, at most 32 bytes; else -EINVAL with
 * *ret_error naming the template and the caller. */
int policy_expand_template(const char *tmpl, const policy_caller *caller, const char *user, char *out,
                           size_t out_size, char **ret_error);

/* ---- added by the policy engine (issue 5) ---- */

/* Number of rules (for `webtty policy check`). */
size_t policy_rule_count(const policy *p);

/* 64 hex digits (either case) or 43 base64url characters (the form the
 * webtty commands print) into 32 bytes; -EINVAL otherwise. */
int policy_parse_key_id(const char *s, uint8_t ret[32]);

/* The home directory and gecos of a provisioned account for `user` (made by
 * a user_template for caller), from the accounts section's templates: home
 * and gecos are POLICY_NAME_MAX buffers. home is absolute with no "." or ".."
 * component; neither contains ':' or a control character. -EINVAL with
 * *ret_error otherwise. */
int policy_account_fields(const policy *p, const policy_caller *caller, const char *user, char *home,
                          char *gecos, char **ret_error);

/* One rule as tried for a caller (for `webtty policy explain --verbose`):
 * whether its match fits and, if not, which matcher failed. */
typedef struct policy_rule_info {
        char name[POLICY_NAME_MAX];
        unsigned line;
        bool matches;
        char why[256]; /* "" when it matches */
} policy_rule_info;

/* Rule number index (0-based, file order); -EINVAL when out of range. */
int policy_rule_trace(const policy *p, size_t index, const policy_caller *caller, const policy_request *req,
                      policy_rule_info *ret);

static inline void policy_freep(policy **p) {
        if (*p)
                policy_free(*p);
}
