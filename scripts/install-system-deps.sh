#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/system-packages.txt that are not installed yet.
# Needs root (or sudo) and apt; elsewhere it says which packages are missing and exits 0, and the
# suites that need them fail with their own message.
set -euo pipefail
list="$(dirname "$0")/system-packages.txt"
mapfile -t wanted < <(sed -e 's/#.*//' -e 's/[[:space:]]\+$//' "$list" | awk 'NF { print $1 }')
missing=()
for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then echo "install-system-deps: no apt-get; please install: ${missing[*]}" >&2; exit 0; fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
echo "install-system-deps: installing ${missing[*]}" >&2
start=$SECONDS
if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/autoglm-apt.log 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >>/tmp/autoglm-apt.log 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/autoglm-apt.log 2>&1 \
        || { echo "install-system-deps: apt-get failed, see /tmp/autoglm-apt.log" >&2; tail -5 /tmp/autoglm-apt.log >&2; exit 1; }
fi
echo "install-system-deps: done in $((SECONDS - start)) s" >&2
