#!/bin/sh
# Runs the integration suite (real webttyd and webtty binaries) under pytest.
# Used by `make check` (see local.mk); also runnable by hand from any directory:
#   tests/integration/run-integration.sh [pytest args...]
# Binaries: $WEBTTYD / $WEBTTY, else $BUILDDIR/webttyd/webttyd and $BUILDDIR/helper/webtty;
# BUILDDIR defaults to the top build directory given by make (abs_top_builddir), else to
# the source tree that holds this script.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
: "${BUILDDIR:=${abs_top_builddir:-$(dirname -- "$(dirname -- "$here")")}}"
: "${WEBTTYD:=$BUILDDIR/webttyd/webttyd}"
: "${WEBTTY:=$BUILDDIR/helper/webtty}"
export BUILDDIR WEBTTYD WEBTTY
PYTHON=${PYTHON:-/usr/bin/python3}
if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
        echo "run-integration.sh: $PYTHON has no pytest (Debian: python3-pytest); skipping" >&2
        exit 77
fi
# Never write into the (possibly read-only, e.g. distcheck) source tree.
export PYTHONDONTWRITEBYTECODE=1
exec "$PYTHON" -m pytest -q -p no:cacheprovider -o console_output_style=classic \
        --rootdir="$here" -c /dev/null "$here" "$@"
