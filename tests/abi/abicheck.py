#!/usr/bin/env python3
"""Compares libalbatross.so with the committed ABI baseline
(abi/libalbatross.abi) using libabigail's abidiff on the public types, and
fails on any difference (doc/architecture.md, "The ABI rule"):

- incompatible, a break of soname 0: a symbol removed, a function's or a
  public struct's type changed, a struct whose size changed, a member
  moved, an enumerator's value changed;
- compatible, to be committed with the regenerated baseline
  (abi/update.sh) in the same commit: symbols added, and members that take
  words of a struct's reserved tail (same size, every other member where
  it was, only reserved_ shorter).

abidiff reports a reserved word taken as a change of the struct; it is
told apart from a break by the lines of the report, which must all be of
the kinds listed in COMPATIBLE below.

usage: abicheck.py LIB.so BASELINE HEADERS_DIR
SPDX-License-Identifier: ISC"""
import re
import shutil
import subprocess
import sys

# Lines a report may hold when the only change is symbols added or
# reserved words taken.
COMPATIBLE = [re.compile(p) for p in (
    r"^$",
    r"^Functions changes summary: 0 Removed, \d+ Changed( \(\d+ filtered out\))?, \d+ Added functions?$",
    r"^Variables changes summary: 0 Removed, 0 Changed( \(\d+ filtered out\))?, \d+ Added variables?$",
    r"^Function symbols changes summary: 0 Removed, \d+ Added function symbols? not referenced by debug info$",
    r"^Variable symbols changes summary: 0 Removed, \d+ Added variable symbols? not referenced by debug info$",
    r"^\s*\d+ Added (functions?|variables?|function symbols?|variable symbols?)( not referenced by debug info)?:$",
    r"^\s*\[A\] ",
    r"^\s*\d+ functions? with some indirect sub-type changes?:$",
    r"^\s*\[C\] '.*'( at \S+)? has some indirect sub-type changes:$",
    r"^\s*parameter \d+ of type '.*' has sub-type changes:$",
    r"^\s*return type .* has sub-type changes:$",
    r"^\s*in (pointed to|referenced|unqualified underlying|underlying) type '.*'( at \S+)?:$",
    r"^\s*type size hasn't changed$",
    r"^\s*\d+ data member insertions?:$",
    r"^\s*'[^']*', at offset \d+ \(in bits\)( at \S+)?$",
    r"^\s*\d+ data member changes?( \(\d+ filtered\))?:$",
    r"^\s*type of '[^']*\breserved_\[\d+\]' changed:$",
    r"^\s*type name changed from 'uint64_t\[\d+\]' to 'uint64_t\[\d+\]'$",
    r"^\s*array type size changed from \d+ to \d+$",
    r"^\s*array type subrange \d+ changed length from \d+ to \d+$",
    r"^\s*and offset changed from \d+ to \d+ \(in bits\) \(by [+-]\d+ bits\)$",
)]


def main(argv):
    lib, baseline, headers = argv
    if shutil.which('abidiff') is None:
        print('SKIP: abidiff not found (Debian package abigail-tools)')
        return 77
    sections = subprocess.run(['readelf', '-S', lib], capture_output=True, text=True).stdout
    if '.debug_info' not in sections:
        print(f'SKIP: {lib} has no debug information (build with -g, e.g. '
              'buildtype debugoptimized)')
        return 77
    r = subprocess.run(['abidiff', '--headers-dir2', headers, '--drop-private-types',
                        baseline, lib], capture_output=True, text=True)
    report = r.stdout + r.stderr
    print(report.rstrip())
    if r.returncode == 0:
        print(f'ABI identical to {baseline}')
        return 0
    if r.returncode & 3:
        print(f'FAIL: abidiff failed (exit {r.returncode})')
        return 1
    odd = [l for l in report.splitlines()
           if not any(p.match(l) for p in COMPATIBLE)]
    if r.returncode & 8 or odd:
        for l in odd:
            print('incompatible:', l.strip())
        print(f'FAIL: incompatible ABI change against {baseline}: soname 0 '
              'forbids it (doc/architecture.md)')
        return 1
    print('FAIL: compatible ABI change (symbols added or reserved words taken): '
          'run abi/update.sh BUILDDIR and commit abi/libalbatross.abi with the change')
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
