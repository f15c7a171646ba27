/* Unit tests for lib/lpframe.c: the plain transport's 4-byte big-endian
 * length prefix, with every truncation and the read limit. */

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lpframe.h"
#include "macro.h"

#define LIMIT (1024u * 1024u)

START_TEST(test_complete_frame) {
        static const uint8_t f[] = {0x00, 0x00, 0x00, 0x02, 0x12, 0x00};
        const uint8_t *msg;
        size_t n;

        ck_assert_int_eq(lpframe_parse(f, sizeof(f), LIMIT, &msg, &n), 1);
        ck_assert_ptr_eq(msg, f + LPFRAME_HEADER);
        ck_assert_uint_eq(n, 2);
}
END_TEST

START_TEST(test_truncated_header) {
        static const uint8_t f[] = {0x00, 0x00, 0x00, 0x02, 0x12, 0x00};

        for (size_t len = 0; len < LPFRAME_HEADER; len++) {
                const uint8_t *msg = f;
                size_t n = 77;

                ck_assert_int_eq(lpframe_parse(f, len, LIMIT, &msg, &n), 0);
                ck_assert_ptr_null(msg);
                ck_assert_uint_eq(n, 0);
        }
        /* Even a header that would be refused needs all four bytes first. */
        {
                static const uint8_t big[] = {0xff, 0xff, 0xff};
                const uint8_t *msg;
                size_t n;

                ck_assert_int_eq(lpframe_parse(big, sizeof(big), 4, &msg, &n), 0);
                ck_assert_uint_eq(n, 0);
        }
        /* len 0 with a NULL buffer is fine. */
        {
                const uint8_t *msg;
                size_t n;

                ck_assert_int_eq(lpframe_parse(NULL, 0, LIMIT, &msg, &n), 0);
        }
}
END_TEST

START_TEST(test_truncated_body) {
        uint8_t f[LPFRAME_HEADER + 300];

        lpframe_header(f, 300);
        memset(f + LPFRAME_HEADER, 'x', 300);
        for (size_t len = LPFRAME_HEADER; len < sizeof(f); len++) {
                const uint8_t *msg = f;
                size_t n = 0;

                ck_assert_int_eq(lpframe_parse(f, len, LIMIT, &msg, &n), 0);
                ck_assert_ptr_null(msg);
                /* The announced size is known once the header is in. */
                ck_assert_uint_eq(n, 300);
        }
}
END_TEST

START_TEST(test_zero_length_frame) {
        static const uint8_t f[] = {0, 0, 0, 0};
        const uint8_t *msg;
        size_t n = 99;

        ck_assert_int_eq(lpframe_parse(f, sizeof(f), LIMIT, &msg, &n), 1);
        ck_assert_ptr_eq(msg, f + LPFRAME_HEADER);
        ck_assert_uint_eq(n, 0);
        /* Limit 0 still admits an empty frame. */
        ck_assert_int_eq(lpframe_parse(f, sizeof(f), 0, &msg, &n), 1);
}
END_TEST

START_TEST(test_at_limit) {
        _cleanup_free_ uint8_t *f = malloc(LPFRAME_HEADER + LIMIT);
        const uint8_t *msg;
        size_t n;

        ck_assert_ptr_nonnull(f);
        lpframe_header(f, LIMIT);
        memset(f + LPFRAME_HEADER, 0x5a, LIMIT);
        ck_assert_int_eq(lpframe_parse(f, LPFRAME_HEADER + LIMIT, LIMIT, &msg, &n), 1);
        ck_assert_uint_eq(n, LIMIT);
        ck_assert_ptr_eq(msg, f + LPFRAME_HEADER);
        /* Header alone at the limit: wait for more, do not refuse. */
        ck_assert_int_eq(lpframe_parse(f, LPFRAME_HEADER, LIMIT, &msg, &n), 0);
        ck_assert_uint_eq(n, LIMIT);
}
END_TEST

