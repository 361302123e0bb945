#!/bin/bash
# A second `kvfence sync` with unchanged DNS answers writes nothing: it
# reports netlink-messages=0 and added=0 removed=0 per set, and `nft monitor`,
# subscribed before it ran, records no event (not even an empty transaction).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net \
	weu.prd.r.kv.aadg.msidentity.com weu.tm.prd.r.kv.aadg.trafficmanager.net
zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 192.0.2.10 192.0.2.11 2001:db8:10::1
zone_chain 60 login.microsoftonline.com login.mso.msidentity.com \
	www.tm.ak.prd.aadg.trafficmanager.net
zone_addrs www.tm.ak.prd.aadg.trafficmanager.net 60 203.0.113.1 2001:db8:20::1

conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints auth vault\n'
	kvf_conf_base
} > "$conf"

dns_start "$zone"

kvf_run sync1 -c "$conf" sync
expect_rc 0 "first sync"
assert_grep "$KVF_TMP/sync1.err" 'set=kvfence4 added=3 removed=0 size=3' "first sync: no kvfence4 line"
nft -a list ruleset > "$KVF_TMP/before" || hard_error "nft list ruleset"

monitor_start
kvf_run sync2 -c "$conf" sync
monitor_stop "$KVF_TMP/events"
nft -a list ruleset > "$KVF_TMP/after" || hard_error "nft list ruleset"

expect_rc 0 "second sync"
assert_grep "$KVF_TMP/sync2.err" 'sync: hosts=2 failed=0 netlink-messages=0([^0-9]|$)' \
	"second sync does not report netlink-messages=0"
assert_grep "$KVF_TMP/sync2.err" 'set=kvfence4 added=0 removed=0 size=3' \
	"second sync: no unchanged kvfence4 line"
assert_grep "$KVF_TMP/sync2.err" 'set=kvfence6 added=0 removed=0 size=2' \
	"second sync: no unchanged kvfence6 line"
if [ -s "$KVF_TMP/events" ]; then
	sed 's/^/  event: /' "$KVF_TMP/events" >&2
	fail "nft monitor recorded events during the second sync"
fi
cmp -s "$KVF_TMP/before" "$KVF_TMP/after" ||
	fail "the ruleset changed: $(diff "$KVF_TMP/before" "$KVF_TMP/after")"
exit 0
