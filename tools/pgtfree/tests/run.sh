#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host tests for pgtfree(8), against fixture sysfs trees built in a
# temporary directory (--sysroot).
#
# usage: tests/run.sh
# env:   PGTFREE=PATH     binary under test (default: "make" here, ./pgtfree)
#        VALGRIND=0       skip the second pass of the whole suite under
#                         valgrind (default: run it when valgrind exists);
#                         VALGRIND=only runs just that pass
#        FUZZ_SECONDS=N   random-input test time per pass (default 5)
#        UPDATE_GOLDEN=1  rewrite tests/golden/ from the current output
#        ONLY="GROUP..."  run only these groups: edges, drift, status,
#                         top, ...
#        PGTFREE_TEST_TRACEFS=0  skip the checks of "pgtfree top" against
#                         the running kernel's tracefs (as root they mount
#                         it in a private mount namespace, define a uprobe
#                         event in group pgtable_free on a copy of
#                         /bin/true when the kernel has no such group, and
#                         remove it at the end)
#        CC=cc            compiles tests/fake-tracefs.c (LD_PRELOAD)
#
# Prints one TAP line per check, failures followed by "# " lines, then
# exactly one "# Totals: pass:N fail:N skip:N" line; exits 1 on failure.
set -u
export LC_ALL=C
umask 022

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
golden=$here/golden

n=0 npass=0 nfail=0 nskip=0
pfx=

totals()
{
	echo "# Totals: pass:$npass fail:$nfail skip:$nskip"
}

if [ -z "${PGTFREE:-}" ]; then
	if ! make -s -C "$src" >&2; then
		echo "not ok 1 - build pgtfree"
		echo "# Totals: pass:0 fail:1 skip:0"
		exit 1
	fi
	PGTFREE=$src/pgtfree
fi
if [ ! -x "$PGTFREE" ]; then
	echo "not ok 1 - $PGTFREE is not an executable"
	echo "# Totals: pass:0 fail:1 skip:0"
	exit 1
fi
for tool in jq setpriv; do
	if ! command -v $tool >/dev/null; then
		echo "not ok 1 - $tool is installed"
		echo "# Totals: pass:0 fail:1 skip:0"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgtfree-test.XXXXXX") || exit 1
