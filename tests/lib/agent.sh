# shellcheck shell=bash
# kvfence test library, part two: the resident agent (`kvfence run -f`)
# in the background of a test. Sourced by common.sh's users after it.

KVF_AGENT_PID=
KVF_AGENT_RC=

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

kvf_status_ready() { [ -s "$KVF_TMP/status.json" ]; }

# kvf_agent_start ARGS...: start `kvfence ARGS run -f`, stderr (its log) to
# $KVF_TMP/agent.err, and wait until it has written status.json (after its
# first reconcile).
kvf_agent_start() {
	rm -f "$KVF_TMP/status.json"
	"$KVFENCE" "$@" run -f > "$KVF_TMP/agent.out" 2>> "$KVF_TMP/agent.err" &
	KVF_AGENT_PID=$!
	kvf_bg_register "$KVF_AGENT_PID"
	if ! wait_until 10 kvf_status_ready; then
		cat "$KVF_TMP/agent.err" >&2
		fail "the agent wrote no status within 10 s"
	fi
}

kvf_agent_alive() { [ -n "$KVF_AGENT_PID" ] && kill -0 "$KVF_AGENT_PID" 2>/dev/null; }

# kvf_agent_stop [SIGNAL]: signal the agent (TERM) and wait for it; its
# exit code in KVF_AGENT_RC.
kvf_agent_stop() {
	KVF_AGENT_RC=0
	kvf_bg_stop "$KVF_AGENT_PID" "${1:-TERM}" || KVF_AGENT_RC=$?
	KVF_AGENT_PID=
	sed 's/^/  agent: /' "$KVF_TMP/agent.err" >&2
}

# status_get PYTHON-EXPR: evaluate EXPR with s = the parsed status.json.
status_get() {
	"$KVF_PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$KVF_TMP/status.json" "$1" 2>/dev/null
}

# status_validate [FILE]: FILE (status.json) follows the schema the
# package ships (Debian's python3-jsonschema).
status_validate() {
	/usr/bin/python3 - "$TESTDIR/../packaging/status.schema.json" "${1:-$KVF_TMP/status.json}" <<-'PY'
	import json, sys, jsonschema
	schema = json.load(open(sys.argv[1]))
	jsonschema.Draft7Validator.check_schema(schema)
	jsonschema.validate(json.load(open(sys.argv[2])), schema)
	PY
}

# status_host_field HOST FIELD: one field of a host in status.json.
status_host_field() {
	status_get "[h for h in s['hosts'] if h['name'] == '$1'][0]['$2']"
}

# kvf_notify_listen PATH: listen for sd_notify datagrams on PATH (a file
# name, or @NAME for an abstract socket), one line per message appended
# to $KVF_NOTIFY_LOG (emptied first); returns once it is bound.
# kvf_notify_unlisten stops it.
KVF_NOTIFY_LOG=
kvf_notify_listen() {
	local line
	KVF_NOTIFY_LOG=$KVF_TMP/notify.log
	: > "$KVF_NOTIFY_LOG"
	# exec: the coproc's pid must be python's, not that of a bash
	# subshell waiting for it (killing which would leave python behind).
	coproc KVF_NOTIFY { exec "$KVF_PYTHON" "$TESTDIR/lib/notify-listen.py" "$1" "$KVF_NOTIFY_LOG"; }
	kvf_bg_register "$KVF_NOTIFY_PID"
	read -r -t 10 line <&"${KVF_NOTIFY[0]}" && [ "$line" = ready ] ||
		hard_error "the notify listener did not start"
}
kvf_notify_unlisten() { kvf_bg_stop "$KVF_NOTIFY_PID"; }

# kvf_agent_log_on_failure: a test that exits failing (or in error) with
# the agent still running copies the agent's log into its own first. The
# exit status is the test's: the trap must not take that of its own
# commands (a trap ending in `sed ...; kvf_cleanup` made every failure a
# pass).
kvf_agent_log_on_failure() {
	trap 'kvf_rc=$?
		if [ "$kvf_rc" -ne 0 ] && [ -n "$KVF_AGENT_PID" ]; then
			tail -n 40 "$KVF_TMP/agent.err" | sed "s/^/  agent: /" >&2
		fi
		(exit "$kvf_rc")
		kvf_cleanup' EXIT
}
