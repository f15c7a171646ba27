/* pam_rstream.so: the rstream caller in PAM stacks (see pam_rstream(8)).
 *
 *   auth     re-verifies the caller's ClientProof handed over by
 *            webttyd-login through the conversation, records it in the
 *            replay directory, maps the caller to a user with the policy,
 *            sets PAM_USER/PAM_RUSER and keeps the verified caller in the
 *            handle (pam_set_data) for the later phases;
 *   account  re-runs the policy for the verified caller and PAM_USER;
 *   session  exports RSTREAM_* into the PAM environment and records the
 *            session in the root-owned registry, keyed by the audit
 *            session id that pam_loginuid assigned;
 *   require_session (auth or account of other stacks, e.g. sudo, su):
 *            succeeds only inside a live rstream session whose caller the
 *            policy (still) allows.
 *
 * No global state: arguments are parsed per call, per-transaction state
 * lives in the handle. Every refusal is one pam_syslog line naming the
 * caller's key id prefix, the peer and the reason; no secret is logged. */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <sodium.h>

#include "accountsdb.h"
#include "b64u.h"
#include "loginproto.h"
#include "policy.h"
#include "rstream.h"

/* The largest conversation answer: base64url of LOGINPROTO_MAX bytes. */
#define ANSWER_MAX ((LOGINPROTO_MAX / 3 + 1) * 4)

rstream_caller *rstream_caller_free(rstream_caller *c) {
        if (!c)
                return NULL;
        free(c->client_name);
        free(c->principal_id);
        free(c->device_id);
        free(c->session_id);
        free(c->requested_user);
        free(c->default_user);
        free(c->server_labels);
        sodium_memzero(c, sizeof(*c));
        free(c);
        return NULL;
}

static void policy_unrefp(policy **p) {
        if (*p)
                policy_free(*p);
}

static void caller_cleanup(pam_handle_t *pamh, void *data, int error_status) {
        rstream_caller_free(data);
}

int rstream_decide(const char *policy_path, const rstream_caller *c, policy_decision *ret,
                   char **ret_error) {
        _cleanup_free_ char *labels_copy = NULL;
        _cleanup_free_ const char **labels = NULL;
        policy *p = NULL;
        size_t n = 0;
        int r;

        r = policy_load(policy_path, &p, ret_error);
        if (r < 0)
                return r;

        /* "key=value" lines joined by '\n' -> a NULL-terminated array. */
        if (c->server_labels && c->server_labels[0]) {
                size_t lines = 1;

                for (const char *s = c->server_labels; *s; s++)
                        lines += *s == '\n';
                labels_copy = strdup(c->server_labels);
                labels = calloc(lines + 1, sizeof(*labels));
                if (!labels_copy || !labels) {
                        policy_free(p);
                        return -ENOMEM;
                }
                for (char *s = labels_copy; s;) {
                        char *nl = strchr(s, '\n');

                        if (nl)
                                *nl = '\0';
                        if (*s)
                                labels[n++] = s;
                        s = nl ? nl + 1 : NULL;
                }
        }
        const policy_caller pc = {
                .client_name = c->authenticated ? c->client_name : NULL,
                .key_id = c->authenticated ? c->key_id : NULL,
                .principal_id = c->authenticated ? c->principal_id : NULL,
                .device_id = c->authenticated ? c->device_id : NULL,
        };
        const policy_request req = {
                .requested_user = c->requested_user,
                .default_user = c->default_user && c->default_user[0] ? c->default_user : NULL,
                .server_labels = labels,
        };
        r = policy_decide(p, &pc, &req, ret);
        policy_free(p);
        return r;
}

/* ---- logging -------------------------------------------------------------- */

/* One line per refusal: who (key id prefix, client name), from where
 * (PAM_RHOST), why. Peer-supplied text is cleaned and capped. */
