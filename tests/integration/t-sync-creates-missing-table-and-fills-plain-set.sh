#!/bin/bash
# With no table, `kvfence sync` creates it with both concatenated sets,
# fills them and says so in the log; sets the administrator declared as
# plain ipv4_addr/ipv6_addr get addresses only (with the host comment); an
# `ip` table with set6 none gets only its IPv4 set; with `create-sets no` a
# missing table or set makes sync fail (69) with a message naming it, and
# nothing is created or written.
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
zone_addrs management.azure.com 60 198.51.100.40 2001:db8:40::40
dns_start "$zone"

base=$KVF_TMP/base.conf
{
	printf 'vault contoso-prod\nendpoints vault management\n'
	kvf_conf_base
} > "$base"

# 1. Empty ruleset: table and both concatenated sets are created.
kvf_run create -c "$base" sync
expect_rc 0 "sync with no table"
[ "$(set_type inet filter kvfence4)" = "ipv4_addr . inet_service" ] ||
	fail "created kvfence4 has type $(set_type inet filter kvfence4)"
[ "$(set_type inet filter kvfence6)" = "ipv6_addr . inet_service" ] ||
	fail "created kvfence6 has type $(set_type inet filter kvfence6)"
cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"
	198.51.100.40 . 443 comment "management.azure.com"
EOF
cat > "$KVF_TMP/want6" <<-'EOF'
	2001:db8:10::1 . 443 comment "contoso-prod.vault.azure.net"
	2001:db8:40::40 . 443 comment "management.azure.com"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# 2. Plain sets declared by the administrator: addresses only.
nft flush ruleset || hard_error "nft flush ruleset"
nft -f - <<-'EOF' || hard_error "cannot declare the plain sets"
	table inet filter {
		set kvfence4 { type ipv4_addr; }
		set kvfence6 { type ipv6_addr; }
	}
EOF
kvf_run plain -c "$base" sync
expect_rc 0 "sync into plain sets"
[ "$(set_type inet filter kvfence4)" = "ipv4_addr" ] ||
	fail "kvfence4's type changed to $(set_type inet filter kvfence4)"
cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.10 comment "contoso-prod.vault.azure.net"
	198.51.100.40 comment "management.azure.com"
EOF
cat > "$KVF_TMP/want6" <<-'EOF'
	2001:db8:10::1 comment "contoso-prod.vault.azure.net"
	2001:db8:40::40 comment "management.azure.com"
EOF
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"

# 3. An ip table with set6 none: one IPv4 set, nothing else.
nft flush ruleset || hard_error "nft flush ruleset"
ipconf=$KVF_TMP/ip.conf
{
	cat "$base"
	printf 'table ip egress\nset4 allowed\nset6 none\n'
} > "$ipconf"
kvf_run ip -c "$ipconf" sync
expect_rc 0 "sync into table ip egress"
[ "$(set_type ip egress allowed)" = "ipv4_addr . inet_service" ] ||
	fail "created ip egress allowed has type $(set_type ip egress allowed)"
cat > "$KVF_TMP/want4" <<-'EOF'
	192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"
	198.51.100.40 . 443 comment "management.azure.com"
EOF
assert_set_elems ip egress allowed "$KVF_TMP/want4"
[ "$(nft list tables)" = "table ip egress" ] ||
	fail "other tables were created: $(nft list tables)"
[ "$(nft list sets | grep -c '^[[:space:]]*set ')" -eq 1 ] ||
	fail "more than one set was created: $(nft list sets)"

# 4. create-sets no, no table: exit 69, the message names the set, and the
#    ruleset stays empty.
nft flush ruleset || hard_error "nft flush ruleset"
nocreate=$KVF_TMP/nocreate.conf
{
	cat "$base"
	echo 'create-sets no'
} > "$nocreate"
kvf_run nocreate -c "$nocreate" sync
expect_rc "$KVF_EX_UNAVAILABLE" "sync with create-sets no and no table"
assert_grep "$KVF_TMP/nocreate.err" 'kvfence4' "the message does not name the missing set kvfence4"
assert_grep "$KVF_TMP/nocreate.err" 'create-sets|does not exist|[Nn]o such' \
	"the message does not say why"
[ -z "$(nft list ruleset)" ] || fail "create-sets no created something: $(nft list ruleset)"

# 5. create-sets no, table and kvfence4 there, kvfence6 missing: exit 69,
#    kvfence6 named, kvfence4 left empty (nothing of the sync is written).
nft -f - <<-'EOF' || hard_error "cannot declare the table"
	table inet filter {
		set kvfence4 { type ipv4_addr . inet_service; }
	}
EOF
nft list ruleset > "$KVF_TMP/before" || hard_error "nft list ruleset"
kvf_run nocreate6 -c "$nocreate" sync
expect_rc "$KVF_EX_UNAVAILABLE" "sync with create-sets no and kvfence6 missing"
assert_grep "$KVF_TMP/nocreate6.err" 'kvfence6' "the message does not name the missing set kvfence6"
nft list ruleset > "$KVF_TMP/after" || hard_error "nft list ruleset"
cmp -s "$KVF_TMP/before" "$KVF_TMP/after" ||
	fail "create-sets no changed the ruleset: $(diff "$KVF_TMP/before" "$KVF_TMP/after")"

# DESIGN.md 3: a missing set or table is created "and [kvfence] says so in
# the log" (checked last so that the kernel behaviour above is proved first).
assert_grep "$KVF_TMP/create.err" '[Cc]reat.*kvfence4|kvfence4.*[Cc]reat' \
	"the first sync's log does not say that it created kvfence4"
assert_grep "$KVF_TMP/create.err" '[Cc]reat.*kvfence6|kvfence6.*[Cc]reat' \
	"the first sync's log does not say that it created kvfence6"
exit 0
