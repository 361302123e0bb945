#!/bin/bash
# A set declared with a default timeout would lose kvfence's elements to
# the kernel, silently (no notification), while kvfence believes it full:
# kvfence refuses such a set clearly, as it refuses interval sets and maps,
# and only that set stops. A set with flags timeout but no default timeout
# is filled: elements written without a timeout never expire.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10 2001:db8::10
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } > "$conf"
nft -f - <<-'EOF2' || hard_error "cannot declare the sets"
	add table inet filter
	add set inet filter kvfence4 { type ipv4_addr . inet_service; flags timeout; timeout 30s; }
	add set inet filter kvfence6 { type ipv6_addr . inet_service; flags timeout; }
EOF2
dns_start "$zone"
kvf_agent_start -c "$conf"
wait_until 10 eval "set_elems inet filter kvfence6 | grep -q '^2001:db8::10 '" ||
	fail "the set with flags timeout and no default timeout was not filled"
assert_grep "$KVF_TMP/agent.err" \
	'set inet filter kvfence4: has a default timeout \(30s\): the kernel would expire kvfence.s elements' \
	"the set with a default timeout is not refused clearly"
[ -z "$(set_elems inet filter kvfence4)" ] || fail "kvfence wrote into the set with a default timeout"
kvf_agent_alive || fail "the agent died"
kvf_agent_stop
kvf_run sync -c "$conf" sync
expect_rc 69 "sync with a set of a default timeout"
assert_grep "$KVF_TMP/sync.err" 'kvfence4: has a default timeout' "sync does not say why"
exit 0
