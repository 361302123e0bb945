#!/bin/bash
# The real Azure SDK for JavaScript (the exact versions of
# tests/sdk/package-lock.json, installed by tools/install-deps) works behind
# the rules `kvfence rules` prints, with the agent running on the default
# config of each cloud plus the vault's name: client secret + secrets, the
# vault's 401 challenge naming login.windows.net, a remote key sign, ARM,
# managed identity (IMDS), DefaultAzureCredential from the environment and
# on a VM, China and US Government clouds. Each flow must succeed and must
# not try any address and port that the rules reject (seen by the kernel
# and by a trace of every name the client resolves and every connection it
# attempts). The same flows with kvfence's sets empty must fail.
#
# Two namespaces joined by a veth pair: this one, the client (kvfence, the
# printed rules, Knot as the resolver on 127.0.0.1, node), and a server
# namespace where fake Entra ID, Key Vault, ARM (HTTPS, one certificate of
# a throwaway CA) and IMDS / WireServer (HTTP) answer on documentation
# addresses, 169.254.169.254 and 168.63.129.16.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent --manual -- "$@"

SDK_DIR=${KVF_SDK_DIR:-/usr/local/lib/kvfence-tests/sdk}
SDK_SRC=$TESTDIR/sdk
NODE=$(command -v node || true)
[ -n "$NODE" ] || skip "node not installed (tools/install-deps)"
[ "$("$NODE" -p 'process.versions.node.split(".")[0]')" -ge 20 ] ||
	skip "node $("$NODE" --version) is older than 20, which the locked SDK needs"
command -v openssl >/dev/null || skip "openssl not installed"
cmp -s "$SDK_SRC/package-lock.json" "$SDK_DIR/installed.lock" ||
	skip "the SDK of tests/sdk/package-lock.json is not installed in $SDK_DIR (run tools/install-deps)"
kvf_netns_enter "$@"
kvf_tmpdir

T0=$(now_ms)
TENANT=72f988bf-86f1-41af-91ab-2d7cd011db47
CLIENT_ID=0d1c5b6a-1e2f-4a3b-9c8d-7e6f5a4b3c2d
CLIENT_SECRET=kvf~client.secret-$RANDOM$RANDOM
SUBSCRIPTION=8a1f0000-1111-4222-8333-944455556666
VAULT=kvf-contoso
SRV=kvfsrv
export KVF_TENANT=$TENANT KVF_CLIENT_ID=$CLIENT_ID KVF_CLIENT_SECRET=$CLIENT_SECRET \
	KVF_VAULT=$VAULT KVF_SUBSCRIPTION=$SUBSCRIPTION

in_srv() { ip netns exec "$SRV" "$@"; }

# ------------------------------------------------------------ the network
net_setup() {
	ip netns add "$SRV" || hard_error "ip netns add $SRV"
	kvf_watch_netns "/run/netns/$SRV"
	ip link add kvfc type veth peer name kvfs netns "$SRV" || hard_error "veth"
	ip addr add 203.0.113.1/24 dev kvfc
	ip -6 addr add 2001:db8:ff::1/64 dev kvfc nodad
	ip link set kvfc up
	ip route add default via 203.0.113.254 || hard_error "client default route"
	ip -6 route add default via 2001:db8:ff::fe || hard_error "client IPv6 default route"
	in_srv ip link set lo up
	in_srv ip addr add 203.0.113.254/24 dev kvfs
	in_srv ip -6 addr add 2001:db8:ff::fe/64 dev kvfs nodad
	in_srv ip link set kvfs up
	# Whole documentation ranges are local to the server (a prefix on lo,
	# an IPv6 local route): any address the zone gives is answered.
	in_srv ip addr add 192.0.2.1/24 dev lo
	in_srv ip addr add 198.51.100.1/24 dev lo
	in_srv ip -6 route add local 2001:db8:a::/64 dev lo
	in_srv ip addr add 169.254.169.254/32 dev lo
	in_srv ip addr add 168.63.129.16/32 dev lo || hard_error "server addresses"
	# The client resolves through the same server kvfence asks.
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' > "$KVF_TMP/resolv.conf"
	printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' > "$KVF_TMP/hosts"
	local f
	for f in resolv.conf hosts; do
		mount --bind "$KVF_TMP/$f" "$(readlink -f /etc/$f)" ||
			hard_error "cannot bind-mount /etc/$f in the test's mount namespace"
	done
}

