#!/bin/bash
# With `resolver system` the running agent follows /etc/resolv.conf as
# DHCP clients, NetworkManager and cloud-init rewrite it, without SIGHUP:
#  1. it starts with a dead name server (queries vanish): the host fails;
#  2. the file is replaced by rename (a new file moved over it) naming the
#     live server: the host resolves at once, not at its back-off;
#  3. the file is rewritten in place naming another server (other
#     answers): the host follows it at once, not at its next refresh;
#  4. /etc/resolv.conf becomes a symlink into another directory (as with
#     systemd-resolved), and that target is replaced by rename: followed;
#  5. a file with no nameserver line means 127.0.0.1;
#  6. a query in flight to the old server is asked of the new one at once.
# /etc/hosts, which names the host, is never used.
# A rewrite with the same servers (a DHCP renewal) is no change.
# The test sees its own /etc: an overlay in its private mount namespace,
# so the host's /etc/resolv.conf is never touched.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent fakedns -- "$@"
fakedns_require

kvf_own_etc
mkdir -p /run/kvf-resolved || hard_error "mkdir under /run"

# 192.0.2.53: a dead server (a fixed neighbour behind a veth that never
# answers). 127.0.0.1: Knot, 198.51.100.10. 127.0.0.2: fakedns, 198.51.100.20.
dead=192.0.2.53
ip link add kvfd0 type veth peer name kvfd1 || hard_error "cannot create a veth pair"
ip addr add 192.0.2.1/24 dev kvfd0 && ip link set kvfd0 up && ip link set kvfd1 up &&
	ip neigh replace $dead lladdr 02:00:00:00:00:53 dev kvfd0 nud permanent ||
	hard_error "cannot set up the blackhole"
echo "nameserver $dead" > /etc/resolv.conf
# /etc/hosts is no DNS answer: never in the sets.
echo "198.51.100.99 h.example.com" >> /etc/hosts

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_rr h.example.com 60 A 198.51.100.10
dns_start "$zone"
fakedns_begin
fakedns_rule h.example.com A answer a=198.51.100.20 ttl=60
fakedns_rule h.example.com AAAA nodata
fakedns_commit
KVF_FDNS_ADDR=127.0.0.2
fakedns_start

# refresh-min 30s: a failing host is asked again after 30 s at the
# earliest, and an answered one after 60 s (its TTL). Every step below
# must take effect well before that.
conf=$KVF_TMP/kvfence.conf
{
	echo "endpoints none"
	echo "host h.example.com 443"
	echo "resolver system"
	echo "refresh-min 30s"
	echo "state-file $KVF_TMP/state"
	echo "status-file $KVF_TMP/status.json"
	echo "metrics-file none"
} > "$conf"
kvf_agent_start -c "$conf"
kvf_agent_log_on_failure

failed_once() { grep -q "host h.example.com: resolution failed" "$KVF_TMP/agent.err"; }
wait_until 15 failed_once || fail "the host did not fail against the dead server"
assert_set_lacks inet filter kvfence4 198.51.100.10

has() { set_elems inet filter kvfence4 | grep -qxF "$1 . 443 comment \"h.example.com\""; }
lacks() { ! has "$1"; }

# 2. Replaced by rename.
printf '# written by a DHCP client\nnameserver 127.0.0.1\n' > /etc/resolv.conf.tmp
mv -f /etc/resolv.conf.tmp /etc/resolv.conf
t0=$(now_ms)
wait_until 10 has 198.51.100.10 || fail "a resolv.conf replaced by rename was not followed within 10 s"
kvf_log "rename: followed in $(( $(now_ms) - t0 )) ms"
assert_grep "$KVF_TMP/agent.err" "resolv.conf changed: name servers 127.0.0.1 \\(were $dead\\)" \
	"the change of name servers is not logged"

