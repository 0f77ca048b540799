#!/bin/sh
# Boots hello.elf under QEMU (TCG) for one second with exit code 5 and
# checks the greeting, the arguments, the tick and QEMU's exit status,
# (5 << 1) | 1 = 11. Exits 77 (skipped) when QEMU is not installed.
# SPDX-License-Identifier: ISC
set -u
kernel=$1
qemu=${QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
	echo "skipped: $qemu not found"
	exit 77
fi
out=$(timeout 30 "$qemu" -accel tcg -kernel "$kernel" \
	-append "--name=test --seconds=1 --exit=5 --unknown" \
	-nodefaults -no-reboot -serial stdio -display none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 </dev/null)
status=$?
printf '%s\n' "$out"
fail() { echo "FAIL: $*"; exit 1; }
[ "$status" -eq 11 ] || fail "QEMU exit status $status, expected 11"
printf '%s\n' "$out" | grep -qx 'Hello from albatross hello-unikernel' ||
	fail "no greeting"
printf '%s\n' "$out" | grep -q '^cmdline: .* --name=test --seconds=1 --exit=5 --unknown$' ||
	fail "command line not printed"
printf '%s\n' "$out" | grep -qx 'tick 1' || fail "no tick"
printf '%s\n' "$out" | grep -q 'tick 2' && fail "ran past --seconds=1"
printf '%s\n' "$out" | grep -qx 'exiting with code 5' || fail "no exit line"
echo "ok"