# ------------------------------------------------------------ the zone
zone_write() {
	zone_begin "$KVF_TMP/root.zone" 60
	# Public cloud, with chains as they resolve in the wild.
	zone_chain 120 login.microsoftonline.com login.mso.msidentity.com \
		ak.privatelink.msidentity.com www.tm.ak.prd.aadg.trafficmanager.net
	zone_addrs www.tm.ak.prd.aadg.trafficmanager.net 120 192.0.2.10 192.0.2.11 2001:db8:a::10
	# The aliases get addresses of their own, so that a client going there
	# is seen going somewhere the sets do not hold.
	zone_addrs login.windows.net 60 192.0.2.20 2001:db8:a::20
	zone_addrs login.microsoft.com 60 192.0.2.21
	zone_addrs sts.windows.net 60 192.0.2.22
	zone_chain 60 "$VAULT.vault.azure.net" data-prod-weu.vaultcore.azure.net \
		data-prod-weu-region.vaultcore.azure.net weu.prd.r.kv.aadg.msidentity.com \
		weu.tm.prd.r.kv.aadg.trafficmanager.net
	zone_addrs weu.tm.prd.r.kv.aadg.trafficmanager.net 60 198.51.100.10 2001:db8:a::100
	zone_chain 60 management.azure.com arm-frontdoor-prod.trafficmanager.net
	zone_addrs arm-frontdoor-prod.trafficmanager.net 60 198.51.100.20 2001:db8:a::200
	# China (21Vianet).
	zone_addrs login.chinacloudapi.cn 60 192.0.2.30
	zone_chain 60 login.partner.microsoftonline.cn login.partner.mso.chinacloudapi.cn
	zone_addrs login.partner.mso.chinacloudapi.cn 60 192.0.2.31 2001:db8:a::31
	zone_chain 60 "$VAULT.vault.azure.cn" data-prod-cne2.vaultcore.chinacloudapi.cn
	zone_addrs data-prod-cne2.vaultcore.chinacloudapi.cn 60 198.51.100.30
	zone_addrs management.chinacloudapi.cn 60 198.51.100.31
	# US Government.
	zone_addrs login.microsoftonline.us 60 192.0.2.40 2001:db8:a::40
	zone_addrs login.usgovcloudapi.net 60 192.0.2.41
	zone_chain 60 "$VAULT.vault.usgovcloudapi.net" data-prod-ugv.vaultcore.usgovcloudapi.net
	zone_addrs data-prod-ugv.vaultcore.usgovcloudapi.net 60 198.51.100.40
	zone_addrs management.usgovcloudapi.net 60 198.51.100.41
}

# ------------------------------------------------------------ the fakes
certs_make() {
	local d=$KVF_TMP/pki san=
	mkdir -p "$d"
	local n
	for n in login.microsoftonline.com login.windows.net login.microsoft.com sts.windows.net \
		login.partner.microsoftonline.cn login.chinacloudapi.cn \
		login.microsoftonline.us login.usgovcloudapi.net \
		'*.vault.azure.net' '*.vault.azure.cn' '*.vault.usgovcloudapi.net' \
		management.azure.com management.chinacloudapi.cn management.usgovcloudapi.net; do
		san="${san:+$san,}DNS:$n"
	done
	printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
		"$san" > "$d/ext.cnf"
	{
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=kvfence test CA $$" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/srv.key" -out "$d/srv.csr" -subj "/CN=kvfence fake Azure" &&
		openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -extfile "$d/ext.cnf" -out "$d/srv.pem"
	} > "$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; hard_error "openssl could not make the test CA"; }
}

fakes_ready() { grep -qx ready "$KVF_TMP/fake.log"; }

