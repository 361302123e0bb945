#!/bin/bash
# Two vaults of one region share the regional front end's addresses (both
# CNAME to data-prod-weu.vaultcore.azure.net), so both want the same
# `address . 443` element. `kvfence sync` writes it once with a comment
# naming one of them, does not rewrite it on the next sync (no flapping
# between the two comments), keeps it while either vault still answers it,
# then names the vault that still does (and keeps naming it when the
# other comes back), and removes it when neither does.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" -- "$@"

zone=$KVF_TMP/root.zone
write_zone() {	# $1: where contoso-prod points, $2: where fabrikam-kv points
	zone_begin "$zone" 60
	zone_chain 60 data-prod-weu.vaultcore.azure.net weu.tm.prd.r.kv.aadg.trafficmanager.net
	zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 192.0.2.10 192.0.2.11
	zone_addrs data-prod-neu.vaultcore.azure.net 60 198.51.100.5
	zone_addrs data-prod-eus.vaultcore.azure.net 60 203.0.113.7
	zone_rr contoso-prod.vault.azure.net 60 CNAME "$1"
	zone_rr fabrikam-kv.vault.azure.net 60 CNAME "$2"
}

conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod fabrikam-kv\nendpoints vault\nset6 none\n'
	kvf_conf_base
} > "$conf"

shared_ok() {	# ADDR: one element ADDR . 443 whose comment names one of the vaults
	set_elems inet filter kvfence4 | grep -qxE \
		"${1//./\\.} \\. 443 comment \"(contoso-prod|fabrikam-kv)\\.vault\\.azure\\.net\""
}

write_zone data-prod-weu.vaultcore.azure.net data-prod-weu.vaultcore.azure.net
dns_start "$zone"

kvf_run sync1 -c "$conf" sync
expect_rc 0 "first sync"
[ "$(set_elems inet filter kvfence4 | wc -l)" -eq 2 ] ||
	fail "kvfence4 should hold 2 elements: $(set_elems inet filter kvfence4)"
shared_ok 192.0.2.10 || fail "192.0.2.10 . 443 is not there, commented with a vault"
shared_ok 192.0.2.11 || fail "192.0.2.11 . 443 is not there, commented with a vault"

kvf_run sync2 -c "$conf" sync
expect_rc 0 "second sync"
assert_grep "$KVF_TMP/sync2.err" 'netlink-messages=0([^0-9]|$)' \
	"the second sync rewrote the shared elements (flapping between the two comments)"

# contoso-prod moves to its own front end; fabrikam-kv still uses the shared one.
write_zone data-prod-neu.vaultcore.azure.net data-prod-weu.vaultcore.azure.net
dns_reload
kvf_run sync3 -c "$conf" sync
expect_rc 0 "sync after contoso-prod moved"
shared_ok 192.0.2.10 || fail "192.0.2.10 . 443 was removed although fabrikam-kv still answers it"
shared_ok 192.0.2.11 || fail "192.0.2.11 . 443 was removed although fabrikam-kv still answers it"
assert_set_has inet filter kvfence4 '198.51.100.5 . 443 comment "contoso-prod.vault.azure.net"'
[ "$(set_elems inet filter kvfence4 | wc -l)" -eq 3 ] ||
	fail "kvfence4 should hold 3 elements: $(set_elems inet filter kvfence4)"

kvf_run sync4 -c "$conf" sync
expect_rc 0 "sync with unchanged DNS"
assert_grep "$KVF_TMP/sync4.err" 'netlink-messages=0([^0-9]|$)' \
	"a sync with unchanged DNS rewrote elements"

# The element explains itself: it names the vault that answers it.
assert_set_has inet filter kvfence4 '192.0.2.10 . 443 comment "fabrikam-kv.vault.azure.net"'
assert_set_has inet filter kvfence4 '192.0.2.11 . 443 comment "fabrikam-kv.vault.azure.net"'

# contoso-prod comes back to the shared front end: the elements name
# fabrikam-kv, which still answers them, and stay as they are, although
# contoso-prod comes first in kvfence's list of hosts.
write_zone data-prod-weu.vaultcore.azure.net data-prod-weu.vaultcore.azure.net
dns_reload
kvf_run sync4b -c "$conf" sync
expect_rc 0 "sync after contoso-prod came back"
assert_set_has inet filter kvfence4 '192.0.2.10 . 443 comment "fabrikam-kv.vault.azure.net"'
assert_set_has inet filter kvfence4 '192.0.2.11 . 443 comment "fabrikam-kv.vault.azure.net"'
kvf_run sync4c -c "$conf" sync
expect_rc 0 "second sync after contoso-prod came back"
assert_grep "$KVF_TMP/sync4c.err" 'netlink-messages=0([^0-9]|$)' \
	"a shared element naming a vault that still answers it was rewritten for another"
assert_set_has inet filter kvfence4 '192.0.2.10 . 443 comment "fabrikam-kv.vault.azure.net"'

# fabrikam-kv moves too: nobody answers the shared addresses any more.
write_zone data-prod-neu.vaultcore.azure.net data-prod-eus.vaultcore.azure.net
dns_reload
kvf_run sync5 -c "$conf" sync
expect_rc 0 "sync after both moved"
cat > "$KVF_TMP/want4" <<-'EOF'
	198.51.100.5 . 443 comment "contoso-prod.vault.azure.net"
	203.0.113.7 . 443 comment "fabrikam-kv.vault.azure.net"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
exit 0
