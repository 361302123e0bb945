#!/bin/bash
# DNS answers are untrusted: `kvfence sync` never inserts loopback, private,
# multicast, link-local, unspecified, broadcast, reserved or IPv4-mapped
# addresses (the public ones of the same host are inserted, each rejection
# is logged naming host and address); a private address is accepted under
# `allow-private auto` only through a Key Vault Private Link zone
# (privatelink.vaultcore.azure.net), not through Entra's
# ak.privatelink.msidentity.com; `allow-private no` refuses both and
# `allow-private yes` accepts both.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

bad4="127.0.0.1 10.1.2.3 172.16.5.5 192.168.1.1 100.64.1.1 224.0.0.1 169.254.1.1 0.0.0.0 255.255.255.255 240.0.0.1"
bad6=":: ::1 fe80::1 ff02::1 fc00::1 ::ffff:192.0.2.1"

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
# One host answering every kind of bad address beside one good one per family.
zone_chain 60 mixed.example.com edge.mixed.example.com
# shellcheck disable=SC2086
zone_addrs edge.mixed.example.com 60 $bad4 192.0.2.50 $bad6 2001:db8::50
# A vault behind its private endpoint: a Key Vault Private Link zone.
zone_chain 60 plvault.vault.azure.net plvault.privatelink.vaultcore.azure.net
zone_addrs plvault.privatelink.vaultcore.azure.net 60 10.20.30.40
# Entra's chain passes through a privatelink. label that is no Key Vault zone.
zone_chain 60 login.microsoftonline.com login.mso.msidentity.com \
	ak.privatelink.msidentity.com
zone_addrs ak.privatelink.msidentity.com 60 10.9.8.7
dns_start "$zone"

write_conf() {	# $1: file, $2: allow-private value or "" for the default
	{
		printf 'vault plvault\nendpoints auth vault\nhost mixed.example.com 443\n'
		[ -z "$2" ] || echo "allow-private $2"
		kvf_conf_base
	} > "$1"
}

# Default (allow-private auto).
write_conf "$KVF_TMP/auto.conf" ""
kvf_run auto -c "$KVF_TMP/auto.conf" sync
expect_rc 0 "sync (allow-private auto)"
cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.50 . 443 comment "mixed.example.com"
	10.20.30.40 . 443 comment "plvault.vault.azure.net"
EOF
cat > "$KVF_TMP/want6" <<-'EOF'
	2001:db8::50 . 443 comment "mixed.example.com"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
logged() {	# HOST ADDR: a line of auto.err names the host and, as a word, the address
	grep -F -- "$1" "$KVF_TMP/auto.err" | tr -s ' \t,;()"[]' '\n' | grep -qxF -- "$2"
}
for a in $bad4 $bad6; do
	logged mixed.example.com "$a" || fail "the rejection of $a (mixed.example.com) is not logged"
done
logged login.microsoftonline.com 10.9.8.7 ||
	fail "the rejection of 10.9.8.7 (login.microsoftonline.com) is not logged"

# allow-private no: the Private Link vault is refused too (and its element,
# inserted above, removed).
write_conf "$KVF_TMP/no.conf" no
kvf_run no -c "$KVF_TMP/no.conf" sync
expect_rc 0 "sync (allow-private no)"
cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.50 . 443 comment "mixed.example.com"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# The same from an empty ruleset: never inserted in the first place.
nft flush ruleset || hard_error "nft flush ruleset"
kvf_run no2 -c "$KVF_TMP/no.conf" sync
expect_rc 0 "sync (allow-private no, empty ruleset)"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# allow-private yes: private addresses pass whatever the chain; loopback,
# multicast, link-local, mapped and the rest still never do.
write_conf "$KVF_TMP/yes.conf" yes
kvf_run yes -c "$KVF_TMP/yes.conf" sync
expect_rc 0 "sync (allow-private yes)"
cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.50 . 443 comment "mixed.example.com"
	10.1.2.3 . 443 comment "mixed.example.com"
	172.16.5.5 . 443 comment "mixed.example.com"
	192.168.1.1 . 443 comment "mixed.example.com"
	100.64.1.1 . 443 comment "mixed.example.com"
	10.20.30.40 . 443 comment "plvault.vault.azure.net"
	10.9.8.7 . 443 comment "login.microsoftonline.com"
EOF
cat > "$KVF_TMP/want6" <<-'EOF'
	2001:db8::50 . 443 comment "mixed.example.com"
	fc00::1 . 443 comment "mixed.example.com"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
exit 0
