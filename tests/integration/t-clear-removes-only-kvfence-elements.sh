#!/bin/bash
# `kvfence clear` removes exactly kvfence's own elements, from the host
# sets and the range sets, in one batch, and nothing an administrator
# wrote: elements by hand (with or without a comment) in kvfence's sets,
# the administrator's own sets, chains and rules. It refuses while the
# agent runs (the agent would write everything back), --dry-run changes
# nothing, and a second clear finds nothing left to remove.
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
assert_grep "$KVF_TMP/dry.err" 'clear: set=kvfence4 would-be-removed=2 kept=2' "the dry run's plan"
nft list ruleset > "$KVF_TMP/after"
diff -u "$KVF_TMP/before" "$KVF_TMP/after" >&2 || fail "clear --dry-run changed the ruleset"

kvf_run clear -c "$conf" clear
expect_rc 0 "clear"
holds() { printf '%s\n' "$4" > "$KVF_TMP/want"; assert_set_elems "$1" "$2" "$3" "$KVF_TMP/want"; }
holds inet filter kvfence4 '203.0.113.98 . 8443 comment "added by hand"
203.0.113.99 . 443'
holds inet filter kvfence6 '2001:db8:99::99 . 443 comment "admin"'
holds inet filter kvfence4r '203.0.113.0/28 comment "admin range"'
holds inet filter kvfence6r ''
holds inet filter admin4 '198.51.100.1'
nft list chain inet filter out | grep -q '@admin4 accept' || fail "the administrator's chain changed"
assert_grep "$KVF_TMP/clear.err" 'removed 6 elements of kvfence.s, kept 4 others' "the summary"

kvf_run again -c "$conf" clear
expect_rc 0 "a second clear"
assert_grep "$KVF_TMP/again.err" 'removed 0 elements' "a second clear removed something"
exit 0
