#!/bin/bash
# kvfence run follows a changed DNS answer within TTL + 1 s, and keeps the
# address DNS stopped returning for `grace`, not longer and not shorter.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

TTL=2
GRACE=6
zone=$KVF_TMP/root.zone
write_zone() {
	zone_begin "$zone" "$TTL"
	zone_chain "$TTL" contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net
	zone_addrs data-prod-weu.vaultcore.azure.net "$TTL" "$1"
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 1s\nrefresh-max 1m\n'
	printf 'grace %ss\n' "$GRACE"
	kvf_conf_base
} > "$conf"

write_zone 192.0.2.10
dns_start "$zone"
kvf_agent_start -c "$conf"
has() { set_elems inet filter kvfence4 | grep -q "^$1 \. 443 "; }
wait_until 10 has 192.0.2.10 || fail "the agent did not fill kvfence4"

write_zone 192.0.2.20
dns_reload
changed=$(now_ms)
wait_until $((TTL + 2)) has 192.0.2.20 ||
	fail "the new address did not arrive within TTL + 1 s"
arrived=$(now_ms)
kvf_log "new address in the set $((arrived - changed)) ms after the DNS change (TTL ${TTL}s)"
[ $((arrived - changed)) -le $(((TTL + 1) * 1000)) ] ||
	fail "the new address took $((arrived - changed)) ms (> TTL + 1 s)"
has 192.0.2.10 || fail "the old address left at once; it must stay for grace"

# The old address was last answered at most TTL before the change: it
# must stay until at least GRACE - TTL after it, and leave by GRACE + TTL + 2.
wait_until $((GRACE + TTL + 3)) eval '! has 192.0.2.10' ||
	fail "the old address was still there $((GRACE + TTL + 3)) s after the change"
left=$(now_ms)
kvf_log "old address left $((left - changed)) ms after the change (grace ${GRACE}s)"
[ $((left - changed)) -ge $(((GRACE - TTL) * 1000)) ] ||
	fail "the old address left after $((left - changed)) ms, before grace"
kvf_agent_alive || fail "the agent died"
exit 0
