/* `webtty identity create|show|list|remove` (host spec §1.7): local WebTTY
 * endpoint identities under DATA/webtty/identities or at --identity-file.
 *
 * Output is the reference CLI's, text or JSON (helper/output.h); errors are
 * printed as "webtty: <message>" with exit status 1 (2 for usage errors).
 * Deviations: invalid --output and --endpoint-identity with -o json are
 * refused before anything is created (the reference creates the identity
 * first); --suite standard|fips-compatible selects the suite of a new
 * identity (without it an existing identity of either suite is accepted). */
#pragma once

int verb_identity(int argc, char **argv);
