# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# status: the table, JSON, Prometheus, --check, and why a kernel has no
# interface.

fixtures_status()
{
	local s

	mkfix healthy '[async] sync' "${healthy[@]}"
	mkfix calm '[async] sync' "${calm[@]}"
	mkfix sync 'async [sync]' queued=500 freed=500 pending=0 \
		pending_max=64 batches=40 freed_sync=1000 oom_freed=0 \
		oom_events=0 invalidations=0 invalidated_mms=0
	mkfix fresh '[async] sync' queued=0 freed=0 pending=0 pending_max=0 \
		batches=0 freed_sync=0 oom_freed=0 oom_events=0
	mkfix old '[async] sync' queued=100 freed=90 pending=10
	rm -f "$(sysfs old)/drain"
	mkfix nostats '[async] sync'
	rmdir "$(sysfs nostats)/stats"
	mkfix huge '[async] sync' queued=18446744073709551615 \
		freed=18446744073709551615 pending=18446744073709551615 \
		pending_max=18446744073709551615 batches=1 \
		freed_sync=18446744073709551615
	# a stock kernel: no interface; its configuration says why
	for s in absent cfg-y cfg-n cfg-boot; do
		rm -rf "${fx:?}/$s"
		mkdir -p "$fx/$s/sys/kernel/mm" "$fx/$s/proc/sys/kernel" \
			"$fx/$s/boot"
		echo 7.3.4-amd64 >"$fx/$s/proc/sys/kernel/osrelease"
	done
	printf 'CONFIG_MMU=y\nCONFIG_ASYNC_KERNEL_PGTABLE_FREE=y\n' |
		gzip >"$fx/cfg-y/proc/config.gz"
	printf 'CONFIG_MMU=y\n# CONFIG_IOMMU_SVA is not set\n' |
		gzip >"$fx/cfg-n/proc/config.gz"
	printf 'CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y\n' \
		>"$fx/cfg-boot/boot/config-7.3.4-amd64"
	for s in nonnum:'abc' trunc:'123' overflow:'18446744073709551616' \
		 trailing:'12 ' sign:'-1'; do
		mkfix "bad-${s%%:*}" '[async] sync' "${healthy[@]}"
		printf '%s' "${s#*:}" >"$(sysfs "bad-${s%%:*}")/stats/queued"
		[ "${s%%:*}" = trunc ] ||
			echo >>"$(sysfs "bad-${s%%:*}")/stats/queued"
	done
	mkfix bad-dir '[async] sync' "${healthy[@]}"
	rm "$(sysfs bad-dir)/stats/queued"
	mkdir "$(sysfs bad-dir)/stats/queued"
	mkfix bad-mode '[fast] slow' "${healthy[@]}"
	mkfix lone-mode 'sync' "${healthy[@]}"
	mkfix unreadable '[async] sync' "${healthy[@]}"
	chmod 0000 "$(sysfs unreadable)/stats/pending"
	mkfix symlink '[async] sync' "${healthy[@]}"
	mv "$(sysfs symlink)/stats/pending" "$fx/symlink/pending"
	ln -s ../../../../../../pending "$(sysfs symlink)/stats/pending"
}

# every value of the status object is a number, but mode; null if absent
json_typed()
{
	jq -e '.pgtfree | length == 1 and (.[0] | to_entries | all(
		(.value | type) as $t | $t == "null" or
		(if .key == "mode" then $t == "string" else $t == "number"
		 end)))' <"$out" >/dev/null 2>&1
}

# Prometheus text format: HELP and TYPE before each family, counters end
# in _total, gauges do not, values are integers
prom_ok()
{
	awk '
	/^# HELP [a-z_]+ [^ ].*$/ { help[$3] = 1; next }
	/^# TYPE [a-z_]+ (counter|gauge)$/ {
		if (!($3 in help)) bad = 1
		type[$3] = $4; next
	}
	/^[a-z_]+(\{(mode|file)="[a-z_\/]+"\})? [0-9]+$/ {
		name = $1; sub(/\{.*/, "", name)
		if (!(name in type)) bad = 1
		if (type[name] == "counter" && name !~ /_total$/) bad = 1
		if (type[name] == "gauge" && name ~ /_total$/) bad = 1
		samples++; next
	}
	{ bad = 1 }
	END { exit (bad || samples == 0) }' "$out"
}

