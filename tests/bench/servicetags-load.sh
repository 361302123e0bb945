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
/usr/bin/python3 - "$dir/ServiceTags_Public_20261123.json" <<'PY'
import ipaddress, json, random, sys
random.seed(1)
names = ["AzureKeyVault", "AzureActiveDirectory", "AzureResourceManager"] + \
        ["Tag%04d.Region%d" % (i, i % 60) for i in range(2997)]
vals = []
for n in names:
    pre = []
    for _ in range(random.randint(5, 60)):
        if random.random() < 0.7:
            a = ipaddress.IPv4Address(random.randint(0x14000000, 0x34ffffff))
            l = random.choice([22, 24, 26, 27, 28, 29, 30, 31, 32])
        else:
            a = ipaddress.IPv6Address(random.getrandbits(64) << 64 | 0x2603 << 112)
            l = random.choice([44, 48, 56, 64, 80, 96, 120, 125])
        pre.append(str(ipaddress.ip_network("%s/%d" % (a, l), strict=False)))
    vals.append({"name": n, "id": n, "properties": {"changeNumber": 1, "region": "",
                 "regionId": 0, "platform": "Azure", "systemService": n.split(".")[0],
                 "addressPrefixes": pre, "networkFeatures": None}})
json.dump({"changeNumber": 500, "cloud": "Public", "values": vals}, open(sys.argv[1], "w"), indent=2)
PY
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
