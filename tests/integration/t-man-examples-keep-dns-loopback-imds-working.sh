#!/bin/bash
# Every nftables ruleset in the examples of kvfence(8) and kvfence.conf(5)
# (each literal display starting with "table"), taken from the man page
# sources so the pages cannot drift: it loads in a client namespace, a sync
# fills its sets, and behind it DNS (UDP 53), loopback (Azure Arc's
# 127.0.0.1:40342) and IMDS (169.254.169.254:80) work, the vault works, and
# another address on 443 is blocked.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/egress.sh
. "$TESTDIR/lib/egress.sh"
kvf_netns_enter "$@"
kvf_tmpdir
egress_setup
egress_zone "$KVF_TMP/root.zone"
dns_start "$KVF_TMP/root.zone"

man=$TESTDIR/../man
mkdir -p "$KVF_TMP/ex"
# Each .Bd -literal block whose first line starts with "table", roff
# escapes undone, as ex/PAGE-N.nft.
"$KVF_PYTHON" - "$KVF_TMP/ex" "$man/kvfence.8" "$man/kvfence.conf.5" <<-'PY' ||
	import os, sys
	out = sys.argv[1]
	for page in sys.argv[2:]:
	    block, n = None, 0
	    for line in open(page, encoding="utf-8"):
	        line = line.rstrip("\n")
	        if line.startswith(".Bd -literal"):
	            block = []
	        elif line.startswith(".Ed") and block is not None:
	            if block and block[0].startswith("table "):
	                n += 1
	                text = "\n".join(block) + "\n"
	                for a, b in (("\\-", "-"), ("\\&", ""), ("\\(dq", '"'), ("\\e", "\\")):
	                    text = text.replace(a, b)
	                name = "%s-%d.nft" % (os.path.basename(page), n)
	                open(os.path.join(out, name), "w").write(text)
	            block = None
	        elif block is not None:
	            block.append(line)
	PY
	hard_error "cannot extract the examples"
for page in kvfence.8 kvfence.conf.5; do
	ls "$KVF_TMP/ex/$page"-*.nft > /dev/null 2>&1 || fail "no ruleset example found in man/$page"
done

for ex in "$KVF_TMP"/ex/*.nft; do
	what=$(basename "$ex" .nft)
	read -r _ family table _ < "$ex"
	{
		printf 'vault contoso-prod\nendpoints vault\ntable %s %s\n' "$family" "$table"
		egress_conf_base
	} > "$KVF_TMP/$what.conf"
	in_client nft flush ruleset || hard_error "nft flush ruleset in the client"
	in_client nft -f "$ex" || { cat "$ex" >&2; fail "$what: the example does not load"; }
	kvf_run_client "sync-$what" -c "$KVF_TMP/$what.conf" sync
	expect_rc 0 "$what: sync into the example's sets"
	expect_dns "$what"
	expect_tcp 127.0.0.1 40342 open "$what: loopback (Azure Arc's managed identity)"
	expect_tcp "$EGRESS_IMDS" 80 open "$what: IMDS"
	expect_tcp "$EGRESS_VAULT4" 443 open "$what: the vault"
	expect_tcp "$EGRESS_OTHER4" 443 blocked "$what: an address in no set"
done
exit 0
