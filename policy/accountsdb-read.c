/* accounts.db reader (see accountsdb.h; format in nss_rstream(8)).
 *
 * Linked into libnss_rstream.so.2, so: libc only, one malloc (the handle) in
 * accountsdb_open() and none afterwards, and no trust in the file. Open
 * checks the header, every section's bounds, the whole-file checksum and
 * every record; lookups still bound every index they follow, so that even a
 * file changed under the mapping (someone writing into it in place instead
 * of replacing it) cannot make a lookup read outside the mapping or loop. */
#include "accountsdb.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define USER_REC_SIZE 24u  /* name, uid, gid, gecos, home, shell */
#define GROUP_REC_SIZE 16u /* name, gid, first member, member count */
#define MEMBERSHIP_SIZE 8u /* member name, group index */

struct accountsdb {
        const uint8_t *base;
        size_t size;
        bool mapped;
        dev_t dev;
        ino_t ino;
        struct timespec mtime;
        uint32_t n_users, n_groups, n_memberships, n_members_total;
        const char *strings;
        uint32_t strings_len;
        const uint8_t *users, *groups, *members, *memberships;
        const uint8_t *idx[_ACCOUNTSDB_IDX_MAX];
        uint32_t idx_slots[_ACCOUNTSDB_IDX_MAX];
};

static inline uint32_t get32(const uint8_t *p) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return le32toh(v);
}

static inline uint64_t get64(const uint8_t *p) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return le64toh(v);
}

/* ---- hashes ---- */

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static inline uint64_t rotl64(uint64_t x, int r) {
        return (x << r) | (x >> (64 - r));
}

static inline uint64_t xxround(uint64_t acc, uint64_t v) {
        acc += v * P2;
        acc = rotl64(acc, 31);
        return acc * P1;
}

static inline uint64_t xxmerge(uint64_t acc, uint64_t v) {
        acc ^= xxround(0, v);
        return acc * P1 + P4;
}

uint64_t accountsdb_checksum(const void *data, size_t len) {
        const uint8_t *p = data, *end = p + len;
        uint64_t h;

        if (len >= 32) {
                uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = -P1;

                do {
                        v1 = xxround(v1, get64(p));
                        v2 = xxround(v2, get64(p + 8));
                        v3 = xxround(v3, get64(p + 16));
                        v4 = xxround(v4, get64(p + 24));
                        p += 32;
                } while ((size_t) (end - p) >= 32);
                h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
                h = xxmerge(h, v1);
                h = xxmerge(h, v2);
                h = xxmerge(h, v3);
                h = xxmerge(h, v4);
        } else
                h = P5;
        h += (uint64_t) len;
        while ((size_t) (end - p) >= 8) {
                h ^= xxround(0, get64(p));
                h = rotl64(h, 27) * P1 + P4;
                p += 8;
        }
        if ((size_t) (end - p) >= 4) {
                h ^= (uint64_t) get32(p) * P1;
                h = rotl64(h, 23) * P2 + P3;
                p += 4;
        }
        while (p < end) {
                h ^= (*p) * P5;
                h = rotl64(h, 11) * P1;
                p++;
        }
        h ^= h >> 33;
        h *= P2;
        h ^= h >> 29;
        h *= P3;
        h ^= h >> 32;
        return h;
}

uint32_t accountsdb_hash_name(const char *s) {
        uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64, folded */

        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= 0x100000001b3ull;
        }
        return (uint32_t) (h ^ (h >> 32));
}

uint32_t accountsdb_hash_id(uint32_t id) {
        uint64_t h = (uint64_t) id * 0x9E3779B97F4A7C15ull;

        return (uint32_t) (h >> 32);
}

