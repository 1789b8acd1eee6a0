#!/bin/bash
# In the guest: the kernel's own lib/test_vmalloc module, with small and
# with huge mappings, must pass on our kernel; the pgtable_free counters
# show whether it drove kernel page-table frees.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"
ko=$(find "$top/build/kernel/modroot/lib/modules/$(uname -r)" -name test_vmalloc.ko 2>/dev/null | head -1)
stats=/sys/kernel/mm/pgtable_free/stats

# All cases but long_busy_list (minutes under TCG) and align_shift, which
# asks for alignments vmalloc cannot give and fails by design.
mask=$(( (1 << 11) - 1 & ~(1 << 2) & ~(1 << 6) ))
cases=(fix_size_alloc_test full_fit_alloc_test random_size_alloc_test
	fix_align_alloc_test random_size_align_alloc_test pcpu_alloc_test
	kvfree_rcu_1_arg_vmalloc_test kvfree_rcu_2_arg_vmalloc_test vm_map_ram_test)

if [ -z "$ko" ]; then
	skip "test_vmalloc" "no test_vmalloc.ko for $(uname -r) (CONFIG_TEST_VMALLOC=m)"
	totals
	exit
fi

for huge in 0 1; do
	q0=$(cat $stats/queued) s0=$(cat $stats/freed_sync)
	mark="test_vmalloc run use_huge=$huge $$"
	echo "$mark" >/dev/kmsg
	# The module runs its tests at load and then refuses to stay loaded.
	insmod "$ko" run_test_mask=$mask test_loop_count=500 nr_threads=2 \
		nr_pages=512 use_huge=$huge 2>/dev/null
	log=$(dmesg | sed -n "/$mark/,\$p")
	for c in "${cases[@]}"; do
		check "use_huge=$huge: $c passed, none failed" \
			bash -c "grep -qE 'Summary: $c passed: [1-9][0-9]* failed: 0 ' <<<\"\$1\"" _ "$log"
	done
	echo "# use_huge=$huge: kernel page tables queued $(( $(cat $stats/queued) - q0 )), freed at once $(( $(cat $stats/freed_sync) - s0 ))"
done
check "no test_vmalloc summary line reports a failure" \
	bash -c "! dmesg | grep -E 'Summary: .* failed: [1-9]' | grep -v align_shift"
totals
