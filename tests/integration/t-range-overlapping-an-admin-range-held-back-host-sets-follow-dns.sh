#!/bin/bash
# A Service Tags range that overlaps a range in kvfence4r that is not
# kvfence's (an administrator's, or kvfence's own after a lost state
# file) is not added: the kernel refuses overlapping ranges, and the one
# transaction for every set would fail with it, over and over, leaving
# the host sets behind DNS. It is logged once, counted, and the host
# sets are filled and keep following DNS; the administrator's range is
# left as it is.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" agent -- "$@"

tags=$KVF_TMP/tags
tags_beside_admin_range "$tags"
kvf_vault_with_tags "$tags" AzureKeyVault "metrics-file $KVF_TMP/metrics.prom"
zone=$KVF_TMP/root.zone conf=$KVF_TMP/kvfence.conf

kvf_agent_start -c "$conf"
has4() { set_elems inet filter kvfence4 2>/dev/null | grep -qF "$1 . 443 "; }
wait_until 10 has4 192.0.2.10 ||
	fail "the host set was not filled beside a range overlapping the administrator's"
printf '%s\n%s\n' "$KVF_RANGE_OURS" "$KVF_ADMIN_RANGE" > "$KVF_TMP/want4r"
assert_set_elems inet filter kvfence4r "$KVF_TMP/want4r"

# DNS moves the host: the host set follows, and the held range is not
# logged again at each reconcile.
zone_begin "$zone" 1
zone_addrs contoso-prod.vault.azure.net 1 192.0.2.11
dns_reload
wait_until 10 has4 192.0.2.11 || fail "the host set stopped following DNS"
assert_set_elems inet filter kvfence4r "$KVF_TMP/want4r"
wait_until 10 grep -q '^kvfence_ranges_held_total 1$' "$KVF_TMP/metrics.prom" ||
	fail "the held range is not counted once in the metrics"
kvf_agent_stop TERM
[ "$KVF_AGENT_RC" -eq 0 ] || fail "agent exit $KVF_AGENT_RC"
held='kvfence4r: range 203\.0\.113\.128/25 not added: it overlaps a range that is not in kvfence.s record'
[ "$(grep -c "$held" "$KVF_TMP/agent.err")" -eq 1 ] ||
	fail "the held range is not logged exactly once"
exit 0
