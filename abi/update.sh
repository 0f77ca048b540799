#!/bin/sh
# Regenerates abi/libalbatross.abi from a build of the library (any build
# with debug information: the default debugoptimized, or the tests' ASan
# one). Run it after a compatible ABI addition and commit the file with the
# change (doc/architecture.md, "The ABI rule").
# usage: abi/update.sh BUILDDIR
# SPDX-License-Identifier: ISC
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: abi/update.sh BUILDDIR}
lib=$(ls -d "$build"/lib/libalbatross.so.0.*.* | grep -v '\.p$' | head -n 1)
abidw --no-corpus-path --no-comp-dir-path --drop-private-types \
	--headers-dir "$top/include/albatross" \
	--out-file "$top/abi/libalbatross.abi" "$lib"
echo "abi/libalbatross.abi written from $lib"
