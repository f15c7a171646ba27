/* policy/accountsdb-read.c and accountsdb-write.c: round trips through the
 * file format, every lookup, -ERANGE copies, refusal of corrupt files
 * (truncation at every length, every flipped byte, bad offsets with a valid
 * checksum), the locked writer (modes, refusals and their messages), the
 * stale mark and provisioning. */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accountsdb.h"
#include "files-util.h"
#include "macro.h"

static char *dir;

static void setup(void) {
        dir = scratch_dir();
}

static void teardown(void) {
        scratch_remove(dir);
        dir = NULL;
}

/* n users u0..u(n-1), uid = gid = base + i, per-user groups, plus "staff"
 * (gid 250000) with members u1, u3, u5 and "dev" (250001) with u1, u2. */
static void build_set(accountsdb_set *s, size_t n, uint32_t base) {
        *s = (accountsdb_set){};
        for (size_t i = 0; i < n; i++) {
                char name[32], gecos[64], home[64];
                accountsdb_user u;

                snprintf(name, sizeof(name), "u%zu", i);
                snprintf(gecos, sizeof(gecos), "User %zu", i);
                snprintf(home, sizeof(home), "/home/u%zu", i);
                u = (accountsdb_user){.name = name,
                                      .uid = base + (uint32_t) i,
                                      .gid = base + (uint32_t) i,
                                      .gecos = gecos,
                                      .home = home,
                                      .shell = "/bin/bash"};
                ck_assert_int_eq(accountsdb_set_add_user(s, &u, true, ACCOUNTSDB_FORCE, NULL), 0);
        }
        /* Shared groups with members. */
        static const char *const staff[] = {"u1", "u3", "u5"}, *const dev[] = {"u2", "u1"};
        ck_assert_int_eq(accountsdb_set_add_group(s, "staff", 250000, staff, 3, NULL), 0);
        ck_assert_int_eq(accountsdb_set_add_group(s, "dev", 250001, dev, 2, NULL), 0);
}

static void *serialize(const accountsdb_set *s, size_t *len) {
        void *data = NULL;
        char *err = NULL;

        ck_assert_msg(accountsdb_serialize(s, &data, len, &err) == 0, "%s", err ? err : "?");
        return data;
}

/* A copy of exactly len bytes, so that ASan sees any read past the end. */
static void *exact_copy(const void *p, size_t len) {
        void *c = malloc(len ? len : 1);

        ck_assert_ptr_nonnull(c);
        memcpy(c, p, len);
        return c;
}

static uint32_t rd32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, 4);
        return le32toh(v);
}

static void wr32(uint8_t *p, uint32_t v) {
        v = htole32(v);
        memcpy(p, &v, 4);
}

static void rechecksum(uint8_t *p, size_t len) {
        uint64_t c =
                htole64(accountsdb_checksum(p + ACCOUNTSDB_CHECKSUM_START, len - ACCOUNTSDB_CHECKSUM_START));
        memcpy(p + 16, &c, 8);
}

static void check_all_lookups(const accountsdb *db, size_t n, uint32_t base) {
        accountsdb_user u;
        accountsdb_group g;

        ck_assert_uint_eq(accountsdb_n_users(db), n);
        ck_assert_uint_eq(accountsdb_n_groups(db), n + 2);
        for (size_t i = 0; i < n; i++) {
                char name[32], gecos[64];

                snprintf(name, sizeof(name), "u%zu", i);
                snprintf(gecos, sizeof(gecos), "User %zu", i);
                ck_assert_int_eq(accountsdb_user_by_name(db, name, &u), 0);
                ck_assert_str_eq(u.name, name);
                ck_assert_uint_eq(u.uid, base + i);
                ck_assert_uint_eq(u.gid, base + i);
                ck_assert_str_eq(u.gecos, gecos);
                ck_assert_str_eq(u.shell, "/bin/bash");
                ck_assert_int_eq(accountsdb_user_by_uid(db, base + (uint32_t) i, &u), 0);
                ck_assert_str_eq(u.name, name);
                ck_assert_int_eq(accountsdb_user_at(db, i, &u), 0);
                ck_assert_str_eq(u.name, name);
                ck_assert_int_eq(accountsdb_group_by_name(db, name, &g), 0);
                ck_assert_uint_eq(g.gid, base + i);
                ck_assert_uint_eq(g.n_members, 0);
                ck_assert_int_eq(accountsdb_group_by_gid(db, base + (uint32_t) i, &g), 0);
                ck_assert_str_eq(g.name, name);
        }
        ck_assert_int_eq(accountsdb_user_at(db, n, &u), -ENOENT);
        ck_assert_int_eq(accountsdb_group_at(db, n + 2, &g), -ENOENT);
        ck_assert_int_eq(accountsdb_user_by_name(db, "nobody-here", &u), -ENOENT);
        ck_assert_int_eq(accountsdb_user_by_name(db, "", &u), -ENOENT);
        ck_assert_int_eq(accountsdb_user_by_name(db, "a-name-far-longer-than-thirty-two-bytes-x", &u),
                         -ENOENT);
        ck_assert_int_eq(accountsdb_user_by_uid(db, base + (uint32_t) n, &u), -ENOENT);
        ck_assert_int_eq(accountsdb_user_by_uid(db, 0, &u), -ENOENT);
        ck_assert_int_eq(accountsdb_group_by_gid(db, 1, &g), -ENOENT);

        ck_assert_int_eq(accountsdb_group_by_name(db, "staff", &g), 0);
        ck_assert_uint_eq(g.gid, 250000);
        ck_assert_uint_eq(g.n_members, 3);
        ck_assert_str_eq(accountsdb_group_member(db, &g, 0), "u1");
        ck_assert_str_eq(accountsdb_group_member(db, &g, 2), "u5");
        ck_assert_ptr_null(accountsdb_group_member(db, &g, 3));
        ck_assert_int_eq(accountsdb_group_by_gid(db, 250001, &g), 0);
        ck_assert_str_eq(g.name, "dev");
}

