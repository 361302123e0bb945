#!/bin/bash
# kvfence.conf(5) host: a host that is also in the catalogue, or named
# with several ports, is resolved once and allowed on all its ports; a
# trailing dot is ignored. Attacked with the same name three ways (the
# catalogue's 443, a host line with 8443, the same name with a trailing
# dot and mixed case on 9443): one A and one AAAA query, every port in
# the set, and the name in the element comment as configured (no dot).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

fakedns_begin
fakedns_rule login.microsoftonline.com answer a=192.0.2.20 aaaa=2001:db8::20 ttl=300
fakedns_rule adfs.contoso.com answer a=192.0.2.30 ttl=300
fakedns_rule adfs.contoso.com AAAA nodata
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints auth\n'
	printf 'host login.microsoftonline.com 8443\n'
	printf 'host Login.MicrosoftOnline.com. 9443\n'
	printf 'host adfs.contoso.com 443\nhost adfs.contoso.com. 8443\n'
	kvf_conf_base
} > "$conf"
kvf_run sync -c "$conf" sync
fakedns_dump
expect_rc 0 "sync"
for n in login.microsoftonline.com adfs.contoso.com; do
	for t in A AAAA; do
		q=$(fakedns_queries "$n" "$t")
		[ "$q" -eq 1 ] || fail "$n $t was queried $q times, expected once"
	done
done
want=$KVF_TMP/want4
cat > "$want" <<-'EOF'
	192.0.2.20 . 443 comment "login.microsoftonline.com"
	192.0.2.20 . 8443 comment "login.microsoftonline.com"
	192.0.2.20 . 9443 comment "login.microsoftonline.com"
	192.0.2.30 . 443 comment "adfs.contoso.com"
	192.0.2.30 . 8443 comment "adfs.contoso.com"
	EOF
assert_set_elems inet filter kvfence4 "$want"
for p in 443 8443 9443; do
	assert_set_has inet filter kvfence6 "2001:db8::20 . $p comment \"login.microsoftonline.com\""
done
exit 0
