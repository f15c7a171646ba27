/* Unit tests for lib/url.c: the --listen/--url address forms, refusals with
 * their messages, canonical formatting, the Host header and sockaddrs. */

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "macro.h"
#include "url.h"

static void wt_url_donep(wt_url *u) {
        wt_url_done(u);
}
#define _cleanup_url_ _cleanup_(wt_url_donep)

/* Parses s and checks every field (host NULL for unix). */
static void expect_ok(const char *s, wt_url_kind bare, wt_url_kind kind, const char *host, uint16_t port,
                      const char *path) {
        _cleanup_url_ wt_url u = {0};
        _cleanup_free_ char *err = NULL;
        int r;

        r = wt_url_parse(s, bare, &u, &err);
        ck_assert_msg(r == 0, "%s: %d %s", s, r, err ? err : "");
        ck_assert_ptr_null(err);
        ck_assert_int_eq(u.kind, kind);
        if (host)
                ck_assert_str_eq(u.host, host);
        else
                ck_assert_ptr_null(u.host);
        if (kind != WT_URL_UNIX)
                ck_assert_uint_eq(u.port, port);
        if (path)
                ck_assert_str_eq(u.path, path);
}

/* Must be refused; the message names the input and contains why. */
static void expect_bad(const char *s, wt_url_kind bare, const char *why) {
        _cleanup_url_ wt_url u = {0};
        _cleanup_free_ char *err = NULL, *want = NULL;

        ck_assert_msg(wt_url_parse(s, bare, &u, &err) == -EINVAL, "%s accepted", s);
        ck_assert_ptr_nonnull(err);
        ck_assert_int_ge(asprintf(&want, "invalid address \"%s\": ", s), 0);
        ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s: %s", s, err);
        if (why)
                ck_assert_msg(strstr(err, why), "%s: \"%s\" lacks \"%s\"", s, err, why);
        ck_assert_ptr_null(u.host);
        ck_assert_ptr_null(u.path);

        /* Without an error out-parameter too. */
        ck_assert_int_eq(wt_url_parse(s, bare, &u, NULL), -EINVAL);
}

START_TEST(test_ws) {
        expect_ok("ws://127.0.0.1:8080/webtty", WT_URL_TCP, WT_URL_WS, "127.0.0.1", 8080, "/webtty");
        expect_ok("ws://example.com:1/a/b?c=d", WT_URL_TCP, WT_URL_WS, "example.com", 1, "/a/b?c=d");
        expect_ok("ws://localhost", WT_URL_TCP, WT_URL_WS, "localhost", 80, "/");
        expect_ok("ws://localhost/", WT_URL_TCP, WT_URL_WS, "localhost", 80, "/");
        expect_ok("ws://localhost/x", WT_URL_TCP, WT_URL_WS, "localhost", 80, "/x");
        expect_ok("ws://h:65535", WT_URL_TCP, WT_URL_WS, "h", 65535, "/");
        expect_ok("ws://h:0/", WT_URL_TCP, WT_URL_WS, "h", 0, "/");
}
END_TEST

START_TEST(test_tcp) {
        expect_ok("tcp://127.0.0.1:9000", WT_URL_WS, WT_URL_TCP, "127.0.0.1", 9000, NULL);
        expect_ok("tcp://example.org", WT_URL_WS, WT_URL_TCP, "example.org", 80, NULL);
        /* A bare trailing slash is not a path. */
        expect_ok("tcp://h:1/", WT_URL_WS, WT_URL_TCP, "h", 1, NULL);
        expect_bad("tcp://h:1/x", WT_URL_WS, "tcp:// takes no path");
        expect_bad("tcp://h/webtty", WT_URL_WS, "tcp:// takes no path");
}
END_TEST

START_TEST(test_unix) {
        expect_ok("unix:/run/webttyd.sock", WT_URL_WS, WT_URL_UNIX, NULL, 0, "/run/webttyd.sock");
        expect_ok("unix:///run/x.sock", WT_URL_TCP, WT_URL_UNIX, NULL, 0, "/run/x.sock");
        expect_bad("unix:relative.sock", WT_URL_WS, "must be absolute");
        expect_bad("unix:./x", WT_URL_WS, "must be absolute");
        expect_bad("unix:", WT_URL_WS, "must be absolute");
        expect_bad("unix://run/x", WT_URL_WS, "must be absolute");
        {
                /* sun_path is 108 bytes including the NUL. */
                char s[5 + 1 + 200] = "unix:/";
                size_t max = sizeof(((struct sockaddr_un *) NULL)->sun_path) - 1;

                memset(s + 6, 'a', max - 1);
                s[5 + max] = '\0';
                expect_ok(s, WT_URL_WS, WT_URL_UNIX, NULL, 0, s + 5);
                s[5 + max] = 'a';
                s[5 + max + 1] = '\0';
                expect_bad(s, WT_URL_WS, "too long");
        }
}
END_TEST

