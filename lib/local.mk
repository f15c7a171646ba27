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
# The crypto core (spec 3.2, 5, 6, 7): keys, HPKE, E2E payloads, handshake.
lib_libwebtty_la_SOURCES += \
	lib/trimspace.c lib/trimspace.h \
	lib/wbuf.c lib/wbuf.h \
	lib/b64u.c lib/b64u.h \
	lib/sigkey.c lib/sigkey.h \
	lib/enckey.c lib/enckey.h \
	lib/hpke.c lib/hpke.h \
	lib/e2e.c lib/e2e.h \
	lib/authcore.c lib/authcore.h \
	lib/auth.c lib/auth.h \
	lib/loginproto.c lib/loginproto.h
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

# File handling (host spec 0-2): safe I/O, data root, strict JSON, endpoint
# identities and text forms, trust stores.
lib_libwebtty_la_SOURCES += \
	lib/errmsg.c lib/errmsg.h \
	lib/safefile.c lib/safefile.h \
	lib/datadir.c lib/datadir.h \
	lib/jsondoc.c lib/jsondoc.h \
	lib/identity.c lib/identity.h \
	lib/truststore.c lib/truststore.h
lib_libwebtty_la_CFLAGS += $(JSONC_CFLAGS)
lib_libwebtty_la_LIBADD += $(JSONC_LIBS)
