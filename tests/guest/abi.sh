#!/bin/bash
# In the guest: every sysfs file of ours is described by the ABI file, with
# the documented permissions; nothing we expose or log shows a kernel
# pointer; the debug and test files are root-only.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"
# The ABI file of this base's series (each kernel patch documents its files)
abi=${PGTFREE_BUILD:?}/linux/Documentation/ABI/testing/sysfs-kernel-mm-pgtable_free
sys=/sys/kernel/mm/pgtable_free

check "the series' ABI file is there ($abi)" test -f "$abi"

check "the feature's sysfs directory exists" test -d $sys
files=()
mapfile -t files < <(cd $sys && find . -type f | sed 's|^\./||' | sort)
check "sysfs has the files of the ABI (${#files[@]} found)" test ${#files[@]} -ge 10
for f in "${files[@]}"; do
	check "ABI describes $f" grep -qx "What:[[:space:]]*$sys/$f" "$abi"
done
# ...and the ABI file describes nothing that is not there.
documented=$(sed -n "s|^What:[[:space:]]*\\($sys/.*[^/]\\)\$|\\1|p" "$abi")
check "the ABI file documents files ($(wc -w <<<"$documented"))" test -n "$documented"
for what in $documented; do
	check "documented $what exists" test -e "$what"
done

perm() { stat -c %a "$sys/$1"; }
check "mode is 0644" test "$(perm mode)" = 644
check "drain is 0200" test "$(perm drain)" = 200
for f in "${files[@]}"; do
	case $f in stats/*) check "$f is 0444" test "$(perm "$f")" = 444 ;; esac
done

# No kernel addresses: values are small decimals, log lines carry none.
check "no stats value looks like a kernel address" \
	bash -c "! grep -hE '[0-9a-f]{12,}' $sys/stats/* /sys/kernel/debug/pgtable_free/stats"
check "no pgtable_free log line carries an address" \
	bash -c "! dmesg | grep pgtable_free | grep -E '(0x)?ffff[0-9a-f]{8,}'"

nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
check "an unprivileged user reads the stats" nobody cat $sys/stats/pending
check "an unprivileged user cannot read debugfs" bash -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups ls /sys/kernel/debug/pgtable_free"
check "debugfs files of ours are root-only (mode 0600/0400)" \
	bash -c "! find /sys/kernel/debug/pgtable_free -type f -perm /077 | grep ."

totals
