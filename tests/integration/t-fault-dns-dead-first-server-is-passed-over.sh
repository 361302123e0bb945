#!/bin/bash
# A first name server that silently drops every query (a blackhole: a
# fixed neighbour that never answers) costs one timeout, not one per host: once
# the second server answers a query the first let time out, kvfence asks
# the second one first. 200 hosts resolve in a few seconds (c-ares alone,
# which remembers no such thing, takes about 10 s here and the full
# timeout again on every refresh round), and the agent's later refresh
# rounds send nothing to the dead server (counted by an nft rule) until,
# 5 minutes later, the configured order is tried again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

N=200
dead=192.0.2.53
# A veth pair with a fixed neighbour: queries to $dead leave through kvfd0
# and vanish at kvfd1 (no address, another MAC): no ICMP, no error, the
# way a dead host behind a router looks.
ip link add kvfd0 type veth peer name kvfd1 || hard_error "cannot create a veth pair"
ip addr add 192.0.2.1/24 dev kvfd0 && ip link set kvfd0 up && ip link set kvfd1 up &&
	ip neigh replace $dead lladdr 02:00:00:00:00:53 dev kvfd0 nud permanent ||
	hard_error "cannot set up the blackhole"
nft -f - <<EOF || hard_error "cannot add the counting rules"
table inet kvftest {
	counter dead { }
	counter live { }
	chain out {
		type filter hook output priority 0;
		ip daddr $dead udp dport 53 counter name dead
		ip daddr 127.0.0.1 udp dport 53 counter name live
	}
}
EOF
packets() { nft -j list counter inet kvftest "$1" |
	"$KVF_PYTHON" -c 'import json,sys; print([o["counter"]["packets"] for o in json.load(sys.stdin)["nftables"] if "counter" in o][0])'; }

zone=$KVF_TMP/root.zone
zone_begin "$zone" 2
conf=$KVF_TMP/kvfence.conf
{
	echo "endpoints none"
	echo "resolver $dead 127.0.0.1"
	echo "refresh-min 1s"
	echo "state-file $KVF_TMP/state"
	echo "status-file $KVF_TMP/status.json"
	echo "metrics-file none"
} > "$conf"
for i in $(seq 1 $N); do
	zone_rr "h$i.example.com" 2 A "198.51.100.$(( i % 250 + 1 ))"
	echo "host h$i.example.com 443" >> "$conf"
done
dns_start "$zone"

t0=$(now_ms)
kvf_run sync -c "$conf" sync
t1=$(now_ms)
# Exit 0: every host answered (AAAA: NODATA, definite).
expect_rc 0 "sync with a dead first server"
n=$(set_elems inet filter kvfence4 | wc -l)
[ "$n" -eq "$N" ] || fail "sync: $n elements, expected $N"
kvf_log "sync of $N hosts with a dead first server: $((t1 - t0)) ms"
# Generous: one timeout (1.5 s) plus the rest; c-ares alone takes ~10 s.
[ $((t1 - t0)) -lt 6000 ] || fail "sync took $((t1 - t0)) ms: the dead server was asked for every host"
assert_grep "$KVF_TMP/sync.err" "name server $dead did not answer in time and 127.0.0.1 did" \
	"passing over the dead server is not logged"

# The agent: after its first round, refresh rounds (TTL 2 s, refresh-min
# 1 s) go to the live server only. Its clock (libfaketime, on the agent
# only) is stepped later to see the passed-over server asked again.
faketime_lib=
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -e "$f" ] && faketime_lib=$f && break
done
[ -n "$faketime_lib" ] || skip "libfaketime not installed"
echo "+0" > "$KVF_TMP/faketime"
# An ASan build (CI) wants its runtime first; libfaketime only wraps the
# clock calls and does not mind.
LD_PRELOAD=$faketime_lib FAKETIME_TIMESTAMP_FILE=$KVF_TMP/faketime FAKETIME_NO_CACHE=1 \
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	kvf_agent_start -c "$conf"
live_moved() { [ "$(packets live)" -ge $(( live0 + 4 * N )) ]; }
d0=$(packets dead) live0=$(packets live)
wait_until 20 live_moved || fail "no refresh rounds within 20 s"
d1=$(packets dead) live1=$(packets live)
kvf_log "refresh rounds: $((live1 - live0)) queries to the live server, $((d1 - d0)) to the dead one"
# A round already in flight when the first timeout came may still send a
# few (at most the 64 queries in flight and their retries).
[ $((d1 - d0)) -le 130 ] ||
	fail "refresh rounds sent $((d1 - d0)) queries to the dead server"
d2=$(packets dead) live2=$(packets live)
live0=$live2
wait_until 20 live_moved || fail "no refresh rounds within 20 s"
d3=$(packets dead)
[ "$d3" -eq "$d2" ] || fail "later refresh rounds still sent $((d3 - d2)) queries to the dead server"

# 5 minutes later (the agent's clock stepped 301 s) the configured order
# is tried again: the dead server gets queries, and is passed over again.
passed_over() { [ "$(grep -c "name server $dead did not answer in time" "$KVF_TMP/agent.err")" -ge "$1" ]; }
passed_over 1 || fail "the agent did not log passing over the dead server"
passed_over 2 && fail "the agent passed over the dead server twice before its 5 minutes"
echo "+301" > "$KVF_TMP/faketime"
wait_until 15 passed_over 2 || fail "the passed-over server was not tried again after 5 minutes"
d4=$(packets dead)
kvf_log "after 5 minutes: $((d4 - d3)) queries to the dead server, passed over again"
[ "$d4" -gt "$d3" ] || fail "no query went to the passed-over server after 5 minutes"
kvf_agent_stop
exit 0
