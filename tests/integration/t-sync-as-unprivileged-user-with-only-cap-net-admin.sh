#!/bin/bash
# The unit's promise, proved on the real binary: kvfence sync running as an
# unprivileged user that holds CAP_NET_ADMIN and nothing else (as
# User=kvfence with AmbientCapabilities=CAP_NET_ADMIN runs it) fills the
# sets; the same user without it gets exit 77.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir
command -v setpriv >/dev/null 2>&1 || skip "setpriv not installed"
# The user must reach the config and the binary.
chmod 755 "$KVF_TMP"

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_chain 60 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net
zone_addrs data-prod-weu.vaultcore.azure.net 60 192.0.2.10 2001:db8::10
dns_start "$zone"
conf=$KVF_TMP/kvfence.conf
# sync records what it writes in the state file: the unit's state
# directory (StateDirectory=kvfence) belongs to the service's user.
mkdir "$KVF_TMP/lib"
chown nobody:nogroup "$KVF_TMP/lib"
{ printf 'vault contoso-prod\nendpoints vault\n'; kvf_conf_base; } |
	sed "s|^state-file .*|state-file $KVF_TMP/lib/state|" > "$conf"
chmod 644 "$conf"

as_kvfence() {	# CAPS ("+net_admin" or ""), then the command
	local caps=$1
	shift
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps="-all${caps:+,$caps}" --ambient-caps="-all${caps:+,$caps}" \
		--bounding-set="-all${caps:+,$caps}" -- "$@"
}
as_kvfence "" true 2>/dev/null || skip "setpriv cannot drop to nobody here"

rc=0
as_kvfence "" "$KVFENCE" -c "$conf" sync 2> "$KVF_TMP/nocap.err" || rc=$?
cat "$KVF_TMP/nocap.err" >&2
[ "$rc" -eq 77 ] || fail "without CAP_NET_ADMIN: exit $rc, expected 77"
grep -q "CAP_NET_ADMIN" "$KVF_TMP/nocap.err" || fail "the missing capability is not named"
[ -z "$(nft list ruleset)" ] || fail "something was written without CAP_NET_ADMIN"

rc=0
as_kvfence "+net_admin" "$KVFENCE" -c "$conf" sync 2> "$KVF_TMP/cap.err" || rc=$?
cat "$KVF_TMP/cap.err" >&2
[ "$rc" -eq 0 ] || fail "with only CAP_NET_ADMIN: exit $rc, expected 0"
cat > "$KVF_TMP/want4" <<-'EOF2'
	192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"
	EOF2
cat > "$KVF_TMP/want6" <<-'EOF2'
	2001:db8::10 . 443 comment "contoso-prod.vault.azure.net"
	EOF2
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
exit 0
