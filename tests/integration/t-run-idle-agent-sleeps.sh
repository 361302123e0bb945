#!/bin/bash
# An idle agent (every TTL 300 s) sleeps between deadlines: over 10 s it
# wakes up at most a handful of times. Measured by tracing the loop's
# epoll_wait calls with strace (each call is one wake-up of the loop).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
for h in login.microsoftonline.com management.azure.com graph.microsoft.com \
	 contoso-prod.vault.azure.net; do
	zone_addrs "$h" 300 192.0.2.$((++n)) 2001:db8::$n
done
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints auth management graph vault\n'; kvf_conf_base; } > "$conf"
dns_start "$zone"
kvf_agent_start -c "$conf"
settled() { [ "$(status_get "sum(len(h['addresses']) for h in s['hosts'])")" = 8 ] &&
	    [ "$(set_elems inet filter kvfence4 | wc -l)" -eq 4 ]; }
wait_until 10 settled || fail "the agent did not settle"
# The state file is written at most 5 s after the last answer: let that
# pass, so the window measures idleness, not start-up.
wait_until 10 test -s "$KVF_TMP/state" || fail "no state file"

command -v strace >/dev/null || skip "strace not installed"
timeout -s INT 10 strace -q -e trace=epoll_wait -o "$KVF_TMP/trace" -p "$KVF_AGENT_PID" 2>/dev/null
# The call strace found in progress when it attached is not a wake-up.
wakeups=$(( $(grep -c '^epoll_wait' "$KVF_TMP/trace") - 1 ))
[ "$wakeups" -ge 0 ] || hard_error "strace saw no epoll_wait at all"
echo "idle agent: $wakeups wakeups in 10 s" >&2
[ "$wakeups" -le 5 ] || fail "an idle agent woke up $wakeups times in 10 s"
kvf_agent_alive || fail "the agent died"
exit 0
