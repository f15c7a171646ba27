/* `webtty authorized-client ...` and `webtty known-server ...` (see trust_cli.h). */
#include "trust_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64u.h"
#include "datadir.h"
#include "errmsg.h"
#include "identity.h"
#include "jsondoc.h"
#include "output.h"
#include "trimspace.h"
#include "truststore.h"

typedef struct trust_opts {
        const char *key;
        const char *identity;
        bool identity_set;
        const char *identity_file;
        const char *server_id;
        const char *clients_file;
        bool clients_file_set;
        const char *client_identity;
        const char *servers_file;
        const char *output;
        output_mode mode;
} trust_opts;

enum {
        OPT_KEY = 0x100,
        OPT_IDENTITY,
        OPT_IDENTITY_FILE,
        OPT_SERVER_ID,
        OPT_CLIENTS_FILE,
        OPT_CLIENT_IDENTITY,
        OPT_SERVERS_FILE,
        OPT_JSON,
};

static void authorized_client_help(FILE *f) {
        fprintf(f,
                "Usage: webtty authorized-client add [NAME] --key KEY [STORE] [-o text|json]\n"
                "       webtty authorized-client list [STORE] [-o text|json]\n"
                "       webtty authorized-client remove NAME [STORE] [-o text|json]\n"
                "\n"
                "Manage the WebTTY clients a server identity authorizes\n"
                "(DATA/webtty/authorized_clients/STORE.json).\n"
                "\n"
                "  --key KEY                       signing_public_key, signing_key_id:signing_public_key,\n"
                "                                  or a client's WebTTY endpoint identity\n"
                "STORE, first given wins:\n"
                "  --authorized-clients-file FILE  the file itself (else "
                "RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE)\n"
                "  --identity NAME                 the store of a named server identity\n"
                "  --server-id ID                  the store of a registered server\n"
                "  --identity-file FILE            the store named after an identity file\n"
                "                                  (else RSTREAM_WEBTTY_IDENTITY_FILE, else \"default\")\n"
                "  -o, --output MODE               text (default) or json; --json is -o json\n");
}

static void known_server_help(FILE *f) {
        fprintf(f,
                "Usage: webtty known-server add NAME --key KEY [--client-identity ID] [-o text|json]\n"
                "       webtty known-server list [-o text|json]\n"
                "       webtty known-server set-identity NAME --identity ID [-o text|json]\n"
                "       webtty known-server remove NAME [-o text|json]\n"
                "\n"
                "Manage the WebTTY server identities this client trusts (DATA/webtty/known_servers.json).\n"
                "\n"
                "  --key KEY                   the server's endpoint identity (from webtty identity show\n"
                "                              --endpoint-identity), or public_key / key_id:public_key\n"
                "  --client-identity ID        local identity to prove this client with\n"
                "  --identity ID               (set-identity) local identity to associate\n"
                "  --known-servers-file FILE   another known servers file\n"
                "  -o, --output MODE           text (default) or json; --json is -o json\n");
}

static char *trim_dup(const char *s) {
        size_t off, len;

        if (!s)
                return strdup("");
        trim_space(s, strlen(s), &off, &len);
        return strndup(s + off, len);
}

/* Parses one subcommand's options. allowed: the OPT_* values accepted.
 * 1: help printed; <0: usage error. */
