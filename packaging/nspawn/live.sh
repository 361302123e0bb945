#!/bin/bash
# kvfence: the service's life under systemd as PID 1, run INSIDE the
# Debian 12 container that packaging/nspawn/run.sh boots (its own network
# namespace: nothing here reaches the host's ruleset).
#
# /ci (bound from the host) holds kvfence-a.deb (the version under test),
# kvfence-b.deb (the same source, a higher version) and receives:
#   /ci/results   one line per gate: PASS|FAIL <TAB> seconds <TAB> name
#   /ci/log       everything, for the host to show on failure
# /ci/break, if present, names a deliberate fault (see "Faults" below) so
# that the host can prove the gate that checks it fails.
#
# The DNS server is the container's knot (Debian's knot.service) on
# 127.0.0.1, serving a root zone with the documentation-range answers.
set -u
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
exec >> /ci/log 2>&1
trap 'systemctl --no-block poweroff' EXIT
brk=$(cat /ci/break 2>/dev/null || true)
echo "=== live.sh, fault: ${brk:-none}"

log() { printf '[%6.2f] %s\n' "$(awk '{print $1}' /proc/uptime)" "$*"; }
# wait_until SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds.
wait_until() {
	local end=$(( $(date +%s%N) + $1 * 1000000000 ))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
gate() {	# gate NAME FUNCTION: time it, record PASS/FAIL
	local name=$1 t0 t1 r
	shift
	log "--- gate: $name"
	t0=$(date +%s%N)
	if "$@"; then r=PASS; else r=FAIL; fi
	t1=$(date +%s%N)
	printf '%s\t%d.%02d\t%s\n' "$r" $(( (t1 - t0) / 1000000000 )) \
		$(( (t1 - t0) / 10000000 % 100 )) "$name" >> /ci/results
	log "$r: $name"
	[ $r = PASS ]
}

# ------------------------------------------------------------- helpers --
# kvfence's elements, one "address . port" a line, sorted: what "no
# element disappears" compares.
elems() {
	local s
	for s in kvfence4 kvfence6; do
		nft list set inet filter $s 2>/dev/null |
			grep -oE '[0-9a-f.:]+ \. [0-9]+' | sed "s/^/$s /"
	done | sort
}
count() { elems | wc -l; }
has_elems() { [ "$(count)" -eq "$1" ]; }
failed_thrice() {	# some host's last 3 resolutions failed
	kvfence status --json 2>/dev/null | grep -oE '"failures": ?[0-9]+' |
		grep -qE '[^0-9]([3-9]|[1-9][0-9]+)$'
}
mainpid() { systemctl show -p MainPID --value kvfence; }
active() { [ "$(systemctl is-active kvfence)" = active ]; }

serial=1
zone() {	# zone RECORDS...: write the root zone and have knot load it
	serial=$((serial + 1))
	{
		printf '$ORIGIN .\n$TTL 2\n'
		printf '.\t3600 IN SOA ns.kvfence-test. h.kvfence-test. %d 3600 600 86400 2\n' $serial
		printf '.\t3600 IN NS ns.kvfence-test.\nns.kvfence-test.\t3600 IN A 127.0.0.1\n'
		printf '%s\n' "$@"
	} > /var/lib/knot/root.zone
	chown knot:knot /var/lib/knot/root.zone
	if systemctl is-active --quiet knot; then knotc zone-reload . >/dev/null; fi
}
dns_serial() { kdig @127.0.0.1 +short +time=1 +retry=0 SOA . 2>/dev/null | awk '{print $3}'; }
dns_up() { [ "$(dns_serial)" = "$serial" ]; }
dns_down() { ! kdig @127.0.0.1 +time=1 +retry=0 SOA . >/dev/null 2>&1; }

# nft monitor from a marker on: mon_start FILE; mon_stop FILE prints the
# events between the markers.
mon_start() {
	: > "$1"
	nft monitor > "$1" 2>&1 &
	mon_pid=$!
	for _ in $(seq 20); do
		nft add table inet kvf_mark && nft delete table inet kvf_mark
		wait_until 1 grep -q 'delete table inet kvf_mark' "$1" && return 0
	done
	return 1
}
mon_stop() {
	nft add table inet kvf_mark_end && nft delete table inet kvf_mark_end
	wait_until 10 grep -q 'delete table inet kvf_mark_end' "$1"
	kill "$mon_pid"; wait "$mon_pid" 2>/dev/null
}
# no_kvfence_deletion FILE: the monitor saw no element of kvfence's sets
# deleted, and neither set nor the table deleted or flushed.
no_kvfence_deletion() {
	local bad
	bad=$(grep -E '^(delete element inet filter kvfence[46]|delete set inet filter kvfence[46]|flush set inet filter kvfence[46]|delete table inet filter|flush table inet filter)' "$1")
	[ -z "$bad" ] && return 0
	echo "nft monitor saw kvfence's elements disappear:"
	echo "$bad" | head -n 20
	return 1
}

# ---------------------------------------------------------------- setup --
log "systemd: $(systemctl --version | head -n 1); PID 1: $(cat /proc/1/comm)"
mkdir -p /var/lib/knot /etc/knot
cat > /etc/knot/knot.conf <<'EOF'
server:
    rundir: "/run/knot"
    user: knot:knot
    listen: [ 127.0.0.1@53 ]
log:
  - target: syslog
    any: info
database:
    storage: "/var/lib/knot"
template:
  - id: default
    storage: "/var/lib/knot"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: .
    file: "/var/lib/knot/root.zone"
EOF
prod="contoso-prod.vault.azure.net. 2 IN CNAME data-prod.vaultcore.azure.net."
prod_a="data-prod.vaultcore.azure.net. 2 IN A 192.0.2.10
data-prod.vaultcore.azure.net. 2 IN A 192.0.2.11
data-prod.vaultcore.azure.net. 2 IN AAAA 2001:db8::10"
dev="contoso-dev.vault.azure.net. 2 IN A 198.51.100.20"
zone "$prod" "$prod_a" "$dev"
systemctl restart knot
wait_until 20 dns_up || { log "knot does not answer"; journalctl -u knot --no-pager | tail; }
echo 'nameserver 127.0.0.1' > /etc/resolv.conf

conf() {	# conf VAULT...: the service's configuration
	{
		printf 'vault %s\n' "$*"
		printf 'endpoints vault\nresolver 127.0.0.1\nrefresh-min 1s\nrefresh-max 2s\n'
		[ "$brk" != max-stale ] || printf 'max-stale 1s\ngrace 1s\n'
	} > /etc/kvfence/kvfence.conf
}

# ---------------------------------------------------------------- gates --
g_install() {
	apt-get install -y -q --no-install-recommends /ci/kvfence-a.deb || return 1
	getent passwd kvfence && getent group kvfence &&
		[ -f /usr/lib/sysusers.d/kvfence.conf ] &&
		[ "$(systemctl is-enabled kvfence)" = disabled ] && ! active
}
gate "install (apt-get install ./kvfence-a.deb): user from sysusers.d, service disabled" g_install ||
	exit 0

g_start() {
	conf contoso-prod
	# Type=notify: "start" returns when the agent sent READY=1.
	systemctl enable --now kvfence || return 1
	local st
	st=$(systemctl show -p Type,NotifyAccess,StatusText,ActiveState,SubState kvfence)
	echo "$st"
	grep -qx Type=notify <<<"$st" && grep -qx ActiveState=active <<<"$st" &&
		grep -q '^StatusText=.*hosts' <<<"$st" || return 1
	wait_until 10 has_elems 3 || { elems; return 1; }
	elems
}
gate "start: Type=notify READY, status text, sets filled" g_start

g_reload() {
	local pid
	pid=$(mainpid)
	conf contoso-prod contoso-dev
	systemctl reload kvfence || return 1
	wait_until 10 has_elems 4 || { echo "the new vault's address did not come"; elems; return 1; }
	[ "$(mainpid)" = "$pid" ] || { echo "reload restarted the agent"; return 1; }
	active
}
gate "reload (systemctl reload, SIGHUP): new config applied, same process" g_reload

g_refill() {
	local before
	before=$(elems)
	[ "$brk" != no-refill ] || systemctl kill -s SIGSTOP kvfence
	nft flush ruleset
	wait_until 10 has_elems 4
	local rc=$?
	[ "$brk" != no-refill ] || systemctl kill -s SIGCONT kvfence
	[ $rc -eq 0 ] && [ "$(elems)" = "$before" ] || { elems; return 1; }
}
gate "nft flush ruleset: the sets come back" g_refill

g_outage() {
	local before ok=1 mon=/ci/mon-outage
	before=$(elems)
	mon_start $mon || return 1
	systemctl stop knot
	wait_until 10 dns_down || return 1
	# Three refreshes in a row fail (backoff from refresh-min 1s to
	# refresh-max 2s): the agent's status counts them.
	wait_until 30 failed_thrice || { echo "no host failed three times"; ok=0; }
	kvfence status
	mon_stop $mon
	no_kvfence_deletion $mon || ok=0
	[ "$(elems)" = "$before" ] || { echo "elements changed during the outage:"; elems; ok=0; }
	systemctl start knot && wait_until 20 dns_up
	[ $ok = 1 ] && active
}
gate "DNS outage (knot stopped): sets kept" g_outage

g_stop() {
	local before
	before=$(elems)
	systemctl stop kvfence || return 1
	! active && [ "$(elems)" = "$before" ] && [ -s /var/lib/kvfence/state ]
}
gate "stop: sets kept, state saved" g_stop

g_restart() {
	local mon=/ci/mon-restart pid
	systemctl start kvfence && wait_until 10 has_elems 4 || return 1
	pid=$(mainpid)
	mon_start $mon || return 1
	systemctl restart kvfence || return 1
	wait_until 5 has_elems 4
	mon_stop $mon
	[ "$(mainpid)" != "$pid" ] && active && no_kvfence_deletion $mon
}
gate "restart: new process, nft monitor sees no kvfence element deleted" g_restart

g_warm() {
	systemctl stop kvfence knot
	wait_until 10 dns_down || return 1
	nft flush ruleset
	# Boot-like: empty ruleset, no DNS. The state file alone fills the sets.
	systemctl start kvfence || return 1
	wait_until 5 has_elems 4 || { elems; return 1; }
	journalctl -u kvfence --no-pager -o cat | grep -q 'warm start' || return 1
	systemctl start knot && wait_until 20 dns_up
}
gate "warm start (empty ruleset, DNS down): sets from the state file" g_warm

# upgrade FROM TO: "apt-get install ./TO.deb" as apt runs it, one dpkg step
# at a time: dpkg --unpack (old prerm, new preinst, files, old postrm),
# then dpkg --configure (new postinst). The agent must still be the old
# one, running, after the unpack (a package that stops the service first
# opens a gap), and a new one, running, after the configure (restarted on
# upgrade); nft monitor must see no element of kvfence's deleted anywhere.
g_upgrade() {
	local to=$1 want=$2 mon=/ci/mon-$3 pid ok=0
	active && wait_until 10 has_elems 4 || return 1
	pid=$(mainpid)
	mon_start "$mon" || return 1
	{
		dpkg --force-downgrade --force-confold --unpack "$to" &&
		{ echo "after unpack: $(systemctl is-active kvfence) pid $(mainpid) (was $pid)"
		  active && [ "$(mainpid)" = "$pid" ] || { echo "the agent did not survive the unpack"; false; }; } &&
		dpkg --force-confold --configure kvfence &&
		{ echo "after configure: $(systemctl is-active kvfence) pid $(mainpid)"
		  active && [ "$(mainpid)" != "$pid" ] || { echo "the agent was not restarted"; false; }; } &&
		[ "$(dpkg-query -W -f='${Version}' kvfence)" = "$want" ] &&
		wait_until 5 has_elems 4
	} && ok=1
	mon_stop "$mon"
	no_kvfence_deletion "$mon" || ok=0
	grep -c 'element inet filter kvfence' "$mon" | sed 's/^/element events seen: /'
	[ $ok = 1 ]
}
va=$(dpkg-deb -f /ci/kvfence-a.deb Version)
vb=$(dpkg-deb -f /ci/kvfence-b.deb Version)
gate "upgrade $va -> $vb: agent kept through unpack, restarted, no element deleted" \
	g_upgrade /ci/kvfence-b.deb "$vb" upgrade
gate "downgrade $vb -> $va: agent kept through unpack, restarted, no element deleted" \
	g_upgrade /ci/kvfence-a.deb "$va" downgrade

g_purge() {
	local before
	before=$(elems)
	apt-get purge -y -q kvfence > /ci/purge.out 2>&1
	local rc=$?
	cat /ci/purge.out
	[ $rc -eq 0 ] && ! active && [ "$(elems)" = "$before" ] &&
		grep -q 'stay in the kernel' /ci/purge.out && grep -q 'kvfence clear' /ci/purge.out &&
		[ ! -e /etc/kvfence ] && [ ! -e /var/lib/kvfence ] &&
		getent passwd kvfence >/dev/null
}
gate "purge: service gone, elements and user stay, administrator told" g_purge

# Asked for: /etc/kvfence/clear-on-remove makes prerm run "kvfence clear"
# once the service has stopped: kvfence's elements go, an administrator's
# element in the same set stays.
g_clear_on_remove() {
	nft flush ruleset
	apt-get install -y -q --no-install-recommends /ci/kvfence-a.deb >/dev/null || return 1
	conf contoso-prod
	systemctl enable --now kvfence && wait_until 10 has_elems 3 || return 1
	nft add element inet filter kvfence4 '{ 203.0.113.99 . 443 }' || return 1
	touch /etc/kvfence/clear-on-remove
	apt-get purge -y -q kvfence > /ci/purge2.out 2>&1 || { cat /ci/purge2.out; return 1; }
	grep -v 'Reading database' /ci/purge2.out
	elems
	[ "$(elems)" = "kvfence4 203.0.113.99 . 443" ] &&
		grep -q 'removed at removal' /ci/purge2.out
}
gate "purge with /etc/kvfence/clear-on-remove: only kvfence's elements removed" g_clear_on_remove

# ------------------------------------------- DNS proxy and resolved --
# The two setups with systemd-resolved that kvfence(8) describes (DNS
# PROXY). In each, the vault's answer changes (TTL 300 s: polling, at
# refresh-min 10m, does not see it), a client resolves the name, and the
# new address must be in the set the moment the client has its answer.
# Fault proxy-bypassed: the client's path skips kvfence (resolved's DNS=
# is knot, or the client asks 127.0.0.53), so the gates must fail; fault
# no-route-domain: resolved's drop-in lacks Domains=~., so resolved also
# asks the DNS server a link got (knot, on kvf0's address; kvf0 is one end
# of a veth pair).
vault=contoso-prod.vault.azure.net
pzone() {	# pzone ADDRESS: the vault's chain, at TTL 300, ends in ADDRESS
	zone "$vault. 300 IN CNAME data-prod.vaultcore.azure.net." \
		"data-prod.vaultcore.azure.net. 300 IN A $1" \
		"www.example.org. 300 IN A 203.0.113.80"
	wait_until 10 dns_up
}
in_set() { nft get element inet filter kvfence4 "{ $1 . 443 }" >/dev/null 2>&1; }
pconf() {	# pconf RESOLVER: the proxy on 127.0.2.53, polling out of the way
	printf 'vault contoso-prod\nendpoints vault\nresolver %s\nlisten 127.0.2.53\nrefresh-min 10m\nrefresh-max 1h\n' \
		"$1" > /etc/kvfence/kvfence.conf
}
resolved_conf() {	# resolved_conf LINE...: resolved's drop-in; (re)start it
	mkdir -p /etc/systemd/resolved.conf.d
	printf '[Resolve]\nDNSSEC=no\nLLMNR=no\nMulticastDNS=no\n' > /etc/systemd/resolved.conf.d/kvfence.conf
	[ "$brk" = no-route-domain ] || echo 'Domains=~.' >> /etc/systemd/resolved.conf.d/kvfence.conf
	printf '%s\n' "$@" >> /etc/systemd/resolved.conf.d/kvfence.conf
	systemctl restart systemd-resolved && active_resolved
}
active_resolved() { [ "$(systemctl is-active systemd-resolved)" = active ]; }
client_resolv() {	# a file of its own, not the link to resolved's
	rm -f /etc/resolv.conf
	printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$1" > /etc/resolv.conf
}
# client_gets HOW ADDRESS: the client resolves the vault (getent through
# /etc/resolv.conf, or resolvectl through D-Bus) and gets ADDRESS; at
# once, ADDRESS is in the set.
client_gets() {
	local got t0 t1 there=no
	t0=$(date +%s%N)
	case $1 in
	getent) got=$(getent ahostsv4 $vault | awk '{ print $1; exit }') ;;
	resolvectl) got=$(resolvectl query -4 --legend=no $vault | grep -oE '192\.0\.2\.[0-9]+' | head -n 1) ;;
	esac
	in_set "$2" && there=yes
	t1=$(date +%s%N)
	echo "$1: got '$got', in the set at once: $there ($(( (t1 - t0) / 1000000 )) ms)"
	[ "$got" = "$2" ] && [ $there = yes ]
}
other_resolves() {	# a name kvfence does not keep: resolved, not in the set
	local got
	got=$(getent ahostsv4 www.example.org | awk '{ print $1; exit }')
	echo "www.example.org: '$got'"
	[ "$got" = 203.0.113.80 ] && ! in_set 203.0.113.80
}
g_resolved_dns() {
	# Setup: resolved's DNS= is kvfence; kvfence's resolver is knot.
	nft flush ruleset
	apt-get install -y -q --no-install-recommends /ci/kvfence-a.deb >/dev/null || return 1
	# A network link, as DHCP configures one, with an address (which
	# getaddrinfo's AI_ADDRCONFIG wants) and, below, a DNS server of its
	# own: knot, which would bypass kvfence.
	ip link add kvf0 type veth peer name kvf1 && ip link set kvf1 up &&
		ip addr add 198.51.100.200/24 dev kvf0 &&
		ip link set kvf0 up || return 1
	sed -i 's/listen: \[ 127.0.0.1@53 \]/listen: [ 127.0.0.1@53, 198.51.100.200@53 ]/' /etc/knot/knot.conf
	systemctl restart knot && wait_until 20 dns_up || return 1
	pzone 192.0.2.10
	pconf 127.0.0.1
	# Port 53: the capability kvfence.conf(5) says to add in a drop-in
	# (the shipped unit grants CAP_NET_ADMIN only).
	mkdir -p /etc/systemd/system/kvfence.service.d
	printf '[Service]\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n' \
		> /etc/systemd/system/kvfence.service.d/listen.conf
	systemctl daemon-reload
	systemctl enable --now kvfence && wait_until 10 in_set 192.0.2.10 || return 1
	# /etc/resolv.conf as Debian's systemd-resolved package makes it: the
	# link to resolved's stub file (nameserver 127.0.0.53).
	ln -sf ../run/systemd/resolve/stub-resolv.conf /etc/resolv.conf
	if [ "$brk" = proxy-bypassed ]; then resolved_conf DNS=127.0.0.1
	else resolved_conf DNS=127.0.2.53; fi || return 1
	resolvectl dns kvf0 198.51.100.200 || return 1
	resolvectl dns
	# Through resolved's stub (glibc, /etc/resolv.conf) ...
	pzone 192.0.2.12
	client_gets getent 192.0.2.12 || return 1
	# ... again without flushing resolved's cache: it does not keep
	# answers from a loopback server (CacheFromLocalhost=no, the default),
	# so the changed answer comes through kvfence, not from its cache ...
	pzone 192.0.2.13
	client_gets getent 192.0.2.13 || return 1
	# ... and through D-Bus (resolvectl, as nss-resolve asks).
	pzone 192.0.2.14
	client_gets resolvectl 192.0.2.14 || return 1
	other_resolves
}
gate "resolved's DNS= is the proxy: a changed answer reaches stub and D-Bus clients only once in the set" g_resolved_dns

g_resolved_behind() {
	# Setup: kvfence in front; its resolver is resolved's stub, whose
	# DNS= is knot, cached as a remote server would be.
	# (/etc/resolv.conf first, as at boot: resolved reads it.)
	if [ "$brk" = proxy-bypassed ]; then client_resolv 127.0.0.53
	else client_resolv 127.0.2.53; fi
	resolved_conf DNS=127.0.0.1 CacheFromLocalhost=yes || return 1
	pconf 127.0.0.53
	systemctl restart kvfence && active || return 1
	# The answer changes and resolved's cached one expires (flushed).
	pzone 192.0.2.15
	resolvectl flush-caches || return 1
	client_gets getent 192.0.2.15 || return 1
	# Served from resolved's cache now: in the set, released at once.
	client_gets getent 192.0.2.15 || return 1
	resolvectl dns
	other_resolves
}
gate "kvfence in front of resolved: a changed answer reaches resolv.conf clients only once in the set" g_resolved_behind

log "journal of kvfence:"
journalctl -u kvfence --no-pager -o short-monotonic | tail -n 60
log "seccomp/audit denials:"
journalctl -k --no-pager 2>/dev/null | grep -i 'audit.*seccomp' | tail -n 5 || true
exit 0
