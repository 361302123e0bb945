#!/bin/bash
# The agent's CPU for one refresh wave (issue 14): N hosts answered
# together at start come due together one TTL later. Floor: the CPU of a
# cold `kvfence sync` of the same hosts, measured in the same run. Not
# part of `make check`: it prints figures and judges nothing.
#
#   sudo tests/bench/wave.sh [N]        # default 50000
#
# BENCH_WAVE_SYNCS (3): cold syncs run for the floor, the least taken.
# BENCH_WAVE_TTL: the fixture's TTL in seconds (fixture.py's chains,
# 2 A + 1 AAAA, with this TTL instead of 300); default 60 s, and N / 400 s
# above 24k hosts (125 s at 50k), so that the first fill (and the state
# write after it) is over long before the first refresh, at 0.9 TTL, and
# the wave (and the status write after it) long before the next one.
# The wave's CPU is the agent's utime + stime from the fill's quiet end
# (no CPU for QUIET s) until every host has been asked again and the
# agent is idle (no CPU for IDLE s). A fill that ends too late for that,
# or a next wave that begins before idle, is said, and the figure marked
# invalid.
# shellcheck source=lib.sh
. "${TESTDIR:-$(dirname "$0")/..}/bench/lib.sh" "$@"

N=${1:-50000}
TTL=${BENCH_WAVE_TTL:-$(( N > 24000 ? N / 400 : 60 ))}
QUIET=6		# > the 5 s between state writes: the fill's last one is in it
IDLE=11		# > the 10 s between status writes for unchanged answers
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

# The floor: a cold sync, its CPU from the shell's children times; the
# least of SYNCS runs (one run varies by a third on a shared machine).
SYNCS=${BENCH_WAVE_SYNCS:-3}
sync_cpu=
for run in $(seq "$SYNCS"); do
	say "cold sync $run/$SYNCS of $N hosts"
	/usr/bin/time -f '%U %S' -o "$T/sync.time" "$KVFENCE" -c "$T/kvfence.conf" sync \
		> /dev/null 2> "$T/sync.err" || { cat "$T/sync.err" >&2; hard_error "sync failed"; }
	cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$T/sync.time")
	say "cold sync CPU $cpu s"
	sync_cpu=$(awk -v a="$cpu" -v b="$sync_cpu" 'BEGIN { print (b == "" || a < b) ? a : b }')
	nft flush ruleset
	rm -f "$T/state"
done

say "agent: first fill (TTL $TTL s)"
t_start=$(date +%s)
kvf_agent_start -c "$T/kvfence.conf"
wait_until 300 full || hard_error "the agent did not fill its sets"
fill_wall=$(( $(date +%s) - t_start ))
# The fill ends when the agent has used no CPU for QUIET s: its last
# status and state writes belong to the fill, not to the wave.
fill_cpu=$(ticks "$KVF_AGENT_PID")
quiet=0
while [ "$quiet" -lt "$QUIET" ] && [ $(( $(date +%s) - t_start )) -lt "$TTL" ]; do
	sleep 1
	cur=$(ticks "$KVF_AGENT_PID")
	if [ "$cur" -eq "$fill_cpu" ]; then quiet=$(( quiet + 1 )); else quiet=0; fi
	fill_cpu=$cur
done
quiet_at=$(( $(date +%s) - t_start ))
# The first refresh comes at 0.9 TTL after the first answer (the 10 %
# prefetch point, src/schedule.c): the baseline must be taken before.
overlap=
[ "$quiet" -ge "$QUIET" ] && [ $(( quiet_at * 10 )) -lt $(( TTL * 9 )) ] ||
	overlap=yes
[ -z "$overlap" ] ||
	say "the fill was not over (quiet) ${quiet_at} s after the start, before the wave at 0.9 x TTL $TTL s: raise BENCH_WAVE_TTL"
t0=$(date +%s)
say "fill: ${fill_wall} s to full sets, quiet after ${quiet_at} s; waiting for the wave (TTL $TTL s)"
# Idle = no CPU for IDLE s, after the TTL has passed: longer than the
# 10 s a status write may follow answers that changed nothing.
sleep $(( TTL - quiet_at > 0 ? TTL - quiet_at : 0 ))
prev=$(ticks "$KVF_AGENT_PID")
still=0
while [ "$still" -lt "$IDLE" ]; do
	sleep 1
	cur=$(ticks "$KVF_AGENT_PID")
	if [ "$cur" -eq "$prev" ]; then still=$(( still + 1 )); else still=0; fi
	prev=$cur
	[ $(( $(date +%s) - t0 )) -lt $(( TTL * 4 + 60 )) ] || { say "never idle"; break; }
done
wave=$(( cur - fill_cpu ))
# The next wave comes 0.9 TTL after this one's first answer.
second=
[ $(( ($(date +%s) - t_start) * 10 )) -lt $(( TTL * 18 )) ] || second=yes
kvf_agent_stop
printf '# kvfence refresh-wave benchmark: %s hosts, TTL %s s, kernel %s\n' "$N" "$TTL" "$(uname -r)"
printf '%-40s %s s (least of %s)\n' "cold sync CPU (floor)" "$sync_cpu" "$SYNCS"
printf '%-40s %s s (%s s to full sets)\n' "agent first fill CPU" "$(secs "$fill_cpu")" "$fill_wall"
printf '%-40s %s s\n' "agent refresh wave CPU" "$(secs "$wave")"
awk -v w="$(secs "$wave")" -v s="$sync_cpu" \
	'BEGIN { printf "%-40s %.2f (target <= 1.5)\n", "ratio wave / cold sync", (s > 0 ? w / s : 0) }'
[ -z "$overlap" ] || printf '%-40s %s\n' "INVALID" "fill and wave overlapped (raise BENCH_WAVE_TTL)"
[ -z "$second" ] || printf '%-40s %s\n' "INVALID" "the next wave began before idle (raise BENCH_WAVE_TTL)"