static int parse_opts(int argc, char **argv, const char *verb, const int *allowed, size_t n_allowed,
                      void (*help)(FILE *), trust_opts *o) {
        static const struct option longopts[] = {
                {"key", required_argument, NULL, OPT_KEY},
                {"identity", required_argument, NULL, OPT_IDENTITY},
                {"identity-file", required_argument, NULL, OPT_IDENTITY_FILE},
                {"server-id", required_argument, NULL, OPT_SERVER_ID},
                {"authorized-clients-file", required_argument, NULL, OPT_CLIENTS_FILE},
                {"client-identity", required_argument, NULL, OPT_CLIENT_IDENTITY},
                {"known-servers-file", required_argument, NULL, OPT_SERVERS_FILE},
                {"output", required_argument, NULL, 'o'},
                {"json", no_argument, NULL, OPT_JSON},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *err = NULL;
        int c, idx;

        o->output = "text";
        optind = 0;
        while ((c = getopt_long(argc, argv, "o:h", longopts, &idx)) >= 0) {
                bool ok = c == 'o' || c == 'h' || c == OPT_JSON;

                for (size_t i = 0; i < n_allowed; i++)
                        ok = ok || allowed[i] == c;
                if (c == '?')
                        return -EINVAL;
                if (!ok) {
                        fprintf(stderr, "webtty %s %s: unknown flag --%s\n", verb, argv[0],
                                longopts[idx].name);
                        return -EINVAL;
                }
                switch (c) {
                case OPT_KEY:
                        o->key = optarg;
                        break;
                case OPT_IDENTITY:
                        o->identity = optarg;
                        o->identity_set = true;
                        break;
                case OPT_IDENTITY_FILE:
                        o->identity_file = optarg;
                        break;
                case OPT_SERVER_ID:
                        o->server_id = optarg;
                        break;
                case OPT_CLIENTS_FILE:
                        o->clients_file = optarg;
                        o->clients_file_set = true;
                        break;
                case OPT_CLIENT_IDENTITY:
                        o->client_identity = optarg;
                        break;
                case OPT_SERVERS_FILE:
                        o->servers_file = optarg;
                        break;
                case 'o':
                        o->output = optarg;
                        break;
                case OPT_JSON:
                        o->output = "json";
                        break;
                case 'h':
                        help(stdout);
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (output_mode_parse(o->output, &o->mode, &err) < 0) {
                output_fail(-EINVAL, err);
                return -EINVAL;
        }
        return 0;
}

static int check_args(int argc, char **argv, const char *verb, int min, int max) {
        int n = argc - optind;

        if (n < min || n > max) {
                if (min == max)
                        fprintf(stderr, "webtty %s %s: accepts %d arg(s), received %d\n", verb, argv[0], min,
                                n);
                else
                        fprintf(stderr, "webtty %s %s: accepts at most %d arg(s), received %d\n", verb,
                                argv[0], max, n);
                return -EINVAL;
        }
        return 0;
}

static int print_flush(void) {
        return fflush(stdout) == 0 ? 0 : output_fail(-EIO, NULL);
}

/* ---- authorized-client -------------------------------------------------- */

static const int ac_store_opts[] = {OPT_IDENTITY, OPT_IDENTITY_FILE, OPT_SERVER_ID, OPT_CLIENTS_FILE,
                                    OPT_KEY};

static int ac_path(const trust_opts *o, char **ret, char **ret_error) {
        store_name_sources s = {
                .identity = o->identity,
                .server_id = o->server_id,
                .identity_file = o->identity_file,
                .env_identity_file = getenv("RSTREAM_WEBTTY_IDENTITY_FILE"),
        };

        return datadir_authorized_clients_file(o->clients_file_set, o->clients_file, &s, ret, ret_error);
}

/* What the list items of both stores need: the store path and its entries. */
typedef struct list_ctx {
        const char *path;
        const void *entries;
} list_ctx;

static json_object *ac_json(const char *path, const authorized_client *e) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_free_ char *id = NULL, *pub = NULL;

        if (!o || b64u_encode(e->id, SIGKEY_ID_LEN, &id) < 0 ||
            b64u_encode(e->spki, SIGKEY_SPKI_LEN, &pub) < 0)
                return NULL;
        if (output_add_string(o, "authorized_clients", path) < 0 ||
            output_add_string(o, "created_at", e->created_at) < 0 ||
            output_add_string(o, "name", e->name) < 0 || output_add_string(o, "signing_key_id", id) < 0 ||
            output_add_string(o, "signing_public_key", pub) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_object *ac_list_item(size_t i, void *userdata) {
        const list_ctx *c = userdata;
        return ac_json(c->path, (const authorized_client *) c->entries + i);
}

static int ac_add(int argc, char **argv) {
        _cleanup_free_ char *err = NULL, *name = NULL, *path = NULL, *id = NULL, *pub = NULL;
        authorized_client e = {};
        trust_opts o = {};
        int r;

        r = parse_opts(argc, argv, "authorized-client", ac_store_opts, ELEMENTSOF(ac_store_opts),
                       authorized_client_help, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, "authorized-client", 0, 1) < 0)
                return 2;
        name = trim_dup(optind < argc ? argv[optind] : NULL);
        if (!name)
                return output_fail(-ENOMEM, NULL);
        if (!*name) {
                uint8_t kid[SIGKEY_ID_LEN], spki[SIGKEY_SPKI_LEN];

                r = authorized_client_key_parse(o.key ? o.key : "", kid, spki, &err);
                if (r < 0)
                        return output_fail(r, err);
                free(name);
                if (authorized_client_default_name(kid, &name) < 0)
                        return output_fail(-ENOMEM, NULL);
        }
        if (!datadir_name_valid(name))
                return output_fail(-EINVAL, "authorized client name contains unsupported characters");
        r = ac_path(&o, &path, &err);
        if (r < 0)
                return output_fail(r, err);
        r = authorized_clients_add(path, name, o.key ? o.key : "", time(NULL), &e, &err);
        if (r < 0)
                return output_fail(r, err);
        if (o.mode == OUTPUT_JSON) {
                _cleanup_(json_object_putp) json_object *j = ac_json(path, &e);

                authorized_client_clear(&e);
                r = j ? output_json(j) : -ENOMEM;
                return r < 0 ? output_fail(r, NULL) : 0;
        }
        if (b64u_encode(e.id, SIGKEY_ID_LEN, &id) < 0 || b64u_encode(e.spki, SIGKEY_SPKI_LEN, &pub) < 0) {
                authorized_client_clear(&e);
                return output_fail(-ENOMEM, NULL);
        }
        printf("Authorized WebTTY client: %s\n"
               "Signing key ID: %s\n"
               "Signing public key: %s\n"
               "Authorized clients: %s\n",
               e.name, id, pub, path);
        authorized_client_clear(&e);
        return print_flush();
}

static int ac_list(int argc, char **argv) {
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL;
        _cleanup_free_ char *err = NULL, *path = NULL;
        trust_opts o = {};
        int r;

        r = parse_opts(argc, argv, "authorized-client", ac_store_opts, ELEMENTSOF(ac_store_opts) - 1,
                       authorized_client_help, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, "authorized-client", 0, 0) < 0)
                return 2;
        r = ac_path(&o, &path, &err);
        if (r < 0)
                return output_fail(r, err);
        r = authorized_clients_load(path, &ac, &err);
        if (r == -ENOENT) {
                ac = calloc(1, sizeof(*ac));
                r = ac ? 0 : -ENOMEM;
        }
        if (r < 0)
                return output_fail(r, err);
        if (o.mode == OUTPUT_JSON) {
                list_ctx ctx = {path, ac->entries};

                r = output_json_list("authorized_clients", ac->n, ac_list_item, &ctx);
                return r < 0 ? output_fail(r, NULL) : 0;
        }
        if (ac->n == 0)
                printf("No authorized WebTTY clients.\n");
        for (size_t i = 0; i < ac->n; i++) {
                _cleanup_free_ char *id = NULL;

                if (b64u_encode(ac->entries[i].id, SIGKEY_ID_LEN, &id) < 0)
                        return output_fail(-ENOMEM, NULL);
                printf("%s signing=%s\n", ac->entries[i].name, id);
        }
        return print_flush();
}

/* `authorized-client remove` and `known-server remove`: one named entry out
 * of a store, reported as text or JSON. */
typedef struct remove_kind {
        const char *verb;
        const int *allowed; /* options the subcommand takes */
        size_t n_allowed;
        void (*help)(FILE *f);
        int (*path)(const trust_opts *o, char **ret, char **ret_error);
        int (*remove)(const char *path, const char *name, char **ret_error);
        const char *json_key;     /* the store path's key in JSON output */
        const char *removed_text; /* "Removed ...: <name>" */
        const char *bad_name;     /* refusal of a name that is not a valid local name */
} remove_kind;

static int run_remove(const remove_kind *k, int argc, char **argv) {
        _cleanup_free_ char *err = NULL, *name = NULL, *path = NULL;
        trust_opts o = {};
        int r;

        r = parse_opts(argc, argv, k->verb, k->allowed, k->n_allowed, k->help, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, k->verb, 1, 1) < 0)
                return 2;
        name = trim_dup(argv[optind]);
        if (!name)
                return output_fail(-ENOMEM, NULL);
        if (!datadir_name_valid(name))
                return output_fail(-EINVAL, k->bad_name);
        r = k->path(&o, &path, &err);
        if (r < 0)
                return output_fail(r, err);
        r = k->remove(path, name, &err);
        if (r < 0)
                return output_fail(r, err);
        if (o.mode == OUTPUT_JSON) {
                _cleanup_(json_object_putp) json_object *j = json_object_new_object();

                r = j && output_add_string(j, k->json_key, path) >= 0 &&
                                    output_add_string(j, "removed", name) >= 0
                            ? output_json(j)
                            : -ENOMEM;
                return r < 0 ? output_fail(r, NULL) : 0;
        }
        printf("%s: %s\n", k->removed_text, name);
        return print_flush();
}

static int ac_remove(int argc, char **argv) {
        static const remove_kind kind = {
                .verb = "authorized-client",
                .allowed = ac_store_opts,
                .n_allowed = ELEMENTSOF(ac_store_opts) - 1,
                .help = authorized_client_help,
                .path = ac_path,
                .remove = authorized_clients_remove,
                .json_key = "authorized_clients",
                .removed_text = "Removed authorized client",
                .bad_name = "authorized client name contains unsupported characters",
        };
        return run_remove(&kind, argc, argv);
}

int verb_authorized_client(int argc, char **argv) {
        static const output_subcommand cmds[] = {{"add", ac_add}, {"list", ac_list}, {"remove", ac_remove}};

        return output_subcommand_run("authorized-client", argc, argv, cmds, ELEMENTSOF(cmds),
                                     authorized_client_help);
}

/* ---- known-server ------------------------------------------------------- */

static int ks_path(const trust_opts *o, char **ret, char **ret_error) {
        _cleanup_free_ char *v = trim_dup(o->servers_file);

        if (!v)
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        if (!*v)
                return datadir_known_servers_path(ret, ret_error);
        return datadir_expand_user_path(v, ret, ret_error);
}

typedef struct ks_view {
        char *enc_id, *enc_pub, *sig_id, *sig_pub;
} ks_view;

static void ks_view_clear(ks_view *v) {
        free(v->enc_id);
        free(v->enc_pub);
        free(v->sig_id);
        free(v->sig_pub);
        *v = (ks_view){};
}

static int ks_view_init(const known_server *e, ks_view *v) {
        *v = (ks_view){};
        if (b64u_encode(e->key.enc_id, ENCKEY_ID_LEN, &v->enc_id) < 0 ||
            b64u_encode(e->key.enc_pub, e->key.enc_pub_len, &v->enc_pub) < 0 ||
            (e->key.has_signing && (b64u_encode(e->key.sig_id, SIGKEY_ID_LEN, &v->sig_id) < 0 ||
                                    b64u_encode(e->key.sig_spki, SIGKEY_SPKI_LEN, &v->sig_pub) < 0))) {
                ks_view_clear(v);
                return -ENOMEM;
        }
        return 0;
}

/* Go knownServerEntryOutput, keys in map order. */
static json_object *ks_json(const char *path, const known_server *e) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        ks_view v;
        int r;

        if (!o || ks_view_init(e, &v) < 0)
                return NULL;
        r = output_add_string(o, "client_identity", e->client_identity);
        if (r >= 0)
                r = output_add_string(o, "created_at", e->created_at);
        if (r >= 0)
                r = output_add_string(o, "encryption_key_id", v.enc_id);
        if (r >= 0)
                r = output_add_string(o, "encryption_public_key", v.enc_pub);
        if (r >= 0)
                r = output_add_string(o, "known_servers", path);
        if (r >= 0)
                r = output_add_string(o, "name", e->name);
        if (r >= 0)
                r = output_add_string(o, "signing_key_id", v.sig_id);
        if (r >= 0)
                r = output_add_string(o, "signing_public_key", v.sig_pub);
        ks_view_clear(&v);
        return r < 0 ? NULL : TAKE_PTR(o);
}

