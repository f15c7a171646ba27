# tests/integration/: the real webttyd and webtty driven over every transport by a
# standard-library Python client under pytest (Debian: python3-pytest).
#
# `make check` runs the generated wrapper integration.test (build tree), which points
# the suite at the freshly built binaries and runs run-integration.sh from the source
# tree. run-integration.sh exits 77 (skip) when pytest is missing.
TESTS += tests/integration/integration.test
CLEANFILES += tests/integration/integration.test
tests/integration/integration.test: Makefile
	$(AM_V_GEN)$(MKDIR_P) tests/integration && { \
	  echo '#!/bin/sh'; \
	  echo "BUILDDIR='$(abs_top_builddir)'; export BUILDDIR"; \
	  echo "WEBTTYD='$(abs_top_builddir)/webttyd/webttyd'; export WEBTTYD"; \
	  echo "WEBTTY='$(abs_top_builddir)/helper/webtty'; export WEBTTY"; \
	  echo "WT_FORGE='$(abs_top_builddir)/tests/tools/wt-forge'; export WT_FORGE"; \
	  echo "exec '$(abs_top_srcdir)/tests/integration/run-integration.sh' \"\$$@\""; \
	} >$@.tmp && chmod +x $@.tmp && mv -f $@.tmp $@

dist_noinst_SCRIPTS += tests/integration/run-integration.sh
EXTRA_DIST += \
	tests/integration/conftest.py \
	tests/integration/nsroot.py \
	tests/integration/test_login_helper.py \
	tests/integration/test_login_e2e.py \
	tests/integration/test_login_client.py \
	tests/integration/test_policy_cli.py \
	tests/integration/wtproto.py \
	tests/integration/test_wtproto.py \
	tests/integration/test_session.py \
	tests/integration/test_errors.py \
	tests/integration/test_auth.py \
	tests/integration/test_startup.py \
	tests/integration/test_lifecycle.py \
	tests/integration/test_backpressure.py \
	tests/integration/test_client.py \
	tests/integration/test_login.py \
	tests/integration/test_systemd.py \
	tests/integration/test_systemd_boot.py \
	tests/integration/systemd_boot_inside.sh \
	tests/integration/test_regressions.py \
	tests/integration/test_files_cli.py \
	tests/integration/test_e2e.py
