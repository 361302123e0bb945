#!/bin/bash
# A SIGHUP that moves kvfence's sets to another table: a flush of a set
# in the new table is seen and refilled at once, as in the old one. (The
# monitor's socket filter drops notifications about other tables in the
# kernel: the reload must point it at the new table.)
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_addrs contoso-prod.vault.azure.net 300 192.0.2.10 2001:db8::10
conf=$KVF_TMP/kvfence.conf
write_conf() {	# TABLE
	{ printf 'vault contoso-prod\nendpoints vault\ntable inet %s\n' "$1"; kvf_conf_base; } > "$conf"
}
elem4='192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"'
has() { set_elems inet "$1" kvfence4 2>/dev/null | grep -qxF -- "$elem4"; }

dns_start "$zone"
write_conf filter
kvf_agent_start -c "$conf"
wait_until 10 has filter || fail "the agent did not fill inet filter kvfence4"
write_conf moved
kill -HUP "$KVF_AGENT_PID"
wait_until 10 has moved || fail "after SIGHUP, inet moved kvfence4 was not filled"
# The reload's own reads and writes are over.
wait_until 10 grep -q 'reload: ' "$KVF_TMP/agent.err" || fail "the reload is not logged"

start=$(now_ms)
nft flush set inet moved kvfence4
wait_until 5 has moved || fail "a flush of inet moved kvfence4 was not refilled within 5 s"
ms=$(( $(now_ms) - start ))
kvf_log "refill after a flush in the new table: $ms ms"
[ "$ms" -lt 1000 ] || fail "the refill took $ms ms (target well under 1 s)"
kvf_agent_alive || fail "the agent died"
exit 0
