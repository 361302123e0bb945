#!/bin/bash
# kvfence(8) SIGHUP: hosts both configurations name keep their addresses;
# fail-static: a DNS outage keeps the sets. Together, attacked by an
# administrator reloading again and again during an outage (and adding a
# vault that cannot resolve): the vault both configurations name keeps
# its elements through every reload, and through a restart after them.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 1
zone_addrs contoso-prod.vault.azure.net 1 192.0.2.10 2001:db8::10
dns_start "$zone"
conf=$KVF_TMP/kvfence.conf
base() { printf 'endpoints vault\nrefresh-min 1s\nrefresh-max 2s\ngrace 1s\n'; kvf_conf_base; }
{ printf 'vault contoso-prod\n'; base; } > "$conf"
kvf_agent_start -c "$conf"
want4=$KVF_TMP/want4 want6=$KVF_TMP/want6
echo '192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"' > "$want4"
echo '2001:db8::10 . 443 comment "contoso-prod.vault.azure.net"' > "$want6"
wait_until 10 set_matches inet filter kvfence4 "$want4" || assert_set_elems inet filter kvfence4 "$want4"

dns_stop
{ printf 'vault contoso-prod contoso-new\n'; base; } > "$conf"
for i in 1 2 3 4 5 6; do
	kill -HUP "$KVF_AGENT_PID"
	reloaded() { [ "$(grep -c 'reload: ' "$KVF_TMP/agent.err")" -ge "$1" ]; }
	wait_until 5 reloaded "$i" || fail "reload $i was not applied"
	# Let the reloaded agent ask (and fail) before the next reload.
	failed() { grep -q 'resolution failed' "$KVF_TMP/agent.err"; }
	wait_until 5 failed || true
	assert_set_elems inet filter kvfence4 "$want4"
	assert_set_elems inet filter kvfence6 "$want6"
done
kvf_agent_alive || fail "the agent died in the reloads"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
# Restart, DNS still down: warm start keeps them.
: > "$KVF_TMP/agent.err"
kvf_agent_start -c "$conf"
assert_set_elems inet filter kvfence4 "$want4"
assert_set_elems inet filter kvfence6 "$want6"
kvf_agent_stop TERM
exit 0
