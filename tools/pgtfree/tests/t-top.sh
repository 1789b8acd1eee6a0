# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# top: recorded text of every format, and live on the shim's tracefs.

# mktrfix NAME [DIR]: a fake root whose tracefs is sys/kernel/DIR
mktrfix()
{
	local root=$fx/$1 tr=$fx/$1/sys/kernel/${2:-tracing}

	rm -rf "$root"
	mkdir -p "$tr/instances" "$tr/events/pgtable_free" \
		"$root/sys/kernel/tracing"
	printf '0\n' >"$tr/events/pgtable_free/enable"
	printf '1\n' >"$tr/tracing_on"
}

# the top-level tracing state: every file but instances/
trstate() { (cd "$1" && find . -path ./instances -prune -o -type f -print | sort | xargs -r cksum; ls -A instances); }

# the JSON of top on recorded.trace, less what depends on timing
top_sum() { jq -c '{callers, batches, e: .summary[0].events}' "$@"; }

test_top_input()
{
	local f

	run top --input "$traces/recorded.trace"
	t "top --input: exit 0" eval 'status_is 0 && err_empty'
	tg "top --input: golden tables" top-recorded.txt
	run top --input "$traces/recorded.trace" -J
	tg "top --input -J: golden" top-recorded.json
	top_sum "$out" >"$tmp/recorded.sum"
	run top --input "$traces/perfscript.trace" -J
	t "top --input (perf script text): the events of recorded.trace" \
		eval 'status_is 0 && [ "$(top_sum "$out")" = "$(cat "$tmp/recorded.sum")" ]'
	run top --input "$traces/perf-guest.trace" -J
	t "top --input, perf script of ten module loads on the guest kernel: 30 queued, 30 freed" \
		eval 'status_is 0 && jq_out ".summary[0].malformed == 0 and .summary[0].events == 60 and
			.callers == [{caller: \"change_page_attr_set_clr\", module: null, frees: 30,
			queued: 30, freed_sync: 0}] and .batches[0].pages == 30"'
	run top --input "$traces/tracecmd.trace" -J
	t "top --input (trace-cmd report text): its events and losses" \
		eval 'status_is 0 && jq_out ".summary[0] | .events == 3 and .lost == 5 and .malformed == 0"'
	last_cmd="pgtfree top --input - <perfscript.trace"
	pg top --input - -J <"$traces/perfscript.trace" >"$out" 2>"$err"
	rc=$?
	t "top --input - reads standard input" eval 'status_is 0 && jq_out ".summary[0].events == 24"'
	grep -v pgtable_free_batch "$traces/malformed.trace" | grep -v 'pending=[0-9]*$' >"$tmp/bad.trace"
	run top --input "$tmp/bad.trace"
	t "top --input of no good event: exit 65, the first bad line quoted" \
		eval 'status_is 65 && err_has "no pgtable_free event in it could be parsed"'
	run top --input "$traces/lost.trace" -J
	t "top --input: lost events summed" jq_out ".summary[0].lost == 42"
	run top --input "$traces/lost-unknown.trace" -J
	t "top --input: a loss of unknown size makes LOST null, not 0" \
		jq_out '.summary[0].lost == null and .summary[0].events > 0'
	run top --input "$tmp/none.trace"
	t "top --input of no file: exit 66" fails 66 "--input $tmp/none.trace"
	run top -H -r --noheadings
	t "top -H: every column with its table" \
		eval 'status_is 0 && grep -q "^INVALIDATIONS <integer> yes batches " "$out"'
}

