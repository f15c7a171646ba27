/* accounts.db writer (see accountsdb.h): editing sets, serializing them into
 * the format the reader checks, and the locked atomic replacement.
 *
 * Runs as root in `webtty accounts` and webttyd-login only; may allocate and
 * use lib/. The lock and directory checks come from lib/safefile.h; the
 * replacement itself is done here because safefile forces mode 0600 on the
 * new file (right for secrets), and this file is read by every process on
 * the host through nss_rstream, so it must be 0644. */
#include "accountsdb.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"
#include "macro.h"
#include "safefile.h"

#define USER_REC_SIZE 24u
#define GROUP_REC_SIZE 16u
#define MEMBERSHIP_SIZE 8u

/* ---- sets ---- */

static void user_free_fields(accountsdb_user *u) {
        free((char *) u->name);
        free((char *) u->gecos);
        free((char *) u->home);
        free((char *) u->shell);
        *u = (accountsdb_user){};
}

void accountsdb_user_done(accountsdb_user *u) {
        if (u)
                user_free_fields(u);
}

static void group_free_fields(accountsdb_group *g) {
        for (size_t i = 0; i < g->n_members; i++)
                free((char *) g->members[i]);
        free((void *) g->members);
        free((char *) g->name);
        *g = (accountsdb_group){};
}

void accountsdb_set_done(accountsdb_set *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_users; i++)
                user_free_fields(&s->users[i]);
        for (size_t i = 0; i < s->n_groups; i++)
                group_free_fields(&s->groups[i]);
        free(s->users);
        free(s->groups);
        *s = (accountsdb_set){};
}

static int user_copy(const accountsdb_user *src, accountsdb_user *dst) {
        *dst = (accountsdb_user){
                .name = strdup(src->name),
                .uid = src->uid,
                .gid = src->gid,
                .gecos = strdup(src->gecos ? src->gecos : ""),
                .home = strdup(src->home),
                .shell = strdup(src->shell),
        };
        if (!dst->name || !dst->gecos || !dst->home || !dst->shell) {
                user_free_fields(dst);
                return -ENOMEM;
        }
        return 0;
}

/* Room for one more entry (doubling). */
static int set_grow(void **arr, size_t n, size_t *cap, size_t elem) {
        void *p;

        if (n < *cap)
                return 0;
        p = reallocarray(*arr, *cap ? 2 * *cap : 8, elem);
        if (!p)
                return -ENOMEM;
        *arr = p;
        *cap = *cap ? 2 * *cap : 8;
        return 0;
}

static int set_push_user(accountsdb_set *s, const accountsdb_user *u) {
        int r = set_grow((void **) &s->users, s->n_users, &s->cap_users, sizeof(*s->users));

        if (r < 0)
                return r;
        r = user_copy(u, &s->users[s->n_users]);
        if (r < 0)
                return r;
        s->n_users++;
        return 0;
}

/* Takes nothing: copies name and members. */
static int set_push_group(accountsdb_set *s, const char *name, gid_t gid, const char *const *members,
                          size_t n_members) {
        accountsdb_group *g;
        const char **m = NULL;
        int r = set_grow((void **) &s->groups, s->n_groups, &s->cap_groups, sizeof(*s->groups));

        if (r < 0)
                return r;
        g = &s->groups[s->n_groups];
        *g = (accountsdb_group){.gid = gid};
        if (n_members > 0) {
                m = calloc(n_members, sizeof(*m));
                if (!m)
                        return -ENOMEM;
        }
        g->members = m;
        g->name = strdup(name);
        if (!g->name) {
                group_free_fields(g);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n_members; i++) {
                m[i] = strdup(members[i]);
                if (!m[i]) {
                        g->n_members = i;
                        group_free_fields(g);
                        return -ENOMEM;
                }
        }
        g->n_members = n_members;
        s->n_groups++;
        return 0;
}

int accountsdb_set_load(const accountsdb *db, accountsdb_set *ret) {
        accountsdb_set s = {};
        int r = 0;

        *ret = (accountsdb_set){};
        if (!db)
                return 0;
        for (size_t i = 0; i < accountsdb_n_users(db); i++) {
                accountsdb_user u;

                r = accountsdb_user_at(db, i, &u);
                if (r >= 0)
                        r = set_push_user(&s, &u);
                if (r < 0)
                        goto fail;
        }
        for (size_t i = 0; i < accountsdb_n_groups(db); i++) {
                accountsdb_group g;
                _cleanup_free_ const char **m = NULL;

                r = accountsdb_group_at(db, i, &g);
                if (r < 0)
                        goto fail;
                m = calloc(g.n_members + 1, sizeof(*m));
                if (!m) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (size_t k = 0; k < g.n_members; k++)
                        m[k] = accountsdb_group_member(db, &g, k);
                r = set_push_group(&s, g.name, g.gid, m, g.n_members);
                if (r < 0)
                        goto fail;
        }
        *ret = s;
        return 0;
fail:
        accountsdb_set_done(&s);
        return r;
}

/* ---- field checks (one message per field, naming it) ---- */

