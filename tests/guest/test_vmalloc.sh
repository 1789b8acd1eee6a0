#!/bin/bash
# In the guest: the kernel's own lib/test_vmalloc module, with small and
# with huge mappings, must pass on our kernel as on the kernel without the
# series (make check compares the "CASE pass|fail" lines this writes to
# $VM_EXEC_OUT/test_vmalloc.results).  Where the kernel has the deferral's
# counters and trace events, the kernel page tables each run frees are
# counted and their callers named:
# - each load of the module (on 7.3: the CPA collapse of its text, 3
#   tables; on 6.12: none),
# - __pte_alloc_kernel() losing a race between the two test threads (any
#   number, none included),
# - pmd_free_pte_page(): a huge mapping over a PMD that held a PTE table
#   (use_huge=1: some, every time; use_huge=0: vmalloc() never maps huge),
# - and, after the small run has left PTE tables all over the low vmalloc
#   range, a process that grows its file table to 1 Mi descriptors: the
#   kernel's kvmalloc() of 8 MiB maps four huge PMDs, each over a table.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"
# Each kernel make check boots has its own release string and modules.
ko=""
b=${PGTFREE_BUILD:?}
for k in "$b"/kernel "$b"/kernel-debug "$b"/variants/*/kernel; do
	f=$k/modroot/lib/modules/$(uname -r)/kernel/lib/test_vmalloc.ko
	[ -f "$f" ] && ko=$f && break
done
sys=/sys/kernel/mm/pgtable_free
stats=$sys/stats
tr=/sys/kernel/tracing/instances/test_vmalloc
out=${VM_EXEC_OUT:-/tmp}
res=$out/test_vmalloc.results
: >"$res"
kpt() { cat $stats/"$1" 2>/dev/null || echo 0; }
# Tables the CPA collapse frees per load of a module (module_loop.sh)
case ${PGTFREE_BASE:-7.3} in
7.3) per_load=3 ;;
*) per_load=0 ;;
esac
# Descriptors the file table grows to: 8 MiB of pointers, four 2 MiB PMDs
fds=1048576
fd_pmds=4

# All cases but long_busy_list (minutes under TCG) and align_shift, which
# asks for alignments vmalloc cannot give and fails by design.
mask=$(( (1 << 11) - 1 & ~(1 << 2) & ~(1 << 6) ))
cases=(fix_size_alloc_test full_fit_alloc_test random_size_alloc_test
	fix_align_alloc_test random_size_align_alloc_test pcpu_alloc_test
	kvfree_rcu_1_arg_vmalloc_test kvfree_rcu_2_arg_vmalloc_test vm_map_ram_test)

if [ -z "$ko" ]; then
	check "test_vmalloc.ko was built for $(uname -r) (CONFIG_TEST_VMALLOC=m)" false
	totals
	exit
fi
counted=0
[ -d $stats ] && [ -d /sys/kernel/tracing/events/pgtable_free ] && counted=1
[ $counted = 1 ] || echo "# this kernel has no pgtable_free counters or events: the runs are not counted"
[ $counted = 1 ] && echo async >$sys/mode

trace_start() {
	[ $counted = 1 ] || return 0
	mkdir -p $tr
	echo 0 >$tr/tracing_on
	echo 8192 >$tr/buffer_size_kb
	: >$tr/trace
	echo 1 >$tr/events/pgtable_free/pgtable_free_queue/enable
	echo 1 >$tr/tracing_on
	q0=$(kpt queued) f0=$(kpt freed) s0=$(kpt freed_sync)
}
# trace_stop NAME: drain, keep the events in $out/test_vmalloc-NAME.trace,
# and count them by caller: cpa (a function of set_memory.c), pmd
# (pmd_free_pte_page), race (__pte_alloc_kernel), other
trace_stop() {
	local n fn
	[ $counted = 1 ] || return 0
	echo 1 >$sys/drain
	echo 0 >$tr/tracing_on
	grep -v '^#' $tr/trace >"$out/test_vmalloc-$1.trace"
	echo 0 >$tr/events/pgtable_free/pgtable_free_queue/enable
	events=$(grep -c ' pgtable_free_queue: ' "$out/test_vmalloc-$1.trace")
	cpa=0 pmd=0 race=0 other=0
	while read -r n fn; do
		echo "# $1: $n queued by $fn"
		case $fn in
		pmd_free_pte_page) pmd=$((pmd + n)) ;;
		__pte_alloc_kernel) race=$((race + n)) ;;
		*)
			if grep -qE "^([a-z].*[ *])?$fn\(" "$b/linux/arch/x86/mm/pat/set_memory.c"; then
				cpa=$((cpa + n))
			else
				other=$((other + n))
			fi
			;;
		esac
	done < <(sed -n 's/.* pgtable_free_queue: caller=\([^+ ]*\).*/\1/p' "$out/test_vmalloc-$1.trace" | sort | uniq -c)
	queued=$(($(kpt queued) - q0)) freed=$(($(kpt freed) - f0))
}
# counted_checks NAME: what every counted run holds
counted_checks() {
	check "$1: the counters saw every queue event ($queued)" test "$queued" -eq "$events"
	check "$1: all of them freed" test "$freed" -eq "$queued" -a "$(kpt pending)" -eq 0
	check "$1: none freed at once in async mode" test $(($(kpt freed_sync) - s0)) -eq 0
	check "$1: no caller but the CPA collapse, pmd_free_pte_page and __pte_alloc_kernel ($other)" \
		test "$other" -eq 0
}

for huge in 0 1; do
	mark="test_vmalloc run use_huge=$huge $$"
	echo "$mark" >/dev/kmsg
	trace_start
	# The module runs its tests at load and then refuses to stay loaded.
	insmod "$ko" run_test_mask=$mask test_loop_count=500 nr_threads=2 \
		nr_pages=512 use_huge=$huge 2>/dev/null
	trace_stop use_huge=$huge
	log=$(dmesg | sed -n "/$mark/,\$p")
	for c in "${cases[@]}"; do
		if grep -qE "Summary: $c passed: [1-9][0-9]* failed: 0 " <<<"$log"; then
			echo "use_huge=$huge:$c pass" >>"$res"
		else
			echo "use_huge=$huge:$c fail" >>"$res"
		fi
		check "use_huge=$huge: $c passed, none failed" \
			grep -qx "use_huge=$huge:$c pass" "$res"
	done
	if [ $counted = 1 ]; then
		counted_checks "use_huge=$huge"
		check "use_huge=$huge: the module's load freed $per_load tables through the CPA collapse" \
			test "$cpa" -eq $per_load
		if [ $huge = 1 ]; then
			check "use_huge=1: huge mappings replaced PTE tables (pmd_free_pte_page: $pmd)" \
				test "$pmd" -ge 1
		else
			check "use_huge=0: no huge mapping, so no pmd_free_pte_page ($pmd)" test "$pmd" -eq 0
		fi
	fi
	if [ $huge = 0 ] && [ $counted = 1 ]; then
		# Three processes in turn, each growing its file table
		for i in 1 2 3; do
			trace_start
			bash -c "ulimit -n $fds && exec $((fds - 1))</dev/null"
			trace_stop fdtable-$i
			counted_checks "file table of $fds, $i"
			check "file table of $fds, $i: kvmalloc's huge mapping freed $fd_pmds PTE tables (pmd_free_pte_page: $pmd)" \
				test "$pmd" -eq $fd_pmds
		done
	fi
done
check "no test_vmalloc summary line reports a failure" \
	bash -c "! dmesg | grep -E 'Summary: .* failed: [1-9]' | grep -v align_shift"
[ -d $tr ] && rmdir $tr
totals
