#!/bin/bash
# The metrics file catches a silent loss of enforcement: hosts failing
# now, the oldest good answer, refills after a foreign flush, elements
# added and removed, rejected answers by reason, the Service Tags file's
# date and change number, elements per set. Per-host series only with
# metrics-per-host yes. promtool (Debian's prometheus package) finds
# nothing to lint, and the counters never go down across SIGHUP.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
# shellcheck source=../lib/fakedns.sh
. "$TESTDIR/lib/fakedns.sh"
fakedns_require
kvf_netns_enter "$@"
kvf_tmpdir
command -v promtool >/dev/null ||
	fail "promtool is missing (Debian package prometheus; tools/install-deps installs it)"

fakedns_begin
fakedns_rule contoso-prod.vault.azure.net answer a=192.0.2.10 aaaa=2001:db8::10 ttl=60
fakedns_rule priv.example.com answer a=10.0.0.5,127.0.0.2,203.0.113.5 aaaa=fe80::1 ttl=60
fakedns_rule broken.example.com servfail
fakedns_commit
fakedns_start
tags=$KVF_TMP/tags
mkdir -p "$tags"
cp "$TESTDIR/data/service-tags/ServiceTags_Public_20990101.json" "$tags/"
prom=$KVF_TMP/kvfence.prom
conf=$KVF_TMP/kvfence.conf
write_conf() {
	{
		printf 'vault contoso-prod\nendpoints vault\nrefresh-min 30s\n'
		printf 'host priv.example.com 443\nhost broken.example.com 443\n'
		printf 'service-tags %s/ServiceTags_Public_*.json AzureKeyVault\n' "$tags"
		kvf_conf_base | grep -v metrics-file
		printf 'metrics-file %s\n' "$prom"
		printf '%s\n' "$@"
	} > "$conf"
}
write_conf
kvf_agent_start -c "$conf"

metric() { awk -v k="$1" '$1 == k { print $2 }' "$prom"; }
settled() { [ "$(metric kvfence_hosts_failing)" = 1 ] &&
	    [ "$(metric 'kvfence_rejected_addresses_total{reason="private"}')" -ge 1 ] &&
	    [ "$(metric 'kvfence_set_elements{family="inet",table="filter",set="kvfence4",kind="hosts"}')" = 2 ]; }
wait_until 10 settled || { cat "$prom" >&2; fail "the metrics never showed the answers, the rejection and the failure"; }

lint() { promtool check metrics < "$1" > "$KVF_TMP/lint" 2>&1; }
lint "$prom" || { cat "$KVF_TMP/lint" >&2; fail "promtool check metrics finds problems"; }
# The lint can fail: a counter without _total is caught.
sed 's/^kvfence_refills_total/kvfence_refills/; s/ kvfence_refills_total / kvfence_refills /' "$prom" > "$KVF_TMP/bad.prom"
! lint "$KVF_TMP/bad.prom" || fail "promtool accepted a counter without _total"

grep -qx "kvfence_build_info{version=\"$("$KVFENCE" -V | cut -d' ' -f2)\"} 1" "$prom" ||
	fail "no kvfence_build_info with the version"
[ "$(metric 'kvfence_rejected_addresses_total{reason="loopback"}')" -ge 1 ] || fail "loopback rejection not counted"
[ "$(metric 'kvfence_rejected_addresses_total{reason="link_local"}')" -ge 1 ] || fail "link-local rejection not counted"
[ "$(metric 'kvfence_rejected_addresses_total{reason="cap"}')" = 0 ] || fail "a cap was counted"
[ "$(metric kvfence_hosts)" = 3 ] || fail "kvfence_hosts"
[ "$(metric kvfence_hosts_unanswered)" = 1 ] || fail "kvfence_hosts_unanswered is not 1 (broken.example.com)"
oldest=$(metric kvfence_oldest_answer_timestamp_seconds)
[ "$oldest" -gt $(( $(date +%s) - 60 )) ] || fail "kvfence_oldest_answer_timestamp_seconds $oldest"
[ "$(metric 'kvfence_set_elements{family="inet",table="filter",set="kvfence4r",kind="ranges"}')" = 2 ] ||
	fail "no element count of the range set"
file="$tags/ServiceTags_Public_20990101.json"
[ "$(metric "kvfence_service_tags_change_number{file=\"$file\"}")" = 42 ] || fail "no Service Tags change number"
[ "$(metric "kvfence_service_tags_file_timestamp_seconds{file=\"$file\"}")" = "$(date -u -d 2099-01-01 +%s)" ] ||
	fail "no Service Tags file date"
! grep -q '^kvfence_host_' "$prom" || fail "per-host series without metrics-per-host"
added0=$(metric kvfence_elements_added_total)
# 2+1 host elements, 2+1 ranges
[ "$added0" = 6 ] || fail "kvfence_elements_added_total is $added0, expected 6"
[ "$(metric kvfence_refills_total)" = 0 ] || fail "a refill counted before any flush"

# A foreign flush: refilled at once, and counted.
nft flush set inet filter kvfence4
refilled() { [ "$(metric kvfence_refills_total)" = 1 ] && [ "$(metric kvfence_elements_added_total)" = $((added0 + 2)) ]; }
wait_until 10 refilled || { cat "$prom" >&2; fail "the refill after a flush is not counted"; }
grep '_total' "$prom" | grep -v '^#' > "$KVF_TMP/before"

# SIGHUP: per-host series on; the counters carry on from where they were.
write_conf 'metrics-per-host yes'
kill -HUP "$KVF_AGENT_PID"
per_host() { grep -q '^kvfence_host_failing{host="broken.example.com"} 1$' "$prom"; }
wait_until 10 per_host || fail "metrics-per-host yes wrote no per-host series"
lint "$prom" || { cat "$KVF_TMP/lint" >&2; fail "promtool finds problems with per-host series"; }
grep -q '^kvfence_host_last_answer_timestamp_seconds{host="contoso-prod.vault.azure.net"} [1-9]' "$prom" ||
	fail "no last-answer timestamp of a host"
while read -r key before; do
	after=$(metric "$key")
	[ -n "$after" ] && [ "$after" -ge "$before" ] ||
		fail "counter $key went from $before to ${after:-nothing} across SIGHUP"
done < "$KVF_TMP/before"
kvf_log "series: $(grep -vc '^#' "$prom") with metrics-per-host yes, 3 hosts"
sed 's/^/  prom: /' "$prom" >&2
start0=$(metric kvfence_start_time_seconds)
kvf_agent_stop TERM

# A restart starts the counters at 0, and says when.
kvf_agent_start -c "$conf"
restarted() { [ "$(metric kvfence_start_time_seconds)" -ge "$start0" ] &&
	      [ "$(metric kvfence_reconciles_total)" -ge 1 ] &&
	      [ "$(metric kvfence_reconciles_total)" -lt "$(awk '$1 == "kvfence_reconciles_total" { print $2 }' "$KVF_TMP/before")" ]; }
wait_until 10 restarted || fail "after a restart the counters do not start again"
[ "$(metric kvfence_refills_total)" = 0 ] || fail "kvfence_refills_total survived a restart"
kvf_agent_stop TERM
exit 0