static int check_text_field(const char *field, const char *v, bool path, char **ret_error) {
        size_t n = strlen(v);

        if (n > ACCOUNTSDB_FIELD_MAX)
                return errmsg_set(ret_error, -EINVAL, "%s: longer than %u bytes", field,
                                  ACCOUNTSDB_FIELD_MAX);
        for (const char *p = v; *p; p++)
                /* ':' and newlines would break every passwd-format consumer
                 * (getent, pwck); control characters have no business here. */
                if (*p == ':' || (unsigned char) *p < 0x20 || *p == 0x7f)
                        return errmsg_set(ret_error, -EINVAL,
                                          "%s \"%.64s\": must not contain ':' or control characters", field,
                                          v);
        if (path && v[0] != '/')
                return errmsg_set(ret_error, -EINVAL, "%s \"%.64s\": must be an absolute path", field, v);
        return 0;
}

static int check_id(const char *field, uint32_t id, unsigned flags, char **ret_error) {
        if (id == 0)
                return errmsg_set(ret_error, -EINVAL, "%s 0: root is never an rstream account", field);
        if (id == UINT32_MAX || id == 65535 || id == 65534)
                return errmsg_set(ret_error, -EINVAL, "%s %u: reserved (nobody, or the invalid id)", field,
                                  id);
        if (id < ACCOUNTSDB_UID_MIN && !(flags & ACCOUNTSDB_FORCE))
                return errmsg_set(ret_error, -EINVAL,
                                  "%s %u: below %u, the system range (--force allows it)", field, id,
                                  ACCOUNTSDB_UID_MIN);
        return 0;
}

static int check_name(const char *field, const char *name, char **ret_error) {
        if (!accountsdb_name_valid(name))
                return errmsg_set(ret_error, -EINVAL,
                                  "%s \"%.64s\": must match [a-z_][a-z0-9_-]* and be at most %u characters",
                                  field, name ? name : "", ACCOUNTSDB_NAME_MAX);
        return 0;
}

/* The system's NSS (getpwnam_r & co.): 1 and the id when known, 0 if not. */
static int sys_lookup_user(const char *name, uid_t uid, uid_t *ret_uid, char *ret_name, size_t name_size) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        int r;

        r = name ? getpwnam_r(name, &pw, buf, sizeof(buf), &res)
                 : getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
        if (r != 0 || !res)
                return 0;
        if (ret_uid)
                *ret_uid = pw.pw_uid;
        if (ret_name)
                snprintf(ret_name, name_size, "%s", pw.pw_name);
        return 1;
}

static int sys_lookup_group(const char *name, gid_t gid, gid_t *ret_gid, char *ret_name, size_t name_size) {
        struct group gr, *res = NULL;
        char buf[16384];
        int r;

        r = name ? getgrnam_r(name, &gr, buf, sizeof(buf), &res)
                 : getgrgid_r(gid, &gr, buf, sizeof(buf), &res);
        if (r != 0 || !res)
                return 0;
        if (ret_gid)
                *ret_gid = gr.gr_gid;
        if (ret_name)
                snprintf(ret_name, name_size, "%s", gr.gr_name);
        return 1;
}

static accountsdb_user *set_find_user(accountsdb_set *s, const char *name) {
        for (size_t i = 0; i < s->n_users; i++)
                if (strcmp(s->users[i].name, name) == 0)
                        return &s->users[i];
        return NULL;
}

int accountsdb_set_add_user(accountsdb_set *s, const accountsdb_user *u, bool per_user_group, unsigned flags,
                            char **ret_error) {
        const char *gecos = u->gecos ? u->gecos : "";
        char other[256];
        uint32_t id;
        int r;

        if ((r = check_name("name", u->name, ret_error)) < 0 ||
            (r = check_id("uid", u->uid, flags, ret_error)) < 0 ||
            (r = check_id("gid", u->gid, flags | (per_user_group ? 0 : ACCOUNTSDB_FORCE), ret_error)) < 0 ||
            (r = check_text_field("gecos", gecos, false, ret_error)) < 0 ||
            (r = check_text_field("home", u->home ? u->home : "", true, ret_error)) < 0 ||
            (r = check_text_field("shell", u->shell ? u->shell : "", true, ret_error)) < 0)
                return r;
        if (per_user_group && u->gid != u->uid)
                return errmsg_set(ret_error, -EINVAL, "gid %u: a per-user group has gid = uid (%u)", u->gid,
                                  u->uid);
        for (size_t i = 0; !(flags & ACCOUNTSDB_BULK) && i < s->n_users; i++) {
                if (strcmp(s->users[i].name, u->name) == 0)
                        return errmsg_set(ret_error, -EEXIST, "name \"%s\": already in the database",
                                          u->name);
                if (s->users[i].uid == u->uid)
                        return errmsg_set(ret_error, -EEXIST, "uid %u: already used by \"%s\"", u->uid,
                                          s->users[i].name);
        }
        for (size_t i = 0; per_user_group && !(flags & ACCOUNTSDB_BULK) && i < s->n_groups; i++) {
                if (strcmp(s->groups[i].name, u->name) == 0)
                        return errmsg_set(ret_error, -EEXIST, "group \"%s\": already in the database",
                                          u->name);
                if (s->groups[i].gid == u->gid)
                        return errmsg_set(ret_error, -EEXIST, "gid %u: already used by group \"%s\"", u->gid,
                                          s->groups[i].name);
        }
        if (!(flags & ACCOUNTSDB_FORCE)) {
                /* An account shadowing a system one (same name or uid) would
                 * make the answer depend on the nsswitch order. */
                if (sys_lookup_user(u->name, 0, &id, NULL, 0))
                        return errmsg_set(ret_error, -EEXIST,
                                          "name \"%s\": already a system account (uid %u)", u->name, id);
                if (sys_lookup_user(NULL, u->uid, NULL, other, sizeof(other)))
                        return errmsg_set(ret_error, -EEXIST,
                                          "uid %u: already used by system account \"%s\"", u->uid, other);
                if (per_user_group && sys_lookup_group(u->name, 0, &id, NULL, 0))
                        return errmsg_set(ret_error, -EEXIST,
                                          "group \"%s\": already a system group (gid %u)", u->name, id);
                if (per_user_group && sys_lookup_group(NULL, u->gid, NULL, other, sizeof(other)))
                        return errmsg_set(ret_error, -EEXIST, "gid %u: already used by system group \"%s\"",
                                          u->gid, other);
        }

        r = set_push_user(s, &(accountsdb_user){.name = u->name,
                                                .uid = u->uid,
                                                .gid = u->gid,
                                                .gecos = gecos,
                                                .home = u->home,
                                                .shell = u->shell});
        if (r < 0)
                return errmsg_set(ret_error, r, "%s", strerror(-r));
        if (per_user_group) {
                r = set_push_group(s, u->name, u->gid, NULL, 0);
                if (r < 0) {
                        user_free_fields(&s->users[--s->n_users]);
                        return errmsg_set(ret_error, r, "%s", strerror(-r));
                }
        }
        return 0;
}

