#!/bin/bash
# In the guest (scripts/real-batches boots it): the batches and
# invalidations of the kernel's real callers.  With a fake SVA address
# space bound (the test module), so that every batch invalidates, each
# workload runs twice: REAL_CYCLES module load/unload cycles, a memory
# hot-remove of a DIMM whose vmemmap HVO split, test_vmalloc with small
# and with huge mappings, and three processes growing their file table to
# 1 Mi descriptors.  Per run: the tables queued, the batches, the
# invalidations, and the most pages pending at once (the queue events'
# pending field).  On a kernel without the series (mainline's deferral:
# schedule_work() on every free), the same workloads once: the batches
# are the deferral's work item runs (workqueue_execute_start of
# kernel_pgtable_work_func), and the pages of each batch the page frees
# on that CPU while it runs.  Counts compare across boots; times do not.
# One line per run: "real-batches KERNEL RUN WORKLOAD key=value..."
set -u
top=${PGTFREE_TOP:?}

# The test hooks this script uses, all here.
hooks=/sys/kernel/debug/pgtable_free/test
sva_bind() { echo "$1" >$hooks/sva_bind; }

sys=/sys/kernel/mm/pgtable_free
tr=/sys/kernel/tracing/instances/real_batches
vm=/proc/sys/vm
mem=/sys/devices/system/memory
N=${REAL_CYCLES:-20}
mods=${PGTFREE_BUILD:?}/kernel/modroot/lib/modules/$(uname -r)/kernel/lib
for k in "$PGTFREE_BUILD"/kernel "$PGTFREE_BUILD"/variants/*/kernel; do
	[ -f "$k/modroot/lib/modules/$(uname -r)/kernel/lib/test_module.ko" ] &&
		mods=$k/modroot/lib/modules/$(uname -r)/kernel/lib
done
ours=0
[ -d $sys ] && ours=1
kernel=base
[ $ours = 1 ] && kernel=series

st() { cat $sys/stats/"$1"; }

trace_start() {
	mkdir -p $tr
	echo 0 >$tr/tracing_on
	echo 16384 >$tr/buffer_size_kb
	: >$tr/trace
	if [ $ours = 1 ]; then
		echo 1 >$tr/events/pgtable_free/enable
		q0=$(st queued) b0=$(st batches) i0=$(st invalidations)
	else
		fn=$(awk '$3 == "kernel_pgtable_work_func" { print "0x" $1 }' /proc/kallsyms)
		echo "function == $fn" >$tr/events/workqueue/workqueue_execute_start/filter
		echo "function == $fn" >$tr/events/workqueue/workqueue_execute_end/filter
		echo "enable_event:kmem:mm_page_free if function == $fn" \
			>$tr/events/workqueue/workqueue_execute_start/trigger
		echo "disable_event:kmem:mm_page_free if function == $fn" \
			>$tr/events/workqueue/workqueue_execute_end/trigger
		echo 1 >$tr/events/workqueue/workqueue_execute_start/enable
		echo 1 >$tr/events/workqueue/workqueue_execute_end/enable
	fi
	echo 1 >$tr/tracing_on
}

# trace_stop RUN WORKLOAD: one result line
trace_stop() {
	local f=/tmp/real-batches.trace
	if [ $ours = 1 ]; then
		echo 1 >$sys/drain
	else
		sleep 1
	fi
	echo 0 >$tr/tracing_on
	cat $tr/trace >$f
	if [ $ours = 1 ]; then
		echo 0 >$tr/events/pgtable_free/enable
		echo "real-batches $kernel $1 $2 tables=$(($(st queued) - q0))" \
			"batches=$(($(st batches) - b0)) invalidations=$(($(st invalidations) - i0))" \
			"pending_max=$(sed -n 's/.* pgtable_free_queue: .* pending=\([0-9]*\).*/\1/p' $f | sort -n | tail -1)"
	else
		echo 0 >$tr/events/workqueue/workqueue_execute_start/enable
		echo 0 >$tr/events/workqueue/workqueue_execute_end/enable
		echo 0 >$tr/events/kmem/mm_page_free/enable
		echo "!enable_event:kmem:mm_page_free if function == $fn" \
			>$tr/events/workqueue/workqueue_execute_start/trigger
		echo "!disable_event:kmem:mm_page_free if function == $fn" \
			>$tr/events/workqueue/workqueue_execute_end/trigger
		# Per CPU: the page frees between the work item's start and end
		awk -v k="$kernel" -v w="$1" -v l="$2" '
			/^#/ { next }
			{ cpu = $2 }
			/ workqueue_execute_start: / { open[cpu] = 1; n[cpu] = 0; b++; next }
			/ workqueue_execute_end: / { if (open[cpu]) { t += n[cpu]; if (n[cpu] > m) m = n[cpu] } open[cpu] = 0; next }
			/ mm_page_free: / { if (open[cpu]) n[cpu]++ }
			END { printf "real-batches %s %s %s tables=%d batches=%d invalidations=(%d) pending_max=(%d)\n", k, w, l, t, b, b, m }
		' $f
		grep -q 'entries-in-buffer/entries-written: \([0-9]*\)/\1 ' $f ||
			grep -m1 'entries-in-buffer' $f | sed 's/^/# trace buffer overran: /'
	fi
}

