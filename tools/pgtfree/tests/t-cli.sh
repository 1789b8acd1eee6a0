# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# The command line, help per command, and the words of the help, the man
# page and the completion against the kernel's ABI.

test_cli()
{
	local a c

	run --help
	t "--help: exit 0, commands, exit status" \
		eval 'status_is 0 && out_has "Commands:" && out_has "77 permission denied"'
	for c in status watch mode drain top; do
		run "$c" --help
		t "$c --help: its own usage" eval 'status_is 0 && grep -q "^ pgtfree \(\[\)\?$c" "$out"'
		run help "$c"
		t "help $c: the same" eval 'status_is 0 && grep -q "^ pgtfree \(\[\)\?$c" "$out"'
	done
	run -V
	t "-V: the version" eval 'status_is 0 && out_is "pgtfree 0.2"'
	run mode --help
	t "mode --help: the mode lasts until reboot, and how to keep it" \
		eval 'out_has "until reboot" && out_has "pgtable_free.mode=sync" && out_has sysfs.d'
	for a in "-x" "--bogus" "frobnicate" "status extra" "-o FOO" "-o" \
		 "-o +" "watch 0" "watch abc" "watch 1 0" "watch -c 1.5" \
		 "status -i 1" "drain -o MODE" "mode sync async" "mode -b" \
		 "watch --format prometheus" "--format yaml" "-r --format=table" \
		 "--output-all -o MODE" "top -o CALLER" "help frob" "help top x"; do
		run --sysroot "$fx/healthy" $a
		t "usage error '$a': exit 64, stderr only" \
			eval 'status_is 64 && [ ! -s "$out" ] && err_has "Try '"'"'pgtfree"'
	done
	run --sysroot "$fx/healthy" -J -o FOO
	t "-J: a usage error as JSON, code 64" eval 'status_is 64 && err_json'
	run --sysroot "$fx/healthy" -H -J
	t "-H -J: the columns as JSON, typed" \
		jq_out '.columns | length == 16 and .[0].name == "MODE" and .[0].default == true and .[0].type == "<string>"'
}

# the words: no "flush" for what the kernel does not call one; the
# invalidations named as the costly operation everywhere
test_words()
{
	local f

	for f in "$src/pgtfree.8" "$src/pgtfree.bash-completion" "$src"/*.c; do
		last_cmd="grep -i flush $f"
		grep -in 'flush' "$f" | grep -v 'fflush\|flush_stdout\|top_flush\|TLB flush' >"$out"
		rc=0
		t "no 'flush' for a batch or an invalidation in ${f##*/}" eval '[ ! -s "$out" ]'
	done
	run --help
	pg status --help >"$out"
	t "status --help: INVALIDATIONS a default column, the costly operation" \
		eval 'grep -q "^ \*   INVALIDATIONS  IOMMU invalidations .*the costly operation" "$out"'
	last_cmd="the man page"
	man_text >"$out"
	t "man page: sync mode as the ABI says (at once only while no SVA address space is bound)" \
		eval 'tr "\n" " " <"$out" | grep -q "while no address space is bound for SVA"'
	t "man page: the three ways to keep the mode (boot parameter, sysfs.d, GRUB)" \
		eval 'out_has "pgtable_free.mode=sync" && out_has "/etc/sysfs.d/pgtfree.conf" && out_has GRUB_CMDLINE_LINUX && out_has update-grub'
	t "man page: what is normal, when to act" \
		eval 'out_has "WHAT IS NORMAL"'
}

man_text() { MANWIDTH=80 man -l "$src/pgtfree.8" 2>&1; }

# the man page and the completion name what the binary has
test_drift()
{
	local set names

	for set in "status -H" "watch -H" "top -H"; do
		names=$(pg $set -n -r | awk '{ print $1 }')
		last_cmd="man page against pgtfree $set"
		: >"$out"
		for c in $names; do
			grep -qF -- "$c" "$src/pgtfree.8" || echo "$c" >>"$out"
		done
		rc=0
		t "man page names every column of '$set'" eval '[ ! -s "$out" ]'
	done
	last_cmd="man -l pgtfree.8 warnings"
	MANWIDTH=80 man --warnings -l "$src/pgtfree.8" 2>"$err" >/dev/null
	rc=$?
	t "man page renders without warnings" err_empty
	for c in status watch mode drain top help --cleanup --check --iterations; do
		last_cmd="completion offers $c"
		grep -qF -- "$c" "$src/pgtfree.bash-completion" >/dev/null
		rc=$?
		t "completion offers $c" status_is 0
	done
}