_printf_(5, 6) static void log_refusal(pam_handle_t *pamh, int priority, const char *name,
                                       const char *key_hex, const char *fmt, ...) {
        const void *rhost = NULL;
        char cname[128], chost[128], reason[768];
        va_list ap;

        (void) pam_get_item(pamh, PAM_RHOST, &rhost);
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        pam_syslog(pamh, priority, "refused caller \"%s\" key %.16s from %s: %s",
                   rstream_clean(name && *name ? name : "-", cname, sizeof(cname)),
                   key_hex && *key_hex ? key_hex : "-", rstream_clean(rhost, chost, sizeof(chost)),
                   rstream_clean(reason, reason, sizeof(reason)));
}

/* ---- users ------------------------------------------------------------------ */

/* getpwnam_r with a growing buffer; -ENOENT when the user does not exist. */
static int lookup_uid(const char *name, uid_t *ret) {
        size_t size = 1024;

        for (;;) {
                _cleanup_free_ char *buf = malloc(size);
                struct passwd pw, *res = NULL;
                int r;

                if (!buf)
                        return -ENOMEM;
                r = getpwnam_r(name, &pw, buf, size, &res);
                if (r == ERANGE && size < 1024 * 1024) {
                        size *= 2;
                        continue;
                }
                if (r != 0)
                        return -r;
                if (!res)
                        return -ENOENT;
                *ret = pw.pw_uid;
                return 0;
        }
}

static int provision(const rstream_args *a, const rstream_caller *c, const policy_decision *d,
                     char **ret_error) {
        _cleanup_(policy_unrefp) policy *p = NULL;
        char home[POLICY_NAME_MAX], gecos[POLICY_NAME_MAX];
        const policy_accounts *acc;
        int r;

        r = policy_load(a->policy, &p, ret_error);
        if (r < 0)
                return r;
        acc = policy_get_accounts(p);
        const policy_caller pc = {
                .client_name = c->authenticated ? c->client_name : NULL,
                .key_id = c->authenticated ? c->key_id : NULL,
                .principal_id = c->principal_id,
                .device_id = c->device_id,
        };
        r = policy_account_fields(p, &pc, d->user, home, gecos, ret_error);
        if (r < 0)
                return r;
        const accountsdb_provision_params params = {
                .uid_min = acc->uid_min,
                .uid_max = acc->uid_max,
                .gid = acc->gid,
                .home = home,
                .shell = acc->shell,
                .gecos = gecos,
                /* The key id keeps the uid stable for this caller across hosts. */
                .seed = c->authenticated ? (const void *) c->key_id : (const void *) d->user,
                .seed_len = c->authenticated ? SIGKEY_ID_LEN : strlen(d->user),
        };
        return accountsdb_provision(a->accounts_db, d->user, &params, NULL, ret_error);
}

/* ---- require_session ------------------------------------------------------- */

static int hex_to_key(const char *hex, uint8_t out[SIGKEY_ID_LEN]) {
        if (strlen(hex) != 2 * SIGKEY_ID_LEN)
                return -EINVAL;
        for (size_t i = 0; i < SIGKEY_ID_LEN; i++) {
                unsigned v;

                if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                        return -EINVAL;
                out[i] = (uint8_t) v;
        }
        return 0;
}

