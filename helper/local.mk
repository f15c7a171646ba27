# helper/: the webtty command-line tool (client side and file helpers).
bin_PROGRAMS += helper/webtty

helper_webtty_SOURCES = \
	helper/webtty.c \
	helper/exec.c helper/exec.h \
	helper/exec_trust.c helper/exec_trust.h \
	helper/output.c helper/output.h \
	helper/identity_cli.c helper/identity_cli.h \
	helper/trust_cli.c helper/trust_cli.h \
	helper/policy_cli.c helper/policy_cli.h \
	helper/accounts_cli.c helper/accounts_cli.h
# Issue 5 libraries (policy/local.mk) are added to helper_webtty_LDADD there.
helper_webtty_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS) $(JSONC_CFLAGS)
helper_webtty_LDADD = lib/libwebtty.la $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(SODIUM_LIBS) $(JSONC_LIBS) \
	$(OPENSSL_LIBS)
