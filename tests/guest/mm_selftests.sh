#!/bin/bash
# In the guest: the kernel's own tools/testing/selftests/mm tests that
# allocate and free page tables (mremap, mlock, madvise, hugetlb, GUP,
# userfaultfd; tests/guest/mm_selftests.list), on whatever kernel
# boots: ours, or the kernel without the series that make check compares
# it with.  Writes "NAME pass|fail|skip" lines to
# $VM_EXEC_OUT/mm_selftests.results; on a kernel with the feature, also
# the kernel page tables each test freed (stats/queued + stats/freed_sync).
set -u
top=${PGTFREE_TOP:?}
. "$top/tests/lib.sh"
bin=${PGTFREE_SELFTESTS:?}/mm
out=${VM_EXEC_OUT:-/tmp}
res=$out/mm_selftests.results
stats=/sys/kernel/mm/pgtable_free/stats
: >"$res"
mkdir -p "$out/mm_selftests"

mapfile -t tests < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' \
	"$top/tests/guest/mm_selftests.list" "$top/tests/guest/mm_selftests-${PGTFREE_BASE:?}.list")

# A writable copy: some tests create files in their working directory.
work=$(mktemp -d)
cp -a "$bin/." "$work/"
cd "$work" || exit 1

# What run_vmtests.sh sets up: 256 MB of huge pages, room for SysV shm.
echo 3 >/proc/sys/vm/drop_caches
echo 128 >/proc/sys/vm/nr_hugepages
echo 268435456 >/proc/sys/kernel/shmmax
echo 4194304 >/proc/sys/kernel/shmall
# mremap_test maps 2 GB regions, more than this guest's memory.
overcommit=$(cat /proc/sys/vm/overcommit_memory)
echo 1 >/proc/sys/vm/overcommit_memory
echo "# huge pages: $(grep HugePages_Free /proc/meminfo)"

kpt_freed() {
	if [ -r $stats/queued ]; then
		echo $(($(cat $stats/queued) + $(cat $stats/freed_sync)))
	else
		echo 0
	fi
}

# preamble_collision_only LOG: every failed case of mremap_test LOG failed
# because its preamble could not be mapped (EEXIST), and there is one
preamble_collision_only() {
	local fails collisions
	fails=$(grep -ac '^not ok' "$1")
	collisions=$(grep -a -A1 '^# Failed to map dest preamble region: File exists$' "$1" |
		grep -ac '^not ok .*Preamble$')
	[ "$fails" -gt 0 ] && [ "$fails" -eq "$collisions" ] &&
		! grep -aq '^Bail out' "$1"
}

for t in "${tests[@]}"; do
	limit=${t%% *} cmd=${t#* }
	prog=${cmd%% *}
	if [ ! -x "$prog" ]; then
		echo "${cmd#./} fail" >>"$res"
		check "${cmd#./} was built (make selftests)" false
		continue
	fi
	before=$(kpt_freed) t0=$(date +%s)
	log=$out/mm_selftests/${cmd#./}.log
	log=${log// /_}
	# shellcheck disable=SC2086 # the command's words
	timeout -k 5 "$limit" $cmd >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	if [ $rc -ne 0 ]; then
		# What failed, then how it ended; the whole output is in $log.
		grep -aE -m 10 '^(not ok|# FAIL|Bail out|ERROR)' "$log" | sed 's/^/#   /'
		tail -n 3 "$log" | sed 's/^/#   /'
	fi
	case $rc in
	0) status=pass ;;
	4) status=skip ;;
	*) status=fail ;;
	esac
	# mremap_test checks that its destination is free, not the 40 MB
	# below it where its "preamble" cases then map with
	# MAP_FIXED_NOREPLACE: when address randomization put another mapping
	# there, that case fails with EEXIST.  It did so in 4 of 45 runs with
	# the series and 1 of 20 without (one boot each): chance, not the
	# kernel.  Only that failure, and only when it is every failure, counts
	# as a pass.
	if [ $status = fail ] && [ "${cmd#./}" = mremap_test ] && preamble_collision_only "$log"; then
		echo "# mremap_test: a preamble case collided with another mapping (EEXIST): chance, counted as a pass"
		status=pass rc=0
	fi
	echo "${cmd#./} $status" >>"$res"
	note="${secs}s"
	[ -r $stats/queued ] && note="$note, kernel page tables freed: $(($(kpt_freed) - before))"
	echo "# ${cmd#./}: exit $rc ($note)"
	if [ $status = skip ]; then
		skip "${cmd#./}" "the test found a prerequisite missing (exit 4): $(grep -a -m1 -iE 'skip|not' "$log")"
	else
		check "${cmd#./} passes" test $rc -eq 0
	fi
done
# The suites that follow get the guest as it was.
echo "$overcommit" >/proc/sys/vm/overcommit_memory
echo 0 >/proc/sys/vm/nr_hugepages
totals
