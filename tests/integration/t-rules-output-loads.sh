#!/bin/bash
# `kvfence rules` (hook output) and `kvfence rules --hook forward` print a
# file that `nft -c -f` accepts and `nft -f` loads, every line of it with a
# comment saying why; a sync then fills the sets that file declared,
# leaving its chain as it was; loading the file again keeps one copy of
# each rule and the elements, also over sets kvfence created first. Behind the printed output rules, in a client
# namespace whose traffic really leaves through a link: IMDS
# (169.254.169.254:80), the WireServer (168.63.129.16:80 and :32526),
# loopback (127.0.0.1:40342, Azure Arc's managed identity; :443) and DNS
# (UDP 53) work, the vault's addresses work, another address on 443 is
# reset; with platform none IMDS and the WireServer are reset; imds-users
# (imds-groups) lets root and the named user (group) reach IMDS and resets
# everyone else; with
# service-tags the printed rules declare and use the range sets.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/egress.sh
. "$TESTDIR/lib/egress.sh"
kvf_netns_enter "$@"
kvf_tmpdir
egress_setup

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net \
	weu.tm.prd.r.kv.aadg.trafficmanager.net
zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 "$EGRESS_VAULT4" "$EGRESS_VAULT6"
zone_addrs crl3.digicert.com 60 198.51.100.80
dns_start "$zone"

conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nhost crl3.digicert.com 80\n'
	kvf_conf_base
} > "$conf"

printf '%s . 443 comment "contoso-prod.vault.azure.net"\n198.51.100.80 . 80 comment "crl3.digicert.com"\n' \
	"$EGRESS_VAULT4" > "$KVF_TMP/want4"
printf '%s . 443 comment "contoso-prod.vault.azure.net"\n' "$EGRESS_VAULT6" > "$KVF_TMP/want6"

# Every line that is not blank, a comment or a lone brace carries a
# trailing "# why".
check_commented() {
	local bad
	bad=$(grep -vE '^[[:space:]]*($|#|\}[[:space:]]*($|#))' "$1" | grep -v '#[[:space:]]*[[:alpha:]]') &&
		fail "lines of $(basename "$1") without a comment saying why: $bad"
	return 0
}

