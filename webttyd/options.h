/* webttyd's command line and start-up rules (host spec 4.1-4.2). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spawn.h"
#include "url.h"

typedef struct webttyd_config {
        char **listen;         /* --listen values, NULL-terminated (NULL: default) */
        wt_url_kind bare_kind; /* --transport for HOST:PORT addresses */
        char *auth_token;      /* bearer token (secret; freed with sodium_memzero) */
        bool allow_unauthenticated;
        char **allowed_origins; /* NULL-terminated, may be NULL */
        spawn_mode mode;
        char *login_user;
        bool allow_client_user;
        char *login_socket; /* --login-socket (NULL: LOGIN_DEFAULT_SOCKET) */
        char *login_helper; /* --login-helper: start webttyd-login per session instead */
        uint64_t shutdown_timeout_usec;
        uint64_t open_timeout_usec;
        uint64_t close_timeout_usec;
        uint64_t heartbeat_usec; /* 0 disables */
        size_t max_message;
        int log_level;

        /* E2E and endpoint authentication (host spec 1.5, 2.2) */
        bool e2e;                      /* --e2e */
        char *identity_name;           /* --identity */
        char *identity_file;           /* --identity-file, else RSTREAM_WEBTTY_IDENTITY_FILE */
        char **authorized_client_keys; /* --authorized-client-key values (NULL-terminated) */
        char *authorized_clients_file; /* --authorized-clients-file, else
                                          RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE */
} webttyd_config;

#define WEBTTYD_DEFAULT_LISTEN "127.0.0.1:8080"

/* Parses argv. Returns 1 if the program should exit 0 (--help, --version),
 * 0 to run, or a negative errno after printing an error to stderr. */
int config_parse_argv(int argc, char **argv, webttyd_config *ret);

/* Checks the start-up rules; n_inherited is the number of sockets passed by
 * systemd. Prints the reference's message and returns -EINVAL on failure. */
int config_validate(const webttyd_config *cfg, const wt_url *urls, size_t n_urls, size_t n_inherited);

void config_done(webttyd_config *cfg);
