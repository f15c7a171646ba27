/* Unit tests for lib/datadir.c: the data root (host spec §0.1), ~ expansion,
 * Go filepath.Clean/Base, name rules, default paths and the authorized
 * client store-name selection (§2.2). */

#include <check.h>
#include <pwd.h>

#include "datadir.h"
#include "files-util.h"
#include "macro.h"

static void check_clean(const char *in, const char *want) {
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(path_clean(in, &out), 0);
        ck_assert_msg(strcmp(out, want) == 0, "clean(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

START_TEST(test_path_clean) {
        /* Go's filepath.Clean table. */
        check_clean("", ".");
        check_clean("abc", "abc");
        check_clean("abc/def", "abc/def");
        check_clean("a/b/c", "a/b/c");
        check_clean(".", ".");
        check_clean("..", "..");
        check_clean("../..", "../..");
        check_clean("../../abc", "../../abc");
        check_clean("/abc", "/abc");
        check_clean("/", "/");
        check_clean("abc/", "abc");
        check_clean("abc/def/", "abc/def");
        check_clean("./", ".");
        check_clean("../", "..");
        check_clean("/abc/", "/abc");
        check_clean("abc//def//ghi", "abc/def/ghi");
        check_clean("//abc", "/abc");
        check_clean("///abc", "/abc");
        check_clean("abc/./def", "abc/def");
        check_clean("/./abc/def", "/abc/def");
        check_clean("abc/.", "abc");
        check_clean("abc/def/ghi/../jkl", "abc/def/jkl");
        check_clean("abc/def/../ghi/../jkl", "abc/jkl");
        check_clean("abc/def/..", "abc");
        check_clean("abc/def/../..", ".");
        check_clean("/abc/def/../..", "/");
        check_clean("abc/def/../../..", "..");
        check_clean("/abc/def/../../..", "/");
        check_clean("abc/def/../../../ghi/jkl/../../../mno", "../../mno");
        check_clean("/../abc", "/abc");
        check_clean("abc/./../def", "def");
        check_clean("abc//./../def", "def");
        check_clean("abc/../../././../def", "../../def");
}
END_TEST

static void check_base(const char *in, const char *want) {
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(path_base(in, &out), 0);
        ck_assert_msg(strcmp(out, want) == 0, "base(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

START_TEST(test_path_base) {
        check_base("", ".");
        check_base(".", ".");
        check_base("/.", ".");
        check_base("/", "/");
        check_base("////", "/");
        check_base("x/", "x");
        check_base("abc", "abc");
        check_base("abc/def", "def");
        check_base("a/b/.x", ".x");
        check_base("a/b/c.", "c.");
        check_base("a/b/c.x", "c.x");
}
END_TEST

START_TEST(test_root) {
        _cleanup_free_ char *root = NULL, *err = NULL, *path = NULL;

        setenv("HOME", "/home/u", 1);
        unsetenv("RSTREAM_DATA_DIR");
        ck_assert_int_eq(datadir_root(&root, &err), 0);
        ck_assert_str_eq(root, "/home/u/.rstream");
        free(root);

        setenv("RSTREAM_DATA_DIR", "", 1);
        ck_assert_int_eq(datadir_root(&root, &err), 0);
        ck_assert_str_eq(root, "/home/u/.rstream");
        free(root);

        setenv("RSTREAM_DATA_DIR", "  /srv//data/./x/../y/ \n", 1);
        ck_assert_int_eq(datadir_root(&root, &err), 0);
        ck_assert_str_eq(root, "/srv/data/y");
        free(root);
        root = NULL;

        setenv("RSTREAM_DATA_DIR", "relative/dir", 1);
        ck_assert_error(datadir_root(&root, &err), err, "RSTREAM_DATA_DIR must be an absolute path");
        ck_assert_int_eq(datadir_root(&root, NULL), -EINVAL);
        ck_assert_error(datadir_known_servers_path(&path, &err), err,
                        "RSTREAM_DATA_DIR must be an absolute path");
        setenv("RSTREAM_DATA_DIR", "~/x", 1);
        ck_assert_error(datadir_root(&root, &err), err, "RSTREAM_DATA_DIR must be an absolute path");
}
END_TEST

START_TEST(test_home_fallback) {
        _cleanup_free_ char *home = NULL, *root = NULL, *err = NULL, *want = NULL;
        struct passwd *pw = getpwuid(geteuid());

        ck_assert_ptr_nonnull(pw);
        unsetenv("HOME");
        unsetenv("RSTREAM_DATA_DIR");
        ck_assert_int_eq(datadir_home(&home, &err), 0);
        ck_assert_str_eq(home, pw->pw_dir);
        ck_assert_int_eq(datadir_root(&root, &err), 0);
        ck_assert_int_ge(asprintf(&want, "%s/.rstream", strcmp(pw->pw_dir, "/") == 0 ? "" : pw->pw_dir), 0);
        ck_assert_str_eq(root, want);
        free(home);
        setenv("HOME", "", 1);
        ck_assert_int_eq(datadir_home(&home, &err), 0);
        ck_assert_str_eq(home, pw->pw_dir);
}
END_TEST

static void check_expand(const char *in, const char *want) {
        _cleanup_free_ char *out = NULL, *err = NULL;

        ck_assert_int_eq(datadir_expand_user_path(in, &out, &err), 0);
        ck_assert_msg(strcmp(out, want) == 0, "expand(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

START_TEST(test_expand) {
        setenv("HOME", "/home/u", 1);
        check_expand("~", "/home/u");
        check_expand(" ~ ", "/home/u");
        check_expand("~/", "/home/u");
        check_expand("~/a/b", "/home/u/a/b");
        check_expand("~/a/../b", "/home/u/b");
        check_expand("~other/x", "~other/x");
        check_expand("x/~/y", "x/~/y");
        check_expand("rel/path", "rel/path");
        check_expand("  /abs/./path  ", "/abs/./path");
        check_expand("", "");
}
END_TEST

START_TEST(test_names) {
        ck_assert(datadir_name_valid("srv"));
        ck_assert(datadir_name_valid("a.b_c-D9"));
        ck_assert(datadir_name_valid("..."));
        ck_assert(datadir_name_valid(".hidden"));
        ck_assert(!datadir_name_valid(""));
        ck_assert(!datadir_name_valid("."));
        ck_assert(!datadir_name_valid(".."));
        ck_assert(!datadir_name_valid("a/b"));
        ck_assert(!datadir_name_valid("a\\b"));
        ck_assert(!datadir_name_valid("a b"));
        ck_assert(!datadir_name_valid("é"));
        ck_assert(!datadir_name_valid("a:b"));
        ck_assert(!datadir_name_valid(NULL));
}
END_TEST

START_TEST(test_default_paths) {
        _cleanup_free_ char *p = NULL, *err = NULL;

        setenv("RSTREAM_DATA_DIR", "/data", 1);
        ck_assert_int_eq(datadir_identities_dir(&p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/identities");
        free(p);
        ck_assert_int_eq(datadir_identity_path(" srv ", &p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/identities/srv.identity.json");
        free(p);
        ck_assert_int_eq(datadir_known_servers_path(&p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/known_servers.json");
        free(p);
        ck_assert_int_eq(datadir_authorized_clients_path("srv", &p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/authorized_clients/srv.json");
        free(p);
        ck_assert_int_eq(datadir_authorized_clients_path("  ", &p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/authorized_clients/default.json");
        free(p);
        ck_assert_int_eq(datadir_authorized_clients_path(NULL, &p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/authorized_clients/default.json");
        free(p);
        /* Only path characters are refused for store names, as the reference. */
        ck_assert_int_eq(datadir_authorized_clients_path("my server", &p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/authorized_clients/my server.json");
        free(p);
        p = NULL;

        ck_assert_error(datadir_identity_path("", &p, &err), err, "--server-id is required");
        ck_assert_error(datadir_identity_path("a/b", &p, &err), err,
                        "--server-id contains unsupported characters");
        ck_assert_error(datadir_identity_path("..", &p, &err), err,
                        "--server-id contains unsupported characters");
        ck_assert_error(datadir_identity_path("a b", &p, &err), err,
                        "--server-id contains unsupported characters");
        for (const char *const *bad = (const char *const[]){".", "..", "a/b", "a\\b", "/", NULL}; *bad;
             bad++)
                ck_assert_error(datadir_authorized_clients_path(*bad, &p, &err), err,
                                "authorized WebTTY client store name contains unsupported path characters");
}
END_TEST

static void check_name_from_path(const char *in, const char *want) {
        _cleanup_free_ char *out = NULL;

        ck_assert_int_eq(datadir_identity_name_from_path(in, &out), 0);
        ck_assert_msg(strcmp(out, want) == 0, "name_from_path(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

START_TEST(test_name_from_path) {
        check_name_from_path("/x/srv.identity.json", "srv");
        check_name_from_path(" /x/srv.identity.json ", "srv");
        check_name_from_path("/x/foo.json", "foo");
        check_name_from_path("/x/foo.bar.yaml", "foo.bar");
        check_name_from_path("foo", "foo");
        check_name_from_path("/x/.json", "default");
        check_name_from_path("/x/.identity.json", "default");
        check_name_from_path("", "default");
        check_name_from_path("/x/a.identity.json.bak", "a.identity.json");
}
END_TEST

START_TEST(test_store_name) {
        _cleanup_free_ char *n = NULL;
        store_name_sources s = {};

        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "default");
        free(n);
        s.enrollment_identity_file = "/e/enrolled.identity.json";
        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "enrolled");
        free(n);
        s.env_identity_file = "/env/fromenv.json";
        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "fromenv");
        free(n);
        s.identity_file = "~/flag.identity.json";
        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "flag");
        free(n);
        s.enrollment_server_id = " srv-enrolled ";
        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "srv-enrolled");
        free(n);
        s.server_id = "srv-1";
        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "srv-1");
        free(n);
        s.identity = "  ";
        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "srv-1");
        free(n);
        s.identity = "named";
        ck_assert_int_eq(datadir_store_name(&s, &n), 0);
        ck_assert_str_eq(n, "named");
}
END_TEST

START_TEST(test_authorized_clients_file) {
        _cleanup_free_ char *p = NULL, *err = NULL;
        store_name_sources s = {.server_id = "srv"};

        setenv("RSTREAM_DATA_DIR", "/data", 1);
        setenv("HOME", "/home/u", 1);
        unsetenv("RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE");
        ck_assert_int_eq(datadir_authorized_clients_file(false, NULL, &s, &p, &err), 0);
        ck_assert_str_eq(p, "/data/webtty/authorized_clients/srv.json");
        free(p);
        setenv("RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE", " ~/ac.json ", 1);
        ck_assert_int_eq(datadir_authorized_clients_file(false, NULL, &s, &p, &err), 0);
        ck_assert_str_eq(p, "/home/u/ac.json");
        free(p);
        ck_assert_int_eq(datadir_authorized_clients_file(true, "/flag.json", &s, &p, &err), 0);
        ck_assert_str_eq(p, "/flag.json");
        free(p);
        p = NULL;
        ck_assert_error(datadir_authorized_clients_file(true, " ", &s, &p, &err), err,
                        "--authorized-clients-file is empty");
        setenv("RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE", "", 1);
        s.server_id = "../x";
        ck_assert_error(datadir_authorized_clients_file(false, NULL, &s, &p, &err), err,
                        "authorized WebTTY client store name contains unsupported path characters");
}
END_TEST

static Suite *datadir_suite(void) {
        Suite *s = suite_create("datadir");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_path_clean);
        tcase_add_test(tc, test_path_base);
        tcase_add_test(tc, test_root);
        tcase_add_test(tc, test_home_fallback);
        tcase_add_test(tc, test_expand);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_default_paths);
        tcase_add_test(tc, test_name_from_path);
        tcase_add_test(tc, test_store_name);
        tcase_add_test(tc, test_authorized_clients_file);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(datadir_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
