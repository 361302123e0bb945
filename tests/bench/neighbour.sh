#!/bin/bash
# What a busy nftables neighbour costs an idle agent (issue 14): fail2ban,
# crowdsec or docker add and delete elements in tables of their own all
# day, and every change is a notification to kvfence's monitor. Not part
# of `make check`: it prints figures and judges nothing.
#
#   sudo tests/bench/neighbour.sh [N]       # N hosts, default 10000
#
# BENCH_NEIGHBOUR_S (10): seconds of neighbour traffic. The floor is the
# same agent over the same seconds with no neighbour.
#
# In a private namespace (tests/lib/common.sh): Knot answers N hosts
# (fixture.py: 2-hop CNAME chains, 2 A + 1 AAAA, TTL 300), the agent
# fills its sets and goes idle, then one `nft -i` process adds and
# deletes an element of another table as fast as it can. The agent's
# CPU time (utime + stime from /proc) over the window is the figure.
# shellcheck source=lib.sh
. "${TESTDIR:-$(dirname "$0")/..}/bench/lib.sh" "$@"

N=${1:-10000}
SECS=${BENCH_NEIGHBOUR_S:-10}

KVF_ZONE=$T/root.zone
KVF_ZONE_SERIAL=1
"$KVF_PYTHON" "$FIX" zone "$N" 0 "$KVF_ZONE_SERIAL" > "$KVF_ZONE" || hard_error "zone"
dns_start "$KVF_ZONE"
{
	"$KVF_PYTHON" "$FIX" names "$N" | sed 's/^/host /; s/$/ 443/'
	echo "endpoints none"
	kvf_conf_base
} > "$T/kvfence.conf"
"$KVFENCE" -c "$T/kvfence.conf" rules > "$T/rules.nft" && nft -f "$T/rules.nft" ||
	hard_error "rules"
nft add table ip neighbour && nft add set ip neighbour banned '{ type ipv4_addr; }' ||
	hard_error "neighbour table"

say "starting the agent with $N hosts"
kvf_agent_start -c "$T/kvfence.conf"
wait_until 120 full || hard_error "the agent did not fill its sets"
# Let the first round's state and status writes pass.
wait_until 30 test -s "$T/state" || hard_error "no state file"

window() {	# prints the agent's CPU seconds over SECS
	local t0 t1
	t0=$(ticks "$KVF_AGENT_PID")
	"$@"
	t1=$(ticks "$KVF_AGENT_PID")
	awk -v d=$((t1 - t0)) -v hz="$HZ" 'BEGIN { printf "%.2f", d / hz }'
}

idle() { sleep "$SECS"; }

churn() {
	local end=$(( $(date +%s) + SECS )) i=0
	{
		while [ "$(date +%s)" -lt "$end" ]; do
			for i in $(seq 1 200); do
				echo "add element ip neighbour banned { 198.51.100.$((i % 250 + 1)) }"
				echo "delete element ip neighbour banned { 198.51.100.$((i % 250 + 1)) }"
			done
		done
	} | nft -i > /dev/null 2>&1
}

# The churn, with nft monitor counting its changes in the same window: a
# window whose churn did not happen (nft -i or the monitor failing, seen
# twice) must not pass for a quiet agent.
churn_seen() {
	timeout "$SECS" nft monitor > "$T/monitor.log" 2> "$T/monitor.err" &
	local m=$!
	churn
	wait $m 2>/dev/null
}

floor=$(window idle)
say "idle floor: ${floor}s"
busy=$(window churn_seen)
events=$(grep -c 'neighbour' "$T/monitor.log")
printf '# kvfence neighbour benchmark: %s hosts, %s s windows, kernel %s\n' "$N" "$SECS" "$(uname -r)"
printf '%-44s %s\n' "agent CPU, idle (floor)" "${floor} s"
printf '%-44s %s\n' "agent CPU, neighbour adding/deleting" "${busy} s"
printf '%-44s %s\n' "neighbour changes in a window (nft monitor)" "$events"
awk -v b="$busy" -v s="$SECS" 'BEGIN { printf "%-44s %.2f %%\n", "agent share of one core under the neighbour", 100 * b / s }'
[ "$events" -gt 0 ] ||
	echo "INVALID: nft monitor saw no neighbour change in the window: $(head -c 200 "$T/monitor.err")"
kvf_agent_stop
