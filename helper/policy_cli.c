#include <stdio.h>

#include "policy_cli.h"

/* Placeholder until issue 5's policy work lands (replaced, not shipped). */
int verb_policy(int argc, char **argv) {
        (void) argc;
        (void) argv;
        fprintf(stderr, "webtty policy: not built yet\n");
        return 2;
}
