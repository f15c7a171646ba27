/* Unit tests for lib/safefile.c: the hardened writer (host spec §0.2 plus the
 * directory/target checks) and the secret reader (§0.3), including the
 * attacks a writer must refuse and interrupted writes. Tests that need a
 * second user (chown to nobody) run only as root and say so otherwise. */

#include <check.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>

#include "errmsg.h"
#include "files-util.h"
#include "macro.h"
#include "safefile.h"

#define PREFIX ".webtty-test-"

static char *dir;

static void setup(void) {
        dir = scratch_dir();
        safefile_fault_hook = NULL;
}

static void teardown(void) {
        scratch_remove(dir);
        dir = NULL;
}

static uid_t nobody_uid(void) {
        struct passwd *pw = getpwnam("nobody");

        return pw ? pw->pw_uid : 65534;
}

static bool need_root(void) {
        if (geteuid() == 0)
                return true;
        fprintf(stderr, "SKIP: this test needs root (chown to another user)\n");
        return false;
}

START_TEST(test_write_creates_parents_and_modes) {
        _cleanup_free_ char *target = join(dir, "a/b/c/file.json"), *sub = join(dir, "a"),
                            *subc = join(dir, "a/b/c"), *err = NULL, *got = NULL;

        umask(022);
        ck_assert_int_eq(safefile_write(target, PREFIX, "hello\n", 6, &err), 0);
        ck_assert_int_eq(mode_of(sub), 0700);
        ck_assert_int_eq(mode_of(subc), 0700);
        ck_assert_int_eq(mode_of(target), 0600);
        got = read_text(target);
        ck_assert_str_eq(got, "hello\n");
        /* The lock file is deleted on release; no temp file is left. */
        ck_assert_int_eq(count_suffix(subc, ".lock"), 0);
        ck_assert_int_eq(count_suffix(subc, ".tmp"), 0);
}
END_TEST

START_TEST(test_write_replaces) {
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL, *got = NULL;

        write_text(target, "old", 0600);
        ck_assert_int_eq(safefile_write(target, PREFIX, "new", 3, &err), 0);
        got = read_text(target);
        ck_assert_str_eq(got, "new");
        ck_assert_int_eq(mode_of(target), 0600);
}
END_TEST

START_TEST(test_existing_dir_not_remoded) {
        _cleanup_free_ char *sub = join(dir, "d"), *target = join(dir, "d/f"), *err = NULL;

        ck_assert_int_eq(mkdir(sub, 0755), 0);
        ck_assert_int_eq(chmod(sub, 0755), 0);
        ck_assert_int_eq(safefile_write(target, PREFIX, "x", 1, &err), 0);
        ck_assert_int_eq(mode_of(sub), 0755);
}
END_TEST

START_TEST(test_refuse_symlinked_target) {
        _cleanup_free_ char *target = join(dir, "f"), *victim = join(dir, "victim"), *err = NULL,
                            *want = NULL, *got = NULL;

        write_text(victim, "precious", 0600);
        ck_assert_int_eq(symlink(victim, target), 0);
        ck_assert_int_ge(asprintf(&want, "refusing to replace %s: it is a symbolic link", target), 0);
        ck_assert_error(safefile_write(target, PREFIX, "evil", 4, &err), err, want);
        got = read_text(victim);
        ck_assert_str_eq(got, "precious");
        ck_assert_int_eq(count_suffix(dir, ".tmp"), 0);
}
END_TEST

START_TEST(test_refuse_symlinked_parent) {
        _cleanup_free_ char *real = join(dir, "real"), *link = join(dir, "link"),
                            *target = join(dir, "link/f"), *err = NULL, *want = NULL;

        ck_assert_int_eq(mkdir(real, 0700), 0);
        ck_assert_int_eq(symlink(real, link), 0);
        ck_assert_int_ge(asprintf(&want, "directory %s is a symbolic link", link), 0);
        ck_assert_error(safefile_write(target, PREFIX, "x", 1, &err), err, want);
        ck_assert_int_eq(count_suffix(real, ""), 2); /* . and .. only */
}
END_TEST

START_TEST(test_refuse_group_writable_parent) {
        _cleanup_free_ char *sub = join(dir, "d"), *target = join(dir, "d/f"), *err = NULL, *want = NULL;

        ck_assert_int_eq(mkdir(sub, 0700), 0);
        ck_assert_int_eq(chmod(sub, 0770), 0);
        ck_assert_int_ge(asprintf(&want, "directory %s must not be writable by group or others", sub), 0);
        ck_assert_error(safefile_write(target, PREFIX, "x", 1, &err), err, want);
        ck_assert(!exists(target));
        ck_assert_int_eq(chmod(sub, 0702), 0);
        ck_assert_error(safefile_write(target, PREFIX, "x", 1, &err), err, want);
}
END_TEST

