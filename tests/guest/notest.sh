#!/bin/bash
# In the guest of the kernel built with the feature but without its test
# code (configs/notest.config, as a production kernel has it): the sysfs
# interface and the root-only debugfs snapshot are there, nothing of the
# test module, the rule checker or the KUnit suite is, and the kselftest
# skips and says why.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"
sys=/sys/kernel/mm/pgtable_free
dbg=/sys/kernel/debug/pgtable_free

check "the feature's sysfs directory exists" test -d $sys
check "the debugfs snapshot exists" test -f $dbg/stats
check "the debugfs snapshot is root-only (0400)" test "$(stat -c %a $dbg/stats)" = 400
check "no test module without CONFIG_TEST_PGTABLE_FREE" bash -c 'modprobe -n -q test_vmalloc && ! modprobe -n -q pgtable_free_test'
check "no test hooks without CONFIG_TEST_PGTABLE_FREE" test ! -e $dbg/test
check "debugfs holds only the snapshot (no rule checker)" test "$(ls -A $dbg)" = stats
check "the KUnit suite did not run" bash -c "! dmesg | grep -q 'Subtest: pgtable_free'"

# The kselftest needs the hooks: every test skips, naming the option.
st=${PGTFREE_SELFTESTS:?}/pgtable_free/pgtable_free_test
"$st" >"${VM_EXEC_OUT:-/tmp}/kselftest-notest.log" 2>&1
rc=$?
log=$(cat "${VM_EXEC_OUT:-/tmp}/kselftest-notest.log")
check "the kselftest exits 0 or 4 (skip), not a failure (exit $rc)" \
	bash -c "[ $rc -eq 0 ] || [ $rc -eq 4 ]"
check "the kselftest fails nothing and skips everything" \
	grep -qE '^# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:[1-9][0-9]* error:0' <<<"$log"
check "its skips name CONFIG_TEST_PGTABLE_FREE" \
	grep -q 'SKIP.*CONFIG_TEST_PGTABLE_FREE=m' <<<"$log"

# pgtfree works on such a kernel: status and a round trip of the mode.
check "pgtfree status runs" pgtfree status
check "pgtfree mode sync, then async" bash -c 'pgtfree mode sync && pgtfree mode async'
check "the mode is async again" grep -qx '\[async\] sync' $sys/mode
totals
