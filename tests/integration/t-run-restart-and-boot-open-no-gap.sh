#!/bin/bash
# SIGTERM: exit 0, the sets stay filled. A new agent started on filled
# sets while DNS is down removes nothing. At "boot" (empty ruleset, DNS
# still down) an agent fills the sets from its state file at once.
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
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } > "$conf"
full() { [ "$(set_elems inet filter kvfence4 2>/dev/null | wc -l)" -eq 2 ] &&
	 [ "$(set_elems inet filter kvfence6 2>/dev/null | wc -l)" -eq 1 ]; }

dns_start "$zone"
kvf_agent_start -c "$conf"
wait_until 10 full || fail "the agent did not fill the sets"
nft list table inet filter > "$KVF_TMP/filled"

kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "SIGTERM: exit code $KVF_AGENT_RC, expected 0"
nft list table inet filter | diff -u "$KVF_TMP/filled" - >&2 ||
	fail "the sets changed when the agent stopped"
[ -s "$KVF_TMP/state" ] || fail "no state file after SIGTERM"

# Restart with DNS down: the agent's warm start and its failed first
# answers must not remove anything.
dns_stop
kvf_agent_start -c "$conf"
wait_until 20 eval '[ "$(status_host_field contoso-prod.vault.azure.net failures)" -ge 1 ]' ||
	fail "the restarted agent did not try DNS"
nft list table inet filter | diff -u "$KVF_TMP/filled" - >&2 ||
	fail "the restarted agent changed the sets before any answer"
kvf_agent_stop TERM

# Boot: nftables has loaded an empty ruleset, DNS is not up yet.
nft flush ruleset
start=$(now_ms)
kvf_agent_start -c "$conf"
wait_until 5 full || fail "the agent did not fill the sets from its state file"
echo "warm start from the state file: $(( $(now_ms) - start )) ms" >&2
assert_grep "$KVF_TMP/agent.err" 'warm start' "the warm start is not logged"
kvf_agent_stop TERM

# A second agent on the same state refuses, naming the first.
kvf_agent_start -c "$conf"
rc=0
"$KVFENCE" -c "$conf" run -f 2> "$KVF_TMP/second.err" || rc=$?
cat "$KVF_TMP/second.err" >&2
[ "$rc" -eq 75 ] || fail "a second agent exited $rc, expected 75"
grep -q "another kvfence agent (pid $KVF_AGENT_PID)" "$KVF_TMP/second.err" ||
	fail "the second agent does not name the first"
kvf_agent_alive || fail "the first agent died"
exit 0
