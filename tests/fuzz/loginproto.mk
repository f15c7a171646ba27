# fuzz-loginproto: lib/loginproto.c, every decoder (requests from webttyd,
# proof bundles handed to pam_rstream) and the encoder fixed point.
check_PROGRAMS += tests/fuzz/fuzz-loginproto-replay
TESTS += tests/fuzz/fuzz-loginproto-replay
tests_fuzz_fuzz_loginproto_replay_SOURCES = tests/fuzz/fuzz-loginproto.c tests/fuzz/fuzz-main.c
tests_fuzz_fuzz_loginproto_replay_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/loginproto\"
tests_fuzz_fuzz_loginproto_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_loginproto_replay_LDADD = $(FUZZ_REPLAY_LIBS)

if ENABLE_FUZZING
FUZZ_PROGS += tests/fuzz/fuzz-loginproto
tests_fuzz_fuzz_loginproto_SOURCES = tests/fuzz/fuzz-loginproto.c
tests_fuzz_fuzz_loginproto_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_loginproto_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_loginproto_LDADD = $(FUZZ_LINK_LIBS)
endif
