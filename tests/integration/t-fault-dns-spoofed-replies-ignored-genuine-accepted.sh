#!/bin/bash
# A spoofed reply that reaches kvfence before the genuine one is ignored
# and the genuine one is taken: a reply with a wrong id, one whose question
# names another host (the other host's address must not be taken for this
# one), and bytes that are no DNS message. `kvfence sync` exits 0, the sets
# hold the genuine addresses only.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

fakedns_begin
fakedns_rule contoso-prod.vault.azure.net wrongid follow=1 \
	a=192.0.2.10 aaaa=2001:db8::10 spoof-a=203.0.113.66 spoof-aaaa=2001:db8:bad::66
# The spoof answers the question of another configured host, with an
# address of its own: it must not be filed under that host either.
fakedns_rule login.microsoftonline.com wrongname follow=1 spoof=management.azure.com \
	a=192.0.2.20 aaaa=2001:db8::20 spoof-a=203.0.113.67 spoof-aaaa=2001:db8:bad::67
fakedns_rule management.azure.com malformed kind=garbage follow=1 \
	a=192.0.2.30 aaaa=2001:db8::30
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	echo "vault contoso-prod"
	echo "endpoints vault"
	echo "host login.microsoftonline.com 443"
	echo "host management.azure.com 443"
	kvf_conf_base
} > "$conf"
kvf_run sync -c "$conf" sync
fakedns_dump
expect_rc 0 "sync with spoofed replies ahead of the genuine ones"
cat > "$KVF_TMP/want4" <<-'EOF2'
	192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"
	192.0.2.20 . 443 comment "login.microsoftonline.com"
	192.0.2.30 . 443 comment "management.azure.com"
EOF2
sed -e 's/^192\.0\.2\./2001:db8::/' "$KVF_TMP/want4" > "$KVF_TMP/want6"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
# Each spoof was really sent (once per family at least).
for h in contoso-prod.vault.azure.net login.microsoftonline.com management.azure.com; do
	[ "$(fakedns_queries "$h" A)" -ge 1 ] && [ "$(fakedns_queries "$h" AAAA)" -ge 1 ] ||
		fail "$h: the fake server saw no query of each family"
done
exit 0
