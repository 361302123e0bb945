#!/bin/sh
# kvfence: install what the upstream "make install" does not (yet) install:
# the systemd unit, the default config, the man pages, the sysusers.d file.
# Used by debian/rules and the RPM spec after "make install"; anything make
# already installed is left alone, so this becomes a no-op once Makefile.am
# installs them all.
#
# usage: install-extras.sh DESTDIR SBINDIR UNITDIR SYSCONFDIR MANDIR SYSUSERSDIR
set -eu
[ $# -eq 6 ] || { echo "usage: $0 DESTDIR SBINDIR UNITDIR SYSCONFDIR MANDIR SYSUSERSDIR" >&2; exit 64; }
dest=$1 sbindir=$2 unitdir=$3 sysconfdir=$4 mandir=$5 sysusersdir=$6
src=$(cd "$(dirname "$0")/.." && pwd)

missing() { [ ! -e "$dest$1" ]; }

if missing "$unitdir/kvfence.service"; then
	mkdir -p "$dest$unitdir"
	sed "s|@sbindir@|$sbindir|g" "$src/packaging/systemd/kvfence.service.in" \
		> "$dest$unitdir/kvfence.service"
	chmod 644 "$dest$unitdir/kvfence.service"
fi
if missing "$sysconfdir/kvfence/kvfence.conf"; then
	install -D -m 644 "$src/packaging/kvfence.conf" "$dest$sysconfdir/kvfence/kvfence.conf"
fi
if missing "$sysusersdir/kvfence.conf"; then
	install -D -m 644 "$src/packaging/sysusers/kvfence.conf" "$dest$sysusersdir/kvfence.conf"
fi
for page in kvfence.8 kvfence.conf.5; do
	section=${page##*.}
	# Installed by make, maybe already compressed by the packaging tool.
	if missing "$mandir/man$section/$page" && missing "$mandir/man$section/$page.gz"; then
		install -D -m 644 "$src/man/$page" "$dest$mandir/man$section/$page"
	fi
done
