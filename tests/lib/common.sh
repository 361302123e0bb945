# shellcheck shell=bash disable=SC2034
# kvfence test library: sourced by every kernel-facing test. It moves the
# test into a private network (and mount) namespace, runs a real
# authoritative DNS server (Knot) there serving one root zone ".", and
# checks the kernel's sets with nft. Nothing touches the host's ruleset
# or network. Exit codes are automake's: 0 pass, 1 fail, 77 skip, 99 error.
#
# An integration test loads it through tests/lib/preamble.sh (one line,
# which also enters the namespace and makes the temporary directory);
# the benchmarks and tools source it directly.
#
# The DNS server answers the root zone "." written with zone_begin/zone_rr
# (so every name is authoritative data), and SERVFAIL for every name under
# servfail.kvfence-test. (a zone whose file never loads).

if [ -z "${BASH_VERSION:-}" ]; then
	echo "common.sh: needs bash" >&2
	exit 99
fi

KVF_EX_OK=0
KVF_EX_USAGE=64
KVF_EX_UNAVAILABLE=69
KVF_EX_NOPERM=77
KVF_EX_CONFIG=78

# Fixed at source time, before any cd or re-exec: the test script, the
# tests directory and the binary, all absolute.
KVF_SCRIPT=$(readlink -f "$0")
if [ -z "${TESTDIR:-}" ]; then
	TESTDIR=$(dirname "$(dirname "$KVF_SCRIPT")")
fi
TESTDIR=$(readlink -f "$TESTDIR")
if [ -z "${KVFENCE:-}" ]; then
	KVFENCE=$(dirname "$KVF_SCRIPT")/../../src/kvfence
fi
KVFENCE=$(readlink -f "$KVFENCE" 2>/dev/null || echo "$KVFENCE")
export TESTDIR KVFENCE

KVF_NAME=$(basename "$KVF_SCRIPT" .sh)

# Debian's python3, not a user's shim: the JSON of nft -j is parsed with it.
if [ -x /usr/bin/python3 ]; then
	KVF_PYTHON=/usr/bin/python3
else
	KVF_PYTHON=python3
fi

# ---------------------------------------------------------------------
# Verdicts

kvf_log() { printf '%s: %s\n' "$KVF_NAME" "$*" >&2; }

# A failed expectation of the program under test.
fail() {
	printf '%s: FAIL: %s\n' "$KVF_NAME" "$*" >&2
	exit 1
}

# The test itself could not be run properly (setup broke): not a verdict
# on kvfence.
hard_error() {
	printf '%s: ERROR: %s\n' "$KVF_NAME" "$*" >&2
	exit 99
}

# Not runnable here. In CI (KVF_NO_SKIP=1) a skip would hide a test that
# never ran, so it is a hard error there.
skip() {
	printf '%s: SKIP: %s\n' "$KVF_NAME" "$*" >&2
	if [ -n "${KVF_NO_SKIP:-}" ]; then
		exit 99
	fi
	exit 77
}

# ---------------------------------------------------------------------
# Namespace

# Re-execute the calling test in a new network and mount namespace (as
# nftables' tests/shell/run-tests.sh does), then bring up lo and hide the
# host's /run behind a tmpfs so that nothing kvfence or knot writes there
# leaks out.
kvf_netns_enter() {
	if [ -n "${KVF_IN_NETNS:-}" ]; then
		kvf_netns_setup
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nftables)"
	[ -x "$KVFENCE" ] || hard_error "$KVFENCE: no kvfence binary (build first, or set KVFENCE)"
	local t
	for t in unshare ip nft knotd knotc kdig; do
		command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
	done
	unshare -n -m true 2>/dev/null || skip "cannot create network/mount namespaces here"
	export KVF_IN_NETNS=1
	exec unshare -n -m -- bash "$KVF_SCRIPT" "$@"
	hard_error "exec unshare failed"
}

