# shellcheck shell=bash
# The agent benchmarks' one preamble (neighbour.sh, wave.sh). Each starts
#
#   # shellcheck source=lib.sh
#   . "${TESTDIR:-$(dirname "$0")/..}/bench/lib.sh" "$@"
#
# which re-runs it under bash, loads tests/lib/common.sh and agent.sh,
# moves it into its own network and mount namespace (kvf_netns_enter,
# which re-runs it there) and makes its temporary directory, $T.

# dash and other shells ignore the arguments of ".": "$@" is the script's.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir
set -o pipefail

# For the scripts that source this file.
# shellcheck disable=SC2034
FIX=$(dirname "$KVF_SCRIPT")/fixture.py T=$KVF_TMP HZ=$(getconf CLK_TCK)

say() { printf '%s: %s\n' "$KVF_NAME" "$*" >&2; }

# ticks PID: the CPU time (utime + stime) of a process, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# set_size FAMILY TABLE SET: the number of elements of a set.
set_size() {
	nft -j list set "$@" | "$KVF_PYTHON" -c '
import json, sys
print(sum(len(o["set"].get("elem", [])) for o in json.load(sys.stdin)["nftables"] if "set" in o))'
}

# full: the agent has filled kvfence6 with its N hosts' AAAA answers
# (fixture.py: one per host, unique).
full() { [ "$(set_size inet filter kvfence6)" -eq "$N" ]; }