bgpids=()
cleanup()
{
	local p

	for p in "${bgpids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	! declare -F rt_cleanup >/dev/null || rt_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# nobody must reach the fixtures and the binary
chmod 0755 "$tmp"
mkdir -p "$tmp/bin" "$tmp/vg" "$tmp/fx"
chmod 1777 "$tmp/vg"
cp "$PGTFREE" "$tmp/bin/pgtfree"
chmod 0755 "$tmp/bin/pgtfree"
BIN=$tmp/bin/pgtfree
fx=$tmp/fx
out=$tmp/out
err=$tmp/err
rc=0

pagesize=$(getconf PAGESIZE)

# ---------------------------------------------------------------- TAP

ok()
{
	n=$((n + 1)) npass=$((npass + 1))
	echo "ok $n - $pfx$1"
}

notok()
{
	n=$((n + 1)) nfail=$((nfail + 1))
	echo "not ok $n - $pfx$1"
}

skip()
{
	n=$((n + 1)) nskip=$((nskip + 1))
	echo "ok $n - $pfx$1 # SKIP $2"
}

# the last command's status and output, as TAP diagnostics
show()
{
	echo "# command: ${last_cmd:-}"
	echo "# exit status: $rc"
	if [ -s "$out" ]; then
		echo "# stdout:"
		head -n 25 "$out" | cut -c1-200 | sed 's/^/#   /'
	fi
	if [ -s "$err" ]; then
		echo "# stderr:"
		head -n 25 "$err" | cut -c1-200 | sed 's/^/#   /'
	fi
}

# tn: t for a check on run_nobody, skipped when that is impossible
tn()
{
	if [ $nobody_ok -eq 1 ]; then
		t "$@"
	else
		skip "$1" "needs root and setpriv to run as nobody"
	fi
}

# t DESCRIPTION COMMAND...: one check on the last run
t()
{
	local desc=$1

	shift
	if "$@"; then
		ok "$desc"
	else
		notok "$desc"
		printf 'failed: %s\n' "$*" | sed 's/^[[:space:]]*/# /'
		show
	fi
}

# ---------------------------------------------------------------- running

wrap=()

pg()
{
	"${wrap[@]}" "$BIN" "$@"
}

run()
{
	last_cmd="pgtfree $*"
	pg "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# the unprivileged checks need root to become nobody
nobody_ok=0
if [ "$(id -u)" -eq 0 ] && "${as_nobody[@]}" true 2>/dev/null; then
	nobody_ok=1
fi

run_nobody()
{
	last_cmd="(nobody) pgtfree $*"
	if [ $nobody_ok -eq 0 ]; then
		rc=255
		: >"$out"
		: >"$err"
		return
	fi
	"${as_nobody[@]}" "${wrap[@]}" "$BIN" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

# pgtfree in a mount namespace of its own, where the einval fixture's mode
# file is its own /proc/PID/oom_score_adj (exec keeps the shell's PID)
run_einval()
{
	last_cmd="(mode bind-mounted from its oom_score_adj) pgtfree $*"
	unshare -m --propagation private sh -c \
		'mount --bind "/proc/$$/oom_score_adj" "$1" && shift && exec "$@"' \
		_ "$(sysfs einval)/mode" "${wrap[@]}" "$BIN" "$@" \
		>"$out" 2>"$err" </dev/null
	rc=$?
}

# ---------------------------------------------------------------- assertions

status_is() { [ "$rc" -eq "$1" ]; }
out_is() { [ "$(cat "$out")" = "$1" ]; }
out_has() { grep -qF -- "$1" "$out"; }
err_has() { grep -qF -- "$1" "$err"; }
err_empty() { [ ! -s "$err" ]; }
out_lines() { [ "$(wc -l <"$out")" -eq "$1" ]; }
err_lines() { [ "$(wc -l <"$err")" -eq "$1" ]; }
jq_out() { jq -e "$1" <"$out" >/dev/null 2>&1; }
file_is() { [ "$(cat "$1")" = "$2" ]; }

# every stderr line is {"error":{"message":string,"code":<rc>}}
err_json()
{
	[ -s "$err" ] || return 1
	jq -e --argjson rc "$rc" \
		'(.error.message | type) == "string" and .error.code == $rc' \
		<"$err" >/dev/null 2>&1 || return 1
	# and nothing but such objects, one per line
	[ "$(jq -c . <"$err" | wc -l)" -eq "$(wc -l <"$err")" ]
}

# the usage text on stderr, as text
usage_shown() { grep -q '^Usage: pgtfree' "$err"; }

# every value of the status object is a number, except mode (a string)
# and the absent ones (null)
json_typed()
{
	jq -e '.pgtfree | length == 1 and (.[0] | to_entries | all(
		if .key == "mode" then (.value | type) as $t |
			$t == "string" or $t == "null"
		else (.value | type) as $t | $t == "number" or $t == "null"
		end))' <"$out" >/dev/null 2>&1
}

# compare stdout with tests/golden/NAME (or write it with UPDATE_GOLDEN=1)
golden()
{
	if [ "${UPDATE_GOLDEN:-0}" = 1 ] && [ -z "$pfx" ]; then
		mkdir -p "$golden"
		cp "$out" "$golden/$1"
	fi
	[ -f "$golden/$1" ] || { echo "# no golden file $1"; return 1; }
	if ! cmp -s "$out" "$golden/$1"; then
		diff -u "$golden/$1" "$out" | head -n 30 | sed 's/^/# /'
		return 1
	fi
}

tg()
{
	if [ "$pagesize" != 4096 ]; then
		skip "$1" "golden files assume 4096-byte pages"
		return
	fi
	t "$1" golden "$2"
}

# Prometheus text format: HELP and TYPE before each sample, counters end
# in _total, gauges do not, values are integers, nothing else
prom_ok()
{
	awk '
	/^# HELP [a-z_]+ [^ ].*$/ { help[$3] = 1; next }
	/^# TYPE [a-z_]+ (counter|gauge)$/ {
		if (!($3 in help)) bad = 1
		type[$3] = $4; next
	}
	/^[a-z_]+(\{mode="[a-z][a-z0-9_]*"\})? [0-9]+$/ {
		name = $1; sub(/\{.*/, "", name)
		if (!(name in type)) bad = 1
		if (type[name] == "counter" && name !~ /_total$/) bad = 1
		if (type[name] == "gauge" && name ~ /_total$/) bad = 1
		samples++; next
	}
	{ bad = 1 }
	END { exit (bad || samples == 0) }' "$out"
}

# ---------------------------------------------------------------- fixtures

healthy=(queued=1234 freed=1200 pending=34 pending_max=512 batches=60
	 freed_sync=10 oom_freed=100 oom_events=2 invalidations=40
	 invalidated_mms=55)

# mkfix NAME MODE-CONTENT|- [COUNTER=VALUE...]: a fake kernel tree, marked
# as made for tests (pgtfree writes its plain files); "-" leaves the mode
# file out, counters not given are absent
mkfix()
{
	local root=$fx/$1 mode=$2 d kv

	shift 2
	d=$root/sys/kernel/mm/pgtable_free
	rm -rf "$root"
	mkdir -p "$d/stats" "$root/proc"
	: >"$root/.pgtfree-test-tree"
	printf '1000.00 1900.00\n' >"$root/proc/uptime"
	[ "$mode" = - ] || printf '%s\n' "$mode" >"$d/mode"
	: >"$d/drain"
	chmod 0200 "$d/drain"
	for kv; do
		printf '%s\n' "${kv#*=}" >"$d/stats/${kv%%=*}"
	done
}

sysfs() { echo "$fx/$1/sys/kernel/mm/pgtable_free"; }

setup_fixtures()
{
	local s

	rm -rf "$fx"
	mkdir -p "$fx"
	mkfix healthy '[async] sync' "${healthy[@]}"
	# switched to sync after 40 list drains: 1000 sync frees since
	mkfix sync 'async [sync]' queued=500 freed=500 pending=0 \
		pending_max=64 batches=40 freed_sync=1000 oom_freed=0 \
		oom_events=0
	mkfix fresh '[async] sync' queued=0 freed=0 pending=0 pending_max=0 \
		batches=0 freed_sync=0 oom_freed=0 oom_events=0
	# an older kernel: three counters only, no drain file
	mkfix old '[async] sync' queued=100 freed=90 pending=10
	rm -f "$(sysfs old)/drain"
	mkfix nomode - "${healthy[@]}"
	mkfix nostats '[async] sync'
	rmdir "$(sysfs nostats)/stats"
	mkdir -p "$fx/absent/sys/kernel/mm" "$fx/absent/proc"
	# read while the first list drain raced: batches (read before freed)
	# still 0, freed already 10
	mkfix racy '[async] sync' queued=10 freed=10 pending=0 \
		pending_max=5 batches=0 freed_sync=7 oom_freed=0 oom_events=0
	# batches + freed_sync does not fit in 64 bits
	mkfix huge '[async] sync' queued=18446744073709551615 \
		freed=18446744073709551615 pending=18446744073709551615 \
		pending_max=18446744073709551615 batches=1 \
		freed_sync=18446744073709551615 oom_freed=0 oom_events=0

	# malformed stats/queued, everything else healthy
	for s in empty nonnum overflow trunc dir fifo long trailing sign; do
		mkfix "bad-$s" '[async] sync' "${healthy[@]}"
	done
	s=$(sysfs bad-empty)/stats/queued && : >"$s"
	s=$(sysfs bad-nonnum)/stats/queued && printf 'abc\n' >"$s"
	s=$(sysfs bad-overflow)/stats/queued
	printf '18446744073709551616\n' >"$s"
	s=$(sysfs bad-trunc)/stats/queued && printf '123' >"$s"
	s=$(sysfs bad-dir)/stats/queued && rm "$s" && mkdir "$s"
	s=$(sysfs bad-fifo)/stats/queued && rm "$s" && mkfifo "$s"
	s=$(sysfs bad-long)/stats/queued
	head -c 5000 /dev/zero | tr '\0' 7 >"$s"
	s=$(sysfs bad-trailing)/stats/queued && printf '12 \n' >"$s"
	s=$(sysfs bad-sign)/stats/queued && printf -- '-1\n' >"$s"
	mkfix bad-mode '[fast] slow' "${healthy[@]}"
	mkfix bad-mode2 '[async] [sync]' "${healthy[@]}"
	mkfix bad-moderaw '[async] sync' "${healthy[@]}"
	printf '\0\377[async]' >"$(sysfs bad-moderaw)/mode"
	mkfix bad-two '[async] sync' "${healthy[@]}"
	printf 'x\n' >"$(sysfs bad-two)/stats/freed"
	printf '' >"$(sysfs bad-two)/stats/batches"

	# write targets
	mkfix modefix '[async] sync' "${healthy[@]}"
	mkfix drainfix '[async] sync' "${healthy[@]}"
	mkfix draindir '[async] sync' "${healthy[@]}"
	rm "$(sysfs draindir)/drain" && mkdir "$(sysfs draindir)/drain"
	mkfix perm '[async] sync' "${healthy[@]}"
	chmod 0644 "$(sysfs perm)/mode"
	mkfix ro '[async] sync' "${healthy[@]}"
	chmod 0444 "$(sysfs ro)/mode"
	mkfix unreadable '[async] sync' "${healthy[@]}"
	chmod 0000 "$(sysfs unreadable)/stats/pending"
	# write(2) fails with EINVAL: procfs rejects a non-number in the
	# writer's own oom_score_adj (pgtfree's own process, nothing changes),
	# bind-mounted on mode in a mount namespace of its own (run_einval)
	mkfix einval '[async] sync' "${healthy[@]}"
	mkfix notdir '[async] sync' "${healthy[@]}"
	rm -rf "$fx/notdir/sys/kernel/mm/pgtable_free"
	: >"$fx/notdir/sys/kernel/mm/pgtable_free"
}

# ---------------------------------------------------------------- the suite

test_basics()
{
	run --help
	t "--help: exit 0, usage on stdout" status_is 0
	t "--help: lists commands and columns" \
		eval 'out_has "Commands:" && out_has "AVG_BATCH" && out_has "FREED_SIZE"'
	t "--help: FLUSHES replaces ASYNC_BATCHES, semantics described" \
		eval 'out_has "FLUSHES  expensive flush operations: list drains plus sync frees" &&
		out_has "BATCHES  list drains that freed pages (one flush each)" &&
		out_has "AVG_BATCH  average pages per list drain" &&
		! out_has ASYNC_BATCHES'
	run -V
	t "-V prints 'pgtfree 0.1'" eval 'status_is 0 && out_is "pgtfree 0.1"'
	run --version
	t "--version prints 'pgtfree 0.1'" eval 'status_is 0 && out_is "pgtfree 0.1"'
	run -l
	t "-l lists the columns" eval 'status_is 0 && out_has SYNC_PCT && out_lines 18'
	run -l -J
	t "-l -J: JSON with boolean default, the file read" \
		jq_out '.columns | length == 17 and (.[0].default == true) and (.[16].default == false) and .[1].file == "stats/queued" and (map(select(.name == "AVG_BATCH"))[0].file == null)'
}

test_status()
{
	local s

	run --sysroot "$fx/healthy"
	t "status healthy: exit 0, no stderr" eval 'status_is 0 && err_empty'
	tg "status healthy: golden table" status-healthy.txt
	run --sysroot "$fx/healthy" status
	tg "explicit 'status' is the same" status-healthy.txt
	run --sysroot "$fx/healthy/" status
	tg "--sysroot with a trailing slash" status-healthy.txt
	(cd "$fx" && pg --sysroot healthy >"$out" 2>"$err")
	rc=$?
	tg "--sysroot relative to the current directory" status-healthy.txt
	run status --sysroot "$fx/healthy" -r
	t "-r: exit 0" status_is 0
	tg "-r: golden raw" status-healthy-raw.txt
	run --sysroot "$fx/healthy" -n -b
	tg "-n -b: golden, no header, bytes" status-healthy-nb.txt
	run --sysroot "$fx/healthy" -o mode,Pending,PENDING_SIZE,avg_batch
	tg "-o LIST (case-insensitive): golden" status-healthy-o.txt
	run --sysroot "$fx/healthy" -o +FLUSHES,SYNC_PCT,PENDING_MAX_SIZE,FREED_SIZE
	tg "-o +LIST extends the default: golden" status-healthy-oplus.txt
	run --sysroot "$fx/healthy" --output=+SYNC_PCT -r
	t "--output=+LIST: 9 columns" eval 'status_is 0 && [ "$(head -1 "$out" | wc -w)" -eq 9 ]'

	run --sysroot "$fx/healthy" -J
	t "-J healthy: exit 0" eval 'status_is 0 && err_empty'
	t "-J healthy: parses, numbers are numbers" json_typed
	tg "-J healthy: golden" status-healthy.json
	run --sysroot "$fx/healthy" -J --output-all
	t "-J --output-all healthy: values" jq_out '.pgtfree[0] | .mode == "async" and
		.pending == 34 and .pending_size == 34 * '"$pagesize"' and
		.pending_max == 512 and .queued == 1234 and .freed == 1200 and
		.batches == 60 and .avg_batch == 20 and .freed_sync == 10 and
		.oom_freed == 100 and .oom_events == 2 and
		.invalidations == 40 and .invalidated_mms == 55 and
		.flushes == 70 and (keys | length) == 17'
	run --sysroot "$fx/healthy" --format json -o +FLUSHES,SYNC_PCT,PENDING_MAX_SIZE,FREED_SIZE
	t "--format json, extra columns: numbers, flushes = batches + freed_sync" eval 'json_typed && jq_out ".pgtfree[0] | .flushes == 70 and .sync_pct == 1000 / 1210 and .freed_size == 1200 * $pagesize"'
	run --sysroot "$fx/healthy" --format table
	tg "--format table is the default" status-healthy.txt

	run --sysroot "$fx/sync"
	tg "status sync mode: golden" status-sync.txt
	run --sysroot "$fx/sync" -J -o +FLUSHES,SYNC_PCT
	t "sync mode: avg_batch = freed/batches = 12.5, flushes = 40 + 1000" \
		jq_out '.pgtfree[0] | .mode == "sync" and .avg_batch == 12.5 and
		.flushes == 1040 and (.sync_pct * 10 | round) == 667'

	run --sysroot "$fx/fresh" -J -o +FLUSHES,SYNC_PCT
	t "fresh kernel: no drain yet, avg_batch and sync_pct null, flushes 0" \
		eval 'status_is 0 && json_typed && jq_out ".pgtfree[0] | .avg_batch == null and .sync_pct == null and .flushes == 0 and .queued == 0"'

	run --sysroot "$fx/racy" -J -o +FLUSHES,SYNC_PCT,PENDING_MAX_SIZE,FREED_SIZE
	t "racy read (batches 0, freed > 0): avg_batch null, nothing negative" \
		eval 'status_is 0 && json_typed && jq_out ".pgtfree[0] | .batches == 0 and .freed == 10 and .avg_batch == null and .flushes == 7 and ([.[] | numbers | select(. < 0)] | length == 0)"'
	run --sysroot "$fx/racy" -r -o +FLUSHES,SYNC_PCT
	t "racy read: AVG_BATCH '-', no negative number in the table" \
		eval 'status_is 0 && sed -n 2p "$out" | awk "{ exit \$7 != \"-\" }" && ! grep -q -- "-[0-9]" "$out"'

	run --sysroot "$fx/huge" -J -o +FLUSHES,SYNC_PCT,PENDING_MAX_SIZE,FREED_SIZE
	t "u64 max counters: parse, overflowing sizes and flushes are null" \
		eval 'status_is 0 && json_typed && jq_out ".pgtfree[0] | .pending_size == null and .freed_size == null and .flushes == null and .pending > 1e19 and .avg_batch > 1e19 and .sync_pct == 50"'

	run --sysroot "$fx/old"
	t "older kernel (missing counters): exit 0, no error" \
		eval 'status_is 0 && err_empty'
	tg "older kernel: golden table with '-'" status-old.txt
	run --sysroot "$fx/old" -J --output-all
	t "older kernel: JSON null for absent, not 0" \
		eval 'json_typed && jq_out ".pgtfree[0] | .batches == null and .pending_max == null and .oom_events == null and .invalidations == null and .invalidated_mms == null and .avg_batch == null and .queued == 100"'
	tg "older kernel: golden JSON" status-old.json
	run --sysroot "$fx/old" -J -o +FLUSHES,SYNC_PCT
	t "older kernel: flushes and sync_pct null without their counters" \
		eval 'status_is 0 && json_typed && jq_out ".pgtfree[0] | .flushes == null and .sync_pct == null"'
	run --sysroot "$fx/old" --format prometheus
	t "older kernel prometheus: absent counters omitted" \
		eval 'status_is 0 && prom_ok && ! out_has batches && ! out_has oom && ! out_has invalidat && out_has "pgtable_free_queued_pages_total 100"'
	tg "older kernel prometheus: golden" prometheus-old.txt

	run --sysroot "$fx/nomode" -J
	t "no mode file: mode null, exit 0" \
		eval 'status_is 0 && jq_out ".pgtfree[0].mode == null and .pgtfree[0].queued == 1234"'
	run --sysroot "$fx/nostats" -J
	t "no stats directory: all counters null, exit 65, said once" \
		eval 'status_is 65 && jq_out "[.pgtfree[0][]] | map(select(. != null)) == [\"async\"]" && err_lines 1 && err_has "stats: not found"'

	run --sysroot "$fx/healthy" --format prometheus
	t "prometheus: exit 0, well-formed" eval 'status_is 0 && prom_ok'
	t "prometheus: values equal the files" eval '
		out_has "pgtable_free_queued_pages_total 1234" &&
		out_has "pgtable_free_freed_pages_total 1200" &&
		out_has "pgtable_free_pending_pages 34" &&
		out_has "pgtable_free_pending_bytes $((34 * pagesize))" &&
		out_has "pgtable_free_pending_max_pages 512" &&
		out_has "pgtable_free_batches_total 60" &&
		out_has "pgtable_free_freed_sync_pages_total 10" &&
		out_has "pgtable_free_oom_freed_pages_total 100" &&
		out_has "pgtable_free_oom_events_total 2" &&
		out_has "pgtable_free_invalidations_total 40" &&
		out_has "pgtable_free_invalidated_mms_total 55" &&
		out_has "pgtable_free_mode{mode=\"async\"} 1" &&
		out_has "pgtable_free_mode{mode=\"sync\"} 0"'
	tg "prometheus: golden" prometheus-healthy.txt
	run --sysroot "$fx/sync" --format=prometheus
	t "prometheus sync mode: labelled gauge" eval '
		out_has "pgtable_free_mode{mode=\"sync\"} 1" &&
		out_has "pgtable_free_mode{mode=\"async\"} 0"'
	run --sysroot "$fx/nomode" --format prometheus
	t "prometheus without mode file: no mode gauge" \
		eval 'status_is 0 && prom_ok && ! out_has pgtable_free_mode'
}

test_malformed()
{
	local s why

	for s in empty:'stats/queued: empty file' \
		 nonnum:"stats/queued: not a number: 'abc'" \
		 overflow:"stats/queued: number out of range: '18446744073709551616'" \
		 trunc:"stats/queued: truncated value (no newline): '123'" \
		 dir:'stats/queued: is a directory' \
		 fifo:'stats/queued: not a regular file' \
		 long:'stats/queued: value too long' \
		 trailing:"stats/queued: not a number: '12 '" \
		 sign:"stats/queued: not a number: '-1'"; do
		why=${s#*:}
		s=${s%%:*}
		last_cmd="timeout 20 pgtfree --sysroot $fx/bad-$s"
		timeout 20 "${wrap[@]}" "$BIN" --sysroot "$fx/bad-$s" \
			>"$out" 2>"$err" </dev/null
		rc=$?
		t "malformed ($s): exit 65, named: $why" \
			eval 'status_is 65 && err_has "$why" && err_lines 1'
		t "malformed ($s): other counters still shown" \
			eval '[ "$(sed -n 2p "$out" | awk "{print \$2, \$3}")" = "- 1200" ]'
		run --sysroot "$fx/bad-$s" -J
		t "malformed ($s) -J: exit 65, null, others numbers" \
			eval 'status_is 65 && json_typed && jq_out ".pgtfree[0] | .queued == null and .freed == 1200 and .pending == 34"'
		t "malformed ($s) -J: stderr is JSON" err_json
		run --sysroot "$fx/bad-$s" --format prometheus
		t "malformed ($s) prometheus: exit 65, counter omitted" \
			eval 'status_is 65 && prom_ok && ! out_has queued && out_has "pgtable_free_freed_pages_total 1200"'
	done
	run --sysroot "$fx/bad-nonnum"
	tg "malformed: golden table with '-'" status-bad.txt

	run --sysroot "$fx/bad-mode"
	t "malformed mode: exit 65, quoted" \
		eval "status_is 65 && err_has \"mode: unrecognised mode: '[fast] slow'\""
	run --sysroot "$fx/bad-mode2" -J
	t "mode with two selections: exit 65, mode null" \
		eval 'status_is 65 && jq_out ".pgtfree[0].mode == null and .pgtfree[0].queued == 1234"'
	run --sysroot "$fx/bad-moderaw" -J
	t "mode with NUL and high bytes: exit 65, escaped in JSON error" \
		eval 'status_is 65 && err_json && err_has "\\\\x00\\\\xff"'
	run --sysroot "$fx/bad-moderaw" mode
	t "'mode' on a malformed mode file: exit 65" status_is 65
	run --sysroot "$fx/bad-two"
	t "two bad counters: both reported, exit 65" \
		eval 'status_is 65 && err_lines 2 && err_has stats/freed && err_has stats/batches'
}

test_exit_codes()
{
	local a

	run --sysroot "$fx/absent"
	t "feature absent: exit 69" status_is 69
	t "feature absent: one sentence naming CONFIG_ASYNC_KERNEL_PGTABLE_FREE" \
		eval 'err_lines 1 && err_has CONFIG_ASYNC_KERNEL_PGTABLE_FREE && err_has "$fx/absent/sys/kernel/mm/pgtable_free"'
	run --sysroot "$fx/absent" -J
	t "feature absent -J: JSON error with code 69, empty stdout" \
		eval 'status_is 69 && err_json && [ ! -s "$out" ]'
	for a in "watch -c 1" mode "mode sync" drain "--format prometheus"; do
		run --sysroot "$fx/absent" $a
		t "feature absent, '$a': exit 69" status_is 69
	done
	run --sysroot "$fx/notdir"
	t "pgtable_free is a file: exit 69" status_is 69

	# usage errors: exit 64, short usage on stderr, nothing written
	local -a usage_cases=(
		"-x" "--bogus" "frobnicate" "status extra" "-o FOO" "-o"
		"-o ,MODE" "-o +" "-o MODE,,PENDING" "watch -i 0" "watch -i -1"
		"watch -i abc" "watch -i inf" "watch -i nan" "watch -i 1e3"
		"watch -i 0x10" "watch -i 100000" "watch -i" "watch -c 0"
		"watch -c -1" "watch -c x" "watch -c 1.5" "watch -c 99999999999999999999999"
		"-i 1" "status -c 1" "watch -o MODE" "watch -b"
		"watch --format prometheus" "mode --format prometheus"
		"--format prometheus -o MODE" "--format prometheus -n"
		"--format yaml" "--format"
		"mode bogus" "mode SYNC" "mode sync async" "mode -n" "mode -o MODE"
		"drain now" "drain -b" "--sysroot"
	)
	for a in "${usage_cases[@]}"; do
		run --sysroot "$fx/healthy" $a
		t "usage error '$a': exit 64, usage on stderr, no stdout" \
			eval 'status_is 64 && usage_shown && [ ! -s "$out" ]'
	done
	run --sysroot "$fx/healthy" -o MODE,FOO
	t "unknown column is named in the message" err_has "unknown column: 'FOO'"
	run --sysroot "$fx/healthy" -J -o MODE,FOO
	t "unknown column with -J: JSON error only (code 64)" \
		eval 'status_is 64 && err_json && err_has FOO && ! usage_shown'
	run --sysroot "$fx/healthy" -o MODE,FOO -J
	t "-J after the bad option still gives a JSON error" err_json
	run --sysroot "$fx/absent" mode bogus
	t "bad mode word: exit 64 even without the feature" status_is 64

	# exit 1: a write error on stdout, an unreadable file, a bad target
	last_cmd="pgtfree --sysroot $fx/healthy >/dev/full"
	pg --sysroot "$fx/healthy" >/dev/full 2>"$err"
	rc=$?
	: >"$out"
	t "stdout on a full disk: exit 1, write error" \
		eval 'status_is 1 && err_has "write error"'
	run_nobody --sysroot "$fx/unreadable"
	tn "unreadable counter (EACCES on read): exit 1, others shown" \
		eval 'status_is 1 && err_has "stats/pending: cannot read: Permission denied" && out_has 1234'
	run --sysroot "$fx/draindir" drain
	t "drain is a directory: exit 1" \
		eval 'status_is 1 && err_has "drain: cannot write"'
}

test_mode()
{
	local d sum

	d=$(sysfs modefix)
	run --sysroot "$fx/modefix" mode
	t "mode: prints async" eval 'status_is 0 && out_is async'
	run --sysroot "$fx/sync" mode
	t "mode: prints sync" eval 'status_is 0 && out_is sync'
	run --sysroot "$fx/modefix" mode sync
	t "mode sync: exit 0, prints the read-back mode" \
		eval 'status_is 0 && out_is sync && err_empty'
	t "mode sync: wrote 'sync\\n'" file_is "$d/mode" sync
	run --sysroot "$fx/modefix" mode
	t "mode: reads back sync" out_is sync
	run --sysroot "$fx/modefix" mode async -J
	t "mode async -J: JSON" eval 'status_is 0 && jq_out ".pgtfree[0].mode == \"async\""'
	t "mode async: wrote 'async\\n'" file_is "$d/mode" async
	run --sysroot "$fx/modefix" -J mode
	t "mode -J: JSON string" jq_out '.pgtfree == [{"mode": "async"}]'
	run --sysroot "$fx/modefix" -r mode
	t "mode -r: the word" out_is async
	printf '[async] sync\n' >"$d/mode"
	sum=$(cksum <"$d/mode")
	run --sysroot "$fx/modefix" mode bogus
	t "mode bogus: exit 64, names the word" \
		eval "status_is 64 && err_has \"invalid mode 'bogus'\""
	t "mode bogus: nothing written" eval '[ "$(cksum <"$d/mode")" = "$sum" ]'
	run --sysroot "$fx/nomode" mode
	t "mode without a mode file: exit 69" status_is 69
	run --sysroot "$fx/nomode" mode sync
	t "mode sync without a mode file: exit 69, nothing created" \
		eval 'status_is 69 && [ ! -e "$(sysfs nomode)/mode" ]'

	if [ "$(id -u)" -eq 0 ] && unshare -m --propagation private true 2>/dev/null; then
		run_einval --sysroot "$fx/einval" mode sync
		t "kernel rejects the value (EINVAL): exit 65, value named" \
			eval "status_is 65 && err_has \"mode: the kernel rejected 'sync' (EINVAL)\""
		run_einval --sysroot "$fx/einval" -J mode async
		t "kernel rejects the value (EINVAL) -J: JSON error, code 65" \
			eval 'status_is 65 && err_json && err_has EINVAL'
	else
		skip "kernel rejects the value (EINVAL)" "needs root and unshare -m"
		skip "kernel rejects the value (EINVAL) -J" "needs root and unshare -m"
	fi

	d=$(sysfs perm)
	sum=$(cksum <"$d/mode")
	run_nobody --sysroot "$fx/perm" mode sync
	tn "non-root 'mode sync': exit 77, says root is needed" \
		eval 'status_is 77 && err_has "mode: permission denied" && err_has "needs root"'
	tn "non-root 'mode sync': nothing written" \
		eval '[ "$(cksum <"$d/mode")" = "$sum" ]'
	run_nobody --sysroot "$fx/perm" -J mode sync
	tn "non-root 'mode sync' -J: JSON error, code 77" \
		eval 'status_is 77 && err_json'
	run_nobody --sysroot "$fx/perm" mode
	tn "non-root 'mode': reads it" eval 'status_is 0 && out_is async'
	run_nobody --sysroot "$fx/perm"
	tn "non-root status works" eval 'status_is 0 && err_empty && out_has 1234'
	run_nobody --sysroot "$fx/perm" --format prometheus
	tn "non-root prometheus works" eval 'status_is 0 && prom_ok'

	# root without CAP_DAC_OVERRIDE on a 0444 file stands in for lockdown
	if [ "$(id -u)" -eq 0 ] &&
	   setpriv --bounding-set=-dac_override true 2>/dev/null; then
		last_cmd="(root, no CAP_DAC_OVERRIDE) pgtfree mode sync"
		setpriv --bounding-set=-dac_override "${wrap[@]}" "$BIN" \
			--sysroot "$fx/ro" mode sync >"$out" 2>"$err" </dev/null
		rc=$?
		t "root refused a write: exit 77, mentions lockdown/LSM" \
			eval 'status_is 77 && err_has lockdown && err_has "security module"'
	else
		skip "root refused a write: exit 77, mentions lockdown/LSM" \
			"needs root and setpriv --bounding-set"
	fi
}

test_drain()
{
	local d

	d=$(sysfs drainfix)
	: >"$d/drain"
	run --sysroot "$fx/drainfix" drain
	chmod 0600 "$d/drain"	# to read it back when not root
	t "drain: exit 0" eval 'status_is 0 && err_empty'
	t "drain: wrote exactly '1'" eval '[ "$(od -An -c "$d/drain" | tr -d " ")" = 1 ]'
	tg "drain: golden before/after table" drain.txt
	run --sysroot "$fx/drainfix" drain -J
	t "drain -J: numbers" jq_out '.drain[0] | .pending_before == 34 and
		.pending_after == 34 and .freed == 0'
	run --sysroot "$fx/drainfix" drain -n -r
	t "drain -n -r" out_is "34 34 0"
	run --sysroot "$fx/nostats" drain -J
	t "drain without stats/: drained, null before/after, exit 65" \
		eval 'status_is 65 && [ -s "$(sysfs nostats)/drain" ] && jq_out ".drain[0] | .pending_before == null and .pending_after == null and .freed == null"'
	run --sysroot "$fx/old" drain
	t "drain without a drain file: exit 69" \
		eval 'status_is 69 && err_has "drain: not provided"'
	d=$(sysfs perm)
	run_nobody --sysroot "$fx/perm" drain
	tn "non-root drain: exit 77, nothing written" \
		eval 'status_is 77 && err_has "needs root" && [ ! -s "$d/drain" ]'
}

test_watch()
{
	local pid i slow=1 hdr l1

	[ ${#wrap[@]} -gt 0 ] && slow=6

	run --sysroot "$fx/healthy" watch -c 2 -i 0.1
	t "watch -c 2 -i 0.1: exit 0, header and 2 lines" \
		eval 'status_is 0 && out_lines 3 && head -1 "$out" | grep -q "^ *queued *queued/s *freed *freed/s *pending "'
	tg "watch: golden (totals since boot, then deltas)" watch-healthy.txt
	run --sysroot "$fx/healthy" watch -n -c 2 -i 0.1
	t "watch -n: no header" eval 'status_is 0 && out_lines 2 && ! grep -q pending "$out"'
	run --sysroot "$fx/healthy" watch -r -c 1
	t "watch -r: single spaces" \
		eval 'status_is 0 && out_lines 2 && sed -n 2p "$out" | grep -qx "1234 1.2 1200 1.2 34 60 0.1 10 0.0"'
	run --sysroot "$fx/healthy" watch -J -c 2 -i 0.1
	t "watch -J: NDJSON, 2 objects, numbers" eval 'status_is 0 && out_lines 2 &&
		[ "$(jq -c . <"$out" | wc -l)" -eq 2 ] &&
		jq -se ".[0].since_boot == true and .[1].since_boot == false and
			.[0].interval == 1000 and .[0].queued == 1234 and
			.[0].queued_per_sec == 1.234 and .[1].queued == 0 and
			.[1].interval >= 0.09 and
			all(.[]; .pending == 34 and (.time | type) == \"number\")" <"$out" >/dev/null'
	local t0 t1
	t0=$(date +%s%N)
	run --sysroot "$fx/healthy" watch -c 3 -i 0.2
	t1=$(date +%s%N)
	t "watch -c 3 -i 0.2 takes >= 0.4 s" \
		eval 'status_is 0 && [ $(( (t1 - t0) / 1000000 )) -ge 390 ]'
	run --sysroot "$fx/old" watch -c 2 -i 0.1
	t "watch on an older kernel: '-' for absent, exit 0" \
		eval 'status_is 0 && sed -n 2p "$out" | grep -q "^ *100 .* 10 *- *- *- *- *$"'
	run --sysroot "$fx/bad-nonnum" watch -c 3 -i 0.05
	t "watch with a bad counter: reported once, exit 65" \
		eval 'status_is 65 && err_lines 1 && out_lines 4'
	run --sysroot "$fx/bad-nonnum" watch -J -c 2 -i 0.05
	t "watch -J with a bad counter: null, JSON error" \
		eval 'status_is 65 && err_json && jq -se "all(.[]; .queued == null and .freed != null)" <"$out" >/dev/null'

	# line-buffered into a pipe: lines arrive long before the end
	rm -f "$tmp/fifo"
	mkfifo "$tmp/fifo"
	# not through pg(): the background job must be pgtfree itself
	env --default-signal "${wrap[@]}" "$BIN" --sysroot "$fx/healthy" watch -i 30 -c 2 \
		>"$tmp/fifo" 2>"$err" &
	pid=$!
	bgpids+=("$pid")
	exec 3<"$tmp/fifo"
	hdr='' l1=''
	read -r -t $((5 * slow)) -u 3 hdr && read -r -t $((5 * slow)) -u 3 l1
	last_cmd="pgtfree watch -i 30 -c 2 >fifo"
	printf '%s\n%s\n' "$hdr" "$l1" >"$out"
	t "watch into a pipe: header and first line flushed at once" \
		eval '[[ $hdr == *pending* ]] && [ "$(echo $l1 | wc -w)" -eq 9 ]'
	kill -TERM "$pid" 2>/dev/null
	reap "$pid"
	exec 3<&-
	t "watch: SIGTERM while sleeping -> exit 0" status_is 0

	# SIGTERM and SIGINT while it runs at 0.05 s (set -m and env
	# --default-signal: as in start_fake)
	for sig in TERM INT; do
		# empty before the job starts: the poll below must not see the
		# previous run's lines and signal pgtfree before it is set up
		: >"$out"
		set -m
		env --default-signal "${wrap[@]}" "$BIN" --sysroot "$fx/healthy" watch -i 0.05 \
			>"$out" 2>"$err" &
		pid=$!
		set +m
		bgpids+=("$pid")
		for ((i = 0; i < 100 * slow; i++)); do
			[ "$(wc -l <"$out")" -ge 4 ] && break
			sleep 0.05
		done
		kill -"$sig" "$pid" 2>/dev/null
		reap "$pid"
		last_cmd="pgtfree watch -i 0.05 & kill -$sig"
		t "watch: SIG$sig -> exit 0, no stderr" eval 'status_is 0 && err_empty'
		t "watch: SIG$sig -> every line complete" eval '
			[ "$(tail -c 1 "$out" | od -An -c | tr -d " ")" = "\n" ] &&
			[ "$(awk "NR > 1 && NF != 9" "$out" | wc -l)" -eq 0 ] &&
			[ "$(wc -l <"$out")" -ge 4 ]'
	done
}

# --help, the man page and the completion offer the same commands and
# options
test_consistency()
{
	local comp=$src/pgtfree.bash-completion man=$src/pgtfree.8

	pg --help >"$tmp/help" 2>/dev/null
	awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }' \
		"$tmp/help" | sort >"$tmp/help.cmds"
	awk '/^Options:/ { f = 1; next } /^$/ { f = 0 } f' "$tmp/help" |
		grep -oE '^ *(-[A-Za-z], )?--[a-z-]+' |
		grep -oE -- '--?[A-Za-z][a-z-]*' | sort >"$tmp/help.opts"

	# man: the tag line after each .TP in COMMANDS and OPTIONS
	awk '/^\.SH / { sec = $2 } prev == ".TP" && sec == "COMMANDS" { print $2 }
	     { prev = $0 }' "$man" | sort >"$tmp/man.cmds"
	awk '/^\.SH / { sec = $2 } prev == ".TP" && sec == "OPTIONS" { print }
	     { prev = $0 }' "$man" | tr -d '\\' |
		grep -oE -- '(^| )--?[A-Za-z][a-z-]*' | tr -d ' ' |
		sort >"$tmp/man.opts"

	# completion: ask it, as bash would
	bash -c '
		source "$1"
		COMP_WORDS=(pgtfree ""); COMP_CWORD=1; _pgtfree
		printf "%s\n" "${COMPREPLY[@]}" | sort >"$2.cmds"
		COMP_WORDS=(pgtfree -); COMP_CWORD=1; _pgtfree
		printf "%s\n" "${COMPREPLY[@]}" | sort >"$2.opts"
		COMP_WORDS=("$3" -o +); COMP_CWORD=2; _pgtfree
		printf "%s\n" "${COMPREPLY[@]#+}" | sort >"$2.cols"
	' _ "$comp" "$tmp/comp" "$BIN"
	pg -l -n -r | awk '{ print $1 }' | sort >"$tmp/bin.cols"

	last_cmd="compare help/man/completion"
	rc=0
	: >"$out"
	: >"$err"
	t "commands: --help lists status watch mode drain top" \
		eval '[ "$(echo $(sort <<<"status
watch
mode
drain
top"))" = "$(echo $(cat "$tmp/help.cmds"))" ]'
	t "commands: man page == --help" \
		eval 'diff "$tmp/help.cmds" "$tmp/man.cmds" | sed "s/^/# /"; cmp -s "$tmp/help.cmds" "$tmp/man.cmds"'
	t "commands: completion == --help" \
		eval 'diff "$tmp/help.cmds" "$tmp/comp.cmds" | sed "s/^/# /"; cmp -s "$tmp/help.cmds" "$tmp/comp.cmds"'
	t "options: --help lists 28 (short and long)" \
		eval '[ "$(wc -l <"$tmp/help.opts")" -eq 28 ]'
	t "options: man page == --help" \
		eval 'diff "$tmp/help.opts" "$tmp/man.opts" | sed "s/^/# /"; cmp -s "$tmp/help.opts" "$tmp/man.opts"'
	t "options: completion == --help" \
		eval 'diff "$tmp/help.opts" "$tmp/comp.opts" | sed "s/^/# /"; cmp -s "$tmp/help.opts" "$tmp/comp.opts"'
	t "columns: completion == pgtfree -l" \
		eval 'diff "$tmp/bin.cols" "$tmp/comp.cols" | sed "s/^/# /"; cmp -s "$tmp/bin.cols" "$tmp/comp.cols"'
	t "columns: every column is in the man page" \
		eval '(for c in $(cat "$tmp/bin.cols"); do grep -q "^\.B $c\$" "$man" || { echo "# missing $c"; exit 1; }; done)'
}

test_manpage()
{
	if command -v man >/dev/null; then
		MANWIDTH=80 man --warnings -l "$src/pgtfree.8" >"$out" 2>"$err"
		rc=$?
		last_cmd="MANWIDTH=80 man --warnings -l pgtfree.8"
		t "man page renders without warnings" \
			eval 'status_is 0 && err_empty && out_has "EXIT STATUS"'
	else
		skip "man page renders without warnings" "man not installed"
	fi
	if command -v groff >/dev/null; then
		groff -ww -man -z "$src/pgtfree.8" >"$out" 2>"$err"
		rc=$?
		last_cmd="groff -ww -man -z pgtfree.8"
		t "groff -ww: no warnings" eval 'status_is 0 && err_empty'
	else
		skip "groff -ww: no warnings" "groff not installed"
	fi
	local sec missing=
	for sec in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS COLUMNS OUTPUT \
		   'EXIT STATUS' FILES EXAMPLES 'SEE ALSO'; do
		grep -qE "^\.SH \"?$sec\"?\$" "$src/pgtfree.8" ||
			missing="$missing '$sec'"
	done
	last_cmd="grep .SH pgtfree.8"
	rc=0
	echo "missing:$missing" >"$out"
	: >"$err"
	t "man page has all the sections" eval '[ -z "$missing" ]'
	bash -n "$src/pgtfree.bash-completion" >"$out" 2>"$err"
	rc=$?
	t "completion: bash -n" status_is 0
}

# ---------------------------------------------------------------- edges
# issue 16: each check here failed on pgtfree before its fix

# writes under --sysroot stay in the tree: no symbolic link followed, no
# hard-linked or non-sysfs file written outside a tree made for tests
test_edges_writes()
{
	local host=$tmp/host d

	rm -rf "$host"
	mkdir -p "$host/dir/stats"
	printf 'precious\n' >"$host/victim"
	printf 'precious\n' >"$host/victim2"
	printf 'precious\n' >"$host/victim3"
	printf '[async] sync\n' >"$host/dir/mode"
	printf 'untouched' >"$host/dir/drain"

	mkfix symlink '[async] sync' "${healthy[@]}"
	d=$(sysfs symlink)
	rm "$d/mode" "$d/drain"
	ln -s "$host/victim" "$d/mode"
	ln -s "$host/victim2" "$d/drain"
	run --sysroot "$fx/symlink" mode sync
	t "write: mode a symlink out of the tree: exit 77, not followed" \
		eval 'status_is 77 && err_has "symbolic link" && file_is "$host/victim" precious'
	run --sysroot "$fx/symlink" drain
	t "write: drain a symlink out of the tree: exit 77, not followed" \
		eval 'status_is 77 && file_is "$host/victim2" precious'
	run --sysroot "$fx/symlink"
	t "read: mode a symlink: not followed, exit 65" \
		eval 'status_is 65 && err_has "mode: a symbolic link" && ! out_has async'

	mkfix symdir '[async] sync' "${healthy[@]}"
	rm -rf "$(sysfs symdir)"
	ln -s "$host/dir" "$(sysfs symdir)"
	run --sysroot "$fx/symdir" mode sync
	t "write: pgtable_free a symlink out of the tree: exit 65, nothing written" \
		eval 'status_is 65 && file_is "$host/dir/mode" "[async] sync"'
	run --sysroot "$fx/symdir" drain
	t "write: drain through a symlinked directory: nothing written" \
		eval 'status_is 65 && file_is "$host/dir/drain" untouched'

	mkfix hardlink '[async] sync' "${healthy[@]}"
	d=$(sysfs hardlink)
	rm "$d/mode"
	if ln "$host/victim3" "$d/mode" 2>/dev/null; then
		run --sysroot "$fx/hardlink" mode sync
		t "write: mode a hard link of another file: exit 77, untouched" \
			eval 'status_is 77 && err_has "hard links" && file_is "$host/victim3" precious'
	else
		skip "write: mode a hard link of another file" "no hard link possible"
	fi

	mkfix unmarked '[async] sync' "${healthy[@]}"
	rm "$fx/unmarked/.pgtfree-test-tree"
	d=$(sysfs unmarked)
	run --sysroot "$fx/unmarked" mode sync
	t "write: plain file in an unmarked tree: exit 77, says how, untouched" \
		eval 'status_is 77 && err_has "not on sysfs" && err_has "$fx/unmarked/.pgtfree-test-tree" && file_is "$d/mode" "[async] sync"'
	run --sysroot "$fx/unmarked" drain
	t "write: drain in an unmarked tree: exit 77, nothing written" \
		eval 'status_is 77 && [ ! -s "$d/drain" ]'
	run --sysroot "$fx/unmarked" -J mode sync
	t "write refused -J: JSON error, code 77" eval 'status_is 77 && err_json'
	run --sysroot "$fx/unmarked"
	t "reading an unmarked tree works" eval 'status_is 0 && err_empty'
}

# only what a command shows decides its exit status
test_edges_needs()
{
	run --sysroot "$fx/bad-nonnum" drain
	t "drain with a bad counter it does not show: exit 0" \
		eval 'status_is 0 && err_empty && out_has 34'
	run --sysroot "$fx/bad-nonnum" -o MODE,PENDING
	t "status -o MODE,PENDING with a bad queued: exit 0" \
		eval 'status_is 0 && err_empty'
	run --sysroot "$fx/bad-mode" -o QUEUED,FREED
	t "status -o QUEUED,FREED with a bad mode: exit 0" \
		eval 'status_is 0 && err_empty && out_has 1234'
	run --sysroot "$fx/bad-nonnum" -o MODE,QUEUED
	t "status -o MODE,QUEUED with a bad queued: exit 65" status_is 65
}

# the mode file is words, the active one in brackets; new words are fine
test_edges_mode_words()
{
	mkfix newmode '[async] sync lazy' "${healthy[@]}"
	mkfix newmode2 'async sync [lazy]' "${healthy[@]}"
	run --sysroot "$fx/newmode"
	t "mode file with an extra word: status exit 0, async" \
		eval 'status_is 0 && err_empty && sed -n 2p "$out" | grep -q "^async "'
	run --sysroot "$fx/newmode" mode
	t "mode file with an extra word: 'mode' prints async" \
		eval 'status_is 0 && out_is async'
	run --sysroot "$fx/newmode2" -J
	t "a newer kernel's mode active: shown as named" \
		eval 'status_is 0 && jq_out ".pgtfree[0].mode == \"lazy\""'
	run --sysroot "$fx/newmode2" --format prometheus
	t "a newer kernel's mode: a sample per word, 1 for the active one" \
		eval 'status_is 0 && prom_ok && out_has "pgtable_free_mode{mode=\"lazy\"} 1" && out_has "pgtable_free_mode{mode=\"async\"} 0"'
	run --sysroot "$fx/newmode" mode lazy
	t "mode lazy on a kernel that lists it: written, read back" \
		eval 'status_is 0 && out_is lazy && file_is "$(sysfs newmode)/mode" lazy'
	printf '[async] sync lazy\n' >"$(sysfs newmode)/mode"
	run --sysroot "$fx/newmode" mode turbo
	t "mode turbo, not listed: exit 64, names the kernel's modes" \
		eval 'status_is 64 && err_has "offers async, sync, lazy" && file_is "$(sysfs newmode)/mode" "[async] sync lazy"'
}

# a wrong --sysroot is not a kernel without the feature; no stats/ is bad
test_edges_sysroot()
{
	mkdir -p "$tmp/emptyroot"
	run --sysroot "$fx/nonexistent-root"
	t "--sysroot that does not exist: exit 66, one sentence" \
		eval 'status_is 66 && err_lines 1 && err_has "No such file or directory"'
	run --sysroot "$tmp/emptyroot"
	t "--sysroot without sys/kernel/mm: exit 66, not 69" \
		eval 'status_is 66 && err_lines 1 && err_has "not the root of a system with sysfs"'
	run --sysroot "$tmp/emptyroot" -J mode
	t "--sysroot without sys/kernel/mm -J: JSON error, 66" \
		eval 'status_is 66 && err_json'
	run --sysroot "$fx/nostats"
	t "no stats/ directory: exit 65, said once" \
		eval 'status_is 65 && err_lines 1 && err_has "stats: not found"'
	run --sysroot "$fx/nostats" watch -c 3 -i 0.01
	t "no stats/ directory in watch: exit 65, said once" \
		eval 'status_is 65 && err_lines 1'
}

# JSON errors for -J anywhere; --help and --version into a full disk
test_edges_cli()
{
	local a

	for a in "-J -r" "-r -J" "--json --raw" "-Jr" "-rJ" "-J --format raw" \
		 "--format raw -J" "--format json -r" "status -r -J"; do
		run --sysroot "$fx/healthy" $a
		t "'$a': a JSON usage error (64), no usage text" \
			eval 'status_is 64 && err_json && ! usage_shown'
	done
	for a in --help --version -l; do
		last_cmd="pgtfree $a >/dev/full"
		pg $a >/dev/full 2>"$err"
		rc=$?
		: >"$out"
		t "$a into a full disk: exit 1, write error" \
			eval 'status_is 1 && err_has "write error"'
	done
}

# watch: header per screen on a terminal, aligned columns, a time column
test_edges_watch()
{
	local w

	if command -v script >/dev/null; then
		# not under valgrind: script(1) runs the command through sh
		last_cmd="script: stty rows 10; pgtfree watch -c 20 -i 0.01"
		script -qec "stty rows 10 cols 200; $BIN --sysroot $fx/healthy watch -c 20 -i 0.01" \
			/dev/null </dev/null 2>"$err" | tr -d '\r' >"$out"
		rc=${PIPESTATUS[0]}
		t "watch on a terminal of 10 rows: the header every 8 lines" \
			eval '[ "$(grep -c "^ *queued " "$out")" -eq 3 ] && [ "$(grep -c "^ *[0-9]" "$out")" -eq 20 ]'
		script -qec "stty rows 10 cols 200; $BIN --sysroot $fx/healthy watch -n -c 20 -i 0.01" \
			/dev/null </dev/null 2>"$err" | tr -d '\r' >"$out"
		t "watch -n on a terminal: no header at all" \
			eval '! grep -q queued "$out" && [ "$(wc -l <"$out")" -eq 20 ]'
	else
		skip "watch on a terminal: the header every screen" "no script(1)"
		skip "watch -n on a terminal: no header at all" "no script(1)"
	fi
	run --sysroot "$fx/healthy" watch -c 3 -i 0.01
	t "watch into a pipe: one header" \
		eval 'status_is 0 && [ "$(grep -c queued "$out")" -eq 1 ]'

	run --sysroot "$fx/huge" watch -c 2 -i 0.01
	t "watch with 20-digit values: every line as wide as its header" \
		eval 'status_is 0 && awk "/queued/ { w = length(\$0); next } length(\$0) != w { exit 1 }" "$out" && [ "$(head -1 "$out" | wc -c)" -gt 100 ]'
	t "watch with 20-digit values: fields end under their header's" \
		eval 'awk "NR == 1 { n = split(\$0, h, \"\"); for (i = 1; i <= n; i++) e[i] = (h[i] != \" \" && (i == n || h[i + 1] == \" \")); next } { m = split(\$0, c, \"\"); for (i = 1; i < m; i++) if (c[i] != \" \" && c[i + 1] == \" \" && !e[i]) exit 1 }" "$out"'

	run --sysroot "$fx/healthy" watch -t -c 2 -i 0.01
	t "watch -t: a time column first" \
		eval 'status_is 0 && head -1 "$out" | grep -q "^time " && sed -n 2p "$out" | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2} "'
	run --sysroot "$fx/healthy" watch -t -J -c 1
	t "watch -t -J: JSON with one time key" \
		eval 'status_is 0 && jq_out "(.time | type) == \"number\""'
	w=$(sed -n '/^\.SH "\?EXIT STATUS/,/^\.SH /p' "$src/pgtfree.8")
	last_cmd="EXIT STATUS of pgtfree.8"
	: >"$out"
	t "man page: watch's exit status after SIGINT/SIGTERM against vmstat's" \
		eval '[[ $w == *SIGINT* && $w == *vmstat* && $w == *130* ]]'
}

# the default table fits in 80 columns; --output-all
test_edges_width()
{
	mkfix busy '[async] sync' queued=98765432 freed=98765000 pending=432 \
		pending_max=65536 batches=1234567 freed_sync=1234567 \
		oom_freed=1000 oom_events=10
	run --sysroot "$fx/healthy"
	t "default table: at most 80 columns" \
		eval 'status_is 0 && [ "$(awk "{ print length(\$0) }" "$out" | sort -n | tail -1)" -le 80 ]'
	run --sysroot "$fx/busy"
	t "default table with 8-digit counters: at most 80 columns" \
		eval 'status_is 0 && [ "$(awk "{ print length(\$0) }" "$out" | sort -n | tail -1)" -le 80 ]'
	run --sysroot "$fx/healthy" --output-all -r
	t "--output-all: every column of -l" \
		eval 'status_is 0 && [ "$(head -1 "$out")" = "$(pg -l -n -r | awk "{ printf \"%s%s\", s, \$1; s = \" \" }")" ]'
	run --sysroot "$fx/healthy" --output-all -o MODE
	t "--output-all with -o: usage error" eval 'status_is 64 && usage_shown'
	run --sysroot "$fx/healthy" watch --output-all
	t "watch --output-all: usage error" status_is 64
}

# one name per figure across status, watch, JSON and Prometheus; derived
# figures at full precision in JSON
test_edges_names()
{
	local names

	mkfix prec '[async] sync' "${healthy[@]}"
	printf '3.00 5.00\n' >"$fx/prec/proc/uptime"
	names=$(pg -l -n -r | awk '$3 ~ /^stats\// { sub(/^stats\//, "", $3); print $3 }')
	run --sysroot "$fx/healthy" watch -c 1
	t "watch: header fields are counter names, rates NAME/s" \
		eval '(for f in $(head -1 "$out"); do grep -qx "${f%/s}" <<<"$names" || exit 1; done)'
	local hdr
	hdr=$(head -1 "$out" | sed 's#/s#_per_sec#g')
	run --sysroot "$fx/healthy" watch -J -c 1
	t "watch: JSON keys == the table's header (/s as _per_sec)" \
		eval '[ "$(jq -r "keys_unsorted[3:] | join(\" \")" <"$out")" = "$(echo $hdr)" ]'
	run --sysroot "$fx/healthy" -J --output-all
	t "status JSON keys == pgtfree -l names in lower case" \
		eval '[ "$(jq -r ".pgtfree[0] | keys_unsorted | join(\" \")" <"$out")" = "$(pg -l -n -r | awk "{ printf \"%s%s\", s, tolower(\$1); s = \" \" }")" ]'
	run --sysroot "$fx/healthy" --format prometheus
	t "prometheus: pgtable_free_ + JSON key (+_pages, +_total, _size as _bytes)" \
		eval '(for m in $(awk "!/^#/ { sub(/[{ ].*/, \"\"); print }" "$out" | sort -u); do
			k=${m#pgtable_free_}; k=${k%_total}; k=${k%_pages}; k=${k/%_bytes/_size}
			[ "$k" = mode ] || pg -l -n -r | awk "{ print tolower(\$1) }" | grep -qx "$k" || { echo "# $m"; exit 1; }
		done)'
	run --sysroot "$fx/sync" -J -o SYNC_PCT,AVG_BATCH
	t "JSON: derived figures at full precision" \
		eval 'status_is 0 && jq_out ".pgtfree[0] | .sync_pct == 100000 / 1500 and .avg_batch == 12.5"'
	run --sysroot "$fx/prec" watch -J -c 1
	t "watch JSON: rates at full precision" \
		eval 'status_is 0 && jq_out ".queued_per_sec == 1234 / 3 and .batches_per_sec == 20"'
	run --sysroot "$fx/sync" -o SYNC_PCT,AVG_BATCH -n -r
	t "table: derived figures with one decimal" out_is "66.7 12.5"
}

# counters[] in the binary drives the man page's lists and the completion
test_drift()
{
	local man=$src/pgtfree.8 comp=$src/pgtfree.bash-completion

	last_cmd="compare pgtfree -l, --format prometheus, watch -J with pgtfree.8"
	rc=0
	: >"$err"
	pg -l -n -r | awk '{ print $1 }' >"$tmp/l.names"
	pg -l -n -r | awk '$3 ~ /^stats\// { sub(/^stats\//, "", $3); print $3 }' \
		>"$tmp/l.stats"
	awk '/^\.SH / { sec = $2 } prev == ".TP" && sec == "COLUMNS" { print $2 }
	     { prev = $0 }' "$man" >"$tmp/man.names"
	diff "$tmp/l.names" "$tmp/man.names" >"$out"
	t "man COLUMNS: the columns of pgtfree -l, in its order" \
		eval '[ ! -s "$out" ] && [ -s "$tmp/l.names" ]'
	# FILES: the .B/.BR words of the stats/ entry
	awk '/^\.I .*\/stats\/$/ { f = 1; next } f && /^\.TP/ { exit }
	     f && /^\.BR? / { print $2 }' "$man" >"$tmp/man.stats"
	diff "$tmp/l.stats" "$tmp/man.stats" >"$out"
	t "man FILES: the counters of pgtfree -l, in its order" \
		eval '[ ! -s "$out" ] && [ -s "$tmp/l.stats" ]'
	pg --sysroot "$fx/healthy" --format prometheus |
		awk '!/^#/ { sub(/[{ ].*/, ""); if (!seen[$0]++) print }' \
		>"$tmp/prom.names"
	awk '/^The metrics, their types/ { f = 1 } f && /^pgtable_free_/ {
		sub(/[{ ].*/, ""); print } f && /^\.EE/ { exit }' "$man" \
		>"$tmp/man.prom"
	diff "$tmp/prom.names" "$tmp/man.prom" >"$out"
	t "man Prometheus list: the metrics pgtfree prints, in its order" \
		eval '[ ! -s "$out" ]'
	pg --sysroot "$fx/healthy" watch -J -c 1 |
		jq -r 'keys_unsorted[3:][]' >"$tmp/watch.keys"
	awk '/^\.B watch \\-J$/ { f = 1 } f && /^\.BR? [a-z_]+( [,.:])?$/ &&
	     $2 !~ /^(time|since_boot|interval)$/ { print $2 }
	     f && /^\.EX/ { exit }' "$man" >"$tmp/man.watch"
	diff "$tmp/watch.keys" "$tmp/man.watch" >"$out"
	t "man watch -J keys: those pgtfree prints, in its order" \
		eval '[ ! -s "$out" ] && [ -s "$tmp/watch.keys" ]'
	# the completion asks the binary: a column only it knows is offered
	printf '#!/bin/sh\nprintf "%%s\\n" "ZZZ_NEW no - new" "MODE yes mode x"\n' \
		>"$tmp/fakepg"
	chmod +x "$tmp/fakepg"
	bash -c 'source "$1"; COMP_WORDS=("$2" -o Z); COMP_CWORD=2; _pgtfree
		printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$tmp/fakepg" >"$out"
	t "completion: columns come from the binary's -l" out_is ZZZ_NEW
	t "completion: no list of columns of its own" \
		eval '! grep -qE "OOM_EVENTS|AVG_BATCH" "$comp"'
}

# Validate the JSON saved by test_fuzz: one jq for the whole batch (jq
# starts slowly), each file on its own only when the batch fails.
errshape='if (.error.message | type) == "string" and
	(.error.code | type) == "number" then empty else error("bad shape") end'

fuzz_check_json()
{
	local f ok=0

	compgen -G "$tmp/fz/*" >/dev/null || return 0
	if cat "$tmp"/fz/*.out | jq . >/dev/null 2>&1 &&
	   { ! compgen -G "$tmp/fz/*.err" >/dev/null ||
	     cat "$tmp"/fz/*.err | jq "$errshape" >/dev/null 2>&1; }; then
		rm -f "$tmp"/fz/*
		return 0
	fi
	for f in "$tmp"/fz/*; do
		if [[ $f == *.err ]]; then
			jq "$errshape" <"$f" >/dev/null 2>&1 && continue
		else
			jq . <"$f" >/dev/null 2>&1 && continue
		fi
		ok=1
		{
			echo "invalid JSON in ${f##*/}:"
			head -c 600 "$f"
			echo
		} >>"$tmp/fuzz.fail"
	done
	rm -f "$tmp"/fz/*
	return $ok
}

# Random bytes (up to 4096, NULs included, no newline added) and
# near-miss values in random counter files and mode: never a crash,
# only exit 0 or 65, JSON always parses (checked in batches).
test_fuzz()
{
	local secs=${FUZZ_SECONDS:-5} root=$fx/fuzz d deadline tries=0 runs=0
	local bad=0 nbad=0 f k a v j o e
	local files=(mode stats/queued stats/freed stats/pending
		     stats/pending_max stats/batches stats/freed_sync
		     stats/oom_freed stats/oom_events stats/invalidations
		     stats/invalidated_mms)
	local near=('' '0' $'0\n' $'18446744073709551615\n'
		    $'18446744073709551616\n' '123' $'-1\n' $' 1\n' $'1 \n'
		    $'+1\n' $'[async] sync\n' $'async [sync]\n' $'[sync]\n'
		    $'[async] [sync]\n' $'sync\n' $'\n' $'0x10\n' $'1\n\n'
		    $'99999999999999999999999999999999\n' $'[async]')
	local args=("" "-J" "--format prometheus" "watch -c 1" "watch -J -c 1"
		    "-J --output-all" "mode")

	mkfix fuzz '[async] sync' "${healthy[@]}"
	d=$(sysfs fuzz)
	rm -rf "$tmp/fz"
	mkdir -p "$tmp/fz"
	: >"$tmp/fuzz.fail"
	# microseconds, without forking date(1)
	deadline=$((${EPOCHREALTIME/./} + secs * 1000000))
	while [ "${EPOCHREALTIME/./}" -lt $deadline ] && [ $nbad -lt 5 ]; do
		for ((k = RANDOM % 3; k >= 0; k--)); do
			f=${files[RANDOM % ${#files[@]}]}
			case $((RANDOM % 4)) in
			0 | 1)
				head -c $((RANDOM % 4097)) /dev/urandom >"$d/$f"
				;;
			2)
				printf '%s' "${near[RANDOM % ${#near[@]}]}" >"$d/$f"
				;;
			3)
				v=$RANDOM$RANDOM$RANDOM
				printf '%s\n' "${v:0:$((1 + RANDOM % 15))}" >"$d/$f"
				;;
			esac
		done
		tries=$((tries + 1))
		for j in "${!args[@]}"; do
			a=${args[j]}
			runs=$((runs + 1))
			o=$out e=$err
			if [[ $a == *-J* ]]; then
				o=$tmp/fz/$tries.$j.out e=$tmp/fz/$tries.$j.err
			fi
			last_cmd="pgtfree --sysroot $root $a"
			pg --sysroot "$root" $a >"$o" 2>"$e" </dev/null
			rc=$?
			[ -s "$e" ] || rm -f "$e"
			if [ "$rc" -eq 0 ] || [ "$rc" -eq 65 ]; then
				[ "$a" = "--format prometheus" ] || continue
				[ ! -s "$o" ] || prom_ok && continue
			fi
			bad=1 nbad=$((nbad + 1))
			{
				echo "input #$tries, args '$a', exit $rc:"
				for f in "${files[@]}"; do
					printf '  %s: ' "$f"
					head -c 40 "$d/$f" | od -An -c | head -2 |
						tr -s ' ' | tr '\n' ' '
					echo
				done
				head -5 "$o" "$e" 2>/dev/null | cut -c1-150
			} >>"$tmp/fuzz.fail"
		done
		if [ $((tries % 50)) -eq 0 ]; then
			fuzz_check_json || bad=1
		fi
	done
	fuzz_check_json || bad=1
	echo "# fuzz: $tries inputs tried ($runs runs) in ${secs}s"
	last_cmd="fuzz"
	if [ $bad -eq 0 ]; then
		ok "fuzz: $tries random inputs: no crash, exit 0 or 65, JSON parses"
	else
		notok "fuzz: random inputs: no crash, exit 0 or 65, JSON parses"
		head -n 60 "$tmp/fuzz.fail" | sed 's/^/# /'
	fi
}

# ---------------------------------------------------------------- top

traces=$here/traces
shim=

# recorded.trace sums: 24 events, 18 pages queued and freed in batches
top_values='.summary[0] as $s | $s.events == 24 and $s.lost == 3 and
	$s.malformed == 0 and $s.pending_max == 8 and $s.seconds == 4.286716 and
	([.callers[].caller] == ["alloc_free_one", "pmd_free_pte_page",
		"ttm_unmap_range", "0xffffffffc0a01234", "pud_free_pmd_page"]) and
	.callers[0].frees == 12 and .callers[0].queued == 11 and
	.callers[0].freed_sync == 1 and .callers[0].module == null and
	.callers[2].module == "ttm" and .callers[2].queued == 3 and
	.callers[3].module == null and
	([.batches[].reason] == ["work", "drain", "oom"]) and
	(.batches[0] | .batches == 2 and .pages == 13 and .avg == 6.5 and
		.min == 5 and .max == 8 and .invalidations == 1 and
		.inv_avg_us == 15.23 and .inv_max_us == 15.23 and .mms == 2) and
	(.batches[1] | .inv_avg_us == 8.89 and .mms == 1) and
	(.batches[2] | .pages == 3 and .inv_max_us == 42 and .mms == 3) and
	([.batches[].pages] | add) == ([.callers[].queued] | add)'

# the three arrays, typed: numbers, strings where named, null if absent
top_typed()
{
	jq -e '(keys_unsorted == ["summary", "callers", "batches"]) and
		(.summary | length == 1) and
		([.summary[], .callers[], .batches[]] | all(to_entries | all(
			(.value | type) as $t |
			if .key == "caller" or .key == "reason" then $t == "string"
			elif .key == "module" then $t == "string" or $t == "null"
			else $t == "number" or $t == "null" end)))' \
		<"$out" >/dev/null 2>&1
}

# mktrfix NAME [DIR]: a fake root whose tracefs (plain directories) is
# sys/kernel/DIR (default tracing), marked as made for tests
mktrfix()
{
	local root=$fx/$1 t=$fx/$1/sys/kernel/${2:-tracing}

	rm -rf "$root"
	mkdir -p "$t/instances" "$t/events/$tgroup" "$root/sys/kernel/tracing"
	printf '0\n' >"$t/events/$tgroup/enable"
	printf '1\n' >"$t/tracing_on"
	printf 'nop\n' >"$t/current_tracer"
	: >"$root/.pgtfree-test-tree"
}
tgroup=pgtable_free

# the top-level tracing state of a fake tracefs: every file but instances/
trstate()
{
	(cd "$1" && find . -path ./instances -prune -o -type f -print |
		sort | xargs -r cksum; ls -A instances)
}

# run_fake FIX [VAR=VALUE...] -- ARGS...: pgtfree with the fake-tracefs
# shim on FIX's tracefs; trace_pipe holds recorded.trace unless
# FAKE_TRACEFS_PIPE says otherwise; the shim's log in $tmp/ftlog
fake_env()
{
	local fix=$1

	shift
	printf '%s\n' LD_PRELOAD="$shim" \
		FAKE_TRACEFS="$fx/$fix/sys/kernel/${ftdir:-tracing}" \
		FAKE_TRACEFS_LOG="$tmp/ftlog" \
		FAKE_TRACEFS_PIPE="$traces/recorded.trace"
}

run_fake()
{
	local fix=$1 envs=()

	shift
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	last_cmd="(fake tracefs $fix ${envs[*]}) pgtfree $*"
	: >"$tmp/ftlog"
	mapfile -t base < <(fake_env "$fix")
	env "${base[@]}" "${envs[@]}" "${wrap[@]}" "$BIN" "$@" \
		>"$out" 2>"$err" </dev/null
	rc=$?
}

# start_fake FIX [VAR=VALUE...] [--] ARGS...: run_fake in the background,
# pid in $bgpid (set -m: a background job of a script would otherwise
# ignore SIGINT; env --default-signal: pgtfree keeps a signal ignored on
# entry ignored, and these tests may have been started so, as by nohup)
start_fake()
{
	local fix=$1 envs=()

	shift
	while [[ $1 == *=* ]]; do
		envs+=("$1")
		shift
	done
	[ "$1" != -- ] || shift
	last_cmd="(fake tracefs $fix ${envs[*]}, background) pgtfree $*"
	: >"$tmp/ftlog"
	: >"$out"
	mapfile -t base < <(fake_env "$fix")
	set -m
	env --default-signal "${base[@]}" "${envs[@]}" "${wrap[@]}" "$BIN" "$@" >"$out" \
		2>"$err" </dev/null &
	bgpid=$!
	set +m
	bgpids+=("$bgpid")
}

# wait_until EXPR: up to 5 s (30 under valgrind)
wait_until()
{
	local i slow=1

	[ ${#wrap[@]} -gt 0 ] && slow=6
	for ((i = 0; i < 100 * slow; i++)); do
		eval "$1" && return 0
		sleep 0.05
	done
	return 1
}

log_is() { [ "$(cat "$tmp/ftlog")" = "$1" ]; }


# reap PID: wait for it, killed after 60 s (so that a signal it did not
# act on fails a check rather than hanging the tests); sets rc.  The
# watchdog is killed with SIGKILL: a subshell sent SIGTERM before it has
# reset the traps it inherits would run this script's cleanup.
reap()
{
	local dog

	(sleep 60 && kill -KILL "$1") >/dev/null 2>&1 &
	dog=$!
	wait "$1"
	rc=$?
	kill -KILL "$dog" 2>/dev/null
	wait "$dog" 2>/dev/null
}

# the output has the events of recorded.trace, as --input reads them
same_as_input()
{
	[ "$(jq -c '{callers, batches, e: .summary[0].events,
		l: .summary[0].lost}' <"$out" 2>&1)" = "$(pg top --input \
		"$traces/recorded.trace" -J | jq -c '{callers, batches,
		e: .summary[0].events, l: .summary[0].lost}')" ]
}

test_top_input()
{
	local f=$tmp/top.trace

	run top --input "$traces/recorded.trace"
	t "top --input recorded: exit 0, no stderr" eval 'status_is 0 && err_empty'
	tg "top --input recorded: golden table" top-recorded.txt
	t "top --input recorded: tables fit in 80 columns" \
		eval '[ "$(awk "{ print length(\$0) }" "$out" | sort -n | tail -1)" -le 80 ]'
	run top --input "$traces/recorded.trace" -J
	t "top -J: exit 0, three typed arrays" eval 'status_is 0 && top_typed'
	t "top -J: values (callers, module, address, batches, sums)" \
		jq_out "$top_values"
	tg "top -J: golden" top-recorded.json
	run top --input "$traces/recorded.trace" -r
	tg "top -r: golden raw" top-recorded-raw.txt
	run top --input "$traces/recorded.trace" -r -n
	t "top -r -n: no headings, a blank line between the tables" \
		eval 'status_is 0 && out_lines 11 && ! out_has CALLER && [ "$(grep -c "^$" "$out")" -eq 2 ] && sed -n 3p "$out" | grep -qx "alloc_free_one - 12 11 1"'
	last_cmd="pgtfree top --input - <recorded.trace"
	pg top --input - <"$traces/recorded.trace" >"$out" 2>"$err"
	rc=$?
	tg "top --input - (standard input): the same table" top-recorded.txt
	run top --input "$traces/recorded.trace" --format json
	t "top --format json: as -J" jq_out "$top_values"

	run top --input "$traces/tracecmd.trace" -J
	t "top: trace-cmd report lines, EVENTS DROPPED, other events skipped" \
		eval 'status_is 0 && jq_out ".summary[0] | .events == 3 and .lost == 5 and .malformed == 0" && jq_out "[.callers[].caller] == [\"alloc_free_one\", \"vmemmap_free\"]"'
	run top --input "$traces/lost.trace" -J
	t "top: lost-event lines summed in lost, events still counted" \
		eval 'status_is 0 && jq_out ".summary[0] | .lost == 42 and .events == 3 and .malformed == 0"'
	run top --input "$traces/lost.trace"
	t "top: lost events in the table" \
		eval 'sed -n 2p "$out" | awk "{ exit \$3 != 42 }"'
	printf '%s\n' \
		' a-1 [001] ..... 20.5: pgtable_free_queue: caller=f+0x1/0x2 nr_pages=1 pending=1' \
		' a-1 [000] ..... 10.25: pgtable_free_queue: caller=f+0x1/0x2 nr_pages=1 pending=2' \
		' a-1 [001] ..... 15: pgtable_free_sync: caller=f+0x1/0x2 nr_pages=1' >"$f"
	run top --input "$f" -J
	t "top: SECONDS from the earliest event to the latest, in any order" \
		eval 'status_is 0 && jq_out ".summary[0].seconds == 10.25"'
	run top --input "$traces/lost-unknown.trace" -J
	t "top: a loss of unknown size: lost null, not a number" \
		eval 'status_is 0 && jq_out ".summary[0] | .lost == null and .events == 2"'

	run top --input "$traces/recorded.trace" -J
	t "top: module callers: ttm_unmap_range [ttm] as caller and module" \
		jq_out '.callers | map(select(.module == "ttm")) == [{"caller": "ttm_unmap_range", "module": "ttm", "frees": 2, "queued": 3, "freed_sync": 0}]'
	t "top: a bare address is the caller, as printed, no module" \
		jq_out '.callers | map(select(.caller | startswith("0x"))) == [{"caller": "0xffffffffc0a01234", "module": null, "frees": 2, "queued": 2, "freed_sync": 0}]'

	# malformed lines: skipped and counted, the rest read
	{
		cat "$traces/malformed.trace"
		printf '  bash-312 [001] ...1. 10.7: pgtable_free_queue: caller=x+0x1/0x2 nr_pages=1 pending=1 %05000d\n' 0
		printf '  bash-312 [001] ...1. 10.8: pgtable_free_\0queue: caller=x+0x1/0x2 nr_pages=1 pending=1\n'
	} >"$f"
	run top --input "$f" -J
	t "top: malformed lines skipped and counted (11), good ones read (2)" \
		eval 'status_is 0 && err_empty && jq_out ".summary[0] | .malformed == 11 and .events == 2" && jq_out "[.callers[].frees] == [1] and [.batches[].pages] == [1]"'
	printf 'not a trace\n' >"$f"
	cat "$traces/malformed.trace" >>"$f"
	sed -i '/^ *bash-312.*10\.000001/d; /10\.600000/d' "$f"
	run top --input "$f"
	t "top: nothing parsable: exit 65, the first bad line named and quoted" \
		eval "status_is 65 && err_lines 1 && err_has \"$f: no pgtable_free event\" && err_has \"the first (line 1): 'not a trace'\" && err_has '10 malformed lines'"
	t "top: nothing parsable: the summary still printed" \
		eval 'sed -n 2p "$out" | awk "{ exit !(\$2 == 0 && \$4 == 10) }"'
	run top --input "$f" -J
	t "top -J: nothing parsable: JSON error (65), JSON output" \
		eval 'status_is 65 && err_json && jq_out ".summary[0].malformed == 10"'

	# empty input, or only headers: nothing to say, not an error
	run top --input /dev/null
	t "top: empty input: exit 0, the summary only, 0 events" \
		eval 'status_is 0 && err_empty && out_lines 2 && sed -n 2p "$out" | grep -Eq "^ *- +0 +0 +0 +-$"'
	run top --input /dev/null -J
	t "top -J: empty input: empty arrays, seconds null" \
		eval 'status_is 0 && top_typed && jq_out ".callers == [] and .batches == [] and .summary[0].seconds == null and .summary[0].events == 0"'
	grep '^#' "$traces/recorded.trace" >"$f"
	run top --input "$f" -J
	t "top: header lines only: as empty, nothing malformed" \
		eval 'status_is 0 && jq_out ".summary[0] | .events == 0 and .malformed == 0"'

	run top --input "$tmp/no-such-trace"
	t "top --input missing file: exit 66, named" \
		eval 'status_is 66 && err_lines 1 && err_has "no-such-trace: No such file"'
	run top --input "$tmp"
	t "top --input a directory: exit 66" \
		eval 'status_is 66 && err_has "is a directory"'
	cp "$traces/recorded.trace" "$f"
	chmod 0600 "$f"
	run_nobody top --input "$f"
	tn "top --input unreadable: exit 77" \
		eval 'status_is 77 && err_has "Permission denied"'
	run_nobody top --input "$traces/recorded.trace" -J
	tn "top --input needs no root" eval 'status_is 0 && jq_out "$top_values"'

	# a FIFO that stays open: -d ends the reading, SIGINT too
	rm -f "$tmp/tfifo"
	mkfifo "$tmp/tfifo"
	exec 4<>"$tmp/tfifo"
	cat "$traces/recorded.trace" >&4
	last_cmd="pgtfree top --input FIFO -d 0.3 -J (killed after 60 s)"
	timeout -s KILL 60 "${wrap[@]}" "$BIN" top --input "$tmp/tfifo" \
		-d 0.3 -J >"$out" 2>"$err" </dev/null
	rc=$?
	t "top --input FIFO -d 0.3: ends, what was written read" \
		eval 'status_is 0 && jq_out "$top_values"'
	cat "$traces/recorded.trace" >&4
	last_cmd="pgtfree top --input FIFO -J & kill -TERM"
	"${wrap[@]}" "$BIN" top --input "$tmp/tfifo" -J >"$out" 2>"$err" \
		</dev/null &
	bgpid=$!
	bgpids+=("$bgpid")
	sleep 1
	[ ${#wrap[@]} -gt 0 ] && sleep 3
	kill -TERM "$bgpid"
	reap "$bgpid"
	t "top --input FIFO, SIGTERM while it waits: exit 0, what was read" \
		eval 'status_is 0 && err_empty && jq_out "$top_values"'
	exec 4>&-
}

test_top_usage()
{
	local a

	for a in "top -d 0" "top -d -1" "top -d abc" "top -d inf" "top -d 1e3" \
		 "top -d 100000" "top -d" "top --duration=" "top --input" \
		 "top -i 1" "top -c 1" "top -o CALLER" "top -b" "top -t" \
		 "top --output-all" "top now" "--format prometheus top" \
		 "status -d 1" "watch --input x" "drain -d 1" \
		 "top --input - --sysroot /"; do
		run $a
		t "usage error '$a': exit 64, usage on stderr, no stdout" \
			eval 'status_is 64 && usage_shown && [ ! -s "$out" ]'
	done
	run top -d 0.001
	t "top -d 0.001: the duration is named" \
		err_has "invalid duration '0.001': use seconds from 0.01 to 86400"
	run top -J -d x
	t "top -J -d x: JSON usage error" eval 'status_is 64 && err_json'
}

# errors before an instance exists; nothing created
test_top_errors()
{
	local r

	mkdir -p "$tmp/emptyroot"
	run top --sysroot "$fx/nonexistent-root" -d 0.1
	t "top --sysroot that does not exist: exit 66" status_is 66
	run top --sysroot "$tmp/emptyroot" -d 0.1
	t "top --sysroot without sys/kernel: exit 66" \
		eval 'status_is 66 && err_has "not the root of a system with sysfs"'
	r=$fx/notracefs
	rm -rf "$r"
	mkdir -p "$r/sys/kernel/mm"
	run top --sysroot "$r" -d 0.1
	t "top without tracefs (no sys/kernel/tracing): exit 69, one sentence" \
		eval 'status_is 69 && err_lines 1 && err_has "no tracefs" && err_has CONFIG_TRACING'
	mkdir -p "$r/sys/kernel/tracing"
	run top --sysroot "$r" -d 0.1
	t "top, tracefs not mounted: exit 69, says how to mount it" \
		eval 'status_is 69 && err_lines 1 && err_has "tracefs is not mounted on $r/sys/kernel/tracing" && err_has "mount -t tracefs nodev /sys/kernel/tracing"'
	run top --sysroot "$r" -d 0.1 -J
	t "top -J, tracefs not mounted: JSON error (69), no stdout" \
		eval 'status_is 69 && err_json && [ ! -s "$out" ]'

	mktrfix noevents
	rm -r "$fx/noevents/sys/kernel/tracing/events/$tgroup"
	run top --sysroot "$fx/noevents" -d 0.1
	t "top on a kernel without the events: exit 69, says so" \
		eval 'status_is 69 && err_lines 1 && err_has "this kernel has no pgtable_free trace events" && [ -z "$(ls -A "$fx/noevents/sys/kernel/tracing/instances")" ]'

	mktrfix nobody
	chmod 0700 "$fx/nobody/sys/kernel/tracing"
	run_nobody top --sysroot "$fx/nobody" -d 0.1
	tn "top as non-root (tracefs is 0700): exit 77, says root is needed" \
		eval 'status_is 77 && err_lines 1 && err_has "tracing needs root" && [ -z "$(ls -A "$fx/nobody/sys/kernel/tracing/instances")" ]'
	run_nobody top --sysroot "$fx/nobody" -d 0.1 -J
	tn "top as non-root -J: JSON error, code 77" \
		eval 'status_is 77 && err_json'

	mktrfix unmarked
	rm "$fx/unmarked/.pgtfree-test-tree"
	run top --sysroot "$fx/unmarked" -d 0.1
	t "top, instances/ not on tracefs and no test tree: exit 77, nothing created" \
		eval 'status_is 77 && err_has "refusing to create an ftrace instance" && err_has "$fx/unmarked/.pgtfree-test-tree" && [ -z "$(ls -A "$fx/unmarked/sys/kernel/tracing/instances")" ]'

	mktrfix symlink
	r=$fx/symlink/sys/kernel/tracing
	mv "$r/instances" "$r/real-instances"
	ln -s real-instances "$r/instances"
	run top --sysroot "$fx/symlink" -d 0.1
	t "top, instances/ a symbolic link: exit 77, not followed" \
		eval 'status_is 77 && err_has "symbolic link" && [ -z "$(ls -A "$r/real-instances")" ]'
}

# the instance's life on a fake tracefs (the shim stands in for tracefs)
test_top_live()
{
	local r=$fx/live/sys/kernel/tracing inst state sig want

	if [ -z "$shim" ]; then
		skip "top on a fake tracefs" "no C compiler for tests/fake-tracefs.c"
		return
	fi
	mktrfix live
	state=$(trstate "$r")

	run_fake live -- top --sysroot "$fx/live" -d 0.3 -J
	t "top -d 0.3 on a fake tracefs: exit 0, no stderr" \
		eval 'status_is 0 && err_empty && top_typed'
	t "top -d: an instance created, then removed with enable 0" \
		eval '[ "$(sed "s/pgtfree-[0-9]*/pgtfree-PID/" "$tmp/ftlog")" = "mkdir pgtfree-PID
rmdir pgtfree-PID enable=0" ] && [ -z "$(ls -A "$r/instances")" ]'
	t "top -d: the top-level tracing files untouched" \
		eval '[ "$(trstate "$r")" = "$state" ]'
	t "top -d: read through the instance's trace_pipe: the tables of --input" \
		same_as_input
	t "top -d 0.3: seconds is the time traced" \
		jq_out '.summary[0].seconds >= 0.29 and .summary[0].seconds < 5'

	# while it runs: its own instance, only its events enabled
	start_fake live top --sysroot "$fx/live" -d 60 -J
	inst=$r/instances/pgtfree-$bgpid
	wait_until '[ "$(cat "$inst/events/$tgroup/enable" 2>/dev/null)" = 1 ]'
	t "top running: instances/pgtfree-PID exists, its enable written 1" \
		eval '[ "$(cat "$inst/events/$tgroup/enable")" = 1 ] && [ "$(cat "$r/events/$tgroup/enable")" = 0 ]'
	kill -KILL "$bgpid" 2>/dev/null
	wait "$bgpid" 2>/dev/null
	rm -rf "$inst"

	# a signal before anything was read: trace_pipe is read after the
	# events are disabled (the shim stops pgtfree after its mkdir)
	start_fake live FAKE_TRACEFS_STOP=1 -- top --sysroot "$fx/live" -J
	wait_until '[[ $(ps -o stat= -p "$bgpid") == T* ]]'
	kill -TERM "$bgpid"
	kill -CONT "$bgpid"
	reap "$bgpid"
	t "top: SIGTERM before a read: what trace_pipe holds is read after disabling" \
		eval 'status_is 0 && same_as_input && log_is "mkdir pgtfree-$bgpid
rmdir pgtfree-$bgpid enable=0"'

	# every way out: signals mid-run
	for sig in INT TERM HUP; do
		start_fake live top --sysroot "$fx/live" -J
		inst=$r/instances/pgtfree-$bgpid
		wait_until '[ "$(cat "$inst/events/$tgroup/enable" 2>/dev/null)" = 1 ]'
		sleep 0.2
		kill -"$sig" "$bgpid" 2>/dev/null
		reap "$bgpid"
		last_cmd="pgtfree top on a fake tracefs & kill -$sig"
		want="mkdir pgtfree-$bgpid
rmdir pgtfree-$bgpid enable=0"
		t "top: SIG$sig -> exit 0, the tables printed" \
			eval 'status_is 0 && err_empty && same_as_input'
		t "top: SIG$sig -> disabled (0) and removed, top level untouched" \
			eval 'log_is "$want" && [ ! -e "$inst" ] && [ "$(trstate "$r")" = "$state" ]'
		rm -rf "$inst"	# no failure above for the checks below
	done

	# a trace_pipe never empty (a /dev/zero node): ppoll() always finds
	# it ready and returns leaving the signal pending; it is seen anyway
	if [ "$(id -u)" -eq 0 ]; then
		start_fake live FAKE_TRACEFS_PIPE=zero -- top --sysroot "$fx/live" -J
		inst=$r/instances/pgtfree-$bgpid
		wait_until '[ "$(cat "$inst/events/$tgroup/enable" 2>/dev/null)" = 1 ]'
		sleep 0.5
		kill -TERM "$bgpid"
		reap "$bgpid"
		last_cmd="pgtfree top, trace_pipe never empty & kill -TERM"
		t "top: SIGTERM while trace_pipe is never empty: ends, removed" \
			eval 'status_is 65 && jq_out ".summary[0] | .events == 0 and .malformed == 1" && log_is "mkdir pgtfree-$bgpid
rmdir pgtfree-$bgpid enable=0"'
		rm -rf "$inst"
	else
		skip "top: SIGTERM while trace_pipe is never empty" "needs root (mknod)"
	fi

	# errors after the instance exists: disabled and removed all the same
	run_fake live FAKE_TRACEFS_PIPE=none -- top --sysroot "$fx/live" -d 5
	t "top, the instance has no trace_pipe: exit 1, named; removed" \
		eval 'status_is 1 && err_has "trace_pipe: No such file" && [ "$(sed "s/pgtfree-[0-9]*/I/" "$tmp/ftlog")" = "mkdir I
rmdir I enable=0" ] && [ -z "$(ls -A "$r/instances")" ]'
	run_fake live FAKE_TRACEFS_PIPE=dir -- top --sysroot "$fx/live" -d 5
	t "top, trace_pipe cannot be read: exit 1; disabled and removed" \
		eval 'status_is 1 && err_has "cannot read: Is a directory" && [ "$(sed "s/pgtfree-[0-9]*/I/" "$tmp/ftlog")" = "mkdir I
rmdir I enable=0" ] && [ -z "$(ls -A "$r/instances")" ]'
	mktrfix noev
	rm -r "$fx/noev/sys/kernel/tracing/events/$tgroup"
	run_fake noev -- top --sysroot "$fx/noev" -d 5
	t "top on a kernel without the events: no instance made at all" \
		eval 'status_is 69 && [ ! -s "$tmp/ftlog" ]'
	run_fake live FAKE_TRACEFS_NOEVENTS=1 -- top --sysroot "$fx/live" -d 5
	t "top, no events in the new instance: exit 69; removed" \
		eval 'status_is 69 && err_has "no pgtable_free trace events" && [ "$(sed "s/pgtfree-[0-9]*/I/" "$tmp/ftlog")" = "mkdir I
rmdir I enable=-" ] && [ -z "$(ls -A "$r/instances")" ]'

	# the instance exists already: 73, and it is not ours to remove
	last_cmd="(fake tracefs, instances/pgtfree-PID made first) pgtfree top"
	: >"$tmp/ftlog"
	mapfile -t base < <(fake_env live)
	bash -c 'mkdir "$1/pgtfree-$$" && shift && exec "$@"' _ "$r/instances" \
		env "${base[@]}" "${wrap[@]}" "$BIN" top --sysroot "$fx/live" \
		-d 5 >"$out" 2>"$err" </dev/null
	rc=$?
	t "top, instances/pgtfree-PID exists: exit 73, says how to remove it, left alone" \
		eval 'status_is 73 && err_lines 1 && err_has "already exists" && err_has "rmdir $r/instances/pgtfree-" && [ -n "$(ls -A "$r/instances")" ] && [ ! -s "$tmp/ftlog" ]'
	rm -rf "$r/instances"/pgtfree-*

	# tracefs where debugfs has it, when /sys/kernel/tracing is empty
	mktrfix dbg debug/tracing
	ftdir=debug/tracing run_fake dbg -- top --sysroot "$fx/dbg" -d 0.2 -J
	t "top finds tracefs at /sys/kernel/debug/tracing" \
		eval 'status_is 0 && jq_out ".summary[0].events == 24" && [ "$(wc -l <"$tmp/ftlog")" -eq 2 ]'
}

# the running kernel's tracefs, mounted in a private mount namespace
rtroot=
rtgroup_made=0
rt_pids=()

rt()
{
	unshare -m --propagation private sh -c \
		'mount -t tracefs nodev "$1" && shift && exec "$@"' _ \
		"$rtroot/sys/kernel/tracing" "$@"
}

rt_cleanup()
{
	local p T=$rtroot/sys/kernel/tracing

	[ -n "$rtroot" ] || return 0
	for p in "${rt_pids[@]}"; do
		rt sh -c '[ ! -d "$1" ] || rmdir "$1"' _ \
			"$T/instances/pgtfree-$p" 2>/dev/null
	done
	if [ $rtgroup_made -eq 1 ]; then
		# the group is the tests' own: enabled at the top level only by
		# a broken pgtfree, and it cannot be removed while enabled
		rt sh -c "echo 0 >'$T/events/$tgroup/enable';
			echo '-:$tgroup/pgtable_free_queue' >>'$T/uprobe_events'" \
			2>/dev/null
		rtgroup_made=0
	fi
}

# the top-level state a trace could change, and the instances
rtstate()
{
	local T=$rtroot/sys/kernel/tracing

	rt sh -c 'cd "$1" && cat tracing_on current_tracer set_event \
		events/enable && { [ ! -d events/pgtable_free ] ||
		cat events/pgtable_free/enable; } && ls -A instances' _ "$T"
}

