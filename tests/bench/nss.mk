# Benchmarks of issue 5 (not tests): NSS lookups (make tests/bench/nss-bench, then
# sudo tests/bench/nss-bench.sh. Included from tests/unit/accounts.mk (inside
# HAVE_CHECK, after tests/unit/crypto.mk sets EXTRA_PROGRAMS).
EXTRA_PROGRAMS += tests/bench/nss-bench
tests_bench_nss_bench_SOURCES = tests/bench/nss-bench.c
tests_bench_nss_bench_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/policy
tests_bench_nss_bench_LDADD = policy/libaccountsdb.la lib/libwebtty.la -ldl
CLEANFILES += tests/bench/nss-bench
EXTRA_DIST += tests/bench/nss-bench.sh
EXTRA_DIST += tests/bench/login-bench.py
