/* `webtty policy`: see the verb's --help. Returns the process exit status. */
#pragma once

int verb_policy(int argc, char **argv);
