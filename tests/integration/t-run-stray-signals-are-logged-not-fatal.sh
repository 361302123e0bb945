#!/bin/bash
# kvfence(8) SIGNALS: a signal the agent does not use (a wrong kill, a
# monitoring script) whose default action would end the process is
# logged and ignored; the sets stay and the agent still answers SIGTERM
# with a state save and exit 0. A flood of them logs a bounded number of
# lines, with counts.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 120
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\n'
	kvf_conf_base
} > "$conf"
dns_start "$zone"
kvf_agent_start -c "$conf"
want=$KVF_TMP/want
echo '192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"' > "$want"
wait_until 10 set_matches inet filter kvfence4 "$want" || assert_set_elems inet filter kvfence4 "$want"

logged() { grep -q "signal $1 (.*) from pid $$ ignored" "$KVF_TMP/agent.err"; }
for sig in USR2 ALRM VTALRM PROF IO PWR STKFLT RTMIN RTMIN+5 RTMAX; do
	num=$(kill -l "$sig") || hard_error "kill -l $sig"
	kill -s "$sig" "$KVF_AGENT_PID" || hard_error "kill -s $sig"
	wait_until 5 logged "$num" || {
		kvf_agent_alive || fail "SIG$sig killed the agent"
		fail "SIG$sig ($num) was not logged"
	}
	kvf_agent_alive || fail "SIG$sig killed the agent"
done
assert_set_elems inet filter kvfence4 "$want"

# A flood: 2,000 SIGUSR2 in a loop, logged at most once a minute.
before=$(grep -c 'signal .* ignored' "$KVF_TMP/agent.err")
for i in $(seq 2000); do kill -USR2 "$KVF_AGENT_PID" 2>/dev/null || break; done
kvf_agent_alive || fail "a flood of SIGUSR2 killed the agent"
# USR1 dumps the state: once it is in the log, every signal before it was read.
kill -USR1 "$KVF_AGENT_PID"
wait_until 10 grep -q 'state: 1 hosts' "$KVF_TMP/agent.err" || fail "SIGUSR1 dump missing after the flood"
after=$(grep -c 'signal .* ignored' "$KVF_TMP/agent.err")
[ $((after - before)) -le 2 ] ||
	fail "2,000 SIGUSR2 wrote $((after - before)) log lines (want at most one per signal a minute)"

# The state file is saved at SIGTERM: remove it first to see it written.
rm -f "$KVF_TMP/state"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "SIGTERM after stray signals: exit $KVF_AGENT_RC"
[ -s "$KVF_TMP/state" ] || fail "no state saved at SIGTERM"
grep -q 192.0.2.10 "$KVF_TMP/state" || fail "the saved state lacks 192.0.2.10"

# SIGINT too, after a stray signal.
kvf_agent_start -c "$conf"
kill -USR2 "$KVF_AGENT_PID"
rm -f "$KVF_TMP/state"
kvf_agent_stop INT
[ "$KVF_AGENT_RC" -eq 0 ] || fail "SIGINT after a stray signal: exit $KVF_AGENT_RC"
[ -s "$KVF_TMP/state" ] || fail "no state saved at SIGINT"
exit 0
