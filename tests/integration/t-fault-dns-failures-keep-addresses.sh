#!/bin/bash
# Hostile or broken DNS, one fault per host, against `kvfence sync` on
# filled sets: no reply (timeout), SERVFAIL, REFUSED, a reply too short to
# be a header, a reply claiming answers that are not there, a reply with a
# self-referencing compression pointer, and a lone spoofed reply (wrong
# id, or wrong question name) with nothing genuine behind it. Each such
# host keeps every address it had (fail-static), no spoofed address gets
# in, the host that does answer is updated in the same run, sync exits 69
# and names each failure; the whole run is bounded by c-ares' timeouts.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

faults="timeout servfail refused short badcount badptr wrongid wrongname"
host() { printf '%s.example.com' "$1"; }

# Round 1: every host answers; host number i has 192.0.2.i and 2001:db8::i.
fakedns_begin
fakedns_rule "$(host good)" answer a=192.0.2.1 aaaa=2001:db8::1
i=10
for f in $faults; do
	fakedns_rule "$(host "$f")" answer a=192.0.2.$i aaaa=2001:db8::$i
	i=$((i + 1))
done
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	echo "endpoints none"
	for f in good $faults; do echo "host $(host "$f") 443"; done
	kvf_conf_base
} > "$conf"
kvf_run first -c "$conf" sync
expect_rc 0 "sync with every host answering"
{
	echo "192.0.2.1 . 443 comment \"$(host good)\""
	i=10
	for f in $faults; do echo "192.0.2.$i . 443 comment \"$(host "$f")\""; i=$((i + 1)); done
} > "$KVF_TMP/want4"
sed -e 's/^192\.0\.2\./2001:db8::/' "$KVF_TMP/want4" > "$KVF_TMP/want6"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# Round 2: the good host moves; every other host fails in its own way.
fakedns_begin
fakedns_rule "$(host good)" answer a=192.0.2.2 aaaa=2001:db8::2
fakedns_rule "$(host timeout)" timeout
fakedns_rule "$(host servfail)" servfail
fakedns_rule "$(host refused)" refused
fakedns_rule "$(host short)" malformed kind=short
fakedns_rule "$(host badcount)" malformed kind=badcount
fakedns_rule "$(host badptr)" malformed kind=badptr
fakedns_rule "$(host wrongid)" wrongid spoof-a=203.0.113.66
fakedns_rule "$(host wrongname)" wrongname "spoof=$(host good)" spoof-a=203.0.113.67
fakedns_commit

start=$(( $(date +%s%N) / 1000000 ))
kvf_run second -c "$conf" sync
took=$(( $(date +%s%N) / 1000000 - start ))
fakedns_dump
echo "sync with 8 failing hosts took $took ms" >&2
expect_rc "$KVF_EX_UNAVAILABLE" "sync with failing hosts"
[ "$took" -lt 15000 ] || fail "sync took $took ms: failures must be bounded by c-ares' timeouts"
sed -i -e 's/^192\.0\.2\.1 /192.0.2.2 /' "$KVF_TMP/want4"
sed -i -e 's/^2001:db8::1 /2001:db8::2 /' "$KVF_TMP/want6"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

err=$KVF_TMP/second.err
expect_status() {	# HOST STATUS: both families' failures are logged with STATUS
	local fam
	for fam in A AAAA; do
		grep -F "host $1: $fam query failed: $2;" "$err" >/dev/null ||
			fail "$1: the $fam failure is not logged as \"$2\""
	done
}
expect_status "$(host timeout)" timeout
expect_status "$(host servfail)" servfail/refused/unreachable
expect_status "$(host refused)" servfail/refused/unreachable
expect_status "$(host short)" timeout
expect_status "$(host badcount)" error
expect_status "$(host badptr)" error
expect_status "$(host wrongid)" timeout
expect_status "$(host wrongname)" timeout
assert_no_grep "$err" "$(host good): .*failed" "the answering host is reported as failed"
assert_grep "$err" 'failed=8' "sync does not count 8 failed hosts"
# The spoofed replies were seen (the server logs them), and ignored.
[ "$(fakedns_queries "$(host wrongid)" A udp)" -ge 1 ] || fail "the spoof of wrongid was never sent"
assert_set_lacks inet filter kvfence4 203.0.113.66
assert_set_lacks inet filter kvfence4 203.0.113.67
assert_set_lacks inet filter kvfence6 2001:db8:bad::66
exit 0