int accountsdb_set_add_group(accountsdb_set *s, const char *name, gid_t gid, const char *const *members,
                             size_t n_members, char **ret_error) {
        int r;

        if ((r = check_name("group", name, ret_error)) < 0 ||
            (r = check_id("gid", gid, ACCOUNTSDB_FORCE, ret_error)) < 0)
                return r;
        for (size_t i = 0; i < n_members; i++)
                if ((r = check_name("member", members[i], ret_error)) < 0)
                        return r;
        for (size_t i = 0; i < s->n_groups; i++) {
                if (strcmp(s->groups[i].name, name) == 0)
                        return errmsg_set(ret_error, -EEXIST, "group \"%s\": already in the database", name);
                if (s->groups[i].gid == gid)
                        return errmsg_set(ret_error, -EEXIST, "gid %u: already used by group \"%s\"", gid,
                                          s->groups[i].name);
        }
        r = set_push_group(s, name, gid, members, n_members);
        if (r < 0)
                return errmsg_set(ret_error, r, "%s", strerror(-r));
        return 0;
}

int accountsdb_set_remove_user(accountsdb_set *s, const char *name, char **ret_error) {
        accountsdb_user *u = set_find_user(s, name);
        gid_t gid;

        if (!u)
                return errmsg_set(ret_error, -ENOENT, "name \"%.64s\": no such account in the database",
                                  name);
        gid = u->gid;
        user_free_fields(u);
        memmove(u, u + 1, (size_t) (s->users + s->n_users - (u + 1)) * sizeof(*u));
        s->n_users--;

        for (size_t i = 0; i < s->n_groups;) {
                accountsdb_group *g = &s->groups[i];

                if (g->gid == gid && strcmp(g->name, name) == 0) {
                        group_free_fields(g);
                        memmove(g, g + 1, (s->n_groups - i - 1) * sizeof(*g));
                        s->n_groups--;
                        continue;
                }
                for (size_t k = 0; k < g->n_members;) {
                        if (strcmp(g->members[k], name) == 0) {
                                const char **m = (const char **) g->members;

                                free((char *) m[k]);
                                memmove(&m[k], &m[k + 1], (g->n_members - k - 1) * sizeof(*m));
                                g->n_members--;
                        } else
                                k++;
                }
                i++;
        }
        return 0;
}

/* ---- serialization ---- */

static void put32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v) {
        v = htole64(v);
        memcpy(p, &v, sizeof(v));
}

/* The string table, deduplicated (every account shares its shell, and a
 * per-user group its name with the account). */
typedef struct strtab {
        char *data;
        size_t len, cap;
        uint32_t *slots; /* offset + 1 */
        size_t n_slots, n;
} strtab;

static void strtab_done(strtab *t) {
        free(t->data);
        free(t->slots);
}

static int strtab_init(strtab *t, size_t expected) {
        *t = (strtab){};
        t->n_slots = 64;
        while (t->n_slots < 2 * expected + 1)
                t->n_slots *= 2;
        t->slots = calloc(t->n_slots, sizeof(*t->slots));
        return t->slots ? 0 : -ENOMEM;
}

