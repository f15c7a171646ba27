/* `webtty identity ...` (see identity_cli.h). */
#include "identity_cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "b64u.h"
#include "datadir.h"
#include "errmsg.h"
#include "identity.h"
#include "jsondoc.h"
#include "output.h"
#include "safefile.h"
#include "trimspace.h"

typedef struct identity_opts {
        const char *name;
        const char *identity_file;
        const char *suite;
        bool endpoint_only;
        output_mode mode;
        const char *output;
} identity_opts;

static void identity_help(FILE *f) {
        fprintf(f, "Usage: webtty identity create (--name NAME | --identity-file FILE) [--suite SUITE]\n"
                   "                              [--endpoint-identity] [-o text|json]\n"
                   "       webtty identity show (--name NAME | --identity-file FILE) [--endpoint-identity]\n"
                   "                            [-o text|json]\n"
                   "       webtty identity list [-o text|json]\n"
                   "       webtty identity remove NAME [-o text|json]\n"
                   "\n"
                   "Manage local WebTTY endpoint identities (DATA/webtty/identities/NAME.identity.json,\n"
                   "DATA being $RSTREAM_DATA_DIR or ~/.rstream).\n"
                   "\n"
                   "  --name NAME             identity name\n"
                   "  --identity-file FILE    identity file path\n"
                   "  --suite SUITE           standard (X25519, default) or fips-compatible (P-256)\n"
                   "  --endpoint-identity     print only the public endpoint identity\n"
                   "  -o, --output MODE       text (default) or json; --json is -o json\n");
}

static char *trim_dup(const char *s) {
        size_t off, len;

        if (!s)
                return strdup("");
        trim_space(s, strlen(s), &off, &len);
        return strndup(s + off, len);
}

/* Parses the options of one subcommand; positional arguments are left in
 * argv[optind..]. 1: --help was printed; <0: usage error (exit 2). */