static void check_members(const accountsdb *db) {
        size_t c = 0;
        gid_t gid, seen[4];
        int n = 0;

        while (accountsdb_member_next(db, "u1", &c, &gid) > 0 && n < 4)
                seen[n++] = gid;
        ck_assert_int_eq(n, 2);
        ck_assert(seen[0] != seen[1]);
        ck_assert(seen[0] == 250000 || seen[0] == 250001);
        ck_assert(seen[1] == 250000 || seen[1] == 250001);
        c = 0;
        ck_assert_int_eq(accountsdb_member_next(db, "u5", &c, &gid), 1);
        ck_assert_uint_eq(gid, 250000);
        ck_assert_int_eq(accountsdb_member_next(db, "u5", &c, &gid), 0);
        c = 0;
        ck_assert_int_eq(accountsdb_member_next(db, "u4", &c, &gid), 0);
}

START_TEST(test_round_trip) {
        accountsdb_set s;
        accountsdb *db = NULL;
        size_t len;
        void *data;

        build_set(&s, 2000, 300000);
        data = serialize(&s, &len);
        ck_assert_int_eq(accountsdb_open_memory(data, len, &db), 0);
        check_all_lookups(db, 2000, 300000);
        check_members(db);
        ck_assert(!accountsdb_is_stale(db));
        accountsdb_close(db);

        /* Through the file, and back into a set that serializes identically. */
        char *path = join(dir, "accounts.db");
        write_text(path, "", 0644);
        int fd = open(path, O_WRONLY | O_TRUNC);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
        ck_assert_int_eq(accountsdb_open(path, &db), 0);
        check_all_lookups(db, 2000, 300000);
        accountsdb_set s2;
        ck_assert_int_eq(accountsdb_set_load(db, &s2), 0);
        size_t len2;
        void *data2 = serialize(&s2, &len2);
        ck_assert_uint_eq(len, len2);
        ck_assert(memcmp(data, data2, len) == 0);
        accountsdb_close(db);
        accountsdb_set_done(&s);
        accountsdb_set_done(&s2);
        free(data);
        free(data2);
        free(path);
}
END_TEST

START_TEST(test_empty) {
        accountsdb_set s = {};
        accountsdb *db = NULL;
        accountsdb_user u;
        size_t len, c = 0;
        gid_t gid;
        void *data = serialize(&s, &len);

        ck_assert_int_eq(accountsdb_open_memory(data, len, &db), 0);
        ck_assert_uint_eq(accountsdb_n_users(db), 0);
        ck_assert_int_eq(accountsdb_user_by_name(db, "root", &u), -ENOENT);
        ck_assert_int_eq(accountsdb_user_by_uid(db, 1000, &u), -ENOENT);
        ck_assert_int_eq(accountsdb_member_next(db, "root", &c, &gid), 0);
        accountsdb_close(db);
        free(data);
}
END_TEST

START_TEST(test_erange) {
        accountsdb_set s;
        accountsdb *db = NULL;
        accountsdb_user u;
        accountsdb_group g;
        struct passwd pw;
        struct group gr;
        size_t len, need_pw = 0, need_gr = 0;
        void *data;

        build_set(&s, 10, 300000);
        data = serialize(&s, &len);
        ck_assert_int_eq(accountsdb_open_memory(data, len, &db), 0);
        ck_assert_int_eq(accountsdb_user_by_name(db, "u3", &u), 0);
        ck_assert_int_eq(accountsdb_group_by_name(db, "staff", &g), 0);
        for (size_t n = 0; n < 512; n++) {
                char *buf = malloc(n ? n : 1);
                int r = accountsdb_user_to_passwd(&u, &pw, buf, n);

                if (r == 0 && !need_pw) {
                        need_pw = n;
                        ck_assert_str_eq(pw.pw_name, "u3");
                        ck_assert_str_eq(pw.pw_passwd, "*");
                        ck_assert_str_eq(pw.pw_gecos, "User 3");
                        ck_assert_str_eq(pw.pw_dir, "/home/u3");
                        ck_assert_str_eq(pw.pw_shell, "/bin/bash");
                        ck_assert_uint_eq(pw.pw_uid, 300003);
                } else if (!need_pw)
                        ck_assert_int_eq(r, -ERANGE);
                else
                        ck_assert_int_eq(r, 0);
                r = accountsdb_group_to_group(db, &g, &gr, buf, n);
                if (r == 0 && !need_gr) {
                        need_gr = n;
                        ck_assert_str_eq(gr.gr_name, "staff");
                        ck_assert_str_eq(gr.gr_mem[0], "u1");
                        ck_assert_str_eq(gr.gr_mem[1], "u3");
                        ck_assert_str_eq(gr.gr_mem[2], "u5");
                        ck_assert_ptr_null(gr.gr_mem[3]);
                } else if (!need_gr)
                        ck_assert_int_eq(r, -ERANGE);
                free(buf);
        }
        /* "u3" "*" "User 3" "/home/u3" "/bin/bash" with their NULs. */
        ck_assert_uint_eq(need_pw, 3 + 2 + 7 + 9 + 10);
        ck_assert_uint_gt(need_gr, 4 * sizeof(char *));
        accountsdb_close(db);
        accountsdb_set_done(&s);
        free(data);
}
END_TEST