fakes_start() {
	ip netns exec "$SRV" "$NODE" "$SDK_SRC/fake-azure.js" "$KVF_TMP/pki/srv.pem" "$KVF_TMP/pki/srv.key" \
		> "$KVF_TMP/fake.log" 2>&1 &
	kvf_bg_register $!
	wait_until 15 fakes_ready || { cat "$KVF_TMP/fake.log" >&2; hard_error "the fake Azure endpoints did not start"; }
}

# ------------------------------------------------------------ kernel trace
# Every TCP connection the client opens is added to tried4/6 before
# kvfence's chain (priority -10) and, if that chain let it pass, to
# passed4/6 after it (+10): tried minus passed is what the rules rejected.
trace_load() {
	nft -f - <<-'EOF' || hard_error "cannot load the trace table"
	table inet kvftrace {
		set tried4 { type ipv4_addr . inet_service; flags dynamic; }
		set tried6 { type ipv6_addr . inet_service; flags dynamic; }
		set passed4 { type ipv4_addr . inet_service; flags dynamic; }
		set passed6 { type ipv6_addr . inet_service; flags dynamic; }
		chain before {
			type filter hook output priority filter - 10; policy accept;
			oifname "lo" accept
			tcp flags syn / syn,ack add @tried4 { ip daddr . tcp dport }
			tcp flags syn / syn,ack add @tried6 { ip6 daddr . tcp dport }
		}
		chain after {
			type filter hook output priority filter + 10; policy accept;
			oifname "lo" accept
			tcp flags syn / syn,ack add @passed4 { ip daddr . tcp dport }
			tcp flags syn / syn,ack add @passed6 { ip6 daddr . tcp dport }
		}
	}
	EOF
}

trace_reset() {
	local s
	for s in tried4 tried6 passed4 passed6; do
		nft flush set inet kvftrace "$s" || hard_error "cannot flush the trace set $s"
	done
}

# The "ADDR PORT" pairs the rules rejected since trace_reset.
trace_rejected() {
	local f
	for f in 4 6; do
		set_elems inet kvftrace "tried$f" | sed 's/ \. / /' | LC_ALL=C sort > "$KVF_TMP/.tried"
		set_elems inet kvftrace "passed$f" | sed 's/ \. / /' | LC_ALL=C sort > "$KVF_TMP/.passed"
		LC_ALL=C comm -23 "$KVF_TMP/.tried" "$KVF_TMP/.passed"
	done
}

# ------------------------------------------------------------ kvfence
conf_write() {	# conf_write CLOUD: the default config of CLOUD, plus the vault
	cat > "$KVF_TMP/$1.conf" <<-EOF
	cloud $1
	vault $VAULT
	resolver 127.0.0.1
	state-file $KVF_TMP/state-$1
	status-file $KVF_TMP/status.json
	metrics-file none
	EOF
}

rules_load() {	# rules_load CLOUD: kvfence's printed rules for CLOUD, alone
	nft delete table inet filter 2>/dev/null
	kvf_run "rules-$1" -c "$KVF_TMP/$1.conf" rules
	expect_rc 0 "kvfence rules ($1)"
	nft -f "$KVF_TMP/rules-$1.out" || fail "nft -f cannot load the rules kvfence prints for cloud $1"
}

# ------------------------------------------------------------ flows
# shellcheck disable=SC2034 # read through ${!name}
FLOWS_public="client-secret challenge-login-windows-net key-sign arm-list-vaults managed-identity default-credential-env default-credential-imds"
# shellcheck disable=SC2034
FLOWS_china="china-cloud"
# shellcheck disable=SC2034
FLOWS_usgov="usgov-cloud"
FLOW_PIDS=()
RESULTS=()
PASSED=0
FAILED=0

