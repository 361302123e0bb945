#!/bin/bash
# Configurations that must not be used are refused with exit 78 and a
# message naming the file (and line) and the reason, before anything
# touches the kernel: a world-writable file (main or included), one owned
# by another non-root user, an include loop, binary garbage, a FIFO met
# through an include glob, a file over the 16 MiB cap. A 10 MiB file is parsed or refused within seconds: of
# comments it is valid; of `host` lines it must not take minutes (a
# linear duplicate check per line is quadratic).
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" -- "$@"

d=$KVF_TMP/etc
mkdir -m 0755 "$d" || hard_error "mkdir $d"
good() { printf 'vault contoso-prod\n'; kvf_conf_base; }

# refused NAME FILE ERE: `kvfence sync` exits 78, its stderr matches ERE,
# and the kernel's ruleset is still empty.
refused() {
	kvf_run "$1" -c "$2" sync
	expect_rc "$KVF_EX_CONFIG" "$1"
	assert_grep "$KVF_TMP/$1.err" "$3" "$1: the message does not say what is wrong"
	[ -z "$(nft list ruleset)" ] || fail "$1: the kernel's ruleset was touched"
}

# 1. World-writable, the main file and an included one.
good > "$d/ww.conf"
chmod 0666 "$d/ww.conf"
refused world-writable "$d/ww.conf" \
	"ww\.conf: writable by any user \(mode 666\); refusing it"
good > "$d/inc-target.conf"
chmod 0646 "$d/inc-target.conf"
{ good; printf 'include inc-target.conf\n'; } > "$d/inc-ww.conf"
refused included-world-writable "$d/inc-ww.conf" \
	"inc-ww\.conf:6: .*inc-target\.conf: writable by any user \(mode 646\)"

# 2. Owned by another non-root user.
good > "$d/nobody.conf"
chown nobody "$d/nobody.conf" 2>/dev/null || chown 65534 "$d/nobody.conf" ||
	hard_error "cannot chown a file"
refused other-owner "$d/nobody.conf" \
	"nobody\.conf: owned by uid [0-9]+, neither root nor this user; refusing it"

# 3. An include loop through two files, and a file including itself.
{ good; printf 'include loop-b.conf\n'; } > "$d/loop-a.conf"
printf 'graph-legacy no\ninclude loop-a.conf\n' > "$d/loop-b.conf"
refused include-loop "$d/loop-a.conf" \
	"loop-b\.conf:2: include loop: .*loop-a\.conf includes itself"
{ good; printf 'include self.conf\n'; } > "$d/self.conf"
refused include-self "$d/self.conf" "self\.conf:6: include loop: .*self\.conf includes itself"

# 4. Binary garbage: an executable (NUL bytes at once), then bytes
# without a NUL after a valid first line.
head -c 65536 "$KVFENCE" > "$d/elf.conf"
refused binary-nul "$d/elf.conf" "elf\.conf:1: binary data \(a NUL byte\) in a text file"
{ good; "$KVF_PYTHON" -c '
import random, sys
r = random.Random(5)
sys.stdout.buffer.write(bytes(r.randrange(0x80, 0x100) for _ in range(3000)))'; } > "$d/garbage.conf"
refused binary-high "$d/garbage.conf" "garbage\.conf:6: (unknown directive|line longer)"

# A FIFO matched by an include (a glob over conf.d can match one): refused
# as not a regular file, not waited on for ever (timeout: fail, not hang).
mkdir -m 0755 "$d/conf.d"
mkfifo -m 0644 "$d/conf.d/pipe.conf" || hard_error "mkfifo"
{ good; printf 'include conf.d/*.conf\n'; } > "$d/fifo.conf"
KVF_RC=0
timeout -s KILL 5 "$KVFENCE" -c "$d/fifo.conf" sync > /dev/null 2> "$KVF_TMP/fifo.err" || KVF_RC=$?
sed 's/^/  err: /' "$KVF_TMP/fifo.err" >&2
[ "$KVF_RC" -ne 137 ] || fail "an included FIFO: kvfence blocked opening it (killed after 5 s)"
expect_rc "$KVF_EX_CONFIG" "an included FIFO"
assert_grep "$KVF_TMP/fifo.err" "fifo\.conf:6: .*pipe\.conf: not a regular file" \
	"an included FIFO: the message does not say what is wrong"
[ -z "$(nft list ruleset)" ] || fail "an included FIFO: the kernel's ruleset was touched"

# 5. Over the 16 MiB cap: refused by size, without reading it.
{ good; head -c $((17 << 20)) /dev/zero | tr '\0' '#'; } > "$d/huge.conf"
refused over-16mib "$d/huge.conf" "huge\.conf: larger than 16 MiB; not a configuration file"

# 6. 10 MiB: of comments, a valid configuration; of host lines, parsed or
# refused (file:line) within the bound. `check` never touches the kernel.
"$KVF_PYTHON" - "$d" <<'PY' || hard_error "cannot write the 10 MiB configs"
import sys
d, size = sys.argv[1], 10 << 20
base = "vault contoso-prod\nresolver 127.0.0.1\n"
with open(d + "/comments.conf", "w") as f:
    f.write(base + ("#" + "x" * 78 + "\n") * ((size - len(base)) // 80))
with open(d + "/hosts.conf", "w") as f:
    out, n, i = [base], len(base), 0
    while n < size:
        line = "host h%d.example.com 443\n" % i
        out.append(line)
        n += len(line)
        i += 1
    f.write("".join(out))
PY
timed_check() {
	local name=$1 file=$2 limit=$3 start ms
	start=$(now_ms)
	KVF_RC=0
	timeout -s KILL "$limit" "$KVFENCE" -c "$file" check > /dev/null 2> "$KVF_TMP/$name.err" || KVF_RC=$?
	ms=$(( $(now_ms) - start ))
	sed 's/^/  err: /' "$KVF_TMP/$name.err" >&2
	kvf_log "$name: $(stat -c %s "$file") bytes, kvfence check: exit $KVF_RC in $ms ms"
	[ "$KVF_RC" -ne 137 ] || fail "$name: kvfence check took more than $limit s"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

timed_check ten-mib-comments "$d/comments.conf" 5
expect_rc 0 "a 10 MiB file of comments"
timed_check ten-mib-hosts "$d/hosts.conf" 10
case $KVF_RC in
0) ;;
"$KVF_EX_CONFIG")
	assert_grep "$KVF_TMP/ten-mib-hosts.err" "hosts\.conf:[0-9]+: " \
		"a refused 10 MiB file names no file:line" ;;
*) fail "a 10 MiB file of host lines: exit code $KVF_RC" ;;
esac
[ -z "$(nft list ruleset)" ] || fail "the kernel's ruleset was touched"
exit 0
