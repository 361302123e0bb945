#!/bin/bash
# Range mode: every tag of the US Government and China Service Tags files
# loads into interval sets holding exactly the merged prefixes (checked
# against Python's ipaddress, computed independently); a newer file with
# two prefixes removed and one added writes exactly that; a broken newer
# file changes nothing; a hand-added range survives; the running agent
# picks up a file dropped in place.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

data=$TESTDIR/data/service-tags
tags=$KVF_TMP/tags
mkdir -p "$tags"

# conf CLOUD FILE TABLE: every tag of FILE, at most 50 per line.
conf() {
	{
		printf 'cloud %s\nendpoints none\ntable inet %s\n' "$1" "$3"
		"$KVF_PYTHON" - "$2" <<-'PY'
		import json, sys
		names = [v["name"] for v in json.load(open(sys.argv[1]))["values"]]
		pattern = sys.argv[1].rsplit("_", 1)[0] + "_*.json"
		for i in range(0, len(names), 50):
		    print("service-tags", pattern, *names[i:i + 50])
		PY
		kvf_conf_base
	}
}

# The set's ranges as "lo hi" integer pairs, and the expected ones.
set_ranges() {
	nft -j list set inet "$1" "$2" | "$KVF_PYTHON" -c '
import ipaddress, json, sys
out = []
for o in json.load(sys.stdin)["nftables"]:
    for e in o.get("set", {}).get("elem", []):
        v = e["elem"]["val"] if isinstance(e, dict) and "elem" in e else e
        if isinstance(v, dict) and "prefix" in v:
            n = ipaddress.ip_network("%s/%d" % (v["prefix"]["addr"], v["prefix"]["len"]))
            out.append((int(n[0]), int(n[-1])))
        elif isinstance(v, dict) and "range" in v:
            out.append((int(ipaddress.ip_address(v["range"][0])), int(ipaddress.ip_address(v["range"][1]))))
        else:
            out.append((int(ipaddress.ip_address(v)),) * 2)
for lo, hi in sorted(out):
    print(lo, hi)'
}

expected_ranges() {	# FILE VERSION(4|6) [EXTRA...]
	"$KVF_PYTHON" - "$@" <<-'PY'
	import ipaddress, json, sys
	doc = json.load(open(sys.argv[1]))
	nets = [ipaddress.ip_network(p) for v in doc["values"]
	        for p in v["properties"]["addressPrefixes"]]
	nets = [n for n in nets if n.version == int(sys.argv[2])]
	merged = []
	for n in ipaddress.collapse_addresses(nets):
	    lo, hi = int(n[0]), int(n[-1])
	    if merged and lo <= merged[-1][1] + 1:	# adjacent: one range
	        merged[-1][1] = max(merged[-1][1], hi)
	    else:
	        merged.append([lo, hi])
	for lo, hi in merged:
	    print(lo, hi)
	PY
}

check_cloud() {	# CLOUD FILE TABLE
	cp "$data/$2" "$tags/"
	conf "$1" "$tags/$2" "$3" > "$KVF_TMP/$3.conf"
	kvf_run "sync-$3" -c "$KVF_TMP/$3.conf" sync
	expect_rc 0 "sync of every $1 tag"
	for v in 4 6; do
		set_ranges "$3" "kvfence${v}r" > "$KVF_TMP/$3.$v.got"
		expected_ranges "$tags/$2" "$v" > "$KVF_TMP/$3.$v.want"
		[ -s "$KVF_TMP/$3.$v.want" ] || hard_error "no IPv$v prefixes in $2"
		diff -u "$KVF_TMP/$3.$v.want" "$KVF_TMP/$3.$v.got" >&2 ||
			fail "$1: kvfence${v}r does not hold exactly the merged prefixes"
		kvf_log "$1: kvfence${v}r holds the $(wc -l < "$KVF_TMP/$3.$v.want") merged ranges"
	done
	assert_grep "$KVF_TMP/sync-$3.err" 'created interval set inet '"$3"' kvfence4r' \
		"creating the interval set is not logged"
}

check_cloud usgov ServiceTags_AzureGovernment_20260720.json gov
check_cloud china ServiceTags_China_20260720.json cn

# The Key Vault tags alone (with every tag, the wide AzureCloud ranges
# would swallow any change) in table kv.
{
	printf 'cloud usgov\nendpoints none\ntable inet kv\n'
	printf 'service-tags %s/ServiceTags_AzureGovernment_*.json %s\n' "$tags" \
		"AzureKeyVault AzureActiveDirectory AzureResourceManager"
	kvf_conf_base
} > "$KVF_TMP/kv.conf"
kvf_run sync-kv -c "$KVF_TMP/kv.conf" sync
expect_rc 0 "sync of the Key Vault tags"

# A hand-added range in the kv set, outside every Azure range.
nft add element inet kv kvfence4r '{ 203.0.113.0/24 comment "by hand" }'

