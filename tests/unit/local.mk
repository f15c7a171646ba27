# Check unit tests; one fragment per unit under test.
if HAVE_CHECK
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS) $(SODIUM_CFLAGS) \
	-DSRCDIR=\"$(abs_top_srcdir)\" -DBUILDDIR=\"$(abs_top_builddir)\"
UNIT_LIBS = lib/libwebtty.la $(CHECK_LIBS) $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(OPENSSL_LIBS) $(SODIUM_LIBS)
include tests/unit/core.mk
include tests/unit/http_upgrade.mk
include tests/unit/spawn.mk
include tests/unit/crypto.mk
include tests/unit/files.mk
include tests/unit/loginproto.mk
include tests/unit/policy.mk
include tests/unit/accounts.mk
include tests/unit/pam.mk
include tests/unit/login.mk
include tests/unit/login-client.mk
endif
