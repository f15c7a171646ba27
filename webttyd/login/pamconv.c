/* The PAM conversation of webttyd-login and the merge of the PAM
 * environment (see login.h).
 *
 * There is nobody to ask: the client authenticated itself with its
 * ClientProof, which pam_rstream re-verifies from the bundle it gets as the
 * answer to its prompt. Any other prompt (a password, a token) fails the
 * conversation, so a stack misconfigured with pam_unix auth refuses instead
 * of prompting anyone, and nothing a module asks is ever echoed to a peer. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_appl.h>

#include "log.h"
#include "login.h"
#include "macro.h"

static void responses_free(struct pam_response *r, int n) {
        for (int i = 0; i < n; i++)
                if (r[i].resp) {
                        explicit_bzero(r[i].resp, strlen(r[i].resp));
                        free(r[i].resp);
                }
        free(r);
}

int login_pam_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata) {
        login_conv *c = appdata;
        struct pam_response *r;

        *resp = NULL;
        if (n <= 0 || n > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        r = calloc((size_t) n, sizeof *r);
        if (!r)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                const char *text = msg[i]->msg ? msg[i]->msg : "";

                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                        if (strcmp(text, LOGINPROTO_PAM_PROMPT) == 0 && c->bundle) {
                                r[i].resp = strdup(c->bundle);
                                if (!r[i].resp) {
                                        responses_free(r, n);
                                        return PAM_BUF_ERR;
                                }
                                c->n_answered++;
                                break;
                        }
                        __attribute__((fallthrough));
                case PAM_PROMPT_ECHO_ON:
                        /* The prompt's text is a module's, not a secret. */
                        wlog_record(LOG_WARNING, "PAM module prompted; refusing the conversation", "peer",
                                    c->peer, "prompt", text, NULL);
                        responses_free(r, n);
                        return PAM_CONV_ERR;
                case PAM_ERROR_MSG:
                        wlog_record(LOG_WARNING, "PAM error message", "peer", c->peer, "text", text, NULL);
                        break;
                case PAM_TEXT_INFO:
                        wlog_record(LOG_INFO, "PAM info message", "peer", c->peer, "text", text, NULL);
                        break;
                default:
                        responses_free(r, n);
                        return PAM_CONV_ERR;
                }
        }
        *resp = r;
        return PAM_SUCCESS;
}

static size_t key_len(const char *kv) {
        const char *eq = strchr(kv, '=');

        return eq ? (size_t) (eq - kv) : strlen(kv);
}

int login_env_merge_pam(char ***env, char **pam_env) {
        size_t n = 0;

        while (*env && (*env)[n])
                n++;
        for (char **p = pam_env; p && *p; p++) {
                size_t k = key_len(*p);
                char *copy;
                bool replaced = false;

                /* pam_getenvlist() never hands out a key without '=' (those
                 * are deletions), but be strict anyway. */
                if (k == 0 || (*p)[k] != '=')
                        continue;
                copy = strdup(*p);
                if (!copy)
                        return -ENOMEM;
                for (size_t i = 0; i < n && !replaced; i++)
                        if (strncmp((*env)[i], *p, k + 1) == 0) {
                                free((*env)[i]);
                                (*env)[i] = copy;
                                replaced = true;
                        }
                if (!replaced) {
                        char **l = reallocarray(*env, n + 2, sizeof(char *));

                        if (!l) {
                                free(copy);
                                return -ENOMEM;
                        }
                        l[n++] = copy;
                        l[n] = NULL;
                        *env = l;
                }
        }
        return 0;
}
