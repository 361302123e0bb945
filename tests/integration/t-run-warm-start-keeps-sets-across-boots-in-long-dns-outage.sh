#!/bin/bash
# Warm start does not decay: addresses loaded from the state file keep
# their history (when last seen, and that the latest definite answer named
# them), so during a DNS outage longer than grace every boot fills the
# sets from the state file, not only the first.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10 2001:db8::10
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\ngrace 2s\nrefresh-min 1s\n'; kvf_conf_base; } > "$conf"
full() { [ "$(set_elems inet filter kvfence4 2>/dev/null | wc -l)" -eq 1 ] &&
	 [ "$(set_elems inet filter kvfence6 2>/dev/null | wc -l)" -eq 1 ]; }

dns_start "$zone"
kvf_agent_start -c "$conf"
wait_until 10 full || fail "the agent did not fill the sets"
kvf_agent_stop
dns_stop

# Each boot: an empty ruleset, DNS still down, and the agent runs past
# grace (time passing is the scenario here, not a synchronisation).
for boot in 1 2 3; do
	nft flush ruleset
	kvf_agent_start -c "$conf"
	full || fail "boot $boot: the sets are not filled from the state file"
	booted=$(now_ms)
	past_grace() {
		[ $(( $(now_ms) - booted )) -ge 3000 ] &&
			[ "$(status_host_field contoso-prod.vault.azure.net failures)" -ge 1 ]
	}
	wait_until 15 past_grace || fail "boot $boot: the agent did not try DNS"
	full || fail "boot $boot: the running agent emptied the sets during the outage"
	kvf_agent_stop
done
exit 0