START_TEST(test_refuse_parent_owned_by_other) {
        _cleanup_free_ char *sub = join(dir, "d"), *target = join(dir, "d/f"), *err = NULL, *want = NULL;

        if (!need_root())
                return;
        ck_assert_int_eq(mkdir(sub, 0700), 0);
        ck_assert_int_eq(chown(sub, nobody_uid(), (gid_t) -1), 0);
        ck_assert_int_ge(asprintf(&want, "directory %s is owned by uid %u, not by root", sub,
                                  (unsigned) nobody_uid()),
                         0);
        ck_assert_error(safefile_write(target, PREFIX, "x", 1, &err), err, want);
        ck_assert(!exists(target));
}
END_TEST

START_TEST(test_refuse_hard_linked_target) {
        _cleanup_free_ char *target = join(dir, "f"), *other = join(dir, "elsewhere"), *err = NULL,
                            *want = NULL, *got = NULL;

        write_text(other, "shared", 0600);
        ck_assert_int_eq(link(other, target), 0);
        ck_assert_int_ge(asprintf(&want, "refusing to replace %s: it has 2 hard links", target), 0);
        ck_assert_error(safefile_write(target, PREFIX, "evil", 4, &err), err, want);
        got = read_text(other);
        ck_assert_str_eq(got, "shared");
        ck_assert_int_eq(count_suffix(dir, ".tmp"), 0);
}
END_TEST

START_TEST(test_refuse_target_owned_by_other) {
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL, *want = NULL, *got = NULL;

        if (!need_root())
                return;
        write_text(target, "theirs", 0600);
        ck_assert_int_eq(chown(target, nobody_uid(), (gid_t) -1), 0);
        ck_assert_int_ge(asprintf(&want, "refusing to replace %s: it is owned by uid %u", target,
                                  (unsigned) nobody_uid()),
                         0);
        ck_assert_error(safefile_write(target, PREFIX, "mine", 4, &err), err, want);
        got = read_text(target);
        ck_assert_str_eq(got, "theirs");
}
END_TEST

START_TEST(test_refuse_directory_target) {
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL, *want = NULL;

        ck_assert_int_eq(mkdir(target, 0700), 0);
        ck_assert_int_ge(asprintf(&want, "refusing to replace %s: it is not a regular file", target), 0);
        ck_assert_error(safefile_write(target, PREFIX, "x", 1, &err), err, want);
}
END_TEST

static int kill_after_write(const char *stage) {
        if (strcmp(stage, "written") == 0)
                raise(SIGKILL);
        return 0;
}

static int force_named(const char *stage) {
        return strcmp(stage, "tmpfile") == 0 ? -EOPNOTSUPP : 0;
}

static int force_named_kill(const char *stage) {
        if (strcmp(stage, "tmpfile") == 0)
                return -EOPNOTSUPP;
        return kill_after_write(stage);
}

static int fail_rename(const char *stage) {
        return strcmp(stage, "rename") == 0 ? -EIO : 0;
}

static int force_named_fail_rename(const char *stage) {
        if (strcmp(stage, "tmpfile") == 0)
                return -EOPNOTSUPP;
        return fail_rename(stage);
}

/* A writer killed between writing the temp file and renaming it. */
static void killed_writer(int (*hook)(const char *)) {
        _cleanup_free_ char *target = join(dir, "f"), *got = NULL;
        size_t big = 8u * 1024u * 1024u;
        int status;
        pid_t pid;

        write_text(target, "old content", 0600);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char *data = malloc(big);

                if (!data)
                        _exit(3);
                memset(data, 'x', big);
                safefile_fault_hook = hook;
                (void) safefile_write(target, PREFIX, data, big, NULL);
                _exit(4); /* not reached: the hook kills us */
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        got = read_text(target);
        ck_assert_str_eq(got, "old content");
}

START_TEST(test_interrupted_write_leaves_no_temp) {
        killed_writer(kill_after_write);
        /* O_TMPFILE: nothing was ever linked into the directory. */
        ck_assert_int_eq(count_suffix(dir, ".tmp"), 0);
}
END_TEST

START_TEST(test_interrupted_write_named_fallback) {
        /* Without O_TMPFILE a killed writer can leave its temp file; the old
         * file is still intact and the next write succeeds. */
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL, *got = NULL;

        killed_writer(force_named_kill);
        ck_assert_int_le(count_suffix(dir, ".tmp"), 1);
        ck_assert_int_eq(safefile_write(target, PREFIX, "new", 3, &err), 0);
        got = read_text(target);
        ck_assert_str_eq(got, "new");
}
END_TEST