START_TEST(test_ipv6) {
        expect_ok("ws://[::1]:8080/", WT_URL_TCP, WT_URL_WS, "::1", 8080, "/");
        expect_ok("ws://[::1]", WT_URL_TCP, WT_URL_WS, "::1", 80, "/");
        expect_ok("ws://[fe80::1%lo]:80/p", WT_URL_TCP, WT_URL_WS, "fe80::1%lo", 80, "/p");
        expect_ok("tcp://[2001:db8::5]:7", WT_URL_WS, WT_URL_TCP, "2001:db8::5", 7, NULL);
        expect_ok("[::1]:9", WT_URL_TCP, WT_URL_TCP, "::1", 9, NULL);
        expect_bad("ws://[::1:80/", WT_URL_TCP, "missing ']'");
        expect_bad("ws://[::1]x:80/", WT_URL_TCP, "garbage after ']'");
        expect_bad("ws://[]:80/", WT_URL_TCP, "missing host");
        expect_bad("[::1]", WT_URL_TCP, "missing port");
}
END_TEST

START_TEST(test_bare) {
        expect_ok("127.0.0.1:8080", WT_URL_WS, WT_URL_WS, "127.0.0.1", 8080, "/");
        expect_ok("127.0.0.1:8080", WT_URL_TCP, WT_URL_TCP, "127.0.0.1", 8080, NULL);
        expect_ok("localhost:1", WT_URL_WS, WT_URL_WS, "localhost", 1, "/");
        expect_ok("[::]:443", WT_URL_WS, WT_URL_WS, "::", 443, "/");
        expect_bad("localhost", WT_URL_WS, "missing port");
        expect_bad("localhost:80/x", WT_URL_WS, "expected HOST:PORT");
        expect_bad(":80", WT_URL_TCP, "missing host");
}
END_TEST

