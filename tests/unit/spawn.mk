# webttyd/spawn.c: environment, executable/account resolution, real children.
# -I webttyd: "spawn.h" must not fall through to the system <spawn.h>.
check_PROGRAMS += tests/unit/test-spawn
TESTS += tests/unit/test-spawn
tests_unit_test_spawn_SOURCES = tests/unit/test-spawn.c webttyd/spawn.c webttyd/spawn.h
tests_unit_test_spawn_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/webttyd
tests_unit_test_spawn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_spawn_LDADD = $(UNIT_LIBS) $(UTIL_LIBS)
