#!/usr/bin/env python3
"""Each public header compiles alone (and twice in a row) as C11 with
-pedantic -Werror and as C++ with -pedantic -Werror; every enumerator of a
public enum has an explicit value; every public struct either ends in
ALB_RESERVED(n) or is one of the few complete ones whose layout is fixed for
good (doc/architecture.md, "The ABI rule").

usage: headers.py INCLUDE_DIR CC CXX [EXTRA_CFLAG...]
SPDX-License-Identifier: ISC"""
import glob
import os
import re
import subprocess
import sys
import tempfile

# Complete as they are (a span, a time, a name buffer, a vector): no tail.
FROZEN = {'alb_bytes', 'alb_str', 'alb_time', 'alb_timeval', 'alb_ifname',
          'alb_argv'}

C_FLAGS = ['-std=c11', '-pedantic', '-Werror', '-Wall', '-Wextra',
           '-Wstrict-prototypes', '-Wmissing-prototypes', '-Wshadow',
           '-Wundef', '-fsyntax-only']
CXX_STDS = ['-std=c++11', '-std=c++17']
CXX_FLAGS = ['-pedantic', '-Werror', '-Wall', '-Wextra', '-Wshadow',
             '-Wundef', '-fsyntax-only']


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', text)


def check_enums(path, text):
    errors = []
    for m in re.finditer(r'\benum\s+(\w+)\s*\{(.*?)\}', text, re.S):
        for item in m.group(2).split(','):
            item = item.strip()
            if item and '=' not in item:
                errors.append(f'{path}: enum {m.group(1)}: {item} has no explicit value')
    return errors


def check_structs(path, text):
    errors = []
    for m in re.finditer(r'^struct\s+(\w+)\s*\{', text, re.M):
        i, depth = m.end(), 1
        while depth:
            depth += {'{': 1, '}': -1}.get(text[i], 0)
            i += 1
        body = text[m.end():i - 1].rstrip()
        name = m.group(1)
        tail = re.search(r'ALB_RESERVED\(\s*\d+\s*\)\s*;$', body)
        if name in FROZEN:
            if tail:
                errors.append(f'{path}: struct {name} is listed as frozen but has a reserved tail')
        elif not tail:
            errors.append(f'{path}: struct {name} does not end in ALB_RESERVED(n)')
    return errors


def compile_one(cmd, src, what):
    r = subprocess.run(cmd + [src], capture_output=True, text=True)
    if r.returncode != 0:
        return [f'{what}: {" ".join(cmd)} failed:\n{r.stdout}{r.stderr}']
    return []


def main(argv):
    incdir, cc, cxx, extra = argv[0], argv[1].split(), argv[2].split(), argv[3:]
    headers = sorted(glob.glob(os.path.join(incdir, 'albatross', '*.h')))
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        for h in headers:
            name = os.path.basename(h)
            text = strip_comments(open(h, encoding='utf-8').read())
            errors += check_enums(name, text)
            errors += check_structs(name, text)
            src = os.path.join(tmp, 'alone.c')
            with open(src, 'w') as f:
                f.write(f'#include "albatross/{name}"\n#include "albatross/{name}"\n'
                        'int alb_header_test_anchor;\n')
            errors += compile_one(cc + C_FLAGS + ['-I', incdir] + extra + ['-x', 'c'],
                                  src, f'{name} as C11')
            for std in CXX_STDS:
                errors += compile_one(cxx + [std] + CXX_FLAGS + ['-I', incdir] + extra +
                                      ['-x', 'c++'], src, f'{name} as C++ ({std})')
    for e in errors:
        print('FAIL:', e)
    print(f'{len(headers)} public headers: alone as C11 -pedantic and as C++ '
          f'({", ".join(CXX_STDS)}) -pedantic, explicit enum values, reserved '
          f'tails: {"ok" if not errors else f"{len(errors)} problem(s)"}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
