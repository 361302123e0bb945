#!/bin/bash
# kvfence benchmark: the DNS proxy (`listen`), against the resolver alone
# measured in the same run (Knot, authoritative, on loopback):
#   - latency added to an answer whose addresses are in the sets already
#     (released at once) and to one that must write a batch first (each
#     query names a host whose address just changed), one query at a time
#     (proxy-latency.c): p50, p99, max, and the p99 added over the floor;
#   - pass-through throughput of names kvfence does not keep (dnsperf, 100
#     queries in flight, BENCH_PROXY_SECONDS each), kvfence on one CPU.
#
#   sudo tests/bench/proxy.sh            # ~1 min
#   BENCH_PROXY_HOSTS=250 BENCH_PROXY_SECONDS=10 sudo tests/bench/proxy.sh
#
# Needs what run.sh needs, and dnsperf (Debian package dnsperf). Prints
# figures, judges nothing. Everything runs in a private network namespace.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
BENCH_DIR=$(dirname "$(readlink -f "$0")")
TESTDIR=${TESTDIR:-$(dirname "$BENCH_DIR")}
KVFENCE=${KVFENCE:-$(dirname "$TESTDIR")/src/kvfence}
export TESTDIR KVFENCE
# shellcheck source=../lib/common.sh
. "$TESTDIR/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
command -v dnsperf >/dev/null || skip "dnsperf not installed (apt-get install dnsperf)"
kvf_netns_enter "$@"
kvf_tmpdir

HOSTS=${BENCH_PROXY_HOSTS:-250}	# at most 254: one documentation address each
SECONDS_RUN=${BENCH_PROXY_SECONDS:-5}
[ "$HOSTS" -le 254 ] || hard_error "BENCH_PROXY_HOSTS must be at most 254"
NCPU=$(nproc)
PIN=${BENCH_PIN:-1}
[ "$NCPU" -ge 2 ] && command -v taskset >/dev/null || PIN=0
CPU_KVF="" CPU_OTHER=""
if [ "$PIN" = 1 ]; then
	CPU_KVF="taskset -c 0"
	CPU_OTHER="taskset -c $((NCPU - 1))"
fi

gcc -O2 -Wall -o "$KVF_TMP/proxy-latency" "$BENCH_DIR/proxy-latency.c" ||
	hard_error "cannot build proxy-latency"

zone=$KVF_TMP/root.zone
write_zone() {	# $1: the /24 the hosts' addresses come from this round
	local i
	zone_begin "$zone" 3600
	for i in $(seq 1 "$HOSTS"); do
		zone_rr "h$i.bench.example" 3600 CNAME "t$i.tm.bench.example"
		zone_addrs "t$i.tm.bench.example" 3600 "$1.$i"
	done
	for i in $(seq 1 1000); do
		zone_addrs "p$i.pass.example" 3600 "203.0.113.$((i % 250 + 1))"
	done
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints none\nrefresh-min 1h\nrefresh-max 1h\ngrace 1h\nlisten 127.0.2.53\n'
	for i in $(seq 1 "$HOSTS"); do printf 'host h%s.bench.example 443\n' "$i"; done
	# As installed: status.json in /run (a tmpfs: kvfence rewrites it after
	# every batch, and an fsync on a disk would stall the loop ~4 ms here).
	# BENCH_PROXY_STATE_DIR=/run/x: the state file on a tmpfs, to see what
	# its write-ahead (written and fsynced before a batch that adds an
	# element) costs the answers; by default on disk, as installed.
	kvf_conf_base | sed -e "s|^status-file .*|status-file /run/kvfence/status.json|" \
		-e "s|^state-file .*|state-file ${BENCH_PROXY_STATE_DIR:-$KVF_TMP}/state|"
} > "$conf"
seq 1 "$HOSTS" | sed 's/^/h/; s/$/.bench.example/' > "$KVF_TMP/hosts.txt"
seq 1 1000 | sed 's/^/p/; s/$/.pass.example A/' > "$KVF_TMP/pass.txt"

write_zone 192.0.2
dns_start "$zone"
# Latency: Knot beside kvfence on CPU 0, the client alone on the other:
# floor and proxy both cross from the client's CPU to the server's once.
# Throughput: Knot and dnsperf on the other CPU, kvfence alone on CPU 0.
dns_cpu() { [ "$PIN" = 1 ] && taskset -a -p -c "$1" "$KVF_DNS_PID" >/dev/null; }
dns_cpu 0
$CPU_KVF "$KVFENCE" -c "$conf" run -f > "$KVF_TMP/agent.out" 2>> "$KVF_TMP/agent.err" &
KVF_AGENT_PID=$!
kvf_bg_register "$KVF_AGENT_PID"
filled() { [ "$(set_elems inet filter kvfence4 | grep -c '^192\.0\.2\.')" -eq "$HOSTS" ]; }
wait_until 30 filled || hard_error "the agent did not fill the set with $HOSTS addresses"