test_top_tracefs()
{
	local T entry off target real=0 state sig

	if [ "${PGTFREE_TEST_TRACEFS:-1}" = 0 ]; then
		skip "top on the kernel's tracefs" "PGTFREE_TEST_TRACEFS=0"
		return
	fi
	rtroot=$tmp/rt
	T=$rtroot/sys/kernel/tracing
	mkdir -p "$T"
	if [ "$(id -u)" -ne 0 ] || ! rt test -d "$T/instances" 2>/dev/null; then
		skip "top on the kernel's tracefs" "needs root, unshare -m and a kernel with tracefs"
		rtroot=
		return
	fi
	state=$(rtstate)
	if rt test -d "$T/events/$tgroup"; then
		real=1	# a kernel with the events: use them
	else
		run_rt top --sysroot "$rtroot" -d 0.1
		t "tracefs: a kernel without the events: exit 69, no instance" \
			eval 'status_is 69 && err_has "this kernel has no pgtable_free trace events" && [ "$(rtstate)" = "$state" ]'
		# a uprobe event in the group, on a file nobody else runs
		target=$tmp/uprobe-target
		cp /bin/true "$target"
		off=$(uprobe_offset "$target")
		if [ -z "$off" ] || ! rt sh -c "echo 'p:$tgroup/pgtable_free_queue $target:$off' >>'$T/uprobe_events'" 2>/dev/null; then
			skip "top on the kernel's tracefs: an instance's life" \
				"no uprobe events (or readelf) to make a pgtable_free group"
			return
		fi
		rtgroup_made=1
		state=$(rtstate)
	fi

	start_rt top --sysroot "$rtroot" -d 3 -J
	wait_until '[ "$(rt cat "$T/instances/pgtfree-$bgpid/events/$tgroup/enable" 2>/dev/null)" = 1 ]'
	t "tracefs: top running: its instance, its events enabled there only" \
		eval '[ "$(rt cat "$T/instances/pgtfree-$bgpid/events/$tgroup/enable")" = 1 ] && [ "$(rt cat "$T/events/$tgroup/enable")" = 0 ]'
	[ $real -eq 0 ] && "$target" && "$target"
	reap "$bgpid"
	if [ $real -eq 0 ]; then
		# the uprobe's lines are not pgtable_free_queue's: malformed
		t "tracefs: top -d 3 read the instance's trace_pipe (2 uprobe lines)" \
			eval 'status_is 65 && err_json && jq_out ".summary[0] | .malformed == 2 and .events == 0"'
	else
		t "tracefs: top -d 3: exit 0" eval 'status_is 0 && top_typed'
	fi
	t "tracefs: top -d 3: instance removed, state as before" \
		eval '[ "$(rtstate)" = "$state" ]'

	for sig in INT TERM; do
		start_rt top --sysroot "$rtroot" -J
		wait_until '[ "$(rt cat "$T/instances/pgtfree-$bgpid/events/$tgroup/enable" 2>/dev/null)" = 1 ]'
		sleep 0.3
		kill -"$sig" "$bgpid"
		reap "$bgpid"
		last_cmd="(kernel's tracefs) pgtfree top & kill -$sig"
		t "tracefs: SIG$sig -> exit 0, instance removed, state as before" \
			eval 'status_is 0 && top_typed && [ "$(rtstate)" = "$state" ]'
	done

	last_cmd="(kernel's tracefs, nobody) pgtfree top"
	if [ $nobody_ok -eq 1 ]; then
		rt "${as_nobody[@]}" "${wrap[@]}" "$BIN" top --sysroot "$rtroot" \
			-d 1 >"$out" 2>"$err" </dev/null
		rc=$?
	fi
	tn "tracefs: top as non-root: exit 77, nothing changed" \
		eval 'status_is 77 && err_has "tracing needs root" && [ "$(rtstate)" = "$state" ]'
	rt_cleanup
}

