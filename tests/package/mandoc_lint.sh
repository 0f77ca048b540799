#!/bin/sh
# mandoc -Tlint on every man page: no message at any level, style included,
# except two that depend on this machine's manual database ("referenced
# manual not found" for the pages of this tree, not installed; "outdated
# mandoc.db").
# usage: mandoc_lint.sh PAGE...
command -v mandoc >/dev/null || { echo "skip: mandoc is not installed (Debian package mandoc)"; exit 77; }
out=$(mandoc -Tlint -Wstyle "$@" 2>&1 | grep -v -e 'referenced manual not found' -e 'mandoc.db')
if [ -n "$out" ]; then
	printf '%s\n' "$out"
	exit 1
fi
echo "mandoc -Tlint: $# pages clean"
