# accounts.db (policy/accountsdb.h): the reader, libc only, linked into
# libnss_rstream.so.2; the writer (and the reader) for `webtty accounts` and
# webttyd-login. Included from policy/local.mk.
noinst_LTLIBRARIES += policy/libaccountsdb-read.la policy/libaccountsdb.la

# No lib/ code, no pkg-config flags: nothing here may pull a library into
# the processes nss_rstream is loaded into.
policy_libaccountsdb_read_la_SOURCES = policy/accountsdb-read.c policy/accountsdb.h
policy_libaccountsdb_read_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

policy_libaccountsdb_la_SOURCES = policy/accountsdb-write.c policy/accountsdb.h
policy_libaccountsdb_la_CFLAGS = $(AM_CFLAGS)
policy_libaccountsdb_la_LIBADD = policy/libaccountsdb-read.la

helper_webtty_LDADD += policy/libaccountsdb.la
