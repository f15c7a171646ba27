/* `webtty policy check|explain` (see policy_cli.h and webtty-policy(1)). */
#include "policy_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "output.h"
#include "policy.h"

#define LABELS_MAX 64

static void policy_help(FILE *f) {
        fprintf(f, "Usage: webtty policy check [FILE]\n"
                   "       webtty policy explain [--policy FILE] (--caller NAME|KEYID [--key-id KEYID] |\n"
                   "                             --unauthenticated) [--user USER] [--principal ID]\n"
                   "                             [--device ID] [--label KEY=VALUE]... [--login-user USER]\n"
                   "                             [-v|--verbose]\n"
                   "\n"
                   "Check the login policy (default " POLICY_DEFAULT_PATH ") and explain\n"
                   "which rule maps a caller to which OS user; see policy.yaml(5).\n"
                   "\n"
                   "check    exit 0: the file is valid; 1: it is not (FILE:LINE:COLUMN: message).\n"
                   "explain  exit 0: the caller would be allowed; 1: refused; 2: usage or load error.\n"
                   "\n"
                   "  --policy FILE          the policy to use (default " POLICY_DEFAULT_PATH ")\n"
                   "  --caller NAME|KEYID    the caller's authorized-client name, or its signing key id\n"
                   "                         (64 hex digits)\n"
                   "  --key-id KEYID         the caller's signing key id, with --caller NAME\n"
                   "  --unauthenticated      a session without E2E caller identity\n"
                   "  --user USER            the user the client asks for\n"
                   "  --principal ID         the workspace principal id\n"
                   "  --device ID            the workspace device id\n"
                   "  --label KEY=VALUE      a server label (repeatable)\n"
                   "  --login-user USER      webttyd's --login-user (the rules' `default`)\n"
                   "  -v, --verbose          also show each rule tried before the deciding one and why\n"
                   "                         it did not match\n");
}

static int verb_check(int argc, char **argv) {
        _cleanup_(policy_freep) policy *p = NULL;
        _cleanup_free_ char *err = NULL;
        const char *path = POLICY_DEFAULT_PATH;
        size_t n;
        int r;

        if (argc > 2) {
                fprintf(stderr, "webtty policy check: too many arguments (expected at most one FILE)\n");
                return 2;
        }
        if (argc == 2 && argv[1][0] == '-') {
                fprintf(stderr, "webtty policy check: unknown option \"%s\"\n", argv[1]);
                return 2;
        }
        if (argc == 2)
                path = argv[1];
        r = policy_load(path, &p, &err);
        if (r < 0) {
                fprintf(stderr, "%s\n", err ? err : strerror(-r));
                return 1;
        }
        n = policy_rule_count(p);
        printf("%s: ok, %zu rule%s\n", path, n, n == 1 ? "" : "s");
        return 0;
}

static const char *kind_name(policy_user_kind k) {
        switch (k) {
        case POLICY_USER_FIXED:
                return "fixed";
        case POLICY_USER_TEMPLATE:
                return "template, provisioned into accounts.db";
        case POLICY_USER_REQUESTED:
                return "requested by the client";
        case POLICY_USER_DEFAULT:
                return "default login user";
        }
        return "?";
}

