#!/usr/bin/env bash
# Builds libalbatross with AddressSanitizer and UndefinedBehaviorSanitizer
# and runs every test. Integration tests need root (they make their own
# network namespace) and skip with a reason otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
builddir=${BUILDDIR:-build-test}
if [ ! -d "$builddir" ]; then
  meson setup "$builddir" -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
fi
ninja -C "$builddir"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C "$builddir" --print-errorlogs "$@"
