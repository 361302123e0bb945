#!/bin/bash
# TTLs at the edges, under the running agent: TTL 0 does not make a hot
# loop (queries no more often than refresh-min), a TTL with the top bit
# set (4294967295, read as 0 per RFC 2181 section 8) neither, and TTL
# 2147483647 is cut to refresh-max (status.json's next_refresh_unix).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

MIN=2
MAX=120
fakedns_begin
fakedns_rule ttl0.example.com answer a=192.0.2.10 aaaa=2001:db8::10 ttl=0
fakedns_rule ttltop.example.com answer a=192.0.2.20 aaaa=2001:db8::20 ttl=4294967295
fakedns_rule ttlmax.example.com answer a=192.0.2.30 aaaa=2001:db8::30 ttl=2147483647
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	echo "endpoints none"
	for h in ttl0 ttltop ttlmax; do echo "host $h.example.com 443"; done
	printf 'refresh-min %ss\nrefresh-max %ss\n' "$MIN" "$MAX"
	kvf_conf_base
} > "$conf"
kvf_agent_start -c "$conf"
full() { [ "$(set_elems inet filter kvfence4 | wc -l)" -eq 3 ] &&
	 [ "$(set_elems inet filter kvfence6 | wc -l)" -eq 3 ]; }
wait_until 10 full || fail "the agent did not fill the sets"

# Five A queries of the TTL-0 hosts: four refresh intervals.
enough() { [ "$(fakedns_queries ttl0.example.com A)" -ge 5 ] &&
	   [ "$(fakedns_queries ttltop.example.com A)" -ge 5 ]; }
wait_until $((MIN * 4 + 8)) enough || { fakedns_dump; fail "the TTL-0 hosts were not refreshed 4 times"; }
intervals() {	# HOST TYPE: ms between its successive queries, one a line
	awk -v n="$1." -v t="$2" '$3 == n && $4 == t { if (p) print $1 - p; p = $1 }' "$KVF_FDNS_LOG"
}
for h in ttl0 ttltop; do
	for t in A AAAA; do
		iv=$(intervals "$h.example.com" "$t" | paste -sd' ')
		echo "$h $t: intervals between queries (ms): $iv" >&2
		for ms in $iv; do
			[ "$ms" -ge $((MIN * 1000 - 100)) ] ||
				fail "$h $t: queried again after $ms ms, under refresh-min ${MIN}s (hot loop)"
		done
	done
done
# Not more than one query per refresh-min over the whole run either.
run_ms=$(( $(now_ms) - $(awk 'NR == 1 { print $1 }' "$KVF_FDNS_LOG") ))
n=$(fakedns_queries ttl0.example.com A)
[ "$n" -le $(( run_ms / (MIN * 1000) + 1 )) ] ||
	fail "ttl0: $n A queries in $run_ms ms with refresh-min ${MIN}s"

# The huge TTL: refreshed once, next refresh within refresh-max (less at
# most 10 % jitter) of its answer.
[ "$(fakedns_queries ttlmax.example.com A)" -eq 1 ] ||
	fail "ttlmax: queried $(fakedns_queries ttlmax.example.com A) times, expected once"
left=$(status_get "[h['next_refresh_unix'] - h['last_answer_unix'] for h in s['hosts'] if h['name'] == 'ttlmax.example.com'][0]")
echo "ttlmax: next refresh $left s after its answer (refresh-max ${MAX}s)" >&2
[ -n "$left" ] && [ "$left" -le $((MAX + 1)) ] && [ "$left" -ge $((MAX * 9 / 10 - 1)) ] ||
	fail "ttlmax: next refresh $left s after the answer, expected about refresh-max ${MAX}s"
for h in ttl0 ttltop; do
	left=$(status_get "[h['next_refresh_unix'] - h['last_answer_unix'] for h in s['hosts'] if h['name'] == '$h.example.com'][0]")
	[ -n "$left" ] && [ "$left" -le $((MIN + 1)) ] ||
		fail "$h: next refresh $left s after the answer, expected refresh-min ${MIN}s"
done
kvf_agent_alive || fail "the agent died"
kvf_agent_stop TERM
exit 0
