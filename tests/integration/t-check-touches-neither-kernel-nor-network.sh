#!/bin/bash
# kvfence(8): check validates the configuration without touching the
# kernel or the network; endpoints and rules too. Attacked with strace:
# not one socket of any family (netlink, INET, INET6) is opened, even
# with range mode configured and resolver addresses given.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir
command -v strace >/dev/null 2>&1 || skip "strace not installed"

tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nhost adfs.contoso.com 443\n'
	printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n' "$tags"
	kvf_conf_base
} > "$conf"
for cmd in check endpoints rules; do
	rc=0
	# LeakSanitizer (the sanitizer build) cannot run under ptrace.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -qq -e trace=socket,connect -o "$KVF_TMP/$cmd.trace" \
		"$KVFENCE" -c "$conf" "$cmd" > "$KVF_TMP/$cmd.out" 2> "$KVF_TMP/$cmd.err" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$KVF_TMP/$cmd.err" >&2; fail "kvfence $cmd exited $rc"; }
	if grep -E 'socket\(|connect\(' "$KVF_TMP/$cmd.trace" >&2; then
		fail "kvfence $cmd opened a socket"
	fi
done
assert_grep "$KVF_TMP/check.out" 'valid' "check did not validate"
[ -z "$(nft list ruleset)" ] || fail "check, endpoints or rules changed the ruleset"
exit 0