START_TEST(test_failed_rename_keeps_old) {
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL, *got = NULL;

        write_text(target, "old", 0600);
        safefile_fault_hook = fail_rename;
        ck_assert_int_eq(safefile_write(target, PREFIX, "new", 3, &err), -EIO);
        ck_assert_ptr_nonnull(strstr(err, "rename"));
        got = read_text(target);
        ck_assert_str_eq(got, "old");
        ck_assert_int_eq(count_suffix(dir, ".tmp"), 0);
        ck_assert_int_eq(count_suffix(dir, ".lock"), 0);

        free(got);
        safefile_fault_hook = force_named_fail_rename;
        ck_assert_int_eq(safefile_write(target, PREFIX, "new", 3, &err), -EIO);
        got = read_text(target);
        ck_assert_str_eq(got, "old");
        ck_assert_int_eq(count_suffix(dir, ".tmp"), 0);
}
END_TEST

START_TEST(test_named_temp_path) {
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL, *got = NULL;

        umask(077);
        safefile_fault_hook = force_named;
        ck_assert_int_eq(safefile_write(target, PREFIX, "data", 4, &err), 0);
        got = read_text(target);
        ck_assert_str_eq(got, "data");
        ck_assert_int_eq(mode_of(target), 0600);
        ck_assert_int_eq(count_suffix(dir, ".tmp"), 0);
}
END_TEST

START_TEST(test_remove) {
        _cleanup_(safefile_lock_releasep) safefile_lock *l = NULL;
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL, *want = NULL;

        write_text(target, "x", 0600);
        ck_assert_int_eq(safefile_lock_acquire(target, &l, &err), 0);
        ck_assert_str_eq(safefile_lock_path(l), target);
        ck_assert_int_eq(safefile_lock_remove(l, &err), 0);
        ck_assert(!exists(target));
        ck_assert_int_ge(asprintf(&want, "remove %s: No such file or directory", target), 0);
        ck_assert_error(safefile_lock_remove(l, &err), err, want);
        ck_assert_int_eq(safefile_lock_remove(l, NULL), -ENOENT);
}
END_TEST

/* Many processes incrementing one counter under the lock: no update is
 * lost, although every release deletes the lock file. */
