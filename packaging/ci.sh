#!/bin/bash
# kvfence: the packaging gates, run by CI as root on a fresh Debian 12 machine
# after the main build (src/kvfence exists). Never touches the main tree's
# build: packages are built from copies under /tmp. Installs and purges the
# .deb on this machine; the service itself only ever runs in a private
# network namespace (see gate_service), never against the host's ruleset.
#
# Prints one PASS/FAIL (or SKIP) line per gate and ends with
# "N passed, M failed"; exits non-zero when any gate failed.
#
# The service's life under systemd as PID 1 (start, reload, flush and
# refill, DNS outage, stop, restart, warm start, upgrade and downgrade
# without a gap, purge; the DNS proxy's two setups with systemd-resolved)
# is checked inside a Debian 12 container booted with
# systemd-nspawn in its own network namespace: packaging/nspawn/.
#
# KVF_PKG_REQUIRE_SYSTEMD=1 turns the SKIP of the host's live service test
# (no systemd as PID 1 here) into a failure.
# KVF_PKG_FAULT=NAME builds or runs the packages with a deliberate fault
# (packaging/nspawn/fault.sh, live.sh, or no-restart-after-upgrade) to show
# that the gate checking it fails; KVF_PKG_ONLY=live runs only the build
# and the container gates.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
top=$PWD
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

passed=0 failed=0 skipped=0
work=$(mktemp -d /tmp/kvfence-pkgci.XXXXXX)
trap 'rm -rf "$work"' EXIT

pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
skip() { echo "SKIP: $*"; skipped=$((skipped + 1)); }
section() { printf '\n--- %s ---\n' "$*"; }
# With KVF_PKG_ONLY=live, only the gates after "in_live=1" run.
in_live=0
selected() { [ -z "$only" ] || [ $in_live = 1 ]; }
# gate NAME COMMAND...: PASS when the command succeeds; its output is shown.
gate() {
	local name=$1 t0 t
	shift
	selected || return 0
	t0=$(date +%s%N)
	if "$@"; then t=$(gate_secs "$t0"); pass "$name ($t s)"; else t=$(gate_secs "$t0"); fail "$name ($t s)"; fi
}
gate_secs() { local d=$(( $(date +%s%N) - $1 )); printf '%d.%d' $((d / 1000000000)) $((d / 100000000 % 10)); }
only=${KVF_PKG_ONLY:-}
fault=${KVF_PKG_FAULT:-}

if [ "$(id -u)" -ne 0 ]; then
	echo "packaging/ci.sh: run as root (it installs and purges the package)" >&2
	exit 77
fi

section "tools"
tools="build-essential autoconf automake pkg-config debhelper dh-autoreconf
	dpkg-dev fakeroot lintian mandoc man-db rpm xz-utils adduser systemd strace
	iproute2 util-linux procps bash-completion systemd-container debootstrap
	libnftnl-dev libmnl-dev libc-ares-dev libjansson-dev"
missing=""
for p in $tools; do
	grep -q "install ok installed" <<< "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "+ apt-get install$missing"
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
gate "tools installed" true

version=$(sed -n 's/^AC_INIT(\[kvfence\], *\[\([^]]*\)\].*/\1/p' configure.ac)
echo "kvfence version $version"

# ---------------------------------------------------------------- unit --
section "systemd unit"
unit_for() {	# unit_for SBINDIR OUT
	sed "s|@sbindir@|$1|g" packaging/systemd/kvfence.service.in > "$2"
}
mkdir -p "$work/unit" "$work/unit-verify"
unit_for /usr/sbin "$work/unit/kvfence.service"

gate_security() {
	local unit=$1 out
	out=$(systemd-analyze security --offline=true --threshold=15 "$unit" 2>&1)
	local rc=$?
	grep -v '✓' <<<"$out"
	grep -q "Overall exposure level" <<<"$out" && [ $rc -eq 0 ]
}
gate "systemd-analyze security: overall exposure <= 1.5" \
	gate_security "$work/unit/kvfence.service"

