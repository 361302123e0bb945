#!/bin/bash
# A hostile server answers each host with one kind of address that must
# never open the firewall, alone (no good address beside it): loopback,
# unspecified, link-local, multicast, broadcast, IPv4-mapped IPv6 and
# private (RFC 1918 and fc00::/7). None reaches the sets, each rejection
# names its host. Under allow-private auto a private address does get in
# for a vault whose CNAME chain runs through privatelink.vaultcore.azure.net,
# and does not for a chain through a look-alike zone.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

# kind A-answer AAAA-answer
bad="loopback 127.0.0.2 ::1
unspecified 0.0.0.0 ::
linklocal 169.254.7.7 fe80::7
multicast 239.1.2.3 ff05::2
broadcast 255.255.255.255 -
mapped - ::ffff:192.0.2.7
private 192.168.7.7 fd00::7"

fakedns_begin
while read -r kind a4 a6; do
	args=
	[ "$a4" = - ] || args="a=$a4"
	[ "$a6" = - ] || args="$args aaaa=$a6"
	# shellcheck disable=SC2086
	fakedns_rule "$kind.example.com" answer $args
	[ "$a4" != - ] || fakedns_rule "$kind.example.com" A nodata
	[ "$a6" != - ] || fakedns_rule "$kind.example.com" AAAA nodata
done <<< "$bad"
fakedns_rule plvault.vault.azure.net answer cname=plvault.privatelink.vaultcore.azure.net
fakedns_rule plvault.privatelink.vaultcore.azure.net answer a=10.20.30.40 aaaa=fd00::40
# privatelink.vaultcore.azure.net.evil.example: the zone name, not as a suffix.
fakedns_rule fakevault.vault.azure.net answer cname=fakevault.privatelink.vaultcore.azure.net.evil.example
fakedns_rule fakevault.privatelink.vaultcore.azure.net.evil.example answer a=10.50.60.70 aaaa=fd00::70
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	echo "vault plvault"
	echo "vault fakevault"
	echo "endpoints vault"
	while read -r kind _; do echo "host $kind.example.com 443"; done <<< "$bad"
	kvf_conf_base
} > "$conf"
kvf_run sync -c "$conf" sync
# Every host answered definitely (addresses, all rejected): nothing failed.
expect_rc 0 "sync"
cat > "$KVF_TMP/want4" <<-'EOF2'
	10.20.30.40 . 443 comment "plvault.vault.azure.net"
EOF2
cat > "$KVF_TMP/want6" <<-'EOF2'
	fd00::40 . 443 comment "plvault.vault.azure.net"
EOF2
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

logged() {	# HOST ADDR: a line of sync.err names the host and, as a word, the address
	grep -F -- "host $1:" "$KVF_TMP/sync.err" | tr -s ' \t,;()"[]' '\n' | grep -qxF -- "$2"
}
while read -r kind a4 a6; do
	for a in $a4 $a6; do
		[ "$a" = - ] && continue
		logged "$kind.example.com" "$a" || fail "$kind: the rejection of $a is not logged"
	done
done <<< "$bad"
logged fakevault.vault.azure.net 10.50.60.70 || fail "fakevault: the rejection of 10.50.60.70 is not logged"
logged fakevault.vault.azure.net fd00::70 || fail "fakevault: the rejection of fd00::70 is not logged"
exit 0