flow_start() {	# flow_start TAG FLOW: run FLOW in the background
	local tag=$1 flow=$2 extra=()
	[ "$flow" != default-credential-env ] ||
		extra=(AZURE_TENANT_ID="$TENANT" AZURE_CLIENT_ID="$CLIENT_ID" AZURE_CLIENT_SECRET="$CLIENT_SECRET")
	: > "$KVF_TMP/$tag-$flow.trace"
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$KVF_TMP" \
		NODE_EXTRA_CA_CERTS="$KVF_TMP/pki/ca.pem" KVF_SDK_MODULES="$SDK_DIR/node_modules" \
		KVF_SDK_TRACE="$KVF_TMP/$tag-$flow.trace" KVF_TENANT="$TENANT" KVF_CLIENT_ID="$CLIENT_ID" \
		KVF_CLIENT_SECRET="$CLIENT_SECRET" KVF_VAULT="$VAULT" KVF_SUBSCRIPTION="$SUBSCRIPTION" \
		"${extra[@]}" \
		"$NODE" --require "$SDK_SRC/trace.js" "$SDK_SRC/flows.js" "$flow" \
		> "$KVF_TMP/$tag-$flow.out" 2> "$KVF_TMP/$tag-$flow.err" &
	FLOW_PIDS+=($!)
	kvf_bg_register $!
}

flows_wait() {
	local pid
	for pid in "${FLOW_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
		kvf_bg_forget "$pid"
	done
	FLOW_PIDS=()
}

# The host:port pairs a flow connected to, from its trace.
flow_contacts() {
	awk '$1 == "connect" && $NF == "ok" { print $2 ":" $4 }' "$1" | LC_ALL=C sort -u | tr '\n' ' '
}

# flow_judge TAG FLOW CLOUD REJECTED_FILE: one verdict line for a flow that
# must succeed.
flow_judge() {
	local tag=$1 flow=$2 cloud=$3 rej=$4 tr=$KVF_TMP/$1-$2.trace why=
	local out
	out=$(head -n 1 "$KVF_TMP/$tag-$flow.out")
	case $out in
	ok:*) ;;
	*) why="${out:-no result (see $tag-$flow.err)}" ;;
	esac
	# Attempts the client saw refused or reset, and kernel rejections of
	# the addresses this flow tried.
	local refused kernel='' a p
	refused=$(awk '$1 == "connect" && $(NF - 1) == "fail" { print $2 "(" $3 "):" $4 " " $NF }' "$tr" | LC_ALL=C sort -u | tr '\n' ' ')
	while read -r a p; do
		[ -n "$a" ] || continue
		grep -qE "^connect [^ ]+ $a $p " "$tr" && kernel="$kernel$a:$p "
	done < "$rej"
	[ -z "$refused" ] || why="${why:+$why; }rules rejected: $refused"
	[ -z "$kernel" ] || why="${why:+$why; }kernel saw rejected: $kernel"
	case $flow in
	challenge-login-windows-net)
		# The vault did challenge with login.windows.net, and the client
		# took only the tenant from it.
		grep -q "https [^ ]* $VAULT\.vault\.azure\.net GET /secrets/legacy-challenge/\? 401" "$KVF_TMP/fake.log" ||
			why="${why:+$why; }the vault never sent its login.windows.net challenge"
		! grep -q 'login\.windows\.net' "$tr" ||
			why="${why:+$why; }the client went to login.windows.net"
		;;
	esac
	local line
	if [ -z "$why" ]; then
		line="PASS  $flow ($cloud): ${out#ok: }; contacted: $(flow_contacts "$tr")"
		PASSED=$((PASSED + 1))
	else
		line="FAIL  $flow ($cloud): $why; contacted: $(flow_contacts "$tr")"
		FAILED=$((FAILED + 1))
	fi
	RESULTS+=("$line")
	kvf_log "flow $flow ($cloud): ${out:-no output}; its trace:"
	sed 's/^/    trace: /' "$tr" >&2
	sed 's/^/    stderr: /' "$KVF_TMP/$tag-$flow.err" | head -n 20 >&2
}