modules() {
	local i
	for i in $(seq "$N"); do
		insmod "$mods/test_module.ko" && rmmod test_module
	done
	sleep 2
}
vmalloc() {
	insmod "$mods/test_vmalloc.ko" run_test_mask=$(((1 << 11) - 1 & ~(1 << 2) & ~(1 << 6))) \
		test_loop_count=500 nr_threads=2 nr_pages=512 use_huge="$1" 2>/dev/null
}
fdtable() {
	local i
	for i in 1 2 3; do
		bash -c 'ulimit -n 1048576 && exec 1048575</dev/null'
	done
}
# hotremove: the next DIMM, onlined, its vmemmap split by HVO, ejected
dimms=($(ls -d /sys/bus/acpi/devices/PNP0C80:* 2>/dev/null))
dimm_next=0
hotremove() {
	local d=${dimms[$dimm_next]:-} b t
	dimm_next=$((dimm_next + 1))
	[ -n "$d" ] || { echo "# no DIMM left"; return; }
	b=$(basename "$(readlink -f "$d"/physical_node)")
	echo online_movable >$mem/$b/state
	# 6.12's HVO is broken in this guest (tests/guest/hotremove.sh)
	if [ "${PGTFREE_BASE:-7.3}" = 7.3 ]; then
		echo 1 >$vm/hugetlb_optimize_vmemmap
		echo 16 >$vm/nr_hugepages
		echo 0 >$vm/nr_hugepages
		echo 0 >$vm/hugetlb_optimize_vmemmap
	fi
	sleep 2
	echo 1 >"$d/eject"
	for t in $(seq 300); do
		[ -e $mem/$b ] || break
		sleep 0.2
	done
}

# run RUN WORKLOAD CMD...
run() {
	local w=$1 l=$2
	shift 2
	trace_start
	"$@"
	trace_stop "$w" "$l"
}

echo "# $(uname -r): $kernel, $(nproc) CPUs, $N module cycles"
# Each workload twice in a row, so that both runs start from much the same
# state, on either kernel.
if [ $ours = 1 ]; then
	modprobe pgtable_free_test || { echo "# no test module"; exit 1; }
	echo async >$sys/mode
	sva_bind 1
fi
for l in modules hotremove vmalloc-small fdtable vmalloc-huge; do
	for w in 1 2; do
		case $l in
		vmalloc-small) run "$w" $l vmalloc 0 ;;
		vmalloc-huge) run "$w" $l vmalloc 1 ;;
		*) run "$w" $l $l ;;
		esac
	done
done
if [ $ours = 1 ]; then
	sva_bind 0
	rmmod pgtable_free_test
fi
rmdir $tr 2>/dev/null
exit 0
