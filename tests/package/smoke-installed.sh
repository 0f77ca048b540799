#!/usr/bin/env bash
# The installed packages, end to end, as root on Debian 12 without systemd
# as PID 1: lintian (no errors), apt install, the layout the package makes,
# albd, alb-consoled and alb-statsd started as their units would start them
# (tests/package/unit_exec.py: the socket units' sockets, the services'
# ExecStart, users, groups and capabilities through setpriv; tenders under
# the uids of albd.service's --tender-uids), the demo
# unikernel deployed, shown and destroyed by a user in the group albatross
# (and refused to a user outside it), then apt purge, after which nothing of
# the packages is left. Everything networked runs in a network namespace
# of its own.
# usage: smoke-installed.sh DEBDIR HELLO_ELF
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
debdir=$(cd "$1" && pwd)
hello=$(realpath "$2")
pkgs=(libalbatross0 libalbatross-dev alb-daemons alb-tools alb-oci)
bridge=albsmoke0
say() { printf '== %s\n' "$*"; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "smoke: run me as root" >&2
	exit 77
fi

# ---- phase 2, in a private network namespace: the daemons and a deploy
if [ -n "${ALB_SMOKE_NETNS:-}" ]; then
	work=$ALB_SMOKE_WORK
	pids=()
	stop() {
		for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
		for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	}
	trap stop EXIT
	# /dev/net/tun as udev makes it on a stock host (0666), whatever this
	# machine's is, in this mount namespace only: albd.service runs each
	# tender under a uid of its own (--tender-uids), which opens its tap by
	# name; /dev/kvm likewise (0660, group kvm) where there is a group kvm
	mkdir "$work/dev"
	mount -t tmpfs -o mode=0755 tmpfs "$work/dev"
	mknod -m 0666 "$work/dev/tun" c 10 200
	mount --bind "$work/dev/tun" /dev/net/tun
	if [ -c /dev/kvm ] && getent group kvm >/dev/null; then
		mknod -m 0660 "$work/dev/kvm" c 10 232
		chgrp kvm "$work/dev/kvm"
		mount --bind "$work/dev/kvm" /dev/kvm
	fi
	ip link set lo up
	ip link add "$bridge" type bridge
	ip link set "$bridge" up
	for unit in alb-consoled alb-statsd albd; do
		python3 "$here/unit_exec.py" "$unit" >"$work/$unit.log" 2>&1 &
		pids+=($!)
	done
	for s in console stat vmmd; do
		for _ in $(seq 100); do [ -S "/run/albatross/util/$s.sock" ] && break; sleep 0.05; done
		[ "$(stat -c '%a %U %G' "/run/albatross/util/$s.sock")" = "660 root albatross" ] ||
			fail "$s.sock: $(stat -c '%a %U %G' "/run/albatross/util/$s.sock")"
	done
	as() { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }
	say "alb-deploy create hello, as albsmoke (group albatross)"
	as albsmoke alb-deploy create --net "service:$bridge" --arg=--seconds=60 \
		--arg=--exit=0 hello "$work/hello.elf" || fail "create as albsmoke"
	say "alb-info info"
	as albsmoke alb-info info | tee "$work/info.txt"
	grep -q hello "$work/info.txt" || fail "hello not in alb-info info"
	say "alb-info console hello"
	timeout 30 setpriv --reuid=albsmoke --regid=albsmoke --init-groups \
		alb-info console hello >"$work/console.txt" 2>&1 &
	cpid=$!
	for _ in $(seq 250); do grep -q 'Hello from' "$work/console.txt" && break; sleep 0.1; done
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	head -n 5 "$work/console.txt"
	grep -q 'Hello from' "$work/console.txt" || fail "no greeting on the console"
	say "the tender: a uid of albd.service's --tender-uids, no capability"
	tender=$(pgrep -P "${pids[2]}" | head -n 1)
	[ -n "$tender" ] || fail "albd has no tender"
	grep -E '^(Uid|CapEff|CapBnd|NoNewPrivs):' "/proc/$tender/status" | tee "$work/tender.txt"
	uid=$(awk '/^Uid:/ {print $2}' "$work/tender.txt")
	[ "$uid" -ge 1879048192 ] && [ "$uid" -le 1879113727 ] || fail "tender uid $uid"
	grep -q '^CapEff:[[:space:]]*0*$' "$work/tender.txt" || fail "tender has capabilities"
	say "alb-info stats (alb-statsd, user albatross, samples the tender of a tender uid)"
	as albsmoke alb-info stats --timeout 25 | tee "$work/stats.txt"
	grep -q '^:hello ' "$work/stats.txt" || fail "no statistics of hello"
	say "a user outside the group albatross is refused"
	rc=0
	as albother alb-info info >/dev/null 2>"$work/other.txt" || rc=$?
	[ "$rc" = 122 ] || fail "albother: exit $rc, want 122 (connect refused): $(cat "$work/other.txt")"
	say "alb-deploy destroy hello"
	as albsmoke alb-deploy destroy hello || fail "destroy as albsmoke"
	stop
	trap - EXIT
	for unit in alb-consoled alb-statsd albd; do
		head -n 1 "$work/$unit.log"
	done
	grep -h -i 'error\|sanitizer' "$work"/*.log && fail "a daemon logged an error"
	exit 0
fi

# ---- phase 1: lintian, install, layout; phase 2; purge and leftovers
work=$(mktemp -d /tmp/alb-smoke.XXXXXX)
chmod 0755 "$work"
had_user=no
getent passwd albatross >/dev/null && had_user=yes
cleanup() {
	apt-get purge -y -q "${pkgs[@]}" >/dev/null 2>&1 || true
	userdel albsmoke 2>/dev/null || true
	userdel albother 2>/dev/null || true
	if [ "$had_user" = no ]; then
		userdel albatross 2>/dev/null || true
		groupdel albatross 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

debs=()
for p in "${pkgs[@]}"; do debs+=("$debdir/${p}_"*.deb); done
say "lintian (errors fail)"
# its temporary files (it leaves some) go with the work directory
TMPDIR="$work" lintian --fail-on error --suppress-tags package-supports-alternative-init-but-no-init.d-script \
	"$debdir"/*.changes || fail "lintian"

say "apt-get install ${pkgs[*]}"
apt-get install -y -q --no-install-recommends "${debs[@]}" >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "install"; }
for p in "${pkgs[@]}"; do dpkg-query -L "$p"; done | sort -u >"$work/files.txt"

say "the layout"
getent passwd albatross >/dev/null || fail "no user albatross"
check() {
	[ "$(stat -c '%a %U %G' "$1")" = "$2" ] || fail "$1: $(stat -c '%a %U %G' "$1"), want $2"
}
check /run/albatross "755 root root"
check /run/albatross/util "755 root root"
check /run/albatross/fifo "2750 root albatross"
check /var/lib/albatross "751 root albatross"
check /var/lib/albatross/block "711 root root"
for u in albd.service albd.socket alb-consoled.socket alb-statsd.socket; do
	ls /etc/systemd/system/*.wants/"$u" >/dev/null 2>&1 || fail "$u is not enabled"
done
ls /etc/systemd/system/*.wants/alb-tlsd.* >/dev/null 2>&1 && fail "alb-tlsd is enabled"
for prog in albd alb-consoled alb-statsd alb-tlsd alb-deploy alb-info alb-ca alb-oci; do
	man -w "$prog" >/dev/null || fail "no man page for $prog"
	"$prog" --help >/dev/null || fail "$prog --help"
done
man -w 3 libalbatross >/dev/null || fail "no libalbatross(3)"
pkg-config --exists albatross || fail "pkg-config albatross"

useradd -M -U -s /usr/sbin/nologin -G albatross albsmoke
useradd -M -U -s /usr/sbin/nologin albother
install -m 0644 "$hello" "$work/hello.elf"
ALB_SMOKE_NETNS=1 ALB_SMOKE_WORK=$work unshare --net --mount "$0" "$@"

say "apt-get purge"
apt-get purge -y -q "${pkgs[@]}" >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "purge"; }
left=$(while read -r f; do
	# directories other packages share (/usr/share/man/man8 ...) stay
	if [ -e "$f" ] && ! { [ -d "$f" ] && [ -n "$(ls -A "$f")" ]; }; then echo "$f"; fi
done <"$work/files.txt")
[ -z "$left" ] || fail "left after purge: $left"
for d in /run/albatross /var/lib/albatross /usr/include/albatross; do
	[ ! -e "$d" ] || fail "$d is left after purge"
done
ls /etc/systemd/system/*/alb* /etc/systemd/system/*/albd* 2>/dev/null && fail "unit links left"
ls /var/lib/systemd/deb-systemd-helper-enabled/ 2>/dev/null | grep -q alb && fail "deb-systemd-helper state left"
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv not-installed &&
		fail "$p is still known to dpkg"
done
say "smoke test passed: installed, deployed as a member of albatross, purged clean"
