#!/bin/bash
# The agent's CPU for one refresh wave (issue 14): N hosts answered
# together at start come due together one TTL later. Floor: the CPU of a
# cold `kvfence sync` of the same hosts, measured in the same run. Not
# part of `make check`: it prints figures and judges nothing.
#
#   sudo tests/bench/wave.sh [N]        # default 50000
#
# BENCH_WAVE_TTL (20): the fixture's TTL in seconds (fixture.py's chains,
# 2 A + 1 AAAA, with this TTL instead of 300). The wave's CPU is the
# agent's utime + stime from the end of its first fill until every host
# has been asked again and the agent is idle (no CPU for 2 s).
# shellcheck source=lib.sh
. "${TESTDIR:-$(dirname "$0")/..}/bench/lib.sh" "$@"

N=${1:-50000}
TTL=${BENCH_WAVE_TTL:-20}
secs() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

KVF_ZONE=$T/root.zone
KVF_ZONE_SERIAL=1
"$KVF_PYTHON" "$FIX" zone "$N" 0 "$KVF_ZONE_SERIAL" |
	sed -E "s/([[:space:]])300([[:space:]]+IN[[:space:]]+(A|AAAA|CNAME))/\\1$TTL\\2/" \
	> "$KVF_ZONE" || hard_error "zone"
dns_start "$KVF_ZONE"
{
	"$KVF_PYTHON" "$FIX" names "$N" | sed 's/^/host /; s/$/ 443/'
	printf 'endpoints none\nrefresh-max 1h\n'
	kvf_conf_base
} > "$T/kvfence.conf"

# The floor: a cold sync, its CPU from the shell's children times.
say "cold sync of $N hosts"
/usr/bin/time -f '%U %S' -o "$T/sync.time" "$KVFENCE" -c "$T/kvfence.conf" sync \
	> /dev/null 2> "$T/sync.err" || { cat "$T/sync.err" >&2; hard_error "sync failed"; }
sync_cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$T/sync.time")
nft flush ruleset
rm -f "$T/state"

say "agent: first fill"
kvf_agent_start -c "$T/kvfence.conf"
wait_until 300 full || hard_error "the agent did not fill its sets"
fill_cpu=$(ticks "$KVF_AGENT_PID")
t0=$(date +%s)
say "waiting for the wave (TTL $TTL s)"
# Idle = no CPU tick over 2 s, after the TTL has passed.
sleep "$TTL"
prev=$(ticks "$KVF_AGENT_PID")
while :; do
	sleep 2
	cur=$(ticks "$KVF_AGENT_PID")
	[ "$cur" -ne "$prev" ] || break
	prev=$cur
	[ $(( $(date +%s) - t0 )) -lt $(( TTL * 4 + 60 )) ] || { say "never idle"; break; }
done
wave=$(( cur - fill_cpu ))
kvf_agent_stop
printf '# kvfence refresh-wave benchmark: %s hosts, TTL %s s, kernel %s\n' "$N" "$TTL" "$(uname -r)"
printf '%-40s %s s\n' "cold sync CPU (floor)" "$sync_cpu"
printf '%-40s %s s\n' "agent first fill CPU" "$(secs "$fill_cpu")"
printf '%-40s %s s\n' "agent refresh wave CPU" "$(secs "$wave")"
awk -v w="$(secs "$wave")" -v s="$sync_cpu" \
	'BEGIN { printf "%-40s %.2f (target <= 1.5)\n", "ratio wave / cold sync", (s > 0 ? w / s : 0) }'
