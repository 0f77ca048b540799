#!/usr/bin/env python3
"""debian/libalbatross0.symbols: made from the built library, checked
against it, against the version script lib/libalbatross.map and against the
versions of meson.build and debian/changelog.

  symbols.py update LIBRARY   rewrite the symbols file from LIBRARY (a built
                              libalbatross.so.0.*): symbols already listed
                              keep their minimal version, new ones get the
                              project's version
  symbols.py check LIBRARY    exit 1 with the differences, if any

Paths of the map, meson.build, the changelog and the symbols file are found
from this file's place in the tree.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SYMBOLS = os.path.join(ROOT, "debian", "libalbatross0.symbols")
MAP = os.path.join(ROOT, "lib", "libalbatross.map")
MESON = os.path.join(ROOT, "meson.build")
CHANGELOG = os.path.join(ROOT, "debian", "changelog")
HEADER = ("libalbatross.so.0 libalbatross0 #MINVER#\n"
          "* Build-Depends-Package: libalbatross-dev\n")


def project_version():
    m = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", open(MESON).read(), re.S)
    return m.group(1)


def changelog_version():
    m = re.match(r"\S+ \(([^)]+)\)", open(CHANGELOG).readline())
    return m.group(1)


def exports(lib):
    """{name@NODE} the library exports, and its version nodes."""
    out = subprocess.run(["nm", "-D", "--defined-only", "--with-symbol-versions", lib],
                         stdout=subprocess.PIPE, text=True, check=True).stdout
    syms, nodes = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        kind, sym = parts[1], parts[2]
        if kind == "A":  # the version node itself
            nodes.add(sym.split("@")[0])
            continue
        name, _, node = sym.partition("@@")
        if not node:
            name, _, node = sym.partition("@")
        syms.add(f"{name}@{node}")
    return syms, nodes


def read_symbols():
    """{name@NODE: minimal version} of the symbols file."""
    out = {}
    if not os.path.exists(SYMBOLS):
        return out
    for line in open(SYMBOLS):
        if line.startswith(" "):
            sym, ver = line.split()[:2]
            out[sym] = ver
    return out


def read_map():
    """{node: [global patterns]} of the version script."""
    text = re.sub(r"#[^\n]*|/\*.*?\*/", "", open(MAP).read(), flags=re.S)
    nodes = {}
    for m in re.finditer(r"([A-Za-z0-9_.]+)\s*\{(.*?)\}\s*[A-Za-z0-9_.]*\s*;", text, re.S):
        body = m.group(2)
        g = re.search(r"global\s*:(.*?)(?:local\s*:|$)", body, re.S)
        names = [s.strip() for s in (g.group(1) if g else "").split(";") if s.strip()]
        nodes[m.group(1)] = names
    return nodes


def update(lib):
    syms, nodes = exports(lib)
    old = read_symbols()
    ver = project_version()
    lines = [HEADER]
    for node in sorted(nodes):
        key = f"{node}@{node}"
        lines.append(f" {key} {old.get(key, ver)}\n")
    for s in sorted(syms):
        lines.append(f" {s} {old.get(s, ver)}\n")
    with open(SYMBOLS + ".tmp", "w") as f:
        f.writelines(lines)
    os.replace(SYMBOLS + ".tmp", SYMBOLS)
    print(f"{SYMBOLS}: {len(syms)} symbols in {', '.join(sorted(nodes))}")
    return 0


def check(lib):
    problems = []
    syms, nodes = exports(lib)
    listed = read_symbols()
    listed_syms = {s for s in listed if s.split("@")[0] not in nodes}
    for s in sorted(syms - listed_syms):
        problems.append(f"{s} is exported but not in debian/libalbatross0.symbols")
    for s in sorted(listed_syms - syms):
        problems.append(f"{s} is in debian/libalbatross0.symbols but not exported")
    for n in sorted(nodes):
        if f"{n}@{n}" not in listed:
            problems.append(f"version node {n} is not in debian/libalbatross0.symbols")
    mapped = read_map()
    for node, patterns in mapped.items():
        if any(ch in p for p in patterns for ch in "*?["):
            continue  # a wildcard node: the library's exports are the truth
        names = set(patterns)
        exported = {s.split("@")[0] for s in syms if s.split("@")[1] == node}
        for n in sorted(names - exported):
            problems.append(f"{n} is in node {node} of lib/libalbatross.map but "
                            f"the library does not export it there")
        for n in sorted(exported - names):
            problems.append(f"{n}@{node} is exported but not named in lib/libalbatross.map")
    for s in syms:
        if s.split("@")[1] not in mapped:
            problems.append(f"{s}: node not in lib/libalbatross.map")
    ver, deb = project_version(), changelog_version()
    if deb.split("-")[0].split("+")[0] != ver:
        problems.append(f"debian/changelog is at {deb}, meson.build at {ver}: add "
                        f"a changelog entry (dch -v {ver})")
    if problems:
        print("debian/libalbatross0.symbols, lib/libalbatross.map and the library disagree:")
        for p in problems:
            print("  " + p)
        print("when the exports change, rebuild and run: debian/symbols.py update "
              "BUILDDIR/lib/libalbatross.so.0.*")
        return 1
    print(f"{len(syms)} symbols in {', '.join(sorted(nodes))}: the library, "
          f"lib/libalbatross.map and debian/libalbatross0.symbols agree; "
          f"changelog {deb}, meson {ver}")
    return 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("update", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    return update(sys.argv[2]) if sys.argv[1] == "update" else check(sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
