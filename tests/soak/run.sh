#!/bin/bash
# Soak: the agent follows 1,000 hosts with TTL 1 s whose answers rotate
# through a pool, for SECONDS (default 600, at most 600), in a private
# network namespace against Knot. Not part of `make check`.
#
#   tests/soak/run.sh [SECONDS]
#
# Every EPOCH_S seconds the zone is rewritten with a new serial: host hN
# answers AAAA 2001:db8:E::N+1 (epoch E: the whole IPv6 set turns over)
# and, for N < 200, A from a pool of the three IPv4 documentation /24s,
# shifted by 7 per epoch (addresses shared between hosts, a slow churn).
# Every 10 s it samples the agent's VmRSS and open descriptors and checks
# the sets against what was answered:
#   missing: an address answered within the last grace (minus SLACK_S for
#            the agent's refresh lag) that is not in the set  -> must be 0
#   stale:   an address last answered more than grace + 15 s ago that is
#            still in the set (aging out is late)             -> must be 0
#   unknown: an element no epoch answered                     -> must be 0
# It prints the series and fails (1) on any violation, on an RSS growth of
# more than 25 % after the warm-up (the first minute), or on descriptors
# growing by more than two.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

DURATION=${1:-600}
case $DURATION in ''|*[!0-9]*) hard_error "usage: $0 [SECONDS]" ;; esac
[ "$DURATION" -le 600 ] || hard_error "at most 600 seconds"
HOSTS=1000
V4_HOSTS=200
EPOCH_S=${EPOCH_S:-3}
GRACE_S=30
SLACK_S=5
SAMPLE_S=10

zone=$KVF_TMP/root.zone
epochs=$KVF_TMP/epochs	# E REQUESTED_MS SERVED_MS: when epoch E's zone was asked for and served

# write_epoch E: the zone of epoch E (the addresses are computed again by
# the checker from the same formulas).
write_epoch() {
	zone_begin "$zone" 1
	"$KVF_PYTHON" - "$1" "$HOSTS" "$V4_HOSTS" >> "$zone" <<-'PY' || hard_error "zone for epoch $1"
	import sys
	e, hosts, v4 = map(int, sys.argv[1:4])
	pool = ["%s.%d" % (p, i) for p in ("192.0.2", "198.51.100", "203.0.113") for i in range(1, 255)]
	out = []
	for n in range(hosts):
	    name = "h%d.soak.kvfence-test." % n
	    out.append("%s\t1\tIN\tAAAA\t2001:db8:%x::%x\n" % (name, e, n + 1))
	    if n < v4:
	        out.append("%s\t1\tIN\tA\t%s\n" % (name, pool[(n + 7 * e) % len(pool)]))
	sys.stdout.write("".join(out))
	PY
}

publish() {
	local req
	req=$(now_ms)
	write_epoch "$1"
	if [ "$1" -eq 0 ]; then dns_start "$zone"; else dns_reload 2>/dev/null; fi
	echo "$1 $req $(now_ms)" >> "$epochs"
}

conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints none\nrefresh-min 1s\nrefresh-max 10s\ngrace %ss\n' "$GRACE_S"
	n=0
	while [ $n -lt $HOSTS ]; do printf 'host h%d.soak.kvfence-test 443\n' $n; n=$((n + 1)); done
	kvf_conf_base
} > "$conf"

