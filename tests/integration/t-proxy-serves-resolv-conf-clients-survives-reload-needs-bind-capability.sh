#!/bin/bash
# DNS proxy setups (kvfence(8), DNS PROXY): with "nameserver 127.0.2.53"
# in /etc/resolv.conf (bind-mounted in the test's mount namespace), glibc's
# resolver (getent) reaches the vault through kvfence, and a changed answer
# is in the set when getent returns; "resolver system" reading that file
# is refused (exit 78: it would forward to itself); SIGHUP opens new listen
# addresses and closes dropped ones, answering throughout; as an
# unprivileged user, port 53 needs CAP_NET_BIND_SERVICE (exit 77 without
# it, naming the address), and works with it.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"
command -v getent >/dev/null 2>&1 || skip "getent not installed"

VAULT=contoso-prod.vault.azure.net
zone=$KVF_TMP/root.zone
write_zone() {
	zone_begin "$zone" 300
	zone_chain 300 $VAULT data-prod-weu.vaultcore.azure.net
	zone_addrs data-prod-weu.vaultcore.azure.net 300 "$1"
}
write_zone 192.0.2.10
dns_start "$zone"

printf 'nameserver 127.0.2.53\noptions timeout:2 attempts:1\n' > "$KVF_TMP/resolv.conf"
mount --bind "$KVF_TMP/resolv.conf" /etc/resolv.conf || skip "cannot bind-mount /etc/resolv.conf"
# glibc must ask DNS for this name (not a hosts file or nss-resolve).
grep -q '^hosts:.*dns' /etc/nsswitch.conf || skip "nsswitch.conf does not use dns"
# getaddrinfo's AI_ADDRCONFIG asks for IPv4 only on a host with a
# non-loopback IPv4 address: give the namespace one, as a host has.
ip addr add 198.51.100.200/32 dev lo || hard_error "cannot add an address"

base() {
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 10m\nrefresh-max 1h\n'
	kvf_conf_base | grep -v '^resolver'
}
conf=$KVF_TMP/kvfence.conf

# 1. resolver system + resolv.conf naming the proxy: refused.
{ base; printf 'resolver system\nlisten 127.0.2.53\n'; } > "$conf"
kvf_run loop -c "$conf" run -f
expect_rc "$KVF_EX_CONFIG" "resolver system reading the proxy's own address"
assert_grep "$KVF_TMP/loop.err" 'the resolver 127\.0\.2\.53 is kvfence.s own listen address' \
	"the loop is not explained"

# 2. A plain resolv.conf client.
{ base; printf 'resolver 127.0.0.1\nlisten 127.0.2.53\n'; } > "$conf"
kvf_agent_start -c "$conf"
got=$(getent ahostsv4 $VAULT | awk '{ print $1; exit }')
[ "$got" = 192.0.2.10 ] || fail "getent through resolv.conf and kvfence gave '$got'"
write_zone 192.0.2.20
dns_reload
got=$(getent ahostsv4 $VAULT | awk '{ print $1; exit }')
elems=$(set_elems inet filter kvfence4)
[ "$got" = 192.0.2.20 ] || fail "getent did not get the new address ('$got')"
grep -q '^192\.0\.2\.20 \. 443 ' <<< "$elems" ||
	fail "getent returned 192.0.2.20 before it was in the set"

# 3. Reload: a second address opens, then closes; the first answers throughout.
answers() { kdig @"$1" +short +time=1 +retry=0 $VAULT A | grep -qx 192.0.2.20; }
{ base; printf 'resolver 127.0.0.1\nlisten 127.0.2.53 127.0.2.54\n'; } > "$conf"
kill -HUP "$KVF_AGENT_PID"
wait_until 5 answers 127.0.2.54 || fail "a listen address added by SIGHUP does not answer"
answers 127.0.2.53 || fail "the kept listen address stopped answering after SIGHUP"
{ base; printf 'resolver 127.0.0.1\nlisten 127.0.2.53\n'; } > "$conf"
kill -HUP "$KVF_AGENT_PID"
wait_until 5 eval '! answers 127.0.2.54' || fail "a listen address removed by SIGHUP still answers"
answers 127.0.2.53 || fail "the kept listen address stopped answering after the second SIGHUP"
kvf_agent_stop
[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent exited $KVF_AGENT_RC"

# 4. Port 53 as an unprivileged user.
command -v setpriv >/dev/null 2>&1 || skip "setpriv not installed"
chmod 755 "$KVF_TMP"
mkdir "$KVF_TMP/nb" && chown nobody "$KVF_TMP/nb" || hard_error "mkdir nb"
{
	printf 'vault contoso-prod\nendpoints vault\nresolver 127.0.0.1\nlisten 127.0.2.53\n'
	printf 'state-file %s/nb/state\nstatus-file %s/nb/status.json\nmetrics-file none\n' \
		"$KVF_TMP" "$KVF_TMP"
} > "$KVF_TMP/nb.conf"
chmod 644 "$KVF_TMP/nb.conf"
as_nobody() {	# CAPS, then the command
	local caps=$1
	shift
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps="-all,$caps" --ambient-caps="-all,$caps" \
		--bounding-set="-all,$caps" -- "$@"
}
as_nobody +net_admin true 2>/dev/null || skip "setpriv cannot drop to nobody here"
rc=0
# timeout outside setpriv: setpriv execs kvfence itself, as the other
# unprivileged tests do (a program it starts could not reach a binary in
# a build directory only root may enter, as CI's sanitizer build is).
timeout 10 setpriv --reuid=nobody --regid=nogroup --clear-groups \
	--inh-caps="-all,+net_admin" --ambient-caps="-all,+net_admin" \
	--bounding-set="-all,+net_admin" -- \
	"$KVFENCE" -c "$KVF_TMP/nb.conf" run -f 2> "$KVF_TMP/nobind.err" || rc=$?
cat "$KVF_TMP/nobind.err" >&2
[ "$rc" -eq 77 ] || fail "port 53 without CAP_NET_BIND_SERVICE: exit $rc, expected 77"
assert_grep "$KVF_TMP/nobind.err" 'listen 127\.0\.2\.53:53 \(UDP\): Permission denied' \
	"the refused port is not named"
caps=+net_admin,+net_bind_service
# setpriv directly, not through the function: $! must be the agent.
setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps="-all,$caps" \
	--ambient-caps="-all,$caps" --bounding-set="-all,$caps" -- \
	"$KVFENCE" -c "$KVF_TMP/nb.conf" run -f 2> "$KVF_TMP/bind.err" &
pid=$!
kvf_bg_register $pid
wait_until 10 answers 127.0.2.53 || { cat "$KVF_TMP/bind.err" >&2;
	fail "with CAP_NET_BIND_SERVICE the proxy does not answer on port 53"; }
rc=0
kvf_bg_stop $pid || rc=$?
cat "$KVF_TMP/bind.err" >&2
[ "$rc" -eq 0 ] || fail "the unprivileged agent exited $rc"
exit 0