# A renewal that writes the same servers is no change.
n0=$(grep -c . "$KVF_FDNS_LOG")
printf 'nameserver 127.0.0.1\n' > /etc/resolv.conf
# 3. Rewritten in place: another server with other answers.
printf 'nameserver 127.0.0.2\n' > /etc/resolv.conf
t0=$(now_ms)
wait_until 10 has 198.51.100.20 || fail "a resolv.conf rewritten in place was not followed within 10 s"
kvf_log "in place: followed in $(( $(now_ms) - t0 )) ms"
[ "$(grep -c . "$KVF_FDNS_LOG")" -gt "$n0" ] || fail "the new server was not asked"

[ "$(grep -c 'resolv.conf changed' "$KVF_TMP/agent.err")" -eq 2 ] ||
	fail "a rewrite with the same servers was taken as a change"

# 4. A symlink into another directory; then its target is replaced by
# rename, which touches nothing in /etc. Each step waits for its own
# change line (the Nth), so a step never passes on an earlier one's line.
changes() { grep -c 'resolv.conf changed' "$KVF_TMP/agent.err"; }
nth_change() { [ "$(changes)" -ge "$1" ]; }
expect_change() {	# N NOW WERE WHAT
	wait_until 10 nth_change "$1" || fail "$4 was not followed within 10 s"
	grep 'resolv.conf changed' "$KVF_TMP/agent.err" | sed -n "$1p" |
		grep -qF "name servers $2 (were $3)" || fail "$4: not name servers $2 (were $3)"
}
printf 'nameserver 127.0.0.1\n' > /run/kvf-resolved/resolv.conf
ln -sf /run/kvf-resolved/resolv.conf /etc/resolv.conf
expect_change 3 127.0.0.1 127.0.0.2 "a symlinked resolv.conf"
printf 'nameserver 127.0.0.2\n' > /run/kvf-resolved/resolv.conf.tmp
mv -f /run/kvf-resolved/resolv.conf.tmp /run/kvf-resolved/resolv.conf
t0=$(now_ms)
expect_change 4 127.0.0.2 127.0.0.1 "a change of the symlink's target"
kvf_log "symlink target: followed in $(( $(now_ms) - t0 )) ms"

# 5. A file without a nameserver line (search and options only) means
# 127.0.0.1, as at start.
printf 'search example.com\noptions ndots:5 rotate timeout:30 attempts:5\n' > /etc/resolv.conf
expect_change 5 127.0.0.1 127.0.0.2 "a resolv.conf without nameserver"

assert_set_lacks inet filter kvfence4 198.51.100.99
kvf_agent_alive || fail "the agent died"
kvf_agent_stop

# 6. A query in flight to the dead server when the file changes is asked
# of the new server at once: no failure, and no wait for its timeout
# (1.5 + 3 s with one server).
printf 'nameserver %s\n' "$dead" > /etc/resolv.conf
sed -i 's/^host h\.example\.com 443$/host h2.example.com 443/; s#/state$#/state2#' "$conf"
zone_rr h2.example.com 60 A 198.51.100.11
KVF_ZONE_SERIAL=$((KVF_ZONE_SERIAL + 1))
sed -i "s/ $((KVF_ZONE_SERIAL - 1)) 3600 600/ $KVF_ZONE_SERIAL 3600 600/" "$zone"
dns_reload
: > "$KVF_TMP/agent.err"
kvf_agent_start -c "$conf"
printf 'nameserver 127.0.0.1\n' > /etc/resolv.conf.tmp
mv -f /etc/resolv.conf.tmp /etc/resolv.conf
t0=$(now_ms)
has2() { set_elems inet filter kvfence4 | grep -qxF '198.51.100.11 . 443 comment "h2.example.com"'; }
wait_until 10 has2 || fail "a query in flight to the old server was not asked again"
t1=$(now_ms)
kvf_log "in flight: answered by the new server $((t1 - t0)) ms after the change"
[ $((t1 - t0)) -lt 4000 ] || fail "the query in flight waited for the old server's timeout"
assert_no_grep "$KVF_TMP/agent.err" "h2.example.com: resolution failed" \
	"a query cut short by a change of servers was reported as a failure"
kvf_agent_stop
exit 0