static int strtab_add(strtab *t, const char *s, uint32_t *ret) {
        size_t n = strlen(s) + 1, mask = t->n_slots - 1, i;

        for (i = accountsdb_hash_name(s) & mask; t->slots[i]; i = (i + 1) & mask)
                if (strcmp(t->data + t->slots[i] - 1, s) == 0) {
                        *ret = t->slots[i] - 1;
                        return 0;
                }
        if (t->len + n > ACCOUNTSDB_MAX_SIZE)
                return -EFBIG;
        if (t->len + n > t->cap) {
                size_t cap = MAX(t->cap * 2, t->len + n + 4096);
                char *d = realloc(t->data, cap);

                if (!d)
                        return -ENOMEM;
                t->data = d;
                t->cap = cap;
        }
        memcpy(t->data + t->len, s, n);
        *ret = (uint32_t) t->len;
        t->slots[i] = (uint32_t) t->len + 1;
        t->len += n;
        /* Keep the load at most one half. */
        if (++t->n * 2 > t->n_slots) {
                size_t ns = t->n_slots * 2;
                uint32_t *sl = calloc(ns, sizeof(*sl));

                if (!sl)
                        return -ENOMEM;
                for (size_t k = 0; k < t->n_slots; k++) {
                        size_t j;

                        if (!t->slots[k])
                                continue;
                        for (j = accountsdb_hash_name(t->data + t->slots[k] - 1) & (ns - 1); sl[j];
                             j = (j + 1) & (ns - 1))
                                ;
                        sl[j] = t->slots[k];
                }
                free(t->slots);
                t->slots = sl;
                t->n_slots = ns;
        }
        return 0;
}

static uint32_t slots_for(size_t n) {
        uint32_t s = 1;

        while (s < 2 * n + 1)
                s *= 2;
        return s;
}

/* Inserts entry e with hash h into an index (uint32 slots, entry + 1);
 * same(e, other) says whether an occupied slot has the same key: then the
 * other entry is returned in *ret_dup and -EEXIST. */
typedef bool (*same_fn)(const void *ctx, size_t a, size_t b);

static int index_insert(uint32_t *slots, uint32_t n_slots, uint32_t h, size_t e, same_fn same,
                        const void *ctx, size_t *ret_dup) {
        uint32_t mask = n_slots - 1, i;

        for (i = h & mask; slots[i]; i = (i + 1) & mask)
                if (same(ctx, e, slots[i] - 1)) {
                        *ret_dup = slots[i] - 1;
                        return -EEXIST;
                }
        slots[i] = (uint32_t) e + 1;
        return 0;
}

static bool same_user_name(const void *ctx, size_t a, size_t b) {
        const accountsdb_set *s = ctx;
        return strcmp(s->users[a].name, s->users[b].name) == 0;
}
static bool same_user_uid(const void *ctx, size_t a, size_t b) {
        const accountsdb_set *s = ctx;
        return s->users[a].uid == s->users[b].uid;
}
static bool same_group_name(const void *ctx, size_t a, size_t b) {
        const accountsdb_set *s = ctx;
        return strcmp(s->groups[a].name, s->groups[b].name) == 0;
}
static bool same_group_gid(const void *ctx, size_t a, size_t b) {
        const accountsdb_set *s = ctx;
        return s->groups[a].gid == s->groups[b].gid;
}

typedef struct membership {
        const char *name;
        uint32_t name_off, group;
} membership;

static int membership_cmp(const void *a, const void *b) {
        const membership *x = a, *y = b;
        int c = strcmp(x->name, y->name);

        if (c != 0)
                return c;
        return x->group < y->group ? -1 : x->group > y->group;
}

static bool same_member(const void *ctx, size_t a, size_t b) {
        const membership *m = ctx;
        return strcmp(m[a].name, m[b].name) == 0;
}

