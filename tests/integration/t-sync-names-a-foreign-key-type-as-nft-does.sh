#!/bin/bash
# A set the administrator declared with a key type kvfence cannot fill is
# refused with its type named as nft names it (ether_addr, ipv4_addr .
# ifname), not as the kernel's packed number; the other set is written.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 120
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10 2001:db8::10
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } > "$conf"
dns_start "$zone"

for type in 'ether_addr' 'ipv4_addr . ifname' 'mark . inet_service'; do
	nft flush ruleset
	nft -f - <<-EOF || hard_error "cannot declare a set of type $type"
	table inet filter {
		set kvfence4 { type $type; }
		set kvfence6 { type ipv6_addr . inet_service; }
	}
	EOF
	kvf_run sync -c "$conf" sync
	expect_rc "$KVF_EX_UNAVAILABLE" "sync with kvfence4 of type $type"
	assert_grep "$KVF_TMP/sync.err" "kvfence4: key type $type \\(" \
		"the foreign type $type is not named as nft names it"
	assert_no_grep "$KVF_TMP/sync.err" "key type [0-9]" "a key type printed as a number"
	assert_set_has inet filter kvfence6 '2001:db8::10 . 443 comment "contoso-prod.vault.azure.net"'
done
exit 0
