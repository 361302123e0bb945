# shellcheck shell=bash
# kvfence integration tests: the one preamble. Every test starts with
#
#   # shellcheck source=../lib/preamble.sh
#   . "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" [LIB...] [--manual] -- "$@"
#
# It re-runs the test under bash if another shell started it, loads
# common.sh and each helper library named (agent, fakedns, egress:
# tests/lib/LIB.sh), then moves the test into its own network and mount
# namespace (kvf_netns_enter, which re-runs it there) and makes its
# temporary directory (kvf_tmpdir). With --manual it stops after loading:
# the test checks what it needs on the host first, then calls
# kvf_netns_enter "$@" and kvf_tmpdir itself. What follows -- is the
# test's own command line.

# dash and other shells ignore the arguments of ".": "$@" is the test's.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

kvf_pre_libs=()
kvf_pre_enter=1
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	case $1 in
	--manual) kvf_pre_enter= ;;
	*) kvf_pre_libs+=("$1") ;;
	esac
	shift
done
[ $# -eq 0 ] || shift

# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
for kvf_pre_lib in "${kvf_pre_libs[@]}"; do
	case $kvf_pre_lib in
	agent)
		# shellcheck source=../lib/agent.sh
		. "$TESTDIR/lib/agent.sh" ;;
	fakedns)
		# shellcheck source=../lib/fakedns.sh
		. "$TESTDIR/lib/fakedns.sh" ;;
	egress)
		# shellcheck source=../lib/egress.sh
		. "$TESTDIR/lib/egress.sh" ;;
	*) hard_error "preamble.sh: no helper library \"$kvf_pre_lib\"" ;;
	esac
done
unset kvf_pre_lib kvf_pre_libs
if [ -n "$kvf_pre_enter" ]; then
	unset kvf_pre_enter
	kvf_netns_enter "$@"
	kvf_tmpdir
fi
unset kvf_pre_enter
