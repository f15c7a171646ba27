# webttyd/loginclient.c (included inside if HAVE_CHECK): webttyd's side of
# login mode, its pure helpers and its state machine over a real socketpair
# and sd-event loop, lib/loginproto.c playing webttyd-login.
# -I webttyd: "loginclient.h" lives beside the daemon.
check_PROGRAMS += tests/unit/test-login-client
TESTS += tests/unit/test-login-client
tests_unit_test_login_client_SOURCES = tests/unit/test-login-client.c webttyd/loginclient.c webttyd/loginclient.h
tests_unit_test_login_client_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/webttyd
tests_unit_test_login_client_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_login_client_LDADD = $(UNIT_LIBS)