static json_object *ks_list_item(size_t i, void *userdata) {
        const list_ctx *c = userdata;
        return ks_json(c->path, (const known_server *) c->entries + i);
}

static int ks_print_entry(const trust_opts *o, const char *path, known_server *e, bool full) {
        ks_view v;
        int r;

        if (o->mode == OUTPUT_JSON) {
                _cleanup_(json_object_putp) json_object *j = ks_json(path, e);

                known_server_clear(e);
                r = j ? output_json(j) : -ENOMEM;
                return r < 0 ? output_fail(r, NULL) : 0;
        }
        if (!full) {
                printf("Known WebTTY server: %s\n"
                       "Client identity: %s\n"
                       "Known WebTTY servers: %s\n",
                       e->name, e->client_identity, path);
                known_server_clear(e);
                return print_flush();
        }
        if (ks_view_init(e, &v) < 0) {
                known_server_clear(e);
                return output_fail(-ENOMEM, NULL);
        }
        printf("Known WebTTY server: %s\n"
               "Encryption key ID: %s\n"
               "Encryption public key: %s\n",
               e->name, v.enc_id, v.enc_pub);
        if (e->key.has_signing)
                printf("Signing key ID: %s\n"
                       "Signing public key: %s\n",
                       v.sig_id, v.sig_pub);
        if (*e->client_identity)
                printf("Client identity: %s\n", e->client_identity);
        printf("Known WebTTY servers: %s\n", path);
        ks_view_clear(&v);
        known_server_clear(e);
        return print_flush();
}

