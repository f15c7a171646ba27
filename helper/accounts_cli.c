/* `webtty accounts add|remove|list` (see webtty-accounts(1)): edits
 * accounts.db, the file nss_rstream resolves, through policy/accountsdb.h. */
#include "accounts_cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accountsdb.h"
#include "errmsg.h"
#include "jsondoc.h"
#include "macro.h"
#include "output.h"
#include "policy.h"
#include "truststore.h"

/* Overrides ACCOUNTSDB_DEFAULT_PATH when --db is not given (tests, staging). */
#define DB_ENV "RSTREAM_WEBTTY_ACCOUNTS_DB"

#define MAX_LABELS 64

typedef struct accounts_opts {
        const char *db;
        const char *uid, *gid, *home, *shell, *gecos;
        const char *policy, *clients_file;
        const char *labels[MAX_LABELS + 1]; /* NULL-terminated */
        size_t n_labels;
        bool force, json, dry_run;
} accounts_opts;

enum {
        OPT_UID = 0x100,
        OPT_GID,
        OPT_HOME,
        OPT_SHELL,
        OPT_GECOS,
        OPT_DB,
        OPT_FORCE,
        OPT_JSON,
        OPT_POLICY,
        OPT_CLIENTS_FILE,
        OPT_LABEL,
        OPT_DRY_RUN,
};

static void help(FILE *f) {
        fprintf(f,
                "Usage: webtty accounts add NAME --uid N [--gid G] [--home H] [--shell S] [--gecos G]\n"
                "                           [--force] [--db PATH]\n"
                "       webtty accounts remove NAME [--db PATH]\n"
                "       webtty accounts list [--json] [--db PATH]\n"
                "       webtty accounts sync --authorized-clients-file FILE [--policy FILE]\n"
                "                            [--label KEY=VALUE]... [--dry-run] [--db PATH]\n"
                "\n"
                "Manage the accounts nss_rstream resolves (default %s).\n"
                "\n"
                "  --uid N      the account's uid (at least %u unless --force; never 0)\n"
                "  --gid G      primary group id; without it a group named like the account\n"
                "               with gid = uid is created with it\n"
                "  --home H     home directory (default /home/NAME)\n"
                "  --shell S    login shell (default /bin/bash)\n"
                "  --gecos G    comment field\n"
                "  --force      allow ids below %u and names/ids the system already knows\n"
                "  --db PATH    another database file (else $%s)\n"
                "  --json       list as JSON\n"
                "sync: provisions the account of every authorized client whose policy rule\n"
                "is a user_template (stable uids from the policy's accounts section):\n"
                "  --authorized-clients-file FILE  the clients (authorized_clients/STORE.json)\n"
                "  --policy FILE                   the policy (default %s)\n"
                "  --label KEY=VALUE               a server label rules may match on\n"
                "  --dry-run                       print what would be provisioned\n",
                ACCOUNTSDB_DEFAULT_PATH, ACCOUNTSDB_UID_MIN, ACCOUNTSDB_UID_MIN, DB_ENV,
                POLICY_DEFAULT_PATH);
}

