#!/bin/bash
# The guest half of `make bench` (see scripts/bench): loads the test module
# and runs build/bench/pgtbench in the guest, one JSON file per measurement
# in $VM_EXEC_OUT.
#
#   guest.sh main      everything but the 4-CPU contention run
#   guest.sh contend   only the all-CPU contention run
#
# Sizes and repetitions come from the environment (scripts/bench sets them).
set -euo pipefail

top=${PGTFREE_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
bin=$top/build/bench/pgtbench
out=${VM_EXEC_OUT:?not in a vm-exec guest}
sys=/sys/kernel/mm/pgtable_free
dbg=/sys/kernel/debug/pgtable_free
hooks=$dbg/test

: "${COST_N:=1000}" "${COST_REPS:=15}"
: "${BURST_SIZES:=1 10 100 1000 10000}" "${BURST_REPS:=5}"
: "${LAT_N:=1000}" "${LAT_BURSTS:=20}"
: "${WAIT_SIZES:=1 100 1000 10000}" "${WAIT_REPS:=5}"
: "${TRACE_N:=2000}" "${TRACE_REPS:=7}"
: "${CONTEND_N:=600}" "${CONTEND_REPS:=8}"
: "${STATUS_RUNS:=50}" "${WATCH_SECS:=10}"

fail() { echo "bench guest: $*" >&2; exit 1; }

[ -x "$bin" ] || fail "no $bin: scripts/bench compiles it first"
[ -d $sys ] || fail "$sys missing: kernel built without CONFIG_ASYNC_KERNEL_PGTABLE_FREE"
# The rule checker walks init_mm's upper tables at every free: it would be
# what the figures measure.
[ ! -e $dbg/check ] || fail "$dbg/check exists: the kernel has CONFIG_DEBUG_KERNEL_PGTABLE_FREE"
modprobe pgtable_free_test || fail "modprobe pgtable_free_test failed (CONFIG_TEST_PGTABLE_FREE=m?)"
[ -w $hooks/alloc_free ] || fail "$hooks/alloc_free missing after modprobe pgtable_free_test"

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
	printf 'bench guest: %-16s %4d.%d s\n' "$name" $(((t1 - t0) / 1000000000)) \
		$(((t1 - t0) / 100000000 % 10)) >&2
}

step env "$bin" env
# Loading the module freed kernel page tables (the CPA collapse): let them go.
echo 1 >$sys/drain

case "${1:-main}" in
main)
	step cost "$bin" cost "$COST_N" "$COST_REPS"
	# shellcheck disable=SC2086 # the sizes are words
	step bursts "$bin" bursts "$BURST_REPS" $BURST_SIZES
	step latency "$bin" latency "$LAT_N" "$LAT_BURSTS"
	# shellcheck disable=SC2086
	step wait "$bin" wait "$WAIT_REPS" $WAIT_SIZES
	step trace "$bin" trace "$TRACE_N" "$TRACE_REPS"
	step contend_async "$bin" contend "$CONTEND_N" "$CONTEND_REPS" async
	step contend_sync "$bin" contend "$CONTEND_N" "$CONTEND_REPS" sync
	step pgtfree_status "$bin" exec-time "$STATUS_RUNS" pgtfree status
	# The same fork, exec and wait of a trivial dynamically linked program.
	step exec_true "$bin" exec-time "$STATUS_RUNS" /bin/true
	step pgtfree_watch "$bin" cpu-time "$WATCH_SECS" pgtfree watch -i 0.1
	;;
contend)
	step contend_async "$bin" contend "$CONTEND_N" "$CONTEND_REPS" async
	step contend_sync "$bin" contend "$CONTEND_N" "$CONTEND_REPS" sync
	;;
*)
	fail "unknown phase $1"
	;;
esac
# The final state, for the record.
grep -H . $sys/mode $sys/stats/* | sed "s|$sys/||" >"$out/final-stats.txt"
grep -H . $hooks/sva_calls $hooks/sva_errors | sed "s|$hooks/||" >>"$out/final-stats.txt"