START_TEST(test_bad_ports) {
        static const char *const bad[] = {
                "ws://h:70000/",
                "ws://h:65536",
                "ws://h:abc/",
                "ws://h:/",
                "ws://h:",
                "ws://h:-1",
                "ws://h:+80",
                "ws://h: 80",
                "ws://h:8 0",
                "tcp://h:99999999999999999999999",
                "h:70000",
                "h:abc",
                "h:",
                "[::1]:",
                "ws://[::1]:x/",
                "tcp://h:0x50",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                expect_bad(bad[i], WT_URL_TCP, "invalid port");
}
END_TEST

START_TEST(test_bad_scheme) {
        static const char *const bad[] = {
                "http://h:80/", "wss://h/", "tls://h:443", "rstrm://name", "WS://h/", "://h",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                expect_bad(bad[i], WT_URL_WS, "unsupported scheme");
        expect_bad("", WT_URL_WS, "empty");
        {
                _cleanup_url_ wt_url u = {0};
                _cleanup_free_ char *err = NULL;

                ck_assert_int_eq(wt_url_parse(NULL, WT_URL_WS, &u, &err), -EINVAL);
                ck_assert_ptr_nonnull(err);
        }
        expect_bad("ws://:80/", WT_URL_WS, "missing host");
        expect_bad("ws:///", WT_URL_WS, "missing host");
}
END_TEST

START_TEST(test_format_round_trip) {
        static const struct {
                const char *in;
                wt_url_kind bare;
                const char *canon;
        } v[] = {
                {"ws://127.0.0.1:8080/", WT_URL_TCP, "ws://127.0.0.1:8080/"},
                {"ws://127.0.0.1:8080", WT_URL_TCP, "ws://127.0.0.1:8080/"},
                {"ws://localhost", WT_URL_TCP, "ws://localhost:80/"},
                {"ws://h:1/a/b", WT_URL_TCP, "ws://h:1/a/b"},
                {"ws://[::1]:8080/x", WT_URL_TCP, "ws://[::1]:8080/x"},
                {"tcp://h", WT_URL_WS, "tcp://h:80"},
                {"tcp://[::1]:9/", WT_URL_WS, "tcp://[::1]:9"},
                {"unix:/run/x.sock", WT_URL_WS, "unix:/run/x.sock"},
                {"unix:///run/x.sock", WT_URL_WS, "unix:/run/x.sock"},
                {"10.0.0.1:22", WT_URL_WS, "ws://10.0.0.1:22/"},
                {"10.0.0.1:22", WT_URL_TCP, "tcp://10.0.0.1:22"},
                {"[::1]:22", WT_URL_TCP, "tcp://[::1]:22"},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_url_ wt_url u = {0}, again = {0};
                _cleanup_free_ char *s = NULL, *s2 = NULL;

                ck_assert_int_eq(wt_url_parse(v[i].in, v[i].bare, &u, NULL), 0);
                s = wt_url_format(&u);
                ck_assert_ptr_nonnull(s);
                ck_assert_str_eq(s, v[i].canon);
                /* The canonical text parses to the same thing. */
                ck_assert_int_eq(
                        wt_url_parse(s, v[i].bare == WT_URL_WS ? WT_URL_TCP : WT_URL_WS, &again, NULL), 0);
                ck_assert_int_eq(again.kind, u.kind);
                s2 = wt_url_format(&again);
                ck_assert_str_eq(s2, s);
        }
}
END_TEST

START_TEST(test_host_header) {
        static const struct {
                const char *in, *host;
        } v[] = {
                {"ws://example.com/", "example.com"},
                {"ws://example.com:80/", "example.com"},
                {"ws://example.com:8080/", "example.com:8080"},
                {"ws://[::1]/", "[::1]"},
                {"ws://[::1]:8080/", "[::1]:8080"},
                {"ws://127.0.0.1:443/", "127.0.0.1:443"},
                {"tcp://h:81", "h:81"},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_url_ wt_url u = {0};
                _cleanup_free_ char *h = NULL;

                ck_assert_int_eq(wt_url_parse(v[i].in, WT_URL_WS, &u, NULL), 0);
                h = wt_url_host_header(&u);
                ck_assert_ptr_nonnull(h);
                ck_assert_str_eq(h, v[i].host);
        }
}
END_TEST

START_TEST(test_sockaddr) {
        struct sockaddr_storage ss;
        socklen_t sl;

        {
                _cleanup_url_ wt_url u = {0};
                const struct sockaddr_in *in = (const struct sockaddr_in *) &ss;

                ck_assert_int_eq(wt_url_parse("tcp://127.0.0.1:8080", WT_URL_WS, &u, NULL), 0);
                ck_assert_int_eq(wt_url_sockaddr(&u, &ss, &sl, NULL), 0);
                ck_assert_int_eq(in->sin_family, AF_INET);
                ck_assert_uint_eq(ntohs(in->sin_port), 8080);
                ck_assert_uint_eq(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
                ck_assert_uint_eq(sl, sizeof(struct sockaddr_in));
        }
        {
                _cleanup_url_ wt_url u = {0};
                const struct sockaddr_un *un = (const struct sockaddr_un *) &ss;

                ck_assert_int_eq(wt_url_parse("unix:/run/x.sock", WT_URL_WS, &u, NULL), 0);
                ck_assert_int_eq(wt_url_sockaddr(&u, &ss, &sl, NULL), 0);
                ck_assert_int_eq(un->sun_family, AF_UNIX);
                ck_assert_str_eq(un->sun_path, "/run/x.sock");
                ck_assert_uint_eq(sl, offsetof(struct sockaddr_un, sun_path) + strlen("/run/x.sock") + 1);
        }
}
END_TEST

static Suite *url_suite(void) {
        Suite *s = suite_create("url");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_ws);
        tcase_add_test(tc, test_tcp);
        tcase_add_test(tc, test_unix);
        tcase_add_test(tc, test_ipv6);
        tcase_add_test(tc, test_bare);
        tcase_add_test(tc, test_bad_ports);
        tcase_add_test(tc, test_bad_scheme);
        tcase_add_test(tc, test_format_round_trip);
        tcase_add_test(tc, test_host_header);
        tcase_add_test(tc, test_sockaddr);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(url_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