/* 1: help printed; <0: usage error (message printed). */
static int parse_opts(int argc, char **argv, const int *allowed, size_t n_allowed, accounts_opts *o) {
        static const struct option longopts[] = {
                {"uid", required_argument, NULL, OPT_UID},
                {"gid", required_argument, NULL, OPT_GID},
                {"home", required_argument, NULL, OPT_HOME},
                {"shell", required_argument, NULL, OPT_SHELL},
                {"gecos", required_argument, NULL, OPT_GECOS},
                {"db", required_argument, NULL, OPT_DB},
                {"force", no_argument, NULL, OPT_FORCE},
                {"json", no_argument, NULL, OPT_JSON},
                {"policy", required_argument, NULL, OPT_POLICY},
                {"authorized-clients-file", required_argument, NULL, OPT_CLIENTS_FILE},
                {"label", required_argument, NULL, OPT_LABEL},
                {"dry-run", no_argument, NULL, OPT_DRY_RUN},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        int c, idx;

        optind = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, &idx)) >= 0) {
                bool ok = c == 'h' || c == OPT_DB;

                if (c == '?')
                        return -EINVAL;
                for (size_t i = 0; i < n_allowed; i++)
                        ok = ok || allowed[i] == c;
                if (!ok) {
                        fprintf(stderr, "webtty accounts %s: unknown flag --%s\n", argv[0],
                                longopts[idx].name);
                        return -EINVAL;
                }
                switch (c) {
                case OPT_UID:
                        o->uid = optarg;
                        break;
                case OPT_GID:
                        o->gid = optarg;
                        break;
                case OPT_HOME:
                        o->home = optarg;
                        break;
                case OPT_SHELL:
                        o->shell = optarg;
                        break;
                case OPT_GECOS:
                        o->gecos = optarg;
                        break;
                case OPT_DB:
                        o->db = optarg;
                        break;
                case OPT_FORCE:
                        o->force = true;
                        break;
                case OPT_JSON:
                        o->json = true;
                        break;
                case OPT_POLICY:
                        o->policy = optarg;
                        break;
                case OPT_CLIENTS_FILE:
                        o->clients_file = optarg;
                        break;
                case OPT_LABEL:
                        if (o->n_labels >= MAX_LABELS || !strchr(optarg, '=')) {
                                fprintf(stderr,
                                        "webtty accounts %s: --label \"%.64s\": want KEY=VALUE (at most "
                                        "%d)\n",
                                        argv[0], optarg, MAX_LABELS);
                                return -EINVAL;
                        }
                        o->labels[o->n_labels++] = optarg;
                        break;
                case OPT_DRY_RUN:
                        o->dry_run = true;
                        break;
                case 'h':
                        help(stdout);
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (!o->db) {
                const char *e = getenv(DB_ENV);

                o->db = e && *e ? e : ACCOUNTSDB_DEFAULT_PATH;
        }
        return 0;
}

static int check_args(int argc, char **argv, int n) {
        if (argc - optind != n) {
                fprintf(stderr, "webtty accounts %s: accepts %d arg(s), received %d\n", argv[0], n,
                        argc - optind);
                return -EINVAL;
        }
        return 0;
}

/* A decimal id in [1, 2^32-2]: no sign, no spaces, no trailing text. */
static int parse_id(const char *field, const char *s, uint32_t *ret, char **ret_error) {
        uintmax_t v;
        char *end;

        if (!s || !*s || *s < '0' || *s > '9')
                return errmsg_set(ret_error, -EINVAL, "%s \"%.32s\": not a number", field, s ? s : "");
        errno = 0;
        v = strtoumax(s, &end, 10);
        if (errno != 0 || *end != 0 || v >= UINT32_MAX)
                return errmsg_set(ret_error, -EINVAL, "%s \"%.32s\": not a number below %" PRIu32, field, s,
                                  UINT32_MAX);
        *ret = (uint32_t) v;
        return 0;
}

static int do_add(int argc, char **argv) {
        static const int allowed[] = {OPT_UID, OPT_GID, OPT_HOME, OPT_SHELL, OPT_GECOS, OPT_FORCE};
        _cleanup_free_ char *err = NULL, *home = NULL;
        accounts_opts o = {};
        uint32_t uid, gid;
        const char *name;
        int r;

        r = parse_opts(argc, argv, allowed, ELEMENTSOF(allowed), &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, 1) < 0)
                return 2;
        name = argv[optind];
        if (!o.uid) {
                fprintf(stderr, "webtty accounts add: --uid is required\n");
                return 2;
        }
        if (parse_id("uid", o.uid, &uid, &err) < 0 || (o.gid && parse_id("gid", o.gid, &gid, &err) < 0))
                return output_fail(-EINVAL, err);
        if (!o.gid)
                gid = uid;
        if (!o.home && asprintf(&home, "/home/%s", name) < 0)
                return output_fail(-ENOMEM, NULL);

        accountsdb_user u = {
                .name = name,
                .uid = uid,
                .gid = gid,
                .gecos = o.gecos ? o.gecos : "",
                .home = o.home ? o.home : home,
                .shell = o.shell ? o.shell : "/bin/bash",
        };
        r = accountsdb_add(o.db, &u, !o.gid, o.force ? ACCOUNTSDB_FORCE : 0, &err);
        if (r < 0)
                return output_fail(r, err);
        printf("added %s (uid %" PRIu32 ", gid %" PRIu32 ") to %s\n", name, uid, gid, o.db);
        return fflush(stdout) == 0 ? 0 : output_fail(-EIO, NULL);
}

