# The crypto core (included inside if HAVE_CHECK): lib/b64u.c, sigkey.c,
# enckey.c, hpke.c (with HKDF and the AEADs), e2e.c and auth.c, against the
# spec's Appendix A vectors, RFC 9180 and Wycheproof (tests/vectors/).
CRYPTO_UNIT_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
CRYPTO_UNIT_LIBS = $(UNIT_LIBS) $(JSONC_LIBS)

check_PROGRAMS += \
	tests/unit/test-crypto-prims \
	tests/unit/test-crypto-hpke \
	tests/unit/test-crypto-e2e \
	tests/unit/test-crypto-auth
TESTS += \
	tests/unit/test-crypto-prims \
	tests/unit/test-crypto-hpke \
	tests/unit/test-crypto-e2e \
	tests/unit/test-crypto-auth

tests_unit_test_crypto_prims_SOURCES = tests/unit/test-crypto-prims.c tests/unit/crypto-test-util.h
tests_unit_test_crypto_prims_CFLAGS = $(CRYPTO_UNIT_CFLAGS)
tests_unit_test_crypto_prims_LDADD = $(CRYPTO_UNIT_LIBS)

tests_unit_test_crypto_hpke_SOURCES = tests/unit/test-crypto-hpke.c tests/unit/crypto-test-util.h
tests_unit_test_crypto_hpke_CFLAGS = $(CRYPTO_UNIT_CFLAGS)
tests_unit_test_crypto_hpke_LDADD = $(CRYPTO_UNIT_LIBS)

tests_unit_test_crypto_e2e_SOURCES = tests/unit/test-crypto-e2e.c tests/unit/crypto-test-util.h
tests_unit_test_crypto_e2e_CFLAGS = $(CRYPTO_UNIT_CFLAGS)
tests_unit_test_crypto_e2e_LDADD = $(CRYPTO_UNIT_LIBS)

tests_unit_test_crypto_auth_SOURCES = tests/unit/test-crypto-auth.c tests/unit/crypto-test-util.h
tests_unit_test_crypto_auth_CFLAGS = $(CRYPTO_UNIT_CFLAGS)
tests_unit_test_crypto_auth_LDADD = $(CRYPTO_UNIT_LIBS)

# Test vectors: RFC 9180 Appendix A (X25519 suites) and Wycheproof
# (Apache-2.0, LICENSE alongside).
EXTRA_DIST += tests/vectors

# Throughput of e2e_seal_data() (not a test): make tests/bench/bench-e2e
EXTRA_PROGRAMS = tests/bench/bench-e2e
tests_bench_bench_e2e_SOURCES = tests/bench/bench-e2e.c
tests_bench_bench_e2e_CFLAGS = $(UNIT_CFLAGS)
tests_bench_bench_e2e_LDADD = lib/libwebtty.la $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(OPENSSL_LIBS) $(SODIUM_LIBS)
CLEANFILES += tests/bench/bench-e2e