START_TEST(test_over_limit) {
        static const struct {
                uint32_t announced;
                size_t max;
        } v[] = {
                {LIMIT + 1, LIMIT}, {9, 4}, {1, 0}, {0xffffffffu, LIMIT}, {0x80000000u, LIMIT},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                uint8_t f[LPFRAME_HEADER + 8] = {0};
                const uint8_t *msg = f;
                size_t n = 0;

                lpframe_header(f, v[i].announced);
                /* Refused as soon as the header is in, whatever follows. */
                for (size_t len = LPFRAME_HEADER; len <= sizeof(f); len++) {
                        ck_assert_int_eq(lpframe_parse(f, len, v[i].max, &msg, &n), -EMSGSIZE);
                        ck_assert_ptr_null(msg);
                        ck_assert_uint_eq(n, v[i].announced);
                }
        }
}
END_TEST

START_TEST(test_all_ones_header) {
        static const uint8_t f[] = {0xff, 0xff, 0xff, 0xff, 0x12, 0x00};
        const uint8_t *msg;
        size_t n;

        ck_assert_int_eq(lpframe_parse(f, sizeof(f), LIMIT, &msg, &n), -EMSGSIZE);
        ck_assert_uint_eq(n, 0xffffffffu);
        /* With a limit that admits it, it is merely incomplete. */
        ck_assert_int_eq(lpframe_parse(f, sizeof(f), SIZE_MAX, &msg, &n), 0);
        ck_assert_uint_eq(n, 0xffffffffu);
        ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(test_back_to_back) {
        /* Ack, an empty frame, then Close{7}, then half a Heartbeat. */
        static const uint8_t s[] = {
                0x00, 0x00, 0x00, 0x02, 0x12, 0x00,             /* Ack */
                0x00, 0x00, 0x00, 0x00,                         /* empty */
                0x00, 0x00, 0x00, 0x04, 0x22, 0x02, 0x08, 0x07, /* Close{7} */
                0x00, 0x00, 0x00, 0x02, 0x3a,                   /* cut */
        };
        const uint8_t *p = s, *msg;
        size_t left = sizeof(s), n;

        ck_assert_int_eq(lpframe_parse(p, left, LIMIT, &msg, &n), 1);
        ck_assert_uint_eq(n, 2);
        ck_assert_mem_eq(msg, "\x12\x00", 2);
        p += LPFRAME_HEADER + n;
        left -= LPFRAME_HEADER + n;

        ck_assert_int_eq(lpframe_parse(p, left, LIMIT, &msg, &n), 1);
        ck_assert_uint_eq(n, 0);
        p += LPFRAME_HEADER + n;
        left -= LPFRAME_HEADER + n;

        ck_assert_int_eq(lpframe_parse(p, left, LIMIT, &msg, &n), 1);
        ck_assert_uint_eq(n, 4);
        ck_assert_mem_eq(msg, "\x22\x02\x08\x07", 4);
        p += LPFRAME_HEADER + n;
        left -= LPFRAME_HEADER + n;

        ck_assert_int_eq(lpframe_parse(p, left, LIMIT, &msg, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(left, 5);
}
END_TEST

START_TEST(test_header_encoding) {
        static const struct {
                uint32_t v;
                uint8_t b[4];
        } h[] = {
                {0, {0, 0, 0, 0}},
                {2, {0, 0, 0, 2}},
                {0x2c, {0, 0, 0, 0x2c}},
                {0x01020304, {1, 2, 3, 4}},
                {0xffffffffu, {0xff, 0xff, 0xff, 0xff}},
        };

        for (size_t i = 0; i < ELEMENTSOF(h); i++) {
                uint8_t out[LPFRAME_HEADER];
                const uint8_t *msg;
                size_t n;

                lpframe_header(out, h[i].v);
                ck_assert_mem_eq(out, h[i].b, 4);
                ck_assert_int_ne(lpframe_parse(out, sizeof(out), SIZE_MAX, &msg, &n), -EMSGSIZE);
                ck_assert_uint_eq(n, h[i].v);
        }
}
END_TEST

static Suite *lpframe_suite(void) {
        Suite *s = suite_create("lpframe");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_complete_frame);
        tcase_add_test(tc, test_truncated_header);
        tcase_add_test(tc, test_truncated_body);
        tcase_add_test(tc, test_zero_length_frame);
        tcase_add_test(tc, test_at_limit);
        tcase_add_test(tc, test_over_limit);
        tcase_add_test(tc, test_all_ones_header);
        tcase_add_test(tc, test_back_to_back);
        tcase_add_test(tc, test_header_encoding);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(lpframe_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