static int ks_add(int argc, char **argv) {
        static const int allowed[] = {OPT_KEY, OPT_CLIENT_IDENTITY, OPT_SERVERS_FILE};
        _cleanup_free_ char *err = NULL, *name = NULL, *path = NULL, *ci = NULL;
        endpoint_public key;
        known_server e = {};
        trust_opts o = {};
        int r;

        r = parse_opts(argc, argv, "known-server", allowed, ELEMENTSOF(allowed), known_server_help, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, "known-server", 1, 1) < 0)
                return 2;
        name = trim_dup(argv[optind]);
        ci = trim_dup(o.client_identity);
        if (!name || !ci)
                return output_fail(-ENOMEM, NULL);
        r = endpoint_public_parse(o.key ? o.key : "", &key, &err);
        if (r < 0)
                return output_fail(r, err);
        if (!*name)
                return output_fail(-EINVAL, "known server target is required");
        if (!datadir_name_valid(name))
                return output_fail(-EINVAL, "known server name contains unsupported characters");
        r = ks_path(&o, &path, &err);
        if (r < 0)
                return output_fail(r, err);
        if (*ci && !datadir_name_valid(ci))
                return output_fail(-EINVAL, "--client-identity contains unsupported characters");
        r = known_servers_add(path, name, &key, ci, time(NULL), &e, &err);
        if (r < 0)
                return output_fail(r, err);
        return ks_print_entry(&o, path, &e, true);
}

