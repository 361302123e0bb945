#!/bin/bash
# DNS proxy with `resolver system`: the proxy forwards to the servers of
# /etc/resolv.conf and follows a rewrite of it, as polling does, without
# SIGHUP; a rewrite naming the proxy itself is refused (logged) and the
# running proxy keeps its servers. The test sees its own /etc (an overlay
# in its private mount namespace).
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent fakedns -- "$@"
fakedns_require

kvf_own_etc
echo "nameserver 127.0.0.1" > /etc/resolv.conf

# 127.0.0.1: Knot (198.51.100.10); 127.0.0.2: fakedns (198.51.100.20).
zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_rr www.example.org 60 A 198.51.100.10
dns_start "$zone"
fakedns_begin
fakedns_rule www.example.org A answer a=198.51.100.20 ttl=60
fakedns_commit
KVF_FDNS_ADDR=127.0.0.2
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints none\nhost h.example.com 443\nresolver system\nlisten 127.0.2.53\n'
	kvf_conf_base | grep -v '^resolver'
} > "$conf"
kvf_agent_start -c "$conf"
proxied() { [ "$(kdig @127.0.2.53 +short +time=1 +retry=0 www.example.org A)" = "$1" ]; }
wait_until 5 proxied 198.51.100.10 || fail "the proxy does not forward to resolv.conf's server"

echo "nameserver 127.0.0.2" > /etc/resolv.conf
wait_until 5 proxied 198.51.100.20 ||
	fail "the proxy did not follow resolv.conf rewritten in place"

echo "nameserver 127.0.2.53" > /etc/resolv.conf
wait_until 5 grep -q "the resolver 127.0.2.53 is kvfence's own listen address" "$KVF_TMP/agent.err" ||
	fail "a resolv.conf naming the proxy itself is not reported"
proxied 198.51.100.20 || fail "the proxy lost its servers to a resolv.conf naming itself"
kvf_agent_alive || fail "the agent died"
exit 0
