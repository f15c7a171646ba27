/* Structured logging to the journal or stderr (see log.h). */
#include "log.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <systemd/sd-journal.h>

#define LOG_VALUE_MAX 200 /* cap for peer-influenced values, as sshd does */
#define LOG_MAX_FIELDS 40

static const char *log_ident = "webtty";
static int log_max_priority = LOG_INFO;
static int log_journal = -1;

void wlog_init(const char *ident, int max_priority) {
        log_ident = ident;
        log_max_priority = max_priority;
}

void wlog_set_journal(int enable) {
        log_journal = enable;
}

/* systemd sets JOURNAL_STREAM=dev:inode when stderr is the journal. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

static bool use_journal(void) {
        if (log_journal < 0)
                log_journal = stderr_is_journal();
        return log_journal > 0;
}

/* Copies v into out (size LOG_VALUE_MAX*4+4), escaping control bytes and
 * capping the length; quotes it when it has spaces, for key=value lines. */
static void escape_value(const char *v, char *out, size_t outlen, bool quote) {
        size_t o = 0, i;
        bool needs_quote = quote && (v[0] == '\0' || strpbrk(v, " \t\"=") != NULL);

        if (needs_quote)
                out[o++] = '"';
        for (i = 0; v[i] && i < LOG_VALUE_MAX && o + 6 < outlen; i++) {
                unsigned char c = (unsigned char) v[i];
                if (c < 0x20 || c == 0x7f || (needs_quote && (c == '"' || c == '\\')))
                        o += (size_t) snprintf(out + o, outlen - o,
                                               c == '"' || c == '\\' ? "\\%c" : "\\x%02x", c);
                else
                        out[o++] = (char) c;
        }
        if (v[i] && o + 4 < outlen)
                o += (size_t) snprintf(out + o, outlen - o, "...");
        if (needs_quote)
                out[o++] = '"';
        out[o] = '\0';
}

static void record_to_journal(int priority, const char *message, va_list ap) {
        struct iovec iov[LOG_MAX_FIELDS + 3];
        char bufs[LOG_MAX_FIELDS + 3][LOG_VALUE_MAX * 4 + 80];
        size_t n = 0;
        const char *k;

        snprintf(bufs[n], sizeof(bufs[n]), "MESSAGE=%s", message);
        n++;
        snprintf(bufs[n], sizeof(bufs[n]), "PRIORITY=%d", priority);
        n++;
        snprintf(bufs[n], sizeof(bufs[n]), "SYSLOG_IDENTIFIER=%s", log_ident);
        n++;
        while ((k = va_arg(ap, const char *)) && n < ELEMENTSOF(bufs)) {
                const char *v = va_arg(ap, const char *);
                char val[LOG_VALUE_MAX * 4 + 8];
                size_t j, off;
                if (!v)
                        continue;
                off = 0;
                for (j = 0; k[j] && off < 60; j++)
                        bufs[n][off++] = (char) toupper((unsigned char) k[j]);
                bufs[n][off++] = '=';
                escape_value(v, val, sizeof(val), false);
                snprintf(bufs[n] + off, sizeof(bufs[n]) - off, "%s", val);
                n++;
        }
        for (size_t i = 0; i < n; i++)
                iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = strlen(bufs[i])};
        (void) sd_journal_sendv(iov, (int) n);
}

static void record_to_stderr(int priority, const char *message, va_list ap) {
        char line[4096];
        size_t o;
        const char *k;

        o = (size_t) snprintf(line, sizeof(line), "%s: %s", log_ident, message);
        while ((k = va_arg(ap, const char *))) {
                const char *v = va_arg(ap, const char *);
                char val[LOG_VALUE_MAX * 4 + 8];
                if (!v || o >= sizeof(line))
                        continue;
                escape_value(v, val, sizeof(val), true);
                o += (size_t) snprintf(line + o, sizeof(line) - o, " %s=%s", k, val);
        }
        if (o >= sizeof(line))
                o = sizeof(line) - 1;
        line[o] = '\n';
        (void) !fwrite(line, 1, o + 1, stderr);
}

void wlog_recordv(int priority, const char *message, va_list ap) {
        if (priority > log_max_priority)
                return;
        if (use_journal())
                record_to_journal(priority, message, ap);
        else
                record_to_stderr(priority, message, ap);
}

void wlog_record(int priority, const char *message, ...) {
        va_list ap;
        va_start(ap, message);
        wlog_recordv(priority, message, ap);
        va_end(ap);
}

void wlog_printf(int priority, const char *fmt, ...) {
        char buf[2048];
        va_list ap;

        if (priority > log_max_priority)
                return;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        wlog_record(priority, buf, NULL);
}

int wlog_errno(int priority, int r, const char *fmt, ...) {
        char buf[2048];
        va_list ap;
        int saved = errno;

        va_start(ap, fmt);
        errno = r < 0 ? -r : r;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        errno = saved;
        wlog_record(priority, buf, NULL);
        return r < 0 ? r : -r;
}
