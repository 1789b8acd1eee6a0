#!/bin/bash
# In the debug guest, after the other suites: a kmemleak scan must find no
# leak whose allocation involves our code (pgtable_free).  Leaks of other
# subsystems are listed, not judged.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"
kl=/sys/kernel/debug/kmemleak

if [ ! -e $kl ]; then
	skip "kmemleak" "kernel without CONFIG_DEBUG_KMEMLEAK"
	totals
	exit
fi
# Two scans, as kmemleak.rst advises, so that young objects are not reported.
echo scan >$kl; sleep 2; echo scan >$kl
cat $kl >"${VM_EXEC_OUT:-/tmp}/kmemleak.txt"
n=$(grep -c '^unreferenced object' "${VM_EXEC_OUT:-/tmp}/kmemleak.txt")
echo "# kmemleak: $n suspected leaks in all"
check "kmemleak scan ran" test -r $kl
check "no suspected leak involves pgtable_free" \
	bash -c "! grep -E 'pgtable_free|kernel_pgtable' '${VM_EXEC_OUT:-/tmp}/kmemleak.txt'"
totals
