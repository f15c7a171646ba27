/* The built libnss_rstream.so.2: loaded with dlopen and called directly
 * (every entry point, every status, threads doing lookups while the file is
 * replaced), then through glibc's own getpwnam/getgrouplist via nss_wrapper
 * in child processes, and its NEEDED entries (libc only). Each test runs in
 * its own forked process (Check's default), so the module starts fresh. */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "accountsdb.h"
#include "files-util.h"

#ifndef MODULE
#define MODULE BUILDDIR "/nss_rstream/.libs/libnss_rstream.so.2"
#endif

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getpwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getgrnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*getgrgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*setent_fn)(int);
typedef enum nss_status (*endent_fn)(void);
typedef enum nss_status (*getpwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*getgrent_fn)(struct group *, char *, size_t, int *);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long *, long *, gid_t **, long, int *);

static struct {
        void *h;
        getpwnam_fn getpwnam;
        getpwuid_fn getpwuid;
        getgrnam_fn getgrnam;
        getgrgid_fn getgrgid;
        setent_fn setpwent, setgrent;
        endent_fn endpwent, endgrent;
        getpwent_fn getpwent;
        getgrent_fn getgrent;
        initgroups_fn initgroups;
} m;

static char *dir, *db_path;

static void *sym(const char *name) {
        void *p = dlsym(m.h, name);

        ck_assert_msg(p != NULL, "%s: %s", name, dlerror());
        return p;
}

static void load_module(void) {
        m.h = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
        ck_assert_msg(m.h != NULL, "dlopen %s: %s", MODULE, dlerror());
        m.getpwnam = (getpwnam_fn) sym("_nss_rstream_getpwnam_r");
        m.getpwuid = (getpwuid_fn) sym("_nss_rstream_getpwuid_r");
        m.getgrnam = (getgrnam_fn) sym("_nss_rstream_getgrnam_r");
        m.getgrgid = (getgrgid_fn) sym("_nss_rstream_getgrgid_r");
        m.setpwent = (setent_fn) sym("_nss_rstream_setpwent");
        m.setgrent = (setent_fn) sym("_nss_rstream_setgrent");
        m.endpwent = (endent_fn) sym("_nss_rstream_endpwent");
        m.endgrent = (endent_fn) sym("_nss_rstream_endgrent");
        m.getpwent = (getpwent_fn) sym("_nss_rstream_getpwent_r");
        m.getgrent = (getgrent_fn) sym("_nss_rstream_getgrent_r");
        m.initgroups = (initgroups_fn) sym("_nss_rstream_initgroups_dyn");
        /* The reader's own symbols stay private. */
        ck_assert_ptr_null(dlsym(m.h, "accountsdb_open"));
}

static void setup(void) {
        dir = scratch_dir();
        db_path = join(dir, "accounts.db");
        ck_assert_int_eq(setenv("NSS_RSTREAM_ACCOUNTSDB", db_path, 1), 0);
        load_module();
}

static void teardown(void) {
        if (m.h)
                dlclose(m.h);
        m.h = NULL;
        scratch_remove(dir);
        free(db_path);
        dir = db_path = NULL;
}

/* Writes a database with users u0..u(n-1) (uid base+i, gecos tag), per-user
 * groups, and "staff" (gid 250000: u1, u3) / "dev" (250001: u1), atomically
 * (temp file + rename, not our writer: no stale mark on the old file). */
