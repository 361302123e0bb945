#!/bin/bash
# kvfence(8) ADDRESS FILTER: every rejection is logged once per host and
# address. A hostile resolver repeating the same bad addresses with TTL 1
# on every refresh: the agent keeps refusing them, and logs each (host,
# address) once, not once per answer; a new bad address is logged too.
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

fakedns_begin
fakedns_rule evil.example.com answer a=10.0.0.5,127.0.0.1,192.0.2.10 aaaa=::ffff:192.0.2.1 ttl=1
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints none\nhost evil.example.com 443\nrefresh-min 1s\nrefresh-max 2s\n'
	kvf_conf_base
} > "$conf"
kvf_agent_start -c "$conf"
answers() { [ "$(fakedns_queries evil.example.com A)" -ge "$1" ]; }
wait_until 15 answers 5 || fail "fewer than 5 refreshes in 15 s"
# The batch of the last answer is written within the coalescing delay.
want=$KVF_TMP/want
echo '192.0.2.10 . 443 comment "evil.example.com"' > "$want"
wait_until 5 set_matches inet filter kvfence4 "$want" || assert_set_elems inet filter kvfence4 "$want"
for a in 10.0.0.5 127.0.0.1 ::ffff:192.0.2.1; do
	n=$(grep -F 'evil.example.com' "$KVF_TMP/agent.err" | grep -cwF -- "$a")
	[ "$n" -eq 1 ] || fail "the rejection of $a was logged $n times over $(fakedns_queries evil.example.com A) answers"
done
assert_set_lacks inet filter kvfence4 10.0.0.5
assert_set_lacks inet filter kvfence4 127.0.0.1

fakedns_begin
fakedns_rule evil.example.com answer a=10.0.0.5,127.0.0.1,192.0.2.10,0.0.0.0 ttl=1
fakedns_commit
wait_until 10 eval 'grep -F evil.example.com "$KVF_TMP/agent.err" | grep -qw 0\.0\.0\.0' ||
	fail "a new bad address was not logged"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
