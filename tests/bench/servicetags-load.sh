#!/bin/bash
# Range mode's load cost: a synthetic public-cloud Service Tags file of the
# real size (~4 MB, 3,000 tags), and the time and peak RSS of
# `kvfence check` loading AzureKeyVault + AzureActiveDirectory +
# AzureResourceManager from it (median of 5), against the same command
# without service-tags (the floor). No kernel, no network.
#   tests/bench/servicetags-load.sh      (binary: $KVFENCE or ./src/kvfence)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
KVFENCE=${KVFENCE:-$top/src/kvfence}
dir=$(mktemp -d /tmp/kvfence-tagbench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
/usr/bin/python3 "$(dirname "$0")/servicetags-fixture.py" "$dir/ServiceTags_Public_20261123.json"
printf 'endpoints none\nresolver 127.0.0.1\nservice-tags %s/ServiceTags_Public_*.json %s\n' \
	"$dir" "AzureKeyVault AzureActiveDirectory AzureResourceManager" > "$dir/k.conf"
# The floor: the same process with no service-tags directive.
printf 'endpoints none\nresolver 127.0.0.1\n' > "$dir/floor.conf"
median() {	# CONF: "seconds KiB", the median of 5 runs by time
	for i in 1 2 3 4 5; do
		/usr/bin/time -f "%e %M" "$KVFENCE" -c "$1" check 2>&1 >/dev/null | tail -1
	done | sort -n | sed -n 3p
}
read -r fs fkib <<< "$(median "$dir/floor.conf")"
read -r s kib <<< "$(median "$dir/k.conf")"
echo "service tags load: file $(stat -c %s "$dir"/ServiceTags_Public_20261123.json) bytes, 3000 tags;" \
	"kvfence check loading 3 tags: ${s} s, peak RSS ${kib} KiB (median of 5);" \
	"floor (check without service-tags): ${fs} s, ${fkib} KiB;" \
	"load cost $((kib - fkib)) KiB, ratio $(awk -v a="$kib" -v b="$fkib" 'BEGIN { printf "%.2f", a / b }')"
