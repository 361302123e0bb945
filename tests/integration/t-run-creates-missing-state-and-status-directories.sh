#!/bin/bash
# Built from source with the default prefix, the state directory
# (/usr/local/var/lib/kvfence) and the status directory
# (/usr/local/var/run/kvfence) lie under levels that may not exist yet.
# `kvfence run` creates every missing level: the state file's directory
# private (0700, as the unit's StateDirectoryMode), the status and metrics
# files' directories 0755 (readable by `kvfence status`), the levels above
# 0755, whatever the umask. Existing directories keep their modes. A path
# through a regular file is refused with exit 73, naming it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

zone=$KVF_TMP/root.zone
zone_begin "$zone" 120
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10
dns_start "$zone"
root=$KVF_TMP/usr/local/var
mkdir -p "$KVF_TMP/usr" && chmod 0751 "$KVF_TMP/usr"
conf=$KVF_TMP/kvfence.conf
cat > "$conf" <<EOF
vault contoso-prod
endpoints vault
resolver 127.0.0.1
state-file $root/lib/kvfence/state
status-file $root/run/kvfence/status.json
metrics-file $root/lib/prometheus/node-exporter/kvfence.prom
EOF

status_there() { [ -s "$root/run/kvfence/status.json" ]; }
# The unit's UMask=0077.
(umask 0077; exec "$KVFENCE" -c "$conf" run -f) 2> "$KVF_TMP/agent.err" &
pid=$!
kvf_bg_register "$pid"
if ! wait_until 10 status_there; then
	cat "$KVF_TMP/agent.err" >&2
	fail "the agent wrote no status under missing directories within 10 s"
fi
kvf_bg_stop "$pid" || fail "the agent exited $? on SIGTERM"
sed 's/^/  agent: /' "$KVF_TMP/agent.err" >&2
[ -s "$root/lib/kvfence/state" ] || fail "no state file saved under the created directory"
mode() { stat -c %a "$1"; }
for d in "$KVF_TMP/usr/local" "$root" "$root/lib" "$root/run" "$root/lib/prometheus"; do
	[ "$(mode "$d")" = 755 ] || fail "$d: mode $(mode "$d"), expected 755"
done
[ "$(mode "$root/lib/kvfence")" = 700 ] || fail "state directory mode $(mode "$root/lib/kvfence"), expected 700"
[ "$(mode "$root/run/kvfence")" = 755 ] || fail "status directory mode $(mode "$root/run/kvfence"), expected 755"
[ "$(mode "$root/lib/prometheus/node-exporter")" = 755 ] || fail "metrics directory mode, expected 755"
[ "$(mode "$KVF_TMP/usr")" = 751 ] || fail "an existing directory's mode was changed"
kvf_run status -c "$conf" status
expect_rc "$KVF_EX_UNAVAILABLE" "status once the agent stopped"
assert_grep "$KVF_TMP/status.out" 'contoso-prod' "status does not read the created directory"

# A level that is a regular file: refused, named, exit 73.
: > "$KVF_TMP/notadir"
sed -i "s|^state-file .*|state-file $KVF_TMP/notadir/kvfence/state|" "$conf"
kvf_run bad -c "$conf" run -f
expect_rc 73 "a state path through a regular file"
assert_grep "$KVF_TMP/bad.err" "notadir.*Not a directory" "the error does not name the path and the reason"
exit 0