kvf_netns_setup() {
	mount --make-rprivate / 2>/dev/null || hard_error "mount --make-rprivate / failed"
	mount -t tmpfs -o mode=0755 tmpfs /run || hard_error "cannot mount a tmpfs on /run"
	ip link set lo up || hard_error "cannot bring up lo"
	# A fresh namespace has an empty ruleset: make sure that is what we see.
	[ -z "$(nft list ruleset)" ] || hard_error "the new namespace's ruleset is not empty"
}

# ---------------------------------------------------------------------
# Temporary directory, background processes, cleanup

KVF_TMP=
KVF_PIDS=()
KVF_NETNS_WATCHED=()	# net:[inode] of the other namespaces a test made

# The processes of this test still alive, "pid command line" one per line:
# every process in the test's own network namespace, or in one it made
# and watches (kvf_watch_netns), but this shell (and the lister itself).
# A process a test forgot (a coproc whose registered pid was bash's
# subshell, a function run in the background) shows up here.
kvf_leftovers() {
	"$KVF_PYTHON" - "$$" "${KVF_NETNS_WATCHED[@]}" <<-'EOF'
	import os, sys
	me = {os.getpid(), os.getppid(), int(sys.argv[1])}
	ns = {os.readlink("/proc/self/ns/net")} | set(sys.argv[2:])
	for d in os.listdir("/proc"):
	    if not d.isdigit() or int(d) in me:
	        continue
	    try:
	        if os.readlink("/proc/%s/ns/net" % d) not in ns:
	            continue
	        with open("/proc/%s/cmdline" % d, "rb") as f:
	            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
	    except OSError:
	        continue  # gone, or a zombie
	    if cmd:
	        print(d, cmd)
	EOF
}

kvf_no_leftovers() { [ -z "$(kvf_leftovers)" ]; }

kvf_cleanup() {
	local rc=$? pid left
	for pid in "${KVF_PIDS[@]}"; do
		# CONT: a test may have stopped it (a hanging DNS server).
		kill "$pid" 2>/dev/null && kill -CONT "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	KVF_PIDS=()
	# Tests leave no process behind, also when they pass. A moment for
	# the orphans of killed subshells to finish on their own.
	if [ -n "${KVF_IN_NETNS:-}" ] && ! wait_until 2 kvf_no_leftovers; then
		left=$(kvf_leftovers)
		if [ -n "$left" ]; then
			printf '%s: FAIL: processes left behind:\n%s\n' "$KVF_NAME" "$left" >&2
			for pid in $(printf '%s\n' "$left" | awk '{ print $1 }'); do
				kill -KILL "$pid" 2>/dev/null
			done
			[ "$rc" -ne 0 ] || rc=1
		fi
	fi
	if [ -n "$KVF_TMP" ] && [ -d "$KVF_TMP" ]; then
		rm -rf "$KVF_TMP"
	fi
	exit "$rc"
}

kvf_on_signal() {
	kvf_log "interrupted"
	exit 99
}

# Create the test's temporary directory, $KVF_TMP, removed with every
# background process when the test exits, whatever the reason. Call it
# directly, not in $(...): it sets variables and traps of this shell.
kvf_tmpdir() {
	if [ -z "$KVF_TMP" ]; then
		KVF_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvfence-$KVF_NAME.XXXXXX") ||
			hard_error "mktemp -d failed"
		trap kvf_cleanup EXIT
		trap kvf_on_signal INT TERM HUP
	fi
}

# Remember a background process for the cleanup.
kvf_bg_register() { KVF_PIDS+=("$1"); }

# The test's own /etc: an overlay whose writes land in a tmpfs under /run
# (the mount namespace's own); the host's /etc stays as it is. It starts
# without resolv.conf: the test writes the one it needs.
kvf_own_etc() {
	mkdir -p /run/kvf-etc/upper /run/kvf-etc/work || hard_error "mkdir under /run"
	mount -t overlay kvf-etc -o lowerdir=/etc,upperdir=/run/kvf-etc/upper,workdir=/run/kvf-etc/work \
		/etc || skip "cannot mount an overlay over /etc"
	rm -f /etc/resolv.conf
}

