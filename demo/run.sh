#!/bin/bash
# kvfence demo: in a private network namespace, a real DNS server (Knot)
# answers every hostname the demo config implies with documentation-range
# addresses behind realistic CNAME chains; `kvfence sync` fills the nftables
# sets, and the table is printed. Run as root after the build:
#   demo/run.sh            (binary: $KVFENCE, or ./src/kvfence)
# Nothing touches the host's ruleset or network; everything is removed on exit.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

DEMO_DIR=$(dirname "$(readlink -f "$0")")
TOP=$(dirname "$DEMO_DIR")
: "${KVFENCE:=$TOP/src/kvfence}"
TESTDIR=$TOP/tests
export KVFENCE TESTDIR
# shellcheck source=../tests/lib/common.sh
. "$TESTDIR/lib/common.sh"
KVF_NAME=demo
# The demo has no "skip": say what is missing and stop.
skip() {
	printf 'demo: cannot run: %s\n' "$*" >&2
	exit 1
}
CONF=$DEMO_DIR/kvfence.conf

step() { printf '\n==> %s\n' "$*"; }

if [ -z "${KVF_IN_NETNS:-}" ]; then
	[ -x "$KVFENCE" ] || skip "$KVFENCE not found: build first (autoreconf -fi && ./configure && make)"
	step "Entering a private network namespace (the host's network and ruleset stay untouched)"
fi
kvf_netns_enter "$@"
kvf_tmpdir

# Address pools: documentation ranges only (RFC 5737, RFC 3849).
pool4=(192.0.2 198.51.100 203.0.113)
n4=0
n6=0
next4() {	# sets ADDR to the next unused IPv4 documentation address
	n4=$((n4 + 1))
	ADDR=${pool4[$(( (n4 - 1) / 250 ))]}.$(( (n4 - 1) % 250 + 1 ))
}
next6() {
	n6=$((n6 + 1))
	ADDR=$(printf '2001:db8:%x::%x' $((n6 / 256 + 1)) $((n6 % 256 + 1)))
}
addrs() {	# addrs NAME N4 N6: N4 A and N6 AAAA records for NAME
	local name=$1 i
	for ((i = 0; i < $2; i++)); do next4; zone_addrs "$name" 60 "$ADDR"; done
	for ((i = 0; i < $3; i++)); do next6; zone_addrs "$name" 60 "$ADDR"; done
}

# Chain names already in the zone: a second host of the same kind gets its
# own chain (two CNAMEs at one name would be an invalid zone).
declare -A used
fresh() {	# fresh NAME HOST: sets N to NAME, or a per-HOST variant if taken
	N=$1
	[ -z "${used[$N]:-}" ] || N=${2//./-}.$1
	used[$N]=1
}

# chain TTL HOST HOP... : CNAMEs from HOST through the (fresh) hops; sets N
# to the last name, which the caller gives addresses.
chain() {
	local ttl=$1 host=$2 hop names=()
	shift 2
	names=("$host")
	for hop in "$@"; do
		fresh "$hop" "$host"
		names+=("$N")
	done
	zone_chain "$ttl" "${names[@]}"
	N=${names[-1]}
}

# One host of `kvfence endpoints`, as it resolves in Azure (shapes from
# shared/ENDPOINTS.md: several CNAMEs, then a few rotating records).
zone_host() {	# NAME FUNCTION
	local name=$1
	case $2 in
	vault)
		chain 300 "$name" data-prod-weu.vaultcore.azure.net \
			data-prod-weu-region.vaultcore.azure.net weu.prd.r.kv.aadg.msidentity.com \
			weu.tm.prd.r.kv.aadg.trafficmanager.net
		addrs "$N" 3 1 ;;
	managed-hsm)
		chain 300 "$name" "${name%%.*}.weu.managedhsm.azure.net" mhsm-prod-weu.trafficmanager.net
		addrs "$N" 2 1 ;;
	auth)
		chain 120 "$name" login.mso.msidentity.com ak.privatelink.msidentity.com \
			www.tm.ak.prd.aadg.trafficmanager.net
		addrs "$N" 4 2 ;;
	management)
		chain 300 "$name" arm-frontdoor-prod.trafficmanager.net arm-frontdoor-weu.azurefd.net
		addrs "$N" 2 1 ;;
	graph)
		chain 300 "$name" ags.privatelink.msidentity.com www.tm.ags.prd.aadg.trafficmanager.net
		addrs "$N" 2 1 ;;
	crl)
		chain 3600 "$name" "${name//./-}.wac.phicdn.net"
		addrs "$N" 2 0 ;;
	*)
		addrs "$name" 1 0 ;;
	esac
}

step "Hostnames the demo config implies: kvfence -c demo/kvfence.conf endpoints"
"$KVFENCE" -c "$CONF" endpoints > "$KVF_TMP/endpoints" || {
	echo "demo: kvfence endpoints failed" >&2
	exit 1
}
cat "$KVF_TMP/endpoints"

step "Writing a root zone that answers each of them (documentation-range addresses, CNAME chains)"
zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
while read -r name _ports function; do
	[ -n "$name" ] && zone_host "$name" "$function"
done < "$KVF_TMP/endpoints"
echo "$(grep -c 'IN	CNAME' "$zone") CNAME, $(grep -c 'IN	A	' "$zone") A and $(grep -c 'IN	AAAA' "$zone") AAAA records in $zone"

step "Starting Knot DNS on 127.0.0.1:53 inside the namespace"
dns_start "$zone"
vault=$(awk '$3 == "vault" { print $1; exit }' "$KVF_TMP/endpoints")
if [ -n "$vault" ]; then
	echo "kdig @127.0.0.1 $vault A:"
	dns_query "$vault" A | sed 's/^/    /'
fi

step "kvfence -c demo/kvfence.conf sync (log on stderr)"
rc=0
"$KVFENCE" -c "$CONF" sync || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "demo: kvfence sync exited with $rc" >&2
	exit "$rc"
fi

step "The result: nft list table inet filter"
nft list table inet filter

step "A second sync with unchanged DNS writes nothing (netlink-messages=0)"
"$KVFENCE" -c "$CONF" sync || exit $?

step "Done: the namespace, its DNS server and its ruleset are removed"
exit 0
