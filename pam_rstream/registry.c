/* The session registry: one JSON record per open login-mode session,
 * <registry>/<audit session id>, root 0600 in a root 0700 directory,
 * written atomically through safefile.h. The kernel audit session id ties
 * the record to every process of the session (it is inherited and cannot be
 * changed without CAP_AUDIT_CONTROL), the login uid and the opener's pid
 * plus start time make a stale record (opener gone, pid reused) useless. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errmsg.h"
#include "jsondoc.h"
#include "rstream.h"
#include "safefile.h"

#define RECORD_VERSION 1
#define RECORD_LABEL "rstream session record"
#define RECORD_TMP_PREFIX ".rstream-session-"
#define RECORD_PREFIX "decode rstream session record"

static const jsondoc_field record_fields[] = {
        {"version", JSONDOC_INT, "int"},
        {"audit_session", JSONDOC_INT, "uint32"},
        {"loginuid", JSONDOC_INT, "uint32"},
        {"caller", JSONDOC_STRING, "string"},
        {"key_id", JSONDOC_STRING, "string"},
        {"principal_id", JSONDOC_STRING, "string"},
        {"device_id", JSONDOC_STRING, "string"},
        {"user", JSONDOC_STRING, "string"},
        {"uid", JSONDOC_INT, "uint32"},
        {"sudo", JSONDOC_INT, "int"},
        {"rule", JSONDOC_STRING, "string"},
        {"session_id", JSONDOC_STRING, "string"},
        {"server_id", JSONDOC_STRING, "string"},
        {"requested_user", JSONDOC_STRING, "string"},
        {"default_user", JSONDOC_STRING, "string"},
        {"server_labels", JSONDOC_STRING, "string"},
        {"opener_pid", JSONDOC_INT, "int"},
        {"opener_start_time", JSONDOC_INT, "uint64"},
        {"opened_at", JSONDOC_TIME, "time.Time"},
};

void rstream_record_done(rstream_record *r) {
        if (!r)
                return;
        free(r->caller);
        free(r->key_id);
        free(r->principal_id);
        free(r->device_id);
        free(r->user);
        free(r->rule);
        free(r->session_id);
        free(r->server_id);
        free(r->requested_user);
        free(r->default_user);
        free(r->server_labels);
        free(r->opened_at);
        *r = (rstream_record){};
}

/* The record's path, after checking that dir is the root-owned private
 * directory it must be (created when create is set). */
static int record_path(const char *dir, uint32_t audit_session, bool create, char **ret, char **ret_error) {
        _cleanup_close_ int dfd = -1;
        int k;

        k = rstream_open_private_dir(dir, "session registry", create, &dfd, ret_error);
        if (k < 0)
                return k;
        if (asprintf(ret, "%s/%" PRIu32, dir, audit_session) < 0) {
                *ret = NULL;
                return errmsg_set(ret_error, -ENOMEM, "out of memory");
        }
        return 0;
}

