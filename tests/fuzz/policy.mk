# Fuzz target(s) for issue 5 (policy): replay test in check_PROGRAMS/TESTS,
# libFuzzer binary appended to FUZZ_PROGS inside `if ENABLE_FUZZING`.
#
#   fuzz-policy.c  policy/policy.c: a policy.yaml text, then decisions for a
#                  fixed set of callers and requests
check_PROGRAMS += tests/fuzz/fuzz-policy-replay
TESTS += tests/fuzz/fuzz-policy-replay
tests_fuzz_fuzz_policy_replay_SOURCES = tests/fuzz/fuzz-policy.c tests/fuzz/fuzz-main.c lib/errmsg.c lib/b64u.c \
	lib/trimspace.c
tests_fuzz_fuzz_policy_replay_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy \
	-DFUZZ_CORPUS_DIR=\"$(FUZZ_CORPUS)/policy\"
tests_fuzz_fuzz_policy_replay_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(SODIUM_CFLAGS)
tests_fuzz_fuzz_policy_replay_LDADD = policy/libpolicy.la $(YAML_LIBS) $(SODIUM_LIBS)

if ENABLE_FUZZING
FUZZ_PROGS += tests/fuzz/fuzz-policy
tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz-policy.c policy/policy.c lib/errmsg.c lib/b64u.c lib/trimspace.c
tests_fuzz_fuzz_policy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/policy
tests_fuzz_fuzz_policy_CFLAGS = $(FUZZ_CFLAGS) $(YAML_CFLAGS) $(SODIUM_CFLAGS) $(FUZZ_SANITIZE)
tests_fuzz_fuzz_policy_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_policy_LDADD = $(YAML_LIBS) $(SODIUM_LIBS)
endif
