# shellcheck shell=bash
# kvfence test library, part three: the fault-injection DNS server
# (tests/lib/fakedns.py) on 127.0.0.1@53 (KVF_FDNS_ADDR) inside the test's namespace, in
# place of Knot. Sourced after common.sh. A test writes the server's rules
# with fakedns_begin / fakedns_rule / fakedns_commit (the format is
# described at the top of fakedns.py), then fakedns_start; a later commit
# returns once the running server answers with the new rules.
#
#   fakedns_begin
#   fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10 ttl=60
#   fakedns_rule contoso-prod.vault.azure.net AAAA nodata
#   fakedns_commit
#   fakedns_start

KVF_FDNS_PID=
KVF_FDNS_RULES=
KVF_FDNS_LOG=
KVF_FDNS_SERIAL=0
# Where the server listens (UDP and TCP port 53): set before fakedns_start
# to run it beside another server on 127.0.0.1.
KVF_FDNS_ADDR=${KVF_FDNS_ADDR:-127.0.0.1}

# fakedns_require: skip unless Debian's python3 has dnslib.
fakedns_require() {
	[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not installed"
	/usr/bin/python3 -c 'import dnslib' 2>/dev/null ||
		skip "python3-dnslib not installed (apt-get install python3-dnslib)"
}

# fakedns_begin: start a new rules file (not yet seen by the server).
fakedns_begin() {
	[ -n "$KVF_TMP" ] || kvf_tmpdir
	KVF_FDNS_RULES=$KVF_TMP/fakedns.rules
	KVF_FDNS_SERIAL=$((KVF_FDNS_SERIAL + 1))
	echo "serial $KVF_FDNS_SERIAL" > "$KVF_FDNS_RULES.new" ||
		hard_error "cannot write $KVF_FDNS_RULES.new"
}

# fakedns_rule NAME [TYPE] ACTION [KEY=VALUE...]
fakedns_rule() {
	echo "$*" >> "$KVF_FDNS_RULES.new" || hard_error "cannot write the rules"
}

fakedns_serial() {
	kdig @"$KVF_FDNS_ADDR" +short +time=1 +retry=0 TXT ping.fakedns. 2>/dev/null |
		tr -d '"' | awk '{ print $2; exit }'
}

fakedns_has_serial() { [ "$(fakedns_serial)" = "$1" ]; }

# fakedns_commit: put the rules in place (atomically) and, if the server
# runs, wait (at most 10 s) until it answers with them.
fakedns_commit() {
	mv -f "$KVF_FDNS_RULES.new" "$KVF_FDNS_RULES" || hard_error "cannot install the rules"
	{ echo "--- fakedns rules (serial $KVF_FDNS_SERIAL)"; sed 's/^/  /' "$KVF_FDNS_RULES" | head -n 40; } >&2
	[ -n "$KVF_FDNS_PID" ] || return 0
	wait_until 10 fakedns_has_serial "$KVF_FDNS_SERIAL" ||
		hard_error "fakedns did not take rules serial $KVF_FDNS_SERIAL within 10 s"
}

# fakedns_start: start the server on the committed rules and wait (at most
# 10 s) until it answers over UDP and TCP.
fakedns_start() {
	fakedns_require
	[ -z "$KVF_FDNS_PID" ] || hard_error "fakedns_start: a server already runs"
	[ -f "$KVF_FDNS_RULES" ] || hard_error "fakedns_start: no rules committed"
	KVF_FDNS_LOG=$KVF_TMP/fakedns.queries
	: > "$KVF_FDNS_LOG"
	/usr/bin/python3 "$TESTDIR/lib/fakedns.py" --addr "$KVF_FDNS_ADDR" --rules "$KVF_FDNS_RULES" \
		--log "$KVF_FDNS_LOG" 2> "$KVF_TMP/fakedns.err" &
	KVF_FDNS_PID=$!
	kvf_bg_register "$KVF_FDNS_PID"
	if ! wait_until 10 fakedns_has_serial "$KVF_FDNS_SERIAL"; then
		cat "$KVF_TMP/fakedns.err" >&2
		hard_error "fakedns did not answer within 10 s"
	fi
	kdig @"$KVF_FDNS_ADDR" +tcp +short +time=2 +retry=0 TXT ping.fakedns. >/dev/null 2>&1 ||
		hard_error "fakedns does not answer over TCP"
}

fakedns_down() { [ -z "$(fakedns_serial)" ]; }

# fakedns_stop: stop the server and wait until nothing answers.
fakedns_stop() {
	[ -n "$KVF_FDNS_PID" ] || return 0
	kvf_bg_stop "$KVF_FDNS_PID"
	KVF_FDNS_PID=
	wait_until 10 fakedns_down || hard_error "fakedns still answers after fakedns_stop"
}

# fakedns_queries NAME [TYPE [PROTO]]: how many queries the server saw.
fakedns_queries() {
	local name
	name=$(kvf_fqdn "$1")
	awk -v n="$name" -v t="${2:-}" -v p="${3:-}" '
		tolower($3) == tolower(n) && (t == "" || $4 == t) && (p == "" || $2 == p) { c++ }
		END { print c + 0 }' "$KVF_FDNS_LOG"
}

# fakedns_dump: the query log, into the test's log.
fakedns_dump() {
	echo "--- fakedns queries" >&2
	sed 's/^/  /' "$KVF_FDNS_LOG" >&2
	[ ! -s "$KVF_TMP/fakedns.err" ] || sed 's/^/  fakedns: /' "$KVF_TMP/fakedns.err" >&2
}
