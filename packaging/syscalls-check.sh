#!/bin/bash
# kvfence: does the unit's SystemCallFilter= allow every system call the
# agent makes? Runs "kvfence run -f" under strace in a private network
# namespace (never the host's ruleset; DNS fails there, which kvfence
# survives), sends SIGHUP and SIGUSR1, stops it with SIGTERM, and checks
# each traced call against the filter read from the unit file.
#
# usage: packaging/syscalls-check.sh KVFENCE_BINARY UNIT_FILE CONFIG
# Needs root, strace, unshare; exits 0 when every call is allowed.
set -euo pipefail
bin=$1 unit=$2 conf=$3
work=$(mktemp -d /tmp/kvfence-syscalls.XXXXXX)
trap 'rm -rf "$work"' EXIT

expand() {	# expand @group|name... into system call names, recursively
	local item
	for item in "$@"; do
		case $item in
		@*) systemd-analyze syscall-filter "$item" | tail -n +2 |
			sed -e 's/^ *//' -e '/^#/d' -e '/^$/d' |
			while read -r sub; do expand "$sub"; done ;;
		*) echo "$item" ;;
		esac
	done
}

# SystemCallFilter= lines: the first without ~ allows, each ~ line denies.
allow=() deny=()
while IFS= read -r line; do
	v=${line#SystemCallFilter=}
	case $v in
	"~"*) read -ra w <<<"${v#\~}"; deny+=("${w[@]}") ;;
	*) read -ra w <<<"$v"; allow+=("${w[@]}") ;;
	esac
done < <(grep '^SystemCallFilter=' "$unit")
expand "${allow[@]}" | sort -u > "$work/allow"
expand "${deny[@]}" | sort -u > "$work/deny"
comm -23 "$work/allow" "$work/deny" > "$work/allowed"

# A private copy of the config whose state and status live in $work.
cp "$conf" "$work/kvfence.conf"
chmod 644 "$work/kvfence.conf"
printf 'state-file %s/state\nstatus-file %s/status.json\n' "$work" "$work" \
	>> "$work/kvfence.conf"
unshare -n sh -c '
	ip link set lo up 2>/dev/null || true
	strace -f -qq -o "$1/trace" "$2" -c "$1/kvfence.conf" run -f 2>"$1/log" &
	pid=$!
	sleep 3; pkill -HUP -P $pid 2>/dev/null || kill -HUP $pid
	sleep 1; pkill -USR1 -P $pid 2>/dev/null || kill -USR1 $pid
	sleep 1; pkill -TERM -P $pid 2>/dev/null || kill -TERM $pid
	wait $pid' sh "$work" "$bin" || true
sed -n 's/^[0-9]* \{1,\}\([a-z0-9_]*\)(.*/\1/p' "$work/trace" | sort -u > "$work/used"
# The calls before execve are strace's and the shell's, not kvfence's.
echo "kvfence made $(wc -l < "$work/used") distinct system calls"
bad=$(comm -23 "$work/used" "$work/allowed" | grep -vx execve || true)
tail -n 5 "$work/log" | sed 's/^/  log: /'
if [ -n "$bad" ]; then
	echo "not allowed by the unit's SystemCallFilter=:" $bad
	exit 1
fi
echo "all allowed by the unit's SystemCallFilter="
