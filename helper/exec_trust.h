/* Which server `webtty exec` trusts and who it is (host spec 2.1 client
 * resolution, 1.5): the pinned server endpoint identity from
 * --known-server / --known-server-key / --known-servers-file (and their
 * environment variables), and the client endpoint identity from --identity,
 * --identity-file or the known server's client_identity. */
#pragma once

#include <stdbool.h>

#include "auth.h"
#include "identity.h"

typedef struct exec_trust_opts {
        const char *known_server; /* --known-server NAME */
        char **known_server_keys; /* --known-server-key values */
        size_t n_known_server_keys;
        const char *known_servers_file; /* --known-servers-file */
        const char *identity;           /* --identity NAME */
        const char *identity_file;      /* --identity-file */
        bool e2e;                       /* --e2e: refuse to run without a pinned identity */
} exec_trust_opts;

typedef struct exec_trust {
        bool pinned;                /* a server identity is expected */
        endpoint_public server;     /* the pinned identity */
        auth_pinned_identity pin;   /* the same for auth_server_hello_verify() */
        endpoint_identity *client;  /* NULL when none configured */
        char *client_identity_name; /* from the known server entry, for messages */
} exec_trust;

/* Resolves both. On failure returns a negative errno and a message. */
int exec_trust_resolve(const exec_trust_opts *o, exec_trust *ret, char **ret_error);
void exec_trust_done(exec_trust *t);
