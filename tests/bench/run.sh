#!/bin/bash
# kvfence benchmarks (issue 6). Not part of `make check`: it prints figures,
# each next to its floor measured in the same run, and judges nothing.
#
#   sudo tests/bench/run.sh [N...]          # default: 1000 10000
#
# Environment: BENCH_RUNS (5) runs per figure, BENCH_COLD_RUNS (15) for
# the cold and warm syncs and their floors, BENCH_IDLE_S (60) seconds of
# idle measurement, BENCH_NAIVE_N (1000) the N at which the naive peer
# (kdig + one `nft add element` per address) runs, BENCH_NAIVE_NAMES (200)
# how many of those N names it really does (see bench_naive), BENCH_PIN
# (1: the DNS server on the last CPU, everything else on CPU 0; 0: let
# the scheduler place them), KVFENCE (src/kvfence). About 8 minutes on
# 2 cores with the defaults. BENCH_PARTS ("cold churn agent naive") picks
# the parts to run; the figures of the others print as nan.
#
# Everything happens in a private network and mount namespace (as the
# integration tests, tests/lib/common.sh): a Knot server on 127.0.0.1
# answers a root zone of N hosts, each a 2-hop CNAME chain ending in 2 A
# and 1 AAAA records, TTL 300 (see fixture.py for the address plan). The
# host's ruleset and network are never touched; the temporary directory
# and every background process go away on exit, whatever the reason.
# The results table goes to stdout, progress to stderr.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir
set -o pipefail

BENCH_DIR=$(dirname "$KVF_SCRIPT")
RUNS=${BENCH_RUNS:-5}
# The floors move from run to run more than kvfence's own work does (the
# resolve floor 87-127 ms at 10k within minutes): a ratio of medians of 5
# came out anywhere from 0.94 to 1.34 for one build; of 15, 1.02-1.12.
COLD_RUNS=${BENCH_COLD_RUNS:-15}
IDLE_S=${BENCH_IDLE_S:-60}
NAIVE_N=${BENCH_NAIVE_N:-1000}
# Pinning: on 2 cores, where the scheduler puts the client and the
# server from one run to the next moved a 1k sync between 31 and 45 ms
# (bimodal), for kvfence and the floors alike; with the server on a CPU
# of its own, as a gateway's resolver is another machine, runs agree to
# a few percent. Both kvfence and its floors run pinned the same way.
PARTS=" ${BENCH_PARTS:-cold churn agent naive} "
part() { [[ $PARTS == *" $1 "* ]]; }
PIN=${BENCH_PIN:-1}
NCPU=$(nproc)
[ "$NCPU" -ge 2 ] && command -v taskset >/dev/null || PIN=0
OBSERVER_PIN=
if [ "$PIN" = 1 ]; then
	taskset -p -c 0 $$ >/dev/null || hard_error "taskset"
	OBSERVER_PIN="taskset -c $((NCPU - 1))"
fi
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 10000)
FIX=$BENCH_DIR/fixture.py
BIN=$KVF_TMP/bin
T=$KVF_TMP
PY=$KVF_PYTHON