static int require_session(pam_handle_t *pamh, const rstream_args *a, rstream_phase phase) {
        const int deny = phase == RSTREAM_PHASE_AUTH ? PAM_AUTH_ERR : PAM_PERM_DENIED;
        _cleanup_free_ char *err = NULL;
        rstream_record rec = {};
        rstream_caller c = {};
        policy_decision d = {};
        uint32_t audit = RSTREAM_AUDIT_UNSET, loginuid = RSTREAM_AUDIT_UNSET;
        const void *ruser = NULL;
        uint64_t start = 0;
        uid_t invoker;
        int r, ret = deny;

        r = rstream_read_u32_file("/proc/self/sessionid", &audit);
        if (r < 0 || audit == RSTREAM_AUDIT_UNSET) {
                log_refusal(pamh, LOG_NOTICE, NULL, NULL, "require_session: not inside an audit session");
                return deny;
        }
        r = rstream_read_u32_file("/proc/self/loginuid", &loginuid);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, NULL, NULL,
                            "require_session: cannot read /proc/self/loginuid: %s", strerror(-r));
                return deny;
        }
        r = rstream_registry_read(a->registry, audit, &rec, &err);
        if (r == -ENOENT) {
                log_refusal(pamh, LOG_NOTICE, NULL, NULL,
                            "require_session: audit session %" PRIu32 " is not an rstream session", audit);
                return deny;
        }
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, NULL, NULL, "require_session: %s", err ? err : strerror(-r));
                return deny;
        }
        if (rec.loginuid != loginuid) {
                log_refusal(pamh, LOG_NOTICE, rec.caller, rec.key_id,
                            "require_session: login uid %" PRIu32 " differs from the session's %" PRIu32,
                            loginuid, rec.loginuid);
                goto out;
        }
        r = rstream_proc_start_time((pid_t) rec.opener_pid, &start);
        if (r < 0 || start != rec.opener_start_time) {
                log_refusal(pamh, LOG_NOTICE, rec.caller, rec.key_id,
                            "require_session: session %" PRIu32 " has ended (opener pid %" PRIi64
                            " is gone)",
                            audit, rec.opener_pid);
                goto out;
        }
        if (pam_get_item(pamh, PAM_RUSER, &ruser) == PAM_SUCCESS && ruser && *(const char *) ruser) {
                r = lookup_uid(ruser, &invoker);
                if (r < 0) {
                        char clean[64];

                        log_refusal(pamh, LOG_NOTICE, rec.caller, rec.key_id,
                                    "require_session: invoking user \"%s\" is unknown",
                                    rstream_clean(ruser, clean, sizeof(clean)));
                        goto out;
                }
        } else
                invoker = getuid();
        if (invoker != rec.uid) {
                log_refusal(pamh, LOG_NOTICE, rec.caller, rec.key_id,
                            "require_session: invoking uid %u is not the session's uid %u",
                            (unsigned) invoker, (unsigned) rec.uid);
                goto out;
        }
        if (rec.key_id[0] == '\0' || hex_to_key(rec.key_id, c.key_id) < 0) {
                log_refusal(pamh, LOG_NOTICE, rec.caller, NULL,
                            "require_session: session has no verified caller");
                goto out;
        }
        if (a->callers && !rstream_callers_contains(a->callers, rec.caller)) {
                log_refusal(pamh, LOG_NOTICE, rec.caller, rec.key_id,
                            "require_session: caller not in callers=%s", a->callers);
                goto out;
        }
        if (a->sudo && !rec.sudo) {
                log_refusal(pamh, LOG_NOTICE, rec.caller, rec.key_id,
                            "require_session: rule \"%s\" did not grant sudo at login", rec.rule);
                goto out;
        }

        /* The policy may have changed since login: ask it again. */
        c.authenticated = true;
        c.client_name = rec.caller;
        c.principal_id = rec.principal_id;
        c.device_id = rec.device_id;
        c.requested_user = rec.requested_user;
        c.default_user = rec.default_user;
        c.server_labels = rec.server_labels;
        r = rstream_decide(a->policy, &c, &d, &err);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, rec.caller, rec.key_id, "require_session: policy: %s",
                            err ? err : strerror(-r));
                goto out;
        }
        if (!d.allow || strcmp(d.user, rec.user) != 0) {
                log_refusal(
                        pamh, LOG_NOTICE, rec.caller, rec.key_id,
                        "require_session: the policy no longer maps the caller to \"%s\" (rule \"%s\": %s)",
                        rec.user, d.rule, d.reason);
                goto out;
        }
        if (a->sudo && !d.sudo) {
                log_refusal(pamh, LOG_NOTICE, rec.caller, rec.key_id,
                            "require_session: rule \"%s\" no longer grants sudo", d.rule);
                goto out;
        }
        pam_syslog(pamh, LOG_INFO,
                   "rstream session %" PRIu32 " of caller \"%s\" key %.16s (user %s, rule %s) accepted",
                   audit, rec.caller, rec.key_id, rec.user, d.rule);
        ret = PAM_SUCCESS;
out:
        rstream_record_done(&rec);
        return ret;
}

/* ---- auth ------------------------------------------------------------------- */