static int parse_opts(int argc, char **argv, bool select, bool suite, identity_opts *o) {
        enum { OPT_NAME = 0x100, OPT_FILE, OPT_SUITE, OPT_ENDPOINT, OPT_JSON };
        static const struct option longopts[] = {
                {"name", required_argument, NULL, OPT_NAME},
                {"identity-file", required_argument, NULL, OPT_FILE},
                {"suite", required_argument, NULL, OPT_SUITE},
                {"endpoint-identity", no_argument, NULL, OPT_ENDPOINT},
                {"output", required_argument, NULL, 'o'},
                {"json", no_argument, NULL, OPT_JSON},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_free_ char *err = NULL;
        int c;

        o->output = "text";
        optind = 0;
        while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) >= 0) {
                switch (c) {
                case OPT_NAME:
                case OPT_FILE:
                case OPT_ENDPOINT:
                        if (!select) {
                                fprintf(stderr, "webtty identity %s: unknown flag --%s\n", argv[0],
                                        c == OPT_NAME   ? "name"
                                        : c == OPT_FILE ? "identity-file"
                                                        : "endpoint-identity");
                                return -EINVAL;
                        }
                        if (c == OPT_NAME)
                                o->name = optarg;
                        else if (c == OPT_FILE)
                                o->identity_file = optarg;
                        else
                                o->endpoint_only = true;
                        break;
                case OPT_SUITE:
                        if (!suite) {
                                fprintf(stderr, "webtty identity %s: unknown flag --suite\n", argv[0]);
                                return -EINVAL;
                        }
                        o->suite = optarg;
                        break;
                case 'o':
                        o->output = optarg;
                        break;
                case OPT_JSON:
                        o->output = "json";
                        break;
                case 'h':
                        identity_help(stdout);
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

/* The file and displayed name from --name / --identity-file (Go
 * webTTYIdentityPathFromFlags). */
static int identity_target(const identity_opts *o, char **ret_path, char **ret_name, char **ret_error) {
        _cleanup_free_ char *name = trim_dup(o->name), *file = trim_dup(o->identity_file), *path = NULL,
                            *stem = NULL;
        const char *slash, *dot;
        int r;

        if (!name || !file)
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        if (!*name && !*file)
                return errmsg_set(ret_error, -EINVAL, "--name or --identity-file is required");
        if (*name && *file)
                return errmsg_set(ret_error, -EINVAL, "--name cannot be combined with --identity-file");
        if (*file) {
                r = datadir_expand_user_path(file, &path, ret_error);
                if (r < 0)
                        return r;
                /* filepath.Base(strings.TrimSuffix(path, filepath.Ext(path))) */
                slash = strrchr(path, '/');
                dot = strrchr(path, '.');
                stem = dot && (!slash || dot > slash) ? strndup(path, (size_t) (dot - path)) : strdup(path);
                if (!stem || path_base(stem, ret_name) < 0)
                        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
                *ret_path = TAKE_PTR(path);
                return 0;
        }
        r = datadir_identity_path(name, ret_path, ret_error);
        if (r < 0)
                return r;
        *ret_name = TAKE_PTR(name);
        return 0;
}

typedef struct identity_view {
        char *enc_id, *enc_pub, *enc_fp, *sig_id, *sig_pub, *sig_fp, *endpoint;
} identity_view;

static void identity_view_clear(identity_view *v) {
        free(v->enc_id);
        free(v->enc_pub);
        free(v->enc_fp);
        free(v->sig_id);
        free(v->sig_pub);
        free(v->sig_fp);
        free(v->endpoint);
        *v = (identity_view){};
}

static int identity_view_init(const endpoint_identity *id, identity_view *v) {
        const endpoint_public *p = &id->pub;

        *v = (identity_view){};
        if (b64u_encode(p->enc_id, ENCKEY_ID_LEN, &v->enc_id) < 0 ||
            b64u_encode(p->enc_pub, p->enc_pub_len, &v->enc_pub) < 0 ||
            key_fingerprint(p->enc_pub, p->enc_pub_len, &v->enc_fp) < 0 ||
            b64u_encode(p->sig_id, SIGKEY_ID_LEN, &v->sig_id) < 0 ||
            b64u_encode(p->sig_spki, SIGKEY_SPKI_LEN, &v->sig_pub) < 0 ||
            key_fingerprint(p->sig_spki, SIGKEY_SPKI_LEN, &v->sig_fp) < 0 ||
            endpoint_public_format(p, &v->endpoint) < 0) {
                identity_view_clear(v);
                return -ENOMEM;
        }
        return 0;
}

/* Go webTTYIdentityEntryOutput (+ status), keys in map order. */
static json_object *identity_json(const identity_view *v, const char *name, const char *path,
                                  const char *status) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o || output_add_string(o, "encryption_fingerprint", v->enc_fp) < 0 ||
            output_add_string(o, "encryption_key_id", v->enc_id) < 0 ||
            output_add_string(o, "encryption_public_key", v->enc_pub) < 0 ||
            output_add_string(o, "endpoint_identity", v->endpoint) < 0 ||
            output_add_string(o, "identity", path) < 0 || output_add_string(o, "name", name) < 0 ||
            output_add_string(o, "signing_fingerprint", v->sig_fp) < 0 ||
            output_add_string(o, "signing_key_id", v->sig_id) < 0 ||
            output_add_string(o, "signing_public_key", v->sig_pub) < 0 ||
            (status && output_add_string(o, "status", status) < 0))
                return NULL;
        return TAKE_PTR(o);
}

static int identity_print(const identity_opts *o, const char *status, const char *name, const char *path,
                          const endpoint_identity *id) {
        identity_view v;
        int r;

        if (identity_view_init(id, &v) < 0)
                return output_fail(-ENOMEM, NULL);
        if (o->endpoint_only)
                printf("%s\n", v.endpoint);
        else if (o->mode == OUTPUT_JSON) {
                _cleanup_(json_object_putp) json_object *j = identity_json(&v, name, path, status);

                r = j ? output_json(j) : -ENOMEM;
                if (r < 0) {
                        identity_view_clear(&v);
                        return output_fail(r, NULL);
                }
        } else
                printf("Name: %s\n"
                       "Identity: %s\n"
                       "Encryption key ID: %s\n"
                       "Encryption public key: %s\n"
                       "Encryption fingerprint: %s\n"
                       "Signing key ID: %s\n"
                       "Signing public key: %s\n"
                       "Signing fingerprint: %s\n"
                       "Endpoint identity: %s\n",
                       name, path, v.enc_id, v.enc_pub, v.enc_fp, v.sig_id, v.sig_pub, v.sig_fp, v.endpoint);
        identity_view_clear(&v);
        return fflush(stdout) == 0 ? 0 : output_fail(-EIO, NULL);
}

