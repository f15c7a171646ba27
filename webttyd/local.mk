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

# webttyd-login: the root helper of login execution mode (one process per
# session, socket-activated or spawned by webttyd). Its code lives only here:
# webttyd never links what runs as root. spawn.c provides the account lookup
# and the environment builder shared with spawn mode.
sbin_PROGRAMS += webttyd/webttyd-login
webttyd_webttyd_login_SOURCES = \
	webttyd/login/login.h \
	webttyd/login/main.c \
	webttyd/login/request.c \
	webttyd/login/pamconv.c \
	webttyd/login/pty.c \
	webttyd/login/utmp.c \
	webttyd/login/child.c \
	webttyd/login/watch.c \
	webttyd/login/wait.c \
	webttyd/login/msg.c \
	webttyd/spawn.c webttyd/spawn.h
# -I webttyd: "spawn.h" must not fall through to the system <spawn.h>.
webttyd_webttyd_login_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/webttyd
webttyd_webttyd_login_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS) \
	$(OPENSSL_CFLAGS) $(PAM_CFLAGS)
webttyd_webttyd_login_LDADD = lib/libwebtty.la $(PAM_LIBS) $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(SODIUM_LIBS) \
	$(OPENSSL_LIBS) $(JSONC_LIBS)

systemdsystemunit_DATA += webttyd/webttyd-login.socket webttyd/webttyd-login@.service
EXTRA_DIST += webttyd/webttyd-login.socket webttyd/webttyd-login@.service.in
CLEANFILES += webttyd/webttyd-login@.service
webttyd/webttyd-login@.service: $(top_srcdir)/webttyd/webttyd-login@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) webttyd && sed -e 's|@sbindir[@]|$(sbindir)|g' $< >$@.tmp && mv -f $@.tmp $@
dist_man_MANS += man/webttyd-login.8