# A newer file: two isolated IPv4 prefixes of AzureKeyVault removed, one
# added (isolated: the merge cannot hide the change).
"$KVF_PYTHON" - "$tags/ServiceTags_AzureGovernment_20260720.json" \
	"$tags/ServiceTags_AzureGovernment_20260727.json" > "$KVF_TMP/change" <<-'PY' ||
	import ipaddress, json, sys
	doc = json.load(open(sys.argv[1]))
	allnets = [ipaddress.ip_network(p) for v in doc["values"]
	           if v["name"] in ("AzureKeyVault", "AzureActiveDirectory", "AzureResourceManager")
	           for p in v["properties"]["addressPrefixes"] if ":" not in p]
	def isolated(n):
	    return all(m == n or (int(m[-1]) + 1 < int(n[0]) or int(n[-1]) + 1 < int(m[0]))
	               for m in allnets)
	kv = [v for v in doc["values"] if v["name"] == "AzureKeyVault"][0]["properties"]
	gone = [p for p in kv["addressPrefixes"] if ":" not in p and isolated(ipaddress.ip_network(p))
	        and sum(1 for q in allnets if q == ipaddress.ip_network(p)) == 1][:2]
	assert len(gone) == 2, "need two isolated prefixes"
	kv["addressPrefixes"] = [p for p in kv["addressPrefixes"] if p not in gone] + ["198.51.100.0/24"]
	doc["changeNumber"] += 1
	json.dump(doc, open(sys.argv[2], "w"), indent=2)
	print(*gone)
	PY
	hard_error "cannot write the newer file"
kvf_run sync-new -c "$KVF_TMP/kv.conf" sync
expect_rc 0 "sync with the newer file"
assert_grep "$KVF_TMP/sync-new.err" '^kvfence: set=kvfence4r added=1 removed=2 ' \
	"the newer file did not write exactly one addition and two removals"
assert_grep "$KVF_TMP/sync-new.err" '^kvfence: set=kvfence6r added=0 removed=0 ' \
	"the IPv6 set changed"
set_elems inet kv kvfence4r > "$KVF_TMP/kv.after"
grep -q '^203\.0\.113\.0/24 comment "by hand"' "$KVF_TMP/kv.after" ||
	fail "the hand-added range is gone"
grep -q '^198\.51\.100\.0/24 comment "servicetag AzureKeyVault change 403"' "$KVF_TMP/kv.after" ||
	fail "the new range is missing or mis-commented: $(grep 198.51 "$KVF_TMP/kv.after")"
for p in $(cat "$KVF_TMP/change"); do
	grep -q "^${p//./\\.} " "$KVF_TMP/kv.after" && fail "$p is still there"
done

# A broken newer file: nothing changes, and sync says why.
nft list table inet gov > "$KVF_TMP/gov.table"
head -c 5000 "$tags/ServiceTags_AzureGovernment_20260727.json" > "$tags/ServiceTags_AzureGovernment_20260803.json"
kvf_run sync-broken -c "$KVF_TMP/gov.conf" sync
expect_rc 65 "sync with a broken newest file"
assert_grep "$KVF_TMP/sync-broken.err" 'ServiceTags_AzureGovernment_20260803.json:[0-9]+: ' \
	"the broken file is not named with its line"
nft list table inet gov | diff -u "$KVF_TMP/gov.table" - >&2 || fail "a broken file changed the sets"
rm -f "$tags/ServiceTags_AzureGovernment_20260803.json"

# The agent notices a file dropped in place (written beside, moved in).
kvf_agent_start -c "$KVF_TMP/gov.conf"
"$KVF_PYTHON" - "$tags/ServiceTags_AzureGovernment_20260727.json" "$KVF_TMP/next.json" <<-'PY'
	import json, sys
	doc = json.load(open(sys.argv[1]))
	kv = [v for v in doc["values"] if v["name"] == "AzureKeyVault"][0]["properties"]
	kv["addressPrefixes"].append("192.0.2.128/25")
	doc["changeNumber"] += 1
	json.dump(doc, open(sys.argv[2], "w"))
	PY
mv "$KVF_TMP/next.json" "$tags/ServiceTags_AzureGovernment_20260810.json"
wait_until 10 eval 'set_elems inet gov kvfence4r | grep -q "^192\.0\.2\.128/25 comment \"servicetag AzureKeyVault change 404\""' ||
	fail "the agent did not apply the new file"
kvf_run status -c "$KVF_TMP/gov.conf" status
assert_grep "$KVF_TMP/status.out" 'service tag AzureKeyVault: .*20260810.*changeNumber 404' \
	"status does not show the tags"
kvf_run check -c "$KVF_TMP/gov.conf" check
assert_grep "$KVF_TMP/check.out" 'AzureKeyVault +[0-9]+ v4 +[0-9]+ v6 .*date 20260810, changeNumber 404' \
	"check does not show the per-tag counts"
exit 0