static int read_bundle(pam_handle_t *pamh, loginproto_proof *ret) {
        _cleanup_free_ char *err = NULL;
        char *answer = NULL;
        uint8_t *raw = NULL;
        size_t raw_len = 0, len;
        int r, rc;

        rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &answer, "%s", LOGINPROTO_PAM_PROMPT);
        if (rc != PAM_SUCCESS || !answer) {
                log_refusal(pamh, LOG_ERR, NULL, NULL, "conversation failed: %s",
                            rc != PAM_SUCCESS ? pam_strerror(pamh, rc) : "no answer");
                free(answer);
                return PAM_CONV_ERR;
        }
        len = strnlen(answer, ANSWER_MAX + 1);
        if (len > ANSWER_MAX) {
                log_refusal(pamh, LOG_ERR, NULL, NULL, "proof bundle is larger than %d bytes",
                            LOGINPROTO_MAX);
                rc = PAM_AUTH_ERR;
                goto out;
        }
        r = b64u_decode(answer, &raw, &raw_len);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, NULL, NULL, "proof bundle is not canonical base64url");
                rc = PAM_AUTH_ERR;
                goto out;
        }
        r = loginproto_decode_proof(raw, raw_len, ret, &err);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, NULL, NULL, "malformed proof bundle: %s",
                            err ? err : strerror(-r));
                rc = r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTH_ERR;
                goto out;
        }
        rc = PAM_SUCCESS;
out:
        /* The bundle may carry a workspace credential. */
        sodium_memzero(answer, len);
        free(answer);
        if (raw) {
                sodium_memzero(raw, raw_len);
                free(raw);
        }
        return rc;
}