say() { printf 'bench: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------
# The helper programs, built here from tests/bench/*.c

build() {
	local name=$1 libs=$2 flags=""
	[ -z "$libs" ] || flags=$(pkg-config --cflags --libs $libs) ||
		hard_error "pkg-config $libs failed"
	# shellcheck disable=SC2086
	gcc -O2 -Wall -o "$BIN/$name" "$BENCH_DIR/$name.c" $flags ||
		hard_error "cannot build $name"
}

mkdir -p "$BIN"
build benchtime ""
build resolve-floor libcares
build write-floor "libnftnl libmnl"
build refill-observer libmnl

# ---------------------------------------------------------------------
# Statistics: "median min max" of the numbers on stdin.

stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan nan nan"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}

# fmt "median min max" [PRECISION]: "m [min..max]"
fmt() {
	local p=${2:-1}
	awk -v p="$p" '{ printf "%.*f [%.*f..%.*f]", p, $1, p, $2, p, $3 }' <<< "$1"
}

# field FILE KEY: the values of KEY=... in FILE, one per line.
field() { grep -o "$2=[-0-9.]*" "$1" 2>/dev/null | cut -d= -f2; }

# ---------------------------------------------------------------------
# Fixture

write_zone() {	# N VARIANT
	KVF_ZONE_SERIAL=$((KVF_ZONE_SERIAL + 1))
	KVF_ZONE=$T/root.zone
	"$PY" "$FIX" zone "$1" "$2" "$KVF_ZONE_SERIAL" > "$KVF_ZONE.new" &&
		mv "$KVF_ZONE.new" "$KVF_ZONE" || hard_error "cannot write the zone"
}

serve() {	# N VARIANT: the server answers exactly this variant
	write_zone "$1" "$2"
	if [ -z "$KVF_DNS_PID" ]; then
		dns_start "$KVF_ZONE"
		if [ "$PIN" = 1 ]; then
			taskset -a -p -c $((NCPU - 1)) "$KVF_DNS_PID" >/dev/null ||
				hard_error "cannot pin the DNS server"
		fi
	else
		dns_reload 2>/dev/null
	fi
}

write_conf() {	# N
	{
		"$PY" "$FIX" names "$1" | sed 's/^/host /; s/$/ 443/'
		echo "endpoints none"
		kvf_conf_base
	} > "$CONF"
	"$KVFENCE" -c "$CONF" rules > "$T/rules.nft" || hard_error "kvfence rules failed"
}

# Empty sets in a freshly loaded ruleset: the administrator's rules as
# `kvfence rules` prints them.
reset_ruleset() {
	nft flush ruleset && nft -f "$T/rules.nft" || hard_error "cannot load the rules"
}

count_set() {
	nft -j list set inet filter "$1" 2>/dev/null | "$PY" -c '
import json, sys
n = 0
for o in json.load(sys.stdin)["nftables"]:
    n += len(o.get("set", {}).get("elem", []))
print(n)'
}

dump_sets() {	# PREFIX: nft -j of both sets to PREFIX.4 / PREFIX.6
	nft -j list set inet filter kvfence4 > "$1.4" &&
		nft -j list set inet filter kvfence6 > "$1.6" || hard_error "cannot list the sets"
}

# kvsync TAG: `kvfence sync` under benchtime; its log in $T/TAG.err, the
# figures appended to $T/TAG.time.
kvsync() {
	"$BIN/benchtime" "$T/$1.time" "$KVFENCE" -c "$CONF" sync 2> "$T/$1.err" ||
		{ cat "$T/$1.err" >&2; hard_error "kvfence sync ($1) failed"; }
	cat "$T/$1.err" >> "$T/$1.log"
}

# The batch messages, elements added and removed by the last sync of TAG.
sync_msgs() { grep -o 'netlink-messages=[0-9]*' "$T/$1.err" | cut -d= -f2; }
sync_written() {
	awk '/set=/ { for (i = 1; i <= NF; i++) if ($i ~ /^(added|removed)=/) {
		split($i, kv, "="); n += kv[2] } } END { print n + 0 }' "$T/$1.err"
}

# ---------------------------------------------------------------------
# Figures for one N

bench_cold() {	# N: cold sync, warm sync, both floors, COLD_RUNS times interleaved
	local n=$1 r e4 e6
	read -r e4 e6 <<< "$("$PY" "$FIX" counts "$n" 0)"
	EXP4=$e4 EXP6=$e6
	# Once untimed: the server's and the kernel's caches, and the elements
	# the write floor writes (the kernel's own listing of kvfence's work).
	reset_ruleset
	kvsync warmup
	[ "$(count_set kvfence4)" -eq "$e4" ] && [ "$(count_set kvfence6)" -eq "$e6" ] ||
		hard_error "after a sync the sets hold $(count_set kvfence4)/$(count_set kvfence6) elements, expected $e4/$e6"
	dump_sets "$T/full"
	"$PY" "$FIX" floor-elems "$T/full.4" "$T/full.6" > "$T/floor.elems"
	"$PY" "$FIX" names "$n" > "$T/names"
	for r in $(seq "$COLD_RUNS"); do
		say "N=$n run $r/$COLD_RUNS: cold sync, warm sync, resolve floor, write floor"
		reset_ruleset
		kvsync cold
		kvsync warm
		sync_msgs warm >> "$T/warm.msgs"
		"$BIN/benchtime" "$T/rfloor.time" "$BIN/resolve-floor" "$T/names" 127.0.0.1 \
			>> "$T/rfloor.out" || hard_error "resolve-floor failed: $(tail -n1 "$T/rfloor.out")"
		nft flush set inet filter kvfence4 && nft flush set inet filter kvfence6 ||
			hard_error "cannot flush the sets"
		"$BIN/benchtime" "$T/wfloor.time" "$BIN/write-floor" "$T/floor.elems" inet filter \
			kvfence4 kvfence6 >> "$T/wfloor.out" || hard_error "write-floor failed"
		[ "$(count_set kvfence6)" -eq "$e6" ] || hard_error "write-floor wrote a wrong count"
	done
	grep -q "addrs4=$((2 * n)) addrs6=$n " "$T/rfloor.out" ||
		hard_error "the resolve floor did not get 2 A + 1 AAAA per name: $(tail -n1 "$T/rfloor.out")"
}

