# Fuzz target(s) for issue 5 (login): replay test in check_PROGRAMS/TESTS,
# libFuzzer binary appended to FUZZ_PROGS inside `if ENABLE_FUZZING`.
#
# fuzz-login-request: webttyd-login's REQUEST decoder, Open decoding and PROOF
# bundle derivation (webttyd/login/request.c), the bundle text round trip.
check_PROGRAMS += tests/fuzz/fuzz-login-request-replay
TESTS += tests/fuzz/fuzz-login-request-replay
FUZZ_LOGIN_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/webttyd -I$(top_srcdir)/webttyd/login
tests_fuzz_fuzz_login_request_replay_SOURCES = tests/fuzz/fuzz-login-request.c tests/fuzz/fuzz-main.c \
	webttyd/login/request.c
tests_fuzz_fuzz_login_request_replay_CPPFLAGS = $(FUZZ_LOGIN_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/login-request\"
tests_fuzz_fuzz_login_request_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS) $(PAM_CFLAGS)
tests_fuzz_fuzz_login_request_replay_LDADD = $(FUZZ_REPLAY_LIBS)

if ENABLE_FUZZING
FUZZ_PROGS += tests/fuzz/fuzz-login-request
tests_fuzz_fuzz_login_request_SOURCES = tests/fuzz/fuzz-login-request.c webttyd/login/request.c
tests_fuzz_fuzz_login_request_CPPFLAGS = $(FUZZ_LOGIN_CPPFLAGS)
tests_fuzz_fuzz_login_request_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) $(PAM_CFLAGS)
tests_fuzz_fuzz_login_request_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_login_request_LDADD = $(FUZZ_LINK_LIBS)
endif

# fuzz-login-open-bytes: webttyd's login_open_bytes() (webttyd/loginclient.c),
# the slice of the client's Message forwarded to webttyd-login.
check_PROGRAMS += tests/fuzz/fuzz-login-open-bytes-replay
TESTS += tests/fuzz/fuzz-login-open-bytes-replay
tests_fuzz_fuzz_login_open_bytes_replay_SOURCES = tests/fuzz/fuzz-login-open-bytes.c tests/fuzz/fuzz-main.c \
	webttyd/loginclient.c
tests_fuzz_fuzz_login_open_bytes_replay_CPPFLAGS = $(FUZZ_LOGIN_CPPFLAGS) \
	-DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/login-open-bytes\"
tests_fuzz_fuzz_login_open_bytes_replay_CFLAGS = $(FUZZ_REPLAY_CFLAGS)
tests_fuzz_fuzz_login_open_bytes_replay_LDADD = $(FUZZ_REPLAY_LIBS)

if ENABLE_FUZZING
FUZZ_PROGS += tests/fuzz/fuzz-login-open-bytes
tests_fuzz_fuzz_login_open_bytes_SOURCES = tests/fuzz/fuzz-login-open-bytes.c webttyd/loginclient.c
tests_fuzz_fuzz_login_open_bytes_CPPFLAGS = $(FUZZ_LOGIN_CPPFLAGS)
tests_fuzz_fuzz_login_open_bytes_CFLAGS = $(FUZZ_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_login_open_bytes_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_login_open_bytes_LDADD = $(FUZZ_LINK_LIBS)
endif