# kvf_watch_netns FILE: processes left in the network namespace FILE
# (/run/netns/NAME, /proc/PID/ns/net) fail the test too: what runs there
# outlives the namespace's name. A function run in the background (`f &`)
# is a subshell whose child the cleanup cannot reach: start such
# processes directly (`ip netns exec NS CMD &`), so $! is CMD.
kvf_watch_netns() {
	KVF_NETNS_WATCHED+=("$(stat -L -c 'net:[%i]' "$1")") ||
		hard_error "kvf_watch_netns: cannot stat $1"
}

kvf_bg_forget() {
	local pid keep=()
	for pid in "${KVF_PIDS[@]}"; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	KVF_PIDS=("${keep[@]}")
}

# kvf_bg_stop PID [SIGNAL]: signal a registered background process (TERM),
# wait for it and forget it. Returns its exit status.
kvf_bg_stop() {
	local rc=0
	kill -"${2:-TERM}" "$1" 2>/dev/null
	wait "$1" 2>/dev/null || rc=$?
	kvf_bg_forget "$1"
	return "$rc"
}

# ---------------------------------------------------------------------
# Polling: the only way tests wait. No fixed sleeps as synchronisation.

# wait_until SECONDS CMD [ARGS...]: retry CMD until it succeeds; 1 once
# the deadline has passed.
wait_until() {
	local limit=$1 start now
	shift
	start=$(date +%s%N)
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		now=$(date +%s%N)
		[ $(( (now - start) / 1000000 )) -lt $(( limit * 1000 )) ] || return 1
		sleep 0.05
	done
}

# ---------------------------------------------------------------------
# Zone writer: one root zone ".", so that every name of every test is
# authoritative data of a single file. Names are written absolute.

KVF_ZONE=
KVF_ZONE_SERIAL=${KVF_ZONE_SERIAL:-0}

kvf_fqdn() {
	case $1 in
	*.) printf '%s' "$1" ;;
	*) printf '%s.' "$1" ;;
	esac
}

# zone_begin FILE [DEFAULT_TTL]: start (or restart) a zone file with a
# fresh, higher SOA serial, so that a reload always takes it.
zone_begin() {
	KVF_ZONE=$1
	KVF_ZONE_SERIAL=$((KVF_ZONE_SERIAL + 1))
	cat > "$KVF_ZONE" <<-EOF || hard_error "cannot write $KVF_ZONE"
	\$ORIGIN .
	\$TTL ${2:-60}
	.	3600 IN SOA ns.kvfence-test. hostmaster.kvfence-test. $KVF_ZONE_SERIAL 3600 600 86400 5
	.	3600 IN NS ns.kvfence-test.
	ns.kvfence-test.	3600 IN A 127.0.0.1
	EOF
}

# zone_rr NAME TTL TYPE DATA...
zone_rr() {
	[ -n "$KVF_ZONE" ] || hard_error "zone_rr before zone_begin"
	local name ttl=$2 type=$3 data
	name=$(kvf_fqdn "$1")
	shift 3
	data=$*
	case $type in
	CNAME|NS|PTR) data=$(kvf_fqdn "$data") ;;
	esac
	printf '%s\t%s\tIN\t%s\t%s\n' "$name" "$ttl" "$type" "$data" >> "$KVF_ZONE"
}

# zone_addrs NAME TTL ADDR...: A or AAAA records, by the address's form.
zone_addrs() {
	local name=$1 ttl=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) zone_rr "$name" "$ttl" AAAA "$a" ;;
		*) zone_rr "$name" "$ttl" A "$a" ;;
		esac
	done
}

# zone_chain TTL NAME1 NAME2 ... NAMEn: CNAMEs NAME1 -> NAME2 -> ... -> NAMEn
# (n-1 hops). Give NAMEn its addresses with zone_addrs.
zone_chain() {
	local ttl=$1 prev=
	shift
	for n in "$@"; do
		[ -z "$prev" ] || zone_rr "$prev" "$ttl" CNAME "$n"
		prev=$n
	done
}

# ---------------------------------------------------------------------
# The DNS server: knotd on 127.0.0.1@53 inside the namespace.

