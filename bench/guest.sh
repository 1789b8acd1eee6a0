#!/bin/bash
# The guest half of `make bench` (see scripts/bench): runs build/bench/pgtbench
# in the guest, one JSON file per measurement in $VM_EXEC_OUT.
#
#   guest.sh main      everything but the 4-CPU contention run
#   guest.sh contend   only the all-CPU contention run
#   guest.sh variant   cost and contention on a kernel variant
#
# Sizes and repetitions come from the environment (scripts/bench sets them).
set -euo pipefail

top=${PGTFREE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
bin=$top/build/bench/pgtbench
out=${VM_EXEC_OUT:?not in a vm-exec guest}
sys=/sys/kernel/mm/pgtable_free
hooks=/sys/kernel/debug/pgtable_free/test

: "${COST_REPS:=15}" "${COST_ALLOC_FREE_N:=1000}" "${COST_VMAP_HUGE_N:=200}"
: "${BURST_SIZES:=1 10 100 1000}" "${BURST_REPS:=5}"
: "${BURST_VMAP_REPS:=3}"
: "${LAT_N:=1000}" "${LAT_BURSTS:=20}"
: "${CONTEND_N:=600}" "${CONTEND_REPS:=8}"
: "${STATUS_RUNS:=50}" "${WATCH_SECS:=10}"
: "${PRICE_N:=10000}" "${PRICE_REPS:=3}" "${PRICE_COSTS:=0 1 10 100}"
: "${WINDOW_REPS:=3}" "${WINDOWS:=0 10}"
: "${TRACE_N:=2000}" "${TRACE_REPS:=7}"
: "${QUEUE_N:=100000}" "${QUEUE_REPS:=5}"

fail() { echo "bench guest: $*" >&2; exit 1; }

[ -x "$bin" ] || fail "no $bin: scripts/bench compiles it first"
[ -d $sys ] || fail "$sys missing: kernel built without CONFIG_ASYNC_KERNEL_PGTABLE_FREE"
[ -w $hooks/alloc_free ] || fail "$hooks/alloc_free missing: kernel built without CONFIG_TEST_PGTABLE_FREE"

# step NAME CMD...: run one measurement into $out/NAME.json
step() {
	local name=$1 t0 t1
	shift
	t0=$(date +%s%N)
	if ! "$@" >"$out/$name.json.tmp"; then
		fail "$name: '$*' failed"
	fi
	mv "$out/$name.json.tmp" "$out/$name.json"
	t1=$(date +%s%N)
	# One write per line, so kernel messages cannot split it.
	printf 'bench guest: %-20s %4d.%d s\n' "$name" $(((t1 - t0) / 1000000000)) \
		$(((t1 - t0) / 100000000 % 10)) >&2
}

step env "$bin" env
# Quiet the guest: nothing else frees kernel page tables on purpose.
echo async >$sys/mode
echo 0 >$hooks/hold

case "${1:-main}" in
main)
	step cost_alloc_free "$bin" cost alloc_free "$COST_ALLOC_FREE_N" "$COST_REPS"
	if [ -w $hooks/vmap_huge ]; then
		step cost_vmap_huge "$bin" cost vmap_huge "$COST_VMAP_HUGE_N" "$COST_REPS"
	fi
	# shellcheck disable=SC2086 # the sizes are words
	step bursts_alloc_free "$bin" bursts alloc_free "$BURST_REPS" $BURST_SIZES
	if [ -w $hooks/vmap_huge ]; then
		# shellcheck disable=SC2086
		step bursts_vmap_huge "$bin" bursts vmap_huge "$BURST_VMAP_REPS" $BURST_SIZES
	fi
	step latency_alloc_free "$bin" latency alloc_free "$LAT_N" "$LAT_BURSTS"
	# A priced invalidation and the batching window, with one fake SVA
	# address space bound: async against sync, ours against mainline's.
	[ -w $hooks/sva_bind ] || fail "$hooks/sva_bind missing: kernel built without CONFIG_IOMMU_SVA"
	echo 1 >$hooks/sva_bind
	for hook in alloc_free vmap_huge; do
		[ -w $hooks/$hook ] || continue
		# shellcheck disable=SC2086 # the costs and windows are words
		step price_$hook "$bin" price $hook "$PRICE_N" "$PRICE_REPS" $PRICE_COSTS
		# shellcheck disable=SC2086
		step window_$hook "$bin" window $hook "$PRICE_N" "$WINDOW_REPS" $WINDOWS
	done
	echo 0 >$hooks/sva_bind
	step trace_alloc_free "$bin" trace alloc_free "$TRACE_N" "$TRACE_REPS"
	step queues "$bin" queues "$QUEUE_N" "$QUEUE_REPS"
	step contend_async "$bin" contend alloc_free "$CONTEND_N" "$CONTEND_REPS" async
	step contend_sync "$bin" contend alloc_free "$CONTEND_N" "$CONTEND_REPS" sync
	step pgtfree_status "$bin" exec-time "$STATUS_RUNS" pgtfree status
	# The same fork, exec and wait of a trivial dynamically linked program.
	step exec_true "$bin" exec-time "$STATUS_RUNS" /bin/true
	step pgtfree_watch "$bin" cpu-time "$WATCH_SECS" pgtfree watch -i 0.1
	;;
contend)
	step contend_async "$bin" contend alloc_free "$CONTEND_N" "$CONTEND_REPS" async
	step contend_sync "$bin" contend alloc_free "$CONTEND_N" "$CONTEND_REPS" sync
	;;
variant)
	# The same few measurements on each kernel variant (scripts/bench)
	step cost_async_alloc_free "$bin" cost-async alloc_free "$COST_ALLOC_FREE_N" "$COST_REPS"
	step cost_async_vmap_huge "$bin" cost-async vmap_huge "$COST_VMAP_HUGE_N" "$COST_REPS"
	step contend_async "$bin" contend alloc_free "$CONTEND_N" "$CONTEND_REPS" async
	;;
*)
	fail "unknown phase $1"
	;;
esac
# The final state, for the record.
grep -H . $sys/mode $sys/stats/* | sed "s|$sys/||" >"$out/final-stats.txt"
