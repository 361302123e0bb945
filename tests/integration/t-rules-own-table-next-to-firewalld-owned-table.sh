#!/bin/bash
# The recipe of kvfence(8), FIREWALLD, in a client namespace beside a
# stand-in for firewalld: a table "inet firewalld" with flags owner (held
# by a long-running nft process, as firewalld holds its netlink socket)
# and an output chain at priority filter + 10, as firewalld registers its
# own. kvfence's rules in a table of their own load and work next to it:
# IMDS, the WireServer, loopback (Azure Arc's 127.0.0.1:40342), DNS and
# the vault go through, another address on 443 is reset. kvfence cannot
# write into the owned table. A drop in firewalld's table wins over
# kvfence's accept; an accept in firewalld's table for the port restores
# the vault while kvfence's chain still refuses the rest. A flush of the
# ruleset (Debian's nftables.conf starts with one) leaves the owned table.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" egress -- "$@"
egress_setup
egress_zone "$KVF_TMP/root.zone"
dns_start "$KVF_TMP/root.zone"

# The firewalld stand-in: nft -i reading commands from a FIFO this shell
# keeps open; the owned table lives as long as that nft process.
mkfifo "$KVF_TMP/fw.fifo" || hard_error "mkfifo"
ip netns exec "$KVF_CLIENT_NS" nft -i < "$KVF_TMP/fw.fifo" > "$KVF_TMP/fw.out" 2>&1 &
fw_pid=$!
kvf_bg_register "$fw_pid"
exec 7> "$KVF_TMP/fw.fifo"
fw() { printf '%s\n' "$*" >&7; }
fw 'add table inet firewalld { flags owner; }'
fw 'add chain inet firewalld filter_OUTPUT { type filter hook output priority filter + 10; policy accept; }'
fw 'add rule inet firewalld filter_OUTPUT oif "lo" accept'
fw_rules() { in_client nft list chain inet firewalld filter_OUTPUT 2>/dev/null | grep -c -E 'accept|drop'; }
fw_has() { [ "$(fw_rules)" -ge "$1" ]; }
wait_until 10 fw_has 1 || { cat "$KVF_TMP/fw.out" >&2; hard_error "the firewalld stand-in table did not appear"; }
in_client nft list table inet firewalld | grep -q 'flags owner' || skip "this nft/kernel has no table flags owner"
! in_client nft add rule inet firewalld filter_OUTPUT tcp dport 9 drop 2>/dev/null ||
	hard_error "another process could change the owned table: flags owner not in force"

# The recipe: kvfence's own table, its own chain.
{
	printf 'vault contoso-prod\nendpoints vault\ntable inet kvfence\n'
	egress_conf_base
} > "$KVF_TMP/kvfence.conf"
kvf_run rules -c "$KVF_TMP/kvfence.conf" rules
expect_rc 0 "rules with table inet kvfence"
in_client nft -f "$KVF_TMP/rules.out" || fail "kvfence's own table does not load next to the owned table"
kvf_run_client sync -c "$KVF_TMP/kvfence.conf" sync
expect_rc 0 "sync into kvfence's own table next to the owned table"

expect_tcp "$EGRESS_IMDS" 80 open "IMDS next to firewalld"
expect_tcp "$EGRESS_WIRESERVER" 80 open "WireServer port 80 next to firewalld"
expect_tcp "$EGRESS_WIRESERVER" 32526 open "WireServer port 32526 next to firewalld"
expect_tcp 127.0.0.1 40342 open "Azure Arc's managed identity endpoint on loopback next to firewalld"
expect_dns "next to firewalld"
expect_tcp "$EGRESS_VAULT4" 443 open "the vault next to firewalld"
expect_tcp "$EGRESS_VAULT6" 443 open "the vault's IPv6 address next to firewalld"
expect_tcp "$EGRESS_OTHER4" 443 reset "another address on 443 next to firewalld"

# kvfence cannot use firewalld's table: it is owned.
before=$(in_client nft list table inet firewalld)
{
	printf 'vault contoso-prod\nendpoints vault\ntable inet firewalld\n'
	egress_conf_base | sed "s|$KVF_TMP/state|$KVF_TMP/state-fw|"
} > "$KVF_TMP/fw.conf"
kvf_run_client sync-fw -c "$KVF_TMP/fw.conf" sync
# Not "needs CAP_NET_ADMIN" (it has it): the owner is named, exit 69.
expect_rc "$KVF_EX_UNAVAILABLE" "sync into firewalld's owned table"
assert_grep "$KVF_TMP/sync-fw.err" 'table inet firewalld is owned by another process \(flags owner' \
	"sync into the owned table does not say the table is owned"
[ "$(in_client nft list table inet firewalld)" = "$before" ] ||
	fail "sync changed firewalld's owned table"

# A drop in firewalld's table wins: kvfence's accept cannot undo it.
fw 'add rule inet firewalld filter_OUTPUT tcp dport 443 drop'
wait_until 10 fw_has 2 || hard_error "the drop rule did not appear in the owned table"
expect_tcp "$EGRESS_VAULT4" 443 blocked "the vault with a drop in firewalld's table"
expect_tcp "$EGRESS_IMDS" 80 open "IMDS with a 443 drop in firewalld's table"

# firewalld accepting the port (its policy allowing egress) restores the
# vault; the restriction stays in kvfence's chain.
fw 'insert rule inet firewalld filter_OUTPUT tcp dport 443 accept'
wait_until 10 fw_has 3 || hard_error "the accept rule did not appear in the owned table"
expect_tcp "$EGRESS_VAULT4" 443 open "the vault once firewalld accepts 443"
expect_tcp "$EGRESS_OTHER4" 443 reset "another address once firewalld accepts 443"

# Debian's /etc/nftables.conf starts with "flush ruleset": the owned table
# stays, kvfence's goes (until the file, which includes kvfence's rules,
# is loaded again).
in_client nft flush ruleset || hard_error "nft flush ruleset"
in_client nft list table inet firewalld > /dev/null || fail "flush ruleset removed the owned table"
! in_client nft list table inet kvfence > /dev/null 2>&1 || fail "flush ruleset left kvfence's table"
exec 7>&-
exit 0
