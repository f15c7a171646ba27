# tests/integration/: the real webttyd and webtty driven over every transport by a
# standard-library Python client under pytest (Debian: python3-pytest).
# run-integration.sh exits 77 (skip) when pytest is missing.
TESTS += tests/integration/run-integration.sh
AM_TESTS_ENVIRONMENT = \
	abs_top_builddir='$(abs_top_builddir)'; export abs_top_builddir; \
	WEBTTYD='$(abs_top_builddir)/webttyd/webttyd'; export WEBTTYD; \
	WEBTTY='$(abs_top_builddir)/helper/webtty'; export WEBTTY;
dist_noinst_SCRIPTS += tests/integration/run-integration.sh
EXTRA_DIST += \
	tests/integration/conftest.py \
	tests/integration/wtproto.py \
	tests/integration/test_wtproto.py \
	tests/integration/test_session.py \
	tests/integration/test_errors.py \
	tests/integration/test_auth.py \
	tests/integration/test_startup.py \
	tests/integration/test_lifecycle.py \
	tests/integration/test_backpressure.py \
	tests/integration/test_client.py \
	tests/integration/test_login.py
