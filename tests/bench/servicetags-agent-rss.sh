#!/bin/bash
# Range mode's memory in the running agent: at N hosts (default 1000, the
# benchmark fixture), the agent's steady RSS and peak (VmHWM) without
# service-tags (the floor), then with the synthetic 4 MB public-cloud
# Service Tags file loaded at start and once more when a new weekly file
# is dropped in place. Not part of `make check`; prints figures.
#   sudo tests/bench/servicetags-agent-rss.sh [N]   (binary: $KVFENCE)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir
N=${1:-1000}
HERE=$(dirname "$KVF_SCRIPT")
KVF_ZONE_SERIAL=1
"$KVF_PYTHON" "$HERE/fixture.py" zone "$N" 0 "$KVF_ZONE_SERIAL" > "$KVF_TMP/root.zone" ||
	hard_error "fixture"
dns_start "$KVF_TMP/root.zone"
tags=$KVF_TMP/tags
mkdir -p "$tags"
/usr/bin/python3 "$HERE/servicetags-fixture.py" "$KVF_TMP/ServiceTags.json" || hard_error "tags fixture"
cp "$KVF_TMP/ServiceTags.json" "$tags/ServiceTags_Public_20261123.json"
prom=$KVF_TMP/kvfence.prom
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$KVF_AGENT_PID/status"; }
run() {	# LABEL [service-tags line]
	{
		"$KVF_PYTHON" "$HERE/fixture.py" names "$N" | sed 's/^/host /; s/$/ 443/'
		echo "endpoints none"
		kvf_conf_base | grep -v metrics-file
		echo "metrics-file $prom"
		[ -z "${2:-}" ] || echo "$2"
	} > "$KVF_TMP/kvfence.conf"
	rm -f "$prom" "$KVF_TMP/state"
	nft flush ruleset
	kvf_agent_start -c "$KVF_TMP/kvfence.conf"
	answered() { grep -qx 'kvfence_hosts_unanswered 0' "$prom"; }
	wait_until 60 answered || hard_error "the agent did not resolve the $N hosts"
	sleep 6		# the state file written, the last batch coalesced
	printf '%s: steady RSS %s KiB, peak %s KiB' "$1" "$(kb VmRSS)" "$(kb VmHWM)"
	if [ -n "${2:-}" ]; then
		# A new weekly file dropped in place: loaded again at once.
		sed 's/"changeNumber": 500/"changeNumber": 501/' "$KVF_TMP/ServiceTags.json" > "$tags/.new"
		mv "$tags/.new" "$tags/ServiceTags_Public_20261130.json"
		reloaded() { grep -q 'change_number{file=".*20261130.json"} 501' "$prom"; }
		wait_until 30 reloaded || hard_error "the new Service Tags file was not loaded"
		printf '; after a new file: RSS %s KiB, peak %s KiB' "$(kb VmRSS)" "$(kb VmHWM)"
	fi
	echo
	kvf_agent_stop TERM 2>/dev/null
}
echo "agent at N=$N hosts ($(stat -c %s "$KVF_TMP/ServiceTags.json")-byte Service Tags file, 3 tags):"
run "  without service-tags (floor)"
run "  with service-tags          " \
	"service-tags $tags/ServiceTags_Public_*.json AzureKeyVault AzureActiveDirectory AzureResourceManager"
