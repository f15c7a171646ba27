/* Unit tests for lib/sessid.c (spec 4.11): 24 lowercase hex characters made
 * of Unix seconds, 3 per-process random bytes, the pid's low 16 bits and a
 * 24-bit counter. */

#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "sessid.h"

#define MANY 100000

typedef struct parsed {
        uint32_t time;
        uint32_t random; /* 24 bits */
        uint16_t pid;
        uint32_t counter; /* 24 bits */
} parsed;

static bool all_lower_hex(const char *s) {
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
                        return false;
        return true;
}

static uint32_t hexval(const char *s, size_t n) {
        uint32_t v = 0;

        for (size_t i = 0; i < n; i++)
                v = v << 4 | (uint32_t) (s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
        return v;
}

static parsed next(char out[SESSID_LEN + 1]) {
        parsed p;

        memset(out, 'X', SESSID_LEN + 1);
        sessid_next(out);
        ck_assert_uint_eq(strlen(out), SESSID_LEN);
        ck_assert_msg(all_lower_hex(out), "%s", out);
        p.time = hexval(out, 8);
        p.random = hexval(out + 8, 6);
        p.pid = (uint16_t) hexval(out + 14, 4);
        p.counter = hexval(out + 18, 6);
        return p;
}

START_TEST(test_format) {
        char id[SESSID_LEN + 1];
        time_t before = time(NULL), after;
        parsed p;

        p = next(id);
        after = time(NULL);
        ck_assert_uint_eq(SESSID_LEN, 24);
        ck_assert_uint_ge(p.time, (uint32_t) before);
        ck_assert_uint_le(p.time, (uint32_t) after);
        ck_assert_uint_eq(p.pid, (uint16_t) getpid());
}
END_TEST

START_TEST(test_fields_across_calls) {
        char id[SESSID_LEN + 1];
        parsed first, p;

        first = next(id);
        for (unsigned i = 1; i <= 1000; i++) {
                time_t now;

                p = next(id);
                now = time(NULL);
                /* Within a second of now. */
                ck_assert_uint_le(p.time, (uint32_t) now);
                ck_assert_uint_ge(p.time + 1, (uint32_t) now);
                ck_assert_uint_eq(p.random, first.random);
                ck_assert_uint_eq(p.pid, (uint16_t) getpid());
                ck_assert_uint_eq(p.counter, (first.counter + i) & 0xffffff);
        }
}
END_TEST

static int cmp_ids(const void *a, const void *b) {
        return memcmp(a, b, SESSID_LEN);
}

START_TEST(test_unique) {
        char(*ids)[SESSID_LEN + 1] = calloc(MANY, sizeof(*ids));
        parsed prev, p;

        ck_assert_ptr_nonnull(ids);
        prev = next(ids[0]);
        for (size_t i = 1; i < MANY; i++) {
                p = next(ids[i]);
                /* The counter wraps at 2^24 and never skips. */
                ck_assert_uint_eq(p.counter, (prev.counter + 1) & 0xffffff);
                prev = p;
        }
        qsort(ids, MANY, sizeof(*ids), cmp_ids);
        for (size_t i = 1; i < MANY; i++)
                ck_assert_msg(memcmp(ids[i - 1], ids[i], SESSID_LEN) != 0, "duplicate %s", ids[i]);
        free(ids);
}
END_TEST

/* A forked child must not continue the parent's sequence: it gets its own
 * pid bytes (and fresh random bytes). */
START_TEST(test_fork) {
        char parent[SESSID_LEN + 1];
        int pfd[2], status;
        parsed pp;
        pid_t pid;

        pp = next(parent);
        ck_assert_int_eq(pipe(pfd), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                char child[SESSID_LEN + 1];

                sessid_next(child);
                (void) !write(pfd[1], child, SESSID_LEN);
                _exit(0);
        }
        close(pfd[1]);
        {
                char child[SESSID_LEN + 1] = "";
                parsed cp;

                ck_assert_int_eq(read(pfd[0], child, SESSID_LEN), SESSID_LEN);
                child[SESSID_LEN] = '\0';
                cp.pid = (uint16_t) hexval(child + 14, 4);
                ck_assert_uint_eq(cp.pid, (uint16_t) pid);
                ck_assert_uint_ne(cp.pid, pp.pid);
                ck_assert_str_ne(child, parent);
        }
        close(pfd[0]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

static Suite *sessid_suite(void) {
        Suite *s = suite_create("sessid");
        TCase *tc = tcase_create("core");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_format);
        tcase_add_test(tc, test_fields_across_calls);
        tcase_add_test(tc, test_unique);
        tcase_add_test(tc, test_fork);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(sessid_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
