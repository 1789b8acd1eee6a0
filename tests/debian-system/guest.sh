#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest side of make debian-system: what an administrator does on the
# Debian system, one step per boot.  scripts/debian-system boots the
# system, and the debian-system-step unit runs this script once
# multi-user.target is reached, from the host's share mounted on
# /run/debian-system, whose "env" file names the step and the packages.
#
#   install    (the installer boot)  apt install of our kernel package,
#              pgtfree's package and prometheus-node-exporter
#   use        (the installed kernel)  pgtfree, pgtfree -J, pgtfree mode,
#              pgtfree top during a module load/unload loop, the
#              collector's timer, the node exporter's /metrics twice;
#              sysfsutils and /etc/sysfs.d/ for the mode
#   sysfs      the mode from /etc/sysfs.d/ after a reboot; then the boot
#              parameter instead (/etc/kernel/cmdline)
#   cmdline    the mode from the boot parameter after a reboot; apt purge
#              of pgtfree leaves nothing behind
#   remove     (the installer boot again)  apt purge of the kernel package
#   short      (make check, after install)  the installed kernel boots to
#              multi-user.target with no failed unit, the pgtfree units
#              load and the collector writes what the exporter serves
#   lsmod      (--lsmod, after install of Debian's own kernel)  lsmod
#              once the exporter ran and the loop's module is loaded
#
# Output: "ok - TEXT", "not ok - TEXT" and "# TEXT" lines (the host numbers
# them), then "next: reboot" or "next: poweroff".
set -u
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
share=/run/debian-system
# STEP, BASE, REL (the kernel package's release), BOOTED_REL (the running
# kernel's: the small package's on the installer boots), KERNEL_DEBS, PGTFREE_DEB
# (file names in /root/debs; no PGTFREE_DEB with --lsmod), BOOTED
# (installer|installed),
# MODULE_FREES (1 where a module load frees kernel page tables: 7.3)
. "$share/env"

# ---------------------------------------------------------------------------
# What this test expects of pgtfree and its package, all in one place.
PGTFREE=/usr/sbin/pgtfree
PGTFREE_TIMER=pgtfree-prometheus.timer
PGTFREE_SERVICE=pgtfree-prometheus.service
PGTFREE_PERIOD=60			# the timer's OnUnitActiveSec, seconds
PGTFREE_PROM=/var/lib/prometheus/node-exporter/pgtfree.prom
# Samples every good scrape has (pgtfree(8), OUTPUT, Prometheus), and the
# collector's own verdict on the read.
PGTFREE_METRICS="pgtable_free_queued_pages_total pgtable_free_freed_pages_total
	pgtable_free_pending_pages pgtable_free_pending_max_pages pgtable_free_batches_total
	pgtable_free_freed_sync_pages_total pgtable_free_oom_freed_pages_total
	pgtable_free_oom_events_total pgtable_free_invalidations_total
	pgtable_free_invalidated_mms_total"
PGTFREE_SCRAPE_OK='pgtable_free_scrape_error 0'
# mode_sample MODE: the sample that says MODE is active
mode_sample() { echo "pgtable_free_mode{mode=\"$1\"} 1"; }
# Counters a module load/unload loop moves where it frees page tables
PGTFREE_MOVING="pgtable_free_queued_pages_total pgtable_free_freed_sync_pages_total"
# pgtfree's status: the mode in the table's first row, and in its JSON
pgtfree_table_mode() { "$PGTFREE" | awk 'NR == 1 && $1 != "MODE" { exit 1 } NR == 2 { print $1 }'; }
pgtfree_json_mode() { "$PGTFREE" -J | jq -er '.pgtfree[0] | select((.freed | type) == "number" and (.pending | type) == "number") | .mode'; }
# pgtfree top -J: frees in all and the callers, "CALLER FREES" a line
top_frees() { jq -r '[.callers[].frees] | add // 0' "$1"; }
top_callers() { jq -r '.callers[] | "\(.caller) \(.frees)"' "$1"; }
top_clean() { jq -e '.summary[0] | .lost == 0 and .malformed == 0' "$1" >/dev/null; }
# The mode persistently: sysfsutils' file and the boot parameter
SYSFS_CONF=/etc/sysfs.d/pgtfree.conf
SYSFS_LINE='kernel/mm/pgtable_free/mode = sync'
BOOT_PARAM=pgtable_free.mode=sync
# ---------------------------------------------------------------------------