test_status_table()
{
	run --sysroot "$fx/healthy"
	t "status: exit 0, no stderr" eval 'status_is 0 && err_empty'
	tg "status: golden table" status-healthy.txt
	t "status: INVALIDATIONS is a default column, no FLUSHES" \
		eval 'head -1 "$out" | grep -qw INVALIDATIONS && ! grep -q FLUSH "$out"'
	t "status: the default fits 80 columns" \
		eval '[ "$(awk "{ if (length > m) m = length } END { print m }" "$out")" -le 80 ]'
	run --sysroot "$fx/healthy/" status -r
	tg "status -r, --sysroot with a trailing slash: golden" \
		status-healthy-raw.txt
	run --sysroot "$fx/healthy" -n -b -o mode,Pending,PENDING_SIZE,avg_batch
	tg "-n -b -o LIST (any case): golden" status-healthy-o.txt
	run --sysroot "$fx/healthy" -o +QUEUED,SYNC_PCT,PENDING_MAX_SIZE,FREED_SIZE
	tg "-o +LIST adds to the default: golden" status-healthy-oplus.txt
	run --sysroot "$fx/healthy" -J --output-all
	t "-J --output-all: typed, every value" eval 'json_typed && jq_out ".pgtfree[0] |
		.mode == \"async\" and .pending == 34 and
		.pending_size == 34 * $pagesize and .pending_max == 512 and
		.queued == 1234 and .freed == 1200 and .batches == 60 and
		.avg_batch == 20 and .freed_sync == 10 and .oom_freed == 100 and
		.oom_events == 2 and .invalidations == 40 and
		.invalidated_mms == 55 and .sync_pct == 1000 / 1210 and
		.freed_size == 1200 * $pagesize and (keys | length) == 16"'
	tg "-J --output-all: golden" status-healthy.json
	run --sysroot "$fx/sync" -J -o +SYNC_PCT
	t "sync: avg_batch 12.5, sync_pct 1000/1500" jq_out '.pgtfree[0] |
		.mode == "sync" and .avg_batch == 12.5 and
		.sync_pct == 1000 * 100 / 1500'
	run --sysroot "$fx/fresh" -J -o +SYNC_PCT
	t "fresh: avg_batch and sync_pct null before any free" \
		jq_out '.pgtfree[0] | .avg_batch == null and .sync_pct == null'
	run --sysroot "$fx/huge" -J --output-all
	t "u64 max: exact, overflowing sizes null" eval 'status_is 0 &&
		jq_out ".pgtfree[0] | .pending_size == null and .pending_max > 1e19"'
	run --sysroot "$fx/old" -J --output-all
	t "older kernel: absent counters null, exit 0" eval 'status_is 0 &&
		json_typed && jq_out ".pgtfree[0] | .batches == null and .queued == 100"'
	tg "older kernel: golden JSON" status-old.json
	run --sysroot "$fx/nostats" -J
	t "no stats directory: said once, exit 65" \
		eval 'status_is 65 && err_lines 1 && err_has "stats: not found"'
}

test_status_bad()
{
	local s why

	for s in nonnum:"not a number: 'abc'" trunc:"truncated value (no newline): '123'" \
		 overflow:"number out of range: '18446744073709551616'" \
		 trailing:"not a number: '12 '" sign:"not a number: '-1'" \
		 dir:"a directory, not a file"; do
		why="stats/queued: ${s#*:}"
		run --sysroot "$fx/bad-${s%%:*}" -J -o +QUEUED
		t "bad value (${s%%:*}): exit 65, one line: $why; others shown" \
			eval 'fails 65 "$why" && err_json &&
			jq_out ".pgtfree[0] | .queued == null and .freed == 1200"'
	done
	run --sysroot "$fx/bad-mode"
	t "bad mode: exit 65, quoted" fails 65 "mode: unrecognised mode: '[fast] slow'"
	run --sysroot "$fx/lone-mode" mode
	t "a lone mode word is not the kernel's format: exit 65" \
		fails 65 "mode: unrecognised mode: 'sync'"
	run_nobody --sysroot "$fx/unreadable"
	tn "unreadable counter: exit 77 as for a write, others shown" \
		eval 'fails 77 "stats/pending: permission denied: reading it needs root" && out_has 1200'
	run --sysroot "$fx/symlink"
	t "a symbolic link in the tree is not followed: exit 77" \
		fails 77 "stats/pending: a symbolic link in the path, not followed"
}