# verify wants ExecStart= to exist: before the package is installed, point
# it at the built binary (or /bin/true) and skip the man: links.
gate_verify_source() {
	local bin=$top/src
	[ -x "$bin/kvfence" ] || bin=/bin
	unit_for "$bin" "$work/unit-verify/kvfence.service"
	[ -x "$bin/kvfence" ] || sed -i "s|^ExecStart=/bin/kvfence|ExecStart=/bin/true|" \
		"$work/unit-verify/kvfence.service"
	local out
	out=$(systemd-analyze verify --man=no "$work/unit-verify/kvfence.service" 2>&1)
	echo "${out:-(no messages)}"
	[ -z "$out" ]
}
gate "systemd-analyze verify (source unit)" gate_verify_source

# Without systemd as PID 1 the filter itself cannot run the agent: trace
# the agent instead and check every call against the unit's filter.
gate_syscalls() {
	[ -x src/kvfence ] || { echo "src/kvfence is not built"; return 1; }
	packaging/syscalls-check.sh "$top/src/kvfence" "$work/unit/kvfence.service" \
		packaging/kvfence.conf
}
gate "SystemCallFilter= allows every call kvfence run makes" gate_syscalls

# ----------------------------------------------------------------- man --
section "man pages"
gate_mandoc() {
	local out
	out=$(mandoc -T lint -W warning man/kvfence.8 man/kvfence.conf.5 2>&1)
	local rc=$?
	echo "${out:-(no warnings)}"
	[ $rc -eq 0 ] && [ -z "$out" ]
}
gate "mandoc -T lint: no errors or warnings" gate_mandoc
gate_man_render() {
	local p out
	for p in man/kvfence.8 man/kvfence.conf.5; do
		out=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null) || return 1
		[ -z "$out" ] || { echo "$p: $out"; return 1; }
		grep -q "^NAME" <<< "$(MANWIDTH=80 man -l "$p" 2>/dev/null)" || return 1
	done
}
gate "man -l renders without warnings" gate_man_render

# -------------------------------------------------------------- config --
section "default config"
gate_default_config() {
	[ -x src/kvfence ] || { echo "src/kvfence is not built"; return 1; }
	src/kvfence -c packaging/kvfence.conf check
}
gate "kvfence check packaging/kvfence.conf" gate_default_config
gate_documented() {	# every directive the parser knows is documented
	local d bad=0
	for d in $(sed -n 's/^\t{ "\([a-z0-9-]*\)",.*d_.*/\1/p' src/config.c); do
		grep -q "^#$d\b" packaging/kvfence.conf || { echo "kvfence.conf lacks $d"; bad=1; }
		grep -q "^\.It Cm $d\b" man/kvfence.conf.5 || { echo "kvfence.conf.5 lacks $d"; bad=1; }
	done
	return $bad
}
gate "every directive documented in kvfence.conf and kvfence.conf(5)" gate_documented

# ---------------------------------------------------------- completion --
section "bash completion"
gate_completion_source() {
	[ -x src/kvfence ] || { echo "src/kvfence is not built"; return 1; }
	packaging/completion-check.sh src/kvfence packaging/bash-completion/kvfence
}
gate "bash completion: commands, options, config path match kvfence --help" gate_completion_source

# ----------------------------------------------------------------- deb --
section "Debian package"
in_live=1
deb=""
gate_build_deb() {
	deb=$(packaging/build-deb.sh "$work/deb" | tail -n 1)
	echo "$deb"
	[ -f "$deb" ]
}
gate "build-deb.sh builds kvfence_${version}_$(dpkg --print-architecture).deb" gate_build_deb

gate_lintian() {
	# Overrides are shown (with their reasons) but, shown, lintian 2.116
	# counts them towards --fail-on: the verdict comes from a run without.
	lintian --display-info --show-overrides "$deb" | grep -E '^(O|N):' || true
	lintian --fail-on error,warning --display-info "$deb"
}
if [ -f "$deb" ]; then
	gate "lintian: 0 errors, 0 warnings" gate_lintian
else
	fail "lintian: no .deb to check"
fi