static int ks_list(int argc, char **argv) {
        static const int allowed[] = {OPT_SERVERS_FILE};
        _cleanup_(known_servers_freep) known_servers *ks = NULL;
        _cleanup_free_ char *err = NULL, *path = NULL;
        trust_opts o = {};
        int r;

        r = parse_opts(argc, argv, "known-server", allowed, ELEMENTSOF(allowed), known_server_help, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, "known-server", 0, 0) < 0)
                return 2;
        r = ks_path(&o, &path, &err);
        if (r < 0)
                return output_fail(r, err);
        r = known_servers_load(path, &ks, &err);
        if (r == -ENOENT) {
                ks = calloc(1, sizeof(*ks));
                r = ks ? 0 : -ENOMEM;
        }
        if (r < 0)
                return output_fail(r, err);
        if (o.mode == OUTPUT_JSON) {
                list_ctx ctx = {path, ks->entries};

                r = output_json_list("known_servers", ks->n, ks_list_item, &ctx);
                return r < 0 ? output_fail(r, NULL) : 0;
        }
        if (ks->n == 0)
                printf("No known WebTTY servers.\n");
        for (size_t i = 0; i < ks->n; i++) {
                const known_server *e = &ks->entries[i];
                ks_view v;

                if (ks_view_init(e, &v) < 0)
                        return output_fail(-ENOMEM, NULL);
                printf("%s encryption=%s", e->name, v.enc_id);
                if (e->key.has_signing)
                        printf(" signing=%s", v.sig_id);
                if (*e->client_identity)
                        printf(" client_identity=%s", e->client_identity);
                printf("\n");
                ks_view_clear(&v);
        }
        return print_flush();
}

