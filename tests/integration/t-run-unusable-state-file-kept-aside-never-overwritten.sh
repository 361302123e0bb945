#!/bin/bash
# A state file kvfence cannot use is kept for the administrator, never
# overwritten with a fresh one: it is renamed to STATE.bad-<UTC time>,
# with a log line that says what is wrong with it (a directory is "not a
# regular file", not an I/O error; garbage is "not a kvfence state file",
# not a truncated line); the agent then starts as on a first start.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10
conf=$KVF_TMP/kvfence.conf
{ printf 'vault contoso-prod\nendpoints vault\nset6 none\n'; kvf_conf_base; } > "$conf"
state=$KVF_TMP/state
dns_start "$zone"

kept() {	# WHAT: exactly one state.bad-* kept; its name in $bad
	local n
	n=$(find "$KVF_TMP" -maxdepth 1 -name 'state.bad-*' | wc -l)
	[ "$n" -eq 1 ] || fail "$1: $n files state.bad-*, expected 1"
	bad=$(find "$KVF_TMP" -maxdepth 1 -name 'state.bad-*')
}

# A directory where the state file should be.
mkdir "$state"
echo "the administrator's notes" > "$state/notes"
kvf_agent_start -c "$conf"
assert_grep "$KVF_TMP/agent.err" "state file unusable: $state: not a regular file \\(a directory\\); kept as $state\\.bad-[0-9]{8}T[0-9]{6}Z" \
	"a directory in place of the state file is not reported as such"
assert_no_grep "$KVF_TMP/agent.err" 'Input/output error' "a directory is reported as an I/O error"
wait_until 10 eval "set_elems inet filter kvfence4 | grep -q '^192\.0\.2\.10 '" ||
	fail "the agent did not fill the set"
kvf_agent_stop
kept "a directory"
[ "$(cat "$bad/notes")" = "the administrator's notes" ] || fail "the directory kept aside lost its content"
[ -f "$state" ] && grep -q '^# kvfence state v2' "$state" || fail "no fresh state file was written"
rm -rf "$bad"

# Garbage: not a kvfence state file, kept byte for byte.
head -c 4096 /dev/urandom > "$KVF_TMP/garbage"
printf '\0' >> "$KVF_TMP/garbage"
cp "$KVF_TMP/garbage" "$state"
: > "$KVF_TMP/agent.err"
kvf_agent_start -c "$conf"
assert_grep "$KVF_TMP/agent.err" "state file unusable: $state:1: not a kvfence state file" \
	"garbage is not reported as not a kvfence state file"
assert_no_grep "$KVF_TMP/agent.err" 'truncated line' "garbage is reported as a truncated line"
kvf_agent_stop
kept "garbage"
cmp -s "$bad" "$KVF_TMP/garbage" || fail "the garbage file was not kept as it was"
rm -f "$bad"

# A kvfence state file cut short (damage): kept too, and named by line.
head -n 3 "$state" > "$KVF_TMP/cut"
cp "$KVF_TMP/cut" "$state"
: > "$KVF_TMP/agent.err"
kvf_agent_start -c "$conf"
assert_grep "$KVF_TMP/agent.err" "state file unusable: $state:[0-9]+: truncated: no end record; kept as" \
	"a cut state file is not reported"
kvf_agent_stop
kept "a cut file"
cmp -s "$bad" "$KVF_TMP/cut" || fail "the cut file was not kept as it was"
exit 0