# the file offset of the entry point of the ELF file $1 (for a uprobe)
uprobe_offset()
{
	local entry type o v fs ms flags rest

	entry=$(readelf -h "$1" 2>/dev/null |
		awk '/Entry point address/ { print $4 }')
	[ -n "$entry" ] || return 0
	readelf -lW "$1" 2>/dev/null |
	while read -r type o v _ fs ms flags rest; do
		[ "$type" = LOAD ] && [[ $flags$rest == *E* ]] || continue
		if ((entry >= v && entry < v + fs)); then
			printf '0x%x\n' $((entry - v + o))
			break
		fi
	done
}

run_rt()
{
	last_cmd="(kernel's tracefs) pgtfree $*"
	rt "${wrap[@]}" "$BIN" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

# unshare, sh and pgtfree exec one another: $bgpid is pgtfree's
start_rt()
{
	last_cmd="(kernel's tracefs, background) pgtfree $*"
	: >"$out"
	set -m
	unshare -m --propagation private sh -c \
		'mount -t tracefs nodev "$1" && shift && exec "$@"' _ \
		"$rtroot/sys/kernel/tracing" env --default-signal "${wrap[@]}" "$BIN" "$@" \
		>"$out" 2>"$err" </dev/null &
	bgpid=$!
	set +m
	bgpids+=("$bgpid")
	rt_pids+=("$bgpid")
}

# top -l drives the man page's TOP COLUMNS
test_top_drift()
{
	local man=$src/pgtfree.8

	pg top -l -n -r | awk '{ print $1 }' >"$tmp/top.names"
	awk '/^\.SH / { sec = $0 } prev == ".TP" && sec == ".SH \"TOP COLUMNS\"" {
		print $2 } { prev = $0 }' "$man" >"$tmp/man.top"
	diff "$tmp/top.names" "$tmp/man.top" >"$out"
	last_cmd="compare pgtfree top -l with TOP COLUMNS of pgtfree.8"
	rc=0
	: >"$err"
	t "man TOP COLUMNS: the columns of pgtfree top -l, in their order" \
		eval '[ ! -s "$out" ] && [ "$(wc -l <"$tmp/top.names")" -eq 20 ]'
	run top -l -J
	t "top -l -J: name, table and description of each column" \
		jq_out '.columns | length == 20 and .[0] == {"name": "SECONDS", "table": "summary", "description": .[0].description} and ([.[].table] | unique == ["batches", "callers", "summary"])'
	pg top --input "$traces/recorded.trace" -J |
		jq -r '.[] | .[0] | keys_unsorted[]' >"$tmp/top.keys"
	pg top -l -n -r | awk '{ print tolower($1) }' >"$tmp/top.lnames"
	last_cmd="compare the JSON keys of top with top -l"
	t "top -J keys == top -l names in lower case, in their order" \
		eval 'diff "$tmp/top.keys" "$tmp/top.lnames" >"$out"; [ ! -s "$out" ]'
	t "completion: top and its options" \
		eval 'bash -c "source \"$src/pgtfree.bash-completion\"; COMP_WORDS=(pgtfree top -); COMP_CWORD=2; _pgtfree; printf \"%s\n\" \"\${COMPREPLY[@]}\"" | grep -qx -- --input'
}

