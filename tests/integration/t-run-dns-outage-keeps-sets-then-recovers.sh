#!/bin/bash
# With the DNS server dead for several refresh periods the agent keeps
# every address (fail-static) and stays alive; when the server returns
# the agent follows its answers again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
write_zone() {
	zone_begin "$zone" 1
	zone_addrs contoso-prod.vault.azure.net 1 "$@"
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 1s\nrefresh-max 2s\ngrace 1s\n'
	kvf_conf_base
} > "$conf"

write_zone 192.0.2.10 2001:db8::10
dns_start "$zone"
kvf_agent_start -c "$conf"
full() { set_elems inet filter kvfence4 | grep -q '^192\.0\.2\.10 ' &&
	 set_elems inet filter kvfence6 | grep -q '^2001:db8::10 '; }
wait_until 10 full || fail "the agent did not fill the sets"
nft list table inet filter > "$KVF_TMP/before"

dns_stop
# Several failed refreshes, as the agent itself reports them.
failures() { status_host_field contoso-prod.vault.azure.net failures; }
wait_until 30 eval '[ "$(failures)" -ge 4 ]' ||
	fail "the agent did not report 4 failed refreshes (got $(failures))"
nft list table inet filter > "$KVF_TMP/after"
diff -u "$KVF_TMP/before" "$KVF_TMP/after" >&2 ||
	fail "the sets changed while DNS was down (grace 1 s must not apply to an outage)"
kvf_agent_alive || fail "the agent died during the outage"
assert_grep "$KVF_TMP/agent.err" 'resolution failed.*keeping' "the outage is not logged"

write_zone 198.51.100.7
dns_start "$zone"
moved() { set_elems inet filter kvfence4 | grep -q '^198\.51\.100\.7 ' &&
	  ! set_elems inet filter kvfence4 | grep -q '^192\.0\.2\.10 '; }
wait_until 15 moved || fail "the agent did not recover after DNS came back"
assert_grep "$KVF_TMP/agent.err" 'resolving again' "the recovery is not logged"
exit 0
