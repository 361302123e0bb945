#!/bin/bash
# DNS proxy (listen): a client asking kvfence for a vault name whose
# answer changed gets the answer only once the new address is in the set:
# it connects to every address the moment the answer arrives, through the
# chain `kvfence rules` prints, and is never refused. Polling is slow here
# (refresh-min 10m), so only the proxy can have put the address there.
# An answer whose addresses are present is released without a batch; a
# name kvfence does not know passes through unchanged; polling still runs.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import dnslib' 2>/dev/null ||
	skip "python3-dnslib not installed"
client() { /usr/bin/python3 "$TESTDIR/lib/dnsclient.py" "$@"; }

VAULT=contoso-prod.vault.azure.net
zone=$KVF_TMP/root.zone
write_zone() {	# $1: the vault's IPv4 address
	zone_begin "$zone" 300
	zone_chain 300 $VAULT data-prod-weu.vaultcore.azure.net weu.tm.kv.trafficmanager.net
	zone_addrs weu.tm.kv.trafficmanager.net 300 "$1"
	zone_addrs www.example.org 300 198.51.100.7
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 10m\nrefresh-max 1h\n'
	printf 'listen 127.0.2.53\n'
	kvf_conf_base
} > "$conf"

# The firewall as kvfence prints it. The vault's addresses answer TCP 443
# in a server namespace behind a veth pair (the printed chain accepts
# loopback), so a refused connection can only be the reject rule.
kvf_run rules -c "$conf" rules
expect_rc 0 rules
nft -f "$KVF_TMP/rules.out" || hard_error "cannot load the rules"
kvf_server_ns || skip "no veth here"
SRV=$KVF_SRV
ip addr add 198.51.100.1/30 dev veth-c && ip link set veth-c up || hard_error "veth-c"
nsenter -t $SRV -n sh -c '
	ip link set lo up && ip addr add 198.51.100.2/30 dev veth-s &&
	ip link set veth-s up && ip route add local 192.0.2.0/24 dev lo' ||
	hard_error "server addresses"
ip route add 192.0.2.0/24 via 198.51.100.2 || hard_error "route to the server"
nsenter -t $SRV -n /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 443)); s.listen(128)
while True:
    c, _ = s.accept(); c.close()' &
kvf_bg_register $!

write_zone 192.0.2.10
dns_start "$zone"
kvf_agent_start -c "$conf"
in_set() { local e; e=$(set_elems inet filter kvfence4); grep -q "^$1 \. 443 " <<< "$e"; }
wait_until 10 in_set 192.0.2.10 || fail "polling did not fill kvfence4"
assert_grep "$KVF_TMP/agent.err" 'dns proxy: answering on 127\.0\.2\.53:53' \
	"the agent does not say where the proxy answers"

# 1. Addresses already in the set: released at once, no batch.
before=$(grep -c 'set=kvfence4' "$KVF_TMP/agent.err")
out=$(client query 127.0.2.53 $VAULT A --connect 443)
printf '%s\n' "$out" >&2
grep -q '^rcode=NOERROR id_ok=1 .*answers=192.0.2.10$' <<< "$out" ||
	fail "the proxy did not answer the vault's known address with the client's id"
grep -q '^connect 192.0.2.10 ok$' <<< "$out" || fail "the known address was refused"
[ "$(grep -c 'set=kvfence4' "$KVF_TMP/agent.err")" = "$before" ] ||
	fail "an answer whose address was in the set caused a batch"

# 2. The answer changes: the client's connect must never be refused.
# (Released before its batch, the answer loses this race about one time
# in two: five rounds.)
for a in 192.0.2.20 192.0.2.30 192.0.2.40 192.0.2.50 192.0.2.60; do
	write_zone "$a"
	dns_reload
	in_set "$a" && hard_error "$a is in the set before any client asked"
	out=$(client query 127.0.2.53 $VAULT A --connect 443)
	printf '%s\n' "$out" >&2
	grep -q "^rcode=NOERROR id_ok=1 .*answers=$a\$" <<< "$out" ||
		fail "the proxy did not pass on the new answer $a"
	grep -q "^connect $a ok\$" <<< "$out" ||
		fail "the client was refused at $a: the answer left before its address was in the set"
	in_set "$a" || fail "$a is not in the set after its answer"
done
# status.json follows proxied batches (coalesced to one write a second).
status_has() { status_get "[a['address'] for h in s['hosts'] for a in h['addresses']]" | grep -q "'$1'"; }
wait_until 3 status_has 192.0.2.60 || fail "status.json does not show the proxied address within 3 s"
assert_grep "$KVF_TMP/agent.err" 'set=kvfence4 added=1 removed=0' \
	"no batch added the proxied address"
# The earlier addresses stay for grace, as after a polled answer.
in_set 192.0.2.10 || fail "the address of the first answer left before grace"

# 3. The CNAME chain: the name asked is not catalogued, a later one is not
# either, but the vault is reached from the question: covered above. A
# name kvfence does not know passes through unchanged.
direct=$(kdig @127.0.0.1 +noall +answer www.example.org A)
proxied=$(kdig @127.0.2.53 +noall +answer www.example.org A)
[ -n "$direct" ] && [ "$direct" = "$proxied" ] ||
	fail "a foreign name was changed by the proxy: '$direct' / '$proxied'"
in_set 198.51.100.7 && fail "a foreign name's address entered the set"

# 4. AAAA through the proxy: a NODATA answer (the zone has no AAAA) is
# passed on and removes nothing.
client query 127.0.2.53 $VAULT AAAA | grep -q '^rcode=NOERROR id_ok=1 .*answers=$' ||
	fail "AAAA NODATA was not passed on"
in_set 192.0.2.60 || fail "an AAAA NODATA answer removed an IPv4 address"

kvf_agent_alive || fail "the agent died"
kill -USR1 "$KVF_AGENT_PID"
wait_until 5 grep -q 'dns proxy: queries=' "$KVF_TMP/agent.err" ||
	fail "SIGUSR1 does not report the proxy's counters"
assert_grep "$KVF_TMP/agent.err" 'dns proxy: queries=[0-9]+ answered=[0-9]+ catalogued=[1-9][0-9]* held=5 ' \
	"the proxy did not hold exactly the five changed answers"
exit 0
