/* webtty: the command-line tool (client side and, later, file helpers). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <sodium.h>
#include <sys/prctl.h>

#include "accounts_cli.h"
#include "exec.h"
#include "identity_cli.h"
#include "policy_cli.h"
#include "trust_cli.h"

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *help;
} verbs[] = {
        {"exec", verb_exec, "run a command on a WebTTY server"},
        {"identity", verb_identity, "manage local WebTTY endpoint identities"},
        {"authorized-client", verb_authorized_client, "manage the clients a server identity authorizes"},
        {"known-server", verb_known_server, "manage the server identities this client trusts"},
        {"policy", verb_policy, "check the login policy and explain its decisions"},
        {"accounts", verb_accounts, "manage the accounts nss_rstream resolves"},
};

static void usage(FILE *f) {
        fprintf(f, "Usage: webtty COMMAND [OPTIONS]\n\nCommands:\n");
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                fprintf(f, "  %-18s %s\n", verbs[i].name, verbs[i].help);
        fprintf(f, "\nRun 'webtty COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv) {
        if (sodium_init() < 0) {
                fprintf(stderr, "webtty: libsodium initialisation failed\n");
                return 1;
        }
        /* Private keys pass through this process: no core dumps, and OpenSSL's
         * copies in its locked secure heap where one can be had. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        (void) CRYPTO_secure_malloc_init(64 * 1024, 32);
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage(stdout);
                return 0;
        }
        if (strcmp(argv[1], "--version") == 0) {
                printf("webtty %s\n", PACKAGE_VERSION);
                return 0;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(argv[1], verbs[i].name) == 0)
                        return verbs[i].run(argc - 1, argv + 1);
        fprintf(stderr, "webtty: unknown command \"%s\"\n", argv[1]);
        usage(stderr);
        return 2;
}
