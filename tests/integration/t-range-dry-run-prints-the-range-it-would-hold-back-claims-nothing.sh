#!/bin/bash
# kvfence(8) sync --dry-run with a Service Tags range that overlaps an
# administrator's range in kvfence4r: like every change it would make, the
# range it would hold back is printed as what it would do ("would not
# add"), not logged as done ("not added"), and not counted; nothing is
# written. A real sync afterwards holds back exactly that range.
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" -- "$@"

tags=$KVF_TMP/tags
tags_beside_admin_range "$tags"
kvf_vault_with_tags "$tags" AzureKeyVault
conf=$KVF_TMP/kvfence.conf

before=$(nft list ruleset)
kvf_run dry -c "$conf" sync --dry-run
expect_rc 0 "sync --dry-run"
[ "$(nft list ruleset)" = "$before" ] || fail "sync --dry-run changed the ruleset"
assert_grep "$KVF_TMP/dry.out" \
	'^would add to kvfence4r: 198\.51\.100\.64/27 comment "servicetag AzureKeyVault change 43"$' \
	"the dry run does not print the range it would add"
assert_grep "$KVF_TMP/dry.out" \
	"^would not add to kvfence4r: 203\.0\.113\.128/25: it overlaps a range that is not in kvfence's record\$" \
	"the dry run does not print the range it would hold back"
assert_no_grep "$KVF_TMP/dry.err" 'not added' "the dry run claims to have held a range back"
assert_no_grep "$KVF_TMP/dry.out" '203\.0\.113\.0/24' "the dry run would touch the administrator's range"

kvf_run real -c "$conf" sync
expect_rc 0 "sync"
assert_grep "$KVF_TMP/real.err" \
	'kvfence4r: range 203\.0\.113\.128/25 not added: it overlaps a range that is not in kvfence.s record' \
	"sync did not hold back the range the dry run named"
printf '%s\n%s\n' "$KVF_RANGE_OURS" "$KVF_ADMIN_RANGE" > "$KVF_TMP/want4r"
assert_set_elems inet filter kvfence4r "$KVF_TMP/want4r"
exit 0
