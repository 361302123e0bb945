#!/bin/bash
# The documented layout keeps the Service Tags files beside the state file
# (/var/lib/kvfence/ServiceTags_Public_*.json). The agent watches that
# directory for new tag files; its own state writes there (state.tmp
# renamed over state, every few seconds while answers come) must not make
# it re-read and re-parse the tag files: only a file the pattern matches
# does. Measured by the agent's own log line for every load.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

lib=$KVF_TMP/var/lib/kvfence
kvf_vault_with_tags "$lib" AzureKeyVault.EastUS "state-file $lib/state"
conf=$KVF_TMP/kvfence.conf
kvf_agent_start -c "$conf"
loads() { grep -c 'service tags: ' "$KVF_TMP/agent.err"; }
wait_until 10 eval '[ "$(loads)" -ge 1 ]' || fail "the tags were never loaded"
[ "$(loads)" -eq 1 ] || fail "$(loads) loads at start"

# Answers every 1-2 s mark the state dirty: it is written every 5 s.
inode() { stat -c %i "$lib/state" 2>/dev/null; }
wait_until 10 test -s "$lib/state" || fail "no state file written"
writes=0 last=$(inode) start=$(now_ms)
while [ $(( $(now_ms) - start )) -lt 12000 ]; do
	sleep 0.2
	cur=$(inode)
	if [ -n "$cur" ] && [ "$cur" != "$last" ]; then
		writes=$((writes + 1))
		last=$cur
	fi
done
[ "$writes" -ge 2 ] || hard_error "only $writes state writes in 12 s: the test saw no writes to ignore"
# kvfence.conf(5): the state file is written at most every 5 seconds,
# here with an answer (a change) every 1-2 s.
[ "$writes" -le 3 ] || fail "$writes state writes in 12 s (at most one per 5 s)"
[ "$(loads)" -eq 1 ] ||
	fail "$writes state writes beside the tag files made the agent load them $(( $(loads) - 1 )) more times"
kvf_log "$writes state writes in 12 s, tag files loaded once"

# A new weekly file dropped in place is still applied.
cp "$lib/ServiceTags_Public_20990101.json" "$lib/.part" && mv "$lib/.part" "$lib/ServiceTags_Public_20990108.json"
wait_until 10 eval '[ "$(loads)" -eq 2 ]' || fail "a new tag file moved in was not loaded (loads: $(loads))"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
