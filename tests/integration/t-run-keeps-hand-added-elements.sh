#!/bin/bash
# Elements the administrator added by hand, with or without a comment,
# survive many reconciles of a running agent whose hosts keep changing.
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
	zone_addrs contoso-prod.vault.azure.net 1 "192.0.2.$1"
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 1s\ngrace 0s\nset6 none\n'
	kvf_conf_base
} > "$conf"
nft add table inet filter
nft add set inet filter kvfence4 '{ type ipv4_addr . inet_service; }'
nft add element inet filter kvfence4 '{ 203.0.113.5 . 443 comment "by hand", 203.0.113.6 . 80 }'

write_zone 1
dns_start "$zone"
kvf_agent_start -c "$conf"
for i in 2 3 4 5 6; do
	write_zone "$i"
	dns_reload
	wait_until 10 eval "set_elems inet filter kvfence4 | grep -q '^192\.0\.2\.$i '" ||
		fail "the agent did not follow answer $i"
done
reconciles=$(status_get "s['reconciles']")
[ "${reconciles:-0}" -ge 5 ] || fail "only ${reconciles:-0} reconciles"
set_elems inet filter kvfence4 > "$KVF_TMP/final"
grep -qx '203.0.113.5 . 443 comment "by hand"' "$KVF_TMP/final" ||
	fail "the commented hand-made element is gone"
grep -qx '203.0.113.6 . 80' "$KVF_TMP/final" || fail "the bare hand-made element is gone"
[ "$(grep -c '^192\.0\.2\.' "$KVF_TMP/final")" -eq 1 ] ||
	fail "old answers linger with grace 0: $(cat "$KVF_TMP/final")"
exit 0
