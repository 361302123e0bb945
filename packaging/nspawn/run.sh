#!/bin/bash
# kvfence: boot a Debian 12 container (systemd as PID 1, its own network
# namespace) and run packaging/nspawn/live.sh in it against two builds of
# the package. Run as root on the host; never touches the host's network
# or ruleset (systemd-nspawn --private-network).
#
# usage: run.sh DEB-A DEB-B OUTDIR [FAULT]
#   DEB-A   the version under test; DEB-B the same source, a higher version
#   OUTDIR  receives results (PASS|FAIL <TAB> seconds <TAB> gate), log
#   FAULT   a deliberate fault for live.sh (proves its gate can fail)
#
# The root file system is made once with debootstrap from Debian's archive
# and kept in $KVF_NSPAWN_CACHE (default /var/cache/kvfence-ci), keyed by
# its package list; every boot runs on a throw-away overlay of it
# (--volatile=overlay), so the cached tree is never changed. On a fresh
# machine it is made from scratch (about a minute).
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 DEB-A DEB-B OUTDIR [FAULT]" >&2; exit 64; }
deb_a=$1 deb_b=$2 out=$3 fault=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
cache=${KVF_NSPAWN_CACHE:-/var/cache/kvfence-ci}
mirror=${KVF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
# systemd to boot; kvfence's run-time libraries, so that apt-get install
# ./kvfence.deb needs no network; nftables; knot as the DNS server;
# systemd-resolved (it depends on dbus) for the DNS proxy's setups with it.
include=systemd,systemd-sysv,dbus,systemd-resolved,libnftnl11,libmnl0,libc-ares2,libjansson4,nftables,knot,knot-dnsutils,iproute2

for t in debootstrap systemd-nspawn; do
	command -v $t >/dev/null || { echo "run.sh: $t is missing (apt-get install debootstrap systemd-container)" >&2; exit 69; }
done

key=$(printf '%s %s %s' "$suite" "$mirror" "$include" | md5sum | cut -c1-12)
root=$cache/$suite-$key
if [ ! -x "$root/lib/systemd/systemd" ]; then
	mkdir -p "$cache"
	rm -rf "$root.new"
	echo "run.sh: debootstrap $suite into $root (first run on this machine)" >&2
	t0=$(date +%s)
	debootstrap --variant=minbase --include="$include" "$suite" "$root.new" "$mirror" \
		> "$cache/debootstrap.log" 2>&1 || { tail -n 30 "$cache/debootstrap.log" >&2; exit 1; }
	# No apt lists, no downloaded packages: the container installs only
	# the local .debs, whose dependencies are all here already.
	rm -rf "$root.new"/var/cache/apt/archives/*.deb "$root.new"/var/lib/apt/lists/*
	echo kvfence-ci > "$root.new/etc/hostname"
	# systemd-resolved's postinst enables it and points /etc/resolv.conf
	# at its stub: the gates start it only where they test it.
	systemctl --root="$root.new" disable systemd-resolved.service >/dev/null 2>&1
	rm -f "$root.new/etc/resolv.conf"
	echo 'nameserver 127.0.0.1' > "$root.new/etc/resolv.conf"
	mv "$root.new" "$root"
	echo "run.sh: debootstrap took $(( $(date +%s) - t0 )) s" >&2
fi

mkdir -p "$out"
ci=$(mktemp -d /tmp/kvfence-nspawn.XXXXXX)
trap 'rm -rf "$ci"' EXIT
cp "$deb_a" "$ci/kvfence-a.deb"
cp "$deb_b" "$ci/kvfence-b.deb"
cp "$here/live.sh" "$ci/live.sh"
chmod 755 "$ci/live.sh"
[ -z "$fault" ] || echo "$fault" > "$ci/break"
: > "$ci/results"
cat > "$ci/kvfence-ci.service" <<'EOF'
[Unit]
Description=kvfence packaging gates
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/ci/live.sh
TimeoutStartSec=400
EOF

# --register=no --keep-unit: the host may have no systemd as PID 1 (CI
# machines and this one do not) to register a machine or make a scope.
t0=$(date +%s)
rc=0
timeout 420 systemd-nspawn --quiet --register=no --keep-unit \
	--directory="$root" --volatile=overlay --private-network \
	--machine=kvfence-ci --bind="$ci:/ci" \
	--bind-ro="$ci/kvfence-ci.service:/etc/systemd/system/kvfence-ci.service" \
	--boot systemd.wants=kvfence-ci.service \
	> "$out/console" 2>&1 < /dev/null || rc=$?
echo "run.sh: container ran $(( $(date +%s) - t0 )) s, systemd-nspawn exit $rc" >&2
cp "$ci/results" "$out/results"
cp "$ci/log" "$out/log" 2>/dev/null || : > "$out/log"
cp "$ci"/mon-* "$out/" 2>/dev/null || true
[ -s "$out/results" ] || { echo "run.sh: no results from the container" >&2; tail -n 40 "$out/console" >&2; exit 1; }
