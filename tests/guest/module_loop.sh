#!/bin/bash
# In the guest: module load/unload cycles, a real caller of the deferral.
# On 7.3 every cycle splits and re-collapses a 2 MiB mapping of the module
# area (the execmem ROX cache, set_memory_rox()): the CPA collapse frees
# the PTE tables it no longer needs.  The counters must move by exactly
# that many tables, the trace events must name the collapse path of
# arch/x86/mm/pat/set_memory.c, sync mode must free them at once, and with
# an SVA address space bound every batch must invalidate.  6.12 has no
# CPA collapse: the same cycles free no kernel page table there.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"

# The test hooks this suite uses, all here.
hooks=/sys/kernel/debug/pgtable_free/test
have_sva() { [ -w $hooks/sva_bind ]; }
sva_bind() { echo "$1" >$hooks/sva_bind; }

sys=/sys/kernel/mm/pgtable_free
tr=/sys/kernel/tracing/instances/module_loop
out=${VM_EXEC_OUT:-/tmp}
# Tables the CPA collapse frees per load/unload cycle (seen on every run),
# and the cycles per part: on 6.12, where there are none, a few show it
case ${PGTFREE_BASE:-7.3} in
7.3) per=3 N=10 ;;
*) per=0 N=3 ;;
esac
N=${MODULE_LOOP_CYCLES:-$N}

st() { cat $sys/stats/"$1"; }
snap() { for f in queued freed pending batches freed_sync invalidations; do eval "$1_$f=$(st $f)"; done; }
d() { echo $(($(st "$2") - $(eval echo "\$$1_$2"))); }

# ko NAME: the module built for the running kernel
ko() {
	local k f
	for k in "${PGTFREE_BUILD:?}"/kernel "$PGTFREE_BUILD"/kernel-debug "$PGTFREE_BUILD"/variants/*/kernel; do
		f=$k/modroot/lib/modules/$(uname -r)/kernel/lib/$1.ko
		[ -f "$f" ] && echo "$f" && return
	done
}
mod=$(ko test_module)
cycle() { insmod "$mod" && rmmod test_module; }

# The pgtable_free events in a trace instance of our own
trace_start() {
	mkdir -p $tr
	echo 0 >$tr/tracing_on
	echo 4096 >$tr/buffer_size_kb
	: >$tr/trace
	echo 1 >$tr/events/pgtable_free/enable
	echo 1 >$tr/tracing_on
}
# trace_stop FILE: the events recorded, to FILE
trace_stop() {
	echo 0 >$tr/tracing_on
	grep -v '^#' $tr/trace >"$1"
	echo 0 >$tr/events/pgtable_free/enable
}
# callers FILE EVENT: "COUNT FUNCTION" per caller of EVENT
callers() {
	sed -n "s/.* $2: caller=\([^+ ]*\).*/\1/p" "$1" | sort | uniq -c
}
# Functions of the CPA collapse path, all in set_memory.c
src=${PGTFREE_BUILD}/linux/arch/x86/mm/pat/set_memory.c
in_set_memory() {
	grep -qE "^([a-z].*[ *])?$1\(" "$src"
}
# all_callers_cpa FILE EVENT: every caller of EVENT is a set_memory.c function
all_callers_cpa() {
	local n fn
	while read -r n fn; do
		in_set_memory "$fn" || { echo "$n from $fn, not set_memory.c"; return 1; }
	done < <(callers "$1" "$2")
}

# quiesce EXPECTED: wait (up to 60 s) until queued+freed_sync grew by
# EXPECTED since snap s; a module's init text is freed by a work item after
# an RCU grace period, the last cycle's after the loop.
quiesce() {
	local i
	for i in $(seq 120); do
		[ $(($(d s queued) + $(d s freed_sync))) -ge "$1" ] && break
		sleep 0.5
	done
	sleep 1
}
at_rest() {
	local q f p
	echo 1 >$sys/drain
	q=$(st queued) f=$(st freed) p=$(st pending)
	echo "# queued $q freed $f pending $p"
	[ "$q" -eq $((f + p)) ] && [ "$p" -eq 0 ]
}

