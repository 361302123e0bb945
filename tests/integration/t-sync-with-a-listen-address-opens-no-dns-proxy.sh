#!/bin/bash
# `kvfence sync` is one pass of the agent's resolution and reconcile, not
# an agent: with `listen` and `resolver system` in the config it opens no
# DNS proxy (the running agent's proxy holds that address; a sync binding
# it as well would fail, or answer clients for the agent), and says
# nothing about one. The test sees its own /etc (an overlay in its private
# mount namespace).
# shellcheck source=../lib/preamble.sh
. "${TESTDIR:-$(dirname "$0")/..}/lib/preamble.sh" -- "$@"

kvf_own_etc
echo "nameserver 127.0.0.1" > /etc/resolv.conf

zone=$KVF_TMP/root.zone
zone_begin "$zone" 60
zone_addrs h.example.com 60 198.51.100.10
dns_start "$zone"

conf=$KVF_TMP/kvfence.conf
{
	printf 'endpoints none\nhost h.example.com 443\nresolver system\nlisten 127.0.2.53\n'
	kvf_conf_base | grep -v '^resolver'
} > "$conf"

kvf_run sync -c "$conf" sync
expect_rc 0 "sync with a listen address"
assert_set_has inet filter kvfence4 '198.51.100.10 . 443 comment "h.example.com"'
assert_no_grep "$KVF_TMP/sync.err" 'dns proxy' "sync opened (or spoke of) a DNS proxy"
exit 0
