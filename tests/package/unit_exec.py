#!/usr/bin/env python3
"""Runs an installed daemon the way its systemd units would, without
systemd: makes the listening socket of UNIT.socket (path, owner, group,
mode, parent directory mode) and passes it as file descriptor 3 with
LISTEN_FDS and LISTEN_PID, then runs the ExecStart= line of UNIT.service
with its User=, Group= (and the user's supplementary groups), UMask=,
CapabilityBoundingSet=, AmbientCapabilities= and NoNewPrivileges= through
setpriv(1). The file-system and system-call sandboxing of the service is
not reproduced. The process keeps its pid from here to the daemon, so
LISTEN_PID is right.

usage: unit_exec.py UNIT [UNIT_DIR]   (UNIT_DIR: /lib/systemd/system)
"""
import grp
import os
import pwd
import shlex
import socket
import sys


def parse(path):
    """{key: [values]} of a unit file (all sections; later lines append)."""
    out = {}
    for raw in open(path):
        line = raw.strip()
        if not line or line[0] in "#;[":
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def last(unit, key, default=None):
    v = unit.get(key)
    return v[-1] if v else default


def caps(values):
    """setpriv's list for a systemd capability list ('' resets it)."""
    names = []
    for v in values or []:
        if v == "":
            names = []
            continue
        names += [c.lower().removeprefix("cap_") for c in v.split()]
    return names


def make_socket(sock):
    path = last(sock, "ListenStream")
    if not path.startswith("/"):
        sys.exit(f"unit_exec: only path sockets are made here, not {path}")
    os.makedirs(os.path.dirname(path),
                mode=int(last(sock, "DirectoryMode", "0755"), 8), exist_ok=True)
    if os.path.lexists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    uid = pwd.getpwnam(last(sock, "SocketUser", "root")).pw_uid
    gid = grp.getgrnam(last(sock, "SocketGroup", "root")).gr_gid
    os.chown(path, uid, gid)
    os.chmod(path, int(last(sock, "SocketMode", "0666"), 8))
    s.listen(socket.SOMAXCONN)
    return s


def main():
    name = sys.argv[1]
    unit_dir = sys.argv[2] if len(sys.argv) > 2 else "/lib/systemd/system"
    svc = parse(os.path.join(unit_dir, name + ".service"))
    sock = parse(os.path.join(unit_dir, name + ".socket"))
    if "LoadCredential" in svc:
        sys.exit("unit_exec: services with credentials are not run here")
    s = make_socket(sock)
    if s.fileno() != 3:
        os.dup2(s.fileno(), 3)
    os.set_inheritable(3, True)
    os.environ["LISTEN_FDS"] = "1"
    os.environ["LISTEN_PID"] = str(os.getpid())
    user = last(svc, "User", "root")
    group = last(svc, "Group", grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name)
    argv = ["setpriv", f"--reuid={user}", f"--regid={group}", "--init-groups"]
    bounding = caps(svc.get("CapabilityBoundingSet"))
    argv.append("--bounding-set=-all" + "".join(",+" + c for c in bounding))
    ambient = caps(svc.get("AmbientCapabilities"))
    if ambient:
        argv += ["--inh-caps=" + ",".join("+" + c for c in ambient),
                 "--ambient-caps=" + ",".join("+" + c for c in ambient)]
    if last(svc, "NoNewPrivileges", "no") in ("yes", "true", "1", "on"):
        argv.append("--no-new-privs")
    os.umask(int(last(svc, "UMask", "0022"), 8))
    argv += shlex.split(last(svc, "ExecStart"))
    print("unit_exec: " + " ".join(shlex.quote(a) for a in argv), flush=True)
    os.execvp("setpriv", argv)


if __name__ == "__main__":
    main()
