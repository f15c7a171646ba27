/* Module arguments: every argument of every phase is parsed here, once per
 * call, into a struct on the caller's stack (no global state). Anything not
 * understood stops the phase: a PAM stack with a typo must not quietly run
 * with defaults. */
#include <errno.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "accountsdb.h"
#include "rstream.h"

typedef enum arg_kind {
        ARG_PATH, /* key=ABSOLUTE_PATH */
        ARG_TEXT, /* key=VALUE (non-empty, printable) */
        ARG_LIST, /* key=a,b (non-empty entries) */
        ARG_FLAG, /* key */
} arg_kind;

typedef struct arg_def {
        const char *name;
        arg_kind kind;
        size_t offset; /* of the const char * or bool in rstream_args */
} arg_def;

#define STR_ARG(n, k)                                                                                       \
        { #n, k, offsetof(rstream_args, n) }
static const arg_def arg_table[] = {
        STR_ARG(identity, ARG_PATH),
        STR_ARG(authorized_clients, ARG_PATH),
        STR_ARG(policy, ARG_PATH),
        STR_ARG(accounts_db, ARG_PATH),
        STR_ARG(registry, ARG_PATH),
        STR_ARG(replay, ARG_PATH),
        STR_ARG(server_id, ARG_TEXT),
        STR_ARG(workspace_id, ARG_TEXT),
        STR_ARG(project_id, ARG_TEXT),
        STR_ARG(callers, ARG_LIST),
        STR_ARG(require_session, ARG_FLAG),
        STR_ARG(sudo, ARG_FLAG),
        STR_ARG(allow_unauthenticated, ARG_FLAG),
        STR_ARG(debug, ARG_FLAG),
};

int rstream_phase_service_err(rstream_phase phase) {
        switch (phase) {
        case RSTREAM_PHASE_SETCRED:
                return PAM_CRED_ERR;
        case RSTREAM_PHASE_SESSION:
                return PAM_SESSION_ERR;
        case RSTREAM_PHASE_AUTH:
        case RSTREAM_PHASE_ACCOUNT:
        default:
                return PAM_SERVICE_ERR;
        }
}

static bool printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x21 || (unsigned char) *s > 0x7e)
                        return false;
        return true;
}

static bool valid_list(const char *s) {
        const char *start = s;

        if (!printable(s))
                return false;
        for (;; s++)
                if (*s == ',' || *s == '\0') {
                        if (s == start)
                                return false; /* "", ",a", "a,,b", "a," */
                        if (*s == '\0')
                                return true;
                        start = s + 1;
                }
}

bool rstream_callers_contains(const char *list, const char *name) {
        size_t n;

        if (!list || !name)
                return false;
        n = strlen(name);
        for (const char *p = list;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t) (comma - p) : strlen(p);

                if (len == n && memcmp(p, name, n) == 0)
                        return true;
                if (!comma)
                        return false;
                p = comma + 1;
        }
}

int rstream_args_parse(pam_handle_t *pamh, rstream_phase phase, int argc, const char **argv,
                       rstream_args *ret) {
        rstream_args a = {
                .policy = POLICY_DEFAULT_PATH,
                .accounts_db = ACCOUNTSDB_DEFAULT_PATH,
                .registry = RSTREAM_REGISTRY_DEFAULT,
                .replay = RSTREAM_REPLAY_DEFAULT,
        };
        bool seen[ELEMENTSOF(arg_table)] = {};

        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i], *eq, *value;
                const arg_def *def = NULL;
                size_t klen, k;

                if (!arg) {
                        pam_syslog(pamh, LOG_ERR, "argument %d is NULL", i + 1);
                        return -EINVAL;
                }
                eq = strchr(arg, '=');
                klen = eq ? (size_t) (eq - arg) : strlen(arg);
                for (k = 0; k < ELEMENTSOF(arg_table); k++)
                        if (strlen(arg_table[k].name) == klen && memcmp(arg_table[k].name, arg, klen) == 0) {
                                def = &arg_table[k];
                                break;
                        }
                if (!def) {
                        char clean[128];

                        pam_syslog(pamh, LOG_ERR, "unknown argument \"%s\"",
                                   rstream_clean(arg, clean, sizeof(clean)));
                        return -EINVAL;
                }
                if (seen[k]) {
                        pam_syslog(pamh, LOG_ERR, "argument %s given twice", def->name);
                        return -EINVAL;
                }
                seen[k] = true;

                if (def->kind == ARG_FLAG) {
                        if (eq) {
                                pam_syslog(pamh, LOG_ERR, "argument %s takes no value", def->name);
                                return -EINVAL;
                        }
                        *(bool *) ((char *) &a + def->offset) = true;
                        continue;
                }
                if (!eq || eq[1] == '\0') {
                        pam_syslog(pamh, LOG_ERR, "argument %s needs a value (%s=...)", def->name,
                                   def->name);
                        return -EINVAL;
                }
                value = eq + 1;
                switch (def->kind) {
                case ARG_PATH:
                        if (value[0] != '/' || !printable(value)) {
                                pam_syslog(pamh, LOG_ERR, "argument %s must be an absolute path", def->name);
                                return -EINVAL;
                        }
                        break;
                case ARG_TEXT:
                        if (!printable(value)) {
                                pam_syslog(pamh, LOG_ERR,
                                           "argument %s must be printable ASCII without spaces", def->name);
                                return -EINVAL;
                        }
                        break;
                case ARG_LIST:
                        if (!valid_list(value)) {
                                pam_syslog(pamh, LOG_ERR,
                                           "argument %s must be a comma-separated list of names", def->name);
                                return -EINVAL;
                        }
                        break;
                case ARG_FLAG:
                        break;
                }
                *(const char **) ((char *) &a + def->offset) = value;
        }

        /* Combinations that cannot mean what the administrator wanted. */
        if ((a.sudo || a.callers) && !a.require_session) {
                pam_syslog(pamh, LOG_ERR, "arguments sudo and callers= need require_session");
                return -EINVAL;
        }
        if (a.require_session && a.allow_unauthenticated) {
                pam_syslog(pamh, LOG_ERR, "allow_unauthenticated cannot be combined with require_session");
                return -EINVAL;
        }
        if (a.require_session && phase == RSTREAM_PHASE_SESSION) {
                pam_syslog(pamh, LOG_ERR,
                           "require_session belongs in the auth or account phase, not session");
                return -EINVAL;
        }
        *ret = a;
        return 0;
}
