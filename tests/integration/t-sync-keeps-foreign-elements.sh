#!/bin/bash
# `kvfence sync` removes only what it owns: elements added by hand (with or
# without a comment, even one that looks like a host name) survive every
# sync; an element of ours whose host no longer answers that address is
# removed; a host that moves to a new address gets the new one instead.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
write_zone() {	# $1: contoso-prod's address, $2..: fabrikam-kv's addresses
	local contoso=$1
	shift
	zone_begin "$zone" 60
	zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net \
		weu.tm.prd.r.kv.aadg.trafficmanager.net
	zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 "$contoso" 2001:db8:10::1
	zone_chain 60 fabrikam-kv.vault.azure.net data-prod-neu.vaultcore.azure.net
	zone_addrs data-prod-neu.vaultcore.azure.net 60 "$@"
}

conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod fabrikam-kv\nendpoints vault\n'
	kvf_conf_base
} > "$conf"

write_zone 192.0.2.10 198.51.100.30 198.51.100.31 2001:db8:30::30
dns_start "$zone"

kvf_run sync1 -c "$conf" sync
expect_rc 0 "first sync"

# The administrator's own elements, in kvfence's sets.
nft add element inet filter kvfence4 '{ 203.0.113.99 . 443 }' &&
nft add element inet filter kvfence4 '{ 203.0.113.98 . 8443 comment "added by hand" }' &&
nft add element inet filter kvfence4 '{ 203.0.113.97 . 443 comment "old-vault.vault.azure.net" }' &&
nft add element inet filter kvfence6 '{ 2001:db8:99::99 . 443 }' &&
nft add element inet filter kvfence6 '{ 2001:db8:99::98 . 443 comment "admin" }' ||
	hard_error "cannot add elements by hand"

foreign4='203.0.113.99 . 443
203.0.113.98 . 8443 comment "added by hand"
203.0.113.97 . 443 comment "old-vault.vault.azure.net"'
foreign6='2001:db8:99::99 . 443
2001:db8:99::98 . 443 comment "admin"'

# Unchanged DNS: nothing of ours or theirs moves.
kvf_run sync2 -c "$conf" sync
expect_rc 0 "second sync"
cat > "$KVF_TMP/want4" <<-EOF
	$foreign4
	192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"
	198.51.100.30 . 443 comment "fabrikam-kv.vault.azure.net"
	198.51.100.31 . 443 comment "fabrikam-kv.vault.azure.net"
EOF
cat > "$KVF_TMP/want6" <<-EOF
	$foreign6
	2001:db8:10::1 . 443 comment "contoso-prod.vault.azure.net"
	2001:db8:30::30 . 443 comment "fabrikam-kv.vault.azure.net"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# contoso-prod moves to a new address; fabrikam-kv stops answering one
# address of each family.
write_zone 192.0.2.20 198.51.100.31
dns_reload
kvf_run sync3 -c "$conf" sync
expect_rc 0 "sync after the DNS change"
cat > "$KVF_TMP/want4" <<-EOF
	$foreign4
	192.0.2.20 . 443 comment "contoso-prod.vault.azure.net"
	198.51.100.31 . 443 comment "fabrikam-kv.vault.azure.net"
EOF
cat > "$KVF_TMP/want6" <<-EOF
	$foreign6
	2001:db8:10::1 . 443 comment "contoso-prod.vault.azure.net"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
assert_grep "$KVF_TMP/sync3.err" 'set=kvfence4 added=1 removed=2 size=5' "no kvfence4 line"
assert_grep "$KVF_TMP/sync3.err" 'set=kvfence6 added=0 removed=1 size=3' "no kvfence6 line"
exit 0
