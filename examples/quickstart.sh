#!/usr/bin/env bash
# libalbatross quickstart — on a fresh Debian 12 machine, as root:
#   installs the packages, builds, and in a private network namespace with a
#   private tmpdir, dbdir and bridge: starts alb-consoled and albd, deploys
#   the demo unikernel examples/hello-unikernel (run by QEMU) with alb-deploy,
#   shows it with `alb-info info` and its console with `alb-info console`,
#   destroys it and removes everything it made.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILDDIR:-$src/build-quickstart}
bridge=albqs0
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "quickstart: run me as root (taps, bridges and QEMU need it)" >&2
  exit 1
fi

if [ -z "${ALB_QUICKSTART_NETNS:-}" ]; then
  say "installing packages"
  "$src/.ci/install-packages.sh"
  say "building into $build"
  [ -f "$build/build.ninja" ] || meson setup "$build" >/dev/null
  ninja -C "$build" >/dev/null
  # Everything below runs in a network namespace of its own: the bridge and
  # the unikernel's tap disappear with it, the host's network is untouched.
  exec unshare --net env ALB_QUICKSTART_NETNS=1 BUILDDIR="$build" "$0" "$@"
fi

work=$(mktemp -d /tmp/albatross-quickstart.XXXXXX)
tmpdir=$work/run
dbdir=$work/db
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_for_socket() {
  for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done
  echo "quickstart: $1 did not appear" >&2
  return 1
}

say "private bridge $bridge, tmpdir $tmpdir, dbdir $dbdir"
ip link add "$bridge" type bridge
ip link set "$bridge" up
mkdir -p "$tmpdir" "$dbdir"

say "starting alb-consoled and albd"
"$build/cli/alb-consoled" --tmpdir "$tmpdir" & pids+=($!)
wait_for_socket "$tmpdir/util/console.sock"
"$build/cli/albd" --tmpdir "$tmpdir" --dbdir "$dbdir" & pids+=($!)
wait_for_socket "$tmpdir/util/vmmd.sock"

say "alb-deploy create hello (examples/hello-unikernel under QEMU)"
"$build/cli/alb-deploy" create --tmpdir "$tmpdir" --net "service:$bridge" \
  --arg=--seconds=30 --arg=--exit=0 hello "$build/examples/hello-unikernel/hello.elf"

say "alb-info info"
"$build/cli/alb-info" info --tmpdir "$tmpdir"

say "alb-info console hello (its first lines)"
log=$work/console.txt
timeout 15 "$build/cli/alb-info" console --tmpdir "$tmpdir" hello >"$log" 2>&1 &
cpid=$!
for _ in $(seq 150); do grep -q 'tick 2' "$log" && break; sleep 0.1; done
kill "$cpid" 2>/dev/null || true
wait "$cpid" 2>/dev/null || true
cat "$log"
grep -q 'Hello from' "$log" || { echo "quickstart: no greeting seen" >&2; exit 1; }

say "alb-deploy destroy hello"
"$build/cli/alb-deploy" destroy --tmpdir "$tmpdir" hello

say "done: the unikernel ran, printed its greeting and was destroyed"
