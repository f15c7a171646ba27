/* Helpers shared by the crypto unit tests: hex, files under tests/vectors,
 * Wycheproof JSON. Header-only; every test program includes it once. */
#pragma once

#include <check.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

#define VECTORS_DIR SRCDIR "/tests/vectors"

static inline int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decodes hex (no separators) into a malloc'd buffer (at least 1 byte). */
static inline uint8_t *unhex(const char *hex, size_t *ret_len) {
        size_t n = strlen(hex);
        uint8_t *b;

        ck_assert_msg(n % 2 == 0, "odd hex length: %s", hex);
        b = malloc(n / 2 + 1);
        ck_assert_ptr_nonnull(b);
        for (size_t i = 0; i < n / 2; i++) {
                int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

                ck_assert_msg(hi >= 0 && lo >= 0, "bad hex: %s", hex);
                b[i] = (uint8_t) (hi << 4 | lo);
        }
        *ret_len = n / 2;
        return b;
}

/* Decodes exactly n bytes of hex into out. */
static inline void unhex_into(const char *hex, uint8_t *out, size_t n) {
        size_t len = 0;
        uint8_t *b = unhex(hex, &len);

        ck_assert_uint_eq(len, n);
        memcpy(out, b, n);
        free(b);
}

static inline char *tohex(const uint8_t *b, size_t n) {
        char *s = malloc(2 * n + 1);

        ck_assert_ptr_nonnull(s);
        for (size_t i = 0; i < n; i++)
                snprintf(s + 2 * i, 3, "%02x", b[i]);
        s[2 * n] = '\0';
        return s;
}

/* Asserts that b[0..n) is the given hex. */
#define ck_assert_hex_eq(b, n, hex)                                                                         \
        do {                                                                                                \
                char *_h = tohex((b), (n));                                                                 \
                ck_assert_str_eq(_h, (hex));                                                                \
                free(_h);                                                                                   \
        } while (0)

static inline void json_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}

/* Parses tests/vectors/<name>. */
static inline json_object *load_json_vector(const char *name) {
        char path[4096];
        json_object *o;

        snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, name);
        o = json_object_from_file(path);
        ck_assert_msg(o != NULL, "cannot parse %s", path);
        return o;
}

static inline json_object *jget(json_object *o, const char *key) {
        json_object *v = NULL;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "missing key %s", key);
        return v;
}

static inline const char *jstr(json_object *o, const char *key) {
        return json_object_get_string(jget(o, key));
}

static inline int jint(json_object *o, const char *key) {
        return json_object_get_int(jget(o, key));
}

/* True if the test's flags array contains flag. */
static inline bool jflag(json_object *t, const char *flag) {
        json_object *flags = jget(t, "flags");

        for (size_t i = 0; i < json_object_array_length(flags); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(flags, i)), flag) == 0)
                        return true;
        return false;
}

/* Reads tests/vectors/<name> into a malloc'd NUL-terminated string. */
static inline char *read_vector_text(const char *name) {
        char path[4096];
        FILE *f;
        long n;
        char *s;

        snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, name);
        f = fopen(path, "re");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        ck_assert_int_ge(n, 0);
        rewind(f);
        s = malloc((size_t) n + 1);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(fread(s, 1, (size_t) n, f), (size_t) n);
        s[n] = '\0';
        fclose(f);
        return s;
}