static int ks_set_identity(int argc, char **argv) {
        static const int allowed[] = {OPT_IDENTITY, OPT_SERVERS_FILE};
        _cleanup_free_ char *err = NULL, *name = NULL, *path = NULL, *ci = NULL;
        known_server e = {};
        trust_opts o = {};
        int r;

        r = parse_opts(argc, argv, "known-server", allowed, ELEMENTSOF(allowed), known_server_help, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, "known-server", 1, 1) < 0)
                return 2;
        name = trim_dup(argv[optind]);
        ci = trim_dup(o.identity);
        if (!name || !ci)
                return output_fail(-ENOMEM, NULL);
        if (!datadir_name_valid(name))
                return output_fail(-EINVAL, "known server name contains unsupported characters");
        if (!*ci)
                return output_fail(-EINVAL, "--identity is required");
        if (!datadir_name_valid(ci))
                return output_fail(-EINVAL, "--identity contains unsupported characters");
        r = ks_path(&o, &path, &err);
        if (r < 0)
                return output_fail(r, err);
        r = known_servers_set_identity(path, name, ci, &e, &err);
        if (r < 0)
                return output_fail(r, err);
        return ks_print_entry(&o, path, &e, false);
}

static int ks_remove(int argc, char **argv) {
        static const int allowed[] = {OPT_SERVERS_FILE};
        static const remove_kind kind = {
                .verb = "known-server",
                .allowed = allowed,
                .n_allowed = ELEMENTSOF(allowed),
                .help = known_server_help,
                .path = ks_path,
                .remove = known_servers_remove,
                .json_key = "known_servers",
                .removed_text = "Removed known server",
                .bad_name = "known server name contains unsupported characters",
        };
        return run_remove(&kind, argc, argv);
}

int verb_known_server(int argc, char **argv) {
        static const output_subcommand cmds[] = {{"add", ks_add},
                                                 {"list", ks_list},
                                                 {"set-identity", ks_set_identity},
                                                 {"remove", ks_remove}};

        return output_subcommand_run("known-server", argc, argv, cmds, ELEMENTSOF(cmds), known_server_help);
}