static void write_db_tagged(const char *path, size_t n, uint32_t base, const char *tag, bool with_groups) {
        accountsdb_set s = {};
        char *err = NULL, *tmp = NULL;
        void *data = NULL;
        size_t len;
        FILE *f;

        for (size_t i = 0; i < n; i++) {
                char name[32], home[64];

                snprintf(name, sizeof(name), "u%zu", i);
                snprintf(home, sizeof(home), "/home/u%zu", i);
                accountsdb_user u = {.name = name,
                                     .uid = base + (uint32_t) i,
                                     .gid = base + (uint32_t) i,
                                     .gecos = tag,
                                     .home = home,
                                     .shell = "/bin/bash"};
                ck_assert_int_eq(accountsdb_set_add_user(&s, &u, true, ACCOUNTSDB_FORCE, &err), 0);
        }
        if (with_groups) {
                static const char *const staff[] = {"u1", "u3"}, *const dev[] = {"u1"};
                ck_assert_int_eq(accountsdb_set_add_group(&s, "staff", 250000, staff, 2, NULL), 0);
                ck_assert_int_eq(accountsdb_set_add_group(&s, "dev", 250001, dev, 1, NULL), 0);
        }
        ck_assert_int_eq(accountsdb_serialize(&s, &data, &len, &err), 0);
        ck_assert_int_ge(asprintf(&tmp, "%s.tmp", path), 0);
        f = fopen(tmp, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(rename(tmp, path), 0);
        free(tmp);
        free(data);
        accountsdb_set_done(&s);
}

static void write_db(size_t n) {
        write_db_tagged(db_path, n, 300000, "tag", true);
}

START_TEST(test_passwd_lookups) {
        struct passwd pw;
        char buf[1024];
        int e = 0;

        write_db(10);
        ck_assert_int_eq(m.getpwnam("u3", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_str_eq(pw.pw_name, "u3");
        ck_assert_str_eq(pw.pw_passwd, "*");
        ck_assert_uint_eq(pw.pw_uid, 300003);
        ck_assert_uint_eq(pw.pw_gid, 300003);
        ck_assert_str_eq(pw.pw_gecos, "tag");
        ck_assert_str_eq(pw.pw_dir, "/home/u3");
        ck_assert_str_eq(pw.pw_shell, "/bin/bash");
        ck_assert(pw.pw_name >= buf && pw.pw_name < buf + sizeof(buf)); /* strings in the caller's buffer */
        ck_assert_int_eq(m.getpwuid(300007, &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_str_eq(pw.pw_name, "u7");

        e = 0;
        errno = 1234;
        ck_assert_int_eq(m.getpwnam("nosuch", &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
        ck_assert_int_eq(e, ENOENT);
        ck_assert_int_eq(errno, 1234); /* errno untouched */
        e = 0;
        ck_assert_int_eq(m.getpwuid(300010, &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
        ck_assert_int_eq(e, ENOENT);
        ck_assert_int_eq(m.getpwnam(NULL, &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
        ck_assert_int_eq(
                m.getpwnam("a-very-long-name-that-no-database-can-hold-at-all", &pw, buf, sizeof(buf), &e),
                NSS_STATUS_NOTFOUND);
}
END_TEST

START_TEST(test_erange) {
        struct passwd pw;
        struct group gr;
        char buf[256];
        int e;

        write_db(10);
        for (size_t n = 0; n < 31; n++) { /* u3 needs 3+2+4+9+10 = 28 bytes */
                e = 0;
                enum nss_status s = m.getpwnam("u3", &pw, buf, n, &e);

                if (n < 28) {
                        ck_assert_int_eq(s, NSS_STATUS_TRYAGAIN);
                        ck_assert_int_eq(e, ERANGE);
                } else
                        ck_assert_int_eq(s, NSS_STATUS_SUCCESS);
        }
        e = 0;
        ck_assert_int_eq(m.getgrnam("staff", &gr, buf, 8, &e), NSS_STATUS_TRYAGAIN);
        ck_assert_int_eq(e, ERANGE);
        ck_assert_int_eq(m.getgrgid(250000, &gr, buf, 8, &e), NSS_STATUS_TRYAGAIN);
        ck_assert_int_eq(m.getpwuid(300003, &pw, buf, 5, &e), NSS_STATUS_TRYAGAIN);
}
END_TEST

START_TEST(test_group_lookups) {
        struct group gr;
        char buf[1024];
        int e = 0;

        write_db(10);
        ck_assert_int_eq(m.getgrnam("staff", &gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_uint_eq(gr.gr_gid, 250000);
        ck_assert_str_eq(gr.gr_passwd, "*");
        ck_assert_str_eq(gr.gr_mem[0], "u1");
        ck_assert_str_eq(gr.gr_mem[1], "u3");
        ck_assert_ptr_null(gr.gr_mem[2]);
        ck_assert_int_eq(m.getgrgid(300004, &gr, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_str_eq(gr.gr_name, "u4");
        ck_assert_ptr_null(gr.gr_mem[0]);
        ck_assert_int_eq(m.getgrnam("nogroup-here", &gr, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
        ck_assert_int_eq(e, ENOENT);
        ck_assert_int_eq(m.getgrgid(1, &gr, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
}
END_TEST

START_TEST(test_enumeration) {
        struct passwd pw;
        struct group gr;
        char buf[1024];
        int e = 0, n = 0;

        write_db(5);
        ck_assert_int_eq(m.setpwent(0), NSS_STATUS_SUCCESS);
        /* A too-small buffer does not advance the cursor. */
        ck_assert_int_eq(m.getpwent(&pw, buf, 4, &e), NSS_STATUS_TRYAGAIN);
        ck_assert_int_eq(e, ERANGE);
        while (m.getpwent(&pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS) {
                char want[16];

                snprintf(want, sizeof(want), "u%d", n);
                ck_assert_str_eq(pw.pw_name, want);
                n++;
        }
        ck_assert_int_eq(n, 5);
        ck_assert_int_eq(e, ENOENT);
        ck_assert_int_eq(m.endpwent(), NSS_STATUS_SUCCESS);
        ck_assert_int_eq(m.setpwent(1), NSS_STATUS_SUCCESS);
        ck_assert_int_eq(m.getpwent(&pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_str_eq(pw.pw_name, "u0");
        m.endpwent();

        n = 0;
        ck_assert_int_eq(m.setgrent(0), NSS_STATUS_SUCCESS);
        while (m.getgrent(&gr, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS)
                n++;
        ck_assert_int_eq(n, 7); /* 5 per-user groups, staff, dev */
        ck_assert_str_eq(gr.gr_name, "dev");
        m.endgrent();
}
END_TEST

START_TEST(test_initgroups) {
        long start = 1, size = 1;
        gid_t *groups = malloc(sizeof(gid_t));
        int e = 0;

        write_db(10);
        groups[0] = 300001; /* the primary group glibc puts first */
        ck_assert_int_eq(m.initgroups("u1", 300001, &start, &size, &groups, 0, &e), NSS_STATUS_SUCCESS);
        ck_assert_int_eq(start, 3); /* grown from size 1 */
        ck_assert_int_ge(size, 3);
        ck_assert(groups[1] != groups[2]);
        ck_assert(groups[1] == 250000 || groups[1] == 250001);
        ck_assert(groups[2] == 250000 || groups[2] == 250001);
        /* Already listed groups are not repeated. */
        ck_assert_int_eq(m.initgroups("u1", 300001, &start, &size, &groups, 0, &e), NSS_STATUS_SUCCESS);
        ck_assert_int_eq(start, 3);
        /* The limit stops growth. */
        start = size = 1;
        ck_assert_int_eq(m.initgroups("u1", 300001, &start, &size, &groups, 2, &e), NSS_STATUS_SUCCESS);
        ck_assert_int_eq(start, 2);
        ck_assert_int_le(size, 2);
        /* The primary group given is skipped (still a member: SUCCESS). */
        start = 1;
        ck_assert_int_eq(m.initgroups("u3", 250000, &start, &size, &groups, 0, &e), NSS_STATUS_SUCCESS);
        ck_assert_int_eq(start, 1);
        ck_assert_int_eq(m.initgroups("u4", 300004, &start, &size, &groups, 0, &e), NSS_STATUS_NOTFOUND);
        ck_assert_int_eq(e, ENOENT);
        free(groups);
}
END_TEST

START_TEST(test_missing_and_corrupt) {
        struct passwd pw;
        char buf[1024];
        int e = 0;

        /* No file: UNAVAIL like nss_files for a missing /etc/passwd. */
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
        ck_assert_int_eq(e, ENOENT);
        /* Created: seen at the next call (no negative caching). */
        write_db(3);
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);

        /* Replaced by a truncated copy: UNAVAIL, not an answer from the old
         * mapping, and no crash (checked again after the recheck interval). */
        {
                struct stat st;
                char *tmp = join(dir, "t");

                ck_assert_int_eq(stat(db_path, &st), 0);
                ck_assert_int_eq(truncate(db_path, st.st_size - 7), 0);
                (void) tmp;
                free(tmp);
        }
        sleep(1);
        usleep(100 * 1000);
        e = 0;
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
        ck_assert_int_eq(e, EIO);
        ck_assert_int_eq(m.getpwuid(300001, &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
        write_db(3);
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
}
END_TEST

/* The module's syslog() calls land here: the test executable exports it
 * (-export-dynamic), which interposes libc's for the dlopen'ed module. */
static int n_syslog;
static char last_syslog[1024];

void syslog(int prio, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(last_syslog, sizeof(last_syslog), fmt, ap);
        va_end(ap);
        if (prio == LOG_ERR)
                n_syslog++;
}

static void write_garbage(const char *text) {
        char *tmp = join(dir, "garbage.tmp");

        write_text(tmp, text, 0644);
        ck_assert_int_eq(rename(tmp, db_path), 0);
        free(tmp);
}

START_TEST(test_corrupt_logged_once) {
        struct passwd pw;
        struct group gr;
        char buf[1024];
        int e = 0;

        n_syslog = 0;
        write_garbage("RSACCTDB this is not a database, just some text that is long enough to have a header "
                      "of 128 bytes: 0123456789012345678901234567890123456789");
        for (int i = 0; i < 5; i++) {
                ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
                ck_assert_int_eq(e, EIO);
        }
        ck_assert_int_eq(n_syslog, 1);
        ck_assert_msg(strstr(last_syslog, db_path) != NULL, "log line \"%s\" does not name the file",
                      last_syslog);
        ck_assert_ptr_nonnull(strstr(last_syslog, "corrupt or truncated"));
        /* Another bad file is logged again, once. */
        write_garbage("short");
        ck_assert_int_eq(m.getgrnam("u1", &gr, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
        ck_assert_int_eq(m.getpwuid(300001, &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
        ck_assert_int_eq(n_syslog, 2);
        /* A file others may write: refused and logged like a corrupt one. */
        write_db(3);
        ck_assert_int_eq(chmod(db_path, 0666), 0);
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_UNAVAIL);
        ck_assert_int_eq(n_syslog, 3);
        ck_assert_ptr_nonnull(strstr(last_syslog, "writable by group or others"));
        /* A good file again: answers, nothing logged. */
        write_db(3);
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_int_eq(n_syslog, 3);
}
END_TEST

START_TEST(test_replacement_seen) {
        struct passwd pw;
        char buf[1024], *err = NULL;
        int e = 0;

        write_db_tagged(db_path, 3, 300000, "old", false);
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_str_eq(pw.pw_gecos, "old");
        /* Our writer marks the old file: seen at the very next call. */
        ck_assert_int_eq(accountsdb_add(db_path,
                                        &(accountsdb_user){.name = "newbie",
                                                           .uid = 400000,
                                                           .gid = 400000,
                                                           .gecos = "",
                                                           .home = "/home/newbie",
                                                           .shell = "/bin/sh"},
                                        true, ACCOUNTSDB_FORCE, &err),
                         0);
        ck_assert_int_eq(m.getpwnam("newbie", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_uint_eq(pw.pw_uid, 400000);
        /* A foreign replacement (rename, no mark): seen within the recheck
         * interval (1 s). */
        write_db_tagged(db_path, 3, 300000, "new", false);
        usleep(1200 * 1000);
        ck_assert_int_eq(m.getpwnam("u1", &pw, buf, sizeof(buf), &e), NSS_STATUS_SUCCESS);
        ck_assert_str_eq(pw.pw_gecos, "new");
        ck_assert_int_eq(m.getpwnam("newbie", &pw, buf, sizeof(buf), &e), NSS_STATUS_NOTFOUND);
        free(err);
}
END_TEST

/* Threads look up while the main thread replaces the file (with our
 * writer's stale mark and by plain rename): every answer is complete and
 * from one version or the other, never a failure or a torn record. */
static int stop; /* __atomic */

static void *lookup_thread(void *arg) {
        long failures = 0;
        (void) arg;
        while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
                for (int i = 0; i < 200; i++) {
                        struct passwd pw;
                        char name[16], buf[512];
                        int e = 0;

                        snprintf(name, sizeof(name), "u%d", i);
                        if (m.getpwnam(name, &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS ||
                            pw.pw_uid != 300000u + (unsigned) i || strcmp(pw.pw_name, name) != 0 ||
                            (strcmp(pw.pw_gecos, "A") != 0 && strcmp(pw.pw_gecos, "B") != 0))
                                failures++;
                }
        }
        return (void *) failures;
}

START_TEST(test_threads_during_replacement) {
        pthread_t t[4];
        long total = 0;

        write_db_tagged(db_path, 200, 300000, "A", false);
        __atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
        for (int i = 0; i < 4; i++)
                ck_assert_int_eq(pthread_create(&t[i], NULL, lookup_thread, NULL), 0);
        for (int k = 0; k < 60; k++) {
                int fd;
                uint32_t one = 1;

                /* Odd rounds mark the old file stale like the writer does. */
                fd = open(db_path, O_RDWR);
                write_db_tagged(db_path, 200, 300000, k % 2 ? "A" : "B", false);
                if (fd >= 0) {
                        if (k % 2)
                                ck_assert_int_eq(pwrite(fd, &one, 4, ACCOUNTSDB_STALE_OFFSET), 4);
                        close(fd);
                }
                usleep(5000);
        }
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        for (int i = 0; i < 4; i++) {
                void *r;

                ck_assert_int_eq(pthread_join(t[i], &r), 0);
                total += (long) r;
        }
        ck_assert_int_eq(total, 0);
}
END_TEST

START_TEST(test_needed_libc_only) {
        char cmd[1024], line[512];
        int n_needed = 0;
        bool soname = false;
        FILE *p;

        snprintf(cmd, sizeof(cmd), "readelf -d '%s'", MODULE);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        while (fgets(line, sizeof(line), p)) {
                if (strstr(line, "(NEEDED)")) {
                        /* A sanitizer build links its runtimes too. */
                        if (strstr(line, "[libasan.so") || strstr(line, "[libubsan.so"))
                                continue;
                        n_needed++;
                        ck_assert_msg(strstr(line, "[libc.so.6]") != NULL, "unexpected NEEDED: %s", line);
                        ck_assert_ptr_null(strstr(line, "libcrypto"));
                        ck_assert_ptr_null(strstr(line, "libprotobuf-c"));
                        ck_assert_ptr_null(strstr(line, "libyaml"));
                        ck_assert_ptr_null(strstr(line, "libjson-c"));
                }
                if (strstr(line, "(SONAME)") && strstr(line, "[libnss_rstream.so.2]"))
                        soname = true;
        }
        ck_assert_int_eq(pclose(p), 0);
        ck_assert_int_eq(n_needed, 1);
        ck_assert(soname);
}
END_TEST

/* Runs sh -c cmd with nss_wrapper loading the module in front of empty
 * passwd/group files; returns its stdout (malloc'd) and exit status. */
static char *run_wrapped(const char *cmd, int *ret_status) {
        char *pw = join(dir, "passwd"), *gr = join(dir, "group"), *full = NULL, *out = malloc(8192);
        size_t len = 0;
        FILE *p;

        write_text(pw, "", 0644);
        write_text(gr, "", 0644);
        ck_assert_int_ge(
                asprintf(&full,
                         "env LD_PRELOAD=libnss_wrapper.so NSS_WRAPPER_PASSWD='%s' NSS_WRAPPER_GROUP='%s' "
                         "NSS_WRAPPER_MODULE_SO_PATH='%s' NSS_WRAPPER_MODULE_FN_PREFIX=rstream "
                         "NSS_RSTREAM_ACCOUNTSDB='%s' sh -c '%s'",
                         pw, gr, MODULE, db_path, cmd),
                0);
        p = popen(full, "r");
        ck_assert_ptr_nonnull(p);
        len = fread(out, 1, 8191, p);
        out[len] = 0;
        *ret_status = pclose(p);
        free(full);
        free(pw);
        free(gr);
        return out;
}

START_TEST(test_glibc_through_nss_wrapper) {
        char *out;
        int status;

        if (access("/usr/lib/x86_64-linux-gnu/libnss_wrapper.so", R_OK) != 0 &&
            access("/usr/lib/libnss_wrapper.so", R_OK) != 0) {
                fprintf(stderr, "SKIP test_glibc_through_nss_wrapper: libnss_wrapper.so not installed\n");
                return;
        }
        write_db(10);
        out = run_wrapped("getent passwd u3; getent passwd 300007; getent group staff", &status);
        ck_assert_int_eq(status, 0);
        ck_assert_str_eq(out, "u3:*:300003:300003:tag:/home/u3:/bin/bash\n"
                              "u7:*:300007:300007:tag:/home/u7:/bin/bash\n"
                              "staff:*:250000:u1,u3\n");
        free(out);
        /* initgroups through glibc's getgrouplist (id -G). */
        out = run_wrapped("id -G u1", &status);
        ck_assert_int_eq(status, 0);
        ck_assert_msg(strstr(out, "300001") && strstr(out, "250000") && strstr(out, "250001"), "id -G: %s",
                      out);
        free(out);
        /* Enumeration through glibc (setpwent/getpwent_r/endpwent). */
        out = run_wrapped("getent passwd | grep -c \"^u[0-9]:\\*:3000\"; getent group | grep -c \":\\*:\"",
                          &status);
        ck_assert_int_eq(status, 0);
        ck_assert_str_eq(out, "10\n12\n");
        free(out);
        out = run_wrapped("getent passwd nosuch", &status);
        ck_assert_int_eq(WEXITSTATUS(status), 2); /* getent: key not found */
        free(out);
}
END_TEST

/* The real thing: glibc loading libnss_rstream.so.2 by name for `passwd:
 * files rstream`, in a private mount namespace (overlay on the library
 * directory, a private nsswitch.conf; the host's files never change). Root
 * only; skipped with a message otherwise. */
START_TEST(test_glibc_in_namespace) {
        static const char libdir[] = "/usr/lib/x86_64-linux-gnu";
        char *nss = join(dir, "nsswitch.conf"), *cmd = NULL, *out = malloc(8192);
        size_t len;
        FILE *p;
        int st;

        if (geteuid() != 0 || access(libdir, F_OK) != 0 ||
            system("unshare -m --propagation private true 2>/dev/null") != 0) {
                fprintf(stderr, "SKIP test_glibc_in_namespace: needs root, a working `unshare -m` and %s\n",
                        libdir);
                free(nss);
                free(out);
                return;
        }
        write_db(10);
        write_text(nss, "passwd: files rstream\ngroup: files rstream\n", 0644);
        ck_assert_int_ge(
                asprintf(&cmd,
                         "unshare -m --propagation private sh -ec '"
                         "mkdir %s/ovl; mount -t tmpfs tmpfs %s/ovl; mkdir %s/ovl/u %s/ovl/w; "
                         "cp %s %s/ovl/u/; "
                         "mount -t overlay overlay -o lowerdir=%s,upperdir=%s/ovl/u,workdir=%s/ovl/w %s; "
                         "mount --bind %s /etc/nsswitch.conf; "
                         "getent passwd u3; getent passwd root; getent group 250000; id -Gn u1' 2>&1",
                         dir, dir, dir, dir, MODULE, dir, libdir, dir, dir, libdir, nss),
                0);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        len = fread(out, 1, 8191, p);
        out[len] = 0;
        st = pclose(p);
        ck_assert_msg(st == 0, "namespace run failed: %s", out);
        ck_assert_msg(strstr(out, "u3:*:300003:300003:tag:/home/u3:/bin/bash\n") != NULL, "%s", out);
        ck_assert_msg(strstr(out, "root:x:0:0:") != NULL, "%s", out); /* files still first */
        ck_assert_msg(strstr(out, "staff:*:250000:u1,u3\n") != NULL, "%s", out);
        ck_assert_msg(strstr(out, "u1 staff dev\n") != NULL || strstr(out, "u1 dev staff\n") != NULL, "%s",
                      out);
        free(cmd);
        free(out);
        free(nss);
}
END_TEST

static Suite *nss_suite(void) {
        Suite *s = suite_create("nss_rstream");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_passwd_lookups);
        tcase_add_test(tc, test_erange);
        tcase_add_test(tc, test_group_lookups);
        tcase_add_test(tc, test_enumeration);
        tcase_add_test(tc, test_initgroups);
        tcase_add_test(tc, test_missing_and_corrupt);
        tcase_add_test(tc, test_corrupt_logged_once);
        tcase_add_test(tc, test_replacement_seen);
        tcase_add_test(tc, test_threads_during_replacement);
        tcase_add_test(tc, test_needed_libc_only);
        tcase_add_test(tc, test_glibc_through_nss_wrapper);
        tcase_add_test(tc, test_glibc_in_namespace);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(nss_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