static int parse_suite(const char *value, enckey_suite *ret, char **ret_error) {
        _cleanup_free_ char *v = trim_dup(value);

        if (!v)
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        if (!*v)
                *ret = 0;
        else if (strcmp(v, "standard") == 0)
                *ret = ENCKEY_SUITE_X25519;
        else if (strcmp(v, "fips-compatible") == 0)
                *ret = ENCKEY_SUITE_P256;
        else
                return errmsg_set(ret_error, -EINVAL,
                                  "unsupported --suite \"%s\"; use standard or fips-compatible", value);
        return 0;
}

static int check_positional(int argc, char **argv, int want, const char *usage) {
        if (argc - optind != want) {
                fprintf(stderr, "webtty identity %s: accepts %d arg(s), received %d\n%s", argv[0], want,
                        argc - optind, usage);
                return -EINVAL;
        }
        return 0;
}

static int identity_create_or_show(int argc, char **argv, bool create) {
        _cleanup_(endpoint_identity_freep) endpoint_identity *id = NULL;
        _cleanup_free_ char *err = NULL, *path = NULL, *name = NULL;
        identity_opts o = {};
        enckey_suite suite = 0;
        int r;

        r = parse_opts(argc, argv, true, create, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_positional(argc, argv, 0, "") < 0)
                return 2;
        if (o.endpoint_only && o.mode != OUTPUT_TEXT)
                return output_fail(-EINVAL, "--endpoint-identity cannot be combined with --output json");
        if (create && parse_suite(o.suite, &suite, &err) < 0)
                return output_fail(-EINVAL, err);
        r = identity_target(&o, &path, &name, &err);
        if (r < 0)
                return output_fail(r, err);
        if (create) {
                r = endpoint_identity_load_or_create(path, suite, &id, NULL, &err);
                if (r < 0)
                        errmsg_prefix(&err, r, "failed to create WebTTY identity");
        } else {
                r = endpoint_identity_load(path, &id, &err);
                if (r < 0)
                        errmsg_prefix(&err, r, "failed to load WebTTY identity");
        }
        if (r < 0)
                return output_fail(r, err);
        /* As the reference, create reports "created" also for an existing file. */
        return identity_print(&o, create ? "created" : "loaded", name, path, id);
}

typedef struct list_item {
        char *name;
        char *path;
        endpoint_identity *id;
} list_item;

static int list_item_cmp(const void *a, const void *b) {
        return strcmp(((const list_item *) a)->name, ((const list_item *) b)->name);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_dir_entry(DIR *d, const struct dirent *de) {
        struct stat st;

        if (de->d_type == DT_DIR)
                return true;
        if (de->d_type != DT_UNKNOWN)
                return false;
        return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static void list_items_free(list_item *items, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(items[i].name);
                free(items[i].path);
                endpoint_identity_free(items[i].id);
        }
        free(items);
}

/* Go listLocalWebTTYIdentities; *ret_missing when the directory is absent. */
static int list_identities(list_item **ret, size_t *ret_n, bool *ret_missing, char **ret_error) {
        _cleanup_free_ char *dir = NULL;
        list_item *items = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;
        int r;

        *ret_missing = false;
        r = datadir_identities_dir(&dir, ret_error);
        if (r < 0)
                return r;
        d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret_missing = true;
                        *ret = NULL;
                        *ret_n = 0;
                        return 0;
                }
                return errmsg_set(ret_error, negative_errno(), "open %s: %m", dir);
        }
        r = 0;
        while ((errno = 0, de = readdir(d))) {
                list_item it = {};

                if (!has_suffix(de->d_name, ".identity.json") || is_dir_entry(d, de))
                        continue;
                it.name = strndup(de->d_name, strlen(de->d_name) - strlen(".identity.json"));
                if (!it.name) {
                        r = errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
                        break;
                }
                if (!datadir_name_valid(it.name)) {
                        _cleanup_free_ char *q = jsondoc_quote(de->d_name);

                        free(it.name);
                        r = errmsg_set(ret_error, -EINVAL, "identity file %s has an unsupported name",
                                       q ? q : de->d_name);
                        break;
                }
                if (asprintf(&it.path, "%s/%s", dir, de->d_name) < 0) {
                        free(it.name);
                        r = errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
                        break;
                }
                r = endpoint_identity_load(it.path, &it.id, ret_error);
                if (r >= 0) {
                        list_item *ni = reallocarray(items, n + 1, sizeof(list_item));

                        if (ni) {
                                items = ni;
                                items[n++] = it;
                                continue;
                        }
                        r = errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
                }
                free(it.name);
                free(it.path);
                endpoint_identity_free(it.id);
                break;
        }
        if (r >= 0 && errno != 0)
                r = errmsg_set(ret_error, negative_errno(), "read %s: %m", dir);
        closedir(d);
        if (r < 0) {
                list_items_free(items, n);
                return r;
        }
        if (n > 1)
                qsort(items, n, sizeof(list_item), list_item_cmp);
        *ret = items;
        *ret_n = n;
        return 0;
}

