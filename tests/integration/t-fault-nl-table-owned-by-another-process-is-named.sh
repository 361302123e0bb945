#!/bin/bash
# A table declared with "flags owner" (as firewalld and other daemons hold
# theirs) can be changed only through its owner's netlink socket: the
# kernel answers EPERM even to root. kvfence names the owner instead of
# asking for CAP_NET_ADMIN it has: sync exits 69 (not 77), the agent
# keeps running and retrying, and once the owner is gone (its table goes
# with it) the agent creates the table and fills the set.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 120
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10 2001:db8::10
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } > "$conf"
dns_start "$zone"

# The owner: an interactive nft whose netlink socket stays open as long
# as its standard input does, held by a sleep of its own (not by a file
# descriptor of this shell, which the agent would inherit).
mkfifo "$KVF_TMP/owner.in" || hard_error "mkfifo"
nft -i < "$KVF_TMP/owner.in" > "$KVF_TMP/owner.out" 2>&1 &
owner=$!
kvf_bg_register "$owner"
{
	printf '%s\n' 'add table inet filter { flags owner; }' \
		'add set inet filter kvfence4 { type ipv4_addr . inet_service; }' \
		'add set inet filter kvfence6 { type ipv6_addr . inet_service; }'
	exec sleep 600
} > "$KVF_TMP/owner.in" &
holder=$!
kvf_bg_register "$holder"
owned() { nft list table inet filter 2>/dev/null | grep -q 'flags owner'; }
wait_until 10 owned || hard_error "nft -i did not create the owned table (kernel < 5.12?)"
wait_until 10 eval 'nft list set inet filter kvfence6 >/dev/null 2>&1' || hard_error "no kvfence6"
nft add element inet filter kvfence4 '{ 192.0.2.99 . 443 }' 2>/dev/null &&
	hard_error "root could write into the owned table: no owner semantics here"

kvf_run sync -c "$conf" sync
expect_rc "$KVF_EX_UNAVAILABLE" "sync into a table owned by another process"
assert_grep "$KVF_TMP/sync.err" 'table inet filter is owned by another process \(flags owner, netlink port [0-9]+, "nft"\)' \
	"sync does not name the owned table and its owner"
assert_no_grep "$KVF_TMP/sync.err" 'CAP_NET_ADMIN' "sync asks for CAP_NET_ADMIN it has"

# No reconcile succeeds, so no status.json: wait for the log line.
"$KVFENCE" -c "$conf" run -f 2> "$KVF_TMP/agent.err" &
KVF_AGENT_PID=$!
kvf_bg_register "$KVF_AGENT_PID"
named() { grep -q 'owned by another process' "$KVF_TMP/agent.err"; }
wait_until 10 named || {
	sed 's/^/  agent: /' "$KVF_TMP/agent.err" >&2
	fail "the agent does not name the owned table"
}
kvf_agent_alive || fail "the agent died on an owned table"
kvf_run status -c "$conf" status
expect_rc "$KVF_EX_UNAVAILABLE" "status of an agent that never wrote the sets"
assert_grep "$KVF_TMP/status.err" 'the agent runs but has not written the sets' \
	"status of a running but blocked agent asks whether it runs"
assert_no_grep "$KVF_TMP/agent.err" 'CAP_NET_ADMIN' "the agent asks for CAP_NET_ADMIN it has"

# The owner exits: its table goes with it, and the agent takes over.
kvf_bg_stop "$holder"
wait "$owner" 2>/dev/null
kvf_bg_forget "$owner"
has() { set_elems inet filter kvfence4 2>/dev/null | grep -q '^192\.0\.2\.10 \. 443 '; }
wait_until 10 has || fail "the agent did not fill kvfence4 once the owner was gone"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