int accountsdb_serialize(const accountsdb_set *s, void **ret, size_t *ret_len, char **ret_error) {
        _cleanup_free_ membership *ms = NULL;
        _cleanup_free_ uint8_t *out = NULL;
        uint32_t slots[_ACCOUNTSDB_IDX_MAX], idx_off[_ACCOUNTSDB_IDX_MAX];
        uint32_t users_off, groups_off, members_off, memberships_off, strings_off;
        size_t n_members = 0, n_ms = 0, n_distinct = 0, size, dup;
        strtab t;
        int r;

        if (s->n_users > UINT32_MAX / 4 || s->n_groups > UINT32_MAX / 4)
                return errmsg_set(ret_error, -EFBIG, "too many accounts");
        for (size_t i = 0; i < s->n_users; i++) {
                const accountsdb_user *u = &s->users[i];

                if ((r = check_name("name", u->name, ret_error)) < 0 ||
                    (r = check_text_field("gecos", u->gecos, false, ret_error)) < 0 ||
                    (r = check_text_field("home", u->home, true, ret_error)) < 0 ||
                    (r = check_text_field("shell", u->shell, true, ret_error)) < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_groups; i++) {
                if ((r = check_name("group", s->groups[i].name, ret_error)) < 0)
                        return r;
                for (size_t k = 0; k < s->groups[i].n_members; k++)
                        if ((r = check_name("member", s->groups[i].members[k], ret_error)) < 0)
                                return r;
                n_members += s->groups[i].n_members;
        }
        if (n_members > UINT32_MAX / 16)
                return errmsg_set(ret_error, -EFBIG, "too many group members");

        r = strtab_init(&t, s->n_users * 3 + s->n_groups + 16);
        if (r < 0)
                return errmsg_set(ret_error, r, "%s", strerror(-r));
        ms = calloc(n_members + 1, sizeof(*ms));
        if (!ms) {
                r = -ENOMEM;
                goto fail_errno;
        }
        /* One table first: the empty string at offset 0. */
        uint32_t off0;
        if ((r = strtab_add(&t, "", &off0)) < 0)
                goto fail_errno;

        for (size_t i = 0; i < s->n_groups; i++)
                for (size_t k = 0; k < s->groups[i].n_members; k++)
                        ms[n_ms++] = (membership){.name = s->groups[i].members[k], .group = (uint32_t) i};
        qsort(ms, n_ms, sizeof(*ms), membership_cmp);
        for (size_t i = 0; i < n_ms; i++)
                if (i == 0 || strcmp(ms[i].name, ms[i - 1].name) != 0)
                        n_distinct++;

        slots[ACCOUNTSDB_IDX_USER_NAME] = slots[ACCOUNTSDB_IDX_USER_UID] = slots_for(s->n_users);
        slots[ACCOUNTSDB_IDX_GROUP_NAME] = slots[ACCOUNTSDB_IDX_GROUP_GID] = slots_for(s->n_groups);
        slots[ACCOUNTSDB_IDX_MEMBER] = slots_for(n_ms);

        /* Layout: header, users, groups, members, memberships, indexes,
         * strings (sizes fit: the counts were capped above). */
        size = ACCOUNTSDB_HEADER_SIZE;
        users_off = (uint32_t) size;
        size += s->n_users * USER_REC_SIZE;
        groups_off = (uint32_t) size;
        size += s->n_groups * GROUP_REC_SIZE;
        members_off = (uint32_t) size;
        size += n_members * 4;
        memberships_off = (uint32_t) size;
        size += n_ms * MEMBERSHIP_SIZE;
        for (int i = 0; i < _ACCOUNTSDB_IDX_MAX; i++) {
                if (size > ACCOUNTSDB_MAX_SIZE) {
                        r = -EFBIG;
                        goto fail_errno;
                }
                idx_off[i] = (uint32_t) size;
                size += (size_t) slots[i] * 4;
        }
        if (size > ACCOUNTSDB_MAX_SIZE) {
                r = -EFBIG;
                goto fail_errno;
        }
        strings_off = (uint32_t) size;

        /* Records refer to string offsets, so the table is complete before
         * the file is: build records into a buffer sized for everything but
         * the strings, then append them. */
        out = calloc(1, size);
        if (!out) {
                r = -ENOMEM;
                goto fail_errno;
        }
        for (size_t i = 0; i < s->n_users; i++) {
                const accountsdb_user *u = &s->users[i];
                uint8_t *p = out + users_off + i * USER_REC_SIZE;
                uint32_t o[4];

                if ((r = strtab_add(&t, u->name, &o[0])) < 0 || (r = strtab_add(&t, u->gecos, &o[1])) < 0 ||
                    (r = strtab_add(&t, u->home, &o[2])) < 0 || (r = strtab_add(&t, u->shell, &o[3])) < 0)
                        goto fail_errno;
                put32(p, o[0]);
                put32(p + 4, u->uid);
                put32(p + 8, u->gid);
                put32(p + 12, o[1]);
                put32(p + 16, o[2]);
                put32(p + 20, o[3]);
                r = index_insert((uint32_t *) (void *) (out + idx_off[ACCOUNTSDB_IDX_USER_NAME]),
                                 slots[ACCOUNTSDB_IDX_USER_NAME], accountsdb_hash_name(u->name), i,
                                 same_user_name, s, &dup);
                if (r < 0) {
                        r = errmsg_set(ret_error, -EEXIST, "name \"%s\": listed twice", u->name);
                        goto fail;
                }
                r = index_insert((uint32_t *) (void *) (out + idx_off[ACCOUNTSDB_IDX_USER_UID]),
                                 slots[ACCOUNTSDB_IDX_USER_UID], accountsdb_hash_id(u->uid), i,
                                 same_user_uid, s, &dup);
                if (r < 0) {
                        r = errmsg_set(ret_error, -EEXIST, "uid %u: used by \"%s\" and \"%s\"", u->uid,
                                       s->users[dup].name, u->name);
                        goto fail;
                }
        }
        for (size_t i = 0, m = 0; i < s->n_groups; i++) {
                const accountsdb_group *g = &s->groups[i];
                uint8_t *p = out + groups_off + i * GROUP_REC_SIZE;
                uint32_t o;

                if ((r = strtab_add(&t, g->name, &o)) < 0)
                        goto fail_errno;
                put32(p, o);
                put32(p + 4, g->gid);
                put32(p + 8, (uint32_t) m);
                put32(p + 12, (uint32_t) g->n_members);
                for (size_t k = 0; k < g->n_members; k++, m++) {
                        if ((r = strtab_add(&t, g->members[k], &o)) < 0)
                                goto fail_errno;
                        put32(out + members_off + 4 * m, o);
                }
                r = index_insert((uint32_t *) (void *) (out + idx_off[ACCOUNTSDB_IDX_GROUP_NAME]),
                                 slots[ACCOUNTSDB_IDX_GROUP_NAME], accountsdb_hash_name(g->name), i,
                                 same_group_name, s, &dup);
                if (r < 0) {
                        r = errmsg_set(ret_error, -EEXIST, "group \"%s\": listed twice", g->name);
                        goto fail;
                }
                r = index_insert((uint32_t *) (void *) (out + idx_off[ACCOUNTSDB_IDX_GROUP_GID]),
                                 slots[ACCOUNTSDB_IDX_GROUP_GID], accountsdb_hash_id(g->gid), i,
                                 same_group_gid, s, &dup);
                if (r < 0) {
                        r = errmsg_set(ret_error, -EEXIST, "gid %u: used by groups \"%s\" and \"%s\"",
                                       g->gid, s->groups[dup].name, g->name);
                        goto fail;
                }
        }
        for (size_t i = 0; i < n_ms; i++) {
                uint32_t o;

                if ((r = strtab_add(&t, ms[i].name, &o)) < 0)
                        goto fail_errno;
                put32(out + memberships_off + i * MEMBERSHIP_SIZE, o);
                put32(out + memberships_off + i * MEMBERSHIP_SIZE + 4, ms[i].group);
                /* Only the first of a member's run is indexed. */
                if (i == 0 || strcmp(ms[i].name, ms[i - 1].name) != 0)
                        (void) index_insert((uint32_t *) (void *) (out + idx_off[ACCOUNTSDB_IDX_MEMBER]),
                                            slots[ACCOUNTSDB_IDX_MEMBER], accountsdb_hash_name(ms[i].name),
                                            i, same_member, ms, &dup);
        }
        (void) n_distinct;
        /* The index slots were written in host order above: fix them. */
        for (int i = 0; i < _ACCOUNTSDB_IDX_MAX; i++)
                for (uint32_t k = 0; k < slots[i]; k++) {
                        uint32_t v;

                        memcpy(&v, out + idx_off[i] + 4 * (size_t) k, 4);
                        put32(out + idx_off[i] + 4 * (size_t) k, v);
                }

        {
                size_t total = size + ((t.len + 3) & ~(size_t) 3);
                uint8_t *o;

                if (total > ACCOUNTSDB_MAX_SIZE) {
                        r = -EFBIG;
                        goto fail_errno;
                }
                o = realloc(out, total);
                if (!o) {
                        r = -ENOMEM;
                        goto fail_errno;
                }
                out = o;
                memset(out + size, 0, total - size);
                memcpy(out + size, t.data, t.len);

                memcpy(out, ACCOUNTSDB_MAGIC, 8);
                put32(out + 8, ACCOUNTSDB_VERSION);
                put32(out + 12, ACCOUNTSDB_HEADER_SIZE);
                put32(out + ACCOUNTSDB_STALE_OFFSET, 0);
                put64(out + 32, total);
                put32(out + 40, (uint32_t) s->n_users);
                put32(out + 44, (uint32_t) s->n_groups);
                put32(out + 48, (uint32_t) n_ms);
                put32(out + 52, strings_off);
                put32(out + 56, (uint32_t) t.len);
                put32(out + 60, users_off);
                put32(out + 64, groups_off);
                put32(out + 68, members_off);
                put32(out + 72, (uint32_t) n_members);
                put32(out + 76, memberships_off);
                for (int i = 0; i < _ACCOUNTSDB_IDX_MAX; i++) {
                        put32(out + 80 + 4 * i, idx_off[i]);
                        put32(out + 100 + 4 * i, slots[i]);
                }
                put64(out + 16, accountsdb_checksum(out + ACCOUNTSDB_CHECKSUM_START,
                                                    total - ACCOUNTSDB_CHECKSUM_START));
                *ret_len = total;
        }
        *ret = TAKE_PTR(out);
        strtab_done(&t);
        return 0;

fail_errno:
        r = errmsg_set(ret_error, r, "serialize accounts database: %s", strerror(-r));
fail:
        strtab_done(&t);
        return r;
}

/* ---- locked replacement ---- */

/* mkdir -p of the database's directory with 0755: the database must be
 * reachable by every user. */
static int mkdir_parents(const char *path, char **ret_error) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = 0;
        return safefile_mkdir_parents(dir, 0755, ret_error);
}