static int authenticate(pam_handle_t *pamh, const rstream_args *a) {
        _cleanup_(rstream_caller_freep) rstream_caller *c = NULL;
        _cleanup_free_ char *err = NULL;
        loginproto_proof p = {};
        const void *item = NULL;
        policy_decision d = {};
        uid_t uid;
        int r, rc;

        rc = read_bundle(pamh, &p);
        if (rc != PAM_SUCCESS)
                return rc;

        c = calloc(1, sizeof(*c));
        if (!c) {
                rc = PAM_BUF_ERR;
                goto out;
        }
        c->session_id = strdup(p.session_id ? p.session_id : "");
        c->requested_user = strdup(p.requested_user ? p.requested_user : "");
        c->default_user = strdup(p.default_user ? p.default_user : "");
        c->server_labels = strdup(p.server_labels ? p.server_labels : "");
        if (!c->session_id || !c->requested_user || !c->default_user || !c->server_labels) {
                rc = PAM_BUF_ERR;
                goto out;
        }

        if (p.has_proof) {
                rstream_verify_fail fail = RSTREAM_VERIFY_UNAVAIL;
                char key_hex[2 * SIGKEY_ID_LEN + 1] = "";

                if (!a->identity || !a->authorized_clients) {
                        pam_syslog(pamh, LOG_ERR,
                                   "identity= and authorized_clients= are required to verify callers");
                        rc = PAM_SERVICE_ERR;
                        goto out;
                }
                if (p.signing_key_id_len == SIGKEY_ID_LEN)
                        rstream_hex(p.signing_key_id, SIGKEY_ID_LEN, key_hex);
                r = rstream_verify(a, &p, c, &fail, &err);
                if (r < 0) {
                        log_refusal(pamh, fail == RSTREAM_VERIFY_REFUSED ? LOG_NOTICE : LOG_ERR, NULL,
                                    key_hex, "%s", err ? err : strerror(-r));
                        rc = fail == RSTREAM_VERIFY_REFUSED ? PAM_AUTH_ERR
                             : fail == RSTREAM_VERIFY_NOMEM ? PAM_BUF_ERR
                                                            : PAM_AUTHINFO_UNAVAIL;
                        goto out;
                }
        } else {
                if (!a->allow_unauthenticated) {
                        log_refusal(pamh, LOG_NOTICE, NULL, NULL,
                                    "unauthenticated session refused (module argument allow_unauthenticated "
                                    "not set)");
                        rc = PAM_AUTH_ERR;
                        goto out;
                }
                c->client_name = strdup("");
                c->principal_id = strdup("");
                c->device_id = strdup("");
                if (!c->client_name || !c->principal_id || !c->device_id) {
                        rc = PAM_BUF_ERR;
                        goto out;
                }
        }

        r = rstream_decide(a->policy, c, &d, &err);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex, "policy: %s",
                            err ? err : strerror(-r));
                rc = r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
                goto out;
        }
        if (!d.allow) {
                log_refusal(pamh, LOG_NOTICE, c->client_name, c->key_id_hex,
                            "denied by policy (rule \"%s\"): %s", d.rule[0] ? d.rule : "default deny",
                            d.reason);
                rc = PAM_AUTH_ERR;
                goto out;
        }

        /* PAM_USER: the application may have named one (it must be the
         * mapped one); otherwise the policy names it. */
        if (pam_get_item(pamh, PAM_USER, &item) == PAM_SUCCESS && item && *(const char *) item &&
            strcmp(item, d.user) != 0) {
                char clean[64];

                log_refusal(pamh, LOG_NOTICE, c->client_name, c->key_id_hex,
                            "PAM user \"%s\" is not the user \"%s\" the policy maps to (rule \"%s\")",
                            rstream_clean(item, clean, sizeof(clean)), d.user, d.rule);
                rc = PAM_AUTH_ERR;
                goto out;
        }
        if (d.kind == POLICY_USER_TEMPLATE) {
                r = provision(a, c, &d, &err);
                if (r < 0) {
                        log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex,
                                    "provisioning user \"%s\" into %s: %s", d.user, a->accounts_db,
                                    err ? err : strerror(-r));
                        rc = r == -EEXIST ? PAM_AUTH_ERR : r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
                        goto out;
                }
        } else {
                r = lookup_uid(d.user, &uid);
                if (r < 0) {
                        log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex,
                                    "user \"%s\" (rule \"%s\") does not exist: %s", d.user, d.rule,
                                    r == -ENOENT ? "no such user" : strerror(-r));
                        rc = r == -ENOENT ? PAM_USER_UNKNOWN : PAM_AUTHINFO_UNAVAIL;
                        goto out;
                }
        }

        rc = pam_set_item(pamh, PAM_USER, d.user);
        if (rc == PAM_SUCCESS && c->authenticated)
                rc = pam_set_item(pamh, PAM_RUSER, c->client_name);
        if (rc != PAM_SUCCESS)
                goto out;
        c->decision = d;
        {
                const void *rhost = NULL;
                char cname[128], chost[128];

                (void) pam_get_item(pamh, PAM_RHOST, &rhost);
                pam_syslog(pamh, LOG_INFO, "accepted caller \"%s\" key %.16s from %s as user %s (rule %s%s)",
                           rstream_clean(c->authenticated ? c->client_name : "(unauthenticated)", cname,
                                         sizeof(cname)),
                           c->authenticated ? c->key_id_hex : "-",
                           rstream_clean(rhost, chost, sizeof(chost)), d.user, d.rule,
                           d.sudo ? ", sudo" : "");
        }
        rc = pam_set_data(pamh, RSTREAM_DATA_NAME, c, caller_cleanup);
        if (rc == PAM_SUCCESS)
                c = NULL; /* owned by the handle */
out:
        loginproto_proof_done(&p);
        return rc;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        rstream_args a;

        if (rstream_args_parse(pamh, RSTREAM_PHASE_AUTH, argc, argv, &a) < 0)
                return rstream_phase_service_err(RSTREAM_PHASE_AUTH);
        if (a.require_session)
                return require_session(pamh, &a, RSTREAM_PHASE_AUTH);
        return authenticate(pamh, &a);
}

/* Nothing to establish: the module grants no credentials. PAM_SUCCESS
 * rather than PAM_IGNORE because pam_rstream is the only auth module of
 * the webttyd stack, and a stack whose modules all ignore pam_setcred()
 * fails it; after a successful auth there is nothing to refuse here. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        rstream_args a;

        if (rstream_args_parse(pamh, RSTREAM_PHASE_SETCRED, argc, argv, &a) < 0)
                return rstream_phase_service_err(RSTREAM_PHASE_SETCRED);
        return PAM_SUCCESS;
}

/* ---- account ---------------------------------------------------------------- */