# random lines into the parser: never a crash, exit 0 or 65, JSON parses
test_top_fuzz()
{
	local secs=${FUZZ_SECONDS:-5} f=$tmp/fuzz.trace deadline tries=0
	local bad=0

	deadline=$((${EPOCHREALTIME/./} + secs * 1000000))
	while [ "${EPOCHREALTIME/./}" -lt $deadline ] && [ $bad -eq 0 ]; do
		tries=$((tries + 1))
		awk -v seed="$RANDOM$tries" '
		BEGIN { srand(seed); cs = "0123456789x:+/=[] .-_abcdefgpqrstuvwxyz" }
		/^#/ { next }
		{
			s = $0
			for (k = int(rand() * 4); k > 0; k--) {
				i = 1 + int(rand() * length(s))
				r = rand()
				if (r < 0.4)
					s = substr(s, 1, i - 1) substr(cs, 1 + int(rand() * length(cs)), 1) substr(s, i + 1)
				else if (r < 0.7)
					s = substr(s, 1, i - 1) substr(s, i + 1 + int(rand() * 8))
				else
					s = substr(s, 1, i)
			}
			print s
		}' "$traces/recorded.trace" >"$f"
		head -c $((RANDOM % 300)) /dev/urandom >>"$f"
		last_cmd="pgtfree top --input fuzz.trace -J (try $tries)"
		pg top --input "$f" -J >"$out" 2>"$err" </dev/null
		rc=$?
		if { [ "$rc" -ne 0 ] && [ "$rc" -ne 65 ]; } || ! top_typed ||
		   { [ -s "$err" ] && ! err_json; }; then
			bad=1
			cp "$f" "$tmp/fuzz.trace.bad"
		fi
	done
	echo "# top fuzz: $tries inputs in ${secs}s"
	if [ $bad -eq 0 ]; then
		ok "top fuzz: $tries mutated traces: exit 0 or 65, JSON parses"
	else
		notok "top fuzz: mutated traces: exit 0 or 65, JSON parses"
		show
		head -c 2000 "$tmp/fuzz.trace.bad" | sed 's/^/# /'
	fi
}

