# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# watch: counters that move between readings (the shim's scripts), the
# conventions of vmstat, a terminal, a closed pipe and a full disk.

fixtures_watch()
{
	mkfix busy '[async] sync' queued=98765432 freed=98765000 pending=432 \
		pending_max=65536 batches=1234567 freed_sync=1234567 \
		oom_freed=1000 oom_events=10 invalidations=123456 \
		invalidated_mms=123456
	# queued goes 1234 -> 1300 -> 1250 (backwards: a reset) -> 1400
	scripted moving queued 1234 1300 1250 1400
	scripted moving freed 1200 1260 1300 1400
	scripted moving batches 60 63 63 68
	scripted moving invalidations 40 42 42 45
}

# the scripted watch, DELAY 0.25, to the end of the script
watch_moving()
{
	kernel healthy FAKE_SYSFS_SCRIPT="$tmp/script/moving"
	run_k --sysroot "$fx/healthy" watch "$@" 0.25 4
}

# field NAME LINE: the value under header NAME on data line LINE
field() { awk -v n="$1" -v l="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next } NR == l + 1 { print $c }' "$out"; }

test_watch_values()
{
	watch_moving -o queued,freed,batches,pg/batch,invalidations,queued/s
	t "watch: exit 0, header and 4 lines" eval 'status_is 0 && out_lines 5'
	t "line 1 since boot: totals, rate over the uptime (1000 s)" \
		eval '[ "$(field queued 1) $(field queued/s 1) $(field pg/batch 1)" = "1234 1.2 20.0" ]'
	t "line 2: the deltas 66, 60, 3, 2 and 20 pages per batch" \
		eval '[ "$(field queued 2) $(field freed 2) $(field batches 2) $(field invalidations 2) $(field pg/batch 2)" = "66 60 3 2 20.0" ]'
	t "line 3: a counter that went backwards is '-', not 2^64 - 50" \
		eval '[ "$(field queued 3) $(field queued/s 3)" = "- -" ] && ! out_has 18446744073709551'
	t "line 3: no batch in the interval: pages per batch '-'" \
		eval '[ "$(field batches 3) $(field pg/batch 3)" = "0 -" ]'
	t "line 4: deltas again after the reset" \
		eval '[ "$(field queued 4) $(field freed 4) $(field pg/batch 4)" = "150 100 20.0" ]'
	watch_moving -J -o queued,queued/s,pg/batch,inval/s
	t "watch -J: one object a line, exact numbers" \
		eval 'status_is 0 && out_lines 4 && jq -se ".[0].since_boot and
			.[0].interval == 1000 and .[0].queued_per_sec == 1.234 and
			.[1].queued == 66 and .[1].pages_per_batch == 20 and
			(.[1].queued_per_sec * .[1].interval - 66 | fabs) < 0.001 and
			.[1].invalidations_per_sec > 0 and .[2].queued == null and
			(.[1].time | type) == \"number\"" <"$out" >/dev/null'
	watch_moving -y -r -o queued
	t "watch -y: the line since boot left out, COUNT lines still" \
		eval 'status_is 0 && [ "$(tr "\n" " " <"$out")" = "queued 66 - 150 0 " ]'
}

test_watch_conventions()
{
	run --sysroot "$fx/healthy" watch 0.01 2
	t "watch DELAY COUNT (positional, as vmstat): 2 lines" \
		eval 'status_is 0 && out_lines 3'
	t "watch: default fields: pending, rates, pages per batch, invalidations" \
		eval 'head -1 "$out" | grep -Eq "^ *pending +queued/s +freed/s +batches/s +pg/batch +inval/s +sync/s$"'
	run --sysroot "$fx/busy" watch 0.01 2
	t "watch with 8-digit counters: 80 columns" \
		eval 'status_is 0 && [ "$(awk "{ if (length > m) m = length } END { print m }" "$out")" -le 80 ]'
	run --sysroot "$fx/healthy" watch -i 0.01 -c 2 0.5
	t "watch -i and a DELAY: exit 64" fails 64 "the delay is given twice"
	run --sysroot "$fx/healthy" watch 1 2 3
	t "watch 1 2 3: the first extra argument named" \
		eval 'status_is 64 && err_has "unexpected argument '"'"'3'"'"'"'
	run --sysroot "$fx/healthy" watch -H -r -n
	t "watch -H lists watch's fields" \
		eval 'status_is 0 && grep -q "^pg/batch " "$out" && ! grep -q "^MODE " "$out"'
	run --sysroot "$fx/healthy" watch -t 0.01 1
	t "watch -t: the local time first" \
		eval 'sed -n 2p "$out" | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8} "'
	if [ -n "$pfx" ]; then
		return	# script(1) runs the command through sh: not valgrind
	fi
	last_cmd="script: stty rows 10; pgtfree watch 0.01 20"
	script -qec "stty rows 10 cols 100; $BIN --sysroot $fx/healthy watch 0.01 20" \
		/dev/null </dev/null 2>"$err" | tr -d '\r' >"$out"
	t "watch on a terminal of 10 rows: the header every 8 lines" \
		eval '[ "$(grep -c "pending" "$out")" -eq 3 ]'
	script -qec "stty rows 10 cols 100; $BIN --sysroot $fx/healthy watch -n 0.01 20" \
		/dev/null </dev/null 2>"$err" | tr -d '\r' >"$out"
	t "watch -n on a terminal: the header once, as vmstat -n" \
		eval '[ "$(grep -c "pending" "$out")" -eq 1 ] && [ "$(wc -l <"$out")" -eq 21 ]'
	script -qec "stty rows 10 cols 100; $BIN --sysroot $fx/healthy watch --noheadings 0.01 5" \
		/dev/null </dev/null 2>"$err" | tr -d '\r' >"$out"
	t "watch --noheadings: no header" eval '! grep -q pending "$out"'
}

test_watch_output()
{
	last_cmd="(trap '' PIPE; pgtfree watch 0.01 | head -1)"
	(trap '' PIPE; "${wrap[@]}" "$BIN" --sysroot "$fx/healthy" watch 0.01 \
		2>"$err" | head -1 >"$out"; exit "${PIPESTATUS[0]}")
	rc=$?
	t "SIGPIPE ignored, watch | head -1: ends quietly, exit 0" \
		eval 'status_is 0 && err_empty && out_lines 1'
	last_cmd="pgtfree watch 0.01 3 >/dev/full"
	pg --sysroot "$fx/healthy" watch 0.01 3 >/dev/full 2>"$err"
	rc=$?
	t "watch >/dev/full: exit 1, exactly one error" \
		fails 1 "write error: No space left on device"
	pg --sysroot "$fx/healthy" >/dev/full 2>"$err"
	rc=$?
	t "status >/dev/full: exit 1, exactly one error" \
		fails 1 "write error: No space left on device"
	start_k --sysroot "$fx/healthy" watch 0.05
	wait_until '[ "$(wc -l <"$out")" -ge 3 ]'
	kill -TERM "$bgpid"
	reap "$bgpid"
	t "watch: SIGTERM ends it, exit 0, whole lines" \
		eval 'status_is 0 && err_empty && [ -z "$(tail -c 1 "$out")" ]'
}

test_watch()
{
	test_watch_values
	test_watch_conventions
	test_watch_output
}
