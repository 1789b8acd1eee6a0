#!/bin/bash
# In the guest: the kernel's own lib/test_vmalloc module, with small and
# with huge mappings, must pass on our kernel as on the kernel without the
# series (make check compares the "CASE pass|fail" lines this writes to
# $VM_EXEC_OUT/test_vmalloc.results); the pgtable_free counters show
# whether it drove kernel page-table frees.
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
stats=/sys/kernel/mm/pgtable_free/stats
res=${VM_EXEC_OUT:-/tmp}/test_vmalloc.results
: >"$res"
kpt() { cat $stats/"$1" 2>/dev/null || echo 0; }

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

for huge in 0 1; do
	q0=$(kpt queued) s0=$(kpt freed_sync)
	mark="test_vmalloc run use_huge=$huge $$"
	echo "$mark" >/dev/kmsg
	# The module runs its tests at load and then refuses to stay loaded.
	insmod "$ko" run_test_mask=$mask test_loop_count=500 nr_threads=2 \
		nr_pages=512 use_huge=$huge 2>/dev/null
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
	[ -d $stats ] &&
		echo "# use_huge=$huge: kernel page tables queued $(($(kpt queued) - q0)), freed at once $(($(kpt freed_sync) - s0))"
done
check "no test_vmalloc summary line reports a failure" \
	bash -c "! dmesg | grep -E 'Summary: .* failed: [1-9]' | grep -v align_shift"
totals
