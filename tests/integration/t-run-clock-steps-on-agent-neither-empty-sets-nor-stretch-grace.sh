#!/bin/bash
# Grace and max-stale age on a clock that does not step (CLOCK_BOOTTIME).
# The agent's wall clock alone is stepped, with libfaketime on the agent
# process only (the host's clock is never touched; the monotonic clocks are
# left alone, as an NTP step leaves them): +2 h must not empty the sets
# under max-stale 1h during a short DNS outage; -1 day must not keep an
# address DNS stopped returning past its grace. A state file written
# before the step back is "from the future" at the next start: said, and
# its ages taken as they were.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

libfaketime=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
	 /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -e "$f" ] && { libfaketime=$f; break; }
done
[ -n "$libfaketime" ] || skip "libfaketime not installed (Debian package faketime)"

# The agent alone runs under libfaketime; its offset is read from a file
# at every clock read, so the test steps it while the agent runs.
offset=$KVF_TMP/faketime
echo "+0" > "$offset"
real=$KVFENCE
# A sanitizer build needs its runtime first in the preload list.
preload=$libfaketime
asan=$(ldd "$real" 2>/dev/null | awk '/libasan/ { print $3; exit }')
[ -n "$asan" ] && preload="$asan $libfaketime"
wrapper=$KVF_TMP/kvfence-faketime
cat > "$wrapper" <<-EOF2
	#!/bin/sh
	exec env LD_PRELOAD="$preload" FAKETIME_TIMESTAMP_FILE="$offset" \
		FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 "$real" "\$@"
EOF2
chmod +x "$wrapper"
# The library works here: the wrapped agent's wall clock moves, nothing else's.
echo "+1d" > "$offset"
[ "$(env LD_PRELOAD="$libfaketime" FAKETIME_TIMESTAMP_FILE="$offset" FAKETIME_NO_CACHE=1 \
	date +%s)" -gt $(( $(date +%s) + 80000 )) ] || skip "libfaketime does not step the clock here"
echo "+0" > "$offset"

zone=$KVF_TMP/root.zone
write_zone() {
	zone_begin "$zone" 1
	zone_addrs contoso-prod.vault.azure.net 1 "192.0.2.$1"
}
conf=$KVF_TMP/kvfence.conf
has() { set_elems inet filter kvfence4 | grep -q "^192\.0\.2\.$1 "; }
dumps() { grep -c 'state: 1 hosts' "$KVF_TMP/agent.err"; }
# After two SIGUSR1 dumps the agent has run a full tick (aging included)
# since the first.
full_tick() {
	local n
	n=$(dumps)
	kill -USR1 "$KVF_AGENT_PID"
	wait_until 5 eval '[ "$(dumps)" -ge $((n + 1)) ]' || fail "no state dump"
	kill -USR1 "$KVF_AGENT_PID"
	wait_until 5 eval '[ "$(dumps)" -ge $((n + 2)) ]' || fail "no second state dump"
}

# +2 h during a short outage, max-stale 1h.
{
	printf 'vault contoso-prod\nendpoints vault\nset6 none\nrefresh-min 1s\nmax-stale 1h\n'
	kvf_conf_base
} > "$conf"
write_zone 10
dns_start "$zone"
KVFENCE=$wrapper kvf_agent_start -c "$conf"
wait_until 10 has 10 || fail "the agent did not fill kvfence4"
dns_stop
wait_until 10 eval '[ "$(status_host_field contoso-prod.vault.azure.net failures)" -ge 1 ]' ||
	fail "the agent did not meet the outage"
echo "+2h" > "$offset"
full_tick
has 10 || fail "a +2 h step of the wall clock emptied the set under max-stale 1h"
assert_no_grep "$KVF_TMP/agent.err" 'max-stale' "a +2 h step made max-stale fail closed"
kvf_agent_stop

# -1 day: an address DNS stopped returning leaves after grace all the same.
echo "+0" > "$offset"
{
	printf 'vault contoso-prod\nendpoints vault\nset6 none\nrefresh-min 1s\ngrace 2s\n'
	kvf_conf_base
} > "$conf"
write_zone 10
dns_start "$zone"
KVFENCE=$wrapper kvf_agent_start -c "$conf"
assert_grep "$KVF_TMP/agent.err" 'state file .*: it was written [0-9]+ s in the future' \
	"a state file written 2 h ahead is not reported at start"
wait_until 10 has 10 || fail "the agent did not fill kvfence4"
write_zone 20
dns_reload
wait_until 10 has 20 || fail "the agent did not follow DNS to 192.0.2.20"
echo "-1d" > "$offset"
wait_until 10 eval '! has 10' ||
	fail "a -1 day step kept 192.0.2.10 past its 2 s grace"
kvf_agent_stop
exit 0
