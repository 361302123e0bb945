#!/bin/bash
# A storm of reloads over many hosts (more than the resolver holds at
# once): the hosts not asked yet keep their place in front of those the
# reload makes due again. Were they put back in the hosts' order at each
# SIGHUP, the hosts asked first would be asked again and again and the
# last ones never, for as long as the storm lasts. 2,000 hosts, each with
# its own AAAA, from a server that answers after 100 ms (a round takes
# seconds); SIGHUPs 50 ms apart from the agent's start: every host's
# element must appear while the storm goes on.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent fakedns -- "$@"
fakedns_require

n=2000
fakedns_begin
for i in $(seq 1 $n); do
	fakedns_rule "h$i.example.com" AAAA answer "aaaa=2001:db8::$(printf %x "$i")" ttl=300 delay=100
done
fakedns_rule '*' A nodata delay=100
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{
	echo "endpoints none"
	for i in $(seq 1 $n); do echo "host h$i.example.com 443"; done
	kvf_conf_base
} > "$conf"

count6() { set_elems inet filter kvfence6 2>/dev/null | wc -l; }
"$KVFENCE" -c "$conf" run -f > "$KVF_TMP/agent.out" 2>> "$KVF_TMP/agent.err" &
KVF_AGENT_PID=$!
kvf_bg_register "$KVF_AGENT_PID"
kvf_agent_log_on_failure
# Its signals are taken once it says it runs (a SIGHUP before would end it).
wait_until 10 grep -q 'running: ' "$KVF_TMP/agent.err" || fail "the agent did not start"
t0=$(now_ms) got=0
while [ $(($(now_ms) - t0)) -lt 30000 ]; do
	kill -HUP "$KVF_AGENT_PID" || fail "the agent died in the storm"
	got=$(count6)
	[ "$got" -lt "$n" ] || break
	sleep 0.05	# the storm's pace, not a synchronisation
done
reloads=$(grep -c 'reload: ' "$KVF_TMP/agent.err")
echo "$got of $n hosts in kvfence6 after $(($(now_ms) - t0)) ms of the storm ($reloads reloads)" >&2
[ "$got" -eq "$n" ] || fail "a storm of reloads kept $((n - got)) of $n hosts from ever being asked"
[ "$reloads" -ge 5 ] || hard_error "only $reloads reloads: not a storm"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
