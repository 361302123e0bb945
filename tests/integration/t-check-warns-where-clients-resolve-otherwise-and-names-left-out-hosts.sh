#!/bin/bash
# `kvfence check` warns when `resolver` names servers that are not
# /etc/resolv.conf's (clients ask those) and when /etc/hosts pins a
# catalogue host (clients use it; kvfence ignores /etc/hosts by design);
# it says nothing when they agree. It prints one line per host of the cloud
# the config leaves out, with who needs it, and the platform lines the
# printed rules will hold. /etc/resolv.conf and /etc/hosts are
# bind-mounted in the test's own mount namespace.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
kvf_netns_enter "$@"
kvf_tmpdir

printf '# test\nsearch example.com\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n' \
	> "$KVF_TMP/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$KVF_TMP/hosts"
mount --bind "$KVF_TMP/resolv.conf" /etc/resolv.conf || hard_error "cannot bind-mount /etc/resolv.conf"
mount --bind "$KVF_TMP/hosts" /etc/hosts || hard_error "cannot bind-mount /etc/hosts"

check() {	# NAME DIRECTIVES...: kvfence check of a config of these lines
	local name=$1
	shift
	{
		printf '%s\n' "$@"
		kvf_conf_base | grep -v '^resolver'
	} > "$KVF_TMP/$name.conf"
	kvf_run "$name" -c "$KVF_TMP/$name.conf" check
	expect_rc 0 "check ($name)"
}

# Agreeing: the same servers (any order), or resolver system; no pin.
check same 'vault contoso-prod' 'resolver 2001:db8::53 192.0.2.53'
assert_no_grep "$KVF_TMP/same.out" '^warning' "check warns though resolver and resolv.conf agree"
check system 'vault contoso-prod' 'resolver system'
assert_no_grep "$KVF_TMP/system.out" '^warning' "check warns with resolver system"

# Another server than the clients'.
check other 'vault contoso-prod' 'resolver 192.0.2.53 198.51.100.53'
assert_grep "$KVF_TMP/other.out" \
	'^warning: resolver 198\.51\.100\.53 is not a name server of /etc/resolv\.conf \(192\.0\.2\.53 2001:db8::53\)' \
	"no warning for a resolver that is not in /etc/resolv.conf"
assert_no_grep "$KVF_TMP/other.out" 'resolver 192\.0\.2\.53 is not' \
	"a warning for a resolver that is in /etc/resolv.conf"

# /etc/hosts pins the vault (mixed case, trailing dot) and the sign-in host.
printf '127.0.0.1 localhost\n# 10.9.9.9 contoso-prod.vault.azure.net\n203.0.113.5 Contoso-Prod.vault.azure.net.\n192.0.2.9 sso login.microsoftonline.com\n' \
	> "$KVF_TMP/hosts"
check pinned 'vault contoso-prod' 'resolver system'
assert_grep "$KVF_TMP/pinned.out" \
	'^warning: /etc/hosts:3: 203\.0\.113\.5 contoso-prod\.vault\.azure\.net: clients on this host use this entry, but kvfence ignores /etc/hosts' \
	"no warning for /etc/hosts pinning the vault"
assert_grep "$KVF_TMP/pinned.out" '^warning: /etc/hosts:4: 192\.0\.2\.9 login\.microsoftonline\.com' \
	"no warning for /etc/hosts pinning the sign-in host"
[ "$(grep -c '^warning' "$KVF_TMP/pinned.out")" -eq 2 ] ||
	fail "check warns about more than the two pinned hosts"
printf '127.0.0.1 localhost\n' > "$KVF_TMP/hosts"

# What is left out, one line per host, and who needs it.
check public 'vault contoso-prod'
assert_grep "$KVF_TMP/public.out" \
	'^left out: login\.windows\.net \(auth-aliases no\): needed only by legacy ADAL-based clients' \
	"public defaults: login.windows.net not reported left out"
assert_grep "$KVF_TMP/public.out" '^left out: login\.live\.com \(microsoft-account no\)' \
	"public defaults: login.live.com not reported left out"
assert_grep "$KVF_TMP/public.out" \
	'^platform azure: the printed rules accept loopback, IMDS 169\.254\.169\.254 TCP 80 and the WireServer 168\.63\.129\.16 TCP 80, 32526' \
	"check does not say which platform lines the rules hold"
check public-all 'vault contoso-prod' 'auth-aliases yes' 'microsoft-account yes' 'platform none'
assert_no_grep "$KVF_TMP/public-all.out" '^left out' "public with everything on still leaves hosts out"
assert_grep "$KVF_TMP/public-all.out" '^platform none: the printed rules accept loopback only' \
	"platform none not shown"

check usgov 'cloud usgov' 'instance-discovery no'
assert_grep "$KVF_TMP/usgov.out" \
	'^left out: login\.microsoftonline\.com \(instance-discovery no\): needed by MSAL\.NET and MSAL Java' \
	"usgov instance-discovery no: the global host not reported left out"
check usgov-default 'cloud usgov'
assert_grep "$KVF_TMP/usgov-default.out" '^  login\.microsoftonline\.com +443 +auth' \
	"usgov by default: no instance discovery host"
assert_no_grep "$KVF_TMP/usgov-default.out" '^left out: login\.microsoftonline\.com' \
	"usgov by default reports the global host left out"

check china 'cloud china'
assert_grep "$KVF_TMP/china.out" '^  login\.partner\.microsoftonline\.cn +443 +auth' \
	"china by default: no login.partner.microsoftonline.cn, the host MSAL contacts"
assert_grep "$KVF_TMP/china.out" '^  login\.chinacloudapi\.cn +443 +auth' "china: no login.chinacloudapi.cn"

check endpoints 'vault contoso-prod' 'endpoints vault'
assert_grep "$KVF_TMP/endpoints.out" '^left out: management\.azure\.com \(endpoints without management\)' \
	"endpoints vault: management not reported left out"
assert_grep "$KVF_TMP/endpoints.out" '^left out: crl3\.digicert\.com \(endpoints without crl\)' \
	"endpoints vault: crl hosts not reported left out"

# An imds-users name this host does not know: a warning naming file:line.
check users 'imds-users daemon no-such-user-kvf'
assert_grep "$KVF_TMP/users.out" \
	'^warning: .*users\.conf:1: imds-users: no user "no-such-user-kvf" on this host' \
	"an unknown imds-users name is not reported"
exit 0
