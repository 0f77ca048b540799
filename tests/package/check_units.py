#!/usr/bin/env python3
"""Checks the daemons' systemd units, tmpfiles.d and sysusers.d entries:

- `systemd-analyze verify` of every unit prints nothing and succeeds (the
  services' ExecStart point at the programs of this build);
- `systemd-analyze security --offline=true` gives each service an exposure
  at or below its budget (printed for the record);
- systemd-sysusers and systemd-tmpfiles, in a scratch root, make the user
  and group albatross and the directories with the owners and modes that
  albd(8) describes.

usage: check_units.py SOURCE_DIR BUILD_DIR SBINDIR PROGRAM_DIR
  (cli/systemd, its build directory, the sbindir the services were
  configured with, the directory of the built programs)
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Exposure budgets: the scores when the units were written, rounded up.
# albd's went from 2.0 to 2.5 with --tender-uids: CAP_KILL, CAP_CHOWN and
# CAP_SET(UID|GID|PCAP) in its bounding set (0.1 + 0.2 + 0.3, rounded),
# which take root away from every tender.
BUDGET = {"albd": 2.5, "alb-consoled": 0.2, "alb-statsd": 1.3, "alb-tlsd": 0.4}

# What the tmpfiles.d entry must make: path -> (mode, owner, group).
LAYOUT = {
    "run/albatross": (0o755, "root", "root"),
    "run/albatross/util": (0o755, "root", "root"),
    "run/albatross/fifo": (0o2750, "root", "albatross"),
    "var/lib/albatross": (0o751, "root", "albatross"),
    "var/lib/albatross/block": (0o711, "root", "root"),
}


def run(cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120)


def ids(root, name):
    """uid and gid of name in root's passwd and group files."""
    uid = gid = None
    for line in open(os.path.join(root, "etc/passwd")):
        f = line.split(":")
        if f[0] == name:
            uid = int(f[2])
    for line in open(os.path.join(root, "etc/group")):
        f = line.split(":")
        if f[0] == name:
            gid = int(f[2])
    return uid, gid


def main():
    src, build, sbindir, progdir = sys.argv[1:5]
    if shutil.which("systemd-analyze") is None:
        print("skip: systemd-analyze is not installed (Debian package systemd)")
        return 77
    problems = []
    with tempfile.TemporaryDirectory() as d:
        units = []
        for path in sorted(glob.glob(os.path.join(src, "*.socket")) +
                           glob.glob(os.path.join(build, "*.service"))):
            text = open(path).read().replace(sbindir.rstrip("/") + "/",
                                             progdir.rstrip("/") + "/")
            out = os.path.join(d, os.path.basename(path))
            open(out, "w").write(text)
            units.append(out)
        r = run(["systemd-analyze", "verify", "--man=no", *units])
        if r.returncode != 0 or r.stdout.strip():
            problems.append("systemd-analyze verify:\n" + r.stdout)
        else:
            print(f"systemd-analyze verify: {len(units)} units clean")
        for u in units:
            if not u.endswith(".service"):
                continue
            name = os.path.basename(u)[:-len(".service")]
            r = run(["systemd-analyze", "security", "--offline=true", "--no-pager", u])
            m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
            if m is None:
                problems.append(f"{name}.service: no exposure level:\n{r.stdout}")
                continue
            print(f"{name}.service: exposure {m.group(1)} (budget {BUDGET[name]})")
            if float(m.group(1)) > BUDGET[name]:
                problems.append(f"{name}.service: exposure {m.group(1)} above "
                                f"{BUDGET[name]}:\n" + "\n".join(
                                    l for l in r.stdout.splitlines() if l.startswith("✗")))
    if shutil.which("systemd-sysusers") and shutil.which("systemd-tmpfiles"):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "etc"))
            for f in ("passwd", "group", "shadow", "gshadow"):
                open(os.path.join(root, "etc", f), "w").close()
            r = run(["systemd-sysusers", f"--root={root}",
                     os.path.abspath(os.path.join(src, "sysusers.conf"))])
            uid, gid = ids(root, "albatross")
            if r.returncode != 0 or uid is None or gid is None:
                problems.append("systemd-sysusers made no user and group albatross:\n"
                                + r.stdout)
            r = run(["systemd-tmpfiles", f"--root={root}", "--create",
                     os.path.abspath(os.path.join(src, "tmpfiles.conf"))])
            if r.returncode != 0:
                problems.append("systemd-tmpfiles --create:\n" + r.stdout)
            names = {"root": 0, "albatross": gid}
            for path, (mode, owner, group) in LAYOUT.items():
                try:
                    st = os.lstat(os.path.join(root, path))
                except FileNotFoundError:
                    problems.append(f"tmpfiles.conf makes no /{path}")
                    continue
                got = (st.st_mode & 0o7777, st.st_uid, st.st_gid)
                want = (mode, names["root"] if owner == "root" else uid, names[group])
                if got != want:
                    problems.append(f"/{path}: mode {got[0]:o} uid {got[1]} gid "
                                    f"{got[2]}, want {want[0]:o} {owner} {group}")
            print(f"sysusers.conf and tmpfiles.conf: user albatross, "
                  f"{len(LAYOUT)} directories checked")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
