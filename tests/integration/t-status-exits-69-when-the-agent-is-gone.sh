#!/bin/bash
# kvfence(8): `kvfence status` exits 69 when no agent runs. status.json
# outlives an agent killed with -9, so the status command asks the lock
# the agent holds, not the file. Its probe must not make an agent that
# starts at that moment believe a second agent runs (exit 75).
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
conf=$KVF_TMP/kvfence.conf
{
	printf 'vault contoso-prod\nendpoints vault\n'
	kvf_conf_base
} > "$conf"
dns_start "$zone"

kvf_run none -c "$conf" status
expect_rc "$KVF_EX_UNAVAILABLE" "status before any agent ran"

kvf_agent_start -c "$conf"
kvf_run alive -c "$conf" status
expect_rc 0 "status of a running agent"

# kill -9: no state save, no chance to remove anything; status.json stays.
kvf_agent_stop KILL
[ -s "$KVF_TMP/status.json" ] || hard_error "status.json vanished with the agent"
kvf_run dead -c "$conf" status
expect_rc "$KVF_EX_UNAVAILABLE" "status after the agent was killed with -9"
assert_grep "$KVF_TMP/dead.err" 'no agent is running' "status does not say that the agent is gone"
kvf_run deadjson -c "$conf" status --json
expect_rc "$KVF_EX_UNAVAILABLE" "status --json after the agent was killed with -9"

# A user who may not open the lock (the state directory is private, as
# under systemd's StateDirectoryMode=0700) still gets the right answer,
# from the status file's pid, without noise.
if command -v setpriv >/dev/null 2>&1; then
	mkdir -p /run/kvf-status && chmod 0755 /run/kvf-status
	sed -i "s|^status-file .*|status-file /run/kvf-status/status.json|" "$conf"
	chmod 0644 "$conf"
	cp "$conf" /run/kvf-status/kvfence.conf
	as_nobody() {
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$KVFENCE" -c /run/kvf-status/kvfence.conf status \
			> "$KVF_TMP/$1.out" 2> "$KVF_TMP/$1.err"
	}
	rm -f "$KVF_TMP/status.json"
	"$KVFENCE" -c "$conf" run -f 2>> "$KVF_TMP/agent.err" &
	KVF_AGENT_PID=$!
	kvf_bg_register "$KVF_AGENT_PID"
	wait_until 10 test -s /run/kvf-status/status.json || fail "no status under /run/kvf-status"
	rc=0; as_nobody user-alive || rc=$?
	cat "$KVF_TMP/user-alive.err" >&2
	[ "$rc" -eq 0 ] || fail "status as an unprivileged user of a running agent: exit $rc"
	assert_no_grep "$KVF_TMP/user-alive.err" 'cannot tell' "status as a user is noisy"
	kvf_agent_stop KILL
	rc=0; as_nobody user-dead || rc=$?
	[ "$rc" -eq "$KVF_EX_UNAVAILABLE" ] ||
		fail "status as an unprivileged user after kill -9: exit $rc, expected 69"
	sed -i "s|^status-file .*|status-file $KVF_TMP/status.json|" "$conf"
fi

# A monitoring loop calling status while the agent (re)starts.
probe() { while :; do "$KVFENCE" -c "$conf" status > /dev/null 2>&1; done; }
probe & p1=$!
kvf_bg_register "$p1"
probe & p2=$!
kvf_bg_register "$p2"
for i in 1 2 3 4 5; do
	: > "$KVF_TMP/agent.err"
	kvf_agent_start -c "$conf"
	kvf_agent_stop TERM
	[ "$KVF_AGENT_RC" -eq 0 ] ||
		fail "start $i beside status probes: the agent exited $KVF_AGENT_RC"
done
kvf_bg_stop "$p1"
kvf_bg_stop "$p2"
exit 0
