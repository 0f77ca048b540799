#!/bin/sh
# Builds the Debian packages of the committed and working-tree files (not
# the build directories) in a scratch copy, so that dpkg-buildpackage's
# output (written beside the source) lands in OUTDIR and not beside this
# tree. DEB_BUILD_OPTIONS is passed on (CI: nocheck, no tests built); the
# tests use the golden vectors beside the tree ($ALB_VECTORS_DIR, else
# ../shared/vectors) when they are there.
# usage: debian/build-packages.sh OUTDIR
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/libalbatross"
(cd "$src" && git ls-files -z --cached --others --exclude-standard) |
	(cd "$src" && xargs -0 cp --parents -t "$work/libalbatross")
if [ -z "${ALB_VECTORS_DIR:-}" ] && [ -d "$src/../shared/vectors" ]; then
	ALB_VECTORS_DIR=$(cd "$src/../shared/vectors" && pwd)
	export ALB_VECTORS_DIR
fi
cd "$work/libalbatross"
dpkg-buildpackage -us -uc -b
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
ls "$out"