bench_churn() {	# N: 10% of the hosts change answers, RUNS times (there and back)
	local n=$1 r v=1 want_add want_del got_add got_del
	reset_ruleset
	kvsync churn-setup
	for r in $(seq "$RUNS"); do
		say "N=$n churn $r/$RUNS (to variant $v)"
		dump_sets "$T/before"
		read -r want_add want_del <<< "$("$PY" "$FIX" churn-expect "$n" "$v" "$T/before.4" "$T/before.6")"
		serve "$n" "$v"
		kvsync churn
		got_add=$(awk '/set=/ { for (i = 1; i <= NF; i++) if ($i ~ /^added=/) {
			split($i, kv, "="); n += kv[2] } } END { print n + 0 }' "$T/churn.err")
		got_del=$(awk '/set=/ { for (i = 1; i <= NF; i++) if ($i ~ /^removed=/) {
			split($i, kv, "="); n += kv[2] } } END { print n + 0 }' "$T/churn.err")
		echo "$got_add $got_del $want_add $want_del $(sync_msgs churn)" >> "$T/churn.counts"
		v=$((1 - v))
	done
	# Leave the server on variant 0 and the sets matching it.
	if [ "$v" -eq 1 ]; then :; else serve "$n" 0; kvsync churn-setup; fi
}

# observe TAG CMD...: run CMD (which empties the sets) under the refill
# observer; one line per run in $T/TAG.out.
observe() {
	local tag=$1
	shift
	# The observer on the DNS server's CPU (idle during a refill, which
	# is served from memory): on CPU 0 with the agent it would read the
	# flush's notification only after the agent had already refilled,
	# and report too little.
	$OBSERVER_PIN "$BIN/refill-observer" filter kvfence4 "$EXP4" kvfence6 "$EXP6" 10000 "$@" \
		>> "$T/$tag.out" ||
		{ tail -n 3 "$T/agent.err" >&2; hard_error "no refill: $(tail -n1 "$T/$tag.out")"; }
	agent_full || hard_error "after the refill the sets are not full"
	sleep 1
}

agent_full() {
	[ "$(count_set kvfence4)" -eq "$EXP4" ] && [ "$(count_set kvfence6)" -eq "$EXP6" ]
}

bench_agent() {	# N: refill after flush + reload, then idle wakeups
	local n=$1 r pid v0 v1 nv0 nv1
	reset_ruleset
	rm -f "$T/state" "$T/status.json"
	"$KVFENCE" -c "$CONF" run -f 2> "$T/agent.err" &
	pid=$!
	kvf_bg_register "$pid"
	wait_until 60 agent_full || { tail "$T/agent.err" >&2; hard_error "the agent did not fill the sets"; }
	# Let its startup settle (state file written, last coalesced batch).
	sleep 6
	{ echo "flush ruleset"; cat "$T/rules.nft"; } > "$T/reload.nft"
	for r in $(seq "$RUNS"); do
		say "N=$n refill $r/$RUNS: nft flush ruleset; nft -f rules"
		observe refill2 sh -c "nft flush ruleset && nft -f '$T/rules.nft'"
		say "N=$n refill $r/$RUNS: nft -f (flush ruleset + rules in one transaction)"
		observe refill1 nft -f "$T/reload.nft"
	done
	kill -0 "$pid" 2>/dev/null || hard_error "the agent died"
	say "N=$n idle for ${IDLE_S}s"
	sleep 3
	read -r v0 nv0 < <(awk '/^voluntary_ctxt/ { v = $2 } /^nonvoluntary_ctxt/ { nv = $2 }
		END { print v, nv }' "/proc/$pid/status")
	sleep "$IDLE_S"
	read -r v1 nv1 < <(awk '/^voluntary_ctxt/ { v = $2 } /^nonvoluntary_ctxt/ { nv = $2 }
		END { print v, nv }' "/proc/$pid/status")
	IDLE_WAKE=$(( (v1 - v0) * 60 / IDLE_S ))
	IDLE_NVCSW=$(( (nv1 - nv0) * 60 / IDLE_S ))
	AGENT_RSS=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
	kvf_bg_stop "$pid"
	cp "$T/agent.err" "$T/agent-$n.err"
}

# The way many scripts do it: kdig per name and family, one nft per address.
naive() {
	local name a
	while read -r name; do
		for t in A AAAA; do
			for a in $(kdig @127.0.0.1 +short "$name" "$t" | grep -v '\.$'); do
				case $a in
				*:*) nft add element inet filter kvfence6 "{ $a . 443 comment \"$name\" }" ;;
				*) nft add element inet filter kvfence4 "{ $a . 443 comment \"$name\" }" ;;
				esac
			done
		done
	done < "$1"
}