gate_sysusers() {	# one source of truth for the user: the sysusers.d file
	local ctl=$work/ctl deps
	rm -rf "$ctl" && dpkg-deb -e "$deb" "$ctl" || return 1
	deps=$(dpkg-deb -f "$deb" Depends)
	echo "Depends: $deps"
	grep -q 'systemd-sysusers.* kvfence.conf' "$ctl/postinst" ||
		{ echo "postinst does not run systemd-sysusers on kvfence.conf"; return 1; }
	grep -q 'systemd-sysusers' <<<"$deps" || { echo "no dependency on systemd-sysusers"; return 1; }
	! grep -qw adduser <<<"$deps" || { echo "adduser is a dependency"; return 1; }
	! grep -qE 'deluser|delgroup' "$ctl/postrm" || { echo "postrm deletes the user"; return 1; }
	diff -u packaging/sysusers/kvfence.conf \
		<(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/sysusers.d/kvfence.conf)
}
[ -f "$deb" ] && gate "user from sysusers.d (dh_installsysusers), no adduser, no deluser" gate_sysusers

# -------------------------------------------------------- live systemd --
section "live systemd (Debian 12 container, systemd-nspawn --private-network)"
# Two packages of the same source: the one built above and, as the
# upgrade's target, a rebuild with a higher version. A fault (to prove a
# gate fails) is made in both.
gate_live() {
	local a=$deb b vb=${version}+ci1 tree=$work/tree-b out=$work/live
	local opts
	opts="nocheck parallel=$(nproc)"
	if [ "$fault" = no-restart-after-upgrade ]; then
		# The fault is in the build: both packages come from a copy
		# whose rules stop the service in prerm and start it in postinst.
		rm -rf "$tree" && mkdir -p "$tree"
		git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done | xargs -0 cp -a --parents -t "$tree"
		sed -i 's/--restart-after-upgrade/--no-restart-after-upgrade/' "$tree/packaging/debian/rules"
		a=$(DEB_BUILD_OPTIONS=$opts "$tree/packaging/build-deb.sh" "$work/deb-a" | tail -n 1) || return 1
		b=$(KVF_DEB_VERSION=$vb DEB_BUILD_OPTIONS=$opts "$tree/packaging/build-deb.sh" "$work/deb-b" | tail -n 1) || return 1
	else
		b=$(KVF_DEB_VERSION=$vb DEB_BUILD_OPTIONS=$opts packaging/build-deb.sh "$work/deb-b" | tail -n 1) || return 1
	fi
	local run_fault=
	case $fault in
	"" | no-restart-after-upgrade) ;;
	max-stale | no-refill | proxy-bypassed | no-route-domain) run_fault=$fault ;;
	*)
		packaging/nspawn/fault.sh "$fault" "$a" "$work/a-fault.deb" &&
			packaging/nspawn/fault.sh "$fault" "$b" "$work/b-fault.deb" || return 1
		a=$work/a-fault.deb b=$work/b-fault.deb ;;
	esac
	echo "A: $(dpkg-deb -f "$a" Version)  B: $(dpkg-deb -f "$b" Version)${fault:+  fault: $fault}"
	packaging/nspawn/run.sh "$a" "$b" "$out" $run_fault
}
live_rc=0
if selected && [ -f "$deb" ]; then
	t0=$(date +%s%N)
	gate_live || live_rc=1
	echo "packages and container: $(gate_secs "$t0") s"
	if [ -s "$work/live/results" ]; then
		while IFS=$'\t' read -r r secs name; do
			if [ "$r" = PASS ]; then pass "live: $name ($secs s)"; else fail "live: $name ($secs s)"; live_rc=1; fi
		done < "$work/live/results"
	else
		fail "live: the container gave no results"
	fi
	[ $live_rc = 0 ] || { echo "--- container log:"; tail -n 150 "$work/live/log"; }
	# Every gate of live.sh must have reported (a gate that never ran
	# because the container died is a failure).
	n=$(grep -c '^gate ' packaging/nspawn/live.sh)
	[ "$(wc -l < "$work/live/results" 2>/dev/null || echo 0)" -eq "$n" ] ||
		fail "live: $(wc -l < "$work/live/results" 2>/dev/null) of $n gates reported"
