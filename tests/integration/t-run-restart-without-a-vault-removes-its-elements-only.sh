#!/bin/bash
# A vault removed from the config and applied by a restart (not SIGHUP)
# leaves the sets: the state file's record says kvfence wrote its
# elements, although no configured host names them any more. An
# administrator's element with the same comment stays. With the state
# file lost, kvfence removes nothing it cannot prove it wrote: the
# elements stay, and it says so.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10
zone_addrs fabrikam-kv.vault.azure.net 60 198.51.100.30
conf=$KVF_TMP/kvfence.conf
write_conf() {
	{ printf 'vault %s\nendpoints vault\nset6 none\n' "$*"; kvf_conf_base; } > "$conf"
}
has() { set_elems inet filter kvfence4 | grep -qxF -- "$1"; }
contoso='192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"'
fabrikam='198.51.100.30 . 443 comment "fabrikam-kv.vault.azure.net"'
lookalike='203.0.113.97 . 443 comment "fabrikam-kv.vault.azure.net"'

dns_start "$zone"
write_conf contoso-prod fabrikam-kv
kvf_agent_start -c "$conf"
wait_until 10 has "$fabrikam" || fail "the agent did not fill fabrikam-kv's address"
nft add element inet filter kvfence4 "{ $lookalike }"
kvf_agent_stop

write_conf contoso-prod
kvf_agent_start -c "$conf"
wait_until 10 eval "! set_elems inet filter kvfence4 | grep -q '^198\.51\.100\.30 '" ||
	fail "after a restart without fabrikam-kv, its element stays in the set"
has "$contoso" || fail "contoso-prod's element is gone"
has "$lookalike" || fail "an administrator's element commented with the removed vault is gone"
kvf_agent_stop
grep -q 'fabrikam' "$KVF_TMP/state" && fail "the state file still records fabrikam-kv"

# The state file lost (kvfence's elements still in the set): nothing is
# removed that kvfence cannot prove it wrote, and the log says why.
rm -f "$KVF_TMP/state"
zone_begin "$zone" 60
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.20
dns_reload
kvf_agent_start -c "$conf"
wait_until 10 has '192.0.2.20 . 443 comment "contoso-prod.vault.azure.net"' ||
	fail "the agent did not follow contoso-prod to 192.0.2.20"
has "$contoso" || fail "without a state file, an element kvfence cannot prove it wrote was removed"
has "$lookalike" || fail "without a state file, an administrator's element was removed"
assert_grep "$KVF_TMP/agent.err" "kvfence4: 1 element named after configured hosts is not in kvfence's record" \
	"the unowned look-alike elements are not reported"
kvf_agent_stop
exit 0