check_hook() {	# $1: output|forward, $2...: arguments of `rules`
	local hook=$1 f=$KVF_TMP/rules-$1.nft
	shift
	nft flush ruleset || hard_error "nft flush ruleset"
	kvf_run "rules-$hook" -c "$conf" rules "$@"
	expect_rc 0 "rules $*"
	cp "$KVF_TMP/rules-$hook.out" "$f"
	check_commented "$f"
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
# Loaded again (nft -f by hand, a unit's ExecStartPre): the chain keeps one
# copy of each rule and the sets keep their elements.
nft -f "$KVF_TMP/rules-output.nft" || fail "the printed file does not load a second time"
nft list chain inet filter kvfence_output > "$KVF_TMP/chain-again" || fail "chain gone after a reload"
cmp -s "$KVF_TMP/chain-after" "$KVF_TMP/chain-again" ||
	fail "loading the printed file again changed the chain (rules doubled?)"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
# Sets kvfence created itself (no comment) before the file is first loaded.
nft flush ruleset
kvf_run sync-first -c "$conf" sync
expect_rc 0 "sync creating the sets before any rules"
nft -f "$KVF_TMP/rules-output.nft" || fail "the printed file does not load over sets kvfence created"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
check_hook output --hook output
check_hook forward --hook forward
! grep -qE '^[[:space:]]*(oif|ip daddr 16[89])' "$KVF_TMP/rules-forward.nft" ||
	fail "the forward chain lets forwarded clients reach loopback, IMDS or the WireServer"
nft flush ruleset

# --- Behind the printed rules, in the client namespace.
client_conf() {	# extra directives...
	{
		printf 'vault contoso-prod\nendpoints vault\nhost crl3.digicert.com 80\n'
		[ $# -eq 0 ] || printf '%s\n' "$@"
		egress_conf_base
	} > "$KVF_TMP/client.conf"
}

# load_client NAME: print the rules of client.conf, load them into the
# client's empty ruleset, fill the sets.
load_client() {
	kvf_run "rules-$1" -c "$KVF_TMP/client.conf" rules
	expect_rc 0 "rules ($1)"
	check_commented "$KVF_TMP/rules-$1.out"
	in_client nft flush ruleset || hard_error "nft flush ruleset in the client"
	in_client nft -f "$KVF_TMP/rules-$1.out" || fail "the client cannot load the rules ($1)"
	kvf_run_client "sync-$1" -c "$KVF_TMP/client.conf" sync
	expect_rc 0 "sync in the client ($1)"
}

client_conf
load_client default
expect_tcp "$EGRESS_IMDS" 80 open "IMDS behind the default rules"
expect_tcp "$EGRESS_WIRESERVER" 80 open "WireServer port 80 behind the default rules"
expect_tcp "$EGRESS_WIRESERVER" 32526 open "WireServer port 32526 behind the default rules"
expect_tcp 127.0.0.1 40342 open "Azure Arc's loopback managed identity endpoint"
expect_tcp 127.0.0.1 443 open "loopback HTTPS"
expect_tcp ::1 443 open "IPv6 loopback HTTPS"
expect_dns "behind the default rules"
expect_tcp "$EGRESS_VAULT4" 443 open "the vault's IPv4 address"
expect_tcp "$EGRESS_VAULT6" 443 open "the vault's IPv6 address"
expect_tcp "$EGRESS_OTHER4" 443 reset "an IPv4 address in no set"
expect_tcp "$EGRESS_OTHER6" 443 reset "an IPv6 address in no set"

client_conf 'platform none'
load_client platform-none
expect_tcp "$EGRESS_IMDS" 80 reset "IMDS with platform none"
expect_tcp "$EGRESS_WIRESERVER" 80 reset "WireServer port 80 with platform none"
expect_tcp 127.0.0.1 40342 open "loopback with platform none"
expect_tcp "$EGRESS_VAULT4" 443 open "the vault with platform none"

# imds-users: root always, the named user, nobody else. Numeric ids in the
# file, the names in its comment.
client_conf 'imds-users daemon'
load_client imds-users
assert_grep "$KVF_TMP/rules-imds-users.out" 'meta skuid \{ 0, 1 \} accept.*daemon' \
	"imds-users daemon: no rule for uids 0 and 1 naming daemon"
expect_tcp "$EGRESS_IMDS" 80 open "IMDS for root with imds-users daemon"
# The probe script comes on stdin, opened as root: the user may not be
# allowed to read the test tree (a clone under /root).
as_user() {	# USER ADDR PORT: the probe as that user
	in_client setpriv --reuid="$1" --regid="$(id -g "$1")" --clear-groups \
		"$KVF_PYTHON" - "$2" "$3" 1 < "$TESTDIR/lib/tcpprobe.py"
}
[ "$(as_user daemon "$EGRESS_IMDS" 80)" = open ] || fail "IMDS refused to the imds-users user daemon"
[ "$(as_user nobody "$EGRESS_IMDS" 80)" = reset ] || fail "IMDS not refused to nobody, not in imds-users"
[ "$(as_user nobody "$EGRESS_WIRESERVER" 80)" = open ] || fail "imds-users restricted the WireServer too"
# imds-groups: the socket's group (the effective gid), not supplementary ones.
client_conf 'imds-groups daemon'
load_client imds-groups
as_group() {	# GROUP ADDR PORT: the probe as nobody with that group
	in_client setpriv --reuid=nobody --regid="$1" --clear-groups \
		"$KVF_PYTHON" - "$2" "$3" 1 < "$TESTDIR/lib/tcpprobe.py"
}
[ "$(as_group daemon "$EGRESS_IMDS" 80)" = open ] || fail "IMDS refused to group daemon, in imds-groups"
[ "$(as_group nogroup "$EGRESS_IMDS" 80)" = reset ] || fail "IMDS not refused to group nogroup"
client_conf 'imds-users no-such-user-kvf'
kvf_run rules-bad-user -c "$KVF_TMP/client.conf" rules
expect_rc "$KVF_EX_CONFIG" "rules with an unknown imds-users name"
assert_grep "$KVF_TMP/rules-bad-user.err" 'client.conf:[0-9]+: imds-users: no user "no-such-user-kvf"' \
	"an unknown imds-users name is reported with file:line"

# service-tags: the printed file declares the range sets and accepts them.
mkdir -p "$KVF_TMP/tags"
printf '%s\n' '{"changeNumber": 1, "cloud": "Public", "values": [{"name": "AzureKeyVault.WestEurope",' \
	' "id": "AzureKeyVault.WestEurope", "properties": {"changeNumber": 1, "region": "westeurope",' \
	' "regionId": 18, "platform": "Azure", "systemService": "AzureKeyVault",' \
	' "addressPrefixes": ["203.0.113.96/28", "2001:db8:10::80/121"], "networkFeatures": null}}]}' \
	> "$KVF_TMP/tags/ServiceTags_Public_20261123.json"
client_conf "service-tags $KVF_TMP/tags/ServiceTags_Public_*.json AzureKeyVault.WestEurope"
load_client tags
for s in 'set kvfence4r' 'set kvfence6r' 'ip daddr @kvfence4r tcp dport \{ 80, 443 \} accept' \
	'ip6 daddr @kvfence6r tcp dport \{ 80, 443 \} accept'; do
	assert_grep "$KVF_TMP/rules-tags.out" "$s" "rules with service-tags: no \"$s\""
done
expect_tcp "$EGRESS_OTHER4" 443 open "an IPv4 address of a Service Tag range"
expect_tcp "$EGRESS_OTHER6" 443 open "an IPv6 address of a Service Tag range"
expect_tcp "$EGRESS_IMDS" 80 open "IMDS with service-tags"
exit 0
