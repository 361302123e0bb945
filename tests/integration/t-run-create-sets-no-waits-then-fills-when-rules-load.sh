#!/bin/bash
# kvfence.conf(5) create-sets no: the agent waits, without writing
# anything, until the ruleset declares the sets; then it fills them at
# once (from the change notification, not the next refresh), and again
# after `nft -f` reloads the rules (flush ruleset included). While it
# waits, DNS answers keep coming and nothing is created.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 1
zone_addrs contoso-prod.vault.azure.net 1 192.0.2.10 2001:db8::10
dns_start "$zone"
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\ncreate-sets no\nrefresh-min 1s\nrefresh-max 2s\n'
	kvf_conf_base
} > "$conf"
"$KVFENCE" -c "$conf" run -f 2> "$KVF_TMP/agent.err" &
KVF_AGENT_PID=$!
kvf_bg_register "$KVF_AGENT_PID"
waiting() { grep -q 'waiting for it to appear' "$KVF_TMP/agent.err"; }
wait_until 10 waiting || {
	sed 's/^/  agent: /' "$KVF_TMP/agent.err" >&2
	fail "the agent does not say it waits for the sets"
}
# Several answers come while it waits (TTL 1): still nothing written.
t0=$(now_ms)
while [ $(( $(now_ms) - t0 )) -lt 3000 ]; do
	[ -z "$(nft list ruleset)" ] || fail "create-sets no wrote into the kernel: $(nft list ruleset)"
	sleep 0.1
done
kvf_agent_alive || fail "the agent died while waiting"

rules=$KVF_TMP/rules.nft
cat > "$rules" <<-'EOF'
	flush ruleset
	table inet filter {
		set kvfence4 { type ipv4_addr . inet_service; }
		set kvfence6 { type ipv6_addr . inet_service; }
		chain output { type filter hook output priority filter; policy accept;
			ip daddr . tcp dport @kvfence4 accept
			ip6 daddr . tcp dport @kvfence6 accept
		}
	}
	EOF
full() { set_elems inet filter kvfence4 2>/dev/null | grep -q '^192\.0\.2\.10 \. 443 ' &&
	 set_elems inet filter kvfence6 2>/dev/null | grep -q '^2001:db8::10 \. 443 '; }
for round in 1 2 3; do
	t0=$(now_ms)
	nft -f "$rules" || hard_error "nft -f rules"
	wait_until 5 full || fail "round $round: the sets were not filled within 5 s of the rules loading"
	kvf_log "round $round: filled $(( $(now_ms) - t0 )) ms after nft -f"
done
kvf_bg_stop "$KVF_AGENT_PID" || fail "the agent exited $? on SIGTERM"
sed 's/^/  agent: /' "$KVF_TMP/agent.err" >&2
exit 0
