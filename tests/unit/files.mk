# File handling (included inside if HAVE_CHECK): lib/safefile.c (writer
# attacks, interrupted writes, reader refusals), lib/datadir.c, lib/identity.c
# (text forms with the Appendix A.5 vector, the identity document) and
# lib/truststore.c (known servers, authorized clients, static list).
check_PROGRAMS += \
	tests/unit/test-safefile \
	tests/unit/test-datadir \
	tests/unit/test-identity \
	tests/unit/test-truststore
TESTS += \
	tests/unit/test-safefile \
	tests/unit/test-datadir \
	tests/unit/test-identity \
	tests/unit/test-truststore
EXTRA_DIST += tests/unit/files-util.h

tests_unit_test_safefile_SOURCES = tests/unit/test-safefile.c tests/unit/files-util.h
tests_unit_test_safefile_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_safefile_LDADD = $(UNIT_LIBS) $(JSONC_LIBS)

tests_unit_test_datadir_SOURCES = tests/unit/test-datadir.c tests/unit/files-util.h
tests_unit_test_datadir_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_datadir_LDADD = $(UNIT_LIBS) $(JSONC_LIBS)

tests_unit_test_identity_SOURCES = tests/unit/test-identity.c tests/unit/files-util.h
tests_unit_test_identity_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_identity_LDADD = $(UNIT_LIBS) $(JSONC_LIBS)

tests_unit_test_truststore_SOURCES = tests/unit/test-truststore.c tests/unit/files-util.h
tests_unit_test_truststore_CFLAGS = $(UNIT_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_truststore_LDADD = $(UNIT_LIBS) $(JSONC_LIBS)