static rstream_caller *get_caller(pam_handle_t *pamh) {
        const void *data = NULL;

        if (pam_get_data(pamh, RSTREAM_DATA_NAME, &data) != PAM_SUCCESS || !data)
                return NULL;
        return (rstream_caller *) data;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_free_ char *err = NULL;
        const void *user = NULL;
        policy_decision d = {};
        rstream_caller *c;
        rstream_args a;
        int r;

        if (rstream_args_parse(pamh, RSTREAM_PHASE_ACCOUNT, argc, argv, &a) < 0)
                return rstream_phase_service_err(RSTREAM_PHASE_ACCOUNT);
        if (a.require_session)
                return require_session(pamh, &a, RSTREAM_PHASE_ACCOUNT);

        /* Fail closed: without pam_rstream's own auth in this transaction
         * there is no verified caller, and PAM_IGNORE would let the rest of
         * the account stack (pam_unix) admit the user on its own. */
        c = get_caller(pamh);
        if (!c) {
                log_refusal(pamh, LOG_ERR, NULL, NULL,
                            "no verified rstream caller in this PAM transaction (pam_rstream auth did not "
                            "succeed)");
                return PAM_AUTH_ERR;
        }
        if (pam_get_item(pamh, PAM_USER, &user) != PAM_SUCCESS || !user || !*(const char *) user) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex, "no PAM user");
                return PAM_USER_UNKNOWN;
        }
        r = rstream_decide(a.policy, c, &d, &err);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex, "policy: %s",
                            err ? err : strerror(-r));
                return r == -ENOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
        }
        if (!d.allow || strcmp(d.user, user) != 0) {
                char clean[64];

                log_refusal(pamh, LOG_NOTICE, c->client_name, c->key_id_hex,
                            "policy does not allow user \"%s\" (rule \"%s\"): %s",
                            rstream_clean(user, clean, sizeof(clean)), d.rule[0] ? d.rule : "default deny",
                            d.allow ? "the caller maps to another user" : d.reason);
                return PAM_PERM_DENIED;
        }
        c->decision = d;
        return PAM_SUCCESS;
}

/* ---- session ---------------------------------------------------------------- */

