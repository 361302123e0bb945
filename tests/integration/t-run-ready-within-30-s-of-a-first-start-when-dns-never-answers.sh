#!/bin/bash
# kvfence(8): at a first start (no state file) READY=1 is said once every
# host has been answered, or has failed, once, "or after 30 seconds at
# most". Attacked with a name server that takes every query and never
# replies (no ICMP, no REFUSED: each query waits out its timeout).
# 1. Two hosts: READY=1 once both have timed out, well before the bound,
#    with a STATUS= that says both fail.
# 2. 500 hosts, more than can time out in 30 s (queries in flight are
#    capped at 32 hosts, a timeout takes 4.5 s): READY=1 no later than
#    30 s and a margin, and not before them, with the log saying how many
#    hosts are still unanswered. The 30 s are fixed (no option sets them),
#    so this part takes them: the test runs for about 37 s.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent fakedns -- "$@"

bound=30000 margin=3000
fakedns_begin
fakedns_rule '*' timeout
fakedns_commit
fakedns_start

msgs=$KVF_TMP/notify.log
has() { grep -q -- "$1" "$msgs"; }
ready_line() { grep -m1 'READY=1' "$msgs"; }
kvf_notify_listen "$KVF_TMP/notify.sock"

# first_start N: a first start (no state file, empty ruleset) with hosts
# h1..hN.example.com; READY=1's delay after the start in ready_ms.
first_start() {
	local i t0
	rm -f "$KVF_TMP/state"
	nft flush ruleset
	: > "$msgs"
	: > "$KVF_TMP/agent.err"
	{
		printf 'endpoints none\n'
		for ((i = 1; i <= $1; i++)); do
			printf 'host h%d.example.com 443\n' "$i"
		done
		kvf_conf_base
	} > "$KVF_TMP/kvfence.conf"
	t0=$(now_ms)
	NOTIFY_SOCKET=$KVF_TMP/notify.sock kvf_agent_start -c "$KVF_TMP/kvfence.conf"
	wait_until $(( (bound + margin) / 1000 )) has READY=1 ||
		fail "no READY=1 within $(( (bound + margin) / 1000 )) s of a first start, $1 hosts, DNS never answering"
	ready_ms=$(( $(now_ms) - t0 ))
	ready_line >&2
	kvf_log "$1 hosts, DNS never answering: READY=1 after $ready_ms ms"
}

# asked NAME: the server saw at least one query for NAME.
asked() { [ "$(fakedns_queries "$1")" -ge 1 ]; }

# 1. Two hosts: both time out, and that is their first failure.
first_start 2
for h in h1.example.com h2.example.com; do
	asked "$h" || fail "READY=1 before $h was even asked: $(ready_line)"
done
ready_line | grep -q 'STATUS=DNS failing for 2 of 2 hosts since .*(A timeout, AAAA timeout)' ||
	fail "READY=1 before both hosts had failed once: $(ready_line)"
[ "$ready_ms" -lt "$bound" ] || fail "READY=1 after $ready_ms ms although both hosts had failed"
assert_no_grep "$KVF_TMP/agent.err" 'still unanswered' "the 30 s bound was used with every host failed"
kvf_agent_stop
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"

# 2. 500 hosts: most are still waiting for their first timeout at 30 s.
first_start 500
[ "$ready_ms" -le $((bound + margin)) ] || fail "READY=1 after $ready_ms ms (bound $bound ms)"
# Every host failed in time: the bound was never reached, nothing tested.
! ready_line | grep -q 'STATUS=DNS failing for 500 of 500 hosts' ||
	hard_error "all 500 hosts timed out before the bound: more hosts are needed to reach it"
# Hosts still wait for their first timeout: only the 30 s allow READY=1.
[ "$ready_ms" -ge "$bound" ] ||
	fail "READY=1 after $ready_ms ms with hosts neither answered nor failed: $(ready_line)"
assert_grep "$KVF_TMP/agent.err" 'first start: [1-9][0-9]* of 500 hosts still unanswered after 30 s' \
	"READY=1 at the bound without saying how many hosts are unanswered"
[ "$(grep -c 'READY=1' "$msgs")" -eq 1 ] || fail "READY=1 said more than once: $(cat "$msgs")"
kvf_agent_stop
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
kvf_notify_unlisten
exit 0
