#!/usr/bin/env bash
# Prints the path of a `promtool` for test_metrics (`promtool check metrics`
# of the daemons' Prometheus pages): the one on PATH, else the one of Debian's
# `prometheus` package, unpacked once into a cache directory without
# installing the package (which would start a Prometheus server). Prints
# nothing when neither is available; the test then checks the pages with its
# own strict parser only.
set -uo pipefail
if command -v promtool 2>/dev/null; then exit 0; fi
cache=${ALB_PROMTOOL_CACHE:-/var/cache/libalbatross-tests}
tool="$cache/usr/bin/promtool"
if [ ! -x "$tool" ]; then
  [ "$(id -u)" = 0 ] || exit 0
  work=$(mktemp -d) || exit 0
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq prometheus >/dev/null 2>&1) || exit 0
  mkdir -p "$cache" &&
    dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb |
      tar -x -C "$cache" ./usr/bin/promtool 2>/dev/null || exit 0
fi
"$tool" --version >/dev/null 2>&1 && echo "$tool"
exit 0
