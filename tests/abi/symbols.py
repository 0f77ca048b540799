#!/usr/bin/env python3
"""The exported symbols of libalbatross.so, the ALB_EXPORT declarations of
the public headers and the names in the version script must be the same
set, each symbol versioned in a LIBALBATROSS_* node; the symbols that only
the tests' builds have (ALB_TEST_HOOKS) must not be in the library at all.

usage: symbols.py LIB.so MAP HEADER... [--test-only NAME...]
       symbols.py --print-map HEADER...   (the names, for the map)
SPDX-License-Identifier: ISC"""
import re
import subprocess
import sys

EXPORT_RE = re.compile(r'\bALB_EXPORT\b([^;{]*?)\b(alb_\w+)\s*\(', re.S)


def declared(headers):
    """Names declared with ALB_EXPORT in the headers (comments dropped)."""
    names = set()
    for h in headers:
        text = open(h, encoding='utf-8').read()
        text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
        text = re.sub(r'//[^\n]*', ' ', text)
        text = re.sub(r'^\s*#\s*define\s+ALB_EXPORT\b[^\n]*', ' ', text, flags=re.M)
        for m in EXPORT_RE.finditer(text):
            names.add(m.group(2))
    return names


def map_nodes(path):
    """{node: [global names]} of a version script; wildcards are errors."""
    text = re.sub(r'#[^\n]*', '', open(path, encoding='utf-8').read())
    nodes = {}
    errors = []
    for m in re.finditer(r'([\w.]+)\s*\{(.*?)\}\s*([\w.]*)\s*;', text, re.S):
        node, body = m.group(1), m.group(2)
        scope = None
        names = []
        for tok in re.split(r'[;\s]+', body):
            if not tok:
                continue
            if tok in ('global:', 'local:'):
                scope = tok
                continue
            if scope == 'global:':
                if any(c in tok for c in '*?['):
                    errors.append(f'{path}: wildcard {tok} in node {node}: '
                                  'list every symbol by name')
                names.append(tok)
        nodes[node] = names
    return nodes, errors


def exported(lib):
    """{name: version} of the defined dynamic symbols of lib."""
    out = subprocess.run(['nm', '-D', '--defined-only', '--with-symbol-versions', lib],
                         check=True, capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        if parts[1] == 'A':  # a version node's own symbol
            continue
        name, _, version = parts[2].partition('@')
        version = version.lstrip('@')
        if name == version:  # the version definition itself
            continue
        syms[name] = version
    return syms


def all_symbols(lib):
    out = subprocess.run(['nm', '-a', lib], check=True, capture_output=True,
                         text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split()}


def main(argv):
    if argv[:1] == ['--print-map']:
        for name in sorted(declared(argv[1:])):
            print(f'    {name};')
        return 0
    test_only = []
    if '--test-only' in argv:
        i = argv.index('--test-only')
        test_only = argv[i + 1:]
        argv = argv[:i]
    lib, mapfile, headers = argv[0], argv[1], argv[2:]
    errors = []
    decl = declared(headers)
    nodes, errs = map_nodes(mapfile)
    errors += errs
    mapped = {}
    for node, names in nodes.items():
        if not node.startswith('LIBALBATROSS_'):
            errors.append(f'{mapfile}: node {node} is not LIBALBATROSS_*')
        for n in names:
            if n in mapped:
                errors.append(f'{mapfile}: {n} listed twice')
            mapped[n] = node
    exp = exported(lib)
    for n in sorted(set(exp) - decl):
        errors.append(f'{n}: exported by {lib} but not declared ALB_EXPORT in a public header')
    for n in sorted(decl - set(exp)):
        errors.append(f'{n}: declared ALB_EXPORT but not exported by {lib} '
                      '(missing from the map, or not defined)')
    for n in sorted(set(mapped) - decl):
        errors.append(f'{n}: in {mapfile} but not declared ALB_EXPORT in a public header')
    for n in sorted(decl - set(mapped)):
        errors.append(f'{n}: declared ALB_EXPORT but missing from {mapfile}')
    for n, v in sorted(exp.items()):
        if n in mapped and v != mapped[n]:
            errors.append(f'{n}: exported as version {v!r}, the map says {mapped[n]}')
    present = all_symbols(lib)
    for n in test_only:
        if n in present:
            errors.append(f'{n}: a test-only symbol is in {lib}')
    for e in errors:
        print('FAIL:', e)
    counts = ', '.join(f'{node} {len(names)}' for node, names in nodes.items())
    print(f'{len(exp)} symbols exported, {len(decl)} declared in '
          f'{len(headers)} headers, map: {counts}; test-only symbols absent: '
          f'{len([n for n in test_only if n not in present])}/{len(test_only)}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