# It runs on BENCH_NAIVE_NAMES (200) of the N names, every (N/K)th, and
# its time is scaled by N/K: it is one process per query and per address,
# linear in the names (here about 65 ms a process: all 1,000 names take
# 5 minutes; BENCH_NAIVE_NAMES=1000 to run them all).
bench_naive() {	# N
	local k=${BENCH_NAIVE_NAMES:-200} step
	[ "$k" -le "$1" ] || k=$1
	step=$(( $1 / k ))
	say "N=$1 naive peer (kdig + nft add element per address) on $k names, 1 run"
	awk -v s="$step" '(NR - 1) % s == 0' "$T/names" > "$T/naive.names"
	export -f naive
	reset_ruleset
	"$BIN/benchtime" "$T/naive.time" bash -c 'naive "$1"' naive "$T/naive.names" ||
		hard_error "the naive peer failed"
	if [ "$step" -eq 1 ]; then
		[ "$(count_set kvfence4)" -eq "$EXP4" ] && [ "$(count_set kvfence6)" -eq "$EXP6" ] ||
			hard_error "the naive peer filled $(count_set kvfence4)/$(count_set kvfence6)"
	fi
	NAIVE_MS=$(awk -v m="$(field "$T/naive.time" wall_ms)" -v s="$step" 'BEGIN { print m * s }')
	NAIVE_NOTE=$([ "$step" -eq 1 ] || echo ", from $k names x$step")
}

# ---------------------------------------------------------------------
# One N, figures into R_* variables of that N