bool accountsdb_name_valid(const char *name) {
        size_t n = 0;

        if (!name || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
                return false;
        for (const char *p = name; *p; p++, n++) {
                char c = *p;

                if (n >= ACCOUNTSDB_NAME_MAX)
                        return false;
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* ---- open ---- */

/* A string offset is valid when it is inside the table: the table's last
 * byte is checked to be NUL at open, so every string ends inside it. */
static inline const char *str_at(const accountsdb *db, uint32_t off) {
        return off < db->strings_len ? db->strings + off : NULL;
}

/* Section [off, off + count * size) inside the file, after the header,
 * aligned. Compared by subtraction: nothing overflows. */
static int section(const accountsdb *db, uint32_t off, uint64_t count, uint32_t size, const uint8_t **ret) {
        if (off < ACCOUNTSDB_HEADER_SIZE || off % 4 != 0 || off > db->size)
                return -EBADMSG;
        if (count > (db->size - off) / size)
                return -EBADMSG;
        *ret = db->base + off;
        return 0;
}

static int check_index(accountsdb *db, int which, uint32_t off, uint32_t slots, uint32_t n) {
        const uint8_t *p;
        int r;

        /* A power of two larger than the entry count: probing ends at an
         * empty slot (and is bounded by the slot count anyway). */
        if (slots == 0 || (slots & (slots - 1)) != 0 || slots <= n)
                return -EBADMSG;
        r = section(db, off, slots, 4, &p);
        if (r < 0)
                return r;
        for (uint32_t i = 0; i < slots; i++)
                if (get32(p + 4 * (size_t) i) > n)
                        return -EBADMSG;
        db->idx[which] = p;
        db->idx_slots[which] = slots;
        return 0;
}

static int check_text(const accountsdb *db, uint32_t off, size_t max, bool name) {
        const char *s = str_at(db, off);

        if (!s || strnlen(s, max + 1) > max)
                return -EBADMSG;
        if (name && !accountsdb_name_valid(s))
                return -EBADMSG;
        return 0;
}

static int parse(accountsdb *db) {
        const uint8_t *h = db->base, *strings;
        uint32_t idx_n[_ACCOUNTSDB_IDX_MAX];
        int r;

        if (db->size < ACCOUNTSDB_HEADER_SIZE || db->size > ACCOUNTSDB_MAX_SIZE)
                return -EBADMSG;
        if (memcmp(h, ACCOUNTSDB_MAGIC, 8) != 0 || get32(h + 8) != ACCOUNTSDB_VERSION ||
            get32(h + 12) != ACCOUNTSDB_HEADER_SIZE || get64(h + 32) != db->size)
                return -EBADMSG;
        if (get64(h + 16) !=
            accountsdb_checksum(h + ACCOUNTSDB_CHECKSUM_START, db->size - ACCOUNTSDB_CHECKSUM_START))
                return -EBADMSG;

        db->n_users = get32(h + 40);
        db->n_groups = get32(h + 44);
        db->n_memberships = get32(h + 48);
        db->strings_len = get32(h + 56);
        db->n_members_total = get32(h + 72);
        r = section(db, get32(h + 52), db->strings_len, 1, &strings);
        if (r < 0)
                return r;
        if (db->strings_len == 0 || strings[db->strings_len - 1] != 0)
                return -EBADMSG;
        db->strings = (const char *) strings;
        if ((r = section(db, get32(h + 60), db->n_users, USER_REC_SIZE, &db->users)) < 0 ||
            (r = section(db, get32(h + 64), db->n_groups, GROUP_REC_SIZE, &db->groups)) < 0 ||
            (r = section(db, get32(h + 68), db->n_members_total, 4, &db->members)) < 0 ||
            (r = section(db, get32(h + 76), db->n_memberships, MEMBERSHIP_SIZE, &db->memberships)) < 0)
                return r;

        idx_n[ACCOUNTSDB_IDX_USER_NAME] = idx_n[ACCOUNTSDB_IDX_USER_UID] = db->n_users;
        idx_n[ACCOUNTSDB_IDX_GROUP_NAME] = idx_n[ACCOUNTSDB_IDX_GROUP_GID] = db->n_groups;
        idx_n[ACCOUNTSDB_IDX_MEMBER] = db->n_memberships;
        for (int i = 0; i < _ACCOUNTSDB_IDX_MAX; i++) {
                r = check_index(db, i, get32(h + 80 + 4 * i), get32(h + 100 + 4 * i), idx_n[i]);
                if (r < 0)
                        return r;
        }

        for (uint32_t i = 0; i < db->n_users; i++) {
                const uint8_t *u = db->users + (size_t) i * USER_REC_SIZE;

                /* Root is never an rstream account (the writer refuses it):
                 * a file that says otherwise is not trusted at all. */
                if (get32(u + 4) == 0 || get32(u + 8) == 0)
                        return -EBADMSG;

                if (check_text(db, get32(u), ACCOUNTSDB_NAME_MAX, true) < 0 ||
                    check_text(db, get32(u + 12), ACCOUNTSDB_FIELD_MAX, false) < 0 ||
                    check_text(db, get32(u + 16), ACCOUNTSDB_FIELD_MAX, false) < 0 ||
                    check_text(db, get32(u + 20), ACCOUNTSDB_FIELD_MAX, false) < 0)
                        return -EBADMSG;
        }
        for (uint32_t i = 0; i < db->n_groups; i++) {
                const uint8_t *g = db->groups + (size_t) i * GROUP_REC_SIZE;
                uint32_t first = get32(g + 8), n = get32(g + 12);

                if (check_text(db, get32(g), ACCOUNTSDB_NAME_MAX, true) < 0 || get32(g + 4) == 0)
                        return -EBADMSG;
                if (first > db->n_members_total || n > db->n_members_total - first)
                        return -EBADMSG;
        }
        for (uint32_t i = 0; i < db->n_members_total; i++)
                if (check_text(db, get32(db->members + 4 * (size_t) i), ACCOUNTSDB_NAME_MAX, true) < 0)
                        return -EBADMSG;
        for (uint32_t i = 0; i < db->n_memberships; i++) {
                const uint8_t *m = db->memberships + (size_t) i * MEMBERSHIP_SIZE;

                if (check_text(db, get32(m), ACCOUNTSDB_NAME_MAX, true) < 0 || get32(m + 4) >= db->n_groups)
                        return -EBADMSG;
        }
        return 0;
}

int accountsdb_open_memory(const void *data, size_t len, accountsdb **ret) {
        accountsdb *db;
        int r;

        *ret = NULL;
        db = calloc(1, sizeof(*db));
        if (!db)
                return -ENOMEM;
        db->base = data;
        db->size = len;
        r = parse(db);
        if (r < 0) {
                free(db);
                return r;
        }
        *ret = db;
        return 0;
}

int accountsdb_open(const char *path, accountsdb **ret) {
        accountsdb *db = NULL;
        struct stat st;
        void *p;
        int fd, r;

        *ret = NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return -EBADMSG;
        }
        /* Whoever can write this file can name accounts for every process
         * on the host: only root (or the reading user itself, who gains
         * nothing) may own it, and nobody else may write it. */
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 0022)) {
                close(fd);
                return -EPERM;
        }
        if (st.st_size < (off_t) ACCOUNTSDB_HEADER_SIZE || st.st_size > (off_t) ACCOUNTSDB_MAX_SIZE) {
                close(fd);
                return -EBADMSG;
        }
        /* Shared, so that the writer's stale mark on a replaced file is seen
         * by every reader without a system call. */
        p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        r = p == MAP_FAILED ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        db = calloc(1, sizeof(*db));
        if (!db) {
                munmap(p, (size_t) st.st_size);
                return -ENOMEM;
        }
        db->base = p;
        db->size = (size_t) st.st_size;
        db->mapped = true;
        db->dev = st.st_dev;
        db->ino = st.st_ino;
        db->mtime = st.st_mtim;
        r = parse(db);
        if (r < 0) {
                accountsdb_close(db);
                return r;
        }
        *ret = db;
        return 0;
}

