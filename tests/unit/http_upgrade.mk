# lib/http_upgrade.c: upgrade request parser, accept key, responses, bearer
# and Origin checks, client request/response (included inside if HAVE_CHECK).
check_PROGRAMS += tests/unit/test-http-upgrade
TESTS += tests/unit/test-http-upgrade
tests_unit_test_http_upgrade_SOURCES = tests/unit/test-http-upgrade.c
tests_unit_test_http_upgrade_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_http_upgrade_LDADD = $(UNIT_LIBS)