KVF_DNS_DIR=
KVF_DNS_PID=
KVF_DNS_ZONE=

kvf_dns_conf() {
	cat > "$KVF_DNS_DIR/knot.conf" <<-EOF
	server:
	    rundir: "$KVF_DNS_DIR"
	    listen: [ 127.0.0.1@53, ::1@53${KVF_DNS_LISTEN:+, $KVF_DNS_LISTEN} ]
	log:
	  - target: stderr
	    any: info
	database:
	    storage: "$KVF_DNS_DIR/db"
	control:
	    listen: "$KVF_DNS_DIR/knot.sock"
	template:
	  - id: default
	    storage: "$KVF_DNS_DIR"
	    zonefile-sync: -1
	    zonefile-load: whole
	    journal-content: none
	zone:
	  - domain: .
	    file: "$KVF_DNS_ZONE"
	  - domain: servfail.kvfence-test.
	    file: "$KVF_DNS_DIR/never-there.zone"
	EOF
}

# The SOA serial the server answers, or nothing.
dns_serial() {
	kdig @127.0.0.1 +short +time=1 +retry=0 SOA . 2>/dev/null | awk 'NF >= 3 { print $3; exit }'
}

dns_has_serial() { [ "$(dns_serial)" = "$1" ]; }

# dns_start ZONEFILE: start knotd serving ZONEFILE as the root zone and
# wait (at most 10 s) until it answers with that file's serial. Set
# KVF_DNS_LISTEN (such as "198.51.100.53@53") to listen on more addresses.
dns_start() {
	[ -n "$KVF_TMP" ] || kvf_tmpdir
	[ -z "$KVF_DNS_PID" ] || hard_error "dns_start: a server already runs"
	KVF_DNS_ZONE=$(readlink -f "$1")
	KVF_DNS_DIR=$KVF_TMP/knot
	mkdir -p "$KVF_DNS_DIR/db" || hard_error "mkdir $KVF_DNS_DIR"
	kvf_dns_conf
	knotd -c "$KVF_DNS_DIR/knot.conf" > "$KVF_DNS_DIR/knotd.log" 2>&1 &
	KVF_DNS_PID=$!
	kvf_bg_register "$KVF_DNS_PID"
	if ! wait_until 10 dns_has_serial "$KVF_ZONE_SERIAL"; then
		cat "$KVF_DNS_DIR/knotd.log" >&2
		hard_error "knotd did not answer with serial $KVF_ZONE_SERIAL within 10 s"
	fi
}

# dns_reload: make the server load the zone file again (written anew with
# zone_begin, hence a higher serial) and wait until it answers with it.
dns_reload() {
	[ -n "$KVF_DNS_PID" ] || hard_error "dns_reload: no server"
	knotc -c "$KVF_DNS_DIR/knot.conf" -b zone-reload . >&2 ||
		hard_error "knotc zone-reload failed"
	if ! wait_until 10 dns_has_serial "$KVF_ZONE_SERIAL"; then
		tail -n 20 "$KVF_DNS_DIR/knotd.log" >&2
		hard_error "knotd did not serve serial $KVF_ZONE_SERIAL within 10 s of the reload"
	fi
}

# kvf_server_ns: a second network namespace held by a background process
# (registered for the cleanup) and a veth pair into it, veth-c here and
# veth-s there, both down. Its pid, for nsenter -t, in KVF_SRV. Until
# unshare has run the process is still in this namespace (and the peer
# would land here): wait for that first. 1 if there is no veth here.
kvf_server_ns() {
	local own
	unshare -n sleep infinity &
	KVF_SRV=$!
	kvf_bg_register "$KVF_SRV"
	own=$(readlink /proc/self/ns/net)
	kvf_srv_unshared() { [ "$(readlink /proc/"$KVF_SRV"/ns/net)" != "$own" ]; }
	wait_until 5 kvf_srv_unshared || hard_error "server namespace"
	kvf_watch_netns /proc/"$KVF_SRV"/ns/net
	ip link add veth-c type veth peer name veth-s netns "$KVF_SRV"
}