void accountsdb_close(accountsdb *db) {
        if (!db)
                return;
        if (db->mapped)
                munmap((void *) db->base, db->size);
        free(db);
}

bool accountsdb_is_stale(const accountsdb *db) {
        return __atomic_load_n((const uint32_t *) (const void *) (db->base + ACCOUNTSDB_STALE_OFFSET),
                               __ATOMIC_RELAXED) != 0;
}

bool accountsdb_same_file(const accountsdb *db, const struct stat *st) {
        return st->st_dev == db->dev && st->st_ino == db->ino && (size_t) st->st_size == db->size &&
               st->st_mtim.tv_sec == db->mtime.tv_sec && st->st_mtim.tv_nsec == db->mtime.tv_nsec;
}

/* ---- lookups ---- */

static int fill_user(const accountsdb *db, uint32_t i, accountsdb_user *ret) {
        const uint8_t *u;
        const char *name, *gecos, *home, *shell;

        if (i >= db->n_users)
                return -ENOENT;
        u = db->users + (size_t) i * USER_REC_SIZE;
        name = str_at(db, get32(u));
        gecos = str_at(db, get32(u + 12));
        home = str_at(db, get32(u + 16));
        shell = str_at(db, get32(u + 20));
        if (!name || !gecos || !home || !shell)
                return -EBADMSG;
        *ret = (accountsdb_user){
                .name = name,
                .uid = get32(u + 4),
                .gid = get32(u + 8),
                .gecos = gecos,
                .home = home,
                .shell = shell,
        };
        return 0;
}

