/* Text/JSON output of the file verbs (see output.h). */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errmsg.h"
#include "jsondoc.h"
#include "trimspace.h"

int output_mode_parse(const char *value, output_mode *ret, char **ret_error) {
        size_t off, len;

        trim_space(value, strlen(value), &off, &len);
        if (len == 4 && strncasecmp(value + off, "text", 4) == 0) {
                *ret = OUTPUT_TEXT;
                return 0;
        }
        if (len == 4 && strncasecmp(value + off, "json", 4) == 0) {
                *ret = OUTPUT_JSON;
                return 0;
        }
        return errmsg_set(ret_error, -EINVAL, "invalid --output \"%s\" (valid: [text json])", value);
}

int output_add(json_object *o, const char *key, json_object *v) {
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int output_json_list(const char *key, size_t n, json_object *(*item)(size_t i, void *userdata),
                     void *userdata) {
        _cleanup_(json_object_putp) json_object *j = json_object_new_object();
        json_object *arr = json_object_new_array();
        int r;

        r = j && arr ? output_add(j, key, arr) : -ENOMEM;
        if (!j)
                json_object_put(arr);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_object *v = item(i, userdata);

                if (!v || json_object_array_add(arr, v) < 0) {
                        json_object_put(v);
                        r = -ENOMEM;
                }
        }
        return r < 0 ? r : output_json(j);
}

int output_add_string(json_object *o, const char *key, const char *value) {
        return jsondoc_add_string(o, key, value);
}

int output_json(json_object *o) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = jsondoc_format(o, false, &text, &len);
        if (r < 0)
                return r;
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
                return -EIO;
        return 0;
}

int output_fail(int r, const char *message) {
        fprintf(stderr, "webtty: %s\n", message ? message : strerror(r < 0 ? -r : r));
        return 1;
}

int output_subcommand_run(const char *verb, int argc, char **argv, const output_subcommand *cmds, size_t n,
                          void (*help)(FILE *f)) {
        if (argc < 2) {
                help(stderr);
                return 2;
        }
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
                help(stdout);
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                if (strcmp(argv[1], cmds[i].name) == 0)
                        return cmds[i].run(argc - 1, argv + 1);
        fprintf(stderr, "webtty %s: unknown command \"%s\" (expected ", verb, argv[1]);
        for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", cmds[i].name);
        fprintf(stderr, ")\n");
        return 2;
}
