#!/bin/bash
# Range sets follow the same rules as host sets. A kvfence4r the
# administrator declared as a plain (non-interval) set stops only itself:
# sync does not queue its creation (which failed the whole batch with
# "File exists"), and kvfence6r and the host sets are still written. And
# `nft flush set ... kvfence4r` under the agent is refilled at once, from
# the change notification, as a flushed host set is, not at the
# refresh-max re-read an hour later.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_addrs contoso-prod.vault.azure.net 300 192.0.2.10 2001:db8::10
dns_start "$zone"
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\n'
	printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault AzureActiveDirectory\n' "$tags"
	kvf_conf_base
} > "$conf"
count() { set_elems inet filter "$1" 2>/dev/null | grep -c .; }

# 1. kvfence4r is a plain set of the administrator's.
nft -f - <<-'EOF' || hard_error "cannot declare kvfence4r"
	table inet filter {
		set kvfence4r { type ipv4_addr; elements = { 198.51.100.7 } }
	}
	EOF
kvf_run sync -c "$conf" sync
assert_no_grep "$KVF_TMP/sync.err" 'File exists' "the plain kvfence4r failed the whole batch"
assert_grep "$KVF_TMP/sync.err" 'kvfence4r.*not an interval set' "sync does not name the plain kvfence4r"
[ "$(count kvfence6r)" -gt 0 ] || fail "kvfence6r was not written beside the plain kvfence4r"
assert_set_has inet filter kvfence4 '192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"'
set_elems inet filter kvfence4r > "$KVF_TMP/r4"
grep -qx '198.51.100.7' "$KVF_TMP/r4" && [ "$(grep -c . "$KVF_TMP/r4")" -eq 1 ] ||
	fail "the plain kvfence4r was changed: $(cat "$KVF_TMP/r4")"

# 2. The agent with both range sets its own; someone flushes kvfence4r.
nft flush ruleset
kvf_agent_start -c "$conf"
wait_until 10 eval '[ "$(count kvfence4r)" -gt 0 ] && [ "$(count kvfence6r)" -gt 0 ]' ||
	fail "the agent did not fill the range sets"
set_elems inet filter kvfence4r > "$KVF_TMP/want4r"
set_elems inet filter kvfence6r > "$KVF_TMP/want6r"
t0=$(now_ms)
nft flush set inet filter kvfence4r
refilled() { [ "$(count kvfence4r)" -eq "$(grep -c . "$KVF_TMP/want4r")" ]; }
wait_until 5 refilled || fail "a flushed range set was not refilled within 5 s (the monitor ignores range sets)"
kvf_log "kvfence4r refilled $(( $(now_ms) - t0 )) ms after the flush"
assert_set_elems inet filter kvfence4r "$KVF_TMP/want4r"
nft flush set inet filter kvfence6r
wait_until 5 eval '[ "$(count kvfence6r)" -eq "$(grep -c . "$KVF_TMP/want6r")" ]' ||
	fail "a flushed kvfence6r was not refilled within 5 s"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
