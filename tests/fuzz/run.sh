#!/bin/bash
# Build the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# straight from the sources, then run each for SECONDS (default 60) on its
# seed corpus. Not part of `make check`; CI runs it with the default.
#
#   tests/fuzz/run.sh [SECONDS]
#
# Environment: CC (default clang-14, else clang), FUZZ_OUT (build and
# working corpus, default a temporary directory, removed at exit),
# FUZZ_JOBS (parallel targets, default 2), BUILDDIR (where ./configure
# wrote autoconfig.h; default the source tree). New inputs go into a copy
# of the seed corpus: the repository's seeds stay small and reviewed.
# Exit 0 when no target found anything, 1 otherwise (the crashing input
# is kept in FUZZ_OUT and printed).
set -u
SECONDS_EACH=${1:-60}
case $SECONDS_EACH in
''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 64 ;;
esac

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILDDIR=${BUILDDIR:-$TOP}
CC=${CC:-$(command -v clang-14 || command -v clang)}
[ -n "$CC" ] || { echo "$0: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 77; }

KEEP_OUT=${FUZZ_OUT:+1}
OUT=${FUZZ_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/kvfence-fuzz.XXXXXX")}
mkdir -p "$OUT"
PIDS=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[ -n "$KEEP_OUT" ] || [ "${FOUND:-0}" -ne 0 ] || rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

# autoconfig.h from configure if there is one; the sources need little of it.
if [ -f "$BUILDDIR/autoconfig.h" ]; then
	CONFDIR=$BUILDDIR
else
	CONFDIR=$OUT
	printf '#define _GNU_SOURCE 1\n' > "$OUT/autoconfig.h"
fi

PKGS="libcares libnftnl libmnl jansson"
# shellcheck disable=SC2207,SC2086,SC2054 # pkg-config prints words; commas in -fsanitize
FLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -I"$CONFDIR" -I"$TOP/include"
	-DLOCALSTATEDIR='"/var"' -DRUNSTATEDIR='"/run"' -DSYSCONFDIR='"/etc"'
	$(pkg-config --cflags $PKGS))
# shellcheck disable=SC2207,SC2086
LIBS=($(pkg-config --libs $PKGS))

CORE="util log addr config conffile nameindex addrfilter result"
# build TARGET MODULE...: tests/fuzz/TARGET.c with src/MODULE.c.
build() {
	local target=$1 srcs=() m
	shift
	for m in "$@"; do srcs+=("$TOP/src/$m.c"); done
	"$CC" "${FLAGS[@]}" -o "$OUT/$target" "$HERE/$target.c" "${srcs[@]}" "${LIBS[@]}" ||
		{ echo "$0: building $target failed" >&2; exit 99; }
}
# shellcheck disable=SC2086
build fuzz_config $CORE
# shellcheck disable=SC2086
build fuzz_answer $CORE answer
# shellcheck disable=SC2086
build fuzz_dnsmsg $CORE dnsmsg
# shellcheck disable=SC2086
build fuzz_servicetags $CORE range servicetags

FOUND=0
run() {
	local target=$1 corpus=$2 dict=()
	[ ! -f "$HERE/$corpus.dict" ] || dict=(-dict="$HERE/$corpus.dict")
	mkdir -p "$OUT/corpus-$corpus" "$OUT/artifacts-$target"
	cp "$HERE/corpus/$corpus/"* "$OUT/corpus-$corpus/" 2>/dev/null
	"$OUT/$target" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$OUT/artifacts-$target/" \
		"$OUT/corpus-$corpus" > "$OUT/$target.log" 2>&1
}
run fuzz_config config & PIDS+=($!)
run fuzz_answer answer & PIDS+=($!)
run fuzz_dnsmsg dnsmsg & PIDS+=($!)
run fuzz_servicetags servicetags & PIDS+=($!)
for i in "${!PIDS[@]}"; do wait "${PIDS[$i]}"; done
PIDS=()

for target in fuzz_config fuzz_answer fuzz_dnsmsg fuzz_servicetags; do
	echo "== $target ($SECONDS_EACH s)"
	# The last status line and the final statistics.
	grep -E '^#[0-9]+.*(pulse|DONE|NEW|REDUCE)' "$OUT/$target.log" | tail -n 1
	grep -E '^stat::' "$OUT/$target.log"
	if ls "$OUT/artifacts-$target/"* >/dev/null 2>&1; then
		FOUND=1
		grep -E 'ERROR|SUMMARY|runtime error' "$OUT/$target.log" | head -n 5
		ls "$OUT/artifacts-$target/"*
	fi
done
[ "$FOUND" -eq 0 ] || { echo "$0: findings kept in $OUT" >&2; exit 1; }
exit 0
