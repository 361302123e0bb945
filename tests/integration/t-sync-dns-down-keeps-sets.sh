#!/bin/bash
# Fail-static: when the DNS server is gone (stopped: connection refused) or
# hangs (no answer: timeout), `kvfence sync` exits 69, names each failing host
# and the reason on stderr, and leaves the ruleset byte-identical. When one
# host fails (SERVFAIL) and the others answer, the others are reconciled,
# the failing host keeps its elements, and sync still exits 69.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" -- "$@"

zone=$KVF_TMP/root.zone
write_zone() {	# $1: contoso-prod's IPv4 address
	zone_begin "$zone" 60
	zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net \
		weu.tm.prd.r.kv.aadg.trafficmanager.net
	zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 "$1" 2001:db8:10::1
	zone_addrs management.azure.com 60 198.51.100.40 2001:db8:40::40
}
write_zone 192.0.2.10

conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault management\n'
	kvf_conf_base
} > "$conf"

dns_start "$zone"
kvf_run fill -c "$conf" sync
expect_rc 0 "the first sync"
nft add element inet filter kvfence4 '{ 203.0.113.99 . 443 comment "added by hand" }' ||
	hard_error "nft add element"
nft -a list ruleset > "$KVF_TMP/before" || hard_error "nft list ruleset"
grep -qF '192.0.2.10 . 443' "$KVF_TMP/before" || fail "the first sync did not fill kvfence4"

expect_unchanged() {	# $1: what happened
	nft -a list ruleset > "$KVF_TMP/after" || hard_error "nft list ruleset"
	cmp -s "$KVF_TMP/before" "$KVF_TMP/after" ||
		fail "$1 changed the ruleset: $(diff "$KVF_TMP/before" "$KVF_TMP/after")"
}

expect_named() {	# $1: stderr file, $2: host, $3: ERE of acceptable reasons
	grep -F "$2" "$1" | grep -qE -- "$3" ||
		fail "stderr does not name the failure of $2 (/$3/)"
}

# 1. The server is stopped.
dns_stop
kvf_run down -c "$conf" sync
expect_rc "$KVF_EX_UNAVAILABLE" "sync with the DNS server stopped"
for h in contoso-prod.vault.azure.net management.azure.com; do
	expect_named "$KVF_TMP/down.err" "$h" 'timeout|refused|unreachable'
done
expect_unchanged "a sync with the DNS server stopped"

# 2. The server hangs: it holds the queries and never answers.
dns_start "$zone"
kill -STOP "$KVF_DNS_PID" || hard_error "cannot stop knotd"
wait_until 5 kvf_stopped "$KVF_DNS_PID" || hard_error "knotd did not stop"
kvf_run hang -c "$conf" sync
kill -CONT "$KVF_DNS_PID"
expect_rc "$KVF_EX_UNAVAILABLE" "sync with a hanging DNS server"
for h in contoso-prod.vault.azure.net management.azure.com; do
	expect_named "$KVF_TMP/hang.err" "$h" 'timeout'
done
expect_unchanged "a sync with a hanging DNS server"

# 3. One host fails (its name lies in a zone that answers SERVFAIL) while
#    the others answer, one of them with a new address: that one is
#    reconciled, the failing one keeps its elements.
nft add element inet filter kvfence4 \
	'{ 203.0.113.61 . 443 comment "a.servfail.kvfence-test" }' || hard_error "nft add element"
sfconf=$KVF_TMP/servfail.conf
{
	cat "$conf"
	echo 'host a.servfail.kvfence-test 443'
} > "$sfconf"
write_zone 192.0.2.20
dns_reload
kvf_run partial -c "$sfconf" sync
expect_rc "$KVF_EX_UNAVAILABLE" "sync with one host failing"
expect_named "$KVF_TMP/partial.err" a.servfail.kvfence-test 'servfail'
assert_grep "$KVF_TMP/partial.err" 'hosts=3 failed=1' "the summary does not count the failure"
cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.20 . 443 comment "contoso-prod.vault.azure.net"
	198.51.100.40 . 443 comment "management.azure.com"
	203.0.113.61 . 443 comment "a.servfail.kvfence-test"
	203.0.113.99 . 443 comment "added by hand"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
exit 0
