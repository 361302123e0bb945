#!/bin/bash
# The state file, status.json and the metrics file are replaced whole or
# not at all: on a full file system (a 64 KiB tmpfs filled up) the agent
# logs each failure, keeps running and keeping the sets, leaves the old
# files byte for byte and no .tmp behind; once there is room again the
# next write succeeds. (They are written through stdio now, where a
# failed write only shows at the final flush.)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

# Under the namespace's own /run (kvf_netns_setup): this mount is
# invisible outside and goes away with the namespace.
var=/run/kvfence-test-var
mkdir -p "$var"
mount -t tmpfs -o size=64k,mode=0755 kvfence-test "$var" || skip "cannot mount a tmpfs"

hosts="kv-a kv-b kv-c kv-d kv-e kv-f kv-g kv-h"
zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
n=0
for h in $hosts; do
	n=$((n + 1))
	zone_addrs "$h.vault.azure.net" 300 192.0.2.$n 2001:db8::$n
done
zone_addrs kv-late.vault.azure.net 300 192.0.2.99 2001:db8::99
conf=$KVF_TMP/kvfence.conf
write_conf() {	# VAULTS...
	{
		printf 'vault %s\n' "$@"
		printf 'endpoints vault\nresolver 127.0.0.1\n'
		printf 'state-file %s/state\nstatus-file %s/status.json\nmetrics-file %s/kvfence.prom\n' \
			"$var" "$var" "$var"
		echo "metrics-per-host yes"	# the new host shows in the metrics too
	} > "$conf"
}
write_conf $hosts
dns_start "$zone"

"$KVFENCE" -c "$conf" run -f 2> "$KVF_TMP/agent.err" &
KVF_AGENT_PID=$!
kvf_bg_register "$KVF_AGENT_PID"
files_ready() { [ -s "$var/state" ] && [ -s "$var/status.json" ] && [ -s "$var/kvfence.prom" ]; }
wait_until 15 files_ready || { cat "$KVF_TMP/agent.err" >&2; fail "the agent did not write its files"; }
full() { [ "$(set_elems inet filter kvfence4 | wc -l)" -eq 8 ]; }
wait_until 10 full || fail "the sets were not filled"
cp "$var/state" "$KVF_TMP/state.before"
cp "$var/status.json" "$KVF_TMP/status.before"
cp "$var/kvfence.prom" "$KVF_TMP/prom.before"

# Fill the file system; dd stops at ENOSPC.
dd if=/dev/zero of="$var/filler" bs=4k 2>/dev/null
[ "$(df --output=avail "$var" | tail -n 1)" -eq 0 ] || hard_error "the tmpfs is not full"

# A reload adds a host: a reconcile (status, metrics) and, after its
# answer, the state file are due, and none of them fits.
write_conf $hosts kv-late
kill -HUP "$KVF_AGENT_PID"
logged() { grep -q "$1: No space left on device" "$KVF_TMP/agent.err"; }
wait_until 10 logged "status file $var/status.json" || fail "status.json failure not logged"
wait_until 10 logged "metrics file $var/kvfence.prom" || fail "metrics failure not logged"
wait_until 15 logged "state file $var/state" || fail "state file failure not logged"
assert_grep "$KVF_TMP/agent.err" "state file $var/state: No space left on device; trying again in 10 s" \
	"the state file failure does not say it will be retried"
grow() { [ "$(set_elems inet filter kvfence4 | wc -l)" -eq 9 ]; }
wait_until 10 grow || fail "the new host's address did not reach the set"
kvf_agent_alive || fail "the agent died on a full disk"
cmp -s "$var/state" "$KVF_TMP/state.before" || fail "the state file changed on a full disk"
cmp -s "$var/status.json" "$KVF_TMP/status.before" || fail "status.json changed on a full disk"
cmp -s "$var/kvfence.prom" "$KVF_TMP/prom.before" || fail "the metrics file changed on a full disk"
ls "$var" | grep -q '\.tmp$' && fail "a .tmp file was left behind: $(ls "$var")"

# Room again. The state file is retried on its own (10 s after the
# failure), with nothing else happening; status and metrics follow the
# next reconcile, which a reload brings.
rm -f "$var/filler"
state_late() { grep -q '^host kv-late.vault.azure.net ' "$var/state"; }
wait_until 15 state_late || fail "the state file was not retried once there was room"
kill -HUP "$KVF_AGENT_PID"
has_late() { grep -q '"kv-late.vault.azure.net"' "$var/status.json" &&
	     grep -q 'host="kv-late.vault.azure.net"' "$var/kvfence.prom"; }
wait_until 10 has_late || fail "status and metrics were not rewritten once there was room"
"$KVF_PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$var/status.json" ||
	fail "status.json is not JSON after the recovery"
tail -n 1 "$var/state" | grep -qx end || fail "the state file has no end record"
kvf_agent_stop
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
