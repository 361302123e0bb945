#!/bin/bash
# DNS proxy under faults (fakedns.py as the resolver):
# - a resolver that does not answer: the client gets SERVFAIL within 2.5 s;
#   a resolver that is gone (port closed): SERVFAIL at once;
# - a flood of queries the resolver never answers: memory stays bounded,
#   drops are counted, and another client is answered meanwhile;
# - a lying resolver (a private address for a vault not via Private
#   Link): the address stays out of the set, the client still gets the
#   answer as the resolver gave it (documented), the log names the
#   rejection; via a Private Link zone the private address is let in;
# - a batch that cannot be written: the held answer becomes SERVFAIL;
# - spoofed replies (wrong id, wrong question) before the genuine one:
#   c-ares drops them; only the genuine address reaches the set and the
#   client.
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
client() { /usr/bin/python3 "$TESTDIR/lib/dnsclient.py" "$@"; }
P=127.0.2.53
VAULT=contoso-prod.vault.azure.net

rules() {	# the vault's rule, then any others
	fakedns_begin
	fakedns_rule $VAULT AAAA nodata
	set -f	# "* timeout" is a rule, not a glob
	for r in "$@"; do fakedns_rule $r; done
	set +f
	fakedns_rule ok.example.org answer a=198.51.100.9
	fakedns_commit
}
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 10m\nrefresh-max 1h\n'
	printf 'listen 127.0.2.53\n'
	kvf_conf_base
} > "$conf"
rules "$VAULT answer a=192.0.2.10"
fakedns_start
kvf_agent_start -c "$conf"
in_set() { local e; e=$(set_elems inet filter kvfence4); grep -q "^$1 \. 443 " <<< "$e"; }
wait_until 10 in_set 192.0.2.10 || fail "polling did not fill kvfence4"

# 1. Lying resolver: a private address outside Private Link.
rules "$VAULT answer a=10.1.2.3"
out=$(client query $P $VAULT A)
printf '%s\n' "$out" >&2
grep -q '^rcode=NOERROR id_ok=1 .*answers=10.1.2.3$' <<< "$out" ||
	fail "the client did not get the resolver's answer as given"
in_set 10.1.2.3 && fail "a private address outside Private Link entered the set"
assert_grep "$KVF_TMP/agent.err" "host $VAULT: rejected private address 10\.1\.2\.3" \
	"the rejection is not logged"
# Through the vault's Private Link zone it is allowed (allow-private auto).
rules "$VAULT answer cname=contoso-prod.privatelink.vaultcore.azure.net" \
	"contoso-prod.privatelink.vaultcore.azure.net answer a=10.1.2.4"
out=$(client query $P $VAULT A)
grep -q 'answers=10.1.2.4$' <<< "$out" ||
	fail "the Private Link answer did not come through"
in_set 10.1.2.4 || fail "a Private Link address was not let in"

# 2. Spoofed replies before the genuine one.
rules "$VAULT wrongid spoof-a=203.0.113.66 a=192.0.2.77 follow=1"
out=$(client query $P $VAULT A)
grep -q 'answers=192.0.2.77$' <<< "$out" || fail "wrong id: the genuine answer did not come ($out)"
rules "$VAULT wrongname spoof-a=203.0.113.67 a=192.0.2.78 follow=1"
out=$(client query $P $VAULT A)
grep -q 'answers=192.0.2.78$' <<< "$out" || fail "wrong name: the genuine answer did not come ($out)"
in_set 192.0.2.77 && in_set 192.0.2.78 || fail "the genuine addresses are not in the set"
in_set 203.0.113.66 && fail "a reply with a wrong id was taken"
in_set 203.0.113.67 && fail "a reply for another name was taken"

# 3. A silent resolver: SERVFAIL within 2.5 s, never a hang.
rules "$VAULT timeout" "* timeout"
out=$(client query $P www.example.org A --timeout 5)
printf '%s\n' "$out" >&2
ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<< "$out")
grep -q '^rcode=SERVFAIL id_ok=1 ' <<< "$out" || fail "a silent resolver did not give SERVFAIL"
[ "$ms" -le 2500 ] || fail "SERVFAIL took $ms ms (> 2500)"
in_set 192.0.2.77 || fail "a failed proxied query removed an address"

# 4. A flood of queries the resolver never answers: bounded, counted, and
# another client is still served.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$KVF_AGENT_PID/status"; }
rss0=$(rss)
client flood $P 30000 >&2 &
flood=$!
sleep 0.3	# let the flood fill the queue (not a synchronisation: checked below)
out=$(client query $P ok.example.org A --source 127.0.0.2)
printf '%s\n' "$out" >&2
grep -q '^rcode=NOERROR id_ok=1 .*answers=198.51.100.9$' <<< "$out" ||
	fail "another client was not answered during a flood"
wait $flood
rss1=$(rss)
kvf_log "agent RSS ${rss0} kB before the flood, ${rss1} kB after"
[ $((rss1 - rss0)) -le 16384 ] || fail "the flood grew the agent by $((rss1 - rss0)) kB"
kill -USR1 "$KVF_AGENT_PID"
wait_until 5 grep -q 'dns proxy: queries=' "$KVF_TMP/agent.err" || fail "no counters on SIGUSR1"
grep 'dns proxy: queries=' "$KVF_TMP/agent.err" >&2
grep -q 'dns proxy: queries=.* dropped=[1-9]' "$KVF_TMP/agent.err" ||
	fail "the flood's excess was not counted as dropped"
assert_grep "$KVF_TMP/agent.err" 'dns proxy: dropping queries \(too many queries pending from one client\)' \
	"the per-client limit is not logged"

# 5. A batch that cannot be written (create-sets no, the set deleted):
# the held answer becomes SERVFAIL after 1 s, never the unprotected answer.
kvf_agent_stop
printf 'create-sets no\n' >> "$conf"
rules "$VAULT answer a=192.0.2.10"
kvf_agent_start -c "$conf"
nft delete set inet filter kvfence4 || hard_error "cannot delete kvfence4"
wait_until 5 grep -q 'waiting for it to appear' "$KVF_TMP/agent.err" ||
	fail "the agent did not notice the missing set"
rules "$VAULT answer a=192.0.2.99"
out=$(client query $P $VAULT A --source 127.0.0.4)
printf '%s\n' "$out" >&2
ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<< "$out")
grep -q '^rcode=SERVFAIL id_ok=1 ' <<< "$out" ||
	fail "an answer whose batch cannot be written was released"
[ "$ms" -ge 900 ] && [ "$ms" -le 2000 ] || fail "the held answer failed after $ms ms, not ~1 s"

# 6. A resolver that is gone: SERVFAIL at once (the port is closed).
fakedns_stop
out=$(client query $P ok.example.org A --source 127.0.0.3 --timeout 5)
printf '%s\n' "$out" >&2
ms=$(sed -n 's/.* ms=\([0-9]*\).*/\1/p' <<< "$out")
grep -q '^rcode=SERVFAIL id_ok=1 ' <<< "$out" || fail "a dead resolver did not give SERVFAIL"
[ "$ms" -le 2500 ] || fail "SERVFAIL took $ms ms (> 2500)"
kvf_agent_alive || fail "the agent died"
exit 0
