#!/bin/bash
# Regenerate the answer seeds (corpus/answer/) from real replies of Knot,
# in a private network namespace (needs root). Each seed is in the format
# fuzz_answer.c reads: one byte of mode and cap, then the reply without its
# ID and question. The config seeds are plain files, written by hand.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

OUTDIR=$TESTDIR/fuzz/corpus/answer
HOST=contoso-prod.vault.azure.net
zone=$KVF_TMP/root.zone

# capture SEED TYPE MODEBYTE [FLAGS-OR]: ask Knot HOST/TYPE, store the seed.
capture() {
	"$KVF_PYTHON" - "$HOST" "$2" "$3" "${4:-0}" "$OUTDIR/$1" <<-'PY' || hard_error "capture $1"
	import socket, sys
	from dnslib import DNSRecord, QTYPE
	host, qtype, mode, orflags, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
	q = DNSRecord.question(host, qtype)
	# Over TCP, so that a large answer arrives whole (UDP would be truncated).
	s = socket.create_connection(("127.0.0.1", 53), timeout=2)
	s.sendall(len(q.pack()).to_bytes(2, "big") + q.pack())
	buf = b""
	while len(buf) < 2 or len(buf) < 2 + int.from_bytes(buf[:2], "big"):
	    chunk = s.recv(65535)
	    if not chunk:
	        raise SystemExit("short TCP reply")
	    buf += chunk
	r = buf[2:2 + int.from_bytes(buf[:2], "big")]
	qend = 12 + len(q.pack()) - 12     # a one-question query: header + question
	flags = ((r[2] << 8) | r[3]) | orflags
	seed = bytes([mode, flags >> 8, flags & 0xff]) + r[4:12] + r[qend:]
	open(path, "wb").write(seed)
	PY
}

case_zone() { zone_begin "$zone" 60; }
serve() {
	if [ -z "$KVF_DNS_PID" ]; then dns_start "$zone"; else dns_reload; fi
}

# Mode byte: bits 0-1 allow-private (0 no, 1 auto, 2 yes), bits 2-7 cap-1.
AUTO64=$(( (63 << 2) | 1 ))
AUTO4=$(( (3 << 2) | 1 ))

case_zone
zone_chain 300 $HOST data-prod-weu.vaultcore.azure.net
zone_addrs data-prod-weu.vaultcore.azure.net 60 192.0.2.10 192.0.2.11 2001:db8::10
serve
capture cname-a A $AUTO64
capture cname-aaaa AAAA $AUTO64
capture cname-a-tc A $AUTO64 512	# TC: c-ares retries over TCP

case_zone
zone_chain 300 $HOST $HOST.privatelink.vaultcore.azure.net
zone_addrs $HOST.privatelink.vaultcore.azure.net 10 10.1.2.3 fd00::3
serve
capture privatelink-a A $AUTO64
capture privatelink-aaaa AAAA $AUTO64

case_zone
zone_rr unrelated.example.org 60 A 192.0.2.1
serve
capture nxdomain A $AUTO64
zone_rr $HOST 60 TXT '"no address"'
serve
capture nodata A $AUTO64

case_zone
i=0
while [ $i -lt 100 ]; do zone_addrs $HOST 30 "198.51.100.$i"; i=$((i + 1)); done
serve
capture hundred-a-cap4 A $AUTO4

case_zone
zone_chain 0 $HOST a.example.net b.example.net c.example.net d.example.net
zone_addrs d.example.net 2147483647 127.0.0.1 0.0.0.0 224.0.0.1 169.254.1.1 255.255.255.255 203.0.113.7
zone_addrs d.example.net 2147483647 ::1 :: fe80::1 ff02::1 ::ffff:192.0.2.1 2001:db8::7
serve
capture chain-bad-addrs-a A 0
capture chain-bad-addrs-aaaa AAAA 2
ls -l "$OUTDIR" >&2
