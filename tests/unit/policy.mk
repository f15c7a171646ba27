# Unit tests for issue 5 (policy); included inside if HAVE_CHECK.
# test-policy links only policy/libpolicy.la, lib/{errmsg,b64u,trimspace}.c, libyaml,
# libsodium and Check:
# the dependency set pam_rstream.so gets. It re-executes itself under
# nss_wrapper (libnss-wrapper) for the group membership tests.
check_PROGRAMS += tests/unit/test-policy
TESTS += tests/unit/test-policy
tests_unit_test_policy_SOURCES = tests/unit/test-policy.c lib/errmsg.c lib/b64u.c lib/trimspace.c
tests_unit_test_policy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(YAML_CFLAGS) $(SODIUM_CFLAGS) -I$(top_srcdir)/policy \
	-DSRCDIR=\"$(abs_top_srcdir)\"
tests_unit_test_policy_LDADD = policy/libpolicy.la $(YAML_LIBS) $(SODIUM_LIBS) $(CHECK_LIBS)
