#!/bin/bash
# The running agent writes status.json (read back by `kvfence status`, as
# a table or --json) and a Prometheus textfile.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 120
zone_chain 120 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net
zone_addrs data-prod-weu.vaultcore.azure.net 60 192.0.2.10 2001:db8::10
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\n'
	kvf_conf_base | grep -v metrics-file
	printf 'metrics-file %s/kvfence.prom\n' "$KVF_TMP"
} > "$conf"
dns_start "$zone"
kvf_agent_start -c "$conf"
answered() { [ "$(status_host_field contoso-prod.vault.azure.net a)" = ok ]; }
wait_until 10 answered || fail "status.json never showed an answer"

[ "$(status_host_field contoso-prod.vault.azure.net ttl)" = 60 ] ||
	fail "status TTL is not the chain's minimum (60)"
kvf_run status -c "$conf" status
expect_rc 0 "kvfence status"
assert_grep "$KVF_TMP/status.out" '^contoso-prod\.vault\.azure\.net +60 ' "status shows no host row"
assert_grep "$KVF_TMP/status.out" '192\.0\.2\.10 +answered' "status shows no address"
assert_grep "$KVF_TMP/status.out" 'set inet filter kvfence4 .*: 1 elements' "status shows no set"
kvf_run json -c "$conf" status --json
expect_rc 0 "kvfence status --json"
"$KVF_PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$KVF_TMP/json.out" ||
	fail "status --json is not JSON"

prom=$KVF_TMP/kvfence.prom
[ -s "$prom" ] || fail "no metrics file"
grep -qx 'kvfence_hosts 1' "$prom" || fail "metrics: kvfence_hosts"
grep -q '^kvfence_set_elements{family="inet",table="filter",set="kvfence4"} 1$' "$prom" ||
	fail "metrics: set elements"
grep -q '^kvfence_last_reconcile_timestamp_seconds [1-9]' "$prom" || fail "metrics: last reconcile"
grep -q '^kvfence_reconcile_duration_seconds ' "$prom" || fail "metrics: duration"
grep -q '^kvfence_resolve_failures_total 0$' "$prom" || fail "metrics: failures"
[ "$(stat -c %a "$prom")" = 644 ] || fail "metrics file mode $(stat -c %a "$prom"), expected 644"

kvf_agent_stop TERM
kvf_run gone -c "$conf" status
[ "$KVF_RC" -eq 0 ] || fail "status after the agent stopped: exit $KVF_RC (the last status stays readable)"
exit 0