static int replace_file(const char *path, const void *data, size_t len, char **ret_error) {
        _cleanup_free_ char *dir = NULL, *tmp = NULL;
        _cleanup_close_ int dfd = -1, fd = -1;
        const char *base;
        struct stat st;
        int r;

        base = strrchr(path, '/');
        dir = base ? strndup(path, (size_t) (base - path)) : strdup(".");
        if (!dir)
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        if (dir[0] == 0) {
                free(dir);
                dir = strdup("/");
                if (!dir)
                        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        }
        base = base ? base + 1 : path;
        if (asprintf(&tmp, ".%s.XXXXXX", base) < 0) {
                tmp = NULL;
                return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
        }

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return errmsg_set(ret_error, negative_errno(), "open directory %s: %m", dir);
        /* safefile_lock_acquire checked the directory; re-check this fd. */
        if (fstat(dfd, &st) < 0)
                return errmsg_set(ret_error, negative_errno(), "stat %s: %m", dir);
        if ((st.st_mode & 0022) || (st.st_uid != 0 && st.st_uid != geteuid()))
                return errmsg_set(
                        ret_error, -EPERM,
                        "directory %s must be owned by root or uid %u and not writable by group or others",
                        dir, (unsigned) geteuid());

        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
                if (S_ISLNK(st.st_mode))
                        return errmsg_set(ret_error, -ELOOP, "refusing to replace %s: it is a symbolic link",
                                          path);
                if (!S_ISREG(st.st_mode))
                        return errmsg_set(ret_error, -EINVAL,
                                          "refusing to replace %s: it is not a regular file", path);
                if (st.st_nlink != 1)
                        return errmsg_set(ret_error, -EINVAL,
                                          "refusing to replace %s: it has %ju hard links", path,
                                          (uintmax_t) st.st_nlink);
                if (st.st_uid != geteuid())
                        return errmsg_set(ret_error, -EPERM, "refusing to replace %s: it is owned by uid %u",
                                          path, (unsigned) st.st_uid);
        } else if (errno != ENOENT)
                return errmsg_set(ret_error, negative_errno(), "stat %s: %m", path);

        /* A named temp file (mkostemp semantics, relative to dfd); removed on
         * every failure below. */
        for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
                char *x = tmp + strlen(tmp) - 6;
                uint64_t v;

                if (getentropy(&v, sizeof(v)) < 0)
                        return errmsg_set(ret_error, negative_errno(), "getentropy: %m");
                for (int i = 0; i < 6; i++, v /= 36)
                        x[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[v % 36];
                fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0 && errno != EEXIST)
                        return errmsg_set(ret_error, negative_errno(), "create temporary file in %s: %m",
                                          dir);
        }
        if (fd < 0)
                return errmsg_set(ret_error, -EEXIST, "create temporary file in %s: %s", dir,
                                  strerror(EEXIST));
        r = safefile_write_all(fd, data, len);
        if (r < 0) {
                errmsg_set(ret_error, r, "write %s/%s: %s", dir, tmp, strerror(-r));
                goto fail;
        }
        if (fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
                r = errmsg_set(ret_error, negative_errno(), "write %s/%s: %m", dir, tmp);
                goto fail;
        }
        fd = safe_close(fd);
        if (renameat(dfd, tmp, dfd, base) < 0) {
                r = errmsg_set(ret_error, negative_errno(), "rename %s/%s to %s: %m", dir, tmp, path);
                goto fail;
        }
        if (fsync(dfd) < 0)
                return errmsg_set(ret_error, negative_errno(), "sync directory %s: %m", dir);
        return 0;