START_TEST(test_truncated_every_length) {
        accountsdb_set s;
        accountsdb *db = NULL;
        size_t len;
        uint8_t *data;

        build_set(&s, 6, 300000);
        data = serialize(&s, &len);
        for (size_t n = 0; n < len; n++) {
                void *c = exact_copy(data, n);

                ck_assert_int_eq(accountsdb_open_memory(c, n, &db), -EBADMSG);
                ck_assert_ptr_null(db);
                free(c);
        }
        accountsdb_set_done(&s);
        free(data);
}
END_TEST

START_TEST(test_flipped_bytes) {
        accountsdb_set s;
        accountsdb *db = NULL;
        size_t len;
        uint8_t *data;

        build_set(&s, 6, 300000);
        data = serialize(&s, &len);
        for (size_t i = 0; i < len; i++) {
                uint8_t *c = exact_copy(data, len);
                int r;

                c[i] ^= 0x41;
                r = accountsdb_open_memory(c, len, &db);
                /* The stale mark and its neighbour are outside the checksum
                 * by design (the writer sets it on the old file). */
                if (i >= ACCOUNTSDB_STALE_OFFSET && i < ACCOUNTSDB_CHECKSUM_START) {
                        ck_assert_int_eq(r, 0);
                        accountsdb_close(db);
                } else
                        ck_assert_msg(r == -EBADMSG, "flipped byte %zu accepted", i);
                free(c);
        }
        accountsdb_set_done(&s);
        free(data);
}
END_TEST

/* Header fields changed and the checksum recomputed: the structural checks
 * alone must refuse each one. */
START_TEST(test_bad_offsets) {
        static const struct {
                size_t off;
                uint32_t value;
                const char *what;
        } cases[] = {
                {8, 2, "version"},
                {12, 64, "header size"},
                {40, 1000000, "user count"},
                {44, 1000000, "group count"},
                {48, 1000000, "membership count"},
                {52, 1u << 30, "strings offset"},
                {52, 2, "strings offset inside the header"},
                {56, 1u << 30, "strings length"},
                {60, 130, "misaligned users offset"},
                {60, 0xfffffff0u, "users offset"},
                {64, 0xfffffff0u, "groups offset"},
                {68, 0xfffffff0u, "members offset"},
                {72, 1000000, "member count"},
                {76, 0xfffffff0u, "memberships offset"},
                {80, 0xfffffff0u, "index offset"},
                {100, 3, "index slots not a power of two"},
                {100, 1, "index slots not above the count"},
                {104, 0x80000000u, "index slots too many"},
        };
        accountsdb_set s;
        accountsdb *db = NULL;
        size_t len;
        uint8_t *data;

        build_set(&s, 6, 300000);
        data = serialize(&s, &len);
        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
                uint8_t *c = exact_copy(data, len);

                wr32(c + cases[k].off, cases[k].value);
                rechecksum(c, len);
                ck_assert_msg(accountsdb_open_memory(c, len, &db) == -EBADMSG, "%s accepted", cases[k].what);
                free(c);
        }

        /* Record fields: a user's name offset past the strings, a slot
         * naming a missing entry, a group's member range, an invalid name,
         * a strings table not ending in NUL. */
        uint32_t users = rd32(data + 60), groups = rd32(data + 64), strings = rd32(data + 52),
                 slen = rd32(data + 56), idx0 = rd32(data + 80), ms = rd32(data + 76);
        struct {
                size_t off;
                uint32_t value;
                const char *what;
        } recs[] = {
                {users, slen, "user name offset"},        {users + 16, 0xffffffffu, "home offset"},
                {groups + 8, 1000, "member range start"}, {groups + 12, 1000, "member count"},
                {ms + 4, 1000, "membership group index"}, {idx0, 1000, "index slot entry"},
        };
        for (size_t k = 0; k < sizeof(recs) / sizeof(recs[0]); k++) {
                uint8_t *c = exact_copy(data, len);

                /* The first index slot may be empty: put a value in any. */
                wr32(c + recs[k].off, recs[k].value);
                rechecksum(c, len);
                ck_assert_msg(accountsdb_open_memory(c, len, &db) == -EBADMSG, "%s accepted", recs[k].what);
                free(c);
        }
        {
                uint8_t *c = exact_copy(data, len);

                /* uid 0, gid 0, a group with gid 0. */
                wr32(c + users + 4, 0);
                rechecksum(c, len);
                ck_assert_int_eq(accountsdb_open_memory(c, len, &db), -EBADMSG);
                memcpy(c, data, len);
                wr32(c + users + 8, 0);
                rechecksum(c, len);
                ck_assert_int_eq(accountsdb_open_memory(c, len, &db), -EBADMSG);
                memcpy(c, data, len);
                wr32(c + groups + 4, 0);
                rechecksum(c, len);
                ck_assert_int_eq(accountsdb_open_memory(c, len, &db), -EBADMSG);
                free(c);
        }
        {
                uint8_t *c = exact_copy(data, len);

                c[strings + slen - 1] = 'x';
                rechecksum(c, len);
                ck_assert_int_eq(accountsdb_open_memory(c, len, &db), -EBADMSG);
                memcpy(c, data, len);
                /* "u0" -> "U0": not a valid name. */
                char *u0 = memmem(c + strings, slen, "u0", 3);
                ck_assert_ptr_nonnull(u0);
                u0[0] = 'U';
                rechecksum(c, len);
                ck_assert_int_eq(accountsdb_open_memory(c, len, &db), -EBADMSG);
                free(c);
        }
        accountsdb_set_done(&s);
        free(data);
}
END_TEST