START_TEST(test_lock_serialises) {
        _cleanup_free_ char *target = join(dir, "counter"), *err = NULL, *got = NULL;
        enum { PROCS = 8, ROUNDS = 40 };
        pid_t pids[PROCS];

        ck_assert_int_eq(safefile_write(target, PREFIX, "0", 1, &err), 0);
        for (int p = 0; p < PROCS; p++) {
                pids[p] = fork();
                ck_assert_int_ge(pids[p], 0);
                if (pids[p] > 0)
                        continue;
                for (int i = 0; i < ROUNDS; i++) {
                        safefile_lock *l = NULL;
                        uint8_t *data = NULL;
                        size_t len = 0;
                        char buf[32];
                        long v;

                        if (safefile_lock_acquire(target, &l, NULL) < 0)
                                _exit(1);
                        if (safefile_lock_read(l, "counter file", &data, &len, NULL) < 0)
                                _exit(2);
                        v = strtol((char *) data, NULL, 10);
                        safefile_buffer_free(data, len);
                        snprintf(buf, sizeof(buf), "%ld", v + 1);
                        if (safefile_lock_replace(l, PREFIX, buf, strlen(buf), NULL) < 0)
                                _exit(3);
                        safefile_lock_release(l);
                }
                _exit(0);
        }
        for (int p = 0; p < PROCS; p++) {
                int status;

                ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
                ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        got = read_text(target);
        ck_assert_int_eq(strtol(got, NULL, 10), PROCS * ROUNDS);
        ck_assert_int_eq(count_suffix(dir, ".lock"), 0);
}
END_TEST

/* The lock is exclusive while held (another process cannot flock it). */
START_TEST(test_lock_is_flock) {
        _cleanup_(safefile_lock_releasep) safefile_lock *l = NULL;
        _cleanup_free_ char *target = join(dir, "f"), *lockpath = join(dir, "f.lock"), *err = NULL;
        int fd;

        ck_assert_int_eq(safefile_lock_acquire(target, &l, &err), 0);
        ck_assert_int_eq(mode_of(lockpath), 0600);
        fd = open(lockpath, O_RDONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
        ck_assert_int_eq(errno, EWOULDBLOCK);
        l = safefile_lock_release(l);
        ck_assert(!exists(lockpath));
        close(fd);
}
END_TEST

START_TEST(test_read_ok) {
        _cleanup_free_ char *target = join(dir, "f"), *err = NULL;
        uint8_t *data = NULL;
        size_t len = 0;

        write_text(target, "{\"a\":1}", 0600);
        ck_assert_int_eq(safefile_read(target, "test file", &data, &len, &err), 0);
        ck_assert_int_eq(len, 7);
        ck_assert_str_eq((char *) data, "{\"a\":1}");
        safefile_buffer_free(data, len);
        /* 0400 is fine too: only group/other bits matter. */
        ck_assert_int_eq(chmod(target, 0400), 0);
        ck_assert_int_eq(safefile_read(target, "test file", &data, &len, &err), 0);
        safefile_buffer_free(data, len);
}
END_TEST

START_TEST(test_read_refusals) {
        _cleanup_free_ char *target = join(dir, "f"), *link = join(dir, "l"), *fifo = join(dir, "p"),
                            *missing = join(dir, "missing"), *big = join(dir, "big"), *err = NULL,
                            *want = NULL;
        uint8_t *data = NULL;
        size_t len = 0;
        FILE *f;

        write_text(target, "secret", 0640);
        ck_assert_int_ge(
                asprintf(&want, "E2E identity file %s must not be readable by group or others", target), 0);
        ck_assert_error(safefile_read(target, "E2E identity file", &data, &len, &err), err, want);
        ck_assert_int_eq(safefile_read(target, "E2E identity file", &data, &len, NULL), -EACCES);
        ck_assert_int_eq(chmod(target, 0604), 0);
        ck_assert_error(safefile_read(target, "E2E identity file", &data, &len, &err), err, want);
        ck_assert_int_eq(chmod(target, 0601), 0);
        ck_assert_error(safefile_read(target, "E2E identity file", &data, &len, &err), err, want);

        ck_assert_int_eq(chmod(target, 0600), 0);
        ck_assert_int_eq(symlink(target, link), 0);
        free(want);
        ck_assert_int_ge(asprintf(&want, "%s is a symbolic link; refusing to follow it", link), 0);
        ck_assert_error(safefile_read(link, "E2E identity file", &data, &len, &err), err, want);

        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        free(want);
        ck_assert_int_ge(asprintf(&want, "%s is not a regular file", fifo), 0);
        ck_assert_error(safefile_read(fifo, "E2E identity file", &data, &len, &err), err, want);

        free(want);
        ck_assert_int_ge(asprintf(&want, "open %s: No such file or directory", missing), 0);
        ck_assert_error(safefile_read(missing, "E2E identity file", &data, &len, &err), err, want);
        ck_assert_int_eq(safefile_read(missing, "E2E identity file", &data, &len, NULL), -ENOENT);

        f = fopen(big, "we");
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < SAFEFILE_READ_MAX + 1; i++)
                fputc('a', f);
        fclose(f);
        ck_assert_int_eq(chmod(big, 0600), 0);
        free(want);
        ck_assert_int_ge(asprintf(&want, "%s is larger than 1048576 bytes", big), 0);
        ck_assert_error(safefile_read(big, "E2E identity file", &data, &len, &err), err, want);
        ck_assert_int_eq(truncate(big, SAFEFILE_READ_MAX), 0);
        ck_assert_int_eq(safefile_read(big, "E2E identity file", &data, &len, &err), 0);
        ck_assert_int_eq(len, SAFEFILE_READ_MAX);
        safefile_buffer_free(data, len);
}
END_TEST

START_TEST(test_bad_paths) {
        _cleanup_free_ char *err = NULL, *want = NULL, *target = join(dir, "sub/");

        ck_assert_error(safefile_write("", PREFIX, "x", 1, &err), err, "file path is empty");
        ck_assert_int_ge(asprintf(&want, "%s is a directory", target), 0);
        ck_assert_error(safefile_write(target, PREFIX, "x", 1, &err), err, want);
}
END_TEST

static Suite *safefile_suite(void) {
        Suite *s = suite_create("safefile");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_write_creates_parents_and_modes);
        tcase_add_test(tc, test_write_replaces);
        tcase_add_test(tc, test_existing_dir_not_remoded);
        tcase_add_test(tc, test_refuse_symlinked_target);
        tcase_add_test(tc, test_refuse_symlinked_parent);
        tcase_add_test(tc, test_refuse_group_writable_parent);
        tcase_add_test(tc, test_refuse_parent_owned_by_other);
        tcase_add_test(tc, test_refuse_hard_linked_target);
        tcase_add_test(tc, test_refuse_target_owned_by_other);
        tcase_add_test(tc, test_refuse_directory_target);
        tcase_add_test(tc, test_interrupted_write_leaves_no_temp);
        tcase_add_test(tc, test_interrupted_write_named_fallback);
        tcase_add_test(tc, test_failed_rename_keeps_old);
        tcase_add_test(tc, test_named_temp_path);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_lock_serialises);
        tcase_add_test(tc, test_lock_is_flock);
        tcase_add_test(tc, test_read_ok);
        tcase_add_test(tc, test_read_refusals);
        tcase_add_test(tc, test_bad_paths);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(safefile_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
