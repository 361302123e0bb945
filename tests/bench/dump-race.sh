#!/bin/bash
# The kernel's set dump racing a hash table resize (issue 13, item 21).
# Not part of `make check`: it prints figures and judges nothing.
#
#   sudo tests/bench/dump-race.sh [N [SECONDS]]      # default: 2000 60
#
# In a private network namespace, an `ipv4_addr . inet_service` set (the
# kernel's rhash backend) holds N elements with comments. A writer
# replaces all of them in one transaction (delete N, add N), again and
# again, with nft; each transaction makes the kernel grow the hash table
# (2N elements in prepare) and shrink it again (N after commit), as
# deferred work, with no new generation. A reader (dump-race.c, linked
# with kvfence's own nftread_elems) reads the set for SECONDS and counts
# reads that did not hold exactly N distinct elements. The kernel resumes
# a dump that spans several netlink messages (anything over 32 KiB) by
# skipping as many elements as it has sent, on a fresh walk of a table
# that a resize may have reordered since.
#
# Figures measured on this project's CI machine (2 cores, kernel 6.18),
# N 2000, 60 s:
#   one GETGEN-guarded dump per read (kvfence before):
#     reads=19065 short=49 (as few as 1350 of 2000), no generation change
#   two agreeing dumps per read (kvfence now):
#     reads=9242 short=0; 38 reads had two dumps disagree and read again
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

N=${1:-2000}
SECS=${2:-60}
BENCH_DIR=$(dirname "$KVF_SCRIPT")
TOP=$(dirname "$(dirname "$BENCH_DIR")")
BUILD=$(dirname "$(dirname "$KVFENCE")")	# where libkvfio.a was built
for lib in libkvfio.a libkvfcore.a; do
	[ -f "$BUILD/$lib" ] || hard_error "$BUILD/$lib: build kvfence first (make)"
done
# shellcheck disable=SC2046
gcc -O2 -Wall -I"$BUILD" -I"$TOP/include" -o "$KVF_TMP/dump-race" "$BENCH_DIR/dump-race.c" \
	"$BUILD/libkvfio.a" "$BUILD/libkvfcore.a" \
	$(pkg-config --libs libnftnl libmnl libcares jansson) ||
	hard_error "cannot build dump-race"

gen() {	# FIRST-OCTET: N elements with comments, one per line
	local i
	for ((i = 0; i < N; i++)); do
		printf '%d.%d.%d.%d . 443 comment "host%05d.example.com",\n' "$1" \
			$((i / 62500 % 250)) $((i / 250 % 250)) $((i % 250 + 1)) "$i"
	done
}
cd "$KVF_TMP" || hard_error "cd $KVF_TMP"
gen 198 > a
gen 203 > b
{ echo "add element inet t s {"; cat a; echo "}"; } > add-a.nft
for x in a:b b:a; do
	{
		echo "delete element inet t s {"; sed 's/ comment.*/,/' "${x%:*}"; echo "}"
		echo "add element inet t s {"; cat "${x#*:}"; echo "}"
	} > "${x%:*}2${x#*:}.nft"
done
nft add table inet t && nft add set inet t s '{ type ipv4_addr . inet_service; }' &&
	nft -f add-a.nft || hard_error "cannot create and fill the set"

writer() {
	local end=$((SECONDS + SECS)) k=0
	while [ $SECONDS -lt "$end" ]; do
		k=$((k + 1))
		if [ $((k % 2)) = 1 ]; then nft -f a2b.nft; else nft -f b2a.nft; fi
	done
	echo "writer: $k transactions of $N deletes and $N adds" >&2
}
writer &
kvf_bg_register $!
echo "reader (kvfence's nftread_elems), N=$N, ${SECS}s:"
"$KVF_TMP/dump-race" t s "$N" "$SECS" 2> reader.err
wait
sed 's/^/  /' reader.err | head -n 20 >&2