static int fill_group(const accountsdb *db, uint32_t i, accountsdb_group *ret) {
        const uint8_t *g;
        const char *name;
        uint32_t first, n;

        if (i >= db->n_groups)
                return -ENOENT;
        g = db->groups + (size_t) i * GROUP_REC_SIZE;
        name = str_at(db, get32(g));
        first = get32(g + 8);
        n = get32(g + 12);
        if (!name || first > db->n_members_total || n > db->n_members_total - first)
                return -EBADMSG;
        *ret = (accountsdb_group){
                .name = name,
                .gid = get32(g + 4),
                .members = NULL,
                .n_members = n,
                .first_member = first,
        };
        return 0;
}

/* Walks the probe sequence of hash h in index which; calls match(db, entry)
 * on each occupied slot until it returns true. Returns the entry or
 * UINT32_MAX. Bounded by the slot count whatever the file says. */
typedef bool (*match_fn)(const accountsdb *db, uint32_t entry, const void *key);

static uint32_t probe(const accountsdb *db, int which, uint32_t h, match_fn match, const void *key) {
        const uint8_t *slots = db->idx[which];
        uint32_t mask = db->idx_slots[which] - 1;

        for (uint32_t n = 0, s = h & mask; n <= mask; n++, s = (s + 1) & mask) {
                uint32_t v = get32(slots + 4 * (size_t) s);

                if (v == 0)
                        break;
                if (match(db, v - 1, key))
                        return v - 1;
        }
        return UINT32_MAX;
}

static bool str_equal(const accountsdb *db, uint32_t off, const char *name) {
        const char *s = str_at(db, off);

        return s && strcmp(s, name) == 0;
}

static bool match_user_name(const accountsdb *db, uint32_t e, const void *key) {
        return e < db->n_users && str_equal(db, get32(db->users + (size_t) e * USER_REC_SIZE), key);
}

static bool match_user_uid(const accountsdb *db, uint32_t e, const void *key) {
        return e < db->n_users &&
               get32(db->users + (size_t) e * USER_REC_SIZE + 4) == *(const uint32_t *) key;
}

static bool match_group_name(const accountsdb *db, uint32_t e, const void *key) {
        return e < db->n_groups && str_equal(db, get32(db->groups + (size_t) e * GROUP_REC_SIZE), key);
}

static bool match_group_gid(const accountsdb *db, uint32_t e, const void *key) {
        return e < db->n_groups &&
               get32(db->groups + (size_t) e * GROUP_REC_SIZE + 4) == *(const uint32_t *) key;
}

static bool match_member(const accountsdb *db, uint32_t e, const void *key) {
        return e < db->n_memberships &&
               str_equal(db, get32(db->memberships + (size_t) e * MEMBERSHIP_SIZE), key);
}

/* Names longer than any valid one cannot be in the file: refuse them before
 * hashing an unbounded caller string. */
static bool name_plausible(const char *name) {
        return name && strnlen(name, ACCOUNTSDB_NAME_MAX + 1) <= ACCOUNTSDB_NAME_MAX;
}

int accountsdb_user_by_name(const accountsdb *db, const char *name, accountsdb_user *ret) {
        uint32_t e;

        if (!name_plausible(name))
                return -ENOENT;
        e = probe(db, ACCOUNTSDB_IDX_USER_NAME, accountsdb_hash_name(name), match_user_name, name);
        return e == UINT32_MAX ? -ENOENT : fill_user(db, e, ret);
}

int accountsdb_user_by_uid(const accountsdb *db, uid_t uid, accountsdb_user *ret) {
        uint32_t key = uid, e;

        e = probe(db, ACCOUNTSDB_IDX_USER_UID, accountsdb_hash_id(key), match_user_uid, &key);
        return e == UINT32_MAX ? -ENOENT : fill_user(db, e, ret);
}

int accountsdb_group_by_name(const accountsdb *db, const char *name, accountsdb_group *ret) {
        uint32_t e;

        if (!name_plausible(name))
                return -ENOENT;
        e = probe(db, ACCOUNTSDB_IDX_GROUP_NAME, accountsdb_hash_name(name), match_group_name, name);
        return e == UINT32_MAX ? -ENOENT : fill_group(db, e, ret);
}

int accountsdb_group_by_gid(const accountsdb *db, gid_t gid, accountsdb_group *ret) {
        uint32_t key = gid, e;

        e = probe(db, ACCOUNTSDB_IDX_GROUP_GID, accountsdb_hash_id(key), match_group_gid, &key);
        return e == UINT32_MAX ? -ENOENT : fill_group(db, e, ret);
}

