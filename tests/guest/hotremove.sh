#!/bin/bash
# In the guest (scripts/vm-exec --dimms N): memory hot-remove, a real caller
# of the deferral.  Each cold-plugged DIMM (one 128 MiB memory block) is
# onlined movable and ejected through ACPI: arch_remove_memory() tears
# down its direct map and vmemmap.  In a plain cycle those tables are the
# unmarked ones hot-add built, freed at once and never counted, and the
# block's 2 MiB of vmemmap must come back to the allocator.  In an HVO
# cycle huge pages are first taken from the block with the HugeTLB
# vmemmap optimisation on, which splits the block's vmemmap mapping into a
# kernel PTE table: remove frees that table through pagetable_free(), and
# it must go through the deferral, named by the trace events.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"

# The test hooks this suite uses, all here.
hooks=/sys/kernel/debug/pgtable_free/test
have_sva() { [ -w $hooks/sva_bind ]; }
sva_bind() { echo "$1" >$hooks/sva_bind; }

sys=/sys/kernel/mm/pgtable_free
tr=/sys/kernel/tracing/instances/hotremove
out=${VM_EXEC_OUT:-/tmp}
vm=/proc/sys/vm
mem=/sys/devices/system/memory
# What each DIMM's cycle does, in order: plain, or HVO with the deferral
# async, sync, or async with a fake SVA address space bound.  6.12's HVO
# is broken in this guest: freeing the huge pages it optimised reports
# "Bad page state" (corrupted mapping in tail page), with or without the
# series, so 6.12 runs plain cycles only.
case ${PGTFREE_BASE:-7.3} in
7.3) kinds=plain,hvo,plain,hvo-sync,hvo-bound ;;
*) kinds=plain,plain ;;
esac
kinds=(${HOTREMOVE_KINDS:-$kinds})
kinds=(${kinds[*]//,/ })
# PageTables (kB) of the PTE table the optimisation splits a block's
# vmemmap into: 7.3's pte_alloc_one_kernel() counts kernel tables, 6.12's
# does not
case ${PGTFREE_BASE:-7.3} in
7.3) hvo_pt=4 ;;
*) hvo_pt=0 ;;
esac
# The pages a cycle may take or give besides what it must free: the
# allocations of the shell and the kernel around it (seen: up to 21)
slack=${HOTREMOVE_SLACK:-64}

. "$top/tests/guest/quiet.sh"
# figures: sets avail (pages free, in the per-CPU lists, in slab, anon and
# the page cache: what the kernel does not hold for itself), memmap (the
# vmemmap's pages), pt (PageTables, kB), dm4k (DirectMap4k, kB), memtotal
# (kB), the deferral's counters, and fig, all of them in one line
figures() {
	local k x _
	avail=0
	while read -r k x _; do
		case $k in nr_free_pages | count:) avail=$((avail + x)) ;; esac
	done </proc/zoneinfo
	memmap=0
	while read -r k x _; do
		case $k in
		nr_slab_reclaimable | nr_slab_unreclaimable | nr_anon_pages | nr_file_pages)
			avail=$((avail + x)) ;;
		nr_memmap_pages) memmap=$x ;;
		esac
	done </proc/vmstat
	kv /proc/meminfo PageTables:; pt=$v
	kv /proc/meminfo DirectMap4k:; dm4k=${v:-0}
	kv /proc/meminfo MemTotal:; memtotal=$v
	fig="avail $avail memmap $memmap pagetables $pt directmap4k $dm4k memtotal $memtotal"
	for k in queued freed pending freed_sync batches invalidations; do
		x=0
		[ -r $sys/stats/$k ] && read -r x <$sys/stats/$k
		printf -v "c_$k" %s "$x"
		fig="$fig $k $x"
	done
}
# settle: nothing pending, the figures stable
settle() {
	[ -w $sys/drain ] && echo 1 >$sys/drain
	stable figures
}
# keep NAME: the figures under NAME_...
keep() {
	local k
	for k in avail memmap pt dm4k memtotal c_queued c_freed c_freed_sync c_batches c_invalidations; do
		printf -v "$1_$k" %s "${!k}"
	done
}
# delta NAME VAR: VAR now minus VAR kept under NAME
delta() { local b=$1_$2; echo $((${!2} - ${!b})); }

trace_start() {
	echo 0 >$tr/tracing_on
	: >$tr/trace
	echo 1 >$tr/events/pgtable_free/enable
	echo 1 >$tr/tracing_on
}
trace_stop() {
	echo 0 >$tr/tracing_on
	grep -v '^#' $tr/trace >"$1"
	echo 0 >$tr/events/pgtable_free/enable
}
callers() {
	sed -n "s/.* $2: caller=\([^+ ]*\).*/\1/p" "$1" | sort | uniq -c
}
# Every caller of EVENT in FILE is a function of x86's memory hot-remove
src=${PGTFREE_BUILD:?}/linux/arch/x86/mm/init_64.c
all_callers_hotremove() {
	local n fn
	while read -r n fn; do
		grep -qE "^([a-z].*[ *])?$fn\(" "$src" || { echo "$n from $fn, not init_64.c"; return 1; }
	done < <(callers "$1" "$2")
}
# The memory blocks of an ACPI memory device
blocks_of() {
	local l
	for l in "$1"/physical_node*; do
		[ -e "$l" ] && basename "$(readlink -f "$l")"
	done
}

