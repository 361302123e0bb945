#!/bin/bash
# kvfence(8): under systemd the agent says READY=1 once the sets are
# filled: at a first start without a state file only after the first
# answers are written (units ordered after kvfence must not start with
# empty sets), and at once when the state file fills them. With DNS down
# at a first start it says READY=1 as soon as every host has failed once
# (bounded), with a STATUS= that names the failure. While DNS fails,
# STATUS= says what fails and since when instead of "all is well"; it
# counts the range sets' elements too.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

zone=$KVF_TMP/root.zone
zone_begin "$zone" 1
zone_addrs contoso.vault.azure.net 1 192.0.2.10 2001:db8::10
zone_addrs other.vault.azure.net 1 192.0.2.11
tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso other\nendpoints vault\nrefresh-min 1s\nrefresh-max 2s\n'
	printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault.EastUS\n' "$tags"
	kvf_conf_base
} > "$conf"
dns_start "$zone"

msgs=$KVF_TMP/notify.log
has() { grep -q -- "$1" "$msgs"; }
ready_line() { grep -m1 'READY=1' "$msgs"; }
sock=$KVF_TMP/notify.sock
kvf_notify_listen "$sock"

# 1. First start, no state file: READY=1 carries the filled sets.
NOTIFY_SOCKET=$sock kvf_agent_start -c "$conf"
wait_until 10 has READY=1 || fail "no READY=1 at a first start"
ready_line >&2
ready_line | grep -qE 'READY=1\|STATUS=2 hosts, 3 elements, [1-9][0-9]* range elements' ||
	fail "READY=1 before the first fill (or without the range elements): $(ready_line)"

# 2. DNS fails under the running agent: STATUS says so, and since when.
dns_stop
wait_until 15 has 'STATUS=DNS failing for 2 of 2 hosts since ' ||
	fail "STATUS= still says all is well during an outage: $(tail -n 3 "$msgs")"
grep -m1 'STATUS=DNS failing' "$msgs" >&2
grep 'STATUS=DNS failing' "$msgs" | tail -n 1 | grep -qE 'since [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC .*keeping 3 elements' ||
	fail "the outage STATUS lacks the time or the elements kept: $(tail -n 1 "$msgs")"
kvf_agent_stop
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"

# 3. Warm start (state file), DNS still down: READY=1 at once, filled.
: > "$msgs"
NOTIFY_SOCKET=$sock kvf_agent_start -c "$conf"
wait_until 10 has READY=1 || fail "no READY=1 at a warm start with DNS down"
ready_line | grep -qE 'keeping 3 elements|3 elements' || fail "warm READY=1 without the elements: $(ready_line)"
kvf_agent_stop

# 4. First start (no state), DNS down, empty sets: READY=1 once every host
# failed once, with a STATUS naming the failure; not after the full bound.
rm -f "$KVF_TMP/state"
nft flush ruleset
: > "$msgs"
t0=$(now_ms)
NOTIFY_SOCKET=$sock kvf_agent_start -c "$conf"
wait_until 20 has READY=1 || fail "no READY=1 at a first start with DNS down"
t1=$(now_ms)
ready_line | grep -q 'STATUS=DNS failing for 2 of 2 hosts' ||
	fail "READY=1 with DNS down does not say DNS fails: $(ready_line)"
[ $((t1 - t0)) -lt 15000 ] || fail "READY=1 took $((t1 - t0)) ms with a refused DNS"
kvf_log "first start, DNS down: READY=1 after $((t1 - t0)) ms"
kvf_agent_stop
kvf_notify_unlisten
exit 0
