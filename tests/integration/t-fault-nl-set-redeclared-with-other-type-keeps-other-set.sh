#!/bin/bash
# An administrator re-declares the agent's IPv4 set with an IPv6 key
# (type ipv6_addr) under the running agent. The agent logs a clear error
# naming the set and its type, does not crash, does not write into the
# foreign-typed set, and keeps serving its other set: kvfence6 keeps its
# elements and still follows DNS. When the IPv4 set is declared right
# again the agent fills it.
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
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10 aaaa=2001:db8::10 ttl=1
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\nrefresh-min 1s\nrefresh-max 5s\ngrace none\n'; kvf_conf_base; } > "$conf"
has() { set_elems inet filter "$1" 2>/dev/null | grep -q "^$2 "; }
kvf_agent_start -c "$conf"
wait_until 10 eval 'has kvfence4 192.0.2.10 && has kvfence6 2001:db8::10' ||
	fail "the agent did not fill the sets"

# The IPv4 set becomes an IPv6 one, holding an element of its owner.
nft -f - <<-'EOF2' || hard_error "cannot re-declare kvfence4"
	delete set inet filter kvfence4
	add set inet filter kvfence4 { type ipv6_addr; }
	add element inet filter kvfence4 { 2001:db8:ffff::1 }
EOF2
wait_until 10 grep -q 'kvfence4 has type ipv6_addr' "$KVF_TMP/agent.err" ||
	fail "the agent did not log that kvfence4 has the wrong type"
assert_grep "$KVF_TMP/agent.err" 'set inet filter kvfence4 has type ipv6_addr, but holds IPv4 addresses' \
	"the error does not name the set, its type and the mismatch"

# DNS moves on: the IPv6 set must follow although the IPv4 set is unusable.
fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.11 aaaa=2001:db8::11 ttl=1
fakedns_commit
wait_until 15 eval 'has kvfence6 2001:db8::11 && ! has kvfence6 2001:db8::10'
moved=$?
kvf_agent_alive || fail "the agent died after the set changed type"
[ "$(set_type inet filter kvfence4)" = ipv6_addr ] || fail "the agent changed the administrator's set"
[ "$(set_elems inet filter kvfence4)" = "2001:db8:ffff::1" ] ||
	fail "the agent wrote into (or emptied) the foreign-typed kvfence4"
# Both checks below are made whatever the first one finds: they are
# separate defects.
problems=()
[ "$moved" -eq 0 ] ||
	problems+=("kvfence6 no longer follows DNS while kvfence4 has a foreign type (one bad set blocks every set)")

# Declared right again: filled.
nft -f - <<-'EOF2' || hard_error "cannot re-declare kvfence4"
	delete set inet filter kvfence4
	add set inet filter kvfence4 { type ipv4_addr . inet_service; }
EOF2
# The monitor reports the change at once: no waiting out a retry backoff.
wait_until 5 eval 'has kvfence4 192.0.2.11 && has kvfence6 2001:db8::11' ||
	problems+=("the agent did not fill kvfence4 within 5 s of it being declared right again")
kvf_agent_alive || fail "the agent died"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent exited $KVF_AGENT_RC on SIGTERM"
for p in "${problems[@]}"; do kvf_log "FAIL: $p"; done
[ "${#problems[@]}" -eq 0 ] || fail "${#problems[@]} problem(s), above"
exit 0
