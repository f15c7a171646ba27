# Fuzz target(s) for issue 5 (accounts): replay test in check_PROGRAMS/TESTS,
# libFuzzer binary appended to FUZZ_PROGS inside `if ENABLE_FUZZING`.
#   fuzz-accountsdb.c  policy/accountsdb-read.c: open from bytes, every
#                      lookup, enumeration, member list and copy
check_PROGRAMS += tests/fuzz/fuzz-accountsdb-replay
TESTS += tests/fuzz/fuzz-accountsdb-replay

tests_fuzz_fuzz_accountsdb_replay_SOURCES = tests/fuzz/fuzz-accountsdb.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_accountsdb_replay_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy \
	-DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/accountsdb\"
tests_fuzz_fuzz_accountsdb_replay_CFLAGS = $(AM_CFLAGS)
tests_fuzz_fuzz_accountsdb_replay_LDADD = policy/libaccountsdb-read.la

if ENABLE_FUZZING
FUZZ_PROGS += tests/fuzz/fuzz-accountsdb
# The reader again, instrumented (it is libc-only: no library needed).
tests_fuzz_fuzz_accountsdb_SOURCES = tests/fuzz/fuzz-accountsdb.c policy/accountsdb-read.c
tests_fuzz_fuzz_accountsdb_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy
tests_fuzz_fuzz_accountsdb_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_accountsdb_LDFLAGS = $(FUZZ_LINK)
endif
