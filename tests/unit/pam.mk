# Unit tests for issue 5 (pam); included inside if HAVE_CHECK.
# test-pam-rstream: pam_rstream.so through real libpam under pam_wrapper
# (libpamtest); it links the same protobuf-free lib/ subset as the module
# to build identities and proofs, and the accounts.db reader to check
# template provisioning.
if HAVE_PAMTEST
check_PROGRAMS += tests/unit/test-pam-rstream
TESTS += tests/unit/test-pam-rstream
tests_unit_test_pam_rstream_SOURCES = tests/unit/test-pam-rstream.c
tests_unit_test_pam_rstream_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy
tests_unit_test_pam_rstream_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(PAMTEST_CFLAGS) $(PAM_CFLAGS) \
	$(OPENSSL_CFLAGS) $(SODIUM_CFLAGS) $(JSONC_CFLAGS) \
	-DSRCDIR=\"$(abs_top_srcdir)\" -DBUILDDIR=\"$(abs_top_builddir)\"
tests_unit_test_pam_rstream_LDADD = pam_rstream/libwebtty-pam.la policy/libaccountsdb.la \
	$(CHECK_LIBS) $(PAMTEST_LIBS) -lpthread $(PAM_LIBS) $(OPENSSL_LIBS) $(SODIUM_LIBS) $(JSONC_LIBS)
EXTRA_DIST += tests/unit/pam/sudo-require-session.sh
# The test loads the built module by absolute path.
EXTRA_tests_unit_test_pam_rstream_DEPENDENCIES = pam_rstream/pam_rstream.la
endif
