#!/usr/bin/env python3
"""Checks that a program's man page documents what its --help lists, and
nothing else: every option (and its short form) has an `.It Fl -NAME` item,
every subcommand an `.It Cm NAME` item and every alias a `Cm ALIAS`; every
`.It Fl` and `.It Cm` item names something --help lists.

usage: check_man_help.py PROGRAM MANPAGE

When a program gains an option, this test fails until its man page gains the
item, e.g. `.It Fl -socket-group Ar group` followed by a sentence.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ.get("ALB_SOURCE_ROOT", ""), "cli"))
import helpscan  # noqa: E402

FL = re.compile(r"\bFl\s+(-?[A-Za-z0-9][A-Za-z0-9-]*)")
CM = re.compile(r"\bCm\s+([a-z][a-z0-9-]*)")


def man_items(path):
    """(long options, short options, commands) of the .It lines, and the
    whole text."""
    longs, shorts, cmds = set(), set(), set()
    text = open(path, encoding="utf-8").read()
    for line in text.splitlines():
        if not line.startswith(".It "):
            continue
        for f in FL.findall(line):
            if f.startswith("-"):
                longs.add(f[1:])
            else:
                shorts.add(f)
        m = re.match(r"\.It\s+Cm\s+([a-z][a-z0-9-]*)", line)
        if m:
            cmds.add(m.group(1))
    return longs, shorts, cmds, text


def main():
    exe, man = sys.argv[1], sys.argv[2]
    prog = helpscan.scan(exe)
    longs, shorts, cmds, text = man_items(man)
    page = os.path.relpath(man, os.environ.get("ALB_SOURCE_ROOT", "."))
    problems = []
    opts = prog.all_options()
    for o in sorted(opts.values(), key=lambda o: o.long):
        if o.long not in longs:
            problems.append(f"--{o.long} is in `{prog.name} --help` but {page} "
                            f"has no `.It Fl -{o.long}` item")
        if o.short and o.short not in shorts:
            problems.append(f"-{o.short} (--{o.long}) is in `{prog.name} --help` "
                            f"but {page} has no `.It Fl {o.short}` item")
    known_shorts = {o.short for o in opts.values() if o.short}
    for l in sorted(longs - set(opts)):
        problems.append(f"{page} documents --{l}, which `{prog.name} --help` "
                        f"does not list")
    for s in sorted(shorts - known_shorts):
        problems.append(f"{page} documents -{s}, which `{prog.name} --help` "
                        f"does not list")
    names = set()
    for c in prog.commands.values():
        names.add(c.name)
        names.update(c.aliases)
        if c.name not in cmds:
            problems.append(f"command '{c.name}' of `{prog.name} --help` has no "
                            f"`.It Cm {c.name}` item in {page}")
        for a in c.aliases:
            if not re.search(r"\bCm\s+" + re.escape(a) + r"\b", text):
                problems.append(f"alias '{a}' of '{c.name}' is not mentioned "
                                f"as `Cm {a}` in {page}")
    if prog.commands:
        for c in sorted(cmds - names):
            problems.append(f"{page} documents the command '{c}', which "
                            f"`{prog.name} --help` does not list")
    n_cmds = len(prog.commands)
    if problems:
        print(f"{prog.name}: the man page and --help disagree:")
        for p in problems:
            print("  " + p)
        return 1
    print(f"{prog.name}: {len(opts)} options and {n_cmds} commands of --help "
          f"are all in {page}, and nothing else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
