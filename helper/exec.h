/* `webtty exec`: runs one command on a WebTTY server and mirrors its
 * stdin/stdout/stderr and exit status (host spec 5.7 mapping). */
#pragma once

int verb_exec(int argc, char **argv);
