#!/usr/bin/env bash
# Installs the Debian packages it needs (as root), builds libalbatross with
# AddressSanitizer and UndefinedBehaviorSanitizer and runs every test.
# Integration tests need root (they make their own network namespace) and
# skip with a printed reason otherwise.
# Extra arguments go to `meson test` (e.g. a test name or --suite unit).
# ALB_COVERAGE=1 also instruments the build for line coverage (gcov; the
# counters of earlier runs are removed first), for .ci/run's report.
set -uo pipefail
cd "$(dirname "$0")/.."
.ci/install-packages.sh || exit 1
builddir=${BUILDDIR:-build-test}
if [ ! -f "$builddir/build.ninja" ]; then
  meson setup "$builddir" --werror -Db_sanitize=address,undefined -Db_lundef=false >/dev/null || exit 1
fi
if [ "${ALB_COVERAGE:-0}" = 1 ]; then
  meson configure "$builddir" -Db_coverage=true >/dev/null || exit 1
  find "$builddir" -name '*.gcda' -delete
fi
ninja -C "$builddir" || exit 1
# promtool for test_metrics, without installing a Prometheus server
ALB_PROMTOOL=${ALB_PROMTOOL:-$(.ci/promtool.sh)}
export ALB_PROMTOOL
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C "$builddir" --print-errorlogs "$@"
rc=$?
# One closing line that any reader understands.
python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    r = json.loads(line).get("result", "")
    key = "OK" if r in ("OK", "EXPECTEDFAIL") else "SKIP" if r == "SKIP" else "FAIL"
    counts[key] += 1
print(f"tests: {counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $rc
