#!/bin/bash
# `vault NAME private`: a vault reached through Private Link whose name
# resolves, through privatelink.vaultcore.azure.net, to a public address
# (the DNS misconfiguration Microsoft's Private Link troubleshooting lists
# first) gets no element for that address: it is refused (fail closed),
# logged once per address however often DNS repeats it, and shown in
# status.json, `kvfence status` and the metrics file. A private vault whose
# chain ends on a private address, and a vault not said to be private
# answering a public address, are filled as usual. When DNS is fixed the
# refusal clears. A vault a reload declares private loses the public
# address it held at its next answer, whatever the grace.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
# shellcheck source=../lib/common.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/common.sh"
# shellcheck source=../lib/agent.sh
. "$TESTDIR/lib/agent.sh"
kvf_netns_enter "$@"
kvf_tmpdir

write_zone() {	# the address plbad's chain ends on: public, then fixed
	zone_begin "$KVF_TMP/root.zone" 1
	zone_chain 1 plgood.vault.azure.net plgood.privatelink.vaultcore.azure.net
	zone_addrs plgood.privatelink.vaultcore.azure.net 1 10.20.30.40 fd00::40
	zone_chain 1 plbad.vault.azure.net plbad.privatelink.vaultcore.azure.net "$1"
	zone_addrs data-prod-weu.vaultcore.azure.net 1 203.0.113.7 2001:db8::7
	zone_addrs plbad-fixed.privatelink.vaultcore.azure.net 1 10.20.30.41
	zone_addrs pub.vault.azure.net 1 203.0.113.8
}
write_zone data-prod-weu.vaultcore.azure.net
dns_start "$KVF_TMP/root.zone"

conf=$KVF_TMP/kvfence.conf
{
	printf 'vault pub\nvault plgood plbad private\nendpoints vault\nrefresh-min 1s\ngrace none\n'
	kvf_conf_base | grep -v metrics-file
	printf 'metrics-file %s/kvfence.prom\n' "$KVF_TMP"
} > "$conf"

kvf_run check -c "$conf" check
assert_grep "$KVF_TMP/check.out" 'plbad\.vault\.azure\.net +443 +vault \(private: public answers refused\)' \
	"check does not show plbad as private"
assert_no_grep "$KVF_TMP/check.out" 'pub\.vault\.azure\.net .*private' "check shows pub as private"

kvf_agent_start -c "$conf"
refused() { [ "$(status_get "[h for h in s['hosts'] if h['name'] == 'plbad.vault.azure.net'][0]['private_link']['public_refused']")" = "$1" ]; }
wait_until 10 refused "['203.0.113.7', '2001:db8::7']" ||
	fail "status.json does not show plbad's two public addresses refused: $(cat "$KVF_TMP/status.json")"

cat > "$KVF_TMP/want4" <<-'EOF'
	10.20.30.40 . 443 comment "plgood.vault.azure.net"
	203.0.113.8 . 443 comment "pub.vault.azure.net"
EOF
printf 'fd00::40 . 443 comment "plgood.vault.azure.net"\n' > "$KVF_TMP/want6"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
assert_set_elems inet filter kvfence6 "$KVF_TMP/want6"
[ "$(status_get "[h for h in s['hosts'] if h['name'] == 'plgood.vault.azure.net'][0]['private_link']['public_refused']")" = "[]" ] ||
	fail "status.json: plgood, answering privately, shows refused addresses"
[ "$(status_get "'private_link' in [h for h in s['hosts'] if h['name'] == 'pub.vault.azure.net'][0]")" = False ] ||
	fail "status.json: pub, not private, has a private_link field"

# DNS repeats the public answer every second: still one warning per address.
first=$(status_host_field plbad.vault.azure.net last_answer_unix)
later() { [ "$(status_host_field plbad.vault.azure.net last_answer_unix)" -ge $((first + 2)) ]; }
wait_until 10 later || fail "plbad was not resolved again within 10 s"
for a in 203.0.113.7 2001:db8::7; do
	n=$(grep -c "host plbad.vault.azure.net: private (Private Link), but DNS answered the public address $a: refused" "$KVF_TMP/agent.err")
	[ "$n" -eq 1 ] || fail "the refusal of $a was logged $n times, expected once"
done
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"

prom=$KVF_TMP/kvfence.prom
prom_has() { grep -qx "$1" "$prom"; }
wait_until 10 prom_has 'kvfence_private_link_public_addresses{host="plbad.vault.azure.net"} 2' ||
	fail "metrics: no kvfence_private_link_public_addresses 2 for plbad"
prom_has 'kvfence_private_link_public_addresses{host="plgood.vault.azure.net"} 0' ||
	fail "metrics: no kvfence_private_link_public_addresses 0 for plgood"
! grep -q 'kvfence_private_link_public_addresses{host="pub' "$prom" ||
	fail "metrics: a private link series for pub, not private"
! /usr/bin/python3 -c 'import jsonschema' 2>/dev/null || status_validate ||
	fail "status.json with private_link does not follow the schema"
kvf_run status -c "$conf" status
assert_grep "$KVF_TMP/status.out" '203\.0\.113\.7 +refused: public, but the host is private' \
	"kvfence status does not show the refused address"

# DNS fixed: the chain ends on a private address; the refusal clears.
write_zone plbad-fixed.privatelink.vaultcore.azure.net
dns_reload
wait_until 10 refused "[]" || fail "status.json still shows refused addresses after DNS was fixed"
printf '10.20.30.41 . 443 comment "plbad.vault.azure.net"\n' >> "$KVF_TMP/want4"
assert_set_elems inet filter kvfence4 "$KVF_TMP/want4"
kvf_agent_stop TERM

# A vault held publicly (grace 1h) that a reload declares private loses
# its public address at its next answer, not after the grace.
write_zone data-prod-weu.vaultcore.azure.net
dns_reload
pubconf() {	# the vault line
	{
		printf '%s\nendpoints vault\nrefresh-min 1s\ngrace 1h\n' "$1"
		kvf_conf_base
	} > "$KVF_TMP/grace.conf"
}
pubconf 'vault plbad'
kvf_agent_start -c "$KVF_TMP/grace.conf"
has_public() { set_elems inet filter kvfence4 | grep -q '^203\.0\.113\.7 \. 443 '; }
wait_until 10 has_public || fail "plbad, not yet private, did not get its public address"
pubconf 'vault plbad private'
kill -HUP "$KVF_AGENT_PID"
wait_until 10 eval '! has_public' ||
	fail "plbad, now private, kept its public address (grace 1h) after the reload"
kvf_agent_stop TERM
exit 0