START_TEST(test_open_errors) {
        char *missing = join(dir, "missing.db"), *trunc = join(dir, "trunc.db");
        accountsdb *db = NULL;

        ck_assert_int_eq(accountsdb_open(missing, &db), -ENOENT);
        ck_assert_int_eq(accountsdb_open(dir, &db), -EBADMSG);
        write_text(trunc, "RSACCTDB", 0644);
        ck_assert_int_eq(accountsdb_open(trunc, &db), -EBADMSG);
        ck_assert_ptr_null(db);

        /* A database others may write is refused before it is read. */
        accountsdb_set s = {};
        size_t len;
        void *data = serialize(&s, &len);
        char *good = join(dir, "good.db");
        FILE *f = fopen(good, "we");
        ck_assert_uint_eq(fwrite(data, 1, len, f), len);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(chmod(good, 0644), 0);
        ck_assert_int_eq(accountsdb_open(good, &db), 0);
        accountsdb_close(db);
        ck_assert_int_eq(chmod(good, 0664), 0);
        ck_assert_int_eq(accountsdb_open(good, &db), -EPERM);
        ck_assert_int_eq(chmod(good, 0646), 0);
        ck_assert_int_eq(accountsdb_open(good, &db), -EPERM);
        if (geteuid() == 0) {
                ck_assert_int_eq(chmod(good, 0644), 0);
                ck_assert_int_eq(chown(good, 4242, 0), 0);
                ck_assert_int_eq(accountsdb_open(good, &db), -EPERM);
        }
        free(data);
        free(good);
        free(missing);
        free(trunc);
}
END_TEST

static void add_ok(const char *path, const char *name, uint32_t uid, bool per_user_group, uint32_t gid) {
        accountsdb_user u = {
                .name = name, .uid = uid, .gid = gid, .gecos = "", .home = "/home/x", .shell = "/bin/sh"};
        char *err = NULL;

        ck_assert_msg(accountsdb_add(path, &u, per_user_group, 0, &err) == 0, "%s", err ? err : "?");
}

static void add_fails(const char *path, const accountsdb_user *u, bool per_user_group, unsigned flags,
                      int want, const char *want_msg) {
        char *err = NULL;
        int r = accountsdb_add(path, u, per_user_group, flags, &err);

        ck_assert_int_eq(r, want);
        ck_assert_ptr_nonnull(err);
        ck_assert_msg(strstr(err, want_msg) != NULL, "message \"%s\" lacks \"%s\"", err, want_msg);
        ck_assert_msg(strstr(err, path) != NULL, "message \"%s\" does not name %s", err, path);
        free(err);
}

