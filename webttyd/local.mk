# webttyd/: the daemon (unprivileged, network-facing).
sbin_PROGRAMS += webttyd/webttyd

webttyd_webttyd_SOURCES = \
	webttyd/main.c \
	webttyd/options.c webttyd/options.h \
	webttyd/listen.c webttyd/listen.h \
	webttyd/server.c webttyd/server.h \
	webttyd/session.c webttyd/session.h \
	webttyd/spawn.c webttyd/spawn.h
webttyd_webttyd_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS)
webttyd_webttyd_LDADD = lib/libwebtty.la $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(SODIUM_LIBS) $(UTIL_LIBS)
