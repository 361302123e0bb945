#!/bin/bash
# Answers at the edges of what DNS carries, through `kvfence sync`: a UDP
# reply with the TC bit is retried over TCP and its addresses taken; 500
# A and 500 AAAA records for one host are capped at max-addresses-per-host
# (the rest left out, logged); a 60-hop CNAME chain resolves (c-ares 1.18.1
# sets no bound of its own); a CNAME loop gives no address, ends at once
# and does not disturb the other hosts.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

fakedns_begin
fakedns_rule tc.example.com answer tc=1 a=192.0.2.10 aaaa=2001:db8::10
# 500 A for one host, 500 AAAA for another: the cap is per host.
fakedns_rule many4.example.com A answer a-gen=198.51.100.1/250,203.0.113.1/250
fakedns_rule many4.example.com AAAA nodata
fakedns_rule many6.example.com AAAA answer aaaa-gen=2001:db8:500::1/500
fakedns_rule many6.example.com A nodata
for i in $(seq 1 60); do
	fakedns_rule "c$i.chain.example.com" answer "cname=c$((i + 1)).chain.example.com"
done
fakedns_rule c61.chain.example.com answer a=192.0.2.61 aaaa=2001:db8::61
fakedns_rule loop1.example.com answer cname=loop2.example.com
fakedns_rule loop2.example.com answer cname=loop3.example.com
fakedns_rule loop3.example.com answer cname=loop1.example.com
fakedns_rule plain.example.com answer a=192.0.2.1 aaaa=2001:db8::1
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	echo "endpoints none"
	for h in tc many4 many6 c1.chain loop1 plain; do echo "host $h.example.com 443"; done
	echo "max-addresses-per-host 64"
	kvf_conf_base
} > "$conf"
start=$(( $(date +%s%N) / 1000000 ))
kvf_run sync -c "$conf" sync
took=$(( $(date +%s%N) / 1000000 - start ))
fakedns_dump
echo "sync took $took ms" >&2
[ "$took" -lt 10000 ] || fail "sync took $took ms"
# No host failed: the loop has no address but is no resolution failure
# to keep anything for (it had nothing).
expect_rc 0 "sync"

e4=$(set_elems inet filter kvfence4) || fail "kvfence4 cannot be listed"
e6=$(set_elems inet filter kvfence6) || fail "kvfence6 cannot be listed"

# TC bit: the same question again over TCP, and its answer taken.
for t in A AAAA; do
	[ "$(fakedns_queries tc.example.com "$t" udp)" -ge 1 ] || fail "tc: no UDP $t query"
	[ "$(fakedns_queries tc.example.com "$t" tcp)" -ge 1 ] ||
		fail "tc: the truncated $t answer was not retried over TCP"
done
assert_set_has inet filter kvfence4 '192.0.2.10 . 443 comment "tc.example.com"'
assert_set_has inet filter kvfence6 '2001:db8::10 . 443 comment "tc.example.com"'

# 500 records: 64 kept, the rest logged as left out.
count() { printf '%s\n' "$1" | grep -c "comment \"$2\"$"; }
[ "$(count "$e4" many4.example.com)" -eq 64 ] ||
	fail "many4: $(count "$e4" many4.example.com) elements, expected 64"
[ "$(count "$e6" many6.example.com)" -eq 64 ] ||
	fail "many6: $(count "$e6" many6.example.com) elements, expected 64"
! printf '%s\n' "$e4" | grep 'many4\.example\.com' |
	grep -qvE '^(198\.51\.100|203\.0\.113)\.' || fail "many4: an element not from the answer"
! printf '%s\n' "$e6" | grep 'many6\.example\.com' |
	grep -qv '^2001:db8:500::' || fail "many6: an element not from the answer"
for h in many4 many6; do
	assert_grep "$KVF_TMP/sync.err" "$h\.example\.com: answered more than max-addresses-per-host 64 addresses; 436 left out" \
		"$h: the cap is not logged with the count left out"
done

# The 60-hop chain resolves to its end.
assert_set_has inet filter kvfence4 '192.0.2.61 . 443 comment "c1.chain.example.com"'
assert_set_has inet filter kvfence6 '2001:db8::61 . 443 comment "c1.chain.example.com"'

# The loop: nothing, and the plain host beside it is fine.
! printf '%s\n' "$e4" | grep -q loop1 || fail "the CNAME loop produced an IPv4 element"
! printf '%s\n' "$e6" | grep -q loop1 || fail "the CNAME loop produced an IPv6 element"
[ "$(fakedns_queries loop1.example.com A)" -le 2 ] || fail "the CNAME loop was queried again and again"
assert_set_has inet filter kvfence4 '192.0.2.1 . 443 comment "plain.example.com"'
assert_set_has inet filter kvfence6 '2001:db8::1 . 443 comment "plain.example.com"'
exit 0
