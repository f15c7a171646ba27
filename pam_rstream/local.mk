# pam_rstream/: pam_rstream.so (issue 5), see man/pam_rstream.8.
#
# The module is loaded into sudo, su and webttyd-login: it links a
# protobuf-free, event-loop-free subset of lib/ compiled again into
# pam_rstream/libwebtty-pam.la (never libwebtty.la, which pulls in
# protobuf-c and libsystemd). tests/unit/test-pam-rstream checks the
# resulting NEEDED entries.
noinst_LTLIBRARIES += pam_rstream/libwebtty-pam.la
pam_rstream_libwebtty_pam_la_SOURCES = \
	lib/authcore.c lib/authcore.h \
	lib/loginproto.c lib/loginproto.h \
	lib/sigkey.c lib/sigkey.h \
	lib/enckey.c lib/enckey.h \
	lib/identity.c lib/identity.h \
	lib/truststore.c lib/truststore.h \
	lib/safefile.c lib/safefile.h \
	lib/errmsg.c lib/errmsg.h \
	lib/jsondoc.c lib/jsondoc.h \
	lib/b64u.c lib/b64u.h \
	lib/trimspace.c lib/trimspace.h \
	lib/wbuf.c lib/wbuf.h
pam_rstream_libwebtty_pam_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) $(SODIUM_CFLAGS) $(JSONC_CFLAGS)
pam_rstream_libwebtty_pam_la_LIBADD = $(OPENSSL_LIBS) $(SODIUM_LIBS) $(JSONC_LIBS)

pamlib_LTLIBRARIES = pam_rstream/pam_rstream.la
pam_rstream_pam_rstream_la_SOURCES = \
	pam_rstream/pam_rstream.c \
	pam_rstream/rstream.h \
	pam_rstream/args.c \
	pam_rstream/util.c \
	pam_rstream/replay.c \
	pam_rstream/registry.c \
	pam_rstream/verify.c
pam_rstream_pam_rstream_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy
pam_rstream_pam_rstream_la_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS) $(OPENSSL_CFLAGS) $(SODIUM_CFLAGS) \
	$(JSONC_CFLAGS) $(YAML_CFLAGS)
pam_rstream_pam_rstream_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-export-symbols-regex '^pam_sm_'
pam_rstream_pam_rstream_la_LIBADD = pam_rstream/libwebtty-pam.la policy/libpolicy.la policy/libaccountsdb.la \
	$(OPENSSL_LIBS) $(SODIUM_LIBS) $(JSONC_LIBS) $(YAML_LIBS) $(PAM_LIBS)

# libtool installs a .la next to the module: PAM only wants the .so. (pamlibdir
# has no "exec" in its name, so the module is installed by install-data.)
install-data-hook: pam-rstream-install-hook
pam-rstream-install-hook:
	rm -f $(DESTDIR)$(pamlibdir)/pam_rstream.la
uninstall-hook: pam-rstream-uninstall-hook
pam-rstream-uninstall-hook:
	rm -f $(DESTDIR)$(pamlibdir)/pam_rstream.so

dist_man_MANS += man/pam_rstream.8
EXTRA_DIST += pam_rstream/README.md policy/pam.d/webttyd