test_status_prom()
{
	run --sysroot "$fx/healthy" --format prometheus
	t "prometheus: exit 0, well-formed" eval 'status_is 0 && prom_ok'
	tg "prometheus: golden" prometheus-healthy.txt
	t "prometheus: HELP says invalidations are the costly operation" \
		out_has "# HELP pgtable_free_invalidations_total IOMMU invalidations issued for SVA, one per batch at most: the costly operation."
	run --sysroot "$fx/bad-nonnum" --format prometheus
	t "prometheus, one bad counter: every good one, an error for it" \
		eval 'status_is 65 && prom_ok && ! out_has "queued_pages" &&
		out_has "pgtable_free_freed_pages_total 1200" &&
		out_has "pgtable_free_scrape_error{file=\"stats/queued\"} 1" &&
		out_has "pgtable_free_scrape_error 1"'
	run --sysroot "$fx/old" --format prometheus
	t "prometheus, older kernel: absent counters left out, no error" \
		eval 'status_is 0 && prom_ok && ! out_has batches &&
		out_has "pgtable_free_scrape_error 0"'
}

test_status_check()
{
	kernel calm
	run_k --sysroot "$fx/calm" status --check -i 0.05
	t "--check, nothing pending: OK, exit 0" \
		eval 'status_is 0 && out_has "OK: mode async, 0 pages pending"'
	run --sysroot "$fx/healthy" status --check -i 0.05 -J
	t "--check, pending that stays, OOM events: ATTENTION, exit 2" \
		eval 'status_is 2 && jq_out ".verdict == \"attention\"" &&
		out_has "none freed" && out_has "OOM notifier freed 100"'
	scripted checkmove freed 1200 1230
	mkfix moving '[async] sync' "${calm[@]}" pending=34
	kernel moving FAKE_SYSFS_SCRIPT="$tmp/script/checkmove"
	run_k --sysroot "$fx/moving" status --check -i 0.05
	t "--check, pending while freed moves: OK" status_is 0
	scripted syncbound queued 500 503
	kernel sync FAKE_SYSFS_SCRIPT="$tmp/script/syncbound"
	run_k --sysroot "$fx/sync" status --check -i 0.05
	t "--check, sync mode and tables queued (SVA bound): ATTENTION" \
		eval 'status_is 2 && out_has "mode sync has no effect while an address space is bound"'
	scripted burst pending 3000 2500
	mkfix burst '[async] sync' "${calm[@]}" pending=3000
	kernel burst FAKE_SYSFS_SCRIPT="$tmp/script/burst"
	run_k --sysroot "$fx/burst" status --check -i 0.05
	t "--check, more than 2048 pages pending in both readings: ATTENTION" \
		eval 'status_is 2 && out_has "2500 pages (9.8M) pending"'
}

test_status_nokernel()
{
	run --sysroot "$fx/cfg-y"
	t "stock kernel with the deferral (config.gz): exit 69, says so" \
		eval 'fails 69 "this kernel defers freeing its page tables (CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y in $fx/cfg-y/proc/config.gz) but has no pgtable_free interface"'
	run --sysroot "$fx/cfg-boot" -J
	t "stock kernel, /boot/config-RELEASE: the same, as JSON" \
		eval 'status_is 69 && err_json && err_has "=y in $fx/cfg-boot/boot/config-7.3.4-amd64"'
	run --sysroot "$fx/cfg-n" watch
	t "kernel without the deferral: exit 69, built without" \
		fails 69 "this kernel was built without CONFIG_ASYNC_KERNEL_PGTABLE_FREE"
	run --sysroot "$fx/absent" drain
	t "no configuration to read: exit 69, both cases named" \
		fails 69 "either frees its page tables at once"
	run --sysroot "$tmp/nothing"
	t "a --sysroot that is not there: exit 66" fails 66 "--sysroot $tmp/nothing"
	run --sysroot "$fx"
	t "a --sysroot without sysfs: exit 66" fails 66 "is not the root of a system with sysfs"
}

test_status()
{
	test_status_table
	test_status_bad
	test_status_prom
	test_status_check
	test_status_nokernel
}
