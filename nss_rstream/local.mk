# nss_rstream/: libnss_rstream.so.2 (passwd/group from accounts.db). Issue 5.
#
# Installed as $(libdir)/libnss_rstream.so.2 (soname libnss_rstream.so.2,
# where glibc looks for `rstream` in nsswitch.conf). libtool builds it as a
# module with -version-info 2:0:0 (file libnss_rstream.so.2.0.0 plus the
# libnss_rstream.so.2 link); the .la and the unversioned development link are
# removed after install: nothing links against an NSS module.
lib_LTLIBRARIES = nss_rstream/libnss_rstream.la
nss_rstream_libnss_rstream_la_SOURCES = nss_rstream/nss_rstream.c
nss_rstream_libnss_rstream_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy
nss_rstream_libnss_rstream_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
# libc (and libpthread, part of libc on Debian 12) only: no pkg-config
# libraries, no lib/libwebtty.la (tests/unit/test-nss-rstream asserts NEEDED).
nss_rstream_libnss_rstream_la_LIBADD = policy/libaccountsdb-read.la
nss_rstream_libnss_rstream_la_LDFLAGS = -module -shared -version-info 2:0:0 -no-undefined \
	-Wl,--version-script=$(top_srcdir)/nss_rstream/nss_rstream.sym -Wl,-z,defs
EXTRA_DIST += nss_rstream/nss_rstream.sym nss_rstream/README.md
EXTRA_nss_rstream_libnss_rstream_la_DEPENDENCIES = nss_rstream/nss_rstream.sym
dist_man_MANS += man/nss_rstream.8 man/webtty-accounts.1

# Dependency-only hook lines, so other fragments can add their own.
install-exec-hook: nss-rstream-install-exec-hook
uninstall-hook: nss-rstream-uninstall-hook
nss-rstream-install-exec-hook:
	rm -f '$(DESTDIR)$(libdir)/libnss_rstream.la' '$(DESTDIR)$(libdir)/libnss_rstream.so'
nss-rstream-uninstall-hook:
	rm -f '$(DESTDIR)$(libdir)/libnss_rstream.so.2' '$(DESTDIR)$(libdir)/libnss_rstream.so.2.0.0'