fail:
        (void) unlinkat(dfd, tmp, 0);
        return r;
}

int accountsdb_edit(const char *path, accountsdb_edit_fn edit, void *userdata, char **ret_error) {
        _cleanup_(safefile_lock_releasep) safefile_lock *lock = NULL;
        _cleanup_close_ int old_fd = -1;
        _cleanup_free_ void *data = NULL;
        accountsdb_set set = {};
        accountsdb *db = NULL;
        size_t len = 0;
        int r;

        r = mkdir_parents(path, ret_error);
        if (r < 0)
                return r;
        r = safefile_lock_acquire(path, &lock, ret_error);
        if (r < 0)
                return r;

        /* Keep the current file open: after the rename it is marked stale so
         * that processes which mapped it reopen at their next lookup. */
        old_fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (old_fd < 0 && errno != ENOENT)
                return errmsg_set(ret_error, negative_errno(), "open %s: %m", path);
        r = accountsdb_open(path, &db);
        if (r == -EBADMSG)
                return errmsg_set(ret_error, r,
                                  "accounts database %s is corrupt or truncated; refusing to change it "
                                  "(move it away to start over)",
                                  path);
        if (r == -EPERM)
                return errmsg_set(ret_error, r,
                                  "accounts database %s is writable by group or others, or owned by another "
                                  "user; refusing to use it",
                                  path);
        if (r < 0 && r != -ENOENT)
                return errmsg_set(ret_error, r, "open accounts database %s: %s", path, strerror(-r));
        r = accountsdb_set_load(db, &set);
        accountsdb_close(db);
        if (r < 0)
                return errmsg_set(ret_error, r, "read accounts database %s: %s", path, strerror(-r));

        r = edit(&set, userdata, ret_error);
        if (r < 0) {
                errmsg_prefix(ret_error, r, "%s", path);
                goto out;
        }
        if (r == 1) {
                r = 0;
                goto out;
        }
        r = accountsdb_serialize(&set, &data, &len, ret_error);
        if (r < 0) {
                errmsg_prefix(ret_error, r, "%s", path);
                goto out;
        }
        r = replace_file(path, data, len, ret_error);
        if (r < 0)
                goto out;
        if (old_fd >= 0) {
                uint32_t one = htole32(1);

                /* Best effort: readers also notice the new inode by stat. */
                (void) pwrite(old_fd, &one, sizeof(one), ACCOUNTSDB_STALE_OFFSET);
        }
out:
        accountsdb_set_done(&set);
        return r;
}

