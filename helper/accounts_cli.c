#include <stdio.h>

#include "accounts_cli.h"

/* Placeholder until issue 5's accounts work lands (replaced, not shipped). */
int verb_accounts(int argc, char **argv) {
        (void) argc;
        (void) argv;
        fprintf(stderr, "webtty accounts: not built yet\n");
        return 2;
}