START_TEST(test_writer) {
        char *sub = join(dir, "a/b"), *path = join(sub, "accounts.db"),
             *lock = join(sub, "accounts.db.lock");
        accountsdb *db = NULL;
        accountsdb_user u;
        struct stat st;
        char *err = NULL;

        add_ok(path, "alice", 400001, true, 400001);
        add_ok(path, "bob", 400002, false, 100);
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0644);
        ck_assert_int_eq(stat(sub, &st), 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
        ck_assert_int_ne(access(lock, F_OK), 0); /* released and removed */

        ck_assert_int_eq(accountsdb_open(path, &db), 0);
        ck_assert_uint_eq(accountsdb_n_users(db), 2);
        ck_assert_uint_eq(accountsdb_n_groups(db), 1); /* bob has gid 100, no group of his own */
        ck_assert_int_eq(accountsdb_user_by_name(db, "bob", &u), 0);
        ck_assert_uint_eq(u.gid, 100);

        accountsdb_user base = {.name = "carol",
                                .uid = 400003,
                                .gid = 400003,
                                .gecos = "",
                                .home = "/home/c",
                                .shell = "/bin/sh"};
        accountsdb_user t;
        t = base, t.name = "alice";
        add_fails(path, &t, true, 0, -EEXIST, "name \"alice\": already in the database");
        t = base, t.uid = t.gid = 400001;
        add_fails(path, &t, true, 0, -EEXIST, "uid 400001: already used by \"alice\"");
        t = base, t.name = "Carol";
        add_fails(path, &t, true, 0, -EINVAL, "name \"Carol\": must match");
        t = base, t.name = "a234567890123456789012345678901234";
        add_fails(path, &t, true, 0, -EINVAL, "at most 32 characters");
        t = base, t.uid = t.gid = 500;
        add_fails(path, &t, true, 0, -EINVAL, "uid 500: below 1000");
        t = base, t.uid = t.gid = 0;
        add_fails(path, &t, true, ACCOUNTSDB_FORCE, -EINVAL, "uid 0: root");
        t = base, t.uid = t.gid = 65534;
        add_fails(path, &t, true, ACCOUNTSDB_FORCE, -EINVAL, "uid 65534: reserved");
        t = base, t.home = "home/c";
        add_fails(path, &t, true, 0, -EINVAL, "home \"home/c\": must be an absolute path");
        t = base, t.shell = "bash";
        add_fails(path, &t, true, 0, -EINVAL, "shell \"bash\": must be an absolute path");
        t = base, t.gecos = "a:b";
        add_fails(path, &t, true, 0, -EINVAL, "gecos \"a:b\": must not contain ':'");
        t = base, t.gecos = "a\nb";
        add_fails(path, &t, true, 0, -EINVAL, "gecos");
        t = base, t.gid = 400004;
        add_fails(path, &t, true, 0, -EINVAL, "gid 400004: a per-user group has gid = uid");
        /* "root" is a system account on every host. */
        t = base, t.name = "root";
        add_fails(path, &t, true, 0, -EEXIST, "name \"root\": already a system account (uid 0)");
        /* With --force a low uid is fine. */
        t = base, t.uid = t.gid = 900;
        ck_assert_msg(accountsdb_add(path, &t, true, ACCOUNTSDB_FORCE, &err) == 0, "%s", err);
        /* Nothing was written by the refused adds. */
        accountsdb_close(db);
        ck_assert_int_eq(accountsdb_open(path, &db), 0);
        ck_assert_uint_eq(accountsdb_n_users(db), 3);

        /* Remove: the account, its own group; bob's group 100 stays foreign. */
        ck_assert_int_eq(accountsdb_remove(path, "alice", &err), 0);
        ck_assert(accountsdb_is_stale(db)); /* the old file was marked */
        accountsdb_close(db);
        ck_assert_int_eq(accountsdb_open(path, &db), 0);
        ck_assert(!accountsdb_is_stale(db));
        ck_assert_int_eq(accountsdb_user_by_name(db, "alice", &u), -ENOENT);
        accountsdb_group g;
        ck_assert_int_eq(accountsdb_group_by_name(db, "alice", &g), -ENOENT);
        ck_assert_int_eq(accountsdb_remove(path, "alice", &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "name \"alice\": no such account"));
        ck_assert_ptr_nonnull(strstr(err, path));
        free(err);
        err = NULL;
        accountsdb_close(db);

        free(sub);
        free(path);
        free(lock);
}
END_TEST

START_TEST(test_writer_refuses_corrupt_and_symlink) {
        char *path = join(dir, "accounts.db"), *other = join(dir, "other"), *link = join(dir, "link.db");
        char *err = NULL;

        write_text(path, "RSACCTDB garbage that is not a database at all, long enough? no.", 0644);
        add_fails(path,
                  &(accountsdb_user){
                          .name = "x", .uid = 5000, .gid = 5000, .gecos = "", .home = "/h", .shell = "/s"},
                  true, 0, -EBADMSG, "is corrupt or truncated");
        write_text(other, "", 0644);
        ck_assert_int_eq(symlink(other, link), 0);
        ck_assert_int_lt(accountsdb_add(link,
                                        &(accountsdb_user){.name = "x",
                                                           .uid = 5000,
                                                           .gid = 5000,
                                                           .gecos = "",
                                                           .home = "/h",
                                                           .shell = "/s"},
                                        true, 0, &err),
                         0);
        ck_assert_ptr_nonnull(err);
        free(err);
        free(path);
        free(other);
        free(link);
}
END_TEST

