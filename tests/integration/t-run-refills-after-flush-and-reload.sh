#!/bin/bash
# `nft flush ruleset`, then re-loading the rules file (what `systemctl
# reload nftables` does): the running agent re-creates and refills its
# sets from the addresses it holds, with no DNS round trip (the server is
# stopped first), well under a second. An element added by hand to the
# reloaded file survives.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_chain 300 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net
zone_addrs data-prod-weu.vaultcore.azure.net 300 192.0.2.10 192.0.2.11 2001:db8::10
zone_addrs login.microsoftonline.com 300 198.51.100.1 198.51.100.2
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints auth vault\n'
	kvf_conf_base
} > "$conf"

# The administrator's rules, as `kvfence rules` prints them, plus a
# hand-made element.
kvf_run rules -c "$conf" rules
expect_rc 0 "kvfence rules"
cp "$KVF_TMP/rules.out" "$KVF_TMP/rules.nft"
printf 'add element inet filter kvfence4 { 203.0.113.99 . 443 comment "by hand" }\n' \
	>> "$KVF_TMP/rules.nft"
nft -f "$KVF_TMP/rules.nft" || hard_error "cannot load the rules"

dns_start "$zone"
kvf_agent_start -c "$conf"
count() { set_elems inet filter kvfence4 | grep -c 'comment "[a-z]' ; }
full() { [ "$(set_elems inet filter kvfence4 2>/dev/null | wc -l)" -eq 5 ] &&
	 [ "$(set_elems inet filter kvfence6 2>/dev/null | wc -l)" -eq 1 ]; }
wait_until 10 full || fail "the agent did not fill the sets: $(set_elems inet filter kvfence4)"
set_elems inet filter kvfence4 > "$KVF_TMP/v4.before"
set_elems inet filter kvfence6 > "$KVF_TMP/v6.before"

# No DNS from here on: the refill must come from what the agent holds.
dns_stop

same() {
	set_elems inet filter kvfence4 > "$KVF_TMP/v4.now" 2>/dev/null &&
	set_elems inet filter kvfence6 > "$KVF_TMP/v6.now" 2>/dev/null &&
	cmp -s "$KVF_TMP/v4.before" "$KVF_TMP/v4.now" &&
	cmp -s "$KVF_TMP/v6.before" "$KVF_TMP/v6.now"
}

# 1. The ruleset re-loaded: flush, then the rules file again.
start=$(now_ms)
nft flush ruleset
nft -f "$KVF_TMP/rules.nft" || hard_error "cannot re-load the rules"
wait_until 5 same || fail "the sets were not refilled within 5 s: $(cat "$KVF_TMP/v4.now")"
ms=$(( $(now_ms) - start ))
echo "refill after flush + reload: $ms ms" >&2
[ "$ms" -lt 1000 ] || fail "refill took $ms ms (target well under 1 s)"

# 2. Only a flush, nothing re-loaded: the agent re-creates table and sets.
start=$(now_ms)
nft flush ruleset
wait_until 5 eval 'set_elems inet filter kvfence6 2>/dev/null | grep -q 2001:db8::10' ||
	fail "the agent did not re-create its sets after a bare flush"
ms=$(( $(now_ms) - start ))
echo "re-create after a bare flush: $ms ms" >&2

# 3. One set deleted.
nft delete set inet filter kvfence6
wait_until 5 eval 'set_elems inet filter kvfence6 2>/dev/null | grep -q 2001:db8::10' ||
	fail "the agent did not re-create a deleted set"

# 4. Elements of ours deleted by hand come back.
nft delete element inet filter kvfence4 '{ 192.0.2.10 . 443 }'
wait_until 5 eval 'set_elems inet filter kvfence4 | grep -q "^192\.0\.2\.10 "' ||
	fail "the agent did not restore a deleted element"
kvf_agent_alive || fail "the agent died"
assert_grep "$KVF_TMP/agent.err" 'changed by another process' "the self-heal is not logged"
exit 0
