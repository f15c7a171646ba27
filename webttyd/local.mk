# webttyd/: the daemon (unprivileged, network-facing).
sbin_PROGRAMS += webttyd/webttyd

webttyd_webttyd_SOURCES = \
	webttyd/main.c \
	webttyd/options.c webttyd/options.h \
	webttyd/listen.c webttyd/listen.h \
	webttyd/server.c webttyd/server.h \
	webttyd/session.c webttyd/session.h \
	webttyd/protect.c webttyd/protect.h \
	webttyd/spawn.c webttyd/spawn.h \
	webttyd/loginclient.c webttyd/loginclient.h
webttyd_webttyd_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS) $(OPENSSL_CFLAGS)
webttyd_webttyd_LDADD = lib/libwebtty.la $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(SODIUM_LIBS) $(OPENSSL_LIBS) \
	$(JSONC_LIBS) $(UTIL_LIBS)

# systemd units; the service's paths come from configure.
systemdsystemunit_DATA = webttyd/webttyd.socket webttyd/webttyd.service
EXTRA_DIST += webttyd/webttyd.socket webttyd/webttyd.service.in
CLEANFILES += webttyd/webttyd.service
webttyd/webttyd.service: $(top_srcdir)/webttyd/webttyd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) webttyd && sed -e 's|@sbindir[@]|$(sbindir)|g' $< >$@.tmp && mv -f $@.tmp $@
