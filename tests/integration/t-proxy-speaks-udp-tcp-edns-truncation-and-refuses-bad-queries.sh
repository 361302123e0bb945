#!/bin/bash
# DNS proxy protocol: UDP and TCP (several pipelined queries on one
# connection), the client's id kept, EDNS passed through and its UDP size
# respected (a larger answer truncated with TC, the whole one over TCP),
# an unknown EDNS version BADVERS, several questions FORMERR, other
# opcodes NOTIMP, zone transfers REFUSED, malformed messages dropped or
# FORMERR, and the proxy answering throughout. A vault answered over TCP
# is folded like one over UDP.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import dnslib' 2>/dev/null ||
	skip "python3-dnslib not installed"
client() { /usr/bin/python3 "$TESTDIR/lib/dnsclient.py" "$@"; }
P=127.0.2.53:5353

VAULT=contoso-prod.vault.azure.net
zone=$KVF_TMP/root.zone
write_zone() {
	zone_begin "$zone" 300
	zone_chain 300 $VAULT data-prod-weu.vaultcore.azure.net
	zone_addrs data-prod-weu.vaultcore.azure.net 300 "$1"
	zone_addrs www.example.org 300 198.51.100.7 2001:db8:7::1
	# 100 addresses: 1.6 kB, more than 512 and than 1232 bytes.
	for i in $(seq 1 100); do zone_addrs big.example.org 300 "203.0.113.$i"; done
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 10m\nrefresh-max 1h\n'
	printf 'listen 127.0.2.53:5353 [::1]:5353\n'
	kvf_conf_base
} > "$conf"
write_zone 192.0.2.10
dns_start "$zone"
kvf_agent_start -c "$conf"

# UDP and TCP, v4 and v6 listeners, ids kept.
for srv in 127.0.2.53:5353 "[::1]:5353"; do
	for proto in +notcp +tcp; do
		out=$(kdig @"${srv%:*}" -p 5353 "$proto" +short www.example.org A | sed 's/[][]//g')
		[ "$out" = 198.51.100.7 ] || fail "$srv $proto: www.example.org A gave '$out'"
	done
done
client query $P www.example.org AAAA | grep -q '^rcode=NOERROR id_ok=1 tc=0 .*answers=2001:db8:7::1$' ||
	fail "an AAAA answer lost its id or its address"

# Several queries on one TCP connection, answered each.
out=$(client pipeline $P www.example.org big.example.org $VAULT nx.example.org)
printf '%s\n' "$out" >&2
for n in www.example.org big.example.org $VAULT; do
	grep -q "^answer $n rcode=NOERROR\$" <<< "$out" || fail "pipelined $n not answered"
done
grep -q '^answer nx.example.org rcode=NXDOMAIN$' <<< "$out" || fail "pipelined NXDOMAIN not passed on"

# Truncation: without EDNS a 1.6 kB answer does not fit in 512 bytes.
client query $P big.example.org A | grep -q '^rcode=NOERROR id_ok=1 tc=1 .*answers=$' ||
	fail "a 1.6 kB answer to a client without EDNS was not truncated (TC)"
n=$(kdig @127.0.2.53 -p 5353 +noedns +short big.example.org A 2>/dev/null | grep -c "^203\.0\.113\.")
[ "$n" = 100 ] || fail "kdig's retry over TCP got $n of 100 addresses"
# EDNS: the client's size is respected both ways.
n=$(kdig @127.0.2.53 -p 5353 +notcp +bufsize=4096 +ignore +short big.example.org A 2>/dev/null | grep -c "^203\.0\.113\.")
[ "$n" = 100 ] || fail "with EDNS 4096 the answer did not come whole over UDP ($n)"
kdig @127.0.2.53 -p 5353 +notcp +bufsize=1232 +ignore big.example.org A > "$KVF_TMP/tc.out"
grep -q 'Flags: qr.* tc' "$KVF_TMP/tc.out" || fail "with EDNS 1232 a 1.6 kB answer was not truncated"
grep -q 'EDNS PSEUDOSECTION' "$KVF_TMP/tc.out" || fail "the truncated answer lost its OPT"
kdig @127.0.2.53 -p 5353 +bufsize=1232 www.example.org > "$KVF_TMP/edns.out"
grep -q 'EDNS PSEUDOSECTION' "$KVF_TMP/edns.out" || fail "an EDNS answer lost its OPT"
kdig @127.0.2.53 -p 5353 +edns=1 www.example.org > "$KVF_TMP/badvers.out"
grep -q 'status: BADVERS' "$KVF_TMP/badvers.out" || fail "EDNS version 1 was not answered BADVERS"