sysfs=/sys/kernel/mm/pgtable_free
log=$(mktemp)
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
diag() { sed 's/^/# /'; }
# t TEXT CMD...: one check; a failing one shows its output
t() {
	local text=$1
	shift
	if "$@" >"$log" 2>&1; then
		ok "$text"
	else
		notok "$text"
		head -n 25 "$log" | cut -c1-200 | diag
	fi
}
wait_for() { # wait_for SECONDS CMD...: until CMD succeeds
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 1
	done
}
apt_() { apt -y -q -o DPkg::Lock::Timeout=300 "$@"; }
status_of() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null; }

# start UNIT: systemctl start, and the unit's journal when it fails
start() {
	systemctl start "$1" && return 0
	systemctl status --no-pager "$1"
	journalctl -b --no-pager -o short-monotonic -u "$1" | tail -n 15
	return 1
}

# ---- the boot: the kernel the host meant, multi-user.target, no failure
booted_rel() { echo "uname -r: $(uname -r)"; [ "$(uname -r)" = "$BOOTED_REL" ]; }
# bzimage_version FILE: the version string in a bzImage's setup header
bzimage_version() {
	local off
	off=$(od -An -tu2 -j $((0x20e)) -N2 "$1" | tr -d ' ')
	dd if="$1" bs=1 skip=$((off + 0x200)) count=300 2>/dev/null | tr '\0' '\n' | sed -n 1p
}
# /proc/version is "Linux version RELEASE (USER@HOST) (COMPILER) VERSION",
# a bzImage's string "RELEASE (USER@HOST) VERSION"
running_is_installed() {
	local v want
	v=$(bzimage_version "/boot/vmlinuz-$REL")
	want="$(uname -r) ($(sed -n 's/^Linux version [^ ]* (\([^)]*\)).*/\1/p' /proc/version)) $(uname -v)"
	echo "running: $want"
	echo "vmlinuz: $v"
	[ "$v" = "$want" ]
}
none_failed() {
	local f
	f=$(systemctl list-units --failed --all --plain --no-legend
	    journalctl -b --no-pager -o cat | grep -E 'Failed with result|Failed to start|entered failed state')
	[ -z "$f" ] || { echo "$f"; return 1; }
}
boot_checks() {
	t "booted $BOOTED_REL ($(uname -v))" booted_rel
	if [ "$BOOTED" = installed ]; then
		t "booted /boot/vmlinuz-$REL of the root, as a boot loader would (BOOT_IMAGE)" \
			grep -qw "BOOT_IMAGE=/boot/vmlinuz-$REL" /proc/cmdline
		t "through the initrd the package's install made (/run/initramfs)" test -d /run/initramfs
		t "the running kernel is /boot/vmlinuz-$REL (its version string)" running_is_installed
	fi
	t "multi-user.target is active" systemctl is-active -q multi-user.target
	t "no failed unit (systemctl --failed, this boot's journal)" none_failed
}

# ---- pgtfree
mode_is() { # mode_is MODE: sysfs, pgtfree's table and its JSON say MODE
	echo "mode file: $(cat $sysfs/mode); pgtfree: $(pgtfree_table_mode); pgtfree -J: $(pgtfree_json_mode)"
	grep -qF "[$1]" $sysfs/mode && [ "$(pgtfree_table_mode)" = "$1" ] && [ "$(pgtfree_json_mode)" = "$1" ]
}
status_async() { "$PGTFREE" && [ "$(pgtfree_table_mode)" = async ]; }
json_async() { "$PGTFREE" -J && [ "$(pgtfree_json_mode)" = async ]; }
set_mode() { local m; m=$("$PGTFREE" mode "$1") || return 1; echo "$m"; [ "$m" = "$1" ]; }

# A module load/unload loop, with the first of these the kernel has as a
# module, not built in (6.12's small kernel has sit built in; both small
# kernels have test_module, CONFIG_TEST_LKM)
loop_module() {
	local m f
	for m in dummy sit test_module; do
		f=$(modinfo -F filename "$m" 2>/dev/null) || continue
		[[ $f == *.ko* ]] && { echo "$m"; return 0; }
	done
	return 1
}
modloop() { # modloop SECONDS
	local m end=$((SECONDS + $1))
	m=$(loop_module) || { echo "no module to load"; return 1; }
	while [ $SECONDS -lt $end ]; do
		modprobe "$m" && modprobe -r "$m" || return 1
	done
}
top_ok() { [ "$toprc" = 0 ] && top_clean "$log.top" || { cat "$log.toperr"; false; }; }
# the CPA path that splits and collapses the module area's mapping
top_names_cpa() { top_callers "$log.top" | awk '$1 ~ /^(__)?(change_page_attr|cpa_)/ && $2 > 0 { f = 1 } END { exit !f }'; }

