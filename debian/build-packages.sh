#!/bin/sh
# Builds the Debian packages of the committed and working-tree files (not
# the build directories) in a scratch copy, so that dpkg-buildpackage's
# output (written beside the source) lands in OUTDIR and not beside this
# tree. DEB_BUILD_OPTIONS is passed on (CI: nocheck, no tests built).
# usage: debian/build-packages.sh OUTDIR
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/libalbatross"
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$src" && xargs -0 cp --parents -t "$work/libalbatross")
cd "$work/libalbatross"
dpkg-buildpackage -us -uc -b
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls "$out"