size_t accountsdb_n_users(const accountsdb *db) {
        return db->n_users;
}

size_t accountsdb_n_groups(const accountsdb *db) {
        return db->n_groups;
}

int accountsdb_user_at(const accountsdb *db, size_t index, accountsdb_user *ret) {
        return index >= db->n_users ? -ENOENT : fill_user(db, (uint32_t) index, ret);
}

int accountsdb_group_at(const accountsdb *db, size_t index, accountsdb_group *ret) {
        return index >= db->n_groups ? -ENOENT : fill_group(db, (uint32_t) index, ret);
}

const char *accountsdb_group_member(const accountsdb *db, const accountsdb_group *g, size_t i) {
        if (i >= g->n_members || g->first_member > db->n_members_total ||
            g->n_members > db->n_members_total - g->first_member)
                return NULL;
        return str_at(db, get32(db->members + 4 * ((size_t) g->first_member + i)));
}

/* *cursor: 0 before the first call, then the next membership entry + 1. The
 * entries are sorted by member name, so one member's groups are adjacent. */
int accountsdb_member_next(const accountsdb *db, const char *member, size_t *cursor, gid_t *ret_gid) {
        size_t e;
        const uint8_t *m;
        const uint8_t *g;

        if (*cursor == 0) {
                uint32_t first;

                if (!name_plausible(member))
                        return 0;
                first = probe(db, ACCOUNTSDB_IDX_MEMBER, accountsdb_hash_name(member), match_member, member);
                if (first == UINT32_MAX)
                        return 0;
                e = first;
        } else {
                e = *cursor - 1;
                if (e >= db->n_memberships || !match_member(db, (uint32_t) e, member))
                        return 0;
        }
        m = db->memberships + e * MEMBERSHIP_SIZE;
        if (get32(m + 4) >= db->n_groups)
                return 0;
        g = db->groups + (size_t) get32(m + 4) * GROUP_REC_SIZE;
        *ret_gid = get32(g + 4);
        *cursor = e + 2;
        return 1;
}

/* ---- copies into caller buffers ---- */

/* Appends s to the buffer cursor; NULL when it does not fit. */
static char *put(char **p, size_t *left, const char *s) {
        size_t n = strlen(s) + 1;
        char *r = *p;

        if (n > *left)
                return NULL;
        memcpy(r, s, n);
        *p += n;
        *left -= n;
        return r;
}

int accountsdb_user_to_passwd(const accountsdb_user *u, struct passwd *pw, char *buf, size_t buflen) {
        char *p = buf;
        size_t left = buflen;

        pw->pw_uid = u->uid;
        pw->pw_gid = u->gid;
        if (!(pw->pw_name = put(&p, &left, u->name)) || !(pw->pw_passwd = put(&p, &left, "*")) ||
            !(pw->pw_gecos = put(&p, &left, u->gecos)) || !(pw->pw_dir = put(&p, &left, u->home)) ||
            !(pw->pw_shell = put(&p, &left, u->shell)))
                return -ERANGE;
        return 0;
}

int accountsdb_group_to_group(const accountsdb *db, const accountsdb_group *g, struct group *gr, char *buf,
                              size_t buflen) {
        uintptr_t a = (uintptr_t) buf, pad;
        char **mem;
        char *p;
        size_t left, need;

        /* The member pointer array first, aligned, then the strings. */
        pad = (sizeof(char *) - a % sizeof(char *)) % sizeof(char *);
        if (g->n_members >= (SIZE_MAX - pad) / sizeof(char *))
                return -ERANGE;
        need = pad + (g->n_members + 1) * sizeof(char *);
        if (need > buflen)
                return -ERANGE;
        mem = (char **) (void *) (buf + pad);
        p = buf + need;
        left = buflen - need;
        gr->gr_gid = g->gid;
        if (!(gr->gr_name = put(&p, &left, g->name)) || !(gr->gr_passwd = put(&p, &left, "*")))
                return -ERANGE;
        for (size_t i = 0; i < g->n_members; i++) {
                const char *m = accountsdb_group_member(db, g, i);

                if (!m)
                        return -EBADMSG;
                if (!(mem[i] = put(&p, &left, m)))
                        return -ERANGE;
        }
        mem[g->n_members] = NULL;
        gr->gr_mem = mem;
        return 0;
}
