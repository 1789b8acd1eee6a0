#!/bin/bash
# In the guest of the bench kernel (configs/bench.config: BPF and kprobe
# events on top of the test kernel): every tracing recipe of the admin
# guide, run as written against a known burst of the alloc_free test hook.
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"
hook=/sys/kernel/debug/pgtable_free/test/alloc_free
drain=/sys/kernel/mm/pgtable_free/drain
out=${VM_EXEC_OUT:-/tmp}
burst="echo 300 >$hook; echo 1 >$drain"
cd /tmp || exit 1

# perf stat -e 'pgtable_free:*' -a -- sleep 10
perf stat -x, -e 'pgtable_free:*' -a -- sh -c "$burst" >"$out/perf-stat.log" 2>&1
check "perf stat counts 300 queue events" \
	grep -q '^300,,pgtable_free:pgtable_free_queue' "$out/perf-stat.log"
check "perf stat counts the drain's batch" \
	grep -qE '^[1-9][0-9]*,,pgtable_free:pgtable_free_batch' "$out/perf-stat.log"

# perf record -e 'pgtable_free:*' -a -- sleep 10; perf script
perf record -q -o /tmp/script.data -e 'pgtable_free:*' -a -- sh -c "$burst" \
	>"$out/perf-record.log" 2>&1
perf script -i /tmp/script.data >"$out/perf-script.log" 2>&1
check "perf script names the caller of each queued table" \
	test "$(grep -c 'pgtable_free_queue: caller=alloc_free_set+0x' "$out/perf-script.log")" -eq 300
check "perf script shows the drain's batch of 300 pages" \
	grep -q 'pgtable_free_batch: nr_pages=300 reason=drain' "$out/perf-script.log"

# perf record -e pgtable_free:pgtable_free_queue -a -g -- sleep 10; perf report --stdio
perf record -q -o /tmp/graph.data -e pgtable_free:pgtable_free_queue -a -g -- \
	sh -c "$burst" >>"$out/perf-record.log" 2>&1
perf report -i /tmp/graph.data --stdio >"$out/perf-report.log" 2>&1
check "perf report's call chains lead to the test hook" \
	grep -q 'alloc_free_set' "$out/perf-report.log"

# bpftrace -e 'tracepoint:pgtable_free:pgtable_free_batch { ... }'
# This guest kernel has no BTF (Debian's kernels do), so bookworm's
# bpftrace 0.17 cannot name the kernel type u64 of a field: one line of
# definition in front of the recipe's program, nothing else changed.
printf '%s\n' "$burst" >/tmp/burst.sh
{
	echo '#define u64 unsigned long long'
	echo 'tracepoint:pgtable_free:pgtable_free_batch {'
	echo '	@pages = hist(args->nr_pages); @ns = hist(args->invalidate_ns); }'
} >/tmp/recipe.bt
timeout 120 bpftrace /tmp/recipe.bt -c "/bin/sh /tmp/burst.sh" >"$out/bpftrace.log" 2>&1
check "bpftrace histograms the batch sizes" grep -q '^@pages:' "$out/bpftrace.log"
check "bpftrace saw the 300-page batch" grep -qE '^\[256, 512\) +1 ' "$out/bpftrace.log"
totals
