#!/bin/sh
# Fails if a hand-written C file differs from .clang-format's layout.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find lib webttyd helper tests -name '*.[ch]')
clang-format --dry-run --Werror $files
echo "clang-format: $(echo "$files" | wc -w) files clean"
