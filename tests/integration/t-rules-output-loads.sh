#!/bin/bash
# `kvfence rules` (hook output) and `kvfence rules --hook forward` print a
# file that `nft -c -f` accepts and `nft -f` loads; a sync then fills the
# sets that file declared, leaving its chain as it was.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net \
	weu.tm.prd.r.kv.aadg.trafficmanager.net
zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 192.0.2.10 2001:db8:10::1
zone_addrs crl3.digicert.com 60 198.51.100.80
dns_start "$zone"

conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nhost crl3.digicert.com 80\n'
	kvf_conf_base
} > "$conf"

cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"
	198.51.100.80 . 80 comment "crl3.digicert.com"
EOF
cat > "$KVF_TMP/want6" <<-'EOF'
	2001:db8:10::1 . 443 comment "contoso-prod.vault.azure.net"
EOF

check_hook() {	# $1: output|forward, $2...: arguments of `rules`
	local hook=$1 f=$KVF_TMP/rules-$1.nft
	shift
	nft flush ruleset || hard_error "nft flush ruleset"
	kvf_run "rules-$hook" -c "$conf" rules "$@"
	expect_rc 0 "rules $*"
	cp "$KVF_TMP/rules-$hook.out" "$f"
	nft -c -f "$f" || fail "nft -c -f rejects the output of rules $*"
	[ -z "$(nft list ruleset)" ] || fail "nft -c -f loaded something"
	nft -f "$f" || fail "nft -f cannot load the output of rules $*"
	nft list chain inet filter "kvfence_$hook" > "$KVF_TMP/chain-before" ||
		fail "rules $* declares no chain kvfence_$hook in inet filter"
	grep -q "hook $hook " "$KVF_TMP/chain-before" ||
		fail "chain kvfence_$hook is not on hook $hook"
	grep -q '@kvfence4' "$KVF_TMP/chain-before" || fail "chain kvfence_$hook does not use @kvfence4"
	grep -q '@kvfence6' "$KVF_TMP/chain-before" || fail "chain kvfence_$hook does not use @kvfence6"
	grep -qE 'tcp dport \{ 80, 443 \} reject' "$KVF_TMP/chain-before" ||
		fail "chain kvfence_$hook does not reject the rest of TCP 80 and 443"

	kvf_run "sync-$hook" -c "$conf" sync
	expect_rc 0 "sync into the sets of rules $*"
	assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
	assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
	nft list chain inet filter "kvfence_$hook" > "$KVF_TMP/chain-after" ||
		fail "chain kvfence_$hook is gone after the sync"
	cmp -s "$KVF_TMP/chain-before" "$KVF_TMP/chain-after" ||
		fail "the sync changed chain kvfence_$hook"
}

check_hook output
check_hook output --hook output
check_hook forward --hook forward
exit 0