START_TEST(test_provision) {
        char *p1 = join(dir, "one.db"), *p2 = join(dir, "two.db");
        accountsdb_provision_params params = {
                .uid_min = 610000,
                .uid_max = 610999,
                .home = "/home/rs-alice",
                .shell = "/bin/bash",
                .gecos = "rstream alice",
                .seed = "key-id-alice",
                .seed_len = 12,
        };
        accountsdb_user a = {}, b = {}, c = {};
        char *err = NULL;

        ck_assert_msg(accountsdb_provision(p1, "rs-alice", &params, &a, &err) == 0, "%s", err);
        ck_assert_msg(accountsdb_provision(p2, "rs-alice", &params, &b, &err) == 0, "%s", err);
        /* Stable: the same seed gives the same uid on another database. */
        ck_assert_uint_eq(a.uid, b.uid);
        ck_assert_uint_eq(a.gid, a.uid);
        ck_assert_uint_ge(a.uid, 610000);
        ck_assert_uint_le(a.uid, 610999);
        ck_assert_str_eq(a.home, "/home/rs-alice");
        /* Existing: kept as it is even with another seed. */
        params.seed = "other";
        params.seed_len = 5;
        ck_assert_int_eq(accountsdb_provision(p1, "rs-alice", &params, &c, &err), 0);
        ck_assert_uint_eq(c.uid, a.uid);
        accountsdb_user_done(&c);
        /* A collision moves to the next free uid: take alice's uid with
         * another name on p2 first, with alice's seed. */
        ck_assert_int_eq(accountsdb_remove(p2, "rs-alice", &err), 0);
        params.seed = "key-id-alice";
        params.seed_len = 12;
        ck_assert_int_eq(accountsdb_provision(p2, "rs-bob", &params, &c, &err), 0);
        ck_assert_uint_eq(c.uid, a.uid);
        accountsdb_user_done(&c);
        ck_assert_int_eq(accountsdb_provision(p2, "rs-alice", &params, &c, &err), 0);
        ck_assert_uint_ne(c.uid, a.uid);
        accountsdb_user_done(&c);
        /* A full range. */
        params.uid_min = params.uid_max = 620000;
        ck_assert_int_eq(accountsdb_provision(p1, "rs-x", &params, NULL, &err), 0);
        ck_assert_int_eq(accountsdb_provision(p1, "rs-y", &params, NULL, &err), -ENOSPC);
        ck_assert_ptr_nonnull(strstr(err, "no free uid in [620000, 620000]"));
        /* A system account's name. */
        params.uid_max = 629999;
        ck_assert_int_eq(accountsdb_provision(p1, "root", &params, NULL, &err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err, "not an rstream account"));
        ck_assert_int_eq(accountsdb_provision(p1, "Bad Name", &params, NULL, &err), -EINVAL);
        free(err);
        accountsdb_user_done(&a);
        accountsdb_user_done(&b);
        free(p1);
        free(p2);
}
END_TEST

START_TEST(test_serialize_refuses_duplicates) {
        accountsdb_set s;
        char *err = NULL;
        void *data = NULL;
        size_t len;

        build_set(&s, 4, 300000);
        s.users[2].uid = s.users[1].uid;
        ck_assert_int_eq(accountsdb_serialize(&s, &data, &len, &err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err, "uid 300001: used by \"u1\" and \"u2\""));
        s.users[2].uid = 300002;
        free((char *) s.groups[3].name);
        s.groups[3].name = strdup("u0");
        ck_assert_int_eq(accountsdb_serialize(&s, &data, &len, &err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err, "group \"u0\": listed twice"));
        free(err);
        accountsdb_set_done(&s);
}
END_TEST

START_TEST(test_set_groups) {
        static const char *const bad_member[] = {"ok", "Not-Ok"}, *const one[] = {"u1"};
        accountsdb_set s;
        char *err = NULL;

        build_set(&s, 4, 300000);
        ck_assert_int_eq(accountsdb_set_add_group(&s, "staff", 260000, one, 1, &err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err, "group \"staff\": already in the database"));
        ck_assert_int_eq(accountsdb_set_add_group(&s, "ops", 250000, one, 1, &err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err, "gid 250000: already used by group \"staff\""));
        ck_assert_int_eq(accountsdb_set_add_group(&s, "ops", 260000, bad_member, 2, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "member \"Not-Ok\""));
        ck_assert_int_eq(accountsdb_set_add_group(&s, "ops", 0, one, 1, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "gid 0"));
        /* Removing u1 drops it from staff and dev, and its own group. */
        ck_assert_int_eq(accountsdb_set_remove_user(&s, "u1", &err), 0);
        ck_assert_uint_eq(s.n_users, 3);
        for (size_t i = 0; i < s.n_groups; i++) {
                ck_assert_str_ne(s.groups[i].name, "u1");
                for (size_t k = 0; k < s.groups[i].n_members; k++)
                        ck_assert_str_ne(s.groups[i].members[k], "u1");
        }
        ck_assert_uint_eq(s.n_groups, 3 + 2);
        free(err);
        accountsdb_set_done(&s);
}
END_TEST

/* ---- the CLI (the built helper/webtty) ---- */

#define WEBTTY BUILDDIR "/helper/webtty"

/* Runs `webtty accounts ARGS` (ARGS shell-quoted by the caller) with
 * stderr folded into the output; returns the exit status. */
