/* Helpers shared by the file-handling unit tests (test-safefile.c,
 * test-datadir.c, test-identity.c, test-truststore.c): private scratch
 * directories and small whole-file reads and writes. Header-only. */
#pragma once

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh 0700 directory under $TMPDIR or /tmp (malloc'd). */
static inline char *scratch_dir(void) {
        const char *base = getenv("TMPDIR");
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/webtty-files-XXXXXX", base && *base ? base : "/tmp"), 0);
        ck_assert_ptr_nonnull(mkdtemp(p));
        return p;
}

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        (void) remove(p);
        return 0;
}

static inline void scratch_remove(char *dir) {
        if (!dir)
                return;
        (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(dir);
}

/* dir + "/" + name (malloc'd). */
static inline char *join(const char *dir, const char *name) {
        char *p = NULL;

        ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static inline void write_text(const char *path, const char *text, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        size_t n = strlen(text);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, text, n), (ssize_t) n);
        ck_assert_int_eq(fchmod(fd, mode), 0);
        close(fd);
}

/* The whole file, NUL-terminated (malloc'd), or NULL if it cannot be read. */
static inline char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                return NULL;
        if (getdelim(&buf, &len, '\0', f) < 0) {
                free(buf);
                buf = strdup("");
        }
        fclose(f);
        return buf;
}

static inline bool exists(const char *path) {
        struct stat st;

        return lstat(path, &st) == 0;
}

static inline mode_t mode_of(const char *path) {
        struct stat st;

        ck_assert_int_eq(lstat(path, &st), 0);
        return st.st_mode & 07777;
}

/* Directory entries whose name ends in suffix. */
static inline size_t count_suffix(const char *dir, const char *suffix) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0, m = strlen(suffix);

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);

                if (l >= m && strcmp(de->d_name + l - m, suffix) == 0)
                        n++;
        }
        closedir(d);
        return n;
}

/* Asserts r < 0 and that err equals want (printing both on mismatch). */
#define ck_assert_error(r, err, want)                                                                       \
        do {                                                                                                \
                ck_assert_int_lt((r), 0);                                                                   \
                ck_assert_msg((err) && strcmp((err), (want)) == 0, "error \"%s\", want \"%s\"",             \
                              (err) ? (err) : "(null)", (want));                                            \
        } while (0)
