#!/bin/bash
# A neighbour adding and deleting an element of its own in the agent's
# set in a loop (fail2ban, a script gone wrong): the agent re-reads after
# each change and keeps its elements, but logs a bounded number of lines
# (one, then one per 10 s) that carry the number of changes they stand
# for, not one line per change.
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
dns_start "$zone"
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\nset6 none\n'; kvf_conf_base; } > "$conf"
kvf_agent_start -c "$conf"
want=$KVF_TMP/want
echo '192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"' > "$want"
wait_until 10 set_matches inet filter kvfence4 "$want" || assert_set_elems inet filter kvfence4 "$want"

# 5 s of foreign changes to the agent's own set.
changes=0 start=$(now_ms)
while [ $(( $(now_ms) - start )) -lt 5000 ]; do
	nft add element inet filter kvfence4 '{ 198.51.100.99 . 22 }' || hard_error "nft add"
	nft delete element inet filter kvfence4 '{ 198.51.100.99 . 22 }' || hard_error "nft delete"
	changes=$((changes + 2))
done
kvf_log "$changes foreign changes in 5 s"
[ "$changes" -ge 40 ] || hard_error "only $changes changes: no flood"
# The held-back count is logged when its 10 s window ends.
counted() { grep -qE 'changed by another process [0-9]+ more times' "$KVF_TMP/agent.err"; }
wait_until 12 counted || fail "no log line carries the number of changes held back"
kvf_agent_alive || fail "the agent died in the flood"
lines=$(grep -c 'changed by another process' "$KVF_TMP/agent.err")
grep 'changed by another process' "$KVF_TMP/agent.err" >&2
[ "$lines" -le 3 ] || fail "$changes foreign changes wrote $lines log lines"
n=$(grep -oE 'process [0-9]+ more times' "$KVF_TMP/agent.err" | awk '{ s += $2 } END { print s + 0 }')
[ "$n" -ge $((changes / 4)) ] ||
	fail "the lines count $n changes of $changes (each nft transaction is one notification)"
assert_set_elems inet filter kvfence4 "$want"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
