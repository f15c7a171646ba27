/* Server identity, authorized clients and replay cache (see protect.h). */
#include "protect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "b64u.h"
#include "datadir.h"
#include "log.h"
#include "macro.h"

static int fail(int r, const char *what, const char *err) {
        fprintf(stderr, "webttyd: %s%s%s\n", what, err ? ": " : "", err ? err : "");
        return r < 0 ? r : -EINVAL;
}

/* Host spec 1.5: --identity-file, --identity, RSTREAM_WEBTTY_IDENTITY_FILE
 * (folded into identity_file by the option parser), inline
 * RSTREAM_WEBTTY_IDENTITY, then default.identity.json for --e2e. */
static int resolve_identity(const webttyd_config *cfg, server_protection *p) {
        const char *inline_doc = getenv("RSTREAM_WEBTTY_IDENTITY");
        _cleanup_free_ char *path = NULL, *err = NULL;
        bool created = false;
        int r;

        if (inline_doc && *inline_doc) {
                if (cfg->identity_name || cfg->identity_file)
                        return fail(-EINVAL,
                                    "RSTREAM_WEBTTY_IDENTITY cannot be combined with --identity, "
                                    "--identity-file, or "
                                    "RSTREAM_WEBTTY_IDENTITY_FILE",
                                    NULL);
                r = endpoint_identity_parse_inline(inline_doc, &p->identity, &err);
                if (r < 0)
                        return fail(r, err ? err : "RSTREAM_WEBTTY_IDENTITY", NULL);
                p->identity_source = strdup("RSTREAM_WEBTTY_IDENTITY");
                return p->identity_source ? 0 : -ENOMEM;
        }
        if (cfg->identity_file)
                r = datadir_expand_user_path(cfg->identity_file, &path, &err);
        else if (cfg->identity_name)
                r = datadir_identity_path(cfg->identity_name, &path, &err);
        else if (cfg->e2e)
                r = datadir_identity_path("default", &path, &err);
        else
                return 0; /* a plain server */
        if (r < 0)
                return fail(r, err ? err : "failed to resolve the WebTTY identity path", NULL);
        r = endpoint_identity_load_or_create(path, 0, &p->identity, &created, &err);
        if (r < 0)
                return fail(r, err ? err : "failed to load the WebTTY endpoint identity", NULL);
        if (created)
                wlog_record(LOG_NOTICE, "created WebTTY endpoint identity", "path", path, NULL);
        p->identity_source = TAKE_PTR(path);
        return 0;
}

/* The static list; parsed before anything is created on disk. */
static int parse_static_keys(const webttyd_config *cfg, server_protection *p) {
        _cleanup_free_ char *err = NULL;
        int r;

        for (size_t i = 0; cfg->authorized_client_keys && cfg->authorized_client_keys[i]; i++) {
                r = authorized_keys_add(&p->static_keys, cfg->authorized_client_keys[i], &err);
                if (r < 0)
                        return fail(r, "--authorized-client-key", err);
        }
        r = authorized_keys_add_env(&p->static_keys, getenv("RSTREAM_WEBTTY_AUTHORIZED_CLIENT_KEYS"), &err);
        if (r < 0)
                return fail(r, "RSTREAM_WEBTTY_AUTHORIZED_CLIENT_KEYS", err);
        return 0;
}

static int resolve_clients_file(const webttyd_config *cfg, server_protection *p) {
        store_name_sources names = {
                .identity = cfg->identity_name,
                .identity_file = cfg->identity_file,
        };
        _cleanup_free_ char *err = NULL;
        int r;

        r = datadir_authorized_clients_file(cfg->authorized_clients_file != NULL,
                                            cfg->authorized_clients_file, &names, &p->clients_file, &err);
        if (r < 0)
                return fail(r, err ? err : "failed to resolve the authorized clients file", NULL);
        return 0;
}

int protection_setup(const webttyd_config *cfg, server_protection *p) {
        _cleanup_free_ char *id = NULL;
        int r;

        *p = (server_protection){0};
        r = parse_static_keys(cfg, p);
        if (r >= 0)
                r = resolve_identity(cfg, p);
        if (r < 0 || !p->identity) {
                if (r >= 0 && (cfg->authorized_client_keys || cfg->authorized_clients_file))
                        return fail(-EINVAL,
                                    "--authorized-client-key and --authorized-clients-file need an "
                                    "endpoint identity (--identity, --identity-file or --e2e)",
                                    NULL);
                return r;
        }
        r = resolve_clients_file(cfg, p);
        if (r >= 0)
                r = auth_replay_cache_new(0, &p->replay);
        if (r >= 0)
                r = b64u_encode(p->identity->pub.sig_id, SIGKEY_ID_LEN, &id);
        if (r == -ENOMEM)
                return fail(r, "out of memory", NULL);
        if (r < 0)
                return r;
        snprintf(p->signing_key_id_b64, sizeof(p->signing_key_id_b64), "%s", id);
        wlog_record(LOG_INFO, "end-to-end encryption enabled", "identity", p->identity_source,
                    "signing_key_id", p->signing_key_id_b64, "authorized_clients_file", p->clients_file,
                    NULL);
        return 0;
}

void protection_done(server_protection *p) {
        p->identity = endpoint_identity_free(p->identity);
        authorized_keys_clear(&p->static_keys);
        p->replay = auth_replay_cache_free(p->replay);
        free(p->identity_source);
        free(p->clients_file);
        *p = (server_protection){0};
}

int protection_lookup(const uint8_t key_id[SIGKEY_ID_LEN], uint8_t spki_out[SIGKEY_SPKI_LEN], bool *found,
                      void *userdata) {
        server_protection *p = userdata;
        _cleanup_free_ char *err = NULL;
        int r;

        *found = authorized_keys_find(&p->static_keys, key_id, spki_out);
        if (*found)
                return 0;
        r = authorized_clients_lookup(p->clients_file, key_id, spki_out, found, &err);
        if (r < 0)
                wlog_record(LOG_ERR, "authorized clients file could not be read", "path", p->clients_file,
                            "error", err ? err : strerror(-r), NULL);
        return r;
}