fi
[ "$only" = live ] && { echo; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
in_live=0

gate_install() {
	apt-get install -y -qq "$deb" >/dev/null
}
installed=0
if [ -f "$deb" ] && gate_install; then
	pass "install the .deb"
	installed=1
else
	fail "install the .deb"
fi

if [ $installed = 1 ]; then
	gate_version() {
		local out
		out=$(/usr/sbin/kvfence --version) || return 1
		echo "$out"
		[ "$out" = "kvfence $version" ]
	}
	gate "installed kvfence --version" gate_version
	gate "installed kvfence check (shipped config)" /usr/sbin/kvfence check
	gate_user() {
		local ent
		ent=$(getent passwd kvfence) || return 1
		echo "$ent"
		[ "$(echo "$ent" | cut -d: -f7)" = /usr/sbin/nologin ] &&
			[ "$(echo "$ent" | cut -d: -f6)" = /nonexistent ] &&
			[ "$(echo "$ent" | cut -d: -f3)" -lt 1000 ] &&
			getent group kvfence >/dev/null
	}
	gate "system user and group kvfence exist" gate_user
	gate_conffile() {
		grep -q '/etc/kvfence/kvfence.conf ' <<< "$(dpkg-query -W -f='${Conffiles}\n' kvfence)"
	}
	gate "conffile /etc/kvfence/kvfence.conf" gate_conffile
	gate_not_enabled() {
		# Installed disabled: nothing runs before the administrator configures.
		[ ! -e /etc/systemd/system/multi-user.target.wants/kvfence.service ] &&
			! systemctl is-active --quiet kvfence 2>/dev/null
	}
	gate "service installed disabled and not started" gate_not_enabled
	gate "man kvfence, man kvfence.conf installed" \
		sh -c 'man -w kvfence >/dev/null && man -w 5 kvfence.conf >/dev/null'
	gate_verify_installed() {
		local out
		out=$(systemd-analyze verify /lib/systemd/system/kvfence.service 2>&1)
		echo "${out:-(no messages)}"
		[ -z "$out" ]
	}
	gate "systemd-analyze verify (installed unit, man: links checked)" gate_verify_installed
	gate "systemd-analyze security (installed unit)" \
		gate_security /lib/systemd/system/kvfence.service

	# The hardened unit really runs the agent: under systemd, in a private
	# network namespace (a drop-in adds PrivateNetwork=yes), so the host's
	# ruleset is never touched. DNS fails there; kvfence starts anyway
	# (fail-static, warm start), reports READY, reloads on SIGHUP, writes
	# its status, and stops cleanly.
	gate_service() {
		local dropin=/run/systemd/system/kvfence.service.d rc=0
		mkdir -p "$dropin"
		printf '[Service]\nPrivateNetwork=yes\n' > "$dropin/ci.conf"
		systemctl daemon-reload
		{
			systemctl start kvfence &&
			systemctl is-active --quiet kvfence &&
			systemctl reload kvfence &&
			sleep 2 && systemctl is-active --quiet kvfence &&
			test -s /run/kvfence/status.json &&
			/usr/sbin/kvfence status >/dev/null &&
			systemctl stop kvfence
		} || rc=1
		journalctl -u kvfence --no-pager -n 30 -o cat 2>/dev/null || true
		systemctl stop kvfence 2>/dev/null
		systemctl reset-failed kvfence 2>/dev/null
		rm -rf "$dropin"
		systemctl daemon-reload
		return $rc
	}
	if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ] &&
		systemctl is-system-running 2>/dev/null | grep -qv offline; then
		gate "service starts hardened (private netns), reloads, stops" gate_service
	elif [ "${KVF_PKG_REQUIRE_SYSTEMD:-0}" = 1 ]; then
		fail "service start test: systemd is not PID 1"
	else
		skip "service start test: systemd is not PID 1 here"
	fi

	gate_completion_installed() {
		local dir
		dir=$(pkg-config --variable=completionsdir bash-completion)
		[ -f "$dir/kvfence" ] || { echo "no $dir/kvfence"; return 1; }
		packaging/completion-check.sh /usr/sbin/kvfence --installed
	}
	gate "bash completion installed where bash-completion.pc says, loaded on demand" \
		gate_completion_installed

	# The user and group stay (files owned by the uid may remain); the
	# configuration and state go; nothing on stderr (deluser used to
	# complain about cron on hosts without it); the administrator is told
	# that the elements stay in the kernel.
	gate_purge() {
		local err=$work/purge.err outp=$work/purge.out bad=0
		apt-get purge -y -qq kvfence > "$outp" 2> "$err" || { cat "$outp" "$err"; return 1; }
		cat "$outp"
		[ ! -s "$err" ] || { echo "purge wrote to stderr:"; cat "$err"; bad=1; }
		grep -q 'stay in the kernel' "$outp" || { echo "no note on the elements left in the kernel"; bad=1; }
		! grep -q installed <<< "$(dpkg-query -W -f='${Status}' kvfence 2>/dev/null)" ||
			{ echo "kvfence still installed"; bad=1; }
		getent passwd kvfence >/dev/null || { echo "user kvfence was deleted"; bad=1; }
		getent group kvfence >/dev/null || { echo "group kvfence was deleted"; bad=1; }
		[ ! -e /etc/kvfence ] || { echo "/etc/kvfence remains"; bad=1; }
		[ ! -e /var/lib/kvfence ] || { echo "/var/lib/kvfence remains"; bad=1; }
		[ ! -e /usr/sbin/kvfence ] || { echo "/usr/sbin/kvfence remains"; bad=1; }
		return $bad
	}
	gate "purge: package, /etc/kvfence, /var/lib/kvfence gone; user kept; quiet; note shown" gate_purge
