#!/bin/bash
# `kvfence clear` removes exactly kvfence's own elements (the state file's
# record of what it wrote), from the host sets and the range sets, in one
# batch, and nothing an administrator wrote: elements by hand in
# kvfence's sets, even one with a host's name as its comment, the
# administrator's own sets, chains and rules. A set or table goes only
# if kvfence created it and it is then empty (a set a rule uses stays).
# It refuses while the agent runs (the agent would write everything
# back), --dry-run changes nothing, and a second clear finds nothing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net
zone_addrs data-prod-weu.vaultcore.azure.net 60 192.0.2.10 192.0.2.11 2001:db8::10
tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\n'
	printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n' "$tags"
	kvf_conf_base
} > "$conf"
dns_start "$zone"

# The administrator's table: a chain using the sets, a set of their own.
nft -f - <<-'EOF2' || hard_error "cannot load the administrator's rules"
	table inet filter {
		set kvfence4 { type ipv4_addr . inet_service; }
		set kvfence6 { type ipv6_addr . inet_service; }
		set admin4 { type ipv4_addr; elements = { 198.51.100.1 } }
		chain out {
			type filter hook output priority 0; policy accept;
			ip daddr . tcp dport @kvfence4 accept
			ip6 daddr . tcp dport @kvfence6 accept
			ip daddr @admin4 accept
		}
	}
EOF2
kvf_run sync -c "$conf" sync
expect_rc 0 "sync"
nft add element inet filter kvfence4 '{ 203.0.113.99 . 443 }' &&
nft add element inet filter kvfence4 '{ 203.0.113.98 . 8443 comment "added by hand" }' &&
nft add element inet filter kvfence4 '{ 203.0.113.97 . 443 comment "contoso-prod.vault.azure.net" }' &&
nft add element inet filter kvfence6 '{ 2001:db8:99::99 . 443 comment "admin" }' &&
nft add element inet filter kvfence4r '{ 203.0.113.0/28 comment "admin range" }' ||
	hard_error "cannot add elements by hand"
assert_set_has inet filter kvfence4 '192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"'
assert_set_has inet filter kvfence4r '192.0.2.0/28 comment "servicetag AzureKeyVault change 42"'

# Not while the agent runs.
kvf_agent_start -c "$conf"
nft list ruleset > "$KVF_TMP/before"
kvf_run busy -c "$conf" clear
expect_rc 75 "clear while the agent runs"
assert_grep "$KVF_TMP/busy.err" "agent \(pid $KVF_AGENT_PID\) is running" "the refusal does not name the agent"
kvf_agent_stop TERM
nft list ruleset > "$KVF_TMP/after"
diff -u "$KVF_TMP/before" "$KVF_TMP/after" >&2 || fail "a refused clear changed the ruleset"

kvf_run dry -c "$conf" clear --dry-run
expect_rc 0 "clear --dry-run"
assert_grep "$KVF_TMP/dry.err" 'clear: set=kvfence4 would-remove=2 kept=3$' "the dry run's plan"
nft list ruleset > "$KVF_TMP/after"
diff -u "$KVF_TMP/before" "$KVF_TMP/after" >&2 || fail "clear --dry-run changed the ruleset"

kvf_run clear -c "$conf" clear
expect_rc 0 "clear"
holds() { printf '%s\n' "$4" > "$KVF_TMP/want"; assert_set_elems "$1" "$2" "$3" "$KVF_TMP/want"; }
holds inet filter kvfence4 '203.0.113.97 . 443 comment "contoso-prod.vault.azure.net"
203.0.113.98 . 8443 comment "added by hand"
203.0.113.99 . 443'
holds inet filter kvfence6 '2001:db8:99::99 . 443 comment "admin"'
holds inet filter kvfence4r '203.0.113.0/28 comment "admin range"'
holds inet filter kvfence6r ''
holds inet filter admin4 '198.51.100.1'
nft list chain inet filter out | grep -q '@admin4 accept' || fail "the administrator's chain changed"
assert_grep "$KVF_TMP/clear.err" 'removed 6 elements of kvfence.s, kept 5 others; 0 sets deleted' \
	"the summary (the administrator's sets are never deleted)"
! grep -q '^elem ' "$KVF_TMP/state" || fail "the state file still records elements after clear"

kvf_run again -c "$conf" clear
expect_rc 0 "a second clear"
assert_grep "$KVF_TMP/again.err" 'removed 0 elements' "a second clear removed something"

# kvfence created the table and the sets: all of it goes.
conf2=$KVF_TMP/plain.conf
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } > "$conf2"
nft flush ruleset
rm -f "$KVF_TMP/state"
kvf_run sync2 -c "$conf2" sync
expect_rc 0 "sync creating the table"
grep -q '^set inet filter kvfence4 created-with-table$' "$KVF_TMP/state" ||
	fail "the state file does not record that kvfence created the table and set"
kvf_run clear2 -c "$conf2" clear
expect_rc 0 "clear of what kvfence created"
! nft list table inet filter >/dev/null 2>&1 || fail "the table kvfence created and emptied stays"
assert_grep "$KVF_TMP/clear2.err" '2 sets and the table deleted' "the summary"

# kvfence created them, but the administrator's chain now uses one set
# and lives in the table: that set and the table stay, the other set goes.
nft flush ruleset
rm -f "$KVF_TMP/state"
kvf_run sync3 -c "$conf2" sync
expect_rc 0 "sync creating the table again"
nft add chain inet filter out '{ type filter hook output priority 0; policy accept; }' &&
nft add rule inet filter out ip daddr . tcp dport @kvfence4 accept ||
	hard_error "cannot add the administrator's chain"
kvf_run clear3 -c "$conf2" clear
expect_rc 0 "clear with a set in use"
holds inet filter kvfence4 ''
! nft list set inet filter kvfence6 >/dev/null 2>&1 || fail "the unused set kvfence created stays"
nft list chain inet filter out | grep -q '@kvfence4 accept' || fail "the administrator's rule changed"
grep -q '^set inet filter kvfence4 created-with-table$' "$KVF_TMP/state" ||
	fail "the set that stays is no longer recorded as kvfence's creation"
exit 0
