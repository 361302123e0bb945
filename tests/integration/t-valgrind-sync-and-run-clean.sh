#!/bin/bash
# valgrind's memcheck finds no error and no definitely lost block in
# `kvfence sync` and in a bounded `kvfence run -f` session that goes
# through the agent's paths: first fill, a DNS change followed (TTL 1 s),
# a SIGHUP reload that adds a host, a ruleset flush refilled, SIGTERM;
# then `kvfence clear`.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
command -v valgrind >/dev/null 2>&1 || skip "valgrind not installed"
# valgrind cannot run an AddressSanitizer build (--enable-sanitizers), and
# the sanitizers check that build already: a skip even under KVF_NO_SKIP.
if ldd "$KVFENCE" 2>/dev/null | grep -q libasan; then
	kvf_log "SKIP: an ASan build; the sanitizers check it instead of valgrind"
	exit 77
fi
kvf_netns_enter "$@"
kvf_tmpdir

VG=(valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --error-exitcode=1 --track-fds=no
    --num-callers=30)

zone=$KVF_TMP/root.zone
write_zone() {
	zone_begin "$zone" 1
	zone_chain 1 contoso-prod.vault.azure.net data-prod-weu.vaultcore.azure.net
	zone_addrs data-prod-weu.vaultcore.azure.net 1 "$1" 2001:db8::10
	zone_addrs login.microsoftonline.com 1 198.51.100.1
	zone_addrs fabrikam-kv.vault.azure.net 1 192.0.2.20
	zone_rr management.azure.com 1 TXT '"no address"'
}
conf=$KVF_TMP/kvfence.conf
write_conf() {
	{
		printf 'vault %s\nendpoints auth vault\nrefresh-min 1s\ngrace 1m\n' "$*"
		kvf_conf_base
	} > "$conf"
}
has4() { set_elems inet filter kvfence4 2>/dev/null | grep -q "^$1 \. 443 "; }

# valgrind's verdict, from its log: 0 errors, and the exit code it chose.
check_vg() {
	local what=$1 log=$2 rc=$3
	sed 's/^/  valgrind: /' "$log" >&2
	[ "$rc" -ne 1 ] || fail "$what: valgrind reported errors or definitely lost memory"
	grep -q "definitely lost: [1-9]" "$log" && fail "$what: definitely lost bytes"
	grep -qE "ERROR SUMMARY: [1-9]" "$log" && fail "$what: memcheck errors"
	return 0
}

write_zone 192.0.2.10
write_conf contoso-prod
dns_start "$zone"

# 1. sync: resolve, create the table and sets, write, exit.
rc=0
"${VG[@]}" --log-file="$KVF_TMP/vg-sync.log" "$KVFENCE" -c "$conf" sync \
	> "$KVF_TMP/sync.out" 2> "$KVF_TMP/sync.err" || rc=$?
sed 's/^/  sync: /' "$KVF_TMP/sync.err" >&2
check_vg "kvfence sync" "$KVF_TMP/vg-sync.log" "$rc"
[ "$rc" -eq 0 ] || fail "kvfence sync under valgrind: exit code $rc"
has4 192.0.2.10 || fail "sync under valgrind did not fill kvfence4"

# 2. run -f: valgrind runs the agent (exec keeps its pid for signals).
"${VG[@]}" --log-file="$KVF_TMP/vg-run.log" "$KVFENCE" -c "$conf" run -f \
	> "$KVF_TMP/agent.out" 2> "$KVF_TMP/agent.err" &
KVF_AGENT_PID=$!
kvf_bg_register "$KVF_AGENT_PID"
wait_until 30 kvf_status_ready || fail "the agent under valgrind wrote no status within 30 s"

# A DNS change, followed through a TTL-driven refresh.
write_zone 192.0.2.11
dns_reload
wait_until 20 eval 'has4 192.0.2.11' || fail "the agent did not follow the DNS change"

# SIGHUP with one more vault: the reload path (a new c-ares channel).
write_conf contoso-prod fabrikam-kv
kill -HUP "$KVF_AGENT_PID"
wait_until 20 eval 'has4 192.0.2.20' || fail "the reload did not add fabrikam-kv"

# A ruleset flush: the monitor notices, the sets are re-created and refilled.
nft flush ruleset
wait_until 20 eval 'has4 192.0.2.20 && has4 192.0.2.11' ||
	fail "the sets were not refilled after nft flush ruleset"
kvf_agent_alive || fail "the agent died"

rc=0
kvf_bg_stop "$KVF_AGENT_PID" TERM || rc=$?
KVF_AGENT_PID=
sed 's/^/  agent: /' "$KVF_TMP/agent.err" >&2
check_vg "kvfence run -f" "$KVF_TMP/vg-run.log" "$rc"
[ "$rc" -eq 0 ] || fail "kvfence run -f under valgrind: exit code $rc after SIGTERM"

# 3. clear: the record read, kvfence's elements and the sets it created
# removed (the table too: the flush above let the agent create it).
rc=0
"${VG[@]}" --log-file="$KVF_TMP/vg-clear.log" "$KVFENCE" -c "$conf" clear \
	> "$KVF_TMP/clear.out" 2> "$KVF_TMP/clear.err" || rc=$?
sed 's/^/  clear: /' "$KVF_TMP/clear.err" >&2
check_vg "kvfence clear" "$KVF_TMP/vg-clear.log" "$rc"
[ "$rc" -eq 0 ] || fail "kvfence clear under valgrind: exit code $rc"
! nft list table inet filter >/dev/null 2>&1 || fail "clear under valgrind left the table"
exit 0
