#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# End-to-end test of pgtfree(8) against the real kernel, run as root
# inside the test VM (CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y).  Uses pgtfree
# from PATH, jq, setpriv, tmux, perf, and two sources of kernel
# page-table frees:
#
#   real work    loading and unloading a module frees page tables through
#                the CPA collapse of the module area (the guest build's
#                test_vmalloc.ko, which refuses to stay loaded by design)
#   test hooks   /sys/kernel/debug/pgtable_free/test/ (alloc_free, hold)
#                of the pgtable_free_test module, for exact counts: every
#                use of them goes through hooks_available and hook below
#
# Output: one TAP line per check, then "# Totals: pass:N fail:N skip:N";
# exit status 1 if any check failed.  The mode and hold are restored on
# exit, whatever happens.
#
# The kernel may or may not have stats/invalidations and
# stats/invalidated_mms (added later): they are checked when present and
# must be null when absent.
#
# "pgtfree top" is checked against the pgtable_free trace events, live on
# a terminal (tmux) and on a perf script recording; tracefs is mounted
# for it if it is not, and unmounted at the end.
set -u
export LC_ALL=C

sysfs=/sys/kernel/mm/pgtable_free
debugfs=/sys/kernel/debug
pg=(pgtfree)

# ---------------------------------------------------------------- frees
# The test hooks are debugfs files of the pgtable_free_test module: these
# two functions are all that touch them.
hooks=$debugfs/pgtable_free/test
hooks_available()
{
	local h

	[ -e "$hooks" ] || modprobe -q pgtable_free_test 2>/dev/null
	for h in alloc_free hold; do
		[ -e "$hooks/$h" ] || return 1
	done
}
# hook NAME [VALUE]: write VALUE to the hook, or print what it reads
hook()
{
	if [ $# -eq 2 ]; then
		echo "$2" >"$hooks/$1"
	else
		cat "$hooks/$1"
	fi
}

# module_cycles N: load and unload a module N times, real kernel work that
# frees kernel page tables: the CPA collapse of the module area (7.3),
# and the module's 2 MiB vmalloc areas, of small pages and then huge,
# whose huge mappings replace the PTE tables the small ones left
# (pmd_free_pte_page(); the only real caller of the two on 6.12)
vmalloc_ko=
for k in "${PGTFREE_BUILD:-/nonexistent}"/kernel "${PGTFREE_BUILD:-/nonexistent}"/kernel-debug; do
	f=$k/modroot/lib/modules/$(uname -r)/kernel/lib/test_vmalloc.ko
	[ -f "$f" ] && vmalloc_ko=$f && break
done
module_cycles()
{
	local i

	for ((i = 0; i < $1; i++)); do
		# it runs one short test and refuses to stay loaded
		insmod "$vmalloc_ko" run_test_mask=1 test_loop_count=20 \
			nr_threads=1 nr_pages=512 use_huge=$((i % 2)) 2>/dev/null
	done
}
as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

n=0 npass=0 nfail=0 nskip=0
ok() { n=$((n + 1)) npass=$((npass + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)) nfail=$((nfail + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)) nskip=$((nskip + 1)); echo "ok $n - $1 # SKIP $2"; }
diag() { printf '%s\n' "$@" | head -n 30 | sed 's/^/# /'; }
totals() { echo "# Totals: pass:$npass fail:$nfail skip:$nskip"; }

# check DESCRIPTION EXPR...: EXPR is evaluated; on failure the last
# command's output (in $out, $err, $rc) is shown
check()
{
	local desc=$1

	shift
	if eval "$*"; then
		ok "$desc"
	else
		notok "$desc"
		diag "failed: $*" "exit status: ${rc:-}" "stdout:" "${out:-}" \
			"stderr:" "${err:-}"
	fi
}

# scheck A B DESCRIPTION EXPR...: a check on snapshots A and B, shown on
# failure
scheck()
{
	local a=$1 b=$2 desc=$3

	shift 3
	if eval "$*"; then
		ok "$desc"
	else
		notok "$desc"
		diag "failed: $*" \
			"$a: $(jq -c '.pgtfree[0]' <"$tmp/$a.json" 2>&1)" \
			"$b: $(jq -c '.pgtfree[0]' <"$tmp/$b.json" 2>&1)"
	fi
}

tmp=$(mktemp -d /tmp/pgtfree-e2e.XXXXXX) || exit 1
chmod 0755 "$tmp"

# run ARGS...: pgtfree as root; sets out, err, rc
run()
{
	"${pg[@]}" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

run_nobody()
{
	"${as_nobody[@]}" "${pg[@]}" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
}

# a counter straight from sysfs
kval() { cat "$sysfs/stats/$1"; }

# snap NAME: "pgtfree -J --output-all" into $tmp/NAME.json; get NAME KEY
# prints a value
snap() { "${pg[@]}" -J --output-all >"$tmp/$1.json" 2>"$tmp/$1.err"; }
get() { jq -r ".pgtfree[0].$2" <"$tmp/$1.json"; }
delta() { echo $(($(get "$2" "$3") - $(get "$1" "$3"))); }


# ---------------------------------------------------------------- setup

orig_mode=
tracefs=/sys/kernel/tracing
tracefs_mounted=0
top_pids=()
cleanup()
{
	local p

	for p in "${top_pids[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
		[ ! -d "$tracefs/instances/pgtfree-$p" ] ||
			rmdir "$tracefs/instances/pgtfree-$p"
	done
	[ $tracefs_mounted -eq 0 ] || umount "$tracefs"
	[ "${devpts_mounted:-0}" -eq 0 ] || umount /dev/pts
	hooks_available && hook hold 0 2>/dev/null
	if [ -n "$orig_mode" ]; then
		echo "$orig_mode" >"$sysfs/mode" 2>/dev/null ||
			echo "# could not restore mode $orig_mode"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fatal()
{
	notok "$1"
	shift
	diag "$@"
	totals
	exit 1
}

[ "$(id -u)" -eq 0 ] || fatal "running as root" "run this inside the VM as root"
command -v pgtfree >/dev/null || fatal "pgtfree is in PATH" "PATH=$PATH"
command -v jq >/dev/null || fatal "jq is installed"
[ -d "$sysfs" ] || fatal "$sysfs exists" \
	"the kernel lacks CONFIG_ASYNC_KERNEL_PGTABLE_FREE"
if [ ! -d "$debugfs/pgtable_free" ]; then
	mount -t debugfs debugfs "$debugfs" 2>/dev/null
fi
have_hooks=0
hooks_available && have_hooks=1

orig_mode=$("${pg[@]}" mode 2>/dev/null)
case $orig_mode in
async | sync) ok "pgtfree mode reads the mode ($orig_mode)" ;;
*) orig_mode=; fatal "pgtfree mode reads the mode" "got: '$orig_mode'" ;;
esac

# ---------------------------------------------------------------- status

run -V
check "pgtfree -V" '[ "$rc" -eq 0 ] && [ "$out" = "pgtfree 0.2" ]'
run
check "status: exit 0, no stderr" '[ "$rc" -eq 0 ] && [ -z "$err" ]'
check "status: header and one row, INVALIDATIONS among the columns" \
	'[ "$(wc -l <"$tmp/out")" -eq 2 ] && head -1 "$tmp/out" | grep -qw INVALIDATIONS'
run -J --output-all
check "status -J: every counter is a number on this kernel" \
	'[ "$rc" -eq 0 ] && jq -e ".pgtfree[0] | (.mode == \"async\" or .mode == \"sync\") and ([.pending, .pending_size, .pending_max, .queued, .freed, .batches, .freed_sync, .oom_freed, .oom_events] | all(type == \"number\"))" <"$tmp/out" >/dev/null'
# the recent counters: a number when the kernel has the file, else null
new_bad=
for c in invalidations invalidated_mms; do
	want=null
	[ -e "$sysfs/stats/$c" ] && want=$(kval "$c")
	v=$(jq -r ".pgtfree[0].$c" <"$tmp/out")
	[ "$v" = "$want" ] || new_bad="$new_bad $c=$v/$want"
done
check "status -J: invalidations, invalidated_mms as the files say (null if absent)" \
	'[ -z "$new_bad" ]'
[ -n "$new_bad" ] && diag "mismatches (pgtfree/file):$new_bad"

if [ $have_hooks -eq 0 ]; then
	notok "debugfs hooks present in $hooks"
	diag "CONFIG_TEST_PGTABLE_FREE=y and debugfs mounted are needed"
fi

# ---------------------------------------------------------------- hooks

if [ $have_hooks -eq 1 ]; then
	"${pg[@]}" mode async >/dev/null
	hook hold 1
	"${pg[@]}" drain >/dev/null
	snap s0

	scheck s0 s0 "at rest with hold=1: queued == freed + pending" \
		'[ "$(get s0 queued)" -eq $(( $(get s0 freed) + $(get s0 pending) )) ]'

	hook alloc_free 8
	n1=$(hook alloc_free)
	snap s1
	check "alloc_free 8 freed 8 kernel page tables (read back: $n1)" \
		'[ "$n1" -eq 8 ] 2>/dev/null'
	scheck s0 s1 "alloc_free: queued delta == $n1" '[ "$(delta s0 s1 queued)" -eq "$n1" ]'
	scheck s0 s1 "alloc_free: pending delta == $n1" '[ "$(delta s0 s1 pending)" -eq "$n1" ]'
	scheck s0 s1 "alloc_free, hold=1: freed unchanged" '[ "$(delta s0 s1 freed)" -eq 0 ]'
	scheck s0 s1 "alloc_free, hold=1: batches unchanged" '[ "$(delta s0 s1 batches)" -eq 0 ]'

	hook alloc_free 16
	n2=$(hook alloc_free)
	snap s2
	check "alloc_free 16 (read back: $n2)" '[ "$n2" -eq 16 ] 2>/dev/null'
	scheck s1 s2 "alloc_free: queued delta == $n2" '[ "$(delta s1 s2 queued)" -eq "$n2" ]'
	scheck s1 s2 "alloc_free: pending delta == $n2" '[ "$(delta s1 s2 pending)" -eq "$n2" ]'
	scheck s0 s2 "both writes: queued delta == $n1 + $n2" \
		'[ "$(delta s0 s2 queued)" -eq $((n1 + n2)) ]'
	scheck s2 s2 "pending_max >= pending" \
		'[ "$(get s2 pending_max)" -ge "$(get s2 pending)" ]'
	scheck s2 s2 "pending_size == pending * page size" \
		'[ "$(get s2 pending_size)" -eq $(( $(get s2 pending) * $(getconf PAGESIZE) )) ]'

	# the pages stay pending while held: the worker leaves them alone
	sleep 1
	snap s3
	scheck s2 s3 "hold=1: still pending after 1 s" \
		'[ "$(get s3 pending)" -eq "$(get s2 pending)" ]'

	# --format prometheus against the files, while nothing moves
	run --format prometheus
	check "prometheus: exit 0" '[ "$rc" -eq 0 ]'
	prom_bad=
	for m in queued:pgtable_free_queued_pages_total \
		 freed:pgtable_free_freed_pages_total \
		 batches:pgtable_free_batches_total \
		 freed_sync:pgtable_free_freed_sync_pages_total \
		 oom_freed:pgtable_free_oom_freed_pages_total \
		 oom_events:pgtable_free_oom_events_total \
		 pending:pgtable_free_pending_pages \
		 pending_max:pgtable_free_pending_max_pages \
		 invalidations:pgtable_free_invalidations_total \
		 invalidated_mms:pgtable_free_invalidated_mms_total; do
		v=$(awk -v m="${m#*:}" '$1 == m { print $2 }' <<<"$out")
		if [ ! -e "$sysfs/stats/${m%%:*}" ]; then
			# an older kernel: the metric must be left out
			[ -z "$v" ] || prom_bad="$prom_bad ${m#*:}=$v/absent"
			continue
		fi
		[ "$v" = "$(kval "${m%%:*}")" ] ||
			prom_bad="$prom_bad ${m#*:}=$v/$(kval "${m%%:*}")"
	done
	v=$(awk '$1 == "pgtable_free_pending_bytes" { print $2 }' <<<"$out")
	[ "$v" = $(( $(kval pending) * $(getconf PAGESIZE) )) ] ||
		prom_bad="$prom_bad pending_bytes=$v"
	grep -qx "pgtable_free_mode{mode=\"async\"} 1" <<<"$out" ||
		prom_bad="$prom_bad mode"
	check "prometheus values equal the sysfs files" '[ -z "$prom_bad" ]'
	[ -n "$prom_bad" ] && diag "mismatches (prometheus/file):$prom_bad"

	# ------------------------------------------------------------ drain
	snap d0
	run -J drain
	snap d1
	p0=$(get d0 pending)
	check "drain -J: exit 0" '[ "$rc" -eq 0 ]'
	check "drain -J: pending_before == $p0, pending_after == 0" \
		'jq -e ".drain[0] | .pending_before == $p0 and .pending_after == 0" <<<"$out" >/dev/null'
	check "drain -J: freed == $p0" \
		'jq -e ".drain[0].freed == $p0" <<<"$out" >/dev/null'
	scheck d1 d1 "after drain: pending 0" '[ "$(get d1 pending)" -eq 0 ]'
	scheck d0 d1 "after drain: freed delta == $p0" '[ "$(delta d0 d1 freed)" -eq "$p0" ]'
	# one drain of the held list is one batch, however many pages
	scheck d0 d1 "after drain of $p0 held pages: batches delta == 1" \
		'[ "$p0" -gt 0 ] && [ "$(delta d0 d1 batches)" -eq 1 ]'
	scheck d1 d1 "after drain: queued == freed + pending" \
		'[ "$(get d1 queued)" -eq $(( $(get d1 freed) + $(get d1 pending) )) ]'
	scheck d1 d1 "after drain: avg_batch is a number" \
		'[ "$(get d1 avg_batch)" != null ]'
	run drain
	check "drain (table): exit 0, header and one row" \
		'[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ]'
else
	skip "hook-driven deltas, prometheus values, drain" "no debugfs hooks"
fi

# ---------------------------------------------------------------- mode

run mode sync
check "mode sync: exit 0, prints sync" '[ "$rc" -eq 0 ] && [ "$out" = sync ]'
check "mode file reads 'async [sync]'" '[ "$(cat "$sysfs/mode")" = "async [sync]" ]'
run mode
check "mode reads back sync" '[ "$out" = sync ]'
if [ $have_hooks -eq 1 ]; then
	snap m0
	hook alloc_free 4
	n3=$(hook alloc_free)
	snap m1
	# nothing bound for SVA: a sync free is freed at once, needs no
	# invalidation and is counted in freed_sync only: no list, no batch
	check "sync mode: alloc_free 4 (read back: $n3)" '[ "$n3" -eq 4 ] 2>/dev/null'
	scheck m0 m1 "sync mode: alloc_free $n3: freed_sync delta == $n3" \
		'[ "$(delta m0 m1 freed_sync)" -eq "$n3" ]'
	scheck m0 m1 "sync mode: queued unchanged" '[ "$(delta m0 m1 queued)" -eq 0 ]'
	scheck m0 m1 "sync mode: batches unchanged (sync frees are not batches)" \
		'[ "$(delta m0 m1 batches)" -eq 0 ]'
	scheck m0 m1 "sync mode: pending unchanged" '[ "$(delta m0 m1 pending)" -eq 0 ]'
	scheck m0 m1 "sync mode: freed unchanged" '[ "$(delta m0 m1 freed)" -eq 0 ]'

	# derived figures, from one reading of the counters
	run -J -o +SYNC_PCT
	check "avg_batch == freed / batches (one decimal)" \
		'jq -e ".pgtfree[0] | .batches > 0 and ((.avg_batch - .freed / .batches) as \$d | \$d <= 0.051 and \$d >= -0.051)" <<<"$out" >/dev/null'
	check "sync_pct == freed_sync * 100 / (freed + freed_sync) (one decimal)" \
		'jq -e ".pgtfree[0] | (.sync_pct - .freed_sync * 100 / (.freed + .freed_sync)) as \$d | \$d <= 0.051 and \$d >= -0.051" <<<"$out" >/dev/null'
fi
run mode async -J
check "mode async -J: JSON" \
	'[ "$rc" -eq 0 ] && jq -e ".pgtfree[0].mode == \"async\"" <<<"$out" >/dev/null'
check "mode file reads '[async] sync'" '[ "$(cat "$sysfs/mode")" = "[async] sync" ]'

before=$(cat "$sysfs/mode")
run mode bogus
check "mode bogus: exit 64" '[ "$rc" -eq 64 ]'
check "mode bogus: nothing written" '[ "$(cat "$sysfs/mode")" = "$before" ]'
if ( printf bogus >"$sysfs/mode" ) 2>"$tmp/einval"; then
	notok "the kernel rejects 'bogus' in mode with EINVAL"
	diag "the write succeeded"
else
	check "the kernel rejects 'bogus' in mode with EINVAL" \
		'grep -q "Invalid argument" "$tmp/einval"'
fi

# ---------------------------------------------------------------- non-root

run_nobody mode sync
check "non-root mode sync: exit 77, says root is needed" \
	'[ "$rc" -eq 77 ] && [[ $err == *"needs root"* ]]'
check "non-root mode sync: mode unchanged" '[ "$(cat "$sysfs/mode")" = "$before" ]'
run_nobody drain
check "non-root drain: exit 77" '[ "$rc" -eq 77 ]'
run_nobody status
check "non-root status: exit 0" '[ "$rc" -eq 0 ] && [ -z "$err" ]'
run_nobody -J
check "non-root status -J parses" \
	'[ "$rc" -eq 0 ] && jq -e ".pgtfree[0].freed | type == \"number\"" <<<"$out" >/dev/null'
run_nobody mode
check "non-root mode: prints it" '[ "$rc" -eq 0 ] && [ "$out" = async ]'

# ---------------------------------------------------------------- watch

run watch 0.2 2
check "watch 0.2 2: exit 0, header and two lines of the seven default fields" \
	'[ "$rc" -eq 0 ] && [ "$(wc -l <"$tmp/out")" -eq 3 ] && [ "$(awk "NR > 1 && NF == 7" "$tmp/out" | wc -l)" -eq 2 ]'
run watch -J -c 2 -i 0.2
check "watch -J: two JSON lines" \
	'[ "$rc" -eq 0 ] && [ "$(jq -c . <"$tmp/out" | wc -l)" -eq 2 ] && [ "$(wc -l <"$tmp/out")" -eq 2 ]'
"${pg[@]}" watch -i 0.1 >"$tmp/out" 2>"$tmp/err" &
wpid=$!
for ((i = 0; i < 100; i++)); do
	[ "$(wc -l <"$tmp/out")" -ge 3 ] && break
	sleep 0.05
done
kill -TERM "$wpid"
wait "$wpid"
rc=$?
out=$(cat "$tmp/out") err=$(cat "$tmp/err")
check "watch: SIGTERM -> exit 0" '[ "$rc" -eq 0 ] && [ -z "$err" ]'

# ---------------------------------------------------------------- top
#
# A known burst of frees through the alloc_free hook, traced by
# "pgtfree top" from the pgtable_free events: the hook's caller is named,
# the batches free what was queued, the figures equal the counters'
# deltas, and the tracing state is as before, also after SIGINT.

# the top-level tracing state and the instances
trace_state()
{
	(cd "$tracefs" && cat tracing_on current_tracer set_event \
		"events/pgtable_free/enable" && ls -A instances) 2>&1
}

# top_start ARGS...: pgtfree top in the background (set -m: SIGINT is
# not ignored), pid in $tpid, output in $tmp/top.json and $tmp/top.err;
# waits until its instance has the events enabled
top_start()
{
	local i

	set -m
	"${pg[@]}" top "$@" >"$tmp/top.json" 2>"$tmp/top.err" </dev/null &
	tpid=$!
	set +m
	top_pids+=("$tpid")
	for ((i = 0; i < 100; i++)); do
		[ "$(cat "$tracefs/instances/pgtfree-$tpid/events/pgtable_free/enable" 2>/dev/null)" = 1 ] &&
			return 0
		sleep 0.05
	done
	return 1
}

top_wait()
{
	wait "$tpid"
	rc=$?
	out=$(cat "$tmp/top.json") err=$(cat "$tmp/top.err")
}

# topj FILTER: a number from the JSON of the last top
topj() { jq -r "$1" <"$tmp/top.json" 2>/dev/null; }
af='[.callers[] | select(.caller | test("alloc_free"))]'

if [ ! -d "$tracefs" ]; then
	skip "pgtfree top against the pgtable_free trace events" \
		"no $tracefs: a kernel without tracefs (CONFIG_TRACING)"
else
	if [ ! -d "$tracefs/instances" ]; then
		run top -n 1
		check "top, tracefs not mounted: exit 69, says how to mount it" \
			'[ "$rc" -eq 69 ] && [[ $err == *"mount -t tracefs"* ]]'
		mount -t tracefs nodev "$tracefs" && tracefs_mounted=1
	fi
	if [ ! -d "$tracefs/events/pgtable_free" ]; then
		notok "the kernel has the pgtable_free trace events"
		diag "$tracefs/events/pgtable_free does not exist, on a kernel" \
			"with tracefs: the series' tracepoints are missing"
		run top -n 1
		check "top on a kernel without the events: exit 69, says so" \
			'[ "$rc" -eq 69 ] && [[ $err == *"no pgtable_free trace events"* ]]'
	elif [ $have_hooks -eq 0 ]; then
		notok "top: the debugfs hooks for a known burst of frees"
	else
		ok "the kernel has the pgtable_free trace events"
		"${pg[@]}" mode async >/dev/null
		hook hold 0
		"${pg[@]}" drain >/dev/null
		state0=$(trace_state)
		enable0=$(cat "$tracefs/events/pgtable_free/enable")
		snap t0
		# until SIGINT, which ends it as the end of its time would:
		# however slow the machine, it traces all of what follows
		top_start -d 600 -n 1 -J
		check "top: its instance made, the events enabled in it only" \
			'[ "$(cat "$tracefs/instances/pgtfree-$tpid/events/pgtable_free/enable")" = 1 ] && [ "$(cat "$tracefs/events/pgtable_free/enable")" = "$enable0" ]'
		hook alloc_free 1000
		n4=$(hook alloc_free)
		# free all that was queued while top still traces
		echo 1 >"$sysfs/drain"
		kill -INT "$tpid"
		top_wait
		snap t1
		check "top -n 1 -J ended by SIGINT: exit 0, no stderr, JSON" \
			'[ "$rc" -eq 0 ] && [ -z "$err" ] && jq -e ".summary[0].events > 0" <<<"$out" >/dev/null'
		check "alloc_free 1000 (read back: $n4)" '[ "$n4" -eq 1000 ] 2>/dev/null'
		check "top: no event lost, no line malformed" \
			'[ "$(topj ".summary[0].lost")" = 0 ] && [ "$(topj ".summary[0].malformed")" = 0 ]'
		check "top names the hook's caller (alloc_free*): $(topj "$af | map(.caller) | join(\",\")")" \
			'[ "$(topj "$af | length")" -ge 1 ]'
		check "top: FREES of the hook's caller >= $n4 ($(topj "$af | map(.frees) | add // 0"))" \
			'[ "$(topj "$af | map(.frees) | add // 0")" -ge "$n4" ]'
		check "top: the batches freed what was queued (PAGES == QUEUED > 0)" \
			'[ "$(topj "[.batches[].pages] | add // 0")" = "$(topj "[.callers[].queued] | add // 0")" ] && [ "$(topj "[.callers[].queued] | add // 0")" -gt 0 ]'
		check "top: batches by the work item or the drain only (no OOM)" \
			'[ "$(topj "[.batches[].reason | select(. != \"work\" and . != \"drain\")] | length")" = 0 ]'
		# the events equal the counters' deltas
		scheck t0 t1 "top: QUEUED == the queued delta" \
			'[ "$(topj "[.callers[].queued] | add // 0")" = "$(delta t0 t1 queued)" ]'
		scheck t0 t1 "top: batch PAGES == the freed delta" \
			'[ "$(topj "[.batches[].pages] | add // 0")" = "$(delta t0 t1 freed)" ]'
		scheck t0 t1 "top: BATCHES == the batches delta" \
			'[ "$(topj "[.batches[].batches] | add // 0")" = "$(delta t0 t1 batches)" ]'
		if [ -e "$sysfs/stats/invalidations" ]; then
			scheck t0 t1 "top: INVALIDATIONS == the invalidations delta" \
				'[ "$(topj "[.batches[].invalidations] | add // 0")" = "$(delta t0 t1 invalidations)" ]'
		fi
		diag "top: $(jq -c . <"$tmp/top.json")"
		check "top -d 3 -n 1: instance removed, tracing state as before" \
			'[ "$(trace_state)" = "$state0" ]'

		# sync mode: sync events, no batches
		"${pg[@]}" mode sync >/dev/null
		top_start -d 2 -n 1 -J
		hook alloc_free 4
		top_wait
		"${pg[@]}" mode async >/dev/null
		check "top in sync mode: FREED_SYNC of the hook's caller >= 4, no batch" \
			'[ "$rc" -eq 0 ] && [ "$(topj "$af | map(.freed_sync) | add // 0")" -ge 4 ] && [ "$(topj ".batches | length")" = 0 ]'
		check "top in sync mode: state as before" '[ "$(trace_state)" = "$state0" ]'

		# interrupted: the tables, then the state as it was
		for sig in INT TERM; do
			if top_start -J; then
				hook alloc_free 10
				sleep 0.5
			fi
			kill -"$sig" "$tpid"
			top_wait
			check "top killed with SIG$sig: exit 0, the burst in its tables" \
				'[ "$rc" -eq 0 ] && [ -z "$err" ] && [ "$(topj "$af | map(.frees) | add // 0")" -ge 10 ]'
			check "top killed with SIG$sig: instance removed, state as before" \
				'[ "$(trace_state)" = "$state0" ]'
		done
		"${pg[@]}" drain >/dev/null

		run_nobody top -n 1
		check "top as non-root: exit 77, says root is needed" \
			'[ "$rc" -eq 77 ] && [[ $err == *"needs root"* ]]'
		check "top as non-root: state as before" '[ "$(trace_state)" = "$state0" ]'
	fi
fi

# ---------------------------------------------------------------- check

if [ $have_hooks -eq 1 ]; then
	"${pg[@]}" mode async >/dev/null
	hook hold 1
	hook alloc_free 8 >/dev/null
	run status --check
	check "status --check, tables held (hold=1): ATTENTION, exit 2" \
		'[ "$rc" -eq 2 ] && [[ $out == "ATTENTION: "*"none freed"* ]]'
	hook hold 0
	"${pg[@]}" drain >/dev/null
	run status --check
	# The OOM tests that may have run before in this boot leave OOM
	# events: their verdict is ATTENTION, and says so.
	if [ "$(cat "$sysfs/stats/oom_events" 2>/dev/null || echo 0)" = 0 ]; then
		check "status --check once drained: OK, exit 0" \
			'[ "$rc" -eq 0 ] && [[ $out == "OK: mode async, 0 pages pending"* ]]'
	else
		check "status --check once drained, after OOM events: ATTENTION naming them, exit 2" \
			'[ "$rc" -eq 2 ] && [[ $out == "ATTENTION: the OOM notifier freed"* ]]'
	fi
fi

# ---------------------------------------------------------------- top, real

# top live on a terminal (tmux), while modules are loaded and unloaded:
# the screen is drawn again every second, the callers are the kernel's
# own, and Ctrl-C leaves the tracing state as it was
screen() { tmux capture-pane -p -t pgt 2>/dev/null; }
# a terminal needs devpts, which the guest may not have mounted
devpts_mounted=0
if [ ! -e /dev/pts/ptmx ]; then
	mkdir -p /dev/pts && mount -t devpts -o ptmxmode=0666 devpts /dev/pts &&
		devpts_mounted=1
	[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
fi
secs_shown() { screen | sed -n 's/^pgtfree top: \([0-9]*\) s of .*/\1/p'; }
if [ -z "$vmalloc_ko" ]; then
	notok "test_vmalloc.ko of this kernel, for real frees (CONFIG_TEST_VMALLOC=m)"
elif ! command -v tmux >/dev/null; then
	notok "tmux is installed (live top on a terminal)"
elif [ -d "$tracefs/events/pgtable_free" ]; then
	state0=$(trace_state)
	snap r0
	tmux new-session -d -s pgt -x 120 -y 40 "pgtfree top -d 1; sleep 30"
	for ((i = 0; i < 100; i++)); do
		[ -n "$(secs_shown)" ] && break
		sleep 0.1
	done
	first=$(secs_shown)
	module_cycles 10
	sleep 2.5
	later=$(secs_shown)
	screen >"$tmp/screen"
	check "top on a terminal: drawn again every second ($first s, then $later s)" \
		'[ -n "$first" ] && [ -n "$later" ] && [ "$later" -ge $((first + 2)) ]'
	check "top on a terminal: SECONDS follows the refreshes" \
		'[ "$(awk "/^SECONDS/ { getline; print int(\$1) }" "$tmp/screen")" -ge $((later - 1)) ]'
	check "top on a terminal: a caller's row from 10 module loads" \
		'grep -A3 "^CALLER" "$tmp/screen" | awk "NR > 1 && \$0 ~ /[a-z_]/ { f = 1 } END { exit !f }"'
	diag "$(cat "$tmp/screen")"
	tmux send-keys -t pgt C-c
	for ((i = 0; i < 50; i++)); do
		[ -z "$(ls -A "$tracefs/instances")" ] && break
		sleep 0.1
	done
	tmux kill-session -t pgt 2>/dev/null
	snap r1
	check "top on a terminal, Ctrl-C: instance removed, tracing state as before" \
		'[ "$(trace_state)" = "$state0" ]'
	scheck r0 r1 "module loads freed kernel page tables (queued or freed_sync grew)" \
		'[ $(( $(delta r0 r1 queued) + $(delta r0 r1 freed_sync) )) -gt 0 ]'

	# a killed top leaves its instance; --cleanup removes it
	top_start -J
	kill -KILL "$tpid"
	wait "$tpid" 2>/dev/null
	run top -d 0.5 -n 1
	check "top warns of the instance a killed top left" \
		'[[ $err == *"pgtfree-$tpid is left from a pgtfree that is gone"* ]]'
	run top --cleanup
	check "top --cleanup removes it, the tracing state as before" \
		'[ "$rc" -eq 0 ] && [[ $out == *"removed $tracefs/instances/pgtfree-$tpid"* ]] && [ "$(trace_state)" = "$state0" ]'

	# the admin guide's recipe: perf record, perf script, then top --input
	if command -v perf >/dev/null; then
		"${pg[@]}" drain >/dev/null
		snap p0
		perf record -q -o "$tmp/perf.data" -e 'pgtable_free:*' -a -- \
			bash -c "$(declare -f module_cycles); vmalloc_ko=$vmalloc_ko; module_cycles 10; echo 1 >$sysfs/drain" \
			>"$tmp/perf.log" 2>&1
		perf script -i "$tmp/perf.data" >"$tmp/perf.txt" 2>>"$tmp/perf.log"
		[ -z "${VM_EXEC_OUT:-}" ] || cp "$tmp/perf.txt" "$VM_EXEC_OUT/perf-script.txt"
		snap p1
		run top --input "$tmp/perf.txt" -J
		cp "$tmp/out" "$tmp/top.json"
		check "top --input of perf script: exit 0, no malformed line" \
			'[ "$rc" -eq 0 ] && [ "$(topj ".summary[0].malformed")" = 0 ] && [ "$(topj ".summary[0].events")" -gt 0 ]'
		scheck p0 p1 "perf script: top's QUEUED == the queued delta ($(topj "[.callers[].queued] | add // 0"))" \
			'[ "$(topj "[.callers[].queued] | add // 0")" = "$(delta p0 p1 queued)" ]'
		scheck p0 p1 "perf script: top's batch PAGES == the freed delta" \
			'[ "$(topj "[.batches[].pages] | add // 0")" = "$(delta p0 p1 freed)" ]'
		diag "$(head -n 3 "$tmp/perf.txt")" "$(jq -c .callers "$tmp/top.json")"
	else
		notok "perf is installed (linux-perf), for the admin guide's recipe"
	fi
fi

# ---------------------------------------------------------------- done

if [ $have_hooks -eq 1 ]; then
	hook hold 0
	check "hold=0 restored" '[ "$(hook hold)" = 0 ]'
fi
if [ -n "$orig_mode" ]; then
	"${pg[@]}" mode "$orig_mode" >/dev/null
	run mode
	check "mode restored to $orig_mode" '[ "$out" = "$orig_mode" ]'
fi

totals
[ $nfail -eq 0 ]
