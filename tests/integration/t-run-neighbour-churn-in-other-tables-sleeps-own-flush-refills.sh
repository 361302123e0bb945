#!/bin/bash
# Neighbours (fail2ban, crowdsec, docker) adding and deleting elements of
# their own tables in a loop: the kernel drops those notifications before
# they reach the agent (its monitor's socket filter), so the agent sleeps
# through them as if idle (t-run-idle-agent-sleeps: at most 5 epoll_wait
# wake-ups in 5 s), while a flush of the agent's own set in the middle
# of the churn is still seen and refilled well under a second. One
# neighbour table is ip filter: the agent's table name in another family
# (docker's). Where the namespace has its own net.core.optmem_max (Linux
# 6.12 and later), it is set to 20 KiB, Debian 12's default (Linux 6.1),
# against which the kernel charges the filter program: a smaller one.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

command -v strace >/dev/null || skip "strace not installed"
kernel=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
if [ "$kernel" -ge 6012 ] && [ -w /proc/sys/net/core/optmem_max ]; then
	echo 20480 > /proc/sys/net/core/optmem_max || hard_error "optmem_max"
fi

zone=$KVF_TMP/root.zone
zone_begin "$zone" 300
zone_addrs contoso-prod.vault.azure.net 300 192.0.2.10 2001:db8::10
zone_addrs login.microsoftonline.com 300 192.0.2.20 2001:db8::20
dns_start "$zone"
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints auth vault\n'; kvf_conf_base; } > "$conf"
kvf_agent_start -c "$conf"
want=$KVF_TMP/want
printf '%s\n' '192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"' \
	'192.0.2.20 . 443 comment "login.microsoftonline.com"' > "$want"
wait_until 10 set_matches inet filter kvfence4 "$want" || assert_set_elems inet filter kvfence4 "$want"
wait_until 10 test -s "$KVF_TMP/state" || fail "no state file"
assert_no_grep "$KVF_TMP/agent.err" 'socket filter' "the agent could not attach its socket filter"

nft add table ip neighbour && nft add set ip neighbour banned '{ type ipv4_addr; }' &&
	nft add table ip filter && nft add set ip filter docker '{ type ipv4_addr; }' ||
	hard_error "neighbour tables"
# The neighbours: one nft process, each line its own transaction.
mkfifo "$KVF_TMP/neighbour"
nft -i < "$KVF_TMP/neighbour" > /dev/null 2>&1 &
kvf_bg_register $!
(
	exec > "$KVF_TMP/neighbour"
	while :; do
		for i in $(seq 1 50); do
			echo "add element ip neighbour banned { 198.51.100.$i }"
			echo "delete element ip neighbour banned { 198.51.100.$i }"
			echo "add element ip filter docker { 203.0.113.$i }"
			echo "delete element ip filter docker { 203.0.113.$i }"
		done
	done
) &
kvf_bg_register $!

# 5 s of the agent's wake-ups, and of the neighbours' changes.
timeout -s INT 5 nft monitor > "$KVF_TMP/monitor.log" 2>/dev/null &
mon=$!
kvf_bg_register $mon
timeout -s INT 5 strace -q -e trace=epoll_wait -o "$KVF_TMP/trace" -p "$KVF_AGENT_PID" 2>/dev/null
kvf_bg_stop $mon INT
changes=$(grep -c 'neighbour\|docker' "$KVF_TMP/monitor.log")
# The call strace found in progress when it attached is not a wake-up.
wakeups=$(( $(grep -c '^epoll_wait' "$KVF_TMP/trace") - 1 ))
kvf_log "$changes neighbour changes, $wakeups agent wake-ups in 5 s"
[ "$changes" -ge 100 ] || hard_error "only $changes neighbour changes: no churn"
[ "$wakeups" -ge 0 ] || hard_error "strace saw no epoll_wait at all"
[ "$wakeups" -le 5 ] || fail "$changes changes to other tables woke the agent up $wakeups times in 5 s"

# The agent's own set flushed amid the churn comes back at once.
start=$(now_ms)
nft flush set inet filter kvfence4
wait_until 5 set_matches inet filter kvfence4 "$want" || fail "kvfence4 was not refilled within 5 s"
ms=$(( $(now_ms) - start ))
kvf_log "refill after a flush amid the churn: $ms ms"
[ "$ms" -lt 1000 ] || fail "the refill took $ms ms (target well under 1 s)"
nft list table ip neighbour > /dev/null || hard_error "the neighbour stopped"
kvf_agent_alive || fail "the agent died"
exit 0
