#!/bin/bash
# kvfence: build the binary .deb from a clean copy of the tree (tracked and
# new, not ignored, files: no build products), with packaging/debian at its
# root. Prints the path of kvfence_<version>_<arch>.deb on the last line.
#
# usage: packaging/build-deb.sh [OUTDIR]     (default: a new temporary dir)
# KVF_DEB_VERSION=V builds the same source as package version V (a new
# changelog entry in the copy): the second package of the upgrade gates.
# Installs the build dependencies with apt-get when run as root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-}

deps="build-essential debhelper dh-autoreconf dpkg-dev fakeroot pkg-config
	autoconf automake libnftnl-dev libmnl-dev libc-ares-dev libjansson-dev"
install_deps() {
	missing=""
	for p in $deps; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "build-deb: missing build dependencies:$missing" >&2
		exit 69
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
}

version_of_tree() {
	sed -n 's/^AC_INIT(\[kvfence\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac"
}

copy_tree() {
	dst=$1
	mkdir -p "$dst"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		# What a fresh clone would hold, plus files not yet committed.
		(cd "$top" && git ls-files -z --cached --others --exclude-standard |
			while IFS= read -r -d '' f; do
				if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
			done | xargs -0 cp -a --parents -t "$dst")
	else
		cp -a "$top/." "$dst"
	fi
	rm -rf "$dst/debian"
	cp -a "$top/packaging/debian" "$dst/debian"
}

install_deps
version=$(version_of_tree)
changelog=$(sed -n '1s/^kvfence (\([^)]*\)).*/\1/p' "$top/packaging/debian/changelog")
case "$changelog" in
"$version" | "$version"-*) ;;
*)
	echo "build-deb: configure.ac says $version but packaging/debian/changelog says $changelog;" >&2
	echo "build-deb: add a changelog entry for $version" >&2
	exit 65 ;;
esac

work=$(mktemp -d /tmp/kvfence-deb.XXXXXX)
src="$work/kvfence-$version"
copy_tree "$src"
if [ -n "${KVF_DEB_VERSION:-}" ]; then
	dpkg --compare-versions "$KVF_DEB_VERSION" ne "$changelog" ||
		{ echo "build-deb: KVF_DEB_VERSION is already $changelog" >&2; exit 64; }
	{
		printf 'kvfence (%s) unstable; urgency=medium\n\n' "$KVF_DEB_VERSION"
		printf '  * Rebuild of %s as %s (packaging gates).\n\n' "$changelog" "$KVF_DEB_VERSION"
		printf ' -- kvfence maintainers <kvfence@users.noreply.github.com>  %s\n\n' "$(date -R)"
		cat "$src/debian/changelog"
	} > "$src/debian/changelog.new"
	mv "$src/debian/changelog.new" "$src/debian/changelog"
	changelog=$KVF_DEB_VERSION
fi
(cd "$src" && dpkg-checkbuilddeps && dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed; full log: $work/build.log" >&2
	exit 1
}
arch=$(dpkg --print-architecture)
deb="$work/kvfence_${changelog}_${arch}.deb"
[ -f "$deb" ] || { echo "build-deb: $deb was not built" >&2; exit 1; }
if [ -n "$out" ]; then
	mkdir -p "$out"
	cp "$deb" "$out/"
	deb="$(cd "$out" && pwd)/$(basename "$deb")"
fi
echo "build-deb: log in $work/build.log" >&2
echo "$deb"
