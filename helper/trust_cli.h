/* The trust-store verbs (host spec §2):
 *
 *   webtty authorized-client add [NAME] --key KEY | list | remove NAME
 *       with --identity NAME | --server-id ID | --identity-file FILE |
 *       --authorized-clients-file FILE to pick the server's store
 *       (datadir_authorized_clients_file()), -o text|json
 *   webtty known-server add NAME --key KEY [--client-identity ID] | list |
 *       set-identity NAME --identity ID | remove NAME
 *       with --known-servers-file FILE, -o text|json
 *
 * Output is the reference CLI's, text or JSON (helper/output.h); errors are
 * printed as "webtty: <message>" with exit status 1 (2 for usage errors). */
#pragma once

int verb_authorized_client(int argc, char **argv);
int verb_known_server(int argc, char **argv);
