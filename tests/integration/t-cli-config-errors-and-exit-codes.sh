#!/bin/bash
# The command line keeps its contract: --help and --version exit 0; an
# unknown command or option exits 64; a config error (typo'd directive, bad
# value, duplicate, missing file, an address in a host line) exits 78 with `FILE:LINE: reason` for every
# command that reads the config; `check` accepts a good config and leaves
# the kernel untouched; `endpoints` prints the hostnames, ports and
# functions of the catalogue for cloud public.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

# --help, --version
kvf_run help --help
expect_rc 0 "--help"
assert_grep "$KVF_TMP/help.out" 'usage' "--help prints no usage on stdout"
for c in sync check endpoints rules run status; do
	assert_grep "$KVF_TMP/help.out" "\\b$c\\b" "--help does not list $c"
done
kvf_run version --version
expect_rc 0 "--version"
assert_grep "$KVF_TMP/version.out" '^kvfence [0-9]' "--version prints no version"

# Usage errors: 64.
good=$KVF_TMP/good.conf
{
	printf '# a good config\ncloud public\nvault contoso-prod\n'
	kvf_conf_base
} > "$good"
kvf_run unknown -c "$good" frobnicate
expect_rc "$KVF_EX_USAGE" "an unknown command"
assert_grep "$KVF_TMP/unknown.err" 'frobnicate' "the unknown command is not named"
kvf_run nocmd -c "$good"
expect_rc "$KVF_EX_USAGE" "no command"
kvf_run badopt --no-such-option check
expect_rc "$KVF_EX_USAGE" "an unknown option"
kvf_run badarg -c "$good" sync --no-such-flag
expect_rc "$KVF_EX_USAGE" "sync with an unknown argument"
kvf_run badhook -c "$good" rules --hook input
expect_rc "$KVF_EX_USAGE" "rules --hook input"

# Config errors: 78 and FILE:LINE: for each command that reads the config.
conf_error() {	# $1: name, $2: expected line, stdin: the config
	local f=$KVF_TMP/$1.conf cmd
	cat > "$f"
	for cmd in check endpoints sync rules; do
		kvf_run "$1-$cmd" -c "$f" "$cmd"
		expect_rc "$KVF_EX_CONFIG" "$cmd with $1"
		assert_grep "$KVF_TMP/$1-$cmd.err" "^$f:$2: " \
			"$cmd with $1 does not print $f:$2:"
	done
}
printf 'cloud public\nvault contoso-prod\nvualt contoso-dev\n' | conf_error typo 3
assert_grep "$KVF_TMP/typo-check.err" 'vualt' "the typo'd directive is not named"
printf 'cloud public\n\n# comment\nrefresh-min 30x\n' | conf_error badvalue 4
printf 'cloud public\ncloud china\n' | conf_error duplicate 2
printf 'cloud mars\n' | conf_error badcloud 1
printf 'allow-private maybe\n' | conf_error badprivate 1
# An address is no host name: refused, never sent to DNS as one.
printf 'cloud public\nhost 198.51.100.7 443\n' | conf_error hostaddr 2
assert_grep "$KVF_TMP/hostaddr-check.err" 'an address, not a host name' \
	"an IP literal in a host line is not called an address"
printf 'host 127.1 443\n' | conf_error hostshort 1

kvf_run missing -c "$KVF_TMP/no-such.conf" check
expect_rc "$KVF_EX_CONFIG" "check with a missing config file"
assert_grep "$KVF_TMP/missing.err" 'no-such\.conf' "the missing file is not named"

# check: valid, exit 0, and nothing in the kernel.
kvf_run check -c "$good" check
expect_rc 0 "check on a good config"
assert_grep "$KVF_TMP/check.out" 'contoso-prod\.vault\.azure\.net' "check's plan lacks the vault"
[ -z "$(nft list ruleset)" ] || fail "check touched the kernel: $(nft list ruleset)"
kvf_run dry -c "$good" sync --dry-run
[ -z "$(nft list ruleset)" ] || fail "sync --dry-run touched the kernel: $(nft list ruleset)"

# endpoints for cloud public, vault contoso-prod, all functions.
endpoints_of() {	# $1: name; stdin: config lines; prints normalised output
	{
		cat
		kvf_conf_base
	} > "$KVF_TMP/$1.conf"
	kvf_run "$1" -c "$KVF_TMP/$1.conf" endpoints
	expect_rc 0 "endpoints ($1)"
	awk '{ $1 = $1; print }' "$KVF_TMP/$1.out" | LC_ALL=C sort > "$KVF_TMP/$1.got"
}
expect_endpoints() {	# $1: name; stdin: expected lines
	LC_ALL=C sort > "$KVF_TMP/$1.want"
	if ! cmp -s "$KVF_TMP/$1.want" "$KVF_TMP/$1.got"; then
		diff -u "$KVF_TMP/$1.want" "$KVF_TMP/$1.got" | tail -n +3 >&2
		fail "endpoints ($1) does not print the expected hosts"
	fi
}
crl='cacerts.digicert.com 80 crl
cacerts.digicert.cn 80 crl
cacerts.geotrust.com 80 crl
caissuers.microsoft.com 80 crl
www.microsoft.com 80 crl
crl3.digicert.com 80 crl
crl4.digicert.com 80 crl
crl.digicert.cn 80 crl
ocsp.digicert.com 80 crl
ocsp.digicert.cn 80 crl
oneocsp.microsoft.com 80 crl'

printf 'cloud public\nvault contoso-prod\n' | endpoints_of public
expect_endpoints public <<-EOF
	login.microsoftonline.com 443 auth
	management.azure.com 443 management
	graph.microsoft.com 443 graph
	contoso-prod.vault.azure.net 443 vault
	$crl
EOF

printf 'cloud public\nvault contoso-prod\nmicrosoft-account yes\nendpoints auth vault\nhost adfs.contoso.example 443\nhost www.microsoft.com 443\n' |
	endpoints_of msa
expect_endpoints msa <<-'EOF'
	login.microsoftonline.com 443 auth
	login.live.com 443 auth
	contoso-prod.vault.azure.net 443 vault
	adfs.contoso.example 443 host
	www.microsoft.com 443 host
EOF
exit 0
