#!/bin/bash
# The agent's monitor socket overruns (ENOBUFS): a burst of a hundred
# thousand notifications from one foreign transaction, with a flush of
# the agent's set in the middle of it. First while the agent runs
# freely, then while it is stopped (SIGSTOP) so that the burst surely
# overruns its receive buffer. The agent logs that notifications were lost, re-reads the sets and refills
# the flushed one, and stays alive.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent fakedns -- "$@"
fakedns_require

fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10 aaaa=2001:db8::10 ttl=300
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } > "$conf"
full() { set_elems inet filter kvfence4 2>/dev/null | grep -q '^192\.0\.2\.10 ' &&
	 set_elems inet filter kvfence6 2>/dev/null | grep -q '^2001:db8::10 '; }
kvf_agent_start -c "$conf"
wait_until 10 full || fail "the agent did not fill the sets"

# burst FILE N: one foreign transaction (nft -f commits a file at once)
# of N+3 notifications: a set of N commented elements beside the agent's
# in its table, a flush of kvfence4, the set deleted again. (In a table
# of its own, the burst would never reach the agent: its socket filter
# drops notifications about other tables in the kernel.)
burst() {
	"$KVF_PYTHON" - "$2" > "$1" <<-'EOF2'
	import sys
	n, c = int(sys.argv[1]), "x" * 120
	print("add set inet filter burst { type ipv4_addr; }")
	print("add element inet filter burst {")
	print(",\n".join('11.%d.%d.%d comment "%s"' % (i >> 16, (i >> 8) & 255, i & 255, c)
			 for i in range(n)))
	print("}")
	print("flush set inet filter kvfence4")
	print("delete set inet filter burst")
	EOF2
}
burst "$KVF_TMP/burst.nft" 100000
lost() { grep -c 'notifications were lost' "$KVF_TMP/agent.err"; }

# 1: the agent running freely.
nft -f "$KVF_TMP/burst.nft" || hard_error "nft -f burst"
wait_until 10 full || fail "the agent did not refill kvfence4 after the burst (free run)"
free_lost=$(lost)
echo "free-running agent: ENOBUFS hit: $([ "$free_lost" -gt 0 ] && echo yes || echo no)" >&2

# 2: the agent stopped while the burst is delivered: its buffer overruns.
kill -STOP "$KVF_AGENT_PID"
wait_until 5 kvf_stopped "$KVF_AGENT_PID" || hard_error "the agent did not stop"
for n in 1 2; do nft -f "$KVF_TMP/burst.nft" || hard_error "nft -f burst"; done
kill -CONT "$KVF_AGENT_PID"
wait_until 10 eval '[ "$(lost)" -gt "$free_lost" ]' ||
	fail "the agent did not report lost notifications after an overrun"
wait_until 10 full || fail "the agent did not refill kvfence4 after the overrun"
kvf_agent_alive || fail "the agent died"
! nft list sets | grep -q burst || hard_error "burst sets left over"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent exited $KVF_AGENT_RC on SIGTERM"
exit 0
