#!/bin/bash
# kvfence removes exactly what it wrote. An element an administrator adds
# with a configured host's name as comment (a pinned address on 443, the
# host's own address on another port), or one of kvfence's elements the
# administrator has re-written with a comment of their own, is never
# removed, neither by the running agent nor after a restart, and is not
# adopted into the host's state (status.json); kvfence's own elements,
# recorded in the state file, still leave when DNS moves, after a restart.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

host=contoso-prod.vault.azure.net
zone=$KVF_TMP/root.zone
write_zone() {
	zone_begin "$zone" 1
	zone_addrs "$host" 1 "192.0.2.$1"
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 1s\ngrace 0s\nset6 none\n'
	kvf_conf_base
} > "$conf"
nft add table inet filter
nft add set inet filter kvfence4 '{ type ipv4_addr . inet_service; }'
nft add element inet filter kvfence4 "{ 192.0.2.77 . 443 comment \"$host\", \
192.0.2.10 . 8443 comment \"$host\" }" || hard_error "cannot add elements by hand"
pinned="192.0.2.77 . 443 comment \"$host\""
other_port="192.0.2.10 . 8443 comment \"$host\""
rewritten='192.0.2.10 . 443 comment "pinned by the administrator"'

has() { set_elems inet filter kvfence4 | grep -qxF -- "$1"; }
held_by_host() {	# ADDR: status.json lists ADDR for the host
	status_get "[a['address'] for h in s['hosts'] for a in h['addresses'] if h['name'] == '$host']" |
		grep -qF "'$1'"
}

write_zone 10
dns_start "$zone"
kvf_agent_start -c "$conf"
wait_until 10 has "192.0.2.10 . 443 comment \"$host\"" || fail "the agent did not fill kvfence4"
has "$pinned" || fail "the agent removed an administrator's element named after its host"
has "$other_port" || fail "the agent removed the host's address on another port, written by hand"
held_by_host 192.0.2.77 && fail "the agent adopted an administrator's element into the host's state"

# The administrator takes over kvfence's element: same key, their comment.
# One transaction, as the agent would refill a lone deletion at once.
nft -f - <<-EOF2 || hard_error "cannot re-write the element"
	delete element inet filter kvfence4 { 192.0.2.10 . 443 }
	add element inet filter kvfence4 { $rewritten }
EOF2
has "$rewritten" || hard_error "the re-written element is not there"
write_zone 20
dns_reload
wait_until 10 has "192.0.2.20 . 443 comment \"$host\"" || fail "the agent did not follow DNS to .20"
has "$rewritten" || fail "the agent removed an element the administrator re-wrote as theirs"

# A restart: the record in the state file, not the comments, says what is ours.
kvf_agent_stop
grep -q "^elem 192.0.2.20 443 $host\$" "$KVF_TMP/state" ||
	fail "the state file does not record the element kvfence wrote"
kvf_agent_start -c "$conf"
held_by_host 192.0.2.77 && fail "after a restart, an administrator's element was adopted"
held_by_host 192.0.2.10 && fail "after a restart, a re-written element was adopted"
assert_grep "$KVF_TMP/agent.err" "kvfence4: 2 elements named after configured hosts are not in kvfence's record" \
	"the look-alike elements are not reported at start"
write_zone 30
dns_reload
wait_until 10 has "192.0.2.30 . 443 comment \"$host\"" || fail "the agent did not follow DNS to .30"
wait_until 10 eval "! set_elems inet filter kvfence4 | grep -q '^192\.0\.2\.20 '" ||
	fail "after a restart, kvfence's own element 192.0.2.20 . 443 was not removed"
has "$pinned" || fail "after a restart, the pinned element is gone"
has "$other_port" || fail "after a restart, the element on another port is gone"
has "$rewritten" || fail "after a restart, the re-written element is gone"
kvf_agent_stop
exit 0
