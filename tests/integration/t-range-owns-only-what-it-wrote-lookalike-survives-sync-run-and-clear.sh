#!/bin/bash
# Range sets are owned as host sets are: by the record in the state file,
# not by the comment. A range an administrator writes into kvfence4r or
# kvfence6r with a "servicetag ..." comment (even kvfence's very comment)
# survives sync, the running agent and `kvfence clear`, while clear
# removes exactly kvfence's own ranges. A state file from before range
# records claims the ranges commented "servicetag " once (they were
# kvfence's then), and only those; a look-alike added after that is the
# administrator's. That claim is made only for a file written before range
# records: a file this kvfence wrote says it records ranges, and range mode
# enabled later (by a restart) claims nothing by comment. When the config moves the range set elsewhere,
# kvfence's ranges leave the old set and the administrator's stay.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
conf=$KVF_TMP/kvfence.conf
conf_with() {	# EXTRA-LINES
	{
		printf 'endpoints none\n%s' "$1"
		printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n' "$tags"
		kvf_conf_base
	}
}
conf_with '' > "$conf"
ours4='192.0.2.0/28 comment "servicetag AzureKeyVault change 42"
198.51.100.64/27 comment "servicetag AzureKeyVault change 42"'
ours6='2001:db8:10::/125 comment "servicetag AzureKeyVault change 42"'
admin4='203.0.113.0/24 comment "servicetag AzureKeyVault"'
admin6='2001:db8:99::/64 comment "servicetag AzureKeyVault change 42"'
holds() { printf '%s\n' "$4" > "$KVF_TMP/want"; assert_set_elems "$1" "$2" "$3" "$KVF_TMP/want"; }

# 1. kvfence's ranges, then the administrator's look-alikes beside them.
kvf_run sync -c "$conf" sync
expect_rc 0 "the first sync"
holds inet filter kvfence4r "$ours4"
holds inet filter kvfence6r "$ours6"
grep -q '^set inet filter kvfence4r ranges$' "$KVF_TMP/state" &&
	grep -q '^range 192\.0\.2\.0 192\.0\.2\.15 servicetag AzureKeyVault change 42$' "$KVF_TMP/state" ||
	fail "the state file does not record the ranges kvfence wrote"
nft add element inet filter kvfence4r "{ $admin4 }" &&
nft add element inet filter kvfence6r "{ $admin6 }" ||
	hard_error "cannot add the administrator's ranges"

kvf_run sync2 -c "$conf" sync
expect_rc 0 "sync beside the look-alikes"
holds inet filter kvfence4r "$ours4
$admin4"
holds inet filter kvfence6r "$ours6
$admin6"
assert_grep "$KVF_TMP/sync2.err" 'kvfence4r: 1 range commented "servicetag \.\.\." is not in kvfence.s record' \
	"the look-alike range is not reported"

kvf_agent_start -c "$conf"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
holds inet filter kvfence4r "$ours4
$admin4"
holds inet filter kvfence6r "$ours6
$admin6"

kvf_run clear -c "$conf" clear
expect_rc 0 "clear"
holds inet filter kvfence4r "$admin4"
holds inet filter kvfence6r "$admin6"
assert_grep "$KVF_TMP/clear.err" 'clear: set=kvfence4r removed=2 kept=1$' "clear's plan for kvfence4r"
! grep -q '^range ' "$KVF_TMP/state" || fail "the state file still records ranges after clear"

# 2. A state file from before range records: the tagged ranges then in
# the sets were kvfence's, and are claimed once; an untagged one is not.
nft flush ruleset
rm -f "$KVF_TMP/state"
kvf_run sync3 -c "$conf" sync
expect_rc 0 "sync from scratch"
sed -i -e '/^set .* ranges$/d' -e '/^range /d' -e '/^# ranges recorded$/d' "$KVF_TMP/state"
grep -q '^# kvfence state v2$' "$KVF_TMP/state" || hard_error "not a v2 state file"
nft add element inet filter kvfence4r '{ 203.0.113.0/24 comment "admin" }' ||
	hard_error "cannot add the administrator's range"
kvf_run migrate -c "$conf" sync
expect_rc 0 "sync with a state file from before range records"
grep -q '^range 198\.51\.100\.64 198\.51\.100\.95 servicetag AzureKeyVault change 42$' "$KVF_TMP/state" ||
	fail "the tagged ranges were not claimed from a state file without range records"
grep -q '^range 203\.0\.113\.' "$KVF_TMP/state" && fail "an untagged range was claimed"
nft add element inet filter kvfence6r "{ $admin6 }" || hard_error "cannot add the look-alike"
kvf_run sync4 -c "$conf" sync
expect_rc 0 "sync after the claim"
holds inet filter kvfence6r "$ours6
$admin6"
kvf_run clear2 -c "$conf" clear
expect_rc 0 "clear after the claim"
holds inet filter kvfence4r '203.0.113.0/24 comment "admin"'
holds inet filter kvfence6r "$admin6"

# 3. The config moves the range sets: kvfence's ranges leave the old
# ones, which stay with the administrator's ranges.
nft flush ruleset
rm -f "$KVF_TMP/state"
kvf_run sync5 -c "$conf" sync
expect_rc 0 "sync from scratch again"
nft add element inet filter kvfence4r "{ $admin4 }" || hard_error "cannot add the look-alike"
conf_with 'range-set4 moved4r
' > "$KVF_TMP/moved.conf"
kvf_run moved -c "$KVF_TMP/moved.conf" sync
expect_rc 0 "sync with the range set moved"
holds inet filter kvfence4r "$admin4"
holds inet filter moved4r "$ours4"
holds inet filter kvfence6r "$ours6"
assert_grep "$KVF_TMP/moved.err" 'set=kvfence4r removed=2: set inet filter kvfence4r is no longer configured' \
	"the move is not logged"
# 4. A state file this kvfence wrote before range mode was enabled: the
# administrator's look-alike in the range set it then finds is not
# claimed, and survives the agent's start and stop, and clear.
nft flush ruleset
rm -f "$KVF_TMP/state"
{ printf 'endpoints none\n'; kvf_conf_base; } > "$KVF_TMP/hosts.conf"
kvf_run hosts -c "$KVF_TMP/hosts.conf" sync
expect_rc 0 "sync without range mode"
[ -f "$KVF_TMP/state" ] && ! grep -q '^set .* ranges$' "$KVF_TMP/state" ||
	hard_error "no state file without range sets was written"
nft add table inet filter &&
	nft add set inet filter kvfence4r '{ type ipv4_addr; flags interval; }' &&
	nft add element inet filter kvfence4r "{ $admin4 }" ||
	hard_error "cannot add the administrator's range set"
kvf_agent_start -c "$conf"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
holds inet filter kvfence4r "$ours4
$admin4"
grep -q '^range 203\.0\.113\.' "$KVF_TMP/state" &&
	fail "range mode enabled after a file that records ranges claimed a look-alike"
kvf_run clear3 -c "$conf" clear
expect_rc 0 "clear after range mode was enabled"
holds inet filter kvfence4r "$admin4"
exit 0
