#!/bin/bash
# Everything that enters a set passes the same filter and cap, whatever
# its source: addresses loaded from the state file meet allow-private
# (private ranges refused unless allowed, or reached through a Key Vault
# Private Link zone by a vault or managed HSM under auto) and
# max-addresses-per-host, as answers do.
# DNS is down throughout: only the state file speaks.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

conf=$KVF_TMP/kvfence.conf
now=$(date +%s)
count4() { set_elems inet filter kvfence4 | grep -c "$1"; }

# A state file of the first format (as an upgrade finds it), written by
# hand: two private addresses and 100 public ones for one vault.
{
	echo "# kvfence state v1"
	echo "host contoso-prod.vault.azure.net ttl 60 answer $now"
	echo "addr 10.0.0.5 $now current"
	echo "addr 192.168.1.1 $now current"
	for i in $(seq 1 100); do echo "addr 198.51.100.$i $now current"; done
	echo "end"
} > "$KVF_TMP/state"
{
	printf 'vault contoso-prod\nendpoints vault\nset6 none\n'
	printf 'allow-private no\nmax-addresses-per-host 4\n'
	kvf_conf_base
} > "$conf"
kvf_agent_start -c "$conf"
set_elems inet filter kvfence4 >&2
[ "$(count4 '^10\.\|^192\.168\.')" -eq 0 ] ||
	fail "private addresses from the state file entered the set under allow-private no"
[ "$(count4 '^198\.51\.100\.')" -eq 4 ] ||
	fail "$(count4 '^198\.51\.100\.') addresses of one host from the state file, cap 4"
assert_grep "$KVF_TMP/agent.err" 'host contoso-prod.vault.azure.net: rejected private address 10\.0\.0\.5' \
	"the rejected private address is not logged"
assert_grep "$KVF_TMP/agent.err" 'more than max-addresses-per-host 4 addresses.*96 left out' \
	"the cap is not logged"
kvf_agent_stop
grep -q '^addr 10\.0\.0\.5 ' "$KVF_TMP/state" && fail "the refused address was saved back"

# allow-private auto: a private address is let in from the state file only
# for a host whose last answer came through a Private Link zone.
nft flush ruleset
{
	echo "# kvfence state v2"
	echo "saved $now"
	echo "host contoso-prod.vault.azure.net ttl 60 answer $now a ok aaaa ok privatelink yes"
	echo "addr 10.1.2.3 $now current"
	echo "host fabrikam-kv.vault.azure.net ttl 60 answer $now a ok aaaa ok privatelink no"
	echo "addr 10.9.9.9 $now current"
	echo "addr 203.0.113.9 $now current"
	echo "end"
} > "$KVF_TMP/state"
{
	printf 'vault contoso-prod fabrikam-kv\nendpoints vault\nset6 none\nallow-private auto\n'
	kvf_conf_base
} > "$conf"
kvf_agent_start -c "$conf"
set_elems inet filter kvfence4 >&2
assert_set_has inet filter kvfence4 '10.1.2.3 . 443 comment "contoso-prod.vault.azure.net"'
assert_set_has inet filter kvfence4 '203.0.113.9 . 443 comment "fabrikam-kv.vault.azure.net"'
assert_set_lacks inet filter kvfence4 10.9.9.9
kvf_agent_stop

# ... and only for a vault or managed HSM: a CRL host or a host line whose
# remembered chain passed a Private Link zone gets no private address.
nft flush ruleset
{
	echo "# kvfence state v2"
	echo "saved $now"
	echo "host adfs.contoso.com ttl 60 answer $now a ok aaaa ok privatelink yes"
	echo "addr 10.0.0.80 $now current"
	echo "host crl3.digicert.com ttl 60 answer $now a ok aaaa ok privatelink yes"
	echo "addr 192.168.1.1 $now current"
	echo "addr 198.51.100.4 $now current"
	echo "end"
} > "$KVF_TMP/state"
{
	printf 'endpoints crl\nhost adfs.contoso.com 443\nset6 none\nallow-private auto\n'
	kvf_conf_base
} > "$conf"
kvf_agent_start -c "$conf"
set_elems inet filter kvfence4 >&2
assert_set_has inet filter kvfence4 '198.51.100.4 . 80 comment "crl3.digicert.com"'
assert_set_lacks inet filter kvfence4 10.0.0.80
assert_set_lacks inet filter kvfence4 192.168.1.1
assert_grep "$KVF_TMP/agent.err" 'host adfs.contoso.com: rejected private address 10\.0\.0\.80' \
	"the host line's private address from the state file is not logged"
kvf_agent_stop
exit 0
