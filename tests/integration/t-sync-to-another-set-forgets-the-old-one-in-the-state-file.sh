#!/bin/bash
# A `kvfence sync` that moves kvfence to another set empties the old set of
# kvfence's elements and forgets it in the state file's record: later an
# element the administrator writes there with the same key and comment is
# the administrator's, and neither `kvfence sync` nor `kvfence clear`
# removes it. (The sync writes the record ahead of its batch; dropping the
# old set's record must still reach the file after the batch.)
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" -- "$@"

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_addrs contoso-prod.vault.azure.net 60 192.0.2.10
conf=$KVF_TMP/kvfence.conf
write_conf() {	# SET4
	{
		printf 'vault contoso-prod\nendpoints vault\nset6 none\nset4 %s\n' "$1"
		kvf_conf_base
	} > "$conf"
}
elem='192.0.2.10 . 443 comment "contoso-prod.vault.azure.net"'
has() { set_elems inet filter "$1" | grep -qxF -- "$elem"; }

dns_start "$zone"
write_conf kvfence4
kvf_run first -c "$conf" sync
expect_rc 0 "the first sync"
has kvfence4 || fail "the first sync did not fill kvfence4"
grep -q "^set inet filter kvfence4" "$KVF_TMP/state" || fail "the record lacks kvfence4"

# To another set, one the administrator made (a set kvfence creates is a
# second reason to write the file): elements added there (written ahead),
# kvfence4 emptied.
nft add set inet filter other4 '{ type ipv4_addr . inet_service; }' ||
	hard_error "cannot add other4"
write_conf other4
kvf_run move -c "$conf" sync
expect_rc 0 "the sync to other4"
has other4 || fail "the sync did not fill other4"
! has kvfence4 || fail "kvfence's element stayed in the old set"
! grep -q "^set inet filter kvfence4" "$KVF_TMP/state" ||
	fail "the state file still records kvfence4: $(grep -A2 '^set inet filter kvfence4' "$KVF_TMP/state")"

# The administrator writes the same element into the old set: theirs.
nft add element inet filter kvfence4 "{ 192.0.2.10 . 443 comment \"contoso-prod.vault.azure.net\" }"
kvf_run again -c "$conf" sync
expect_rc 0 "a later sync"
has kvfence4 || fail "a later sync removed the administrator's element from kvfence4"
kvf_run clear -c "$conf" clear
has kvfence4 || fail "kvfence clear removed the administrator's element from kvfence4"
exit 0
