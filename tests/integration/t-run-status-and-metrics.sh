#!/bin/bash
# status.json is an interface: a format number, every field in the
# schema shipped with the package (validated with Debian's
# python3-jsonschema), reals with six significant digits, timestamps
# named *_unix. `kvfence status` shows failing hosts first with their
# reason and since when, the range sets and the next refresh.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
fakedns_require
kvf_netns_enter "$@"
kvf_tmpdir
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
	fail "Debian's python3-jsonschema is missing (tools/install-deps installs it)"

fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10 aaaa=2001:db8::10 ttl=60
# Configured before the failing host: `kvfence status` must still list
# the failing one first.
fakedns_rule aaa-good.example.com answer a=198.51.100.20 ttl=60
fakedns_rule aaa-good.example.com AAAA nodata
fakedns_rule zzz-broken.example.com servfail
fakedns_commit
fakedns_start
tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nrefresh-min 30s\n'
	printf 'host aaa-good.example.com 443\nhost zzz-broken.example.com 443\n'
	printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n' "$tags"
	kvf_conf_base
} > "$conf"
kvf_agent_start -c "$conf"
answered() { [ "$(status_host_field contoso-prod.vault.azure.net a)" = ok ] &&
	     [ "$(status_host_field zzz-broken.example.com failures)" -ge 1 ] &&
	     [ "$(status_get "s['hosts_failing']")" = 1 ]; }
wait_until 10 answered || fail "status.json never showed the answers and the failure"

# The interface.
status_validate "$KVF_TMP/status.json" || fail "status.json does not follow the schema"
# The check can fail: an undocumented field is caught.
sed 's/"format":1,/"format":1,"undocumented":1,/' "$KVF_TMP/status.json" > "$KVF_TMP/bad.json"
! status_validate "$KVF_TMP/bad.json" 2>/dev/null || fail "the schema accepts an undocumented field"
[ "$(status_get "s['format']")" = 1 ] || fail "status.json has no format 1"
[ "$(status_host_field contoso-prod.vault.azure.net ttl_s)" = 60 ] || fail "ttl_s is not 60"
since=$(status_host_field zzz-broken.example.com failing_since_unix)
now=$(date +%s)
[ "$since" -gt $((now - 60)) ] && [ "$since" -le "$now" ] ||
	fail "failing_since_unix $since is not a recent Unix time (now $now)"
[ "$(status_host_field contoso-prod.vault.azure.net failing_since_unix)" = 0 ] ||
	fail "a good host has a failing_since_unix"
# Reals: six significant digits at most (jansson's default is 17).
dur=$(grep -o '"reconcile_duration_s":[^,]*' "$KVF_TMP/status.json" | cut -d: -f2)
digits=$(printf '%s' "${dur%%[eE]*}" | tr -cd 0-9 | sed 's/^0*//')
[ -n "$dur" ] && [ "${#digits}" -le 6 ] || fail "reconcile_duration_s written as $dur"
status_get "s['sets']" | grep -q "'kind': 'ranges'" || fail "status.json lacks the range sets"

# For people.
kvf_run status -c "$conf" status
expect_rc 0 "kvfence status"
out=$KVF_TMP/status.out
assert_grep "$out" '^hosts: 3, failing now: 1$' "status does not count the failing host"
assert_grep "$out" 'next refresh in [0-9]+[smh]' "status does not say when the next refresh is"
assert_grep "$out" '^FAILING HOST ' "status has no failing section"
assert_grep "$out" '^zzz-broken\.example\.com +(now|[0-9]+s ago) +never +.*failures, A servfail/refused/unreachable, AAAA servfail' \
	"the failing host's line lacks since when or the reason"
first=$(awk '/^HOST /{getline; print $1; exit}' "$out")
[ "$first" = zzz-broken.example.com ] || fail "the host table starts with $first, not the failing host"
assert_grep "$out" '^contoso-prod\.vault\.azure\.net +60 ' "status shows no host row"
assert_grep "$out" '192\.0\.2\.10 +answered' "status shows no address"
assert_grep "$out" '^set inet filter kvfence4 .*: 2 elements' "status shows no host set"
assert_grep "$out" '^set inet filter kvfence4r \(ipv4_addr, interval\) ranges: [0-9]+ elements' \
	"status shows no range set"
assert_grep "$out" '^service tag AzureKeyVault: 2 IPv4, 1 IPv6 prefixes .*changeNumber 42' \
	"status shows no service tag"
kvf_run json -c "$conf" status --json
expect_rc 0 "kvfence status --json"
status_validate "$KVF_TMP/json.out" || fail "status --json does not follow the schema"

# A file of another format is not misread as a table.
sed 's/"format":1,/"format":99,/' "$KVF_TMP/status.json" > "$KVF_TMP/other.json"
sed "s|^status-file .*|status-file $KVF_TMP/other.json|" "$conf" > "$KVF_TMP/other.conf"
kvf_run other -c "$KVF_TMP/other.conf" status
expect_rc 69 "kvfence status on a file of format 99"
assert_grep "$KVF_TMP/other.err" 'status format this kvfence does not know' "no clear message"

kvf_agent_stop TERM
kvf_run gone -c "$conf" status
# kvfence(8): 69 when no agent runs; the last status stays readable.
expect_rc "$KVF_EX_UNAVAILABLE" "status after the agent stopped"
assert_grep "$KVF_TMP/gone.out" '192\.0\.2\.10 +answered' "the last status is no longer readable after a stop"
assert_grep "$KVF_TMP/gone.err" 'no agent is running' "status does not say that no agent runs"
exit 0
