# lib/: the internal library every program links (never installed).
noinst_LTLIBRARIES += lib/libwebtty.la

lib_libwebtty_la_SOURCES = \
	lib/macro.h \
	lib/log.c lib/log.h \
	lib/wmsg.c lib/wmsg.h \
	lib/lpframe.c lib/lpframe.h \
	lib/transport.c lib/transport.h \
	lib/http_upgrade.c lib/http_upgrade.h \
	lib/sessid.c lib/sessid.h \
	lib/url.c lib/url.h
nodist_lib_libwebtty_la_SOURCES = lib/webtty.pb-c.c lib/webtty.pb-c.h
lib_libwebtty_la_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(OPENSSL_CFLAGS) $(SODIUM_CFLAGS)
lib_libwebtty_la_LIBADD = $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(WSLAY_LIBS) $(HTTP_PARSER_LIBS) \
	$(OPENSSL_LIBS) $(SODIUM_LIBS)

# protobuf-c code is generated at build time from the committed schema.
BUILT_SOURCES += lib/webtty.pb-c.c lib/webtty.pb-c.h
CLEANFILES += lib/webtty.pb-c.c lib/webtty.pb-c.h
EXTRA_DIST += lib/webtty.proto
lib/webtty.pb-c.h: lib/webtty.pb-c.c
lib/webtty.pb-c.c: $(top_srcdir)/lib/webtty.proto
	$(AM_V_GEN)$(MKDIR_P) lib && $(PROTOC_C) --proto_path=$(top_srcdir)/lib --c_out=lib $(top_srcdir)/lib/webtty.proto
