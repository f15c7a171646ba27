/* libnss_rstream.so.2: passwd and group from accounts.db (nss_rstream(8)).
 *
 * Loaded into every process that resolves a user, so: libc only, no
 * allocation on the lookup path (the database handle is allocated when the
 * file is (re)opened; initgroups_dyn grows the caller's array as glibc
 * requires), no network, never a crash on a bad file.
 *
 * One mapping per process, shared by all threads under a read-write lock:
 * lookups hold the read lock while they copy into the caller's buffer; a
 * reopen takes the write lock, so no lookup ever sees a mapping being
 * unmapped. A replaced file is noticed
 *   - at once when our writer replaced it: it marks the old file stale, and
 *     the mark is read through the shared mapping (no system call);
 *   - by a stat() of the path at most once per RECHECK_NS otherwise (a stat
 *     costs about 1 µs, twice the lookup budget, so not on every call).
 * Enumeration keeps one cursor per database under its own mutex. */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include "accountsdb.h"

#define EXPORT __attribute__((visibility("default")))
#define RECHECK_NS 1000000000LL
/* Overrides ACCOUNTSDB_DEFAULT_PATH for tests; secure_getenv, so never in
 * setuid/setgid programs. */
#define PATH_ENV "NSS_RSTREAM_ACCOUNTSDB"

static pthread_rwlock_t db_lock = PTHREAD_RWLOCK_INITIALIZER;
static accountsdb *db;       /* under db_lock */
static long long next_check; /* ns, CLOCK_MONOTONIC_COARSE; atomic */
/* The last file refused as corrupt, so that it is neither reopened nor
 * logged again until it changes. Under db_lock (write). */
static struct {
        bool set;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtime;
} bad;

/* When the module is unloaded (dlclose by a program that loaded it by
 * hand; glibc itself never unloads NSS modules): the mapping goes too. */
__attribute__((destructor)) static void unload(void) {
        pthread_rwlock_wrlock(&db_lock);
        accountsdb_close(db);
        db = NULL;
        pthread_rwlock_unlock(&db_lock);
}

static const char *db_path(void) {
        const char *p = secure_getenv(PATH_ENV);

        return p && *p ? p : ACCOUNTSDB_DEFAULT_PATH;
}