# kvf_stopped PID: every thread of PID is stopped (state T). kill -STOP
# only queues the signal: a thread busy on another CPU stops a moment later.
kvf_stopped() {
	local st
	for st in /proc/"$1"/task/*/stat; do
		[ "$(awk '{ print $3 }' "$st" 2>/dev/null)" = T ] || return 1
	done
}

kvf_dns_down() { ! kdig @127.0.0.1 +time=1 +retry=0 SOA . >/dev/null 2>&1; }

# dns_stop: stop the server and wait until nothing answers any more.
dns_stop() {
	[ -n "$KVF_DNS_PID" ] || return 0
	kvf_bg_stop "$KVF_DNS_PID"
	KVF_DNS_PID=
	wait_until 10 kvf_dns_down || hard_error "the DNS server still answers after dns_stop"
}

# dns_query NAME TYPE: the answer section, one record per line.
dns_query() {
	kdig @127.0.0.1 +noall +answer +time=1 +retry=0 "$1" "$2"
}

# ---------------------------------------------------------------------
# kvfence

# The lines every test config needs: the namespace's DNS server and files
# inside the test's directory (never /var/lib or /run of the host).
# kvf_conf_base [LINE...]: each LINE (such as "metrics-file $KVF_TMP/m.prom")
# comes in place of the base line with the same keyword.
kvf_conf_base() {
	local line keys=" "
	for line in "$@"; do
		keys+="${line%% *} "
	done
	while read -r line; do
		case $keys in
		*" ${line%% *} "*) ;;
		*) printf '%s\n' "$line" ;;
		esac
	done <<-EOF
	resolver 127.0.0.1
	state-file $KVF_TMP/state
	status-file $KVF_TMP/status.json
	metrics-file none
	EOF
	[ $# -eq 0 ] || printf '%s\n' "$@"
}

# kvf_vault_with_tags DIR TAG [LINE...]: one vault plus a Service Tags
# file. The DNS server runs and serves contoso-prod.vault.azure.net,
# 192.0.2.10 with TTL 1, from the zone file $KVF_TMP/root.zone (for a later
# zone_begin); DIR holds the shipped ServiceTags_Public_20990101.json
# unless the test wrote a ServiceTags_Public_*.json there first; and
# $KVF_TMP/kvfence.conf asks for that vault refreshed every 1 to 2 s, the
# tag TAG of DIR's files and kvf_conf_base LINE...
kvf_vault_with_tags() {
	local dir=$1 tag=$2
	shift 2
	mkdir -p "$dir" || hard_error "mkdir $dir"
	compgen -G "$dir/ServiceTags_Public_*.json" >/dev/null ||
		cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$dir/" ||
		hard_error "cannot copy the Service Tags file into $dir"
	zone_begin "$KVF_TMP/root.zone" 1
	zone_addrs contoso-prod.vault.azure.net 1 192.0.2.10
	dns_start "$KVF_TMP/root.zone"
	{
		printf 'vault contoso-prod\nendpoints vault\nrefresh-min 1s\nrefresh-max 2s\n'
		printf 'service-tags %s/ServiceTags_Public_*.json %s\n' "$dir" "$tag"
		kvf_conf_base "$@"
	} > "$KVF_TMP/kvfence.conf" || hard_error "cannot write kvfence.conf"
}

# kvf_run NAME ARGS...: run kvfence, stdout to $KVF_TMP/NAME.out, stderr to
# $KVF_TMP/NAME.err (both copied to the test's log), exit code in KVF_RC.
kvf_run() {
	local name=$1
	shift
	KVF_RC=0
	"$KVFENCE" "$@" > "$KVF_TMP/$name.out" 2> "$KVF_TMP/$name.err" || KVF_RC=$?
	{
		printf -- '--- kvfence %s (exit %s)\n' "$*" "$KVF_RC"
		sed 's/^/  out: /' "$KVF_TMP/$name.out"
		sed 's/^/  err: /' "$KVF_TMP/$name.err"
	} >&2
}

# expect_rc EXPECTED WHAT: the last kvf_run's exit code.
expect_rc() {
	[ "$KVF_RC" -eq "$1" ] || fail "$2: exit code $KVF_RC, expected $1"
}

# ---------------------------------------------------------------------
# Kernel state

# set_elems FAMILY TABLE SET: the set's elements, one per line, sorted, as
#   192.0.2.1 . 443 comment "host.example"
#   2001:db8::1
# (no comment part for elements without one). Fails (status 1) if the set
# cannot be listed.
set_elems() {
	local json
	json=$(nft -j list set "$1" "$2" "$3") || return 1
	printf '%s' "$json" | "$KVF_PYTHON" -c '
import json, sys

def val(v):
    if isinstance(v, dict):
        if "concat" in v:
            return " . ".join(val(x) for x in v["concat"])
        if "prefix" in v:
            return "%s/%s" % (val(v["prefix"]["addr"]), v["prefix"]["len"])
        if "range" in v:
            return "%s-%s" % (val(v["range"][0]), val(v["range"][1]))
        raise SystemExit("unexpected element value %r" % (v,))
    return str(v)

out = []
for obj in json.load(sys.stdin)["nftables"]:
    s = obj.get("set")
    if not s:
        continue
    for e in s.get("elem", []):
        if isinstance(e, dict) and "elem" in e:
            line = val(e["elem"]["val"])
            if "comment" in e["elem"]:
                line += " comment \"%s\"" % e["elem"]["comment"]
        else:
            line = val(e)
        out.append(line)
for line in sorted(out):
    print(line)
'
}

# set_type FAMILY TABLE SET: the set's type as nft prints it.
set_type() {
	nft -j list set "$1" "$2" "$3" | "$KVF_PYTHON" -c '
import json, sys
for obj in json.load(sys.stdin)["nftables"]:
    if "set" in obj:
        t = obj["set"]["type"]
        print(" . ".join(t) if isinstance(t, list) else t)
'
}

# kvf_expected FILE: the expected lines of FILE, sorted, without blank
# lines and # comments.
kvf_expected() {
	grep -v -e '^[[:space:]]*$' -e '^[[:space:]]*#' "$1" | LC_ALL=C sort
}

# assert_set_elems FAMILY TABLE SET EXPECTED_FILE: the set holds exactly
# the elements of EXPECTED_FILE (format of set_elems; any order).
assert_set_elems() {
	local got=$KVF_TMP/.got.$$ want=$KVF_TMP/.want.$$
	set_elems "$1" "$2" "$3" > "$KVF_TMP/.raw.$$" ||
		fail "set $1 $2 $3 cannot be listed"
	LC_ALL=C sort "$KVF_TMP/.raw.$$" > "$got"
	kvf_expected "$4" > "$want"
	if ! cmp -s "$want" "$got"; then
		echo "set $1 $2 $3: expected (-) / found (+):" >&2
		diff -u "$want" "$got" | tail -n +3 >&2
		fail "set $1 $2 $3 does not hold the expected elements"
	fi
	rm -f "$got" "$want" "$KVF_TMP/.raw.$$"
}

# set_matches FAMILY TABLE SET EXPECTED_FILE: like assert_set_elems, but
# a status instead of a verdict, for wait_until.
set_matches() {
	local got
	got=$(set_elems "$1" "$2" "$3") || return 1
	[ "$(printf '%s\n' "$got" | grep -v '^$' | LC_ALL=C sort)" = "$(kvf_expected "$4")" ]
}

# assert_set_has FAMILY TABLE SET LINE: the set holds this element (a line
# in the format of set_elems).
assert_set_has() {
	set_elems "$1" "$2" "$3" | grep -qxF -- "$4" ||
		fail "set $1 $2 $3 lacks: $4"
}

# assert_set_lacks FAMILY TABLE SET ADDR: no element of the set has this
# address, whatever its port and comment.
assert_set_lacks() {
	local elems
	elems=$(set_elems "$1" "$2" "$3") || fail "set $1 $2 $3 cannot be listed"
	! printf '%s\n' "$elems" | awk -v a="$4" '$1 == a { found = 1 } END { exit !found }' ||
		fail "set $1 $2 $3 holds address $4"
}

# tags_beside_admin_range DIR: range mode next to an administrator's
# range. Writes into DIR a Service Tags file (changeNumber 43) whose
# AzureKeyVault ranges are KVF_RANGE_OURS (198.51.100.64/27) and
# 203.0.113.128/25, and puts KVF_ADMIN_RANGE (203.0.113.0/24, which
# overlaps the latter, with kvfence's comment prefix) into inet filter
# kvfence4r, declared an interval set.
KVF_RANGE_OURS='198.51.100.64/27 comment "servicetag AzureKeyVault change 43"'
KVF_ADMIN_RANGE='203.0.113.0/24 comment "servicetag AzureKeyVault"'
tags_beside_admin_range() {
	mkdir -p "$1"
	cat > "$1/ServiceTags_Public_20990101.json" <<-'EOF' || hard_error "cannot write the tags file"
	{ "changeNumber": 43, "cloud": "Public", "values": [
	  { "name": "AzureKeyVault", "id": "AzureKeyVault",
	    "properties": { "changeNumber": 8, "region": "", "platform": "Azure",
	      "systemService": "AzureKeyVault",
	      "addressPrefixes": [ "203.0.113.128/25", "198.51.100.64/27" ] } } ] }
	EOF
	nft -f - <<-EOF || hard_error "cannot add the administrator's range"
	table inet filter {
		set kvfence4r { type ipv4_addr; flags interval; elements = { $KVF_ADMIN_RANGE } }
	}
	EOF
}

# assert_grep FILE ERE WHAT: FILE has a line matching ERE.
assert_grep() {
	grep -qE -- "$2" "$1" || fail "$3 (no line matching /$2/ in $(basename "$1"))"
}

assert_no_grep() {
	! grep -qE -- "$2" "$1" || fail "$3 (a line matches /$2/ in $(basename "$1"))"
}

# ---------------------------------------------------------------------
# nft monitor, with readiness proven by marker events: a marker table is
# created and deleted; when the monitor has printed it, the monitor is
# subscribed, and every event before the end marker has been delivered.

KVF_MON_PID=
KVF_MON_OUT=

kvf_mon_saw() { grep -qF -- "$1" "$KVF_MON_OUT"; }

kvf_mon_mark() {
	nft add table inet "$1" && nft delete table inet "$1" ||
		hard_error "cannot create the marker table $1"
	wait_until 10 kvf_mon_saw "delete table inet $1" ||
		hard_error "nft monitor did not report the marker $1 within 10 s"
}

# monitor_start: start `nft monitor` and return once it reports events.
monitor_start() {
	KVF_MON_OUT=$KVF_TMP/monitor.out
	: > "$KVF_MON_OUT"
	nft monitor > "$KVF_MON_OUT" 2>&1 &
	KVF_MON_PID=$!
	kvf_bg_register "$KVF_MON_PID"
	# The monitor may subscribe after a first marker was made: retry.
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		nft add table inet kvf_mark_begin && nft delete table inet kvf_mark_begin ||
			hard_error "cannot create the marker table"
		wait_until 1 kvf_mon_saw "delete table inet kvf_mark_begin" && return 0
	done
	hard_error "nft monitor never reported an event"
}

# monitor_stop FILE: put the end marker, stop the monitor, and write to
# FILE the events between the two markers (the markers' own transactions
# excluded).
monitor_stop() {
	kvf_mon_mark kvf_mark_end
	kvf_bg_stop "$KVF_MON_PID"
	KVF_MON_PID=
	awk '
		/^delete table inet kvf_mark_begin/ { on = 1; n = 0; skipgen = 1; next }
		/^(add|delete) table inet kvf_mark_end/ { exit }
		!on { next }
		skipgen && /^# new generation .* \(nft\)$/ { skipgen = 0; next }
		{ skipgen = 0; buf[n++] = $0 }
		END { for (i = 0; i < n; i++) print buf[i] }
' "$KVF_MON_OUT" > "$1"
}
