#!/bin/bash
# The race between kvfence and the clients (issue 11): how often a client
# is handed an address for a catalogued name that the firewall does not
# allow yet, and for how long. Not part of `make check`: it prints
# figures and judges nothing.
#
#   sudo tests/bench/race.sh [CASE...]
#
# A CASE is MODE:TTL:ROTATE:POOL:PREFETCH:CLIENT, for example
# poll:5:each:50:no:cache (the default list is below):
#   MODE      poll: the agent with the default config (refresh-min etc.);
#             old: the same with $KVFENCE_OLD (an older build, to compare);
#             proxy: the agent with `listen`, the client asking it.
#   TTL       the last hop's TTL, seconds (the CNAMEs above it: 300).
#   ROTATE    each: the authoritative answer changes every second, so
#             every cache refresh brings a new one; slow: every 3 TTLs.
#   POOL      how many addresses the 2 answered are drawn from.
#   PREFETCH  unbound's prefetch: yes or no.
#   CLIENT    cache: the client asks the caching unbound kvfence asks;
#             auth: the client asks the authoritative server itself (in
#             proxy mode: the proxy forwards to it).
# BENCH_RACE_S: seconds per case (default: 12 TTLs, at least 60).
#
# Everything happens in private namespaces: this one (the "host": Knot on
# 127.0.0.1, unbound on 127.0.0.2, the agent, the rules `kvfence rules`
# prints, the client) and a server namespace behind a veth pair that
# accepts TCP 443 on every pool address. The client (race-client.py)
# resolves contoso-prod.vault.azure.net every 20 ms and connects at once
# to each address; a reset is a blocked address.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir
set -o pipefail

