# lib/loginproto.c: the login-mode message codec (inside if HAVE_CHECK).
check_PROGRAMS += tests/unit/test-loginproto
TESTS += tests/unit/test-loginproto
tests_unit_test_loginproto_SOURCES = tests/unit/test-loginproto.c
tests_unit_test_loginproto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_loginproto_LDADD = $(UNIT_LIBS)
