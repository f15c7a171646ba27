/* Trust resolution for `webtty exec` (see exec_trust.h). */
#include "exec_trust.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "datadir.h"
#include "errmsg.h"
#include "macro.h"
#include "truststore.h"

static const char *env_nonblank(const char *name) {
        const char *v = getenv(name);
        return v && *v ? v : NULL;
}

/* Several candidate identities: exactly one may carry a signing half. */
static int pick_signing(const endpoint_public *cands, size_t n, exec_trust *t, char **ret_error) {
        const endpoint_public *chosen = NULL;

        for (size_t i = 0; i < n; i++) {
                if (!cands[i].has_signing)
                        continue;
                if (chosen && memcmp(chosen->sig_id, cands[i].sig_id, SIGKEY_ID_LEN) != 0)
                        return errmsg_set(
                                ret_error, -EINVAL,
                                "multiple known WebTTY server endpoint identities are configured; pass "
                                "exactly one endpoint identity for authenticated E2E");
                chosen = &cands[i];
        }
        if (!chosen && n > 0)
                return errmsg_set(
                        ret_error, -EINVAL,
                        "WebTTY server requires authenticated E2E, but the known server key does not "
                        "include a signing identity; use a WebTTY endpoint identity from rstream webtty "
                        "identity show --name <server> --endpoint-identity");
        if (!chosen)
                return 0;
        t->server = *chosen;
        t->pinned = true;
        return 0;
}

static int known_servers_path(const exec_trust_opts *o, char **ret, char **ret_error) {
        const char *f = o->known_servers_file ? o->known_servers_file
                                              : env_nonblank("RSTREAM_WEBTTY_KNOWN_SERVERS_FILE");

        if (f)
                return datadir_expand_user_path(f, ret, ret_error);
        return datadir_known_servers_path(ret, ret_error);
}

/* --known-server NAME: one entry of the store. */
static int from_named(const exec_trust_opts *o, exec_trust *t, char **ret_error) {
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        if (o->n_known_server_keys > 0 || env_nonblank("RSTREAM_WEBTTY_KNOWN_SERVER_KEY"))
                return errmsg_set(ret_error, -EINVAL,
                                  "--known-server cannot be combined with --known-server-key or "
                                  "RSTREAM_WEBTTY_KNOWN_SERVER_KEY");
        r = known_servers_path(o, &path, ret_error);
        if (r < 0)
                return r;
        r = known_servers_load(path, &ks, ret_error);
        if (r < 0 && r != -ENOENT)
                return r;
        for (size_t i = 0; ks && i < ks->n; i++) {
                if (strcmp(ks->entries[i].name, o->known_server) != 0)
                        continue;
                r = pick_signing(&ks->entries[i].key, 1, t, ret_error);
                if (r < 0)
                        return r;
                if (ks->entries[i].client_identity && *ks->entries[i].client_identity &&
                    !(t->client_identity_name = strdup(ks->entries[i].client_identity)))
                        return -ENOMEM;
                return 0;
        }
        return errmsg_set(
                ret_error, -ENOENT,
                "known WebTTY server \"%s\" was not found in %s; add it with rstream webtty known-server "
                "add %s --key <server-endpoint-identity>",
                o->known_server, path, o->known_server);
}

/* --known-server-key values, RSTREAM_WEBTTY_KNOWN_SERVER_KEY, then every entry
 * of an explicitly named store. */
static int from_keys(const exec_trust_opts *o, exec_trust *t, char **ret_error) {
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ endpoint_public *cands = NULL;
        const char *env_key = env_nonblank("RSTREAM_WEBTTY_KNOWN_SERVER_KEY");
        const char *file = o->known_servers_file ? o->known_servers_file
                                                 : env_nonblank("RSTREAM_WEBTTY_KNOWN_SERVERS_FILE");
        size_t n = 0, cap;
        int r;

        if (file) {
                _cleanup_free_ char *path = NULL;
                r = datadir_expand_user_path(file, &path, ret_error);
                if (r >= 0)
                        r = known_servers_load(path, &ks, ret_error);
                if (r < 0)
                        return r;
        }
        cap = o->n_known_server_keys + (env_key ? 1 : 0) + (ks ? ks->n : 0);
        if (cap == 0)
                return 0;
        cands = calloc(cap, sizeof(*cands));
        if (!cands)
                return -ENOMEM;
        for (size_t i = 0; i < o->n_known_server_keys; i++) {
                r = endpoint_public_parse(o->known_server_keys[i], &cands[n++], ret_error);
                if (r < 0)
                        return errmsg_prefix(ret_error, r, "--known-server-key");
        }
        if (env_key) {
                r = endpoint_public_parse(env_key, &cands[n++], ret_error);
                if (r < 0)
                        return errmsg_prefix(ret_error, r, "RSTREAM_WEBTTY_KNOWN_SERVER_KEY");
        }
        for (size_t i = 0; ks && i < ks->n; i++)
                cands[n++] = ks->entries[i].key;
        return pick_signing(cands, n, t, ret_error);
}

static int load_client_identity(const exec_trust_opts *o, exec_trust *t, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        const char *name = o->identity ? o->identity : t->client_identity_name;
        const char *file =
                o->identity_file ? o->identity_file : env_nonblank("RSTREAM_WEBTTY_IDENTITY_FILE");
        int r;

        if (o->identity && o->identity_file)
                return errmsg_set(ret_error, -EINVAL, "--identity cannot be combined with --identity-file");
        if (o->identity_file || (!name && file))
                r = datadir_expand_user_path(file, &path, ret_error);
        else if (name)
                r = datadir_identity_path(name, &path, ret_error);
        else
                return 0; /* none: only a server without client proofs will accept us */
        if (r < 0)
                return r;
        r = endpoint_identity_load(path, &t->client, ret_error);
        if (r < 0 && !o->identity && !o->identity_file && t->client_identity_name)
                return errmsg_set(
                        ret_error, r,
                        "WebTTY server %s requires client endpoint identity \"%s\", but it could not be "
                        "loaded; create it with rstream webtty identity create --name %s or update the "
                        "association with rstream webtty known-server set-identity %s --identity "
                        "<identity>",
                        o->known_server, name, name, o->known_server);
        return r;
}

int exec_trust_resolve(const exec_trust_opts *o, exec_trust *t, char **ret_error) {
        int r;

        *t = (exec_trust){0};
        r = o->known_server ? from_named(o, t, ret_error) : from_keys(o, t, ret_error);
        if (r < 0)
                return r;
        if (!t->pinned && o->e2e)
                return errmsg_set(ret_error, -EINVAL,
                                  "WebTTY E2E requires a known server endpoint identity");
        if (t->pinned) {
                t->pin.key_envelope_suite = t->server.suite;
                memcpy(t->pin.encryption_key_id, t->server.enc_id, ENCKEY_ID_LEN);
                memcpy(t->pin.encryption_public_key, t->server.enc_pub, t->server.enc_pub_len);
                t->pin.encryption_public_key_len = t->server.enc_pub_len;
                memcpy(t->pin.signing_key_id, t->server.sig_id, SIGKEY_ID_LEN);
                memcpy(t->pin.signing_public_key, t->server.sig_spki, SIGKEY_SPKI_LEN);
        }
        return load_client_identity(o, t, ret_error);
}

void exec_trust_done(exec_trust *t) {
        t->client = endpoint_identity_free(t->client);
        free(t->client_identity_name);
        *t = (exec_trust){0};
}
