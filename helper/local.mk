# helper/: the webtty command-line tool (client side and file helpers).
bin_PROGRAMS += helper/webtty

helper_webtty_SOURCES = \
	helper/webtty.c \
	helper/exec.c helper/exec.h
helper_webtty_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS) $(PROTOBUF_C_CFLAGS) $(SODIUM_CFLAGS)
helper_webtty_LDADD = lib/libwebtty.la $(SYSTEMD_LIBS) $(PROTOBUF_C_LIBS) $(SODIUM_LIBS)
