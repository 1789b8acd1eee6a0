#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian package of pgtfree (make pgtfree-deb): builds it, runs
# lintian, installs it into a throwaway root with dpkg --root (the
# maintainer scripts run chrootless with DPKG_ROOT set; the machine's own
# dpkg database is checked to be unchanged), runs the installed pgtfree and
# the host tests against it, verifies the systemd units, tests the
# Prometheus collector's wrapper (scrape-error metric, atomic replacement)
# and purges the package again.  Needs root (dpkg --root), as make deps.
#
# usage: tests/pgtfree-deb/run.sh
# env:   PGTFREE_DEB=FILE  test this pgtfree_*.deb instead of building one
#        FUZZ_SECONDS=N    passed on to the host tests (their default: 5)
#
# TAP, one line per check, then "# Totals: ..." (kselftest); exit 1 on
# failure.
set -u
export LC_ALL=C
umask 022

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
n=0 npass=0 nfail=0 nskip=0

echo "TAP version 13"
totals()
{
	echo "1..$n"
	echo "# Totals: pass:$npass fail:$nfail xfail:0 xpass:0 skip:$nskip error:0"
}
ok() { n=$((n + 1)) npass=$((npass + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)) nfail=$((nfail + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /'; }
# t DESCRIPTION COMMAND...: one check; a failing one shows $log
t()
{
	local desc=$1

	shift
	if "$@"; then
		ok "$desc"
	else
		notok "$desc"
		[ -s "$log" ] && head -n 30 "$log" | cut -c1-200 | diag
	fi
	: >"$log"
}
# bail DESCRIPTION: a failed step the rest depends on
bail()
{
	notok "$1"
	[ -s "$log" ] && head -n 40 "$log" | cut -c1-200 | diag
	totals
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgtfree-deb-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
chmod 0755 "$tmp"
log=$tmp/log
: >"$log"
root=$tmp/root
textdir=$root/var/lib/prometheus/node-exporter
prom=$textdir/pgtfree.prom

for tool in dpkg dpkg-deb lintian systemd-analyze man jq setpriv; do
	command -v $tool >/dev/null || { echo "$tool not found: run make deps (as root)" >"$log"; bail "$tool is installed"; }
done
[ "$(id -u)" -eq 0 ] || { echo "dpkg --root needs root" >"$log"; bail "running as root"; }

# the machine's package state, compared at the end
host_state()
{
	{
		cat /var/lib/dpkg/status
		ls -l /var/lib/dpkg/info /var/lib/dpkg/updates
		ls -lR /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null
	} | md5sum
}
host_before=$(host_state)

# ---------------------------------------------------------------- the .deb

version=$(sed -n -E 's/^#define[[:space:]]+PGTFREE_VERSION[[:space:]]+"([^"]*)".*/\1/p' \
	"$top/tools/pgtfree/pgtfree.h")
if [ -n "${PGTFREE_DEB:-}" ]; then
	deb=$PGTFREE_DEB
	[ -f "$deb" ] || { echo "no file $deb" >"$log"; bail "PGTFREE_DEB is a file"; }
else
	PGTFREE_DEB_OUT=$tmp/deb "$top/scripts/pgtfree-deb" >"$log" 2>&1 ||
		bail "scripts/pgtfree-deb builds the package"
	ok "scripts/pgtfree-deb builds the package"
	deb=$(ls "$tmp"/deb/pgtfree_*.deb)
	built_tested()
	{
		grep '^# Totals: ' "$tmp/deb/build.log" >"$log"
		grep -q '^# Totals: pass:[1-9][0-9]* fail:0 ' "$tmp/deb/build.log"
	}
	t "the package build ran the host tests (dh_auto_test), all passed" built_tested
fi

lintian_clean()
{
	lintian --display-info --pedantic --show-overrides "$deb" 2>&1 |
		grep -v '^running with root privileges' >"$tmp/lintian"
	diag <"$tmp/lintian"
	! grep -q '^[EW]: ' "$tmp/lintian" && ! grep -q '^lintian: ' "$tmp/lintian"
}
t "lintian: no error or warning that is not overridden" lintian_clean

deb_version()
{
	echo "package ${deb##*/}: $(dpkg-deb -f "$deb" Version), pgtfree.h: $version" >"$log"
	[ "$(dpkg-deb -f "$deb" Version)" = "$version" ]
}
t "the package's version is PGTFREE_VERSION ($version)" deb_version

# its files (not directories), sorted
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | sort >"$tmp/files"
expected_files()
{
	sort >"$tmp/want" <<-EOF
	lib/systemd/system/pgtfree-prometheus.service
	lib/systemd/system/pgtfree-prometheus.timer
	usr/libexec/pgtfree/pgtfree-prometheus
	usr/sbin/pgtfree
	usr/share/bash-completion/completions/pgtfree
	usr/share/doc/pgtfree/changelog.gz
	usr/share/doc/pgtfree/copyright
	usr/share/man/man8/pgtfree.8.gz
	EOF
	diff -u "$tmp/want" "$tmp/files" >"$log"
}
t "the package has the tool, man page, completion, units, wrapper and nothing else" expected_files

# ---------------------------------------------------------------- install

mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
: >"$root/var/lib/dpkg/status"
pkgdpkg() { dpkg --root="$root" --log="$tmp/dpkg.log" --force-script-chrootless "$@"; }
# libc6 and libsmartcols1 are the machine's, not in the throwaway root
pkgdpkg --force-depends -i "$deb" >"$log" 2>&1 || bail "dpkg --root installs it"
ok "dpkg --root installs it"

installed()
{
	local f rc=0

	[ "$(dpkg-query --root="$root" -W -f='${db:Status-Abbrev}' pgtfree)" = "ii " ] || {
		echo "not ii in the throwaway root's dpkg database" >>"$log"; rc=1; }
	while read -r f; do
		[ -f "$root/$f" ] || { echo "missing: /$f" >>"$log"; rc=1; }
	done <"$tmp/files"
	[ -d "$textdir" ] || { echo "missing: the textfile directory" >>"$log"; rc=1; }
	return $rc
}
t "installed: every file, the textfile directory, status ii" installed

not_enabled()
{
	find "$root/etc" -name 'pgtfree*' >"$log" 2>/dev/null
	[ ! -s "$log" ]
}
t "the timer is not enabled on installation (opt-in)" not_enabled

BIN=$root/usr/sbin/pgtfree
version_ok()
{
	"$BIN" --version >"$log" 2>&1 && [ "$(cat "$log")" = "pgtfree $version" ]
}
t "installed pgtfree --version prints pgtfree $version" version_ok

host_tests()
{
	PGTFREE=$BIN VALGRIND=0 MUTATIONS=0 bash "$top/tools/pgtfree/tests/run.sh" >"$tmp/host.tap" 2>&1
	local rc=$?

	sed -n 's/^# Totals: /# host tests: /p' "$tmp/host.tap"
	{ grep -A 12 '^not ok' "$tmp/host.tap"; tail -n 3 "$tmp/host.tap"; } >"$log"
	[ $rc -eq 0 ] && grep -q '^# Totals: pass:[1-9][0-9]* fail:0 ' "$tmp/host.tap"
}
t "the host tests (tools/pgtfree/tests/run.sh) pass on the installed binary" host_tests

# systemd-analyze verify --root: the units as installed, ExecStart= checked
# in the throwaway root, man pgtfree(8) (Documentation=) in its man pages;
# the units they need (sysinit.target, timers.target, ...) are the
# machine's, copied into a copy of the root.  Clean is: status 0 and not a
# line of output (verify prints unknown keys and bad values, and exits 0).
verify_units()
{
	local v=$tmp/verify

	rm -rf "$v"
	cp -a "$root" "$v" && cp -an /lib/systemd/system/. "$v/lib/systemd/system/" &&
		MANPATH=$v/usr/share/man systemd-analyze verify --root="$v" \
			/lib/systemd/system/pgtfree-prometheus.service \
			/lib/systemd/system/pgtfree-prometheus.timer >"$log" 2>&1 &&
		[ ! -s "$log" ]
}
t "systemd-analyze verify: both units clean" verify_units

# ---------------------------------------------------------------- collector

WRAP=$root/usr/libexec/pgtfree/pgtfree-prometheus
export PGTFREE_TEXTFILE_DIR=$textdir PGTFREE=$BIN

# a fake kernel tree, as tools/pgtfree/tests/run.sh makes them
fake=$tmp/fake
d=$fake/sys/kernel/mm/pgtable_free
mkdir -p "$d/stats" "$fake/proc" "$tmp/empty"
printf '1000.00 1900.00\n' >"$fake/proc/uptime"
printf '[async] sync\n' >"$d/mode"
for kv in queued=1234 freed=1200 pending=34 pending_max=512 batches=60 \
	  freed_sync=10 oom_freed=100 oom_events=2 invalidations=40 invalidated_mms=55; do
	printf '%s\n' "${kv#*=}" >"$d/stats/${kv%%=*}"
done
"$BIN" --sysroot "$fake" status --format prometheus >"$tmp/metrics" 2>"$log" ||
	bail "pgtfree status --format prometheus on a fake tree"

wrap_run() { "$WRAP" "$@" >>"$log" 2>&1; wrc=$?; }
scrape_error_lines()
{
	printf '%s\n' \
		'# HELP pgtable_free_scrape_error 1 if pgtfree could not read a file (labelled) or any (unlabelled), else 0.' \
		'# TYPE pgtable_free_scrape_error gauge' \
		"pgtable_free_scrape_error $1"
}
# pgtfree.prom is exactly FILE (and shown when not), 0644, and alone
prom_is()
{
	local mode

	cmp -s "$1" "$prom" || { diff -u "$1" "$prom" >>"$log" 2>&1; return 1; }
	mode=$(stat -c %a "$prom")
	[ "$mode" = 644 ] || { echo "mode $mode, not 644" >>"$log"; return 1; }
	no_temp
}
no_temp()
{
	ls -A "$textdir" >"$tmp/ls"
	[ "$(cat "$tmp/ls")" = pgtfree.prom ] || { echo "textfile directory:" >>"$log"; cat "$tmp/ls" >>"$log"; return 1; }
}
# the Prometheus text format: HELP and TYPE before each sample, integers
prom_format()
{
	awk '
	/^# HELP [a-z_]+ [^ ].*$/ { help[$3] = 1; next }
	/^# TYPE [a-z_]+ (counter|gauge)$/ { if (!($3 in help)) bad = 1; type[$3] = 1; next }
	/^[a-z_]+(\{(mode|file)="[a-z_\/]+"\})? [0-9]+$/ {
		name = $1; sub(/\{.*/, "", name); if (!(name in type)) bad = 1; next }
	{ bad = 1 }
	END { exit bad }' "$prom" || { echo "not the Prometheus text format:" >>"$log"; cat "$prom" >>"$log"; return 1; }
}

failed_read()
{
	wrap_run --sysroot "$tmp/empty"
	scrape_error_lines 1 >"$tmp/want"
	[ $wrc -eq 66 ] || { echo "wrapper exit status $wrc, not pgtfree's 66" >>"$log"; return 1; }
	prom_is "$tmp/want" && prom_format
}
t "collector: a failed read writes pgtable_free_scrape_error 1 alone, exits with pgtfree's status" failed_read

good_read()
{
	wrap_run --sysroot "$fake"
	cp "$tmp/metrics" "$tmp/want"
	[ $wrc -eq 0 ] || { echo "wrapper exit status $wrc" >>"$log"; return 1; }
	grep -qx 'pgtable_free_scrape_error 0' "$prom" || { echo "no scrape_error 0" >>"$log"; return 1; }
	prom_is "$tmp/want" && prom_format
}
t "collector: a good read writes pgtfree's metrics, pgtable_free_scrape_error 0 last" good_read

# one bad counter: every good metric, and a scrape error for the file
bad_counter()
{
	local q=$d/stats/queued

	printf 'abc\n' >"$q"
	wrap_run --sysroot "$fake"
	printf '1234\n' >"$q"
	[ $wrc -eq 65 ] || { echo "wrapper exit status $wrc, not pgtfree's 65" >>"$log"; return 1; }
	grep -qx 'pgtable_free_freed_pages_total 1200' "$prom" &&
		grep -qx 'pgtable_free_scrape_error{file="stats/queued"} 1' "$prom" &&
		grep -qx 'pgtable_free_scrape_error 1' "$prom" &&
		! grep -q queued_pages "$prom" || { cat "$prom" >>"$log"; return 1; }
	prom_format
}
t "collector: a bad counter file: every other metric kept, a scrape error names it" bad_counter

# the units' condition: skipped, not failed, without the interface
skipped()
{
	local f c rc=0

	for f in service timer; do
		c=$(sed -n 's/^\(ConditionPathIsDirectory=.*\)/\1/p' \
			"$root/lib/systemd/system/pgtfree-prometheus.$f")
		[ "$c" = ConditionPathIsDirectory=/sys/kernel/mm/pgtable_free ] ||
			{ echo "$f: condition '$c'" >>"$log"; rc=1; continue; }
		if [ -d /sys/kernel/mm/pgtable_free ]; then
			systemd-analyze condition "$c" >>"$log" 2>&1 || rc=1
		else
			! systemd-analyze condition "$c" >>"$log" 2>&1 || rc=1
		fi
	done
	return $rc
}
t "collector units: skipped where /sys/kernel/mm/pgtable_free is not (systemd-analyze condition)" skipped

# fake pgtfree binaries around the installed one
cat >"$tmp/partial-pgtfree" <<'EOF'
#!/bin/sh
"$REAL" "$@" | head -n 3
exit 1
EOF
cat >"$tmp/slow-pgtfree" <<'EOF'
#!/bin/sh
"$REAL" "$@" >"$T/full" || exit
head -n 3 "$T/full"
: >"$T/half-written"
read -r _ <"$T/go"
tail -n +4 "$T/full"
EOF
chmod 0755 "$tmp/partial-pgtfree" "$tmp/slow-pgtfree"
export REAL=$BIN T=$tmp

partial_read()
{
	PGTFREE=$tmp/partial-pgtfree wrap_run --sysroot "$fake"
	scrape_error_lines 1 >"$tmp/want"
	[ $wrc -eq 1 ] || { echo "wrapper exit status $wrc" >>"$log"; return 1; }
	prom_is "$tmp/want"
}
t "collector: a pgtfree failing after partial output leaves none of it" partial_read

# Stop pgtfree half way: the old file must still be whole, the new one a
# temporary file in the same directory the exporter does not read (not
# *.prom); then the finished file replaces it by rename (a new inode).
atomic()
{
	local ino_before tmpf i rc=0

	good_read || return 1
	cp "$prom" "$tmp/old"
	ino_before=$(stat -c %i "$prom")
	rm -f "$tmp/half-written" "$tmp/go"
	mkfifo "$tmp/go"
	PGTFREE=$tmp/slow-pgtfree timeout 30 "$WRAP" --sysroot "$fake" >>"$log" 2>&1 &
	local pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$tmp/half-written" ] && break
		sleep 0.1
	done
	if [ ! -e "$tmp/half-written" ]; then
		echo "the slow pgtfree did not start" >>"$log"
		rc=1
	else
		cmp -s "$tmp/old" "$prom" || { echo "pgtfree.prom changed while being written" >>"$log"; rc=1; }
		tmpf=$(find "$textdir" -mindepth 1 -maxdepth 1 ! -name pgtfree.prom)
		if [ "$(echo "$tmpf" | wc -w)" -ne 1 ]; then
			echo "temporary files in the textfile directory: '$tmpf'" >>"$log"
			rc=1
		else
			case $tmpf in
			*.prom) echo "$tmpf: the exporter would read it" >>"$log"; rc=1 ;;
			esac
			head -n 3 "$tmp/metrics" | cmp -s - "$tmpf" ||
				{ echo "$tmpf is not the partial output" >>"$log"; rc=1; }
		fi
	fi
	# shellcheck disable=SC2016 # $1 is the inner shell's
	timeout 10 sh -c 'echo >"$1"' _ "$tmp/go"
	wait $pid || { echo "wrapper exit status $?" >>"$log"; rc=1; }
	cp "$tmp/metrics" "$tmp/want"
	prom_is "$tmp/want" || rc=1
	[ "$(stat -c %i "$prom")" != "$ino_before" ] || { echo "pgtfree.prom rewritten in place (same inode)" >>"$log"; rc=1; }
	return $rc
}
t "collector: pgtfree.prom is replaced atomically (temporary file in its directory, renamed)" atomic

# ---------------------------------------------------------------- purge

[ -f "$prom" ] || bail "the collector left pgtfree.prom to purge"
pkgdpkg --purge pgtfree >"$log" 2>&1 || bail "dpkg --root --purge removes it"
ok "dpkg --root --purge removes it"

# Everything left in the root is the throwaway dpkg database's, but for
# var/lib/systemd, empty: deb-systemd-helper made it for its state (a
# machine with systemd has it anyway).
purged()
{
	[ "$(dpkg-query --root="$root" -W -f='${db:Status-Abbrev}' pgtfree 2>/dev/null)" != "ii " ] || return 1
	find "$root" -mindepth 1 ! -path "$root/var/lib/dpkg" ! -path "$root/var/lib/dpkg/*" \
		! -path "$root/var/lib" ! -path "$root/var" ! -path "$root/var/lib/systemd" >"$log"
	find "$root/var/lib/systemd" -mindepth 1 >>"$log" 2>/dev/null
	[ ! -s "$log" ]
}
t "purged: no package file, metrics file or systemd state left" purged

host_unchanged()
{
	echo "the machine's dpkg database, /etc/systemd/system or deb-systemd-helper state changed" >"$log"
	[ "$(host_state)" = "$host_before" ]
}
t "the machine's dpkg database and systemd state are unchanged" host_unchanged

totals
[ $nfail -eq 0 ]
