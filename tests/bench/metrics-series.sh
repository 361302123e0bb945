#!/bin/bash
# The metrics file at N hosts (default 10000, the benchmark fixture):
# series and bytes with metrics-per-host no (the default) and yes, and
# the time promtool takes to lint each. Not part of `make check`; prints
# figures. Runs in a private namespace with Knot, as the benchmarks do.
#   sudo tests/bench/metrics-series.sh [N]
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir
N=${1:-10000}
FIX=$(dirname "$KVF_SCRIPT")/fixture.py
KVF_ZONE_SERIAL=1
"$KVF_PYTHON" "$FIX" zone "$N" 0 "$KVF_ZONE_SERIAL" > "$KVF_TMP/root.zone" || hard_error "fixture"
dns_start "$KVF_TMP/root.zone"
prom=$KVF_TMP/kvfence.prom
for per_host in no yes; do
	{
		"$KVF_PYTHON" "$FIX" names "$N" | sed 's/^/host /; s/$/ 443/'
		echo "endpoints none"
		kvf_conf_base | grep -v metrics-file
		echo "metrics-file $prom"
		echo "metrics-per-host $per_host"
	} > "$KVF_TMP/kvfence.conf"
	rm -f "$prom" "$KVF_TMP/state"
	nft flush ruleset
	kvf_agent_start -c "$KVF_TMP/kvfence.conf"
	answered() { grep -qx 'kvfence_hosts_unanswered 0' "$prom" && grep -qx 'kvfence_hosts_failing 0' "$prom"; }
	wait_until 120 answered || hard_error "the agent did not resolve the $N hosts"
	kvf_agent_stop TERM 2>/dev/null
	t0=$(date +%s%N)
	promtool check metrics < "$prom" > "$KVF_TMP/lint" 2>&1 || { cat "$KVF_TMP/lint"; hard_error "promtool"; }
	t1=$(date +%s%N)
	echo "metrics at N=$N, metrics-per-host $per_host: $(grep -vc '^#' "$prom") series," \
		"$(stat -c %s "$prom") bytes; promtool check metrics clean in $(( (t1 - t0) / 1000000 )) ms"
done
