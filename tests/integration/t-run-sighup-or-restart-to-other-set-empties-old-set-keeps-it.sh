#!/bin/bash
# A SIGHUP that moves kvfence to another set, or a restart that moves it to
# another table, removes kvfence's elements from the old set (rules that
# still use it must not keep allowing its hosts) and leaves the old set and
# table in place, with the administrator's elements, for rules that use it.
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
write_conf() {	# TABLE SET4 SET6
	{
		printf 'vault contoso-prod\nendpoints vault\ntable inet %s\nset4 %s\nset6 %s\n' "$@"
		kvf_conf_base
	} > "$conf"
}
elem4='192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"'
elem6='2001:db8::10 . 443 comment "contoso-prod.vault.azure.net"'
admin='203.0.113.5 . 443 comment "contoso-prod.vault.azure.net"'
has() { set_elems inet "$1" "$2" | grep -qxF -- "$3"; }

dns_start "$zone"
write_conf filter kvfence4 kvfence6
kvf_agent_start -c "$conf"
wait_until 10 has filter kvfence4 "$elem4" || fail "the agent did not fill kvfence4"
nft add element inet filter kvfence4 "{ $admin }"
# A rule that still references the old set keeps it in use.
nft add chain inet filter out '{ type filter hook output priority 0; }'
nft add rule inet filter out ip daddr . tcp dport @kvfence4 accept

write_conf filter allow4 kvfence6
kill -HUP "$KVF_AGENT_PID"
wait_until 10 has filter allow4 "$elem4" || fail "after SIGHUP, the new set allow4 was not filled"
wait_until 10 eval "! set_elems inet filter kvfence4 | grep -q '^192\.0\.2\.10 '" ||
	fail "after SIGHUP, kvfence's element stays in the old set kvfence4"
has filter kvfence4 "$admin" || fail "the administrator's element left the old set"
has filter kvfence6 "$elem6" || fail "the unchanged set kvfence6 lost its element"
assert_grep "$KVF_TMP/agent.err" 'set=kvfence4 removed=1: set inet filter kvfence4 is no longer configured' \
	"the move is not logged"
kvf_agent_stop

# A restart into another table: the record in the state file names the
# old sets.
write_conf other allow4 allow6
kvf_agent_start -c "$conf"
wait_until 10 has other allow4 "$elem4" || fail "after a restart, table other was not filled"
wait_until 10 eval "! set_elems inet filter allow4 | grep -q '^192\.0\.2\.10 '" ||
	fail "after a restart into another table, kvfence's element stays in inet filter allow4"
wait_until 10 eval "! set_elems inet filter kvfence6 | grep -q '^2001:db8::10 '" ||
	fail "after a restart into another table, kvfence's element stays in inet filter kvfence6"
nft list set inet filter allow4 > /dev/null || fail "the old set allow4 was deleted"
has filter kvfence4 "$admin" || fail "the administrator's element left kvfence4"
kvf_agent_stop
grep -q '^set inet filter' "$KVF_TMP/state" &&
	fail "the state file still records sets kvfence no longer writes: $(grep '^set' "$KVF_TMP/state")"
exit 0