static int putenv_pair(pam_handle_t *pamh, const char *name, const char *value) {
        _cleanup_free_ char *s = NULL;

        if (asprintf(&s, "%s=%s", name, value ? value : "") < 0)
                return PAM_BUF_ERR;
        return pam_putenv(pamh, s);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_free_ char *err = NULL;
        const void *user = NULL;
        rstream_record rec = {};
        rstream_caller *c;
        rstream_args a;
        uid_t uid;
        int r, rc;

        if (rstream_args_parse(pamh, RSTREAM_PHASE_SESSION, argc, argv, &a) < 0)
                return rstream_phase_service_err(RSTREAM_PHASE_SESSION);
        c = get_caller(pamh);
        if (!c) {
                log_refusal(pamh, LOG_ERR, NULL, NULL, "no verified rstream caller to open a session for");
                return PAM_SESSION_ERR;
        }
        if (pam_get_item(pamh, PAM_USER, &user) != PAM_SUCCESS || !user ||
            strcmp(user, c->decision.user) != 0) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex,
                            "PAM user changed after authentication (want \"%s\")", c->decision.user);
                return PAM_SESSION_ERR;
        }
        r = lookup_uid(user, &uid);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex,
                            "user \"%s\" cannot be resolved: %s", c->decision.user,
                            r == -ENOENT ? "no such user" : strerror(-r));
                return PAM_SESSION_ERR;
        }

        rec.audit_session = RSTREAM_AUDIT_UNSET;
        r = rstream_read_u32_file("/proc/self/sessionid", &rec.audit_session);
        if (r < 0 || rec.audit_session == RSTREAM_AUDIT_UNSET) {
                log_refusal(
                        pamh, LOG_ERR, c->client_name, c->key_id_hex,
                        "no audit session id (pam_loginuid must precede pam_rstream in the session stack)");
                return PAM_SESSION_ERR;
        }
        r = rstream_read_u32_file("/proc/self/loginuid", &rec.loginuid);
        if (r >= 0)
                r = rstream_proc_start_time(getpid(), &rec.opener_start_time);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex, "reading /proc/self: %s",
                            strerror(-r));
                return PAM_SESSION_ERR;
        }

        rc = PAM_SUCCESS;
        if (c->authenticated) {
                rc = putenv_pair(pamh, "RSTREAM_CALLER", c->client_name);
                if (rc == PAM_SUCCESS)
                        rc = putenv_pair(pamh, "RSTREAM_CALLER_KEY_ID", c->key_id_hex);
        }
        if (rc == PAM_SUCCESS)
                rc = putenv_pair(pamh, "RSTREAM_SESSION_ID", c->session_id);
        if (rc == PAM_SUCCESS)
                rc = putenv_pair(pamh, "RSTREAM_SERVER_ID", a.server_id);
        if (rc != PAM_SUCCESS) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex, "pam_putenv: %s",
                            pam_strerror(pamh, rc));
                return PAM_SESSION_ERR;
        }

        /* Borrowed strings: rec is not rstream_record_done()'d. */
        rec.caller = c->client_name;
        rec.key_id = c->key_id_hex;
        rec.principal_id = c->principal_id;
        rec.device_id = c->device_id;
        rec.user = c->decision.user;
        rec.uid = uid;
        rec.sudo = c->decision.sudo;
        rec.rule = c->decision.rule;
        rec.session_id = c->session_id;
        rec.server_id = (char *) (a.server_id ? a.server_id : "");
        rec.requested_user = c->requested_user;
        rec.default_user = c->default_user;
        rec.server_labels = c->server_labels;
        rec.opener_pid = getpid();
        r = rstream_registry_write(a.registry, &rec, &err);
        if (r < 0) {
                log_refusal(pamh, LOG_ERR, c->client_name, c->key_id_hex, "session registry: %s",
                            err ? err : strerror(-r));
                return PAM_SESSION_ERR;
        }
        if (a.debug)
                pam_syslog(pamh, LOG_DEBUG, "recorded audit session %" PRIu32 " in %s", rec.audit_session,
                           a.registry);
        /* Records of sessions whose webttyd-login was killed. */
        {
                unsigned n = rstream_registry_prune(a.registry, rec.audit_session);

                if (n > 0)
                        pam_syslog(pamh, LOG_INFO, "removed %u stale session record(s) from %s", n,
                                   a.registry);
        }
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_free_ char *err = NULL;
        uint32_t audit = RSTREAM_AUDIT_UNSET;
        uint64_t start = 0;
        rstream_args a;
        int r;

        if (rstream_args_parse(pamh, RSTREAM_PHASE_SESSION, argc, argv, &a) < 0)
                return rstream_phase_service_err(RSTREAM_PHASE_SESSION);
        r = rstream_read_u32_file("/proc/self/sessionid", &audit);
        if (r < 0 || audit == RSTREAM_AUDIT_UNSET) {
                pam_syslog(pamh, LOG_ERR, "close_session: no audit session id");
                return PAM_SESSION_ERR;
        }
        r = rstream_proc_start_time(getpid(), &start);
        if (r >= 0)
                r = rstream_registry_remove(a.registry, audit, getpid(), start, &err);
        if (r == -ENOENT) {
                pam_syslog(pamh, LOG_WARNING, "close_session: no record of audit session %" PRIu32 " in %s",
                           audit, a.registry);
                return PAM_SUCCESS;
        }
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "close_session: %s", err ? err : strerror(-r));
                return PAM_SESSION_ERR;
        }
        if (a.debug)
                pam_syslog(pamh, LOG_DEBUG, "removed audit session %" PRIu32 " from %s", audit, a.registry);
        return PAM_SUCCESS;
}
