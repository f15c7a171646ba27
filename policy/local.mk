# policy/: the caller-to-user policy engine (policy.yaml) and the accounts
# database (accounts.db) writer and reader. Filled in by issue 5.

# policy engine
# libpolicy.la: policy.c alone, so that pam_rstream.so can link it with only
# libc, libyaml, libsodium and lib/{errmsg,b64u,trimspace}.c (no protobuf, no
# systemd, no OpenSSL); the program that links it provides those lib/ files.
noinst_LTLIBRARIES += policy/libpolicy.la
policy_libpolicy_la_SOURCES = policy/policy.c policy/policy.h
policy_libpolicy_la_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(SODIUM_CFLAGS)
policy_libpolicy_la_LIBADD = $(YAML_LIBS) $(SODIUM_LIBS)

helper_webtty_LDADD += policy/libpolicy.la $(YAML_LIBS)
helper_webtty_CFLAGS += $(YAML_CFLAGS) -I$(top_srcdir)/policy

EXTRA_DIST += policy/policy.yaml.example
dist_man_MANS += man/policy.yaml.5 man/webtty-policy.1
# end of policy engine

include policy/accounts.mk