BENCH_DIR=$(dirname "$KVF_SCRIPT")
NAME=contoso-prod.vault.azure.net
LAST=data-prod-weu-1.vaultcore.azure.net
PROXY=127.0.2.53
CASES=("$@")
if [ ${#CASES[@]} -eq 0 ]; then
	CASES=(poll:5:each:50:no:cache poll:30:each:50:no:cache
	       poll:5:slow:50:no:cache poll:5:each:400:no:cache
	       poll:5:each:50:yes:cache poll:5:each:50:no:auth)
	if printf 'listen %s\n' "$PROXY" > "$KVF_TMP/probe.conf" &&
	   "$KVFENCE" -c "$KVF_TMP/probe.conf" check >/dev/null 2>&1; then
		CASES+=(proxy:5:each:50:no:cache proxy:30:each:50:no:cache
			proxy:5:each:50:yes:cache proxy:5:each:50:no:auth)
	fi
fi
command -v unbound >/dev/null || skip "unbound not installed (apt-get install unbound)"

say() { printf 'race: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------
# The server namespace: every pool address accepts TCP 443.

ip addr add 127.0.0.2/8 dev lo 2>/dev/null
ip addr add $PROXY/8 dev lo 2>/dev/null
kvf_server_ns || hard_error "veth"
SRV=$KVF_SRV
ip addr add 192.0.2.1/30 dev veth-c
ip link set veth-c up
nsenter -t $SRV -n sh -c '
	ip link set lo up &&
	ip addr add 192.0.2.2/30 dev veth-s && ip link set veth-s up &&
	ip route add local 198.51.100.0/24 dev lo &&
	ip route add local 203.0.113.0/24 dev lo &&
	ip route add local 192.0.2.128/25 dev lo' || hard_error "server addresses"
for p in 198.51.100.0/24 203.0.113.0/24 192.0.2.128/25; do
	ip route add $p via 192.0.2.2 || hard_error "route $p"
done
nsenter -t $SRV -n /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 443)); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()
' &
kvf_bg_register $!

# pool_addr N: the Nth address of the pool (0-based), never 192.0.2.0/25.
pool_addr() {
	local n=$1
	if [ "$n" -lt 254 ]; then echo "198.51.100.$((n + 1))"
	elif [ "$n" -lt 508 ]; then echo "203.0.113.$((n - 253))"
	else echo "192.0.2.$((n - 508 + 129))"; fi
}

# ---------------------------------------------------------------------
# DNS: Knot with the rotating zone, unbound in front of it.

ROT=0
write_zone() {
	local pool=$1 ttl=$2 a b
	a=$(( (ROT * 7) % pool ))
	b=$(( (ROT * 7 + 1 + pool / 2) % pool ))
	zone_begin "$KVF_TMP/root.zone" 300
	zone_chain 300 $NAME contoso-prod.vaultcore.azure.net $LAST
	zone_addrs $LAST "$ttl" "$(pool_addr $a)" "$(pool_addr $b)"
	ROT=$((ROT + 1))
}

unbound_start() {
	cat > "$KVF_TMP/unbound.conf" <<-EOF
	server:
	    interface: 127.0.0.2
	    port: 53
	    do-daemonize: no
	    username: ""
	    chroot: ""
	    directory: "$KVF_TMP"
	    pidfile: ""
	    use-syslog: no
	    logfile: ""
	    verbosity: 0
	    access-control: 127.0.0.0/8 allow
	    do-not-query-localhost: no
	    module-config: "iterator"
	    prefetch: $1
	    num-threads: 1
	stub-zone:
	    name: "."
	    stub-addr: 127.0.0.1
	EOF
	unbound -c "$KVF_TMP/unbound.conf" > "$KVF_TMP/unbound.log" 2>&1 &
	UNBOUND_PID=$!
	kvf_bg_register $UNBOUND_PID
	wait_until 5 kdig @127.0.0.2 +time=1 +retry=0 +short SOA . ||
		hard_error "unbound did not start"
}

# ---------------------------------------------------------------------
# One case.

stats() {
	"$KVF_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
w = sorted(r["waits_ms"])
def pct(p):
    return w[min(len(w) - 1, int(round(p / 100.0 * (len(w) - 1))))] if w else 0.0
n = r["answers"]
print("%-28s %7d %8.3f %6d %8.1f %8.1f %8.1f %5d %5d" % (sys.argv[2], n,
      100.0 * r["blocked_answers"] / n if n else 0.0, r["blocked_answers"],
      pct(50), pct(99), w[-1] if w else 0.0, r["never_allowed"], r["addresses_seen"]))
' "$1" "$2"
}

run_case() {
	local c=$1 mode ttl rotate pool prefetch client secs bin conf resolver ask rpid apid
	IFS=: read -r mode ttl rotate pool prefetch client <<<"$c"
	secs=${BENCH_RACE_S:-$(( ttl * 12 > 60 ? ttl * 12 : 60 ))}
	bin=$KVFENCE
	if [ "$mode" = old ]; then
		bin=${KVFENCE_OLD:?set KVFENCE_OLD to an older kvfence build}
	fi
	say "case $c: $secs s"
	nft flush ruleset
	ROT=$RANDOM
	# A serial above any the last case's rotation reached.
	KVF_ZONE_SERIAL=$(( ($(date +%s) - 1700000000) * 10 ))
	write_zone "$pool" "$ttl"
	if [ -z "$KVF_DNS_PID" ]; then dns_start "$KVF_TMP/root.zone"; else dns_reload; fi
	unbound_start "$prefetch"
	resolver=127.0.0.2
	ask=127.0.0.2
	[ "$client" = auth ] && ask=127.0.0.1
	if [ "$mode" = proxy ]; then
		[ "$client" = auth ] && resolver=127.0.0.1
		ask=$PROXY
	fi
	conf=$KVF_TMP/kvfence.conf
	{
		printf 'vault contoso-prod\nendpoints vault\nresolver %s\n' "$resolver"
		printf 'state-file %s/state\nstatus-file %s/status.json\nmetrics-file none\n' \
			"$KVF_TMP" "$KVF_TMP"
		[ "$mode" = proxy ] && printf 'listen %s\n' "$PROXY"
	} > "$conf"
	rm -f "$KVF_TMP/state"
	"$bin" -c "$conf" rules > "$KVF_TMP/rules.nft" || hard_error "kvfence rules"
	nft -f "$KVF_TMP/rules.nft" || hard_error "loading the printed rules"
	rm -f "$KVF_TMP/status.json"
	"$bin" -c "$conf" run -f 2> "$KVF_TMP/agent-$c.log" &
	apid=$!
	kvf_bg_register $apid
	wait_until 10 test -s "$KVF_TMP/status.json" || hard_error "agent did not start"
	# Rotation in the background: every second, or every 3 TTLs.
	(
		period=1
		[ "$rotate" = slow ] && period=$(( ttl * 3 ))
		while :; do
			sleep "$period"
			write_zone "$pool" "$ttl"
			knotc -c "$KVF_DNS_DIR/knot.conf" zone-reload . >/dev/null 2>&1
		done
	) &
	rpid=$!
	kvf_bg_register $rpid
	"$KVF_PYTHON" "$BENCH_DIR/race-client.py" "$ask" "$NAME" "$secs" 20 \
		> "$KVF_TMP/result-$c.json" || hard_error "client failed"
	kvf_bg_stop $rpid KILL
	kvf_bg_stop $apid
	kvf_bg_stop "$UNBOUND_PID"
	stats "$KVF_TMP/result-$c.json" "$c"
}

printf '# kvfence race benchmark: %s, kernel %s, %s CPUs\n' "$("$KVFENCE" -V 2>&1 | head -1)" \
	"$(uname -r)" "$(nproc)"
printf '# client: one query every 20 ms, connect to each address at once; blocked = reset;\n'
printf '# waits in ms until a blocked address was let through; never: not within 20 s\n'
printf '%-28s %7s %8s %6s %8s %8s %8s %5s %5s\n' "case" answers "blocked%" blockd \
	"wait_p50" "wait_p99" "wait_max" never addrs
for c in "${CASES[@]}"; do
	run_case "$c"
done
