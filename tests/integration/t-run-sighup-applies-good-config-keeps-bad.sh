#!/bin/bash
# SIGHUP with a good config adds a new vault's addresses and removes a
# dropped vault's; with a bad one the agent keeps running on the old
# config and logs file:line.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_addrs contoso-prod.vault.azure.net 300 192.0.2.10
zone_addrs fabrikam-kv.vault.azure.net 300 192.0.2.20
zone_addrs tailspin.vault.azure.net 300 192.0.2.30
conf=$KVF_TMP/kvfence.conf
write_conf() {
	{ printf 'vault %s\nendpoints vault\nset6 none\n' "$*"; kvf_conf_base; } > "$conf"
}
has() { set_elems inet filter kvfence4 | grep -q "^$1 \. 443 "; }

write_conf contoso-prod fabrikam-kv
dns_start "$zone"
kvf_agent_start -c "$conf"
wait_until 10 eval 'has 192.0.2.10 && has 192.0.2.20' || fail "the agent did not fill kvfence4"

write_conf contoso-prod tailspin
kill -HUP "$KVF_AGENT_PID"
wait_until 10 eval 'has 192.0.2.30 && ! has 192.0.2.20' ||
	fail "after SIGHUP: tailspin's address not added or fabrikam-kv's not removed: $(set_elems inet filter kvfence4)"
has 192.0.2.10 || fail "contoso-prod's address was lost in the reload"

printf 'vault contoso-prod\nvualt typo\n' > "$conf"
kill -HUP "$KVF_AGENT_PID"
wait_until 10 grep -qE "kvfence.conf:2: unknown directive \"vualt\".*keeping" "$KVF_TMP/agent.err" ||
	fail "the bad config was not reported with file:line"
kvf_agent_alive || fail "the agent died on a bad config"
has 192.0.2.30 && has 192.0.2.10 || fail "the sets changed on a bad config"

# Still working on the old config: SIGUSR1 dumps it.
kill -USR1 "$KVF_AGENT_PID"
wait_until 10 grep -q "host=tailspin.vault.azure.net ttl=300 .*addresses=192.0.2.30" "$KVF_TMP/agent.err" ||
	fail "SIGUSR1 did not dump the running state"
exit 0
