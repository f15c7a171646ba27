/* Error text next to -errno returns (see errmsg.h). */
#include "errmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int errmsg_set(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *s = NULL;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = s;
        return r;
}

int errmsg_prefix(char **ret_error, int r, const char *fmt, ...) {
        _cleanup_free_ char *prefix = NULL;
        va_list ap;
        char *s = NULL;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&prefix, fmt, ap) < 0)
                prefix = NULL;
        va_end(ap);
        if (prefix && asprintf(&s, "%s: %s", prefix, *ret_error ? *ret_error : strerror(r < 0 ? -r : r)) < 0)
                s = NULL;
        free(*ret_error);
        *ret_error = s;
        return r;
}
