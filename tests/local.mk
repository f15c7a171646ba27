# tests/: unit tests (Check), integration tests (real daemon and client),
# fuzz targets. Each area keeps its own fragment.
include tests/unit/local.mk
include tests/tools/local.mk
include tests/integration/local.mk
include tests/fuzz/local.mk

# Whole-tree checks that are shell scripts.
AM_TESTS_ENVIRONMENT = BUILDDIR='$(abs_top_builddir)'; export BUILDDIR;
TESTS += tests/verify-units.sh
dist_noinst_SCRIPTS += tests/verify-units.sh tests/valgrind-session.sh tests/run-all.sh tests/check-format.sh