# The platform's own endpoints, without the SDK: the WireServer, which the
# VM agent needs on TCP 80 and 32526.
wireserver_check() {
	local out
	trace_reset
	out=$(env -i PATH=/usr/bin:/bin KVF_SDK_TRACE="$KVF_TMP/wireserver.trace" "$NODE" --require "$SDK_SRC/trace.js" -e '
		const http = require("node:http");
		const get = (port, path) => new Promise((ok) => {
			http.get({ host: "168.63.129.16", port, path, timeout: 5000 }, (r) => { r.resume(); ok(`${port}:${r.statusCode}`); })
				.on("error", (e) => ok(`${port}:${e.code}`)).on("timeout", function () { this.destroy(new Error("timeout")); });
		});
		Promise.all([get(80, "/?comp=versions"), get(32526, "/vmSettings")]).then((r) => console.log(r.join(" ")));
	' 2>&1)
	local line
	if [ "$out" = "80:200 32526:200" ]; then
		line="PASS  wireserver (platform, no SDK): 168.63.129.16 TCP 80 and 32526 answer"
		PASSED=$((PASSED + 1))
	else
		line="FAIL  wireserver (platform, no SDK): 168.63.129.16 TCP 80 and 32526: $out"
		FAILED=$((FAILED + 1))
	fi
	RESULTS+=("$line")
	kvf_log "$line"
}

# The vault's address (zone_write) is in the set: the agent has done its
# first reconcile for CLOUD.
vault_in_set() {
	local a
	case $1 in
	public) a=198.51.100.10 ;;
	china) a=198.51.100.30 ;;
	usgov) a=198.51.100.40 ;;
	esac
	set_elems inet filter kvfence4 | grep -q "^$a \. 443 "
}

cloud_pass() {	# cloud_pass CLOUD: rules + agent for CLOUD, its flows in parallel
	local cloud=$1 flows f
	flows=FLOWS_$cloud
	conf_write "$cloud"
	rules_load "$cloud"
	: > "$KVF_TMP/agent.err"
	kvf_agent_start -c "$KVF_TMP/$cloud.conf"
	if ! wait_until 10 vault_in_set "$cloud"; then
		sed 's/^/  agent: /' "$KVF_TMP/agent.err" >&2
		fail "the agent did not put $VAULT's address for cloud $cloud into kvfence4 within 10 s"
	fi
	trace_reset
	for f in ${!flows}; do
		flow_start "$cloud" "$f"
	done
	flows_wait
	trace_rejected > "$KVF_TMP/rejected-$cloud"
	for f in ${!flows}; do
		flow_judge "$cloud" "$f" "$cloud" "$KVF_TMP/rejected-$cloud"
	done
	# A rejection no flow's trace explains is a failure of its own.
	local a p
	while read -r a p; do
		[ -n "$a" ] || continue
		grep -qE "^connect [^ ]+ $a $p " "$KVF_TMP/$cloud"-*.trace ||
			{ RESULTS+=("FAIL  (cloud $cloud) a rejected connection to $a:$p no flow traced"); FAILED=$((FAILED + 1)); }
	done < "$KVF_TMP/rejected-$cloud"
	[ "$cloud" != public ] || wireserver_check
	kvf_agent_stop
	[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent (cloud $cloud) exited with $KVF_AGENT_RC"
}

# The same flows with kvfence's sets empty: each must fail, refused by the
# rules.
empty_pass() {
	local f cloud all=() n=0
	nft flush set inet filter kvfence4 && nft flush set inet filter kvfence6 ||
		hard_error "cannot flush kvfence's sets"
	[ -z "$(set_elems inet filter kvfence4)$(set_elems inet filter kvfence6)" ] ||
		hard_error "kvfence's sets are not empty after a flush"
	trace_reset
	for cloud in public china usgov; do
		local flows=FLOWS_$cloud
		for f in ${!flows}; do
			flow_start empty "$f"
			all+=("$f")
		done
	done
	flows_wait
	trace_rejected > "$KVF_TMP/rejected-empty"
	for f in "${all[@]}"; do
		local out tr=$KVF_TMP/empty-$f.trace
		out=$(head -n 1 "$KVF_TMP/empty-$f.out")
		case $out in
		ok:*)
			RESULTS+=("FAIL  $f with empty sets: it succeeded, so the test proves nothing")
			FAILED=$((FAILED + 1))
			;;
		*)
			if grep -qE '^connect .* fail (ECONNREFUSED|ECONNRESET)$' "$tr"; then
				n=$((n + 1))
				kvf_log "with empty sets, $f fails as it must: ${out:0:160}"
			else
				RESULTS+=("FAIL  $f with empty sets failed, but not because the rules refused it: ${out:-no output}")
				FAILED=$((FAILED + 1))
				sed 's/^/    trace: /' "$tr" >&2
			fi
			;;
		esac
	done
	[ -s "$KVF_TMP/rejected-empty" ] ||
		{ RESULTS+=("FAIL  with empty sets the kernel rejected nothing"); FAILED=$((FAILED + 1)); }
	RESULTS+=("with kvfence's sets empty: $n of ${#all[@]} flows fail, refused by the rules (as they must)")
}