# Refused cleanly: two questions, NOTIFY, AXFR, CHAOS.
q1=0377777706657861706c65036f72670000010001	# www.example.org A
qname=${q1%00010001}
two=111101000002000000000000${q1}${q1}
client raw $P "$two" | grep -q '^reply rcode=FORMERR qd=0 id=4369 ' ||
	fail "two questions were not answered FORMERR"
client raw $P "111121000001000000000000${q1}" | grep -q '^reply rcode=NOTIMP ' ||
	fail "NOTIFY was not answered NOTIMP"
client raw $P "111101000001000000000000${qname}00fc0001" | grep -q '^reply rcode=REFUSED ' ||
	fail "AXFR over UDP was not REFUSED"
client raw $P "111101000001000000000000${qname}00fc0001" --tcp | grep -q '^reply rcode=REFUSED ' ||
	fail "AXFR over TCP was not REFUSED"
client raw $P "111101000001000000000000${qname}00100003" | grep -q '^reply rcode=REFUSED ' ||
	fail "a CHAOS query was not REFUSED"

# Malformed: silence for what is no query, FORMERR for a broken one.
client raw $P 1111 | grep -q '^noreply$' || fail "a 2-byte message was answered"
client raw $P "111181000001000000000000${q1}" | grep -q '^noreply$' ||
	fail "a response sent to the proxy was answered (reflection)"
client raw $P "11110100000100000000000040616161" | grep -q '^reply rcode=FORMERR ' ||
	fail "a label past the end was not FORMERR"
client raw $P "111101000001000000000000c00c00010001" | grep -q '^reply rcode=FORMERR ' ||
	fail "a compression loop in a question was not FORMERR"
/usr/bin/python3 -c '
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(2000):
    s.sendto(os.urandom(1 + i % 700), ("127.0.2.53", 5353))
t = socket.create_connection(("127.0.2.53", 5353))
t.sendall(os.urandom(5000))
t.close()
t = socket.create_connection(("127.0.2.53", 5353))
t.sendall(b"\0\0")   # a zero-length frame
t.close()
t = socket.create_connection(("127.0.2.53", 5353))
t.settimeout(5)
try:
    t.sendall(b"\xff\xff" + os.urandom(65535))   # a 64 kB "query"
    assert t.recv(10) == b"", "a 64 kB query did not close the connection"
except ConnectionResetError:
    pass
' || hard_error "cannot send junk"
kvf_agent_alive || fail "junk killed the agent"
client query $P www.example.org A | grep -q '^rcode=NOERROR id_ok=1 ' ||
	fail "the proxy stopped answering after junk"

# A vault answered over TCP is folded and held like one over UDP.
write_zone 192.0.2.20
dns_reload
kdig @127.0.2.53 -p 5353 +tcp +short $VAULT A | grep -qx 192.0.2.20 ||
	fail "the vault's new answer did not come over TCP"
[[ "$(set_elems inet filter kvfence4)" == *"192.0.2.20 . 443 "* ]] ||
	fail "the answer over TCP arrived but its address is not in the set"
kvf_agent_alive || fail "the agent died"
exit 0
