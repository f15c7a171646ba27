/* A PAM module for the webttyd-login tests only (never installed): it
 * stands where pam_rstream will be. auth asks the conversation the rstream
 * prompt, requires the answer to decode as a PROOF bundle, and sets PAM_USER
 * from its arguments; session exports what it saw in the bundle, so the
 * test can check from inside the shell that the bundle went through.
 *
 * Arguments:
 *   user=NAME     the user to log in
 *   from_bundle   the bundle's requested_user, else its default_user
 *   deny          set the user, then fail authentication
 *   nouser        succeed without setting PAM_USER */

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "b64u.h"
#include "loginproto.h"

#define DATA_KEY "webttyd-login-test-bundle"

typedef struct args {
        const char *user;
        bool from_bundle, deny, nouser;
} args;

static int parse(pam_handle_t *pamh, int argc, const char **argv, args *a) {
        *a = (args){};
        for (int i = 0; i < argc; i++) {
                if (strncmp(argv[i], "user=", 5) == 0)
                        a->user = argv[i] + 5;
                else if (strcmp(argv[i], "from_bundle") == 0)
                        a->from_bundle = true;
                else if (strcmp(argv[i], "deny") == 0)
                        a->deny = true;
                else if (strcmp(argv[i], "nouser") == 0)
                        a->nouser = true;
                else {
                        pam_syslog(pamh, LOG_ERR, "unknown argument %s", argv[i]);
                        return PAM_SERVICE_ERR;
                }
        }
        return PAM_SUCCESS;
}

static void data_free(pam_handle_t *pamh, void *data, int status) {
        (void) pamh;
        (void) status;
        free(data);
}

static char *hex(const uint8_t *p, size_t n) {
        char *s = malloc(n * 2 + 1);

        for (size_t i = 0; s && i < n; i++)
                sprintf(s + 2 * i, "%02x", p[i]);
        if (s)
                s[n * 2] = 0;
        return s;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        char *answer = NULL, *summary = NULL, *cfg = NULL, *err = NULL;
        uint8_t *bin = NULL;
        size_t len = 0;
        loginproto_proof p = {};
        const char *user;
        args a;
        int r;

        (void) flags;
        r = parse(pamh, argc, argv, &a);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &answer, "%s", LOGINPROTO_PAM_PROMPT);
        if (r != PAM_SUCCESS || !answer)
                return PAM_AUTH_ERR;
        r = b64u_decode(answer, &bin, &len);
        free(answer);
        if (r < 0)
                return PAM_AUTH_ERR;
        r = loginproto_decode_proof(bin, len, &p, &err);
        free(bin);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "bundle: %s", err ? err : "undecodable");
                free(err);
                return PAM_AUTH_ERR;
        }
        cfg = hex(p.config_hash, sizeof p.config_hash);
        if (asprintf(&summary,
                     "WT_BUNDLE_TRANSPORT=%s\nWT_BUNDLE_SESSION=%s\nWT_BUNDLE_PROOF=%d\n"
                     "WT_BUNDLE_REQUESTED=%s\nWT_BUNDLE_DEFAULT=%s\nWT_BUNDLE_CONFIG_HASH=%s\nWT_BUNDLE_"
                     "LABELS=%s",
                     p.transport, p.session_id, p.has_proof ? 1 : 0, p.requested_user, p.default_user,
                     cfg ? cfg : "", p.server_labels) < 0)
                summary = NULL;
        free(cfg);
        if (summary) {
                /* labels may hold '\n': the session half exports one per line */
                for (char *c = summary; *c; c++)
                        if (*c == '\n' && strncmp(c + 1, "WT_BUNDLE_", 10) != 0)
                                *c = ',';
                pam_set_data(pamh, DATA_KEY, summary, data_free);
        }
        user = a.from_bundle ? (p.requested_user && *p.requested_user ? p.requested_user : p.default_user)
                             : a.user;
        if (!a.nouser && user && *user)
                r = pam_set_item(pamh, PAM_USER, user);
        else
                r = PAM_SUCCESS;
        loginproto_proof_done(&p);
        /* deny: the user is known (so later modules run), authentication fails */
        return a.deny ? PAM_AUTH_ERR : r;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        (void) pamh;
        (void) flags;
        (void) argc;
        (void) argv;
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        (void) pamh;
        (void) flags;
        (void) argc;
        (void) argv;
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        const void *data = NULL;
        char *copy, *save = NULL;

        (void) flags;
        (void) argc;
        (void) argv;
        if (pam_get_data(pamh, DATA_KEY, &data) != PAM_SUCCESS || !data)
                return PAM_SUCCESS;
        copy = strdup(data);
        if (!copy)
                return PAM_BUF_ERR;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
                pam_putenv(pamh, line);
        free(copy);
        return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        (void) pamh;
        (void) flags;
        (void) argc;
        (void) argv;
        return PAM_SUCCESS;
}