static int cli(char **out, const char *fmt, ...) _printf_(2, 3);
static int cli(char **out, const char *fmt, ...) {
        char *args = NULL, *cmd = NULL;
        size_t len;
        va_list ap;
        FILE *p;
        int st;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&args, fmt, ap), 0);
        va_end(ap);
        ck_assert_int_ge(
                asprintf(&cmd, "env -u RSTREAM_WEBTTY_ACCOUNTS_DB '%s' accounts %s 2>&1", WEBTTY, args), 0);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        *out = calloc(1, 65536);
        len = fread(*out, 1, 65535, p);
        (*out)[len] = 0;
        st = pclose(p);
        free(args);
        free(cmd);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect(int want_status, const char *want, const char *fmt_path, const char *args) {
        char *out = NULL;
        int st = cli(&out, "%s --db '%s'", args, fmt_path);

        ck_assert_msg(st == want_status, "webtty accounts %s: status %d, output: %s", args, st, out);
        ck_assert_msg(strstr(out, want) != NULL, "webtty accounts %s: output lacks \"%s\": %s", args, want,
                      out);
        free(out);
}

START_TEST(test_cli) {
        char *path = join(dir, "cli/accounts.db");
        char *out = NULL;

        expect(0, "", path, "list"); /* no file yet: empty */
        expect(0, "added rs-alice (uid 61000, gid 61000)", path,
               "add rs-alice --uid 61000 --gecos 'Alice R'");
        expect(0, "added rs-bob (uid 61001, gid 100)", path,
               "add rs-bob --uid 61001 --gid 100 --home /srv/bob --shell /bin/sh");
        expect(0,
               "rs-alice:x:61000:61000:Alice "
               "R:/home/rs-alice:/bin/bash\nrs-bob:x:61001:100::/srv/bob:/bin/sh\n",
               path, "list");
        expect(0, "\"name\": \"rs-bob\"", path, "list --json");
        expect(0, "\"members\": [", path, "list --json");

        /* Refusals name the database and the field. */
        expect(1, "name \"rs-alice\": already in the database", path, "add rs-alice --uid 61005");
        expect(1, path, path, "add rs-alice --uid 61005");
        expect(1, "uid 61000: already used by \"rs-alice\"", path, "add rs-carol --uid 61000");
        expect(1, "uid 999: below 1000", path, "add rs-carol --uid 999");
        expect(1, "uid 0: root", path, "add rs-carol --uid 0 --force");
        expect(1, "name \"Rs-Carol\": must match", path, "add Rs-Carol --uid 61002");
        expect(1, "shell \"sh\": must be an absolute path", path, "add rs-carol --uid 61002 --shell sh");
        expect(1, "gecos \"a:b\": must not contain", path, "add rs-carol --uid 61002 --gecos a:b");
        expect(1, "uid \"12x\": not a number", path, "add rs-carol --uid 12x");
        expect(1, "gid \"-5\": not a number", path, "add rs-carol --uid 61002 --gid -5");
        expect(1, "name \"nobody-here\": no such account", path, "remove nobody-here");
        expect(2, "--uid is required", path, "add rs-carol");
        expect(2, "accepts 1 arg(s), received 0", path, "remove");
        expect(2, "unknown flag --uid", path, "remove rs-bob --uid 5");
        expect(0, "added rs-dave (uid 900, gid 900)", path, "add rs-dave --uid 900 --force");

        expect(0, "removed rs-alice", path, "remove rs-alice");
        expect(0, "rs-bob:x:61001:100::/srv/bob:/bin/sh\nrs-dave:x:900:900::/home/rs-dave:/bin/bash\n", path,
               "list");

        /* A corrupt database is named and refused, by list and by add. */
        write_text(path, "RSACCTDB but nothing else that makes a database", 0644);
        expect(1, "is corrupt or truncated", path, "list");
        expect(1, path, path, "list");
        expect(1, "is corrupt or truncated", path, "add rs-erin --uid 61010");
        /* One others may write is refused by list and add. */
        ck_assert_int_eq(unlink(path), 0);
        expect(0, "added rs-erin", path, "add rs-erin --uid 61010");
        ck_assert_int_eq(chmod(path, 0666), 0);
        expect(1, "is writable by group or others", path, "list");
        expect(1, "is writable by group or others", path, "add rs-fred --uid 61011");

        ck_assert_int_eq(cli(&out, "frobnicate"), 2);
        ck_assert_ptr_nonnull(strstr(out, "unknown command \"frobnicate\""));
        free(out);
        free(path);
}
END_TEST