static long long now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool is_bad(const struct stat *st) {
        return bad.set && bad.dev == st->st_dev && bad.ino == st->st_ino && bad.size == st->st_size &&
               bad.mtime.tv_sec == st->st_mtim.tv_sec && bad.mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Under the write lock: makes db match the file at the path. 0 (db set),
 * -ENOENT (no file), -EBADMSG (corrupt, logged once), other -errno. */
static int refresh_locked(void) {
        const char *path = db_path();
        accountsdb *n = NULL;
        struct stat st;
        int r;

        __atomic_store_n(&next_check, now_ns() + RECHECK_NS, __ATOMIC_RELAXED);
        if (stat(path, &st) < 0) {
                r = -errno;
                accountsdb_close(db);
                db = NULL;
                return r;
        }
        if (db && !accountsdb_is_stale(db) && accountsdb_same_file(db, &st))
                return 0;
        if (is_bad(&st)) {
                accountsdb_close(db);
                db = NULL;
                return -EBADMSG;
        }
        r = accountsdb_open(path, &n);
        if (r == -EBADMSG || r == -EPERM) {
                bad.set = true;
                bad.dev = st.st_dev;
                bad.ino = st.st_ino;
                bad.size = st.st_size;
                bad.mtime = st.st_mtim;
                syslog(LOG_ERR, "nss_rstream: %s %s; ignoring it", path,
                       r == -EPERM ? "is writable by group or others, or not owned by root"
                                   : "is corrupt or truncated");
        }
        if (r < 0) {
                /* Answering from an old file that is gone or replaced by a
                 * bad one would be wrong either way: no data. */
                accountsdb_close(db);
                db = NULL;
                return r;
        }
        accountsdb_close(db);
        db = n;
        return 0;
}

/* Returns with the read lock held and *ret set (0), or with no lock held
 * and an NSS status for the error. */
static enum nss_status acquire(const accountsdb **ret, int *errnop) {
        int r = 0;

        pthread_rwlock_rdlock(&db_lock);
        if (db && !accountsdb_is_stale(db) && now_ns() < __atomic_load_n(&next_check, __ATOMIC_RELAXED)) {
                *ret = db;
                return NSS_STATUS_SUCCESS;
        }
        pthread_rwlock_unlock(&db_lock);

        pthread_rwlock_wrlock(&db_lock);
        r = refresh_locked();
        pthread_rwlock_unlock(&db_lock);
        if (r < 0) {
                /* A missing file is UNAVAIL like nss_files for a missing
                 * /etc/passwd: "this source cannot answer", and the next
                 * source in nsswitch.conf is asked. */
                *errnop = -r == EBADMSG || -r == EPERM ? EIO : -r;
                return NSS_STATUS_UNAVAIL;
        }
        pthread_rwlock_rdlock(&db_lock);
        if (!db) { /* replaced by a bad file in between */
                pthread_rwlock_unlock(&db_lock);
                *errnop = EIO;
                return NSS_STATUS_UNAVAIL;
        }
        *ret = db;
        return NSS_STATUS_SUCCESS;
}

static void release(void) {
        pthread_rwlock_unlock(&db_lock);
}

static enum nss_status copy_status(int r, int *errnop) {
        if (r == 0)
                return NSS_STATUS_SUCCESS;
        if (r == -ERANGE) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        if (r == -ENOENT) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        *errnop = EIO;
        return NSS_STATUS_UNAVAIL;
}

/* ---- passwd ---- */

static enum nss_status pw_lookup(const char *name, uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                 int *errnop) {
        const accountsdb *d;
        accountsdb_user u;
        enum nss_status s;
        int saved = errno, r;

        s = acquire(&d, errnop);
        if (s != NSS_STATUS_SUCCESS) {
                errno = saved;
                return s;
        }
        r = name ? accountsdb_user_by_name(d, name, &u) : accountsdb_user_by_uid(d, uid, &u);
        if (r == 0)
                r = accountsdb_user_to_passwd(&u, pw, buf, buflen);
        release();
        errno = saved;
        return copy_status(r, errnop);
}

EXPORT enum nss_status _nss_rstream_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
                                               int *errnop) {
        if (!name) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        return pw_lookup(name, 0, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_rstream_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                               int *errnop) {
        return pw_lookup(NULL, uid, pw, buf, buflen, errnop);
}

/* ---- group ---- */

static enum nss_status gr_lookup(const char *name, gid_t gid, struct group *gr, char *buf, size_t buflen,
                                 int *errnop) {
        const accountsdb *d;
        accountsdb_group g;
        enum nss_status s;
        int saved = errno, r;

        s = acquire(&d, errnop);
        if (s != NSS_STATUS_SUCCESS) {
                errno = saved;
                return s;
        }
        r = name ? accountsdb_group_by_name(d, name, &g) : accountsdb_group_by_gid(d, gid, &g);
        if (r == 0)
                r = accountsdb_group_to_group(d, &g, gr, buf, buflen);
        release();
        errno = saved;
        return copy_status(r, errnop);
}

EXPORT enum nss_status _nss_rstream_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
                                               int *errnop) {
        if (!name) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        return gr_lookup(name, 0, gr, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_rstream_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                               int *errnop) {
        return gr_lookup(NULL, gid, gr, buf, buflen, errnop);
}

/* ---- enumeration ---- */

typedef struct enum_state {
        pthread_mutex_t mutex;
        size_t next;
} enum_state;

static enum_state pw_enum = {PTHREAD_MUTEX_INITIALIZER, 0};
static enum_state gr_enum = {PTHREAD_MUTEX_INITIALIZER, 0};

static enum nss_status enum_reset(enum_state *e) {
        pthread_mutex_lock(&e->mutex);
        e->next = 0;
        pthread_mutex_unlock(&e->mutex);
        return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_rstream_setpwent(int stayopen) {
        (void) stayopen;
        return enum_reset(&pw_enum);
}

EXPORT enum nss_status _nss_rstream_endpwent(void) {
        return enum_reset(&pw_enum);
}

EXPORT enum nss_status _nss_rstream_setgrent(int stayopen) {
        (void) stayopen;
        return enum_reset(&gr_enum);
}

EXPORT enum nss_status _nss_rstream_endgrent(void) {
        return enum_reset(&gr_enum);
}

/* One entry at the cursor; the cursor advances only when the entry was
 * copied, so a TRYAGAIN/ERANGE retry with a larger buffer gets the same one. */
static enum nss_status enum_next(enum_state *e, bool group, void *result, char *buf, size_t buflen,
                                 int *errnop) {
        const accountsdb *d;
        enum nss_status s;
        int saved = errno, r;

        pthread_mutex_lock(&e->mutex);
        s = acquire(&d, errnop);
        if (s != NSS_STATUS_SUCCESS) {
                pthread_mutex_unlock(&e->mutex);
                errno = saved;
                return s;
        }
        if (group) {
                accountsdb_group g;

                r = accountsdb_group_at(d, e->next, &g);
                if (r == 0)
                        r = accountsdb_group_to_group(d, &g, result, buf, buflen);
        } else {
                accountsdb_user u;

                r = accountsdb_user_at(d, e->next, &u);
                if (r == 0)
                        r = accountsdb_user_to_passwd(&u, result, buf, buflen);
        }
        release();
        if (r == 0)
                e->next++;
        pthread_mutex_unlock(&e->mutex);
        errno = saved;
        return copy_status(r, errnop);
}

EXPORT enum nss_status _nss_rstream_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop) {
        return enum_next(&pw_enum, false, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_rstream_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop) {
        return enum_next(&gr_enum, true, gr, buf, buflen, errnop);
}

/* ---- initgroups ---- */

EXPORT enum nss_status _nss_rstream_initgroups_dyn(const char *user, gid_t group, long int *start,
                                                   long int *size, gid_t **groupsp, long int limit,
                                                   int *errnop) {
        const accountsdb *d;
        enum nss_status s;
        size_t cursor = 0;
        bool any = false;
        gid_t gid;
        int saved = errno;

        if (!user) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        s = acquire(&d, errnop);
        if (s != NSS_STATUS_SUCCESS) {
                errno = saved;
                return s;
        }
        s = NSS_STATUS_SUCCESS;
        while (accountsdb_member_next(d, user, &cursor, &gid) > 0) {
                bool dup = gid == group;

                any = true; /* a member of something here: SUCCESS */
                for (long i = 0; i < *start && !dup; i++)
                        dup = (*groupsp)[i] == gid;
                if (dup)
                        continue;
                if (*start == *size) {
                        long n;
                        gid_t *g;

                        if (limit > 0 && *size >= limit)
                                break; /* full: glibc's contract is to stop */
                        n = *size > 0 ? *size * 2 : 16;
                        if (limit > 0 && n > limit)
                                n = limit;
                        g = realloc(*groupsp, (size_t) n * sizeof(gid_t));
                        if (!g) {
                                *errnop = ENOMEM;
                                s = NSS_STATUS_TRYAGAIN;
                                break;
                        }
                        *groupsp = g;
                        *size = n;
                }
                (*groupsp)[(*start)++] = gid;
        }
        release();
        errno = saved;
        if (s == NSS_STATUS_SUCCESS && !any) {
                *errnop = ENOENT;
                return NSS_STATUS_NOTFOUND;
        }
        return s;
}
