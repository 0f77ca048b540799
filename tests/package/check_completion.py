#!/usr/bin/env python3
"""Checks the generated shell completions against --help: bash, sourced
alone, completes every command (and alias) of a program from a prefix, and
every option of a command (or of a program without commands) after "--";
the zsh files pass `zsh -n` when zsh is installed.

usage: check_completion.py BASH_DIR ZSH_DIR PROGRAM...
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("ALB_SOURCE_ROOT", ""), "cli"))
import helpscan  # noqa: E402

DRIVER = r'''
source "$1"; shift
fn=$(complete -p "$1" | awk '{print $3}')
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
"$fn"
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(script, words):
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER, "driver",
                        script, *words], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0 or r.stderr:
        raise RuntimeError(f"bash completion of {words}: {r.stderr.strip()}")
    return set(r.stdout.split())


def main():
    bash_dir, zsh_dir, exes = sys.argv[1], sys.argv[2], sys.argv[3:]
    problems, checks = [], 0
    for exe in exes:
        prog = helpscan.scan(exe)
        script = os.path.join(bash_dir, prog.name)
        if prog.commands:
            for c in prog.commands.values():
                for name in [c.name] + c.aliases:
                    checks += 1
                    if name not in complete(script, [prog.name, name[:2]]):
                        problems.append(f"{prog.name} {name[:2]}<TAB> misses {name}")
                got = complete(script, [prog.name, c.name, "--"])
                for o in c.options.values():
                    checks += 1
                    if "--" + o.long not in got:
                        problems.append(f"{prog.name} {c.name} --<TAB> misses --{o.long}")
        else:
            got = complete(script, [prog.name, "--"])
            for o in prog.options.values():
                checks += 1
                if "--" + o.long not in got:
                    problems.append(f"{prog.name} --<TAB> misses --{o.long}")
        zsh = shutil.which("zsh")
        if zsh:
            r = subprocess.run([zsh, "-n", os.path.join(zsh_dir, "_" + prog.name)],
                               stderr=subprocess.PIPE, text=True)
            checks += 1
            if r.returncode != 0:
                problems.append(f"_{prog.name} (zsh): {r.stderr.strip()}")
    for p in problems:
        print(p)
    print(f"{checks} completion checks, {len(problems)} failed"
          + ("" if shutil.which("zsh") else " (zsh not installed: its files unchecked)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
