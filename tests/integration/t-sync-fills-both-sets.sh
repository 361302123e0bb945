#!/bin/bash
# One `kvfence sync` creates inet filter kvfence4/kvfence6 and fills them with
# exactly `address . port` for every address of every configured host, CNAME
# chains of 2 to 4 hops followed, each element commented with its host name;
# a host on two ports gets one element per port.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
# A vault as it resolves in the wild: 4 CNAMEs deep.
zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net \
	data-prod-weu-region.vaultcore.azure.net weu.prd.r.kv.aadg.msidentity.com \
	weu.tm.prd.r.kv.aadg.trafficmanager.net
zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 192.0.2.10 192.0.2.11 2001:db8:10::1
# A vault 2 CNAMEs deep, IPv4 only.
zone_chain 300 fabrikam-kv.vault.azure.net data-prod-neu.vaultcore.azure.net \
	neu.prd.r.kv.aadg.msidentity.com
zone_addrs neu.prd.r.kv.aadg.msidentity.com 30 198.51.100.20
# Entra sign-in: 3 CNAMEs, both families.
zone_chain 120 login.microsoftonline.com login.mso.msidentity.com \
	ak.privatelink.msidentity.com www.tm.ak.prd.aadg.trafficmanager.net
zone_addrs www.tm.ak.prd.aadg.trafficmanager.net 160 203.0.113.1 203.0.113.2 203.0.113.3 \
	2001:db8:20::1 2001:db8:20::2
# A managed HSM with direct records, IPv6 only.
zone_addrs contoso-hsm.managedhsm.azure.net 60 2001:db8:30::5
# An extra host on two ports, one CNAME.
zone_chain 60 www.example.net edge.example.net
zone_addrs edge.example.net 60 192.0.2.80 2001:db8:80::80

conf=$KVF_TMP/kvfence.conf
{
	cat <<-EOF
	cloud public
	vault contoso-prod
	vault fabrikam-kv
	managed-hsm contoso-hsm
	endpoints auth vault
	host www.example.net 80
	host www.example.net 443
	EOF
	kvf_conf_base
} > "$conf"

dns_start "$zone"

kvf_run sync -c "$conf" sync
expect_rc 0 "sync"

cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"
	192.0.2.11 . 443 comment "contoso-prod.vault.azure.net"
	198.51.100.20 . 443 comment "fabrikam-kv.vault.azure.net"
	203.0.113.1 . 443 comment "login.microsoftonline.com"
	203.0.113.2 . 443 comment "login.microsoftonline.com"
	203.0.113.3 . 443 comment "login.microsoftonline.com"
	192.0.2.80 . 80 comment "www.example.net"
	192.0.2.80 . 443 comment "www.example.net"
EOF
cat > "$KVF_TMP/want6" <<-'EOF'
	2001:db8:10::1 . 443 comment "contoso-prod.vault.azure.net"
	2001:db8:20::1 . 443 comment "login.microsoftonline.com"
	2001:db8:20::2 . 443 comment "login.microsoftonline.com"
	2001:db8:30::5 . 443 comment "contoso-hsm.managedhsm.azure.net"
	2001:db8:80::80 . 80 comment "www.example.net"
	2001:db8:80::80 . 443 comment "www.example.net"
EOF

t4=$(set_type inet filter kvfence4)
t6=$(set_type inet filter kvfence6)
[ "$t4" = "ipv4_addr . inet_service" ] ||
	fail "kvfence4 has type \"$t4\", expected ipv4_addr . inet_service"
[ "$t6" = "ipv6_addr . inet_service" ] ||
	fail "kvfence6 has type \"$t6\", expected ipv6_addr . inet_service"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# Only the table and its two sets: a sync writes no chains and no rules.
objects=$(nft -j list ruleset | "$KVF_PYTHON" -c '
import json, sys
print(" ".join(sorted(list(o)[0] for o in json.load(sys.stdin)["nftables"]
                      if "metainfo" not in o)))')
[ "$objects" = "set set table" ] ||
	fail "the ruleset holds \"$objects\", expected one table and two sets: $(nft list ruleset)"

# The log says what happened: one line per set, then the summary.
assert_grep "$KVF_TMP/sync.err" 'set=kvfence4 added=8 removed=0 size=8' "no kvfence4 line"
assert_grep "$KVF_TMP/sync.err" 'set=kvfence6 added=6 removed=0 size=6' "no kvfence6 line"
assert_grep "$KVF_TMP/sync.err" 'sync: hosts=5 failed=0 netlink-messages=[1-9]' "no summary line"
exit 0