test_top()
{
	if [ -z "$shim" ] && command -v "${CC:-cc}" >/dev/null; then
		"${CC:-cc}" -shared -fPIC -O1 -Wall -Wno-format-truncation \
			-o "$tmp/fake-tracefs.so" "$here/fake-tracefs.c" -ldl &&
			shim=$tmp/fake-tracefs.so
	fi
	test_top_input
	test_top_usage
	test_top_errors
	test_top_live
	test_top_tracefs
	test_top_drift
	test_top_fuzz
}

suite()
{
	setup_fixtures
	# ONLY="edges drift": just those groups (to try them on another binary)
	if [ -n "${ONLY:-}" ]; then
		local g

		for g in $ONLY; do
			case $g in
			edges)
				test_edges_writes
				test_edges_needs
				test_edges_mode_words
				test_edges_sysroot
				test_edges_cli
				test_edges_watch
				test_edges_width
				test_edges_names
				;;
			*) "test_$g" ;;
			esac
		done
		return
	fi
	test_basics
	test_status
	test_malformed
	test_exit_codes
	test_mode
	test_drain
	test_watch
	test_consistency
	test_edges_writes
	test_edges_needs
	test_edges_mode_words
	test_edges_sysroot
	test_edges_cli
	[ -z "$pfx" ] && test_edges_watch
	test_edges_width
	test_edges_names
	test_drift
	[ -z "$pfx" ] && test_manpage
	test_fuzz
	test_top
}

# ---------------------------------------------------------------- main

vg=${VALGRIND:-1}
[ "$vg" = only ] || suite

if [ "$vg" = 0 ]; then
	skip "valgrind pass" "VALGRIND=0"
elif ! command -v valgrind >/dev/null; then
	skip "valgrind pass" "valgrind not installed"
else
	pfx="valgrind: "
	wrap=(valgrind -q --error-exitcode=99 --read-inline-info=no
	      --leak-check=full --show-leak-kinds=definite,indirect,possible
	      --errors-for-leak-kinds=definite,indirect,possible
	      --log-file="$tmp/vg/vg.%p.log")
	suite
	last_cmd="valgrind logs"
	rc=0
	cat "$tmp"/vg/vg.*.log >"$err" 2>/dev/null
	: >"$out"
	t "no valgrind report in any run" err_empty
fi

totals
[ $nfail -eq 0 ]