bench_one() {
	local n=$1 s c rf wf
	rm -f "$T"/*.time "$T"/*.out "$T"/*.msgs "$T"/*.log "$T/churn.counts"
	# Empty, not missing, for the parts BENCH_PARTS leaves out.
	touch "$T/churn.counts" "$T/refill1.out" "$T/refill2.out" "$T/warm.msgs"
	CONF=$T/kvfence-$n.conf
	say "N=$n: zone and config"
	serve "$n" 0
	write_conf "$n"
	read -r EXP4 EXP6 <<< "$("$PY" "$FIX" counts "$n" 0)"
	! part cold || bench_cold "$n"
	! part churn || bench_churn "$n"
	! part agent || bench_agent "$n"
	NAIVE_MS= NAIVE_NOTE=
	[ "$n" != "$NAIVE_N" ] || ! part naive || bench_naive "$n"

	c=$(field "$T/cold.time" wall_ms | stats)
	rf=$(field "$T/rfloor.time" wall_ms | stats)
	wf=$(field "$T/wfloor.time" wall_ms | stats)
	R_ELEMS[$n]="$EXP4 + $EXP6"
	R_COLD[$n]=$(fmt "$c")
	R_COLD_MED[$n]=${c%% *}
	s=$(field "$T/cold.time" maxrss_kb | stats)
	R_RSS[$n]=$(fmt "$s" 0)
	R_RSS_MED[$n]=${s%% *}
	R_CPU[$n]=$(paste <(field "$T/cold.time" user_ms) <(field "$T/cold.time" sys_ms) |
		awk '{ print $1 + $2 }' | stats)
	R_CPU[$n]=$(fmt "${R_CPU[$n]}")
	R_RFLOOR[$n]=$(fmt "$rf")
	R_RFLOOR_CPU[$n]=$(fmt "$(paste <(field "$T/rfloor.time" user_ms) <(field "$T/rfloor.time" sys_ms) |
		awk '{ print $1 + $2 }' | stats)")
	R_RFLOOR_IN[$n]=$(fmt "$(field "$T/rfloor.out" ms | stats)")
	R_WFLOOR[$n]=$(fmt "$wf")
	R_WFLOOR_IN[$n]=$(fmt "$(field "$T/wfloor.out" ms | stats)")
	R_WFLOOR_MSGS[$n]=$(field "$T/wfloor.out" messages | tail -n1)
	R_RATIO[$n]=$(awk -v c="${c%% *}" -v r="${rf%% *}" -v w="${wf%% *}" \
		'BEGIN { printf "%.2f", c / (r + w) }')
	R_WARM[$n]=$(fmt "$(field "$T/warm.time" wall_ms | stats)")
	R_WARM_MSGS[$n]=$(sort -u "$T/warm.msgs" | paste -sd/)
	R_CHURN[$n]=$(fmt "$(field "$T/churn.time" wall_ms | stats)")
	R_CHURN_COUNTS[$n]=$(awk '{ if (NR > 1) printf "; "
		printf "+%d -%d (expected +%d -%d, %s msgs)", $1, $2, $3, $4, $5 }' "$T/churn.counts")
	R_CHURN_OK[$n]=$(awk '$1 != $3 || $2 != $4 { bad = 1 } END { print NR == 0 ? "-" : bad ? "MISMATCH" : "exact" }' \
		"$T/churn.counts")
	R_CHURN_ONE[$n]=$(awk 'NR == 1 { printf "+%d -%d", $1, $2 }' "$T/churn.counts")
	R_REFILL1[$n]=$(fmt "$(field "$T/refill1.out" refill_ms | stats)")
	R_REFILL1_READY[$n]=$(fmt "$(field "$T/refill1.out" ready_ms | stats)")
	R_REFILL2[$n]=$(fmt "$(field "$T/refill2.out" refill_ms | stats)")
	R_REFILL2_READY[$n]=$(fmt "$(field "$T/refill2.out" ready_ms | stats)")
	R_IDLE[$n]="$IDLE_WAKE voluntary + $IDLE_NVCSW involuntary"
	R_AGENT_RSS[$n]=$AGENT_RSS
	if [ -n "$NAIVE_MS" ]; then
		R_NAIVE[$n]=$(awk -v m="$NAIVE_MS" -v c="${c%% *}" \
			-v note="$NAIVE_NOTE" 'BEGIN { printf "%.0f ms (%.0fx kvfence cold%s)", m, m / c, note }')
	else
		R_NAIVE[$n]="-"
	fi
	mkdir -p "$T/keep"
	cp "$T/refill1.out" "$T/keep/refill1-$n"
	cp "$T/refill2.out" "$T/keep/refill2-$n"
}

declare -A R_ELEMS R_COLD R_COLD_MED R_RSS R_RSS_MED R_CPU R_RFLOOR R_RFLOOR_CPU R_RFLOOR_IN R_WFLOOR \
	R_WFLOOR_IN R_WFLOOR_MSGS R_RATIO R_WARM R_WARM_MSGS R_CHURN \
	R_CHURN_COUNTS R_CHURN_OK R_CHURN_ONE R_REFILL1 R_REFILL1_READY R_REFILL2 R_REFILL2_READY R_IDLE \
	R_AGENT_RSS R_NAIVE

START=$(date +%s)
for n in "${SIZES[@]}"; do
	bench_one "$n"
done

# ---------------------------------------------------------------------
# The table

row() {	# LABEL ARRAY TARGET
	local label=$1 arr=$2 target=$3 n line
	line=$(printf '%-38s' "$label")
	for n in "${SIZES[@]}"; do
		eval "line+=\$(printf ' | %-30s' \"\${${arr}[$n]}\")"
	done
	printf '%s | %s\n' "$line" "$target"
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "kvfence benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $("$KVFENCE" -V)"
echo "machine: nproc=$NCPU, CPU \"$cpu\", kernel $(uname -r)," \
	"c-ares $(pkg-config --modversion libcares), libnftnl $(pkg-config --modversion libnftnl)," \
	"libmnl $(pkg-config --modversion libmnl), knotd $(knotd -V | awk '{ print $NF }')"
echo "fixture: N hosts, each a 2-hop CNAME chain to 2 A + 1 AAAA, TTL 300, Knot on 127.0.0.1"
echo "         in a private netns; IPv4 from 762 documentation addresses (shared), IPv6 unique"
echo "figures: median [min..max] of $RUNS runs (figures 1-5: $COLD_RUNS) (wall ms unless said); floors measured in the same runs"
if [ "$PIN" = 1 ]; then
	echo "pinning: the DNS server on CPU $((NCPU - 1)), kvfence, floors and tools on CPU 0 (BENCH_PIN=0: unpinned)"
else
	echo "pinning: none"
fi
echo
hdr=$(printf '%-38s' "figure")
sep=$(printf '%-38s' "" | tr ' ' '-')
for n in "${SIZES[@]}"; do
	hdr+=$(printf ' | %-30s' "N=$n")
	sep+="-+-$(printf '%-30s' "" | tr ' ' '-')"
done
echo "$hdr | target"
echo "$sep-+-------"
row "set elements (v4 + v6)" R_ELEMS ""
row "1 cold sync, wall ms" R_COLD ""
row "1 cold sync, CPU ms (user+sys)" R_CPU ""
row "1 cold sync, peak RSS KiB" R_RSS "<= 10240 at 10k"
row "2 resolve floor, wall ms" R_RFLOOR ""
row "2   (inside the program)" R_RFLOOR_IN ""
row "2   (CPU ms, user+sys)" R_RFLOOR_CPU ""
row "3 write floor, wall ms" R_WFLOOR ""
row "3   (inside the program)" R_WFLOOR_IN ""
row "3   (batch messages)" R_WFLOOR_MSGS ""
row "4 ratio cold/(resolve+write floor)" R_RATIO "<= 1.25"
row "5 warm sync, wall ms" R_WARM ""
row "5 warm sync, batch messages" R_WARM_MSGS "0"
row "6 churn 10%, wall ms" R_CHURN ""
row "6 churn, elements written" R_CHURN_ONE "= expected"
row "6 churn, all runs vs expected" R_CHURN_OK ""
row "7 refill, nft -f flush+rules: ms" R_REFILL1 "<= 100"
row "7   (from starting nft, ms)" R_REFILL1_READY ""
row "7 refill, flush; nft -f rules: ms" R_REFILL2 "<= 100"
row "7   (from starting nft flush, ms)" R_REFILL2_READY ""
row "8 idle agent, context switches/min" R_IDLE ""
row "  agent peak RSS KiB (VmHWM)" R_AGENT_RSS ""
if [ ${#SIZES[@]} -ge 2 ]; then
	a=${SIZES[0]} b=${SIZES[${#SIZES[@]}-1]}
	awk -v a="$a" -v b="$b" -v ta="${R_COLD_MED[$a]}" -v tb="${R_COLD_MED[$b]}" \
		-v ra="${R_RSS_MED[$a]}" -v rb="${R_RSS_MED[$b]}" 'BEGIN {
		printf "9 scaling %d -> %d (x%.0f hosts): cold sync time x%.2f, peak RSS x%.2f (%.1f -> %.1f MiB)\n",
			a, b, b / a, tb / ta, rb / ra, ra / 1024, rb / 1024 }'
fi
row "10 naive peer (1 run)" R_NAIVE ""
echo
echo "churn, every run (added+removed, expected, batch messages): "
for n in "${SIZES[@]}"; do echo "  N=$n: ${R_CHURN_COUNTS[$n]}"; done
echo "refill, every run (observer line; refill_ms = flush commit seen -> commit that made the sets full):"
for n in "${SIZES[@]}"; do
	sed "s/^/  N=$n nft -f flush+rules: /" "$T/keep/refill1-$n"
	sed "s/^/  N=$n flush; nft -f rules: /" "$T/keep/refill2-$n"
done
echo "total bench time: $(( $(date +%s) - START )) s, load average at the end:" \
	"$(cut -d' ' -f1-3 /proc/loadavg) (figures are only as quiet as the machine)"