static int do_remove(int argc, char **argv) {
        _cleanup_free_ char *err = NULL;
        accounts_opts o = {};
        int r;

        r = parse_opts(argc, argv, NULL, 0, &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, 1) < 0)
                return 2;
        r = accountsdb_remove(o.db, argv[optind], &err);
        if (r < 0)
                return output_fail(r, err);
        printf("removed %s from %s\n", argv[optind], o.db);
        return fflush(stdout) == 0 ? 0 : output_fail(-EIO, NULL);
}

static int list_json(const accountsdb *db) {
        _cleanup_(json_object_putp) json_object *root = json_object_new_object();
        json_object *users = json_object_new_array(), *groups = json_object_new_array();
        size_t nu = db ? accountsdb_n_users(db) : 0, ng = db ? accountsdb_n_groups(db) : 0;

        if (!root || !users || !groups || output_add(root, "accounts", users) < 0 ||
            output_add(root, "groups", groups) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < nu; i++) {
                json_object *j = json_object_new_object();
                accountsdb_user u;

                if (!j || json_object_array_add(users, j) < 0)
                        return -ENOMEM;
                if (accountsdb_user_at(db, i, &u) < 0)
                        return -EBADMSG;
                if (output_add_string(j, "name", u.name) < 0 ||
                    output_add(j, "uid", json_object_new_int64(u.uid)) < 0 ||
                    output_add(j, "gid", json_object_new_int64(u.gid)) < 0 ||
                    output_add_string(j, "gecos", u.gecos) < 0 || output_add_string(j, "home", u.home) < 0 ||
                    output_add_string(j, "shell", u.shell) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < ng; i++) {
                json_object *j = json_object_new_object(), *m;
                accountsdb_group g;

                if (!j || json_object_array_add(groups, j) < 0)
                        return -ENOMEM;
                if (accountsdb_group_at(db, i, &g) < 0)
                        return -EBADMSG;
                m = json_object_new_array();
                if (!m || output_add_string(j, "name", g.name) < 0 ||
                    output_add(j, "gid", json_object_new_int64(g.gid)) < 0 ||
                    output_add(j, "members", m) < 0)
                        return -ENOMEM;
                for (size_t k = 0; k < g.n_members; k++)
                        if (json_object_array_add(
                                    m, json_object_new_string(accountsdb_group_member(db, &g, k))) < 0)
                                return -ENOMEM;
        }
        return output_json(root);
}

static int do_list(int argc, char **argv) {
        static const int allowed[] = {OPT_JSON};
        _cleanup_free_ char *err = NULL;
        accounts_opts o = {};
        accountsdb *db = NULL;
        int r;

        r = parse_opts(argc, argv, allowed, ELEMENTSOF(allowed), &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, 0) < 0)
                return 2;
        r = accountsdb_open(o.db, &db);
        if (r < 0 && r != -ENOENT) {
                if (r == -EBADMSG)
                        errmsg_set(&err, r, "accounts database %s is corrupt or truncated", o.db);
                else if (r == -EPERM)
                        errmsg_set(&err, r,
                                   "accounts database %s is writable by group or others, or owned by "
                                   "another user",
                                   o.db);
                else
                        errmsg_set(&err, r, "open accounts database %s: %s", o.db, strerror(-r));
                return output_fail(r, err);
        }
        /* A database not created yet lists as empty. */
        r = 0;
        if (o.json)
                r = list_json(db);
        else {
                for (size_t i = 0; db && i < accountsdb_n_users(db); i++) {
                        accountsdb_user u;

                        if ((r = accountsdb_user_at(db, i, &u)) < 0)
                                break;
                        printf("%s:x:%u:%u:%s:%s:%s\n", u.name, (unsigned) u.uid, (unsigned) u.gid, u.gecos,
                               u.home, u.shell);
                }
                if (r >= 0)
                        r = fflush(stdout) == 0 ? 0 : -EIO;
        }
        accountsdb_close(db);
        return r < 0 ? output_fail(r, NULL) : 0;
}

/* One client: decide, and provision when a user_template rule decides.
 * 1: provisioned or kept, 0: not a template account, <0: failed (printed). */