static int format_record(const rstream_record *r, char **ret, size_t *ret_len) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        char opened[32] = "";
        struct tm tm;
        time_t now = time(NULL);

        if (!o)
                return -ENOMEM;
        if (!gmtime_r(&now, &tm) || strftime(opened, sizeof(opened), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        if (r->opener_start_time > INT64_MAX)
                return -ERANGE;
        if (jsondoc_add_int(o, "version", RECORD_VERSION) < 0 ||
            jsondoc_add_int(o, "audit_session", r->audit_session) < 0 ||
            jsondoc_add_int(o, "loginuid", r->loginuid) < 0 ||
            jsondoc_add_string(o, "caller", r->caller) < 0 ||
            jsondoc_add_string(o, "key_id", r->key_id) < 0 ||
            jsondoc_add_string(o, "principal_id", r->principal_id) < 0 ||
            jsondoc_add_string(o, "device_id", r->device_id) < 0 ||
            jsondoc_add_string(o, "user", r->user) < 0 || jsondoc_add_int(o, "uid", r->uid) < 0 ||
            jsondoc_add_int(o, "sudo", r->sudo ? 1 : 0) < 0 || jsondoc_add_string(o, "rule", r->rule) < 0 ||
            jsondoc_add_string(o, "session_id", r->session_id) < 0 ||
            jsondoc_add_string(o, "server_id", r->server_id) < 0 ||
            jsondoc_add_string(o, "requested_user", r->requested_user) < 0 ||
            jsondoc_add_string(o, "default_user", r->default_user) < 0 ||
            jsondoc_add_string(o, "server_labels", r->server_labels) < 0 ||
            jsondoc_add_int(o, "opener_pid", r->opener_pid) < 0 ||
            jsondoc_add_int(o, "opener_start_time", (int64_t) r->opener_start_time) < 0 ||
            jsondoc_add_string(o, "opened_at", opened) < 0)
                return -ENOMEM;
        return jsondoc_format(o, false, ret, ret_len);
}

int rstream_registry_write(const char *dir, const rstream_record *r, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        char *text = NULL;
        size_t len = 0;
        int k;

        k = record_path(dir, r->audit_session, true, &path, ret_error);
        if (k < 0)
                return k;
        if (format_record(r, &text, &len) < 0)
                return errmsg_set(ret_error, -ENOMEM, "out of memory");
        k = safefile_write(path, RECORD_TMP_PREFIX, text, len, ret_error);
        jsondoc_free_text(text, len, false);
        return k;
}

static int dup_field(json_object *o, const char *key, char **ret) {
        *ret = strdup(jsondoc_get_string(o, key));
        return *ret ? 0 : -ENOMEM;
}

static int decode_record(const uint8_t *data, size_t len, const char *path, rstream_record *ret,
                         char **ret_error) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_free_ char *prefix = NULL;
        rstream_record r = {};
        int64_t v;
        int k;

        if (asprintf(&prefix, RECORD_PREFIX " %s", path) < 0)
                return -ENOMEM;
        k = jsondoc_parse(data, len, prefix, &o, ret_error);
        if (k < 0)
                return k;
        k = jsondoc_check_object(o, "rstream.SessionRecord", "SessionRecord", record_fields,
                                 ELEMENTSOF(record_fields), prefix, ret_error);
        if (k < 0)
                return k;
        if (!json_object_is_type(o, json_type_object))
                return errmsg_set(ret_error, -EBADMSG, "%s: not an object", prefix);
        if (jsondoc_get_int(o, "version") != RECORD_VERSION)
                return errmsg_set(ret_error, -EBADMSG, "%s: unsupported version %" PRIi64, prefix,
                                  jsondoc_get_int(o, "version"));

#define U32_FIELD(name, dst)                                                                                \
        do {                                                                                                \
                v = jsondoc_get_int(o, name);                                                               \
                if (v < 0 || v > (int64_t) UINT32_MAX)                                                      \
                        return errmsg_set(ret_error, -EBADMSG, "%s: %s out of range", prefix, name);        \
                dst = (uint32_t) v;                                                                         \
        } while (0)
        U32_FIELD("audit_session", r.audit_session);
        U32_FIELD("loginuid", r.loginuid);
        U32_FIELD("uid", r.uid);
#undef U32_FIELD
        v = jsondoc_get_int(o, "sudo");
        if (v != 0 && v != 1)
                return errmsg_set(ret_error, -EBADMSG, "%s: sudo must be 0 or 1", prefix);
        r.sudo = v == 1;
        r.opener_pid = jsondoc_get_int(o, "opener_pid");
        if (r.opener_pid <= 0)
                return errmsg_set(ret_error, -EBADMSG, "%s: opener_pid out of range", prefix);
        v = jsondoc_get_int(o, "opener_start_time");
        if (v < 0)
                return errmsg_set(ret_error, -EBADMSG, "%s: opener_start_time out of range", prefix);
        r.opener_start_time = (uint64_t) v;

        if (dup_field(o, "caller", &r.caller) < 0 || dup_field(o, "key_id", &r.key_id) < 0 ||
            dup_field(o, "principal_id", &r.principal_id) < 0 ||
            dup_field(o, "device_id", &r.device_id) < 0 || dup_field(o, "user", &r.user) < 0 ||
            dup_field(o, "rule", &r.rule) < 0 || dup_field(o, "session_id", &r.session_id) < 0 ||
            dup_field(o, "server_id", &r.server_id) < 0 ||
            dup_field(o, "requested_user", &r.requested_user) < 0 ||
            dup_field(o, "default_user", &r.default_user) < 0 ||
            dup_field(o, "server_labels", &r.server_labels) < 0 ||
            dup_field(o, "opened_at", &r.opened_at) < 0) {
                rstream_record_done(&r);
                return errmsg_set(ret_error, -ENOMEM, "out of memory");
        }
        if (r.user[0] == '\0') {
                rstream_record_done(&r);
                return errmsg_set(ret_error, -EBADMSG, "%s: user is empty", prefix);
        }
        *ret = r;
        return 0;
}

