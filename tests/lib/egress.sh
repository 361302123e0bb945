# shellcheck shell=bash
# kvfence test library, sourced after common.sh: a client network namespace
# behind the rules under test, and a "world" (the test's own namespace)
# holding the servers it talks to. The two are joined by a link, so
# the client's traffic really leaves through its output hook (traffic to
# an address of one's own namespace would leave through lo, which the
# rules accept, and prove nothing). The link is a pair of TUN devices
# joined by tunlink.py: the kernels this runs on may have no veth and no
# dummy driver.
#
#   world (test namespace)                     client (ip netns $KVF_CLIENT_NS)
#   kvfw0 192.0.2.1, 2001:db8:ff::1 <-- TUN --> kvfc0 192.0.2.2, 2001:db8:ff::2
#   lo, besides 127.0.0.1:                     lo: listeners 127.0.0.1:40342 (Azure
#     169.254.169.254  IMDS, TCP 80                Arc's managed identity) and :443
#     168.63.129.16    WireServer, TCP 80, 32526
#     198.51.100.53    DNS (knot), UDP/TCP 53
#     203.0.113.10, 2001:db8:10::10   a vault, TCP 443 (in the sets)
#     203.0.113.99, 2001:db8:10::99   elsewhere, TCP 443 (not in the sets)
#
# The namespace and the links vanish with the test's namespaces.

EGRESS_DNS=198.51.100.53
EGRESS_VAULT4=203.0.113.10
EGRESS_VAULT6=2001:db8:10::10
EGRESS_OTHER4=203.0.113.99
EGRESS_OTHER6=2001:db8:10::99
EGRESS_IMDS=169.254.169.254
EGRESS_WIRESERVER=168.63.129.16
KVF_CLIENT_NS=
export KVF_DNS_LISTEN="$EGRESS_DNS@53"

in_client() { ip netns exec "$KVF_CLIENT_NS" "$@"; }

kvf_ready() { grep -qx ready "$1"; }

# egress_serve WHERE NAME ADDR PORT...: start tcpserve.py in the world
# (WHERE=world) or the client (WHERE=client) and wait until it listens.
egress_serve() {
	local where=$1 name=$2 out pid
	shift 2
	out=$KVF_TMP/serve-$name.out
	if [ "$where" = client ]; then
		ip netns exec "$KVF_CLIENT_NS" "$KVF_PYTHON" "$TESTDIR/lib/tcpserve.py" "$@" > "$out" 2>&1 &
	else
		"$KVF_PYTHON" "$TESTDIR/lib/tcpserve.py" "$@" > "$out" 2>&1 &
	fi
	pid=$!
	kvf_bg_register "$pid"
	wait_until 10 kvf_ready "$out" || { cat "$out" >&2; hard_error "tcpserve $name did not listen"; }
}

egress_setup() {
	local a out=$KVF_TMP/tunlink.out pid
	[ -x "$KVF_PYTHON" ] || skip "no $KVF_PYTHON"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	KVF_CLIENT_NS=kvfc$$
	ip netns add "$KVF_CLIENT_NS" || hard_error "ip netns add failed"
	kvf_watch_netns "/run/netns/$KVF_CLIENT_NS"
	"$KVF_PYTHON" "$TESTDIR/lib/tunlink.py" "/run/netns/$KVF_CLIENT_NS" kvfw0 kvfc0 > "$out" 2>&1 &
	pid=$!
	kvf_bg_register "$pid"
	wait_until 10 kvf_ready "$out" || { cat "$out" >&2; hard_error "tunlink.py did not start"; }
	{
		ip addr add 192.0.2.1 peer 192.0.2.2 dev kvfw0 &&
		ip -6 addr add 2001:db8:ff::1/64 dev kvfw0 nodad &&
		ip link set kvfw0 up &&
		in_client ip link set lo up &&
		in_client ip addr add 192.0.2.2 peer 192.0.2.1 dev kvfc0 &&
		in_client ip -6 addr add 2001:db8:ff::2/64 dev kvfc0 nodad &&
		in_client ip link set kvfc0 up &&
		in_client ip route add default dev kvfc0 &&
		in_client ip -6 route add default dev kvfc0
	} || hard_error "cannot set up the client namespace and its link"
	for a in "$EGRESS_IMDS/32" "$EGRESS_WIRESERVER/32" "$EGRESS_DNS/32" \
		"$EGRESS_VAULT4/32" "$EGRESS_OTHER4/32"; do
		ip addr add "$a" dev lo || hard_error "ip addr add $a"
	done
	for a in "$EGRESS_VAULT6/128" "$EGRESS_OTHER6/128"; do
		ip -6 addr add "$a" dev lo nodad || hard_error "ip addr add $a"
	done
	egress_serve world world "$EGRESS_IMDS" 80 "$EGRESS_WIRESERVER" 80 \
		"$EGRESS_WIRESERVER" 32526 "$EGRESS_VAULT4" 443 "$EGRESS_OTHER4" 443 \
		"$EGRESS_VAULT6" 443 "$EGRESS_OTHER6" 443
	egress_serve client loopback 127.0.0.1 40342 127.0.0.1 443 ::1 443
	# Before any rule: everything is reachable, or the test proves nothing.
	for a in "$EGRESS_IMDS 80" "$EGRESS_WIRESERVER 32526" "$EGRESS_OTHER4 443" \
		"$EGRESS_OTHER6 443" "127.0.0.1 40342"; do
		# shellcheck disable=SC2086
		[ "$(egress_probe $a)" = open ] || hard_error "$a unreachable without rules"
	done
}

# egress_probe ADDR PORT: open, reset or timeout, from the client.
egress_probe() {
	in_client "$KVF_PYTHON" "$TESTDIR/lib/tcpprobe.py" "$1" "$2" "${3:-1}"
}

# expect_tcp ADDR PORT open|reset|blocked WHAT: blocked is reset or timeout.
expect_tcp() {
	local got
	got=$(egress_probe "$1" "$2")
	case $3:$got in
	open:open|reset:reset|blocked:reset|blocked:timeout) return 0 ;;
	esac
	fail "$4: TCP to $1 port $2 from the client: $got, expected $3"
}

# expect_dns WHAT: the client's UDP query to the world's DNS server is answered.
expect_dns() {
	in_client kdig @"$EGRESS_DNS" +notcp +time=1 +retry=0 SOA . > /dev/null 2>&1 ||
		fail "$1: DNS (UDP 53) to $EGRESS_DNS from the client gets no answer"
}

# kvf_run_client NAME ARGS...: kvf_run inside the client namespace.
kvf_run_client() {
	local name=$1
	shift
	KVF_RC=0
	in_client "$KVFENCE" "$@" > "$KVF_TMP/$name.out" 2> "$KVF_TMP/$name.err" || KVF_RC=$?
	{
		printf -- '--- (client) kvfence %s (exit %s)\n' "$*" "$KVF_RC"
		sed 's/^/  out: /' "$KVF_TMP/$name.out"
		sed 's/^/  err: /' "$KVF_TMP/$name.err"
	} >&2
}

# egress_zone FILE: the world's zone: the vault on its two addresses.
egress_zone() {
	zone_begin "$1" 60
	zone_addrs contoso-prod.vault.azure.net 60 "$EGRESS_VAULT4" "$EGRESS_VAULT6"
}

# The lines of a client config: the world's DNS server, files in $KVF_TMP.
egress_conf_base() {
	cat <<-EOF2
	resolver $EGRESS_DNS
	state-file $KVF_TMP/state
	status-file $KVF_TMP/status.json
	metrics-file none
	EOF2
}
