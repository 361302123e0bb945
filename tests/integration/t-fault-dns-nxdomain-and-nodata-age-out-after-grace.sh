#!/bin/bash
# Definite negative answers under the running agent: a host that had
# addresses turns NXDOMAIN, another loses its AAAA records (NODATA for
# AAAA only, A still answered). Their addresses stay while grace runs,
# then leave; the A address of the NODATA host stays; the agent lives.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

GRACE=4
fakedns_begin
fakedns_rule nx.example.com answer a=192.0.2.10 aaaa=2001:db8::10 ttl=1
fakedns_rule nodata6.example.com answer a=192.0.2.20 aaaa=2001:db8::20 ttl=1
fakedns_commit
fakedns_start

conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints none\nhost nx.example.com 443\nhost nodata6.example.com 443\n'
	printf 'refresh-min 1s\nrefresh-max 2s\ngrace %ss\n' "$GRACE"
	kvf_conf_base
} > "$conf"
kvf_agent_start -c "$conf"
has4() { set_elems inet filter kvfence4 | grep -q "^$1 "; }
has6() { set_elems inet filter kvfence6 | grep -q "^$1 "; }
full() { has4 192.0.2.10 && has6 2001:db8::10 && has4 192.0.2.20 && has6 2001:db8::20; }
wait_until 10 full || fail "the agent did not fill the sets"

fakedns_begin
fakedns_rule nx.example.com nxdomain
fakedns_rule nodata6.example.com A answer a=192.0.2.20 ttl=1
fakedns_rule nodata6.example.com AAAA nodata
fakedns_commit
# The first negative answers, as the server logged them (epoch ms).
first() { awk -v n="$1" -v a="$2" '$3 == n && $5 == a { print $1; exit }' "$KVF_FDNS_LOG"; }
seen() { [ -n "$(first nx.example.com. nxdomain)" ] && [ -n "$(first nodata6.example.com. nodata)" ]; }
wait_until 10 seen || fail "the agent did not query again after the change"
t0=$(first nx.example.com. nxdomain)
t06=$(first nodata6.example.com. nodata)
# Give the agent time to process the answers (a reconcile follows within
# 200 ms), still well inside grace.
wait_until 5 eval '[ "$(status_host_field nx.example.com a)" = nxdomain ]' ||
	fail "status.json does not show nx.example.com's NXDOMAIN"
wait_until 5 eval '[ "$(status_host_field nodata6.example.com aaaa)" = nodata ]' ||
	fail "status.json does not show nodata6.example.com's AAAA NODATA"
now=$(now_ms)
[ $((now - t0)) -lt $(( (GRACE - 2) * 1000 )) ] ||
	hard_error "too slow to observe the sets inside grace ($((now - t0)) ms)"
has4 192.0.2.10 && has6 2001:db8::10 ||
	fail "nx.example.com's addresses left at once on NXDOMAIN, not after grace"
has6 2001:db8::20 || fail "nodata6.example.com's AAAA address left at once on NODATA"

gone() { ! has4 192.0.2.10 && ! has6 2001:db8::10 && ! has6 2001:db8::20; }
wait_until $((GRACE + 8)) gone || fail "the addresses did not leave after grace"
t1=$(now_ms)
echo "left $((t1 - t0)) ms after the first NXDOMAIN, $((t1 - t06)) ms after the first NODATA (grace ${GRACE}s)" >&2
# Last confirmed at most refresh-min (1 s) before the first negative answer.
[ $((t1 - t0)) -ge $(( (GRACE - 2) * 1000 )) ] || fail "nx.example.com left before grace ran out"
has4 192.0.2.20 || fail "nodata6.example.com's A address left with its AAAA one"
kvf_agent_alive || fail "the agent died"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "the agent exited $KVF_AGENT_RC on SIGTERM"
exit 0
