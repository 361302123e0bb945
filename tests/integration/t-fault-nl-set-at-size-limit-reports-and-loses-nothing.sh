#!/bin/bash
# The administrator declared kvfence4 with "size 2" and put one element
# of their own in it; DNS then answers three IPv4 addresses. The kernel
# refuses the batch: the agent reports the error (naming the set), stays
# alive, loses nothing (the foreign element and kvfence6 as they were);
# once the answer fits again it is written.
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

nft -f - <<-'EOF2' || hard_error "cannot declare the sets"
	table inet filter {
		set kvfence4 { type ipv4_addr . inet_service; size 2; }
		set kvfence6 { type ipv6_addr . inet_service; }
	}
	add element inet filter kvfence4 { 198.51.100.99 . 22 comment "admin" }
EOF2
fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10 aaaa=2001:db8::10 ttl=1
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\nrefresh-min 1s\nrefresh-max 5s\ngrace none\n'; kvf_conf_base; } > "$conf"
has() { set_elems inet filter "$1" 2>/dev/null | grep -q "^$2 "; }
kvf_agent_start -c "$conf"
wait_until 10 eval 'has kvfence4 192.0.2.10 && has kvfence6 2001:db8::10' ||
	fail "the agent did not fill the sets"
set_elems inet filter kvfence4 > "$KVF_TMP/want4"
set_elems inet filter kvfence6 > "$KVF_TMP/want6"

# Three IPv4 addresses (and a new IPv6 one in the same answer).
fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.11,192.0.2.12,192.0.2.13 \
	aaaa=2001:db8::11 ttl=1
fakedns_commit
wait_until 10 grep -q 'reconcile failed' "$KVF_TMP/agent.err" ||
	fail "the agent reported no error for the full set"
sed -n '/reconcile failed/{p;q}' "$KVF_TMP/agent.err" >&2
assert_grep "$KVF_TMP/agent.err" 'reconcile failed: .*kvfence4' "the error does not name the set"
# ENFILE here is the set's size, not a process out of files: say so.
assert_grep "$KVF_TMP/agent.err" 'kvfence4: add .*the set is full.*declared with size 2' \
	"the error does not say that the set is full, and its size"
assert_no_grep "$KVF_TMP/agent.err" 'Too many open files' "a full set reported as too many open files"
kvf_agent_alive || fail "the agent died on a full set"
# The batch is refused as a whole: nothing half-written, nothing lost.
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# The answer fits again (the administrator's element and one of ours).
fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.12 aaaa=2001:db8::12 ttl=1
fakedns_commit
wait_until 20 eval 'has kvfence4 192.0.2.12 && has kvfence6 2001:db8::12 && ! has kvfence4 192.0.2.10' ||
	fail "the agent did not write the answer once it fit"
assert_set_has inet filter kvfence4 '198.51.100.99 . 22 comment "admin"'
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent exited $KVF_AGENT_RC on SIGTERM"
exit 0
