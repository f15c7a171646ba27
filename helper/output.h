/* Output for the file verbs (identity, authorized-client, known-server):
 * text lines, or JSON exactly as the reference CLI prints it (Go
 * json.MarshalIndent of a map: keys in byte order, two-space indentation,
 * one trailing newline), built with json-c. */
#pragma once

#include <stdio.h>

#include <json-c/json.h>

#include "macro.h"

typedef enum output_mode {
        OUTPUT_TEXT,
        OUTPUT_JSON,
} output_mode;

/* -o/--output: "text" or "json" (trimmed, case-insensitive); anything else is
 * "invalid --output \"<v>\" (valid: [text json])" (-EINVAL, message in
 * *ret_error). YAML, which the reference also offers, is not supported. */
int output_mode_parse(const char *value, output_mode *ret, char **ret_error);

/* Adds key: value (a string; NULL prints as ""). -ENOMEM on failure. */
int output_add_string(json_object *o, const char *key, const char *value);
/* Adds key: v, taking v (NULL -> JSON null). */
int output_add(json_object *o, const char *key, json_object *v);

/* Writes o to stdout as described above; -EIO when stdout fails. */
int output_json(json_object *o);

/* Writes {"key": [item(0), ..., item(n - 1)]} to stdout; item returns a new
 * object, or NULL when out of memory. 0, -ENOMEM or -EIO. */
int output_json_list(const char *key, size_t n, json_object *(*item)(size_t i, void *userdata),
                     void *userdata);

/* Prints "webtty: <message>" (or strerror(-r)) to stderr; returns 1, the exit
 * status of a failed file verb. */
int output_fail(int r, const char *message);

/* One `webtty <verb>` subcommand. */
typedef struct output_subcommand {
        const char *name;
        int (*run)(int argc, char **argv); /* argv[0] is the subcommand */
} output_subcommand;

/* Runs the subcommand named by argv[1]: help(stdout) and 0 for -h, --help
 * or help; help(stderr) and 2 without one; for an unknown one
 * "webtty <verb>: unknown command "<x>" (expected a, b or c)" and 2. */
int output_subcommand_run(const char *verb, int argc, char **argv, const output_subcommand *cmds, size_t n,
                          void (*help)(FILE *f));
