#!/usr/bin/env bash
# Installs the Debian packages of .ci/packages.txt that are missing (as root;
# without root it only says which are missing).
set -euo pipefail
list=$(grep -v '^#' "$(dirname "$0")/packages.txt")
missing=()
for p in $list; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages (install them as root): ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