dimms=()
mapfile -t dimms < <(ls -d /sys/bus/acpi/devices/PNP0C80:* 2>/dev/null)
check "the guest has DIMMs to remove (${#dimms[@]}; vm-exec --dimms)" test ${#dimms[@]} -ge 1
check "the kernel has the deferral's sysfs files" test -d $sys
case " ${kinds[*]} " in
*" hvo"*) check "this kernel has the HugeTLB vmemmap optimisation" test -w $vm/hugetlb_optimize_vmemmap ;;
esac
mkdir -p $tr
one_cpu
echo async >$sys/mode
case " ${kinds[*]} " in
# The fake SVA binding is the test module's (CONFIG_TEST_PGTABLE_FREE=m)
*" hvo-bound "*) modprobe pgtable_free_test && check "the test module's fake SVA binding is there" have_sva ;;
esac

check "as many DIMMs as cycles (${#kinds[@]})" test ${#dimms[@]} -ge ${#kinds[@]}
i=0
for dimm in "${dimms[@]:0:${#kinds[@]}}"; do
	kind=${kinds[$i]}
	i=$((i + 1))
	blocks=($(blocks_of "$dimm"))
	nb=${#blocks[@]}
	c="cycle $i ($kind, $nb block)"
	echo "# $c: $(basename "$dimm"): ${blocks[*]}"
	case $kind in
	hvo-sync) echo sync >$sys/mode ;;
	hvo-bound) sva_bind 1 ;;
	esac
	settle
	keep b
	echo "# before: $fig"
	for b in "${blocks[@]}"; do
		echo online_movable >$mem/$b/state
	done
	if [ "$kind" != plain ]; then
		echo 1 >$vm/hugetlb_optimize_vmemmap
		echo 16 >$vm/nr_hugepages
		kv /proc/meminfo HugePages_Total:
		echo "# huge pages: $v"
		echo 0 >$vm/nr_hugepages
		echo 0 >$vm/hugetlb_optimize_vmemmap
	fi
	# Huge pages of an optimised vmemmap are freed by a work item.
	settle
	keep o
	echo "# online: $fig"
	trace_start
	echo 1 >"$dimm/eject"
	for t in {1..300}; do
		[ -e $mem/${blocks[0]} ] || break
		nap 0.2
	done
	settle
	trace_stop "$out/hotremove-$i.trace"
	echo "# after: $fig"
	case $kind in
	hvo-sync) echo async >$sys/mode ;;
	hvo-bound) sva_bind 0 ;;
	esac
	callers "$out/hotremove-$i.trace" pgtable_free_queue | sed 's/^/# queued by /'
	callers "$out/hotremove-$i.trace" pgtable_free_sync | sed 's/^/# freed at once by /'

	check "$c: the DIMM's memory is gone" test ! -e $mem/${blocks[0]}
	check "$c: MemTotal back at ${b_memtotal} kB" test "$memtotal" -eq "$b_memtotal"
	# The vmemmap of a 128 MiB block is 2 MiB, 512 pages; a direct map of
	# 4 KiB pages (the debug kernel's) had a PTE table per 2 MiB.
	vmemmap=$((-$(delta b memmap)))
	ptes=$((-$(delta b dm4k) / 2048))
	want=$((vmemmap + ptes))
	got=$(delta b avail)
	echo "# $c: vmemmap pages released $vmemmap, 4 KiB direct map PTE tables $ptes, pages back $got, PageTables $(delta b pt) kB"
	check "$c: the vmemmap released (512 pages a block)" test $vmemmap -eq $((512 * nb))
	check "$c: its pages back in the allocator ($got of $want, +-$slack)" \
		test $got -ge $((want - slack)) -a $got -le $((want + slack))
	check "$c: PageTables back at $b_pt kB" test "$pt" -eq "$b_pt"
	queued=$(delta b c_queued) sync=$(delta b c_freed_sync)
	echo "# $c: queued $queued, freed $(delta b c_freed), freed at once $sync, batches $(delta b c_batches), invalidations $(delta b c_invalidations)"
	check "$c: at rest queued == freed + pending, nothing pending" \
		test "$c_queued" -eq $((c_freed + c_pending)) -a "$c_pending" -eq 0
	case $kind in
	plain)
		check "$c: no kernel page table queued" test "$queued" -eq 0
		check "$c: none freed at once" test "$sync" -eq 0
		check "$c: PageTables unchanged online" test "$o_pt" -eq "$b_pt"
		;;
	hvo | hvo-bound)
		check "$c: PageTables +$((hvo_pt * nb)) kB online (the vmemmap split)" \
			test "$o_pt" -eq $((b_pt + hvo_pt * nb))
		check "$c: its PTE table queued, one a block" test "$queued" -eq "$nb"
		check "$c: none freed at once" test "$sync" -eq 0
		check "$c: freed" test "$(delta b c_freed)" -eq "$queued"
		check "$c: the queue event names the hot-remove code" \
			all_callers_hotremove "$out/hotremove-$i.trace" pgtable_free_queue
		if [ $kind = hvo-bound ]; then
			check "$c: the batch invalidated" test "$(delta b c_invalidations)" -ge 1 \
				-a "$(delta b c_invalidations)" -eq "$(delta b c_batches)"
		else
			check "$c: nothing invalidated with nothing bound" test "$(delta b c_invalidations)" -eq 0
		fi
		;;
	hvo-sync)
		check "$c: PageTables +$((hvo_pt * nb)) kB online (the vmemmap split)" \
			test "$o_pt" -eq $((b_pt + hvo_pt * nb))
		check "$c: its PTE table freed at once, one a block" test "$sync" -eq "$nb"
		check "$c: none queued" test "$queued" -eq 0
		check "$c: the sync event names the hot-remove code" \
			all_callers_hotremove "$out/hotremove-$i.trace" pgtable_free_sync
		;;
	esac
done
all_cpus
rmdir $tr
totals