static int sync_one(const accounts_opts *o, const policy *p, const authorized_client *c) {
        _cleanup_free_ char *err = NULL;
        const policy_accounts *acc = policy_get_accounts(p);
        policy_caller caller = {.client_name = c->name, .key_id = c->id};
        policy_request req = {.server_labels = o->n_labels ? o->labels : NULL};
        char home[POLICY_NAME_MAX], gecos[POLICY_NAME_MAX];
        accountsdb_user u = {};
        accountsdb *db = NULL;
        policy_decision d;
        bool existed = false;
        int r;

        r = policy_decide(p, &caller, &req, &d);
        if (r < 0) {
                fprintf(stderr, "webtty: client \"%s\": policy: %s\n", c->name, strerror(-r));
                return r;
        }
        if (!d.allow || d.kind != POLICY_USER_TEMPLATE)
                return 0;
        r = policy_account_fields(p, &caller, d.user, home, gecos, &err);
        if (r < 0) {
                fprintf(stderr, "webtty: client \"%s\", rule \"%s\": %s\n", c->name, d.rule,
                        err ? err : strerror(-r));
                return r;
        }
        if (accountsdb_open(o->db, &db) == 0) {
                existed = accountsdb_user_by_name(db, d.user, &u) == 0;
                if (existed && o->dry_run)
                        printf("kept %s (uid %u) for client %s\n", d.user, (unsigned) u.uid, c->name);
                accountsdb_close(db);
        }
        if (o->dry_run) {
                if (!existed)
                        printf("would provision %s for client %s (rule %s)\n", d.user, c->name, d.rule);
                return 1;
        }

        accountsdb_provision_params params = {
                .uid_min = acc->uid_min,
                .uid_max = acc->uid_max,
                .gid = acc->gid,
                .home = home,
                .shell = acc->shell[0] ? acc->shell : NULL,
                .gecos = gecos,
                .seed = c->id, /* the key id: the same caller gets the same uid everywhere */
                .seed_len = sizeof(c->id),
        };
        u = (accountsdb_user){};
        r = accountsdb_provision(o->db, d.user, &params, &u, &err);
        if (r < 0) {
                fprintf(stderr, "webtty: client \"%s\", rule \"%s\": %s\n", c->name, d.rule,
                        err ? err : strerror(-r));
                return r;
        }
        printf("%s %s (uid %u) for client %s\n", existed ? "kept" : "provisioned", u.name, (unsigned) u.uid,
               c->name);
        accountsdb_user_done(&u);
        return 1;
}

static int do_sync(int argc, char **argv) {
        static const int allowed[] = {OPT_POLICY, OPT_CLIENTS_FILE, OPT_LABEL, OPT_DRY_RUN};
        _cleanup_(authorized_clients_freep) authorized_clients *ac = NULL;
        _cleanup_(policy_freep) policy *p = NULL;
        _cleanup_free_ char *err = NULL;
        accounts_opts o = {};
        bool failed = false;
        int r;

        r = parse_opts(argc, argv, allowed, ELEMENTSOF(allowed), &o);
        if (r != 0)
                return r > 0 ? 0 : 2;
        if (check_args(argc, argv, 0) < 0)
                return 2;
        if (!o.clients_file) {
                fprintf(stderr, "webtty accounts sync: --authorized-clients-file is required\n");
                return 2;
        }
        r = policy_load(o.policy ? o.policy : POLICY_DEFAULT_PATH, &p, &err);
        if (r < 0)
                return output_fail(r, err);
        r = authorized_clients_load(o.clients_file, &ac, &err);
        if (r < 0)
                return output_fail(r, err);
        for (size_t i = 0; i < ac->n; i++)
                if (sync_one(&o, p, &ac->entries[i]) < 0)
                        failed = true;
        if (fflush(stdout) != 0)
                return output_fail(-EIO, NULL);
        return failed ? 1 : 0;
}

int verb_accounts(int argc, char **argv) {
        static const output_subcommand cmds[] = {
                {"add", do_add}, {"remove", do_remove}, {"list", do_list}, {"sync", do_sync}};

        return output_subcommand_run("accounts", argc, argv, cmds, ELEMENTSOF(cmds), help);
}