static int verb_explain(int argc, char **argv) {
        enum {
                OPT_POLICY = 0x100,
                OPT_CALLER,
                OPT_KEY_ID,
                OPT_UNAUTH,
                OPT_USER,
                OPT_PRINCIPAL,
                OPT_DEVICE,
                OPT_LABEL,
                OPT_LOGIN_USER,
                OPT_VERBOSE,
        };
        static const struct option longopts[] = {
                {"policy", required_argument, NULL, OPT_POLICY},
                {"caller", required_argument, NULL, OPT_CALLER},
                {"key-id", required_argument, NULL, OPT_KEY_ID},
                {"unauthenticated", no_argument, NULL, OPT_UNAUTH},
                {"user", required_argument, NULL, OPT_USER},
                {"principal", required_argument, NULL, OPT_PRINCIPAL},
                {"device", required_argument, NULL, OPT_DEVICE},
                {"label", required_argument, NULL, OPT_LABEL},
                {"login-user", required_argument, NULL, OPT_LOGIN_USER},
                {"verbose", no_argument, NULL, 'v'},
                {"help", no_argument, NULL, 'h'},
                {},
        };
        _cleanup_(policy_freep) policy *p = NULL;
        _cleanup_free_ char *err = NULL;
        const char *path = POLICY_DEFAULT_PATH, *caller_arg = NULL, *key_arg = NULL;
        const char *labels[LABELS_MAX + 1] = {};
        size_t n_labels = 0;
        bool unauth = false, have_key = false, verbose = false;
        uint8_t key[32] = {};
        policy_caller caller = {};
        policy_request req = {};
        policy_decision d;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) >= 0) {
                switch (c) {
                case OPT_POLICY:
                        path = optarg;
                        break;
                case OPT_CALLER:
                        caller_arg = optarg;
                        break;
                case OPT_KEY_ID:
                        key_arg = optarg;
                        break;
                case OPT_UNAUTH:
                        unauth = true;
                        break;
                case OPT_USER:
                        req.requested_user = optarg;
                        break;
                case OPT_PRINCIPAL:
                        caller.principal_id = optarg;
                        break;
                case OPT_DEVICE:
                        caller.device_id = optarg;
                        break;
                case OPT_LABEL:
                        if (!strchr(optarg, '=') || optarg[0] == '=') {
                                fprintf(stderr, "webtty policy explain: --label \"%s\" must be KEY=VALUE\n",
                                        optarg);
                                return 2;
                        }
                        if (n_labels == LABELS_MAX) {
                                fprintf(stderr, "webtty policy explain: more than %d --label options\n",
                                        LABELS_MAX);
                                return 2;
                        }
                        labels[n_labels++] = optarg;
                        break;
                case OPT_LOGIN_USER:
                        req.default_user = optarg;
                        break;
                case 'v':
                        verbose = true;
                        break;
                case 'h':
                        policy_help(stdout);
                        return 0;
                default:
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "webtty policy explain: unexpected argument \"%s\"\n", argv[optind]);
                return 2;
        }
        if (unauth && (caller_arg || key_arg || caller.principal_id || caller.device_id)) {
                fprintf(stderr, "webtty policy explain: --unauthenticated cannot be combined with --caller, "
                                "--key-id, --principal or --device\n");
                return 2;
        }
        if (!unauth && !caller_arg) {
                fprintf(stderr,
                        "webtty policy explain: --caller NAME|KEYID or --unauthenticated is required\n");
                return 2;
        }
        if (caller_arg && policy_parse_key_id(caller_arg, key) == 0) {
                if (key_arg) {
                        fprintf(stderr,
                                "webtty policy explain: --key-id needs --caller NAME, not a key id\n");
                        return 2;
                }
                have_key = true;
        } else if (caller_arg) {
                caller.client_name = caller_arg;
                if (key_arg) {
                        if (policy_parse_key_id(key_arg, key) < 0) {
                                fprintf(stderr,
                                        "webtty policy explain: --key-id \"%s\" must be 64 hex digits\n",
                                        key_arg);
                                return 2;
                        }
                        have_key = true;
                }
        }
        if (!unauth)
                caller.key_id = key;
        req.server_labels = n_labels ? labels : NULL;

        r = policy_load(path, &p, &err);
        if (r < 0) {
                fprintf(stderr, "%s\n", err ? err : strerror(-r));
                return 2;
        }
        if (!unauth && !have_key)
                printf("note: no key id given; key_id rules cannot match and {key_id} is all zeros\n");
        /* The rules tried before the deciding one, and why each did not fit. */
        for (size_t i = 0; verbose && i < policy_rule_count(p); i++) {
                policy_rule_info info;

                if (policy_rule_trace(p, i, &caller, &req, &info) < 0 || info.matches)
                        break;
                printf("skipped: %s (line %u): %s\n", info.name, info.line, info.why);
        }
        r = policy_decide(p, &caller, &req, &d);
        if (r < 0) {
                fprintf(stderr, "webtty policy explain: %s\n", d.reason[0] ? d.reason : strerror(-r));
                return 2;
        }
        if (d.rule[0])
                printf("rule: %s (line %u)\n", d.rule, d.rule_line);
        else
                printf("rule: none (default deny)\n");
        printf("decision: %s\n", d.allow ? "allow" : "deny");
        if (d.allow) {
                printf("user: %s (%s)\n", d.user, kind_name(d.kind));
                printf("sudo: %s\n", d.sudo ? "yes" : "no");
                if (d.kind == POLICY_USER_TEMPLATE) {
                        const policy_accounts *a = policy_get_accounts(p);
                        char home[POLICY_NAME_MAX], gecos[POLICY_NAME_MAX];
                        _cleanup_free_ char *aerr = NULL;

                        if (policy_account_fields(p, &caller, d.user, home, gecos, &aerr) < 0)
                                printf("account: %s\n", aerr ? aerr : "invalid home or gecos");
                        else
                                printf("account: uid from %u-%u, %s, home %s, shell %s, gecos \"%s\"\n",
                                       (unsigned) a->uid_min, (unsigned) a->uid_max,
                                       a->gid ? "fixed group" : "per-user group", home, a->shell, gecos);
                }
        }
        printf("reason: %s\n", d.reason);
        return d.allow ? 0 : 1;
}

/* `check --help` is help, not a file named "--help". */
static int policy_check(int argc, char **argv) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                policy_help(stdout);
                return 0;
        }
        return verb_check(argc, argv);
}

int verb_policy(int argc, char **argv) {
        static const output_subcommand cmds[] = {{"check", policy_check}, {"explain", verb_explain}};

        return output_subcommand_run("policy", argc, argv, cmds, ELEMENTSOF(cmds), policy_help);
}
