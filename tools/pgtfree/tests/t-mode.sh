# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# mode and drain, against the shim standing in for the kernel.

fixtures_mode()
{
	mkfix modefix '[async] sync' "${healthy[@]}"
	mkfix newmode '[async] sync lazy' "${healthy[@]}"
	mkfix drainfix '[async] sync' "${healthy[@]}"
	mkfix plain '[async] sync' "${healthy[@]}"
	mkfix nomode - "${healthy[@]}"
	chmod 0644 "$(sysfs modefix)/mode"
}

test_mode()
{
	local d sum

	d=$(sysfs modefix)
	kernel modefix
	run_k --sysroot "$fx/modefix" mode
	t "mode: prints async" eval 'status_is 0 && out_is async'
	run_k --sysroot "$fx/modefix" mode sync
	t "mode sync: exit 0, the word read back" \
		eval 'status_is 0 && out_is sync && err_empty'
	t "mode sync: one write of 'sync'; the file as the kernel prints it" \
		eval 'log_is "write mode sync" && file_is "$d/mode" "async [sync]"'
	run_k --sysroot "$fx/modefix" mode async -J
	t "mode async -J: JSON" eval 'status_is 0 &&
		jq_out ".pgtfree == [{\"mode\": \"async\"}]" && file_is "$d/mode" "[async] sync"'
	kernel newmode
	run_k --sysroot "$fx/newmode" mode lazy
	t "a newer kernel's word it lists: written, read back" \
		eval 'status_is 0 && out_is lazy'
	kernel newmode
	run_k --sysroot "$fx/newmode" mode fast
	t "a word the kernel does not list: exit 64, the list named" \
		eval 'fails 64 "this kernel offers async, sync, lazy" && log_is ""'
	kernel modefix FAKE_SYSFS_MODE=sticky
	run_k --sysroot "$fx/modefix" mode sync
	t "a kernel that ignores the write: exit 1, says what it reports" \
		fails 1 "mode: wrote 'sync' but the kernel reports 'async'"
	kernel modefix FAKE_SYSFS_MODE=einval
	run_k --sysroot "$fx/modefix" -J mode sync
	t "the kernel rejects the value (EINVAL): exit 65, JSON error" \
		eval 'status_is 65 && err_json && err_has "mode: the kernel rejected the value (EINVAL)"'
	sum=$(cksum <"$d/mode")
	kernel modefix
	run_k --sysroot "$fx/modefix" mode SYNC
	t "mode SYNC: exit 64 before writing" \
		eval 'status_is 64 && err_has "use async or sync" && log_is ""'
	run_k --sysroot "$fx/nomode" mode sync
	t "no mode file: exit 69" fails 69 "mode: not provided by this kernel"
	run --sysroot "$fx/plain" mode sync
	t "a plain file (no sysfs) is not written: exit 77" \
		eval 'fails 77 "mode: refusing to write" && file_is "$(sysfs plain)/mode" "[async] sync"'
	kernel modefix
	run_nobody --sysroot "$fx/modefix" mode sync
	tn "non-root mode sync: exit 77, says root is needed, nothing written" \
		eval 'fails 77 "writing needs root (try sudo)" && [ "$(cksum <"$d/mode")" = "$sum" ]'
	run_nobody --sysroot "$fx/modefix" mode
	tn "non-root mode: reads it" eval 'status_is 0 && out_is async'
}

test_drain()
{
	local d

	d=$(sysfs drainfix)
	kernel drainfix
	run_k --sysroot "$fx/drainfix" drain
	t "drain: exit 0, one write of 1" eval 'status_is 0 && err_empty && log_is "write drain 1"'
	tg "drain: golden" drain.txt
	t "drain took effect: pending 0, freed +34, batches +1" \
		eval 'file_is "$d/stats/pending" 0 && file_is "$d/stats/freed" 1234 && file_is "$d/stats/batches" 61'
	run_k --sysroot "$fx/drainfix" drain -J
	t "drain again -J: nothing pending before, none freed" \
		jq_out '.drain[0] | .pending_before == 0 and .pending_after == 0 and .freed == 0'
	mkfix drainfix '[async] sync' "${healthy[@]}"
	kernel drainfix FAKE_SYSFS_DRAIN=noop
	run_k --sysroot "$fx/drainfix" drain -n -r
	t "a drain that frees nothing shows it: 34 34 0" out_is "34 34 0"
	run_k --sysroot "$fx/old" drain
	t "no drain file: exit 69" fails 69 "drain: not provided by this kernel"
	kernel drainfix
	run_nobody --sysroot "$fx/drainfix" drain
	tn "non-root drain: exit 77, says root is needed" \
		fails 77 "drain: permission denied: writing needs root"
}
