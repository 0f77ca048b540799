#!/usr/bin/env python3
"""Proves the header rule of lib/ (doc/architecture.md): a folder's private
headers (beside its sources) are found only by that folder's own targets,
and what other folders may include is its include/<folder>/x.h, reached
only by the folders that declare the dependency.

With the real compile command of one source of every folder (from
compile_commands.json), a file that includes another folder's private
header must fail to preprocess with "No such file or directory", and a
file that includes the folder's own private header or an exported header
of a folder it depends on must compile. No source under lib/ may reach
around the rule with a "../" include.

usage: private_headers.py BUILD_ROOT SOURCE_ROOT
SPDX-License-Identifier: ISC"""
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

# (folder, header that must compile there): the exported header of a folder
# it declares as a dependency in its meson.build.
MUST_COMPILE = [
    ('daemon/console', 'policy/trie.h'),
    ('daemon/vmmd', 'host/proc.h'),
    ('daemon/tls', 'dcommon/conn.h'),
    ('io', 'proto/state_codec.h'),
    ('proto', 'asn1/der.h'),
]
# (folder, header that must fail there): the example of issue 8, and
# exported headers of folders that are not declared dependencies.
MUST_FAIL = [
    ('daemon/console', 'vmmd_internal.h'),
    ('base', 'policy/trie.h'),
    ('asn1', 'proto/state_codec.h'),
    ('proto', 'io/state_file.h'),
    ('host', 'dcommon/socket.h'),
]


def folder_of(path, libdir):
    rel = os.path.relpath(os.path.dirname(path), libdir)
    return rel


def base_command(entry):
    """The entry's command without its source, output and dependency file."""
    args = shlex.split(entry['command']) if 'command' in entry else list(entry['arguments'])
    out = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in ('-o', '-MQ', '-MF', '-MT'):
            skip = True
            continue
        if a in ('-c', '-MD', '-MMD') or a == entry['file'] or a.startswith('-fdiagnostics-color'):
            continue
        out.append(a)
    return out


def attempt(cmd, cwd, tmp, header, mode):
    src = os.path.join(tmp, 'probe.c')
    with open(src, 'w') as f:
        f.write(f'#include "{header}"\nint alb_probe_anchor;\n')
    flags = ['-E', '-o', os.devnull] if mode == 'preprocess' else ['-fsyntax-only']
    r = subprocess.run(cmd + flags + [src], cwd=cwd, capture_output=True, text=True)
    return r.returncode, r.stderr


def main(argv):
    build, source = os.path.abspath(argv[0]), os.path.abspath(argv[1])
    libdir = os.path.join(source, 'lib')
    entries = json.load(open(os.path.join(build, 'compile_commands.json')))
    # one library source per folder (the folder's own static library)
    commands = {}
    for e in entries:
        f = os.path.normpath(os.path.join(e['directory'], e['file']))
        if not f.startswith(libdir + os.sep) or not f.endswith('.c'):
            continue
        if '-DALB_TEST_HOOKS' in e.get('command', ''):
            continue
        folder = folder_of(f, libdir)
        commands.setdefault(folder, (base_command(e), e['directory']))
    private = {}
    for h in glob.glob(os.path.join(libdir, '**', '*.h'), recursive=True):
        if os.sep + 'include' + os.sep in os.path.relpath(h, libdir):
            continue
        private.setdefault(folder_of(h, libdir), []).append(os.path.basename(h))
    errors = []
    refused = allowed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for folder, (cmd, cwd) in sorted(commands.items()):
            for owner, headers in sorted(private.items()):
                for h in sorted(headers):
                    if owner == folder:
                        continue
                    # a private header name another folder also has would be
                    # found as that folder's own: not a crossing
                    if h in private.get(folder, []):
                        continue
                    rc, err = attempt(cmd, cwd, tmp, h, 'preprocess')
                    if rc == 0:
                        errors.append(f'{folder}: private header {owner}/{h} is reachable')
                    elif 'No such file or directory' not in err:
                        errors.append(f'{folder}: {owner}/{h} failed for another reason:\n{err}')
                    else:
                        refused += 1
            for h in private.get(folder, []):
                rc, err = attempt(cmd, cwd, tmp, h, 'syntax')
                if rc != 0:
                    errors.append(f'{folder}: its own private header {h} does not compile:\n{err}')
                else:
                    allowed += 1
        for folder, h in MUST_COMPILE:
            rc, err = attempt(*commands[folder], tmp, h, 'syntax')
            print(f'{folder}: #include "{h}" compiles: {"yes" if rc == 0 else "NO"}')
            if rc != 0:
                errors.append(f'{folder}: exported header {h} does not compile:\n{err}')
            allowed += rc == 0
        for folder, h in MUST_FAIL:
            rc, err = attempt(*commands[folder], tmp, h, 'syntax')
            first = err.strip().splitlines()[0] if err.strip() else ''
            print(f'{folder}: #include "{h}" fails: {"yes" if rc != 0 else "NO"} ({first})')
            if rc == 0:
                errors.append(f'{folder}: {h} compiles')
    for src in glob.glob(os.path.join(libdir, '**', '*.[ch]'), recursive=True):
        for n, line in enumerate(open(src, encoding='utf-8'), 1):
            if re.match(r'\s*#\s*include\s*"[^"]*\.\./', line):
                errors.append(f'{os.path.relpath(src, source)}:{n}: include through "../"')
    for e in errors:
        print('FAIL:', e)
    print(f'{len(commands)} folders: {refused} includes of another folder\'s private '
          f'header refused, {allowed} allowed includes compiled')
    return 1 if errors or not commands else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
