#!/bin/bash
# `kvfence run` under a Type=notify unit speaks sd_notify(3) itself: a
# listener stands in for systemd's socket (the kernel tells it the
# sender's pid, as systemd checks for NotifyAccess=main). The agent says
# READY=1 with a STATUS, feeds the watchdog at half of WATCHDOG_USEC,
# brackets a SIGHUP reload with RELOADING=1 / READY=1 and says STOPPING=1
# on SIGTERM; the same over an abstract socket; no watchdog pings when
# WATCHDOG_PID names another process; nothing at all without
# NOTIFY_SOCKET, and a missing socket is logged, not fatal.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_addrs contoso.vault.azure.net 300 192.0.2.10 2001:db8::10
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso\nendpoints vault\n'; kvf_conf_base; } > "$conf"
dns_start "$zone"

msgs=$KVF_TMP/notify.log
count() { grep -c -- "$1" "$msgs"; }
has() { grep -q -- "$1" "$msgs"; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }

# 1. A path socket, with a watchdog of 400 ms (pings every 200 ms).
kvf_notify_listen "$KVF_TMP/notify.sock"
NOTIFY_SOCKET=$KVF_TMP/notify.sock WATCHDOG_USEC=400000 kvf_agent_start -c "$conf"
pid=$KVF_AGENT_PID
wait_until 10 has "READY=1" || fail "no READY=1: $(cat "$msgs")"
grep -q "^pid=$pid READY=1|STATUS=1 hosts" "$msgs" ||
	fail "READY=1 did not come from the agent's pid $pid with a STATUS: $(cat "$msgs")"
wait_until 10 has "STATUS=1 hosts, 2 elements, last reconcile" ||
	fail "no STATUS after the first reconcile: $(cat "$msgs")"
wait_until 10 at_least "WATCHDOG=1" 5 || fail "fewer than 5 WATCHDOG=1 in 10 s: $(cat "$msgs")"
[ "$(grep -vc "^pid=$pid " "$msgs")" -eq 0 ] || fail "a message from another pid: $(cat "$msgs")"

kill -HUP "$pid"
wait_until 10 has "RELOADING=1" || fail "no RELOADING=1 after SIGHUP"
wait_until 10 at_least "READY=1" 2 || fail "no READY=1 after the reload"
awk '/RELOADING=1/ { r = NR } /READY=1/ { y = NR } END { exit !(r && y > r) }' "$msgs" ||
	fail "READY=1 did not follow RELOADING=1: $(cat "$msgs")"
kvf_agent_stop
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
tail -n 1 "$msgs" | grep -q "STOPPING=1" || fail "the last message is not STOPPING=1: $(tail -n 3 "$msgs")"
kvf_notify_unlisten
rm -f "$KVF_TMP/notify.sock"

# 2. An abstract socket; WATCHDOG_PID of another process: no pings.
abstract="@kvfence-test-$$"
kvf_notify_listen "$abstract"
NOTIFY_SOCKET=$abstract WATCHDOG_USEC=200000 WATCHDOG_PID=1 kvf_agent_start -c "$conf"
wait_until 10 has "READY=1" || fail "no READY=1 over the abstract socket"
# A measurement window, not synchronisation: ten 100 ms ping periods in
# which a watchdog taken for ours would have been fed ten times.
sleep 1
[ "$(count "WATCHDOG=1")" -eq 0 ] || fail "pinged a watchdog set for pid 1"
kvf_agent_stop
has "STOPPING=1" || fail "no STOPPING=1 over the abstract socket"
kvf_notify_unlisten

# 3. No NOTIFY_SOCKET: nothing sent and nothing said about it.
: > "$KVF_TMP/agent.err"
kvf_agent_start -c "$conf"
kvf_agent_stop
assert_no_grep "$KVF_TMP/agent.err" "NOTIFY_SOCKET" "notification without NOTIFY_SOCKET"

# 4. A socket nobody listens on: the agent runs, says so once.
: > "$KVF_TMP/agent.err"
NOTIFY_SOCKET=$KVF_TMP/nobody.sock WATCHDOG_USEC=200000 kvf_agent_start -c "$conf"
sleep 0.5	# a window of five failed pings (measured, as above)
kvf_agent_alive || fail "the agent died without a notification socket"
kvf_agent_stop
[ "$(grep -c 'sd_notify to \$NOTIFY_SOCKET' "$KVF_TMP/agent.err")" -eq 1 ] ||
	fail "a missing notification socket was not logged exactly once"
exit 0
