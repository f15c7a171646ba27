# The core library, one Check program per unit (included inside if HAVE_CHECK):
# lib/wmsg.c (Appendix B encodings), lib/lpframe.c, lib/url.c, lib/sessid.c
# and lib/transport.c (a real sd-event loop over socketpairs).
check_PROGRAMS += \
	tests/unit/test-wmsg \
	tests/unit/test-lpframe \
	tests/unit/test-url \
	tests/unit/test-sessid \
	tests/unit/test-transport
TESTS += \
	tests/unit/test-wmsg \
	tests/unit/test-lpframe \
	tests/unit/test-url \
	tests/unit/test-sessid \
	tests/unit/test-transport

tests_unit_test_wmsg_SOURCES = tests/unit/test-wmsg.c
tests_unit_test_wmsg_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_wmsg_LDADD = $(UNIT_LIBS)

tests_unit_test_lpframe_SOURCES = tests/unit/test-lpframe.c
tests_unit_test_lpframe_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lpframe_LDADD = $(UNIT_LIBS)

tests_unit_test_url_SOURCES = tests/unit/test-url.c
tests_unit_test_url_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_url_LDADD = $(UNIT_LIBS)

tests_unit_test_sessid_SOURCES = tests/unit/test-sessid.c
tests_unit_test_sessid_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sessid_LDADD = $(UNIT_LIBS)

tests_unit_test_transport_SOURCES = tests/unit/test-transport.c
tests_unit_test_transport_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_transport_LDADD = $(UNIT_LIBS)
