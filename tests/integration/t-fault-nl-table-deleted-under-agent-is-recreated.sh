#!/bin/bash
# The agent's table is deleted under it (twice, and once with the sets
# only): the agent notices through the monitor, re-creates the table and
# the sets and refills them from what it holds, without waiting for DNS;
# it stays alive throughout.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10,192.0.2.11 aaaa=2001:db8::10 ttl=300
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } > "$conf"
full() { [ "$(set_elems inet filter kvfence4 2>/dev/null | wc -l)" -eq 2 ] &&
	 [ "$(set_elems inet filter kvfence6 2>/dev/null | wc -l)" -eq 1 ]; }
kvf_agent_start -c "$conf"
wait_until 10 full || fail "the agent did not fill the sets"
set_elems inet filter kvfence4 > "$KVF_TMP/want4"
set_elems inet filter kvfence6 > "$KVF_TMP/want6"
queries=$(fakedns_queries contoso-prod.vault.azure.net A)

for what in "table inet filter" "table inet filter" "set inet filter kvfence4"; do
	nft delete $what || hard_error "nft delete $what"
	start=$(now_ms)
	wait_until 10 full || fail "the agent did not re-create and refill after: delete $what"
	echo "delete $what: refilled in $(( $(now_ms) - start )) ms" >&2
	assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
	assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
	kvf_agent_alive || fail "the agent died after: delete $what"
done
[ "$(fakedns_queries contoso-prod.vault.azure.net A)" -eq "$queries" ] ||
	fail "the refill waited for DNS (queries $queries -> $(fakedns_queries contoso-prod.vault.azure.net A))"
assert_grep "$KVF_TMP/agent.err" 'ruleset changed by another process' "the foreign change is not logged"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent exited $KVF_AGENT_RC on SIGTERM"
exit 0
