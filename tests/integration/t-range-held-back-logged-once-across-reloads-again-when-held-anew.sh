#!/bin/bash
# A Service Tags range held back (it overlaps an administrator's range in
# kvfence4r) is a condition: logged and counted in
# kvfence_ranges_held_total once when it starts, once (logged) when it
# ends, not again at each SIGHUP while nothing about it changed. Attacked
# with a reload of the same configuration and one that adds a vault; then
# the administrator removes their range (the held one goes in, and that is
# said), and puts it back after a flush (held anew: logged and counted a
# second time).
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

tags=$KVF_TMP/tags
tags_beside_admin_range "$tags"
zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_addrs contoso-prod.vault.azure.net 300 192.0.2.10
zone_addrs fabrikam-kv.vault.azure.net 300 192.0.2.20
dns_start "$zone"
conf=$KVF_TMP/kvfence.conf
write_conf() {
	{
		printf 'vault %s\nendpoints vault\n' "$*"
		printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n' "$tags"
		kvf_conf_base
		printf 'metrics-file %s/metrics.prom\n' "$KVF_TMP"
	} | grep -v '^metrics-file none$' > "$conf"
}
write_conf contoso-prod

held='kvfence4r: range 203\.0\.113\.128/25 not added: it overlaps a range that is not in kvfence.s record'
freed='kvfence4r: range 203\.0\.113\.128/25 is no longer held back'
logged() { [ "$(grep -c "$1" "$KVF_TMP/agent.err")" -eq "$2" ]; }
counted() { grep -q "^kvfence_ranges_held_total $1\$" "$KVF_TMP/metrics.prom"; }
has4() { set_elems inet filter kvfence4 2>/dev/null | grep -qF "$1 . 443 "; }
has4r() { set_elems inet filter kvfence4r 2>/dev/null | grep -qF "$1"; }

kvf_agent_start -c "$conf"
wait_until 10 has4 192.0.2.10 || fail "the host set was not filled beside the held range"
wait_until 10 counted 1 || fail "the held range is not counted once at start"
logged "$held" 1 || fail "the held range is not logged exactly once at start"

# 1. Reloads: the same configuration, then one more vault. The range is
# as held as before: neither logged nor counted again.
reloads() { [ "$(grep -c 'reload: ' "$KVF_TMP/agent.err")" -eq "$1" ]; }
kill -HUP "$KVF_AGENT_PID"
wait_until 10 reloads 1 || fail "the agent did not log the first reload"
write_conf contoso-prod fabrikam-kv
kill -HUP "$KVF_AGENT_PID"
wait_until 10 has4 192.0.2.20 || fail "the vault the reload added was not filled"
wait_until 10 grep -q '^kvfence_hosts 2$' "$KVF_TMP/metrics.prom" ||
	fail "no metrics written after the reload's reconcile"
reloads 2 || fail "the agent did not log both reloads"
logged "$held" 1 || fail "a reload logged the still-held range again ($(grep -c "$held" "$KVF_TMP/agent.err") times)"
counted 1 || fail "a reload counted the still-held range again: $(grep ranges_held "$KVF_TMP/metrics.prom")"
logged "$freed" 0 || fail "a reload said the still-held range was released"

# 2. The administrator removes their range: the held one goes in, and
# its end is logged once.
nft delete element inet filter kvfence4r "{ 203.0.113.0/24 }" || hard_error "nft delete element"
wait_until 10 has4r '203.0.113.128/25 comment "servicetag AzureKeyVault change 43"' ||
	fail "the range was not added once the administrator's range was gone"
wait_until 10 logged "$freed" 1 || fail "the end of the hold is not logged once"

# 3. A flush, and the administrator's range back before kvfence refills:
# held anew, so logged and counted again.
nft -f - <<-EOF || hard_error "cannot flush and re-add the administrator's range"
	flush set inet filter kvfence4r
	add element inet filter kvfence4r { $KVF_ADMIN_RANGE }
	EOF
wait_until 10 has4r "$KVF_RANGE_OURS" ||
	fail "the flushed range set was not refilled"
wait_until 10 counted 2 || fail "the range held anew is not counted again"
printf '%s\n%s\n' "$KVF_RANGE_OURS" "$KVF_ADMIN_RANGE" > "$KVF_TMP/want4r"
assert_set_elems inet filter kvfence4r "$KVF_TMP/want4r"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
logged "$held" 2 || fail "the range held anew is not logged exactly once more"
logged "$freed" 1 || fail "the end of the hold is logged more than once"
exit 0
