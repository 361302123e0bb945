#!/bin/bash
# A storm of reloads faster than the DNS round trip does not starve
# resolution: with a server that answers after 300 ms, 30 SIGHUPs 50 ms
# apart (a config management tool gone wild) must not keep restarting
# the queries of a host the new config adds. Its element appears while
# the storm is still going on; the host the agent already had keeps its
# element throughout. A host the storm's config drops while its query is
# in flight never comes back, and its late answer is not taken for
# another host's (hosts are numbered in name order: gone.example.com had
# the number new.example.com gets).
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent fakedns -- "$@"
fakedns_require

fakedns_begin
fakedns_rule old.example.com A answer a=198.51.100.1 ttl=60 delay=300
fakedns_rule new.example.com A answer a=198.51.100.2 ttl=60 delay=300
fakedns_rule gone.example.com A answer a=198.51.100.3 ttl=60 delay=300
fakedns_rule '*' AAAA nodata delay=300
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
write_conf() {
	{
		echo "endpoints none"
		for h in "$@"; do echo "host $h 443"; done
		kvf_conf_base
	} > "$conf.tmp" && mv -f "$conf.tmp" "$conf"
}
write_conf gone.example.com old.example.com
kvf_agent_start -c "$conf"
kvf_agent_log_on_failure
has() { set_elems inet filter kvfence4 | grep -qxF "$1 . 443 comment \"$2\""; }
wait_until 10 has 198.51.100.1 old.example.com || fail "the first host was not resolved"
wait_until 10 has 198.51.100.3 gone.example.com || fail "the second host was not resolved"

# The first SIGHUP reloads the same config: every host is asked again, so
# gone.example.com's query is in flight when the next one drops it.
storm() {
	local i
	for i in $(seq 1 30); do
		kill -HUP "$KVF_AGENT_PID"
		[ "$i" != 1 ] || write_conf new.example.com old.example.com
		sleep 0.05	# the storm's pace, not a synchronisation
	done
	now_ms > "$KVF_TMP/storm.end"
}
t0=$(now_ms)
storm &
storm_pid=$!
kvf_bg_register $storm_pid
wait_until 10 has 198.51.100.2 new.example.com ||
	fail "the added host did not resolve within 10 s of the first reload"
t_seen=$(now_ms)
wait "$storm_pid"
kvf_bg_forget "$storm_pid"
t_end=$(cat "$KVF_TMP/storm.end")
kvf_log "the added host's element appeared $((t_seen - t0)) ms after the first SIGHUP; the storm lasted $((t_end - t0)) ms"
[ "$t_seen" -lt "$t_end" ] ||
	fail "the added host resolved only after the storm ($((t_seen - t0)) ms, storm $((t_end - t0)) ms)"
has 198.51.100.1 old.example.com || fail "the first host's element was lost in the storm"
# gone's late answer (300 ms after the first SIGHUP) has come by now.
assert_set_lacks inet filter kvfence4 198.51.100.3
! set_elems inet filter kvfence4 | grep -qF '"gone.example.com"' ||
	fail "the dropped host's element came back"
kvf_agent_alive || fail "the agent died in the storm"
n=$(grep -c 'reload: ' "$KVF_TMP/agent.err")
kvf_log "$n reloads logged"
[ "$n" -ge 2 ] || fail "the agent did not reload"
kvf_agent_stop
exit 0