# ---- the node exporter
scrape() { curl -fsS --max-time 20 http://localhost:9100/metrics >"$1"; }
sample() { # sample FILE NAME: the value of an unlabelled sample
	awk -v n="$2" '$1 == n { print $2; f = 1 } END { exit !f }' "$1"
}
has_samples() { # has_samples FILE: every metric of PGTFREE_METRICS, the verdict
	local m rc=0
	for m in $PGTFREE_METRICS; do
		sample "$1" "$m" >/dev/null || { echo "no sample of $m"; rc=1; }
	done
	grep -qxF "$PGTFREE_SCRAPE_OK" "$1" || { echo "no '$PGTFREE_SCRAPE_OK':"; grep pgtable_free_scrape_error "$1"; rc=1; }
	return $rc
}
scrape_has_samples() { scrape "$1" && has_samples "$1"; }
scrape_has() { scrape "$1" && grep -qxF "$2" "$1"; }
service_runs() { systemctl show -p ExecMainStartTimestampMonotonic --value "$PGTFREE_SERVICE"; }
service_ok() {
	[ "$(systemctl show -p Result --value "$PGTFREE_SERVICE")" = success ] && [ "$(service_runs)" != 0 ] && return 0
	systemctl status --no-pager "$PGTFREE_SERVICE"
	journalctl -b --no-pager -o short-monotonic -u "$PGTFREE_SERVICE" | tail -n 15
	return 1
}
# ran again, and done: its file is newer than at the first scrape
ran_again() {
	[ "$(service_runs)" != "$run1" ] && [ "$(stat -c %Y "$PGTFREE_PROM")" -gt "$mtime1" ] &&
		[ "$(systemctl show -p ActiveState --value "$PGTFREE_SERVICE")" != activating ]
}
# the exporter's time stamp of pgtfree's file
prom_mtime() { awk '$1 ~ /^node_textfile_mtime_seconds\{file=".*pgtfree\.prom"\}$/ { print $2 }' "$1"; }
rewritten() {
	local a b
	a=$(prom_mtime "$log.m1") b=$(prom_mtime "$log.m2")
	echo "node_textfile_mtime_seconds of pgtfree.prom: ${a:-none} -> ${b:-none}"
	[ -n "$a" ] && [ -n "$b" ] && awk -v a="$a" -v b="$b" 'BEGIN { exit !(b > a) }'
}
same_as_sysfs() {
	local q f
	q=$(cat $sysfs/stats/queued) f=$(cat $sysfs/stats/freed_sync)
	echo "sysfs: queued $q, freed_sync $f"
	[ "$(sample "$log.m2" pgtable_free_queued_pages_total)" = "$q" ] &&
		[ "$(sample "$log.m2" pgtable_free_freed_sync_pages_total)" = "$f" ]
}
moved() {
	local m a b
	for m in $PGTFREE_MOVING; do
		a=$(sample "$log.m1" "$m") && b=$(sample "$log.m2" "$m") || continue
		[ "$b" -gt "$a" ] && return 0
	done
	return 1
}

# ---- purge
left_of_pgtfree() {
	local f
	while read -r f; do
		[ -e "$f" ] || continue
		# a directory stays while another package or file is in it
		[ -d "$f" ] && { dpkg-query -S "$f" >/dev/null 2>&1 || [ -n "$(ls -A "$f")" ]; } && continue
		echo "left: $f"
	done <"$log.files"
	find / -xdev \( -path /proc -o -path /sys -o -path /root/debs -o -path /run/debian-system \) -prune -o \
		\( -name '*pgtfree*' -o -name '*pgtable_free*' \) -print 2>/dev/null | while read -r f; do
		case $f in *"$REL"*) continue ;; esac	# the kernel package's
		echo "left: $f"
	done
}
nothing_left() { left_of_pgtfree >"$log.left"; cat "$log.left"; [ ! -s "$log.left" ]; }
no_pgtfree_units() { local u; u=$(systemctl list-unit-files --no-legend 'pgtfree*'); echo "$u"; [ -z "$u" ]; }
no_kernel_left() { local l; l=$(ls -d /boot/*"$REL"* "/lib/modules/$REL" 2>/dev/null); echo "$l"; [ -z "$l" ]; }
all_installed() {
	local p rc=0
	for p in "$@"; do
		[ "$(status_of "$p")" = "ii " ] || { echo "$p: '$(status_of "$p")'"; rc=1; }
	done
	return $rc
}

next=poweroff
case $STEP in
install)
	boot_checks
	t "apt update from the local repository" apt_ update
	cd /root/debs || exit 1
	debs=$(for d in $KERNEL_DEBS ${PGTFREE_DEB:-}; do echo "./$d"; done)
	# shellcheck disable=SC2086 # the packages, one word each
	t "apt install $(echo $debs) prometheus-node-exporter" apt_ install $debs prometheus-node-exporter
	t "the packages are installed" all_installed "linux-image-$REL" ${PGTFREE_DEB:+pgtfree} prometheus-node-exporter
	if [ -n "${PGTFREE_DEB:-}" ]; then
		t "/boot has vmlinuz, System.map and config of $REL" \
			test -f "/boot/vmlinuz-$REL" -a -f "/boot/System.map-$REL" -a -f "/boot/config-$REL"
	else
		# Debian's 7.x packages keep them in linux-base-REL, not /boot
		t "/boot has vmlinuz of $REL; System.map and config are in /boot or /usr/lib/modules/$REL" \
			bash -c "test -f /boot/vmlinuz-$REL && for f in System.map config; do
				test -f /boot/\$f-$REL -o -f /usr/lib/modules/$REL/\$f || exit; done"
	fi
	t "initramfs-tools' hook made /boot/initrd.img-$REL, with the 9p boot script" \
		bash -c "lsinitramfs /boot/initrd.img-$REL | grep -x 'scripts/9p'"
	t "/lib/modules/$REL has its module index" test -s "/lib/modules/$REL/modules.dep"
	t "prometheus-node-exporter is running" systemctl is-active -q prometheus-node-exporter.service
	[ -z "${PGTFREE_DEB:-}" ] ||
		t "$PGTFREE_TIMER is installed, not enabled (opt-in)" \
			bash -c "[ \"\$(systemctl is-enabled $PGTFREE_TIMER)\" = disabled ]"
	next=reboot
	;;
lsmod)
	boot_checks
	t "the node exporter serves its metrics" bash -c "curl -fsS --max-time 20 http://localhost:9100/metrics | grep -c '^node_' >/dev/null"
	t "the loop's module loads ($(loop_module))" modprobe "$(loop_module)"
	t "lsmod to the host's share" bash -c "lsmod >'$share/lsmod'"
	next=poweroff
	;;
use)
	boot_checks
	t "pgtfree: exit 0, the mode async in its table" status_async
	t "pgtfree -J: JSON with the mode and the counters as numbers" json_async
	t "pgtfree mode sync: exit 0, prints sync" set_mode sync
	t "the mode is sync (sysfs, pgtfree, pgtfree -J)" mode_is sync
	t "pgtfree mode async: exit 0, prints async" set_mode async
	before=$(cat $sysfs/stats/queued)
	modloop 8 >"$log.loop" 2>&1 &
	loop=$!
	timeout 60 "$PGTFREE" top -d 5 -n 1 -J >"$log.top" 2>"$log.toperr"
	toprc=$?
	wait $loop
	looprc=$?
	top_callers "$log.top" 2>/dev/null | diag
	echo "loop of $(loop_module): queued $before -> $(cat $sysfs/stats/queued)" | diag
	t "the module load/unload loop ran ($(loop_module))" bash -c "[ $looprc = 0 ] || { cat '$log.loop'; false; }"
	t "pgtfree top -d 5 -n 1 during the loop: exit 0, JSON, no event lost or malformed" top_ok
	if [ "$MODULE_FREES" = 1 ]; then
		t "pgtfree top names the CPA path of the module loads (change_page_attr_set_clr, cpa_*), with frees" top_names_cpa
	fi

	t "systemctl enable --now $PGTFREE_TIMER" systemctl enable --now "$PGTFREE_TIMER"
	t "the timer's first run of $PGTFREE_SERVICE succeeded" wait_for 60 service_ok
	t "the timer is enabled and active" bash -c "systemctl is-enabled -q $PGTFREE_TIMER && systemctl is-active -q $PGTFREE_TIMER"
	t "the collector wrote $PGTFREE_PROM" wait_for 60 test -s "$PGTFREE_PROM"
	run1=$(service_runs) mtime1=$(stat -c %Y "$PGTFREE_PROM")
	t "curl of the node exporter's /metrics: pgtfree's samples and '$PGTFREE_SCRAPE_OK'" scrape_has_samples "$log.m1"
	t "the exporter read the textfile directory without error" grep -qx 'node_textfile_scrape_error 0' "$log.m1"
	t "the scrape says async" grep -qxF "$(mode_sample async)" "$log.m1"
	modloop 20 >/dev/null 2>&1
	t "the collector ran again a timer period later" wait_for $((PGTFREE_PERIOD + 60)) ran_again
	scrape "$log.m2"
	for m in $PGTFREE_MOVING; do
		echo "$m: $(sample "$log.m1" "$m") -> $(sample "$log.m2" "$m")"
	done | diag
	t "the second scrape: pgtfree.prom written again (the exporter's mtime of it moved)" rewritten
	if [ "$MODULE_FREES" = 1 ]; then
		t "the second scrape shows the counters moved" moved
	else
		t "the second scrape shows the counters sysfs has (nothing frees kernel page tables here)" same_as_sysfs
	fi
	t "and still '$PGTFREE_SCRAPE_OK'" grep -qxF "$PGTFREE_SCRAPE_OK" "$log.m2"

	t "apt install sysfsutils" apt_ install sysfsutils
	echo "$SYSFS_LINE" >"$SYSFS_CONF"
	t "the mode in $SYSFS_CONF: '$SYSFS_LINE'" grep -qxF "$SYSFS_LINE" "$SYSFS_CONF"
	next=reboot
	;;
sysfs)
	boot_checks
	t "no $BOOT_PARAM on the command line" bash -c "! grep -qw '$BOOT_PARAM' /proc/cmdline"
	t "sysfsutils ran at boot" systemctl is-active -q sysfsutils.service
	t "after the reboot the mode is sync, from $SYSFS_CONF" mode_is sync
	t "the timer is active again after the reboot" systemctl is-active -q "$PGTFREE_TIMER"
	t "the node exporter serves the mode sync" wait_for 60 scrape_has "$log.m3" "$(mode_sample sync)"
	rm -f "$SYSFS_CONF"
	echo "$BOOT_PARAM" >/etc/kernel/cmdline
	t "the boot parameter instead: $SYSFS_CONF removed, $BOOT_PARAM in /etc/kernel/cmdline" \
		bash -c "[ ! -e $SYSFS_CONF ] && grep -qw $BOOT_PARAM /etc/kernel/cmdline"
	next=reboot
	;;
cmdline)
	boot_checks
	t "$BOOT_PARAM is on the command line" grep -qw "$BOOT_PARAM" /proc/cmdline
	t "after the reboot the mode is sync, from the boot parameter" mode_is sync
	rm -f /etc/kernel/cmdline
	dpkg-query -L pgtfree >"$log.files"
	echo "pgtfree: $(wc -l <"$log.files") paths" | diag
	t "apt purge pgtfree" apt_ purge pgtfree
	t "dpkg no longer knows pgtfree" test -z "$(status_of pgtfree)"
	t "nothing of pgtfree left: its files, units, timer link, metrics file" nothing_left
	t "systemd knows no pgtfree unit" no_pgtfree_units
	t "the node exporter serves no pgtable_free sample" bash -c "curl -fsS --max-time 20 http://localhost:9100/metrics >'$log.m4' && ! grep -q '^pgtable_free' '$log.m4'"
	next=poweroff
	;;
remove)
	boot_checks
	t "apt purge linux-image-$REL" apt_ purge "linux-image-$REL"
	t "dpkg no longer knows linux-image-$REL" test -z "$(status_of "linux-image-$REL")"
	t "nothing of $REL left in /boot and /lib/modules (the initrd removed by initramfs-tools' hook)" no_kernel_left
	t "no failed unit after the removal" none_failed
	next=poweroff
	;;
short)
	boot_checks
	t "the mode reads async (sysfs, pgtfree, pgtfree -J)" mode_is async
	t "$PGTFREE_TIMER and $PGTFREE_SERVICE load, the timer disabled" bash -c \
		"[ \"\$(systemctl show -p LoadState,UnitFileState --value $PGTFREE_TIMER | tr '\n' ' ')\" = 'loaded disabled ' ] && [ \"\$(systemctl show -p LoadState --value $PGTFREE_SERVICE)\" = loaded ]"
	t "systemctl start $PGTFREE_SERVICE" start "$PGTFREE_SERVICE"
	t "the node exporter serves pgtfree's samples and '$PGTFREE_SCRAPE_OK'" scrape_has_samples "$log.m1"
	t "no failed unit after the collector ran" none_failed
	next=poweroff
	;;
*)
	notok "unknown step '$STEP'"
	;;
esac
echo "next: $next"