if [ -z "$mod" ]; then
	check "test_module.ko was built for $(uname -r) (CONFIG_TEST_LKM=m)" false
	totals
	exit
fi
check "the kernel has the deferral's sysfs files" test -d $sys
check "tracefs has the pgtable_free events" test -d /sys/kernel/tracing/events/pgtable_free

echo async >$sys/mode
# The fake SVA binding is the test module's (CONFIG_TEST_PGTABLE_FREE=m)
modprobe pgtable_free_test
have_sva && sva_bind 0
# Warm up: the first cycles split the direct map's alias for good and fill
# the ROX cache.
cycle; cycle
sleep 2

echo "# async, nothing bound: $N cycles"
snap s
trace_start
for i in $(seq "$N"); do cycle; done
quiesce $((per * N))
trace_stop "$out/module_loop-async.trace"
echo "# queued $(d s queued), freed_sync $(d s freed_sync), batches $(d s batches), invalidations $(d s invalidations) in $N cycles"
callers "$out/module_loop-async.trace" pgtable_free_queue | sed 's/^/# queued by /'
check "async: $N cycles queue $per tables each" test "$(d s queued)" -eq $((per * N))
check "async: none freed at once" test "$(d s freed_sync)" -eq 0
check "async: nothing invalidated with nothing bound" test "$(d s invalidations)" -eq 0
check "async: one queue event per table" \
	test "$(grep -c ' pgtable_free_queue: ' "$out/module_loop-async.trace")" -eq $((per * N))
if [ $per -gt 0 ]; then
	check "async: every queue event names a set_memory.c function" \
		all_callers_cpa "$out/module_loop-async.trace" pgtable_free_queue
fi
check "async: at rest queued == freed + pending, nothing pending" at_rest
check "async: the tables were freed (freed grew by queued)" test "$(d s freed)" -eq "$(d s queued)"

echo "# sync, nothing bound: $N cycles"
echo sync >$sys/mode
snap s
trace_start
for i in $(seq "$N"); do cycle; done
quiesce $((per * N))
trace_stop "$out/module_loop-sync.trace"
echo async >$sys/mode
callers "$out/module_loop-sync.trace" pgtable_free_sync | sed 's/^/# freed at once by /'
check "sync: $N cycles free $per tables each at once" test "$(d s freed_sync)" -eq $((per * N))
check "sync: none queued" test "$(d s queued)" -eq 0
check "sync: one sync event per table" \
	test "$(grep -c ' pgtable_free_sync: ' "$out/module_loop-sync.trace")" -eq $((per * N))
if [ $per -gt 0 ]; then
	check "sync: every sync event names a set_memory.c function" \
		all_callers_cpa "$out/module_loop-sync.trace" pgtable_free_sync
fi
check "sync: at rest" at_rest

if have_sva; then
	for mode in async; do
		echo "# $mode, a fake SVA address space bound: $N cycles"
		echo $mode >$sys/mode
		sva_bind 1
		snap s
		for i in $(seq "$N"); do cycle; done
		quiesce $((per * N))
		echo 1 >$sys/drain
		sva_bind 0
		echo async >$sys/mode
		echo "# queued $(d s queued), batches $(d s batches), invalidations $(d s invalidations)"
		check "$mode, bound: $N cycles queue $per tables each" test "$(d s queued)" -eq $((per * N))
		check "$mode, bound: none freed at once" test "$(d s freed_sync)" -eq 0
		check "$mode, bound: every batch invalidated" test "$(d s invalidations)" -eq "$(d s batches)"
		if [ $per -gt 0 ]; then
			check "$mode, bound: the cycles' frees invalidated (at least once)" test "$(d s invalidations)" -ge 1
		else
			check "$mode, bound: no batch" test "$(d s batches)" -eq 0
		fi
		check "$mode, bound: at rest" at_rest
	done
else
	check "the test module's fake SVA binding is there" false
fi
rmdir $tr 2>/dev/null
totals