/* sh -c CMD (stderr folded in) with RSTREAM_DATA_DIR in the scratch dir. */
static int sh(char **out, const char *fmt, ...) _printf_(2, 3);
static int sh(char **out, const char *fmt, ...) {
        char *cmd = NULL, *full = NULL;
        size_t len;
        va_list ap;
        FILE *p;
        int st;

        va_start(ap, fmt);
        ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
        va_end(ap);
        ck_assert_int_ge(asprintf(&full,
                                  "cd '%s' && env -u RSTREAM_WEBTTY_ACCOUNTS_DB RSTREAM_DATA_DIR='%s/data' "
                                  "sh -c '%s' 2>&1",
                                  dir, dir, cmd),
                         0);
        p = popen(full, "r");
        ck_assert_ptr_nonnull(p);
        *out = calloc(1, 65536);
        len = fread(*out, 1, 65535, p);
        (*out)[len] = 0;
        st = pclose(p);
        free(cmd);
        free(full);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static unsigned uid_in(const char *out, const char *prefix) {
        const char *p = strstr(out, prefix);

        ck_assert_msg(p != NULL, "\"%s\" not in: %s", prefix, out);
        return (unsigned) strtoul(p + strlen(prefix), NULL, 10);
}

START_TEST(test_cli_sync) {
        static const char policy[] = "version: 1\n"
                                     "accounts:\n"
                                     "  uid_range: 70000-79999\n"
                                     "  group: 0\n"
                                     "  home: /home/{user}\n"
                                     "  shell: /bin/zsh\n"
                                     "  gecos: \"rstream {name}\"\n"
                                     "rules:\n"
                                     "  - name: developers\n"
                                     "    match: {client: [\"dev-*\"]}\n"
                                     "    user_template: \"rs-{name}\"\n"
                                     "  - name: carol\n"
                                     "    match: {client: [carol]}\n"
                                     "    user: root\n";
        char *pol = join(dir, "policy.yaml"), *out = NULL;
        unsigned uid, uid2;

        write_text(pol, policy, 0644);
        for (int i = 0; i < 2; i++) {
                const char *n = i ? "carol" : "dev-alice";

                ck_assert_int_eq(
                        sh(&out, WEBTTY " identity create --name %s --endpoint-identity >%s.id", n, n), 0);
                free(out);
                ck_assert_int_eq(sh(&out,
                                    WEBTTY " authorized-client add %s --key \"$(cat %s.id)\" "
                                           "--authorized-clients-file ac.json",
                                    n, n),
                                 0);
                free(out);
        }
#define SYNC WEBTTY " accounts sync --authorized-clients-file ac.json --policy policy.yaml"
        ck_assert_int_eq(sh(&out, SYNC " --db db/accounts.db --dry-run"), 0);
        ck_assert_str_eq(out, "would provision rs-dev-alice for client dev-alice (rule developers)\n");
        free(out);
        char *dbfile = join(dir, "db/accounts.db");
        ck_assert_int_ne(access(dbfile, F_OK), 0); /* a dry run writes nothing */

        ck_assert_int_eq(sh(&out, SYNC " --db db/accounts.db"), 0);
        ck_assert_int_eq(access(dbfile, F_OK), 0);
        free(dbfile);
        uid = uid_in(out, "provisioned rs-dev-alice (uid ");
        ck_assert_uint_ge(uid, 70000);
        ck_assert_uint_le(uid, 79999);
        ck_assert_ptr_null(strstr(out, "carol")); /* a fixed-user rule provisions nothing */
        free(out);
        ck_assert_int_eq(sh(&out, WEBTTY " accounts list --db db/accounts.db"), 0);
        char want[256];
        snprintf(want, sizeof(want), "rs-dev-alice:x:%u:%u:rstream dev-alice:/home/rs-dev-alice:/bin/zsh\n",
                 uid, uid);
        ck_assert_str_eq(out, want);
        free(out);
        /* Again: kept, same uid; another database: the same uid (stable). */
        ck_assert_int_eq(sh(&out, SYNC " --db db/accounts.db"), 0);
        ck_assert_uint_eq(uid_in(out, "kept rs-dev-alice (uid "), uid);
        free(out);
        ck_assert_int_eq(sh(&out, SYNC " --db other/accounts.db"), 0);
        uid2 = uid_in(out, "provisioned rs-dev-alice (uid ");
        ck_assert_uint_eq(uid2, uid);
        free(out);

        /* Errors name the file. */
        ck_assert_int_eq(sh(&out,
                            WEBTTY " accounts sync --authorized-clients-file ac.json --policy nope.yaml "
                                   "--db db/accounts.db"),
                         1);
        ck_assert_ptr_nonnull(strstr(out, "nope.yaml"));
        free(out);
        ck_assert_int_eq(sh(&out, SYNC " --db db/accounts.db --label novalue"), 2);
        ck_assert_ptr_nonnull(strstr(out, "--label \"novalue\": want KEY=VALUE"));
        free(out);
        ck_assert_int_eq(sh(&out, WEBTTY " accounts sync --policy policy.yaml"), 2);
        ck_assert_ptr_nonnull(strstr(out, "--authorized-clients-file is required"));
        free(out);
        free(pol);
}
END_TEST

static Suite *accountsdb_suite(void) {
        Suite *s = suite_create("accountsdb");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_empty);
        tcase_add_test(tc, test_erange);
        tcase_add_test(tc, test_truncated_every_length);
        tcase_add_test(tc, test_flipped_bytes);
        tcase_add_test(tc, test_bad_offsets);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_writer);
        tcase_add_test(tc, test_writer_refuses_corrupt_and_symlink);
        tcase_add_test(tc, test_provision);
        tcase_add_test(tc, test_serialize_refuses_duplicates);
        tcase_add_test(tc, test_set_groups);
        tcase_add_test(tc, test_cli);
        tcase_add_test(tc, test_cli_sync);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(accountsdb_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
