# Unit tests for issue 5 (accounts); included inside if HAVE_CHECK.
#   test-accountsdb   policy/accountsdb-*.c: format round trip, lookups,
#                     ERANGE, corrupt files, the locked writer, provisioning
#   test-nss-rstream  the built libnss_rstream.so.2 through dlopen (direct
#                     _nss_rstream_* calls, threads while the file is
#                     replaced) and through glibc via nss_wrapper; NEEDED
check_PROGRAMS += tests/unit/test-accountsdb tests/unit/test-nss-rstream
TESTS += tests/unit/test-accountsdb tests/unit/test-nss-rstream

tests_unit_test_accountsdb_SOURCES = tests/unit/test-accountsdb.c tests/unit/files-util.h
tests_unit_test_accountsdb_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/policy
tests_unit_test_accountsdb_LDADD = policy/libaccountsdb.la $(UNIT_LIBS)
# test_cli runs the built helper/webtty.
EXTRA_tests_unit_test_accountsdb_DEPENDENCIES = helper/webtty

tests_unit_test_nss_rstream_SOURCES = tests/unit/test-nss-rstream.c tests/unit/files-util.h
tests_unit_test_nss_rstream_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/policy
tests_unit_test_nss_rstream_LDADD = policy/libaccountsdb.la $(UNIT_LIBS) -ldl -lpthread
# Exports syslog() so the module's log lines can be counted.
tests_unit_test_nss_rstream_LDFLAGS = -export-dynamic
# The module is loaded at run time: build it first.
EXTRA_tests_unit_test_nss_rstream_DEPENDENCIES = nss_rstream/libnss_rstream.la

include tests/bench/nss.mk