typedef struct add_args {
        const accountsdb_user *u;
        bool per_user_group;
        unsigned flags;
} add_args;

static int add_cb(accountsdb_set *s, void *userdata, char **ret_error) {
        const add_args *a = userdata;

        return accountsdb_set_add_user(s, a->u, a->per_user_group, a->flags, ret_error);
}

int accountsdb_add(const char *path, const accountsdb_user *u, bool per_user_group, unsigned flags,
                   char **ret_error) {
        add_args a = {.u = u, .per_user_group = per_user_group, .flags = flags};

        return accountsdb_edit(path, add_cb, &a, ret_error);
}

static int remove_cb(accountsdb_set *s, void *userdata, char **ret_error) {
        return accountsdb_set_remove_user(s, userdata, ret_error);
}

int accountsdb_remove(const char *path, const char *name, char **ret_error) {
        return accountsdb_edit(path, remove_cb, (void *) name, ret_error);
}

/* ---- provisioning ---- */

typedef struct provision_args {
        const char *name;
        const accountsdb_provision_params *p;
        accountsdb_user *ret;
} provision_args;

static bool uid_used(const accountsdb_set *s, uint32_t id, bool group_too) {
        for (size_t i = 0; i < s->n_users; i++)
                if (s->users[i].uid == id)
                        return true;
        for (size_t i = 0; group_too && i < s->n_groups; i++)
                if (s->groups[i].gid == id)
                        return true;
        return false;
}

static int provision_cb(accountsdb_set *s, void *userdata, char **ret_error) {
        const provision_args *a = userdata;
        const accountsdb_provision_params *p = a->p;
        _cleanup_free_ char *home = NULL;
        accountsdb_user *existing = set_find_user(s, a->name), nu;
        bool per_user_group = p->gid == 0;
        uint32_t size, start;
        uint64_t h;
        uid_t other;
        int r;

        if (existing) {
                /* Kept as it is: the uid of an account never changes. */
                if (a->ret && user_copy(existing, a->ret) < 0)
                        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
                return 1;
        }
        if (sys_lookup_user(a->name, 0, &other, NULL, 0))
                return errmsg_set(
                        ret_error, -EEXIST,
                        "name \"%s\": belongs to a system account (uid %u) that is not an rstream account",
                        a->name, other);
        if (per_user_group && sys_lookup_group(a->name, 0, &other, NULL, 0))
                return errmsg_set(ret_error, -EEXIST, "group \"%s\": already a system group (gid %u)",
                                  a->name, other);

        size = p->uid_max - p->uid_min + 1; /* 0 for the whole 32-bit range: refused by the caller */
        h = p->seed && p->seed_len ? accountsdb_checksum(p->seed, p->seed_len)
                                   : accountsdb_checksum(a->name, strlen(a->name));
        start = (uint32_t) (h % size);
        for (uint32_t k = 0; k < size; k++) {
                uint32_t uid = p->uid_min + (uint32_t) ((start + (uint64_t) k) % size);

                if (uid == 0 || uid == 65534 || uid == 65535 || uid == UINT32_MAX)
                        continue;
                if (uid_used(s, uid, per_user_group) || sys_lookup_user(NULL, uid, NULL, NULL, 0))
                        continue;
                if (per_user_group && sys_lookup_group(NULL, uid, NULL, NULL, 0))
                        continue;

                if (!p->home && asprintf(&home, "/home/%s", a->name) < 0)
                        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
                nu = (accountsdb_user){
                        .name = a->name,
                        .uid = uid,
                        .gid = per_user_group ? uid : p->gid,
                        .gecos = p->gecos ? p->gecos : "",
                        .home = p->home ? p->home : home,
                        .shell = p->shell ? p->shell : "/bin/sh",
                };
                /* The system checks are done (and the range comes from a
                 * checked policy): FORCE skips repeating them. */
                r = accountsdb_set_add_user(s, &nu, per_user_group, ACCOUNTSDB_FORCE, ret_error);
                if (r < 0)
                        return r;
                if (a->ret && user_copy(&nu, a->ret) < 0)
                        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
                return 0;
        }
        return errmsg_set(ret_error, -ENOSPC, "no free uid in [%u, %u] for \"%s\"", (unsigned) p->uid_min,
                          (unsigned) p->uid_max, a->name);
}

int accountsdb_provision(const char *path, const char *name, const accountsdb_provision_params *params,
                         accountsdb_user *ret, char **ret_error) {
        provision_args a = {.name = name, .p = params, .ret = ret};
        int r;

        if (ret)
                *ret = (accountsdb_user){};
        if (!accountsdb_name_valid(name))
                return check_name("name", name, ret_error);
        if (params->uid_min == 0 || params->uid_min > params->uid_max || false)
                return errmsg_set(ret_error, -EINVAL, "uid range [%u, %u]: invalid",
                                  (unsigned) params->uid_min, (unsigned) params->uid_max);
        r = accountsdb_edit(path, provision_cb, &a, ret_error);
        if (r < 0 && ret)
                accountsdb_user_done(ret);
        return r;
}