# ------------------------------------------------------------ main
net_setup
zone_write
dns_start "$KVF_TMP/root.zone"
certs_make
fakes_start
trace_load
T1=$(now_ms)

# What the default public catalogue says about login.windows.net.
conf_write public
kvf_run check-public -c "$KVF_TMP/public.conf" check
expect_rc 0 "kvfence check (public)"
# The clients and kvfence ask the same server, as kvfence(8) advises.
cat "$KVF_TMP/check-public.out" "$KVF_TMP/check-public.err" > "$KVF_TMP/check-public.all"
assert_no_grep "$KVF_TMP/check-public.all" '^warning: (resolver|[^ ]*hosts:)' \
	"kvfence check warns that the test's clients resolve otherwise than kvfence"
grep -h 'login\.windows\.net' "$KVF_TMP/check-public.out" "$KVF_TMP/check-public.err" |
	sed 's/^/kvfence check (public, default) says: /' > "$KVF_TMP/check-lww"
[ -s "$KVF_TMP/check-lww" ] ||
	echo "kvfence check (public, default) says nothing about login.windows.net" > "$KVF_TMP/check-lww"
# The default catalogue leaves login.windows.net out; auth-aliases yes,
# which the man pages give legacy ADAL-based clients, brings it in.
kvf_run endpoints-public -c "$KVF_TMP/public.conf" endpoints
expect_rc 0 "kvfence endpoints (public)"
if grep -q '^login\.windows\.net ' "$KVF_TMP/endpoints-public.out"; then
	echo "kvfence endpoints (public, default) lists login.windows.net" >> "$KVF_TMP/check-lww"
else
	echo "kvfence endpoints (public, default) leaves login.windows.net out" >> "$KVF_TMP/check-lww"
fi
{ cat "$KVF_TMP/public.conf"; echo "auth-aliases yes"; } > "$KVF_TMP/aliases.conf"
kvf_run endpoints-aliases -c "$KVF_TMP/aliases.conf" endpoints
expect_rc 0 "kvfence endpoints (public, auth-aliases yes)"
assert_grep "$KVF_TMP/endpoints-aliases.out" '^login\.windows\.net 443 ' \
	"auth-aliases yes does not bring in login.windows.net, which legacy ADAL clients need"

for cloud in public china usgov; do
	cloud_pass "$cloud"
done
T2=$(now_ms)
empty_pass
T3=$(now_ms)

{
	echo "SDK: $(cd "$SDK_DIR" && "$NODE" -p '["@azure/identity","@azure/keyvault-secrets","@azure/keyvault-keys","@azure/arm-keyvault","@azure/msal-node"].map(p => p + " " + require("./node_modules/" + p + "/package.json").version).join(", ")') on node $("$NODE" --version)"
	cat "$KVF_TMP/check-lww"
	printf '%s\n' "${RESULTS[@]}"
	echo "times: setup $(( (T1 - T0) )) ms, flows behind the rules $(( T2 - T1 )) ms, with empty sets $(( T3 - T2 )) ms"
} | tee "$KVF_TMP/report" | sed "s/^/$KVF_NAME: /" >&2

[ "$FAILED" -eq 0 ] || fail "$FAILED of $((PASSED + FAILED)) checks failed (report above)"
exit 0
