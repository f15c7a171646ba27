# Unit tests for issue 5 (login); included inside if HAVE_CHECK.
# webttyd/login/: the REQUEST -> PROOF bundle derivation, server labels, the
# shell's argv, the PAM conversation and environment merge (pure parts; the
# privileged parts run in tests/integration/test_login_helper.py).
check_PROGRAMS += tests/unit/test-login
TESTS += tests/unit/test-login
tests_unit_test_login_SOURCES = tests/unit/test-login.c \
	webttyd/login/login.h webttyd/login/request.c webttyd/login/pamconv.c webttyd/login/child.c \
	webttyd/login/pty.c webttyd/spawn.c webttyd/spawn.h
tests_unit_test_login_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/webttyd -I$(top_srcdir)/webttyd/login
tests_unit_test_login_CFLAGS = $(UNIT_CFLAGS) $(PAM_CFLAGS)
tests_unit_test_login_LDADD = $(UNIT_LIBS) $(PAM_LIBS)

# A PAM module for the webttyd-login integration test only (stands in for
# pam_rstream): answers the rstream prompt through the conversation, checks
# that the bundle decodes, sets PAM_USER from its arguments. -rpath makes
# libtool build it shared; it is never installed.
check_LTLIBRARIES = tests/unit/pam/pam_test_setuser.la
tests_unit_pam_pam_test_setuser_la_SOURCES = tests/unit/pam/pam_test_setuser.c
tests_unit_pam_pam_test_setuser_la_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_pam_pam_test_setuser_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
tests_unit_pam_pam_test_setuser_la_LIBADD = lib/libwebtty.la $(PAM_LIBS)