int rstream_registry_read(const char *dir, uint32_t audit_session, rstream_record *ret, char **ret_error) {
        _cleanup_free_ char *path = NULL;
        uint8_t *data = NULL;
        size_t len = 0;
        int k;

        k = record_path(dir, audit_session, false, &path, ret_error);
        if (k < 0)
                return k;
        k = safefile_read(path, RECORD_LABEL, &data, &len, ret_error);
        if (k < 0)
                return k;
        k = decode_record(data, len, path, ret, ret_error);
        safefile_buffer_free(data, len);
        if (k >= 0 && ret->audit_session != audit_session) {
                rstream_record_done(ret);
                return errmsg_set(ret_error, -EBADMSG,
                                  RECORD_PREFIX " %s: audit_session does not match the name", path);
        }
        return k;
}

int rstream_registry_remove(const char *dir, uint32_t audit_session, int64_t pid, uint64_t start_time,
                            char **ret_error) {
        _cleanup_(safefile_lock_releasep) safefile_lock *lock = NULL;
        _cleanup_free_ char *path = NULL;
        rstream_record r = {};
        uint8_t *data = NULL;
        size_t len = 0;
        int k;

        k = record_path(dir, audit_session, false, &path, ret_error);
        if (k < 0)
                return k;
        k = safefile_lock_acquire(path, &lock, ret_error);
        if (k < 0)
                return k;
        k = safefile_lock_read(lock, RECORD_LABEL, &data, &len, ret_error);
        if (k < 0)
                return k;
        k = decode_record(data, len, path, &r, ret_error);
        safefile_buffer_free(data, len);
        if (k < 0)
                return k;
        if (r.opener_pid != pid || r.opener_start_time != start_time) {
                k = errmsg_set(ret_error, -EPERM,
                               "%s belongs to opener pid %" PRIi64 ", not to pid %" PRIi64, path,
                               r.opener_pid, pid);
                rstream_record_done(&r);
                return k;
        }
        rstream_record_done(&r);
        return safefile_lock_remove(lock, ret_error);
}

static bool audit_name(const char *s, uint32_t *ret) {
        uint64_t v = 0;
        size_t i;

        for (i = 0; s[i]; i++) {
                if (s[i] < '0' || s[i] > '9' || i >= 10)
                        return false;
                v = v * 10 + (uint64_t) (s[i] - '0');
        }
        if (i == 0 || v >= RSTREAM_AUDIT_UNSET)
                return false;
        *ret = (uint32_t) v;
        return true;
}

unsigned rstream_registry_prune(const char *dir, uint32_t keep) {
        _cleanup_close_ int dfd = -1;
        unsigned scanned = 0, removed = 0;
        struct dirent *de;
        DIR *d;

        if (rstream_open_private_dir(dir, "session registry", false, &dfd, NULL) < 0)
                return 0;
        d = fdopendir(dfd);
        if (!d)
                return 0;
        dfd = -1; /* owned by d now */
        while (scanned < RSTREAM_REGISTRY_SCAN_MAX && removed < RSTREAM_REGISTRY_PRUNE_MAX &&
               (de = readdir(d))) {
                rstream_record r = {};
                uint32_t id;
                uint64_t start = 0;
                int k;

                if (!audit_name(de->d_name, &id) || id == keep)
                        continue;
                scanned++;
                /* Unreadable records stay: only a record that names a dead
                 * opener is provably stale. remove() re-checks the opener
                 * under the lock. */
                if (rstream_registry_read(dir, id, &r, NULL) < 0)
                        continue;
                k = rstream_proc_start_time((pid_t) r.opener_pid, &start);
                if ((k == -ESRCH || (k >= 0 && start != r.opener_start_time)) &&
                    rstream_registry_remove(dir, id, r.opener_pid, r.opener_start_time, NULL) >= 0)
                        removed++;
                rstream_record_done(&r);
        }
        closedir(d);
        return removed;
}
