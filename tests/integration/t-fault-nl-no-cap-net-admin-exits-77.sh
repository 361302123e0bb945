#!/bin/bash
# Without CAP_NET_ADMIN (user nobody, no capabilities, inside the test's
# namespace) `kvfence sync` and `kvfence run -f` exit 77 with a message
# that says CAP_NET_ADMIN is missing; the sets are not touched.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require
command -v setpriv >/dev/null 2>&1 || skip "setpriv not installed"
id nobody >/dev/null 2>&1 || skip "no user nobody"

fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10 aaaa=2001:db8::10
fakedns_commit
fakedns_start

# A directory nobody can use for the config, state and status files.
dir=$KVF_TMP/nobody
mkdir "$dir" && chmod 0755 "$KVF_TMP" && chmod 0777 "$dir" || hard_error "mkdir $dir"
conf=$dir/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\nresolver 127.0.0.1\nmetrics-file none\n'
	printf 'state-file %s/state\nstatus-file %s/status.json\n' "$dir" "$dir"
} > "$conf"
chmod 0644 "$conf"
nft add table inet filter && nft add set inet filter kvfence4 '{ type ipv4_addr . inet_service; }' ||
	hard_error "cannot declare kvfence4"
nft list ruleset > "$KVF_TMP/before"

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		--bounding-set=-all -- "$@"
}
as_nobody true || skip "setpriv cannot drop to nobody here"

for cmd in sync "run -f"; do
	rc=0
	# shellcheck disable=SC2086
	as_nobody "$KVFENCE" -c "$conf" $cmd > "$KVF_TMP/out" 2> "$KVF_TMP/err" < /dev/null || rc=$?
	sed "s/^/  $cmd: /" "$KVF_TMP/err" >&2
	[ "$rc" -eq "$KVF_EX_NOPERM" ] || fail "$cmd without CAP_NET_ADMIN: exit $rc, expected 77"
	assert_grep "$KVF_TMP/err" 'CAP_NET_ADMIN' "$cmd does not say that CAP_NET_ADMIN is missing"
done
nft list ruleset | diff -u "$KVF_TMP/before" - >&2 || fail "the ruleset changed"
exit 0