lat() {	# LABEL SERVER
	local out
	out=$($CPU_OTHER "$KVF_TMP/proxy-latency" "$2" 53 "$KVF_TMP/hosts.txt")
	printf '%s %s\n' "$1" "$out"
	grep -q "ok=$HOSTS " <<< "$out" || hard_error "$1: not every query was answered: $out"
}
field() { sed -n "s/.*$2=\\([0-9]*\\).*/\\1/p" <<< "$1"; }

echo "machine: nproc=$NCPU, CPU \"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)\", kernel $(uname -r)"
[ "$PIN" = 1 ] && echo "pinning: kvfence on CPU 0; latency: Knot on CPU 0, the client on CPU $((NCPU - 1)); throughput: Knot and dnsperf on CPU $((NCPU - 1))"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine shows in the end-to-end figures)"
echo "latency, one query at a time, $HOSTS catalogued hosts (CNAME to an A record):"
floor1=$(lat "  floor  (Knot alone)          " 127.0.0.1); echo "$floor1"
present=$(lat "  proxy, addresses present     " 127.0.2.53); echo "$present"
write_zone 198.51.100
dns_reload
floor2=$(lat "  floor  (Knot alone)          " 127.0.0.1); echo "$floor2"
batch1=$(lat "  proxy, each answer a batch   " 127.0.2.53); echo "$batch1"
write_zone 203.0.113
dns_reload
batch2=$(lat "  proxy, each answer a batch   " 127.0.2.53); echo "$batch2"
elems=$(set_elems inet filter kvfence4)
for net in 198.51.100 203.0.113; do
	[ "$(grep -c "^$net\\." <<< "$elems")" -ge "$HOSTS" ] ||
		hard_error "the batches did not put the $net addresses in the set"
done
held=$(grep -c 'set=kvfence4 added=1 ' "$KVF_TMP/agent.err")
echo "  (batches of one address written by proxied answers: $held of $((2 * HOSTS)) queries)"

f99=$(( ($(field "$floor1" p99_us) + $(field "$floor2" p99_us)) / 2 ))
p99=$(field "$present" p99_us)
b99=$(( $(field "$batch1" p99_us) > $(field "$batch2" p99_us) ? $(field "$batch1" p99_us) : $(field "$batch2" p99_us) ))
echo "  p99 added, addresses present: $((p99 - f99)) us (goal <= 2000 us); ratio to the floor's p99 $(awk -v a="$p99" -v b="$f99" 'BEGIN { printf "%.2f", a / b }')"
echo "  p99 added, batch written:     $((b99 - f99)) us (goal <= 5000 us); ratio to the floor's p99 $(awk -v a="$b99" -v b="$f99" 'BEGIN { printf "%.2f", a / b }')"

kill -USR1 "$KVF_AGENT_PID"
wait_until 5 grep -q 'dns proxy: own time' "$KVF_TMP/agent.err"
echo "  kvfence's own time per answer (query in to forwarded, plus upstream answer to reply"
echo "  sent; the upstream's time excluded), measured inside the agent:"
grep -o 'released at once: .*' "$KVF_TMP/agent.err" | tail -1 |
	sed 's/; held for a batch: /\n    held for a batch:   /; s/^/    /'

perf() {	# SERVER: queries per second, lost
	$CPU_OTHER dnsperf -s "$1" -d "$KVF_TMP/pass.txt" -l "$SECONDS_RUN" -q 100 -t 2 2>&1 |
		awk '/Queries per second/ { q = $4 } /Queries lost/ { l = $3 } END { printf "%d %d\n", q, l }'
}
dns_cpu $((NCPU - 1))
echo "pass-through throughput, names kvfence does not keep, 100 in flight, ${SECONDS_RUN}s each:"
read -r fq fl < <(perf 127.0.0.1)
read -r pq pl < <(perf 127.0.2.53)
read -r fq2 fl2 < <(perf 127.0.0.1)
echo "  floor (Knot alone):  $fq q/s, then $fq2 q/s (lost $fl, $fl2)"
echo "  proxy:               $pq q/s (lost $pl) (goal >= 20000 q/s)"
echo "  ratio proxy / floor: $(awk -v a="$pq" -v b="$fq" -v c="$fq2" 'BEGIN { printf "%.2f", a / ((b + c) / 2) }')"
grep -o 'dns proxy: queries=.*' "$KVF_TMP/agent.err" | tail -1 | sed 's/^/  /'
exit 0