test_top_live()
{
	local r=$fx/live/sys/kernel/tracing state inst sig

	mktrfix live
	state=$(trstate "$r")
	kernel live
	run_k top --sysroot "$fx/live" -d 0.2 -n 1 -J
	t "top -d 0.2 -n 1 on the shim's tracefs: exit 0, the events read" \
		eval 'status_is 0 && err_empty && [ "$(top_sum "$out")" = "$(cat "$tmp/recorded.sum")" ]'
	t "top: an instance made, then disabled and removed; top level untouched" \
		eval '[ "$(sed "s/pgtfree-[0-9]*/I/" "$tmp/log")" = "mkdir I
rmdir I enable=0" ] && [ -z "$(ls -A "$r/instances")" ] && [ "$(trstate "$r")" = "$state" ]'
	run_k top --sysroot "$fx/live" -d 0.1 -n 3
	t "top -n 3 not on a terminal: the tables once, at the end" \
		eval 'status_is 0 && [ "$(grep -c "^SECONDS" "$out")" -eq 1 ] && ! grep -q $'"'"'\e'"'"' "$out"'
	for sig in INT TERM HUP; do
		start_k top --sysroot "$fx/live" -J
		inst=$r/instances/pgtfree-$bgpid
		wait_until '[ "$(cat "$inst/events/pgtable_free/enable" 2>/dev/null)" = 1 ]'
		kill -"$sig" "$bgpid" 2>/dev/null
		reap "$bgpid"
		t "top: SIG$sig -> exit 0, tables printed, instance removed" \
			eval 'status_is 0 && jq_out ".summary[0].events == 24" && [ ! -e "$inst" ]'
	done
	if [ -z "$pfx" ]; then
		last_cmd="script: pgtfree top -d 0.2 -n 3 on a terminal"
		script -qec "stty rows 40 cols 120; env ${kenv[*]} $BIN top --sysroot $fx/live -d 0.2 -n 3" \
			/dev/null </dev/null 2>"$err" | tr -d '\r' >"$out"
		t "top on a terminal: the screen drawn again every -d (4 times)" \
			eval '[ "$(grep -c "refreshed every 0.2 s" "$out")" -eq 5 ] && [ "$(grep -o $'"'"'\e\[H\e\[2J'"'"' "$out" | wc -l)" -eq 5 ]'
	fi
}

test_top_stale()
{
	local r=$fx/stale/sys/kernel/tracing

	mktrfix stale
	# a live pgtfree (sleeping), and a PID taken by another program
	start_k --sysroot "$fx/healthy" watch 60
	mkdir -p "$r/instances/pgtfree-4194303/events/pgtable_free" \
		"$r/instances/pgtfree-$bgpid" "$r/instances/pgtfree-$$" \
		"$r/instances/mine"
	echo 1 >"$r/instances/pgtfree-4194303/events/pgtable_free/enable"
	kernel stale
	run_k top --sysroot "$fx/stale" -d 0.1 -n 1
	t "top warns of an instance left by a pgtfree that is gone" \
		eval 'status_is 0 && err_has "pgtfree-4194303 is left from a pgtfree that is gone" && err_has "pgtfree top --cleanup"'
	run_k top --sysroot "$fx/stale" --cleanup
	t "top --cleanup: removes those whose pgtfree is gone, disabled first" \
		eval 'status_is 0 && out_has "removed $r/instances/pgtfree-4194303" &&
		out_has "removed $r/instances/pgtfree-$$" && grep -q "rmdir pgtfree-4194303 enable=0" "$tmp/log"'
	t "top --cleanup: leaves a running pgtfree's and other instances" \
		eval '[ -d "$r/instances/pgtfree-$bgpid" ] && [ -d "$r/instances/mine" ] && [ ! -e "$r/instances/pgtfree-4194303" ]'
	kill -TERM "$bgpid"
	reap "$bgpid"
}

test_top_errors()
{
	local r=$fx/notracefs

	rm -rf "$r"
	mkdir -p "$r/sys/kernel/mm"
	run top --sysroot "$r" -n 1
	t "top without tracefs: exit 69" fails 69 "no tracefs"
	mkdir -p "$r/sys/kernel/tracing"
	run top --sysroot "$r" -n 1
	t "top, tracefs not mounted: exit 69, how to mount it" \
		fails 69 "mount -t tracefs nodev /sys/kernel/tracing"
	mktrfix plain
	run top --sysroot "$fx/plain" -n 1
	t "top, instances/ not on tracefs: exit 77, nothing made" \
		eval 'fails 77 "refusing to write" && [ -z "$(ls -A "$fx/plain/sys/kernel/tracing/instances")" ]'
	mktrfix noevents
	rm -r "$fx/noevents/sys/kernel/tracing/events/pgtable_free"
	run top --sysroot "$fx/noevents" -n 1
	t "top without the events: exit 69" fails 69 "this kernel has no pgtable_free trace events"
	mktrfix nobody
	chmod 0700 "$fx/nobody/sys/kernel/tracing"
	kernel nobody
	run_nobody top --sysroot "$fx/nobody" -n 1
	tn "top as non-root: exit 77, tracing needs root" fails 77 "tracing needs root"
	run top -d 0.01
	t "top -d below 0.1: exit 64" fails 64 "invalid delay '0.01'"
	run top --input x --cleanup
	t "top --input with --cleanup: exit 64" status_is 64
}

test_top()
{
	test_top_input
	test_top_live
	test_top_stale
	test_top_errors
}
