#!/bin/bash
# kvfence(8) sync --dry-run: the changes are computed and logged but not
# written. Attacked with a set that needs an addition, a removal (an old
# element of ours that DNS no longer returns, grace none) and holds a
# foreign element, and a range set still missing: every change is printed
# exactly, nothing of the ruleset changes (compared byte for byte), and a
# real sync afterwards writes exactly what the dry run printed.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_addrs contoso-prod.vault.azure.net 300 192.0.2.99 2001:db8::10
dns_start "$zone"
tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\ngrace none\n'
	kvf_conf_base
} > "$conf"
# kvfence writes 192.0.2.99 itself (so it is its own to remove); the
# administrator adds an element of theirs; DNS then moves to 192.0.2.10
# and range mode is switched on.
kvf_run first -c "$conf" sync
expect_rc 0 "the first sync"
nft add element inet filter kvfence4 '{ 198.51.100.5 . 22 comment "admin" }' || hard_error "nft add"
zone_begin "$zone" 300
zone_addrs contoso-prod.vault.azure.net 300 192.0.2.10 2001:db8::10
dns_reload
printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault.EastUS\n' "$tags" >> "$conf"
before=$(nft list ruleset)
kvf_run dry -c "$conf" sync --dry-run
expect_rc 0 "sync --dry-run"
[ "$(nft list ruleset)" = "$before" ] || fail "sync --dry-run changed the ruleset"
assert_grep "$KVF_TMP/dry.out" '^would add to kvfence4: 192\.0\.2\.10 \. 443 comment "contoso-prod\.vault\.azure\.net"$' \
	"the dry run does not print the addition"
assert_grep "$KVF_TMP/dry.out" '^would remove from kvfence4: 192\.0\.2\.99 \. 443$' \
	"the dry run does not print the removal"
assert_grep "$KVF_TMP/dry.out" '^would create interval set kvfence4r$' "the dry run does not print the range set's creation"
assert_no_grep "$KVF_TMP/dry.out" '198\.51\.100\.5|kvfence6:' "the dry run would touch the foreign element or the unchanged set"
adds=$(grep -c '^would add to kvfence4: ' "$KVF_TMP/dry.out")
dels=$(grep -c '^would remove from kvfence4: ' "$KVF_TMP/dry.out")

kvf_run real -c "$conf" sync
expect_rc 0 "sync"
assert_grep "$KVF_TMP/real.err" "set=kvfence4 added=$adds removed=$dels " "sync did not write what the dry run printed"
assert_set_has inet filter kvfence4 '198.51.100.5 . 22 comment "admin"'
assert_set_lacks inet filter kvfence4 192.0.2.99
exit 0
