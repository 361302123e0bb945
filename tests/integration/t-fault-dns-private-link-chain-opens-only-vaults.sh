#!/bin/bash
# allow-private auto lets a private address in only for a vault or a
# managed HSM of the config whose CNAME chain runs through a Key Vault /
# Managed HSM Private Link zone. A resolver that puts the same Private
# Link hop in front of a CRL host or a `host` line gets nothing in: the
# addresses (10.0.0.80, 192.168.1.1) are rejected and logged per host,
# while the vault with the very same chain gets them.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

pl=shared.privatelink.vaultcore.azure.net
fakedns_begin
fakedns_rule plvault.vault.azure.net answer cname=$pl
fakedns_rule crl3.digicert.com answer cname=$pl
fakedns_rule adfs.contoso.com answer cname=$pl
fakedns_rule $pl A answer a=10.0.0.80,192.168.1.1
fakedns_rule $pl AAAA nodata
# A CRL host on a public chain still gets its address.
fakedns_rule crl4.digicert.com A answer a=198.51.100.4
fakedns_rule crl4.digicert.com AAAA nodata
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	echo "vault plvault"
	echo "endpoints vault crl"
	echo "host adfs.contoso.com 443"
	echo "allow-private auto"
	kvf_conf_base
} > "$conf"
kvf_run sync -c "$conf" sync
printf '%s\n' \
	'10.0.0.80 . 443 comment "plvault.vault.azure.net"' \
	'192.168.1.1 . 443 comment "plvault.vault.azure.net"' \
	'198.51.100.4 . 80 comment "crl4.digicert.com"' > "$KVF_TMP/want4"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"

rejected() {	# HOST ADDR: a rejection line of sync.err names the host and the address
	grep -F -- "host $1: rejected" "$KVF_TMP/sync.err" |
		tr -s ' \t,;()"[]' '\n' | grep -qxF -- "$2"
}
for h in crl3.digicert.com adfs.contoso.com; do
	for a in 10.0.0.80 192.168.1.1; do
		rejected "$h" "$a" || fail "$h: the rejection of $a is not logged"
	done
done
assert_grep "$KVF_TMP/sync.err" "host crl3\.digicert\.com: rejected private address 10\.0\.0\.80 .*only for vault and managed-hsm hosts" \
	"the rejection does not say why the Private Link chain did not count"
assert_no_grep "$KVF_TMP/sync.err" "host plvault\.vault\.azure\.net: rejected" \
	"the vault's private addresses were rejected"
exit 0