fi

# ----------------------------------------------------------------- rpm --
section "RPM"
rpmfile=""
gate_rpm() {
	local tree=$work/rpm-src top_rpm=$work/rpmbuild tarball
	mkdir -p "$tree" "$top_rpm"
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
		done | xargs -0 cp -a --parents -t "$tree"
	(cd "$tree" && autoreconf -fi && ./configure && make dist) \
		> "$work/rpm-dist.log" 2>&1 || { tail -n 30 "$work/rpm-dist.log"; return 1; }
	tarball=$tree/kvfence-$version.tar.xz
	[ -f "$tarball" ] || { echo "no $tarball"; return 1; }
	rpmbuild -bb --nodeps \
		--define "_topdir $top_rpm" --define "_sourcedir $tree" \
		--define "debug_package %{nil}" \
		"$tree/packaging/rpm/kvfence.spec" > "$work/rpmbuild.log" 2>&1 ||
		{ tail -n 40 "$work/rpmbuild.log"; return 1; }
	rpmfile=$(find "$top_rpm/RPMS" -name "kvfence-$version-*.rpm" | head -n 1)
	[ -n "$rpmfile" ] || return 1
	echo "$(basename "$rpmfile"):"
	rpm -qlp "$rpmfile" 2>/dev/null | sed 's/^/  /'
	local f files
	# Captured first: grep -q closing the pipe early would fail the
	# pipeline under pipefail (SIGPIPE in rpm).
	files=$(rpm -qlp "$rpmfile" 2>/dev/null)
	for f in /usr/sbin/kvfence /usr/lib/systemd/system/kvfence.service \
		/usr/lib/sysusers.d/kvfence.conf /usr/share/man/man8/kvfence.8 \
		/usr/share/bash-completion/completions/kvfence \
		/usr/share/man/man5/kvfence.conf.5; do
		grep -qx -- "$f" <<< "$files" || { echo "missing $f"; return 1; }
	done
	grep -qx /etc/kvfence/kvfence.conf <<< "$(rpm -qcp "$rpmfile" 2>/dev/null)" ||
		{ echo "/etc/kvfence/kvfence.conf is not %config"; return 1; }
	grep -q "systemctl" <<< "$(rpm -qp --scripts "$rpmfile" 2>/dev/null)" ||
		{ echo "no systemd scriptlets"; return 1; }
	# %pre feeds systemd-sysusers the sysusers.d line: it must be the file's.
	grep -qxF "$(grep '^u ' packaging/sysusers/kvfence.conf)" <<< "$(rpm -qp --scripts "$rpmfile" 2>/dev/null)" ||
		{ echo "%pre's user line differs from packaging/sysusers/kvfence.conf"; return 1; }
}
gate "rpmbuild -bb from the make dist tarball" gate_rpm

echo
[ "$skipped" -eq 0 ] || echo "$skipped skipped (not counted)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