static int identity_list(int argc, char **argv) {
        _cleanup_free_ char *err = NULL;
        identity_opts o = {};
        list_item *items = NULL;
        size_t n = 0;
        bool missing;
        int r;

        r = parse_opts(argc, argv, false, false, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_positional(argc, argv, 0, "") < 0)
                return 2;
        r = list_identities(&items, &n, &missing, &err);
        if (r < 0)
                return output_fail(r, err);
        if (o.mode == OUTPUT_JSON) {
                _cleanup_(json_object_putp) json_object *j = json_object_new_object();
                json_object *arr = missing ? NULL : json_object_new_array();

                r = j && (missing || arr) ? output_add(j, "identities", arr) : -ENOMEM;
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        identity_view v;
                        json_object *item;

                        r = identity_view_init(items[i].id, &v);
                        if (r < 0)
                                break;
                        item = identity_json(&v, items[i].name, items[i].path, NULL);
                        identity_view_clear(&v);
                        if (!item || json_object_array_add(arr, item) < 0) {
                                json_object_put(item);
                                r = -ENOMEM;
                        }
                }
                if (r >= 0)
                        r = output_json(j);
        } else if (n == 0)
                r = printf("No WebTTY identities.\n") < 0 ? -EIO : 0;
        else
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        _cleanup_free_ char *enc = NULL, *sig = NULL;

                        if (b64u_encode(items[i].id->pub.enc_id, ENCKEY_ID_LEN, &enc) < 0 ||
                            b64u_encode(items[i].id->pub.sig_id, SIGKEY_ID_LEN, &sig) < 0)
                                r = -ENOMEM;
                        else
                                printf("%s encryption=%s signing=%s\n", items[i].name, enc, sig);
                }
        list_items_free(items, n);
        if (r >= 0 && fflush(stdout) != 0)
                r = -EIO;
        return r < 0 ? output_fail(r, NULL) : 0;
}

static int identity_remove(int argc, char **argv) {
        _cleanup_(safefile_lock_releasep) safefile_lock *l = NULL;
        _cleanup_free_ char *err = NULL, *name = NULL, *path = NULL;
        identity_opts o = {};
        int r;

        r = parse_opts(argc, argv, false, false, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_positional(argc, argv, 1, "Usage: webtty identity remove NAME [-o text|json]\n") < 0)
                return 2;
        name = trim_dup(argv[optind]);
        if (!name)
                return output_fail(-ENOMEM, NULL);
        if (!datadir_name_valid(name))
                return output_fail(-EINVAL, "identity name contains unsupported characters");
        r = datadir_identity_path(name, &path, &err);
        if (r < 0)
                return output_fail(r, err);
        r = safefile_lock_acquire(path, &l, &err);
        if (r >= 0)
                r = safefile_lock_remove(l, &err);
        if (r == -ENOENT) {
                _cleanup_free_ char *q = jsondoc_quote(name);

                errmsg_set(&err, r, "WebTTY identity %s was not found", q ? q : name);
        }
        if (r < 0)
                return output_fail(r, err);
        l = safefile_lock_release(l);
        if (o.mode == OUTPUT_JSON) {
                _cleanup_(json_object_putp) json_object *j = json_object_new_object();

                r = j && output_add_string(j, "identity", path) >= 0 &&
                                    output_add_string(j, "removed", name) >= 0
                            ? output_json(j)
                            : -ENOMEM;
                return r < 0 ? output_fail(r, NULL) : 0;
        }
        printf("Removed WebTTY identity: %s\n", name);
        return fflush(stdout) == 0 ? 0 : output_fail(-EIO, NULL);
}

static int identity_create(int argc, char **argv) {
        return identity_create_or_show(argc, argv, true);
}

static int identity_show(int argc, char **argv) {
        return identity_create_or_show(argc, argv, false);
}

int verb_identity(int argc, char **argv) {
        static const output_subcommand cmds[] = {{"create", identity_create},
                                                 {"show", identity_show},
                                                 {"list", identity_list},
                                                 {"remove", identity_remove}};

        return output_subcommand_run("identity", argc, argv, cmds, ELEMENTSOF(cmds), identity_help);
}
