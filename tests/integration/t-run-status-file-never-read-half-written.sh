#!/bin/bash
# kvfence(8): status.json is rewritten atomically after each reconcile
# (and kvfence.conf(5): the metrics file too). Attacked by readers that
# parse both files in a tight loop while a busy agent rewrites them many
# times a second (40 hosts answering with TTL 1 and rotating addresses):
# no read may see a missing, empty or half-written file.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
kvf_netns_enter "$@"
kvf_tmpdir
fakedns_require

fakedns_begin
for i in $(seq 1 40); do
	fakedns_rule "h$i.example.com" answer a-gen=192.0.2.$i/1 aaaa-gen=2001:db8::$i/1 ttl=1
done
fakedns_commit
fakedns_start
conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints none\nrefresh-min 1s\nrefresh-max 2s\ngrace none\n'
	for i in $(seq 1 40); do printf 'host h%d.example.com 443\n' "$i"; done
	kvf_conf_base | grep -v '^metrics-file'
	printf 'metrics-file %s/kvfence.prom\n' "$KVF_TMP"
} > "$conf"
kvf_agent_start -c "$conf"

# Rotate the answers every ~0.5 s so that every reconcile changes the sets.
rotate() {
	local n=0 i
	while :; do
		n=$(( (n + 1) % 200 ))
		fakedns_begin
		for i in $(seq 1 40); do
			fakedns_rule "h$i.example.com" answer a-gen=198.51.100.$n/1 aaaa-gen=2001:db8::$i:$n/1 ttl=1
		done
		fakedns_commit 2>/dev/null
		sleep 0.5
	done
}
rotate & rot=$!
kvf_bg_register "$rot"

"$KVF_PYTHON" - "$KVF_TMP/status.json" "$KVF_TMP/kvfence.prom" > "$KVF_TMP/reads" <<-'PY'
import json, sys, time
status, prom = sys.argv[1], sys.argv[2]
reads = bad = 0
seen = set()
end = time.time() + 8
while time.time() < end:
    try:
        with open(status) as f:
            s = json.load(f)
        seen.add(s.get("reconciles"))
        with open(prom) as f:
            m = f.read()
        if not m.endswith("\n") or "kvfence_hosts 40" not in m:
            raise ValueError("metrics: %r" % m[-80:])
        reads += 1
    except Exception as e:
        bad += 1
        print("bad read:", e, file=sys.stderr)
print(reads, bad, len(seen))
PY
read -r reads bad versions < "$KVF_TMP/reads"
kvf_bg_stop "$rot"
kvf_log "$reads reads of status.json and the metrics, $bad bad, $versions versions of status.json"
[ "$versions" -ge 4 ] || hard_error "status.json changed only $versions times: no rewrites to race"
[ "$bad" -eq 0 ] || fail "$bad of $((reads + bad)) reads saw a missing, empty or half-written file"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
exit 0
