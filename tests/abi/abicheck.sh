#!/bin/sh
# Compares libalbatross.so with the committed ABI baseline
# (abi/libalbatross.abi) using libabigail's abidiff, and fails on any
# difference: an incompatible one is a break of soname 0; a compatible one
# (a symbol added) must come with the regenerated baseline in the same
# commit (abi/update.sh, doc/architecture.md).
# usage: abicheck.sh LIB.so BASELINE HEADERS_DIR
# SPDX-License-Identifier: ISC
set -u
lib=$1 baseline=$2 headers=$3
if ! command -v abidiff >/dev/null 2>&1; then
	echo "SKIP: abidiff not found (Debian package abigail-tools)"
	exit 77
fi
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
	echo "SKIP: $lib has no debug information (build with -g, e.g. buildtype debugoptimized)"
	exit 77
fi
out=$(abidiff --headers-dir2 "$headers" "$baseline" "$lib" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ $((rc & 8)) -ne 0 ]; then
	echo "FAIL: incompatible ABI change against $baseline: soname 0 forbids it (doc/architecture.md)"
	exit 1
fi
if [ $((rc & 4)) -ne 0 ]; then
	echo "FAIL: the ABI changed compatibly (e.g. a symbol added): run abi/update.sh BUILDDIR and commit abi/libalbatross.abi with the change"
	exit 1
fi
if [ $rc -ne 0 ]; then
	echo "FAIL: abidiff failed (exit $rc)"
	exit 1
fi
echo "ABI identical to $baseline"
