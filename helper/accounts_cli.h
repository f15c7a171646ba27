/* `webtty accounts`: see the verb's --help. Returns the process exit status. */
#pragma once

int verb_accounts(int argc, char **argv);
