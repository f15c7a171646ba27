/* Structured logging: to the journal when stderr is connected to it (or when
 * running under systemd), otherwise one line per record on stderr as
 * "ident: message key=value key=value".
 *
 * Contract: never pass terminal content, tokens or key material. Values that
 * come from a peer are capped at 200 bytes and control bytes are escaped. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

void wlog_init(const char *ident, int max_priority);
void wlog_set_journal(int enable); /* -1: auto (default), 0: stderr, 1: journal */

/* A record: message plus NULL-terminated key, value string pairs; a NULL
 * value skips the pair, so optional attributes can be passed unconditionally. */
void wlog_record(int priority, const char *message, ...) _sentinel_;
void wlog_recordv(int priority, const char *message, va_list ap);

/* A plain formatted line (start-up errors and the like). */
void wlog_printf(int priority, const char *fmt, ...) _printf_(2, 3);

/* Logs and returns r (a negative errno), like systemd's log_error_errno. */
int wlog_errno(int priority, int r, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) wlog_printf(LOG_ERR, __VA_ARGS__)
#define log_warning(...) wlog_printf(LOG_WARNING, __VA_ARGS__)
#define log_info(...) wlog_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) wlog_printf(LOG_DEBUG, __VA_ARGS__)