# check SAMPLE_MS: compare the sets with the epochs; prints
# "SIZE4 SIZE6 MISSING STALE UNKNOWN" and details on stderr.
check() {
	set_elems inet filter kvfence4 > "$KVF_TMP/s4" || return 1
	set_elems inet filter kvfence6 > "$KVF_TMP/s6" || return 1
	"$KVF_PYTHON" - "$epochs" "$1" "$HOSTS" "$V4_HOSTS" "$GRACE_S" "$SLACK_S" \
		"$KVF_TMP/s4" "$KVF_TMP/s6" <<-'PY'
	import ipaddress, sys
	epochs_file, now, hosts, v4, grace, slack = sys.argv[1], int(sys.argv[2]), *map(int, sys.argv[3:7])
	grace *= 1000; slack *= 1000
	pool = ["%s.%d" % (p, i) for p in ("192.0.2", "198.51.100", "203.0.113") for i in range(1, 255)]
	ep = [tuple(map(int, l.split())) for l in open(epochs_file) if l.strip()]
	ep = [x for x in ep if x[2] <= now]
	def answers(e):
	    for n in range(hosts):
	        yield ipaddress.ip_address("2001:db8:%x::%x" % (e, n + 1))
	        if n < v4:
	            yield ipaddress.ip_address(pool[(n + 7 * e) % len(pool)])
	must, last_hi = set(), {}
	for i, (e, req, served) in enumerate(ep):
	    current = i == len(ep) - 1
	    end_lo = now if current else ep[i + 1][1]	# still served at least until then
	    end_hi = now if current else ep[i + 1][2]	# no longer served after that
	    # Seen by the agent: the epoch lasted long enough for a refresh round.
	    seen = (now - served >= 4000) if current else (end_lo - served >= 2000)
	    for a in answers(e):
	        last_hi[a] = max(last_hi.get(a, 0), end_hi)
	        if seen and now <= end_lo + grace - slack:
	            must.add(a)
	have = set()
	for f in sys.argv[7:9]:
	    for line in open(f):
	        if line.strip():
	            have.add(ipaddress.ip_address(line.split()[0]))
	missing = must - have
	stale = {a for a in have if a in last_hi and now > last_hi[a] + grace + 15000}
	unknown = {a for a in have if a not in last_hi}
	for what, s in (("missing", missing), ("stale", stale), ("unknown", unknown)):
	    if s:
	        print("  %s: %d, e.g. %s" % (what, len(s), " ".join(map(str, sorted(s)[:5]))), file=sys.stderr)
	n4 = sum(1 for a in have if a.version == 4)
	print(n4, len(have) - n4, len(missing), len(stale), len(unknown))
	PY
}

epoch=0
publish $epoch
kvf_agent_start -c "$conf"
pid=$KVF_AGENT_PID
start=$(now_ms)
next_epoch=$((start + EPOCH_S * 1000))
next_sample=$start
end=$((start + DURATION * 1000))
series=$KVF_TMP/series
printf '%6s %6s %9s %4s %6s %6s %7s %5s %7s\n' t_s epoch rss_kB fds set4 set6 missing stale unknown | tee "$series"
bad=0
while :; do
	now=$(now_ms)
	[ "$now" -le "$end" ] || break
	kvf_agent_alive || fail "the agent died: $(tail -n 5 "$KVF_TMP/agent.err")"
	if [ "$now" -ge "$next_sample" ]; then
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 | wc -l)
		res=$(check "$now") || fail "cannot list the sets"
		read -r n4 n6 miss stale unk <<< "$res"
		printf '%6d %6d %9d %4d %6d %6d %7d %5d %7d\n' $(( (now - start) / 1000 )) "$epoch" \
			"$rss" "$fds" "$n4" "$n6" "$miss" "$stale" "$unk" | tee -a "$series"
		[ "$miss" -eq 0 ] && [ "$stale" -eq 0 ] && [ "$unk" -eq 0 ] || bad=1
		next_sample=$((next_sample + SAMPLE_S * 1000))
	fi
	if [ "$(now_ms)" -ge "$next_epoch" ]; then
		epoch=$((epoch + 1))
		publish $epoch
		next_epoch=$((next_epoch + EPOCH_S * 1000))
	fi
	# Pacing, not synchronisation: the next epoch or sample is due then.
	due=$(( (next_epoch < next_sample ? next_epoch : next_sample) - $(now_ms) ))
	[ "$due" -le 0 ] || sleep "$(printf '%d.%03d' $((due / 1000)) $((due % 1000)))"
done

kill -USR1 "$pid"
kvf_agent_stop
[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent exited with $KVF_AGENT_RC"
"$KVF_PYTHON" - "$series" "$SAMPLE_S" <<'PY' || bad=1
import sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
warm = [r for r in rows if int(r[0]) >= 60] or rows
rss = [int(r[2]) for r in warm]
fds = [int(r[3]) for r in warm]
print("after warm-up: VmRSS %d..%d kB (first %d, last %d), fds %d..%d, %d samples" %
      (min(rss), max(rss), rss[0], rss[-1], min(fds), max(fds), len(warm)))
# c-ares opens and closes its sockets per round: a descriptor or two of
# jitter is normal, a leak grows without bound.
sys.exit(0 if max(rss) <= rss[0] * 1.25 and max(fds) <= fds[0] + 2 else 1)
PY
grep -cE 'resolution failed' "$KVF_TMP/agent.err" | sed 's/^/agent log: resolution failures logged: /'
grep -E 'reconcile failed|notifications were lost|error' "$KVF_TMP/agent.err" | sort | uniq -c | sort -rn | head -n 5
[ "$bad" -eq 0 ] || fail "the soak found lost, stale or unknown elements, or growth (see above)"
echo "soak: $DURATION s, $epoch epochs, no element lost within grace"
exit 0
