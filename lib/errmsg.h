/* Human-readable error text carried next to a -errno return.
 *
 * The file modules (safefile, datadir, identity, truststore) return a
 * negative errno and, through a `char **ret_error` argument, the exact
 * user-facing message of host spec §11 / the reference. The caller owns the
 * string (free()). ret_error may be NULL when the caller only wants the code;
 * *ret_error is left NULL if formatting itself ran out of memory, in which
 * case the caller falls back to strerror(-r).
 *
 * Contract for every function taking ret_error: on success *ret_error is not
 * touched; on failure any previous *ret_error is freed and replaced. */
#pragma once

#include "macro.h"

/* Replaces *ret_error with the formatted text; returns r (a negative errno). */
int errmsg_set(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);

/* Turns *ret_error into "<formatted prefix>: <old text>" (old text: strerror(-r)
 * when there was none); returns r. */
int errmsg_prefix(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
