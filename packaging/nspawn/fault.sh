#!/bin/bash
# kvfence: put a deliberate fault into a built .deb, to prove that the live
# gate that checks the thing fails (packaging/ci.sh with KVF_PKG_FAULT=...).
#
# usage: fault.sh FAULT IN.deb OUT.deb
#   no-notify        Type=simple: systemd never hears READY/STATUS (start gate)
#   reload-noop      ExecReload=/bin/true: reload does nothing (reload gate)
#   stop-flushes     the unit empties kvfence4 when the agent stops
#                    (stop, restart, upgrade, downgrade gates)
#   no-state         the unit deletes the state file after a stop (warm start)
#   no-purge-message postrm without the note on elements left in the kernel
#   no-clear-on-remove prerm ignores /etc/kvfence/clear-on-remove
# Faults of the build itself (no-restart-after-upgrade) are made by ci.sh
# from a changed copy of debian/rules; faults of the run (max-stale,
# no-refill; proxy-bypassed and no-route-domain, where the clients of the
# resolved gates skip kvfence's DNS proxy) by live.sh.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 FAULT IN.deb OUT.deb" >&2; exit 64; }
fault=$1 in=$2 out=$3
tmp=$(mktemp -d /tmp/kvfence-fault.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -R "$in" "$tmp/pkg"
unit=$tmp/pkg/lib/systemd/system/kvfence.service
case $fault in
no-notify) sed -i 's/^Type=notify$/Type=simple/' "$unit" ;;
reload-noop) sed -i 's|^ExecReload=.*|ExecReload=/bin/true|' "$unit" ;;
stop-flushes) sed -i '/^ExecReload=/a ExecStopPost=+/usr/sbin/nft flush set inet filter kvfence4' "$unit" ;;
no-state) sed -i '/^ExecReload=/a ExecStopPost=+/bin/rm -f /var/lib/kvfence/state' "$unit" ;;
no-purge-message) sed -i '/stay in the kernel/d' "$tmp/pkg/DEBIAN/postrm" ;;
no-clear-on-remove) sed -i 's|^\t/usr/sbin/kvfence clear |\ttrue |' "$tmp/pkg/DEBIAN/prerm" ;;
*) echo "fault.sh: unknown fault $fault" >&2; exit 64 ;;
esac
# The conffiles' and files' sums: the unit is not a conffile; md5sums must
# stay true for dpkg --verify, so recompute them.
(cd "$tmp/pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	xargs -0 md5sum > DEBIAN/md5sums.new && grep -v ' etc/' DEBIAN/md5sums.new > DEBIAN/md5sums &&
	rm DEBIAN/md5sums.new)
dpkg-deb --root-owner-group -b "$tmp/pkg" "$out" >/dev/null
