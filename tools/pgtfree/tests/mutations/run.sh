# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# The mutation set: each NAME.patch breaks pgtfree on purpose (its first
# line says how, its "groups:" line which groups of run.sh to run).  Each
# mutant is built from a copy of the source and must fail some check;
# the TAP line names the checks that caught it.  Sourced by run.sh.

mutant()
{
	local patch=$1 name dir groups caught

	name=$(basename "$patch" .patch)
	dir=$tmp/mut/$name
	groups=$(sed -n 's/^groups: //p' "$patch")
	mkdir -p "$dir"
	cp "$src"/*.c "$src"/*.h "$src"/Makefile "$dir"/
	mkdir -p "$dir/tests" && cp "$src/tests/unit.c" "$dir/tests/"
	if ! patch -s -p1 -d "$dir" <"$patch" >"$tmp/mut.log" 2>&1 ||
	   ! nice make -s -C "$dir" CFLAGS=-O0 all unit >>"$tmp/mut.log" 2>&1; then
		notok "mutation $name: applies and builds"
		sed 's/^/# /' "$tmp/mut.log" | head -n 10
		return
	fi
	PGTFREE=$dir/pgtfree PGTFREE_UNIT=$dir/pgtfree-unit VALGRIND=0 \
		MUTATIONS=0 ONLY="$groups" bash "$here/run.sh" >"$tmp/mut.tap" 2>&1
	caught=$(sed -n 's/^not ok [0-9]* - //p' "$tmp/mut.tap")
	if [ -n "$caught" ]; then
		ok "mutation $name ($(head -1 "$patch")): caught by $(wc -l <<<"$caught") checks, first: $(head -1 <<<"$caught")"
		sed 's/^/#   caught by: /' <<<"$caught"
	else
		notok "mutation $name ($(head -1 "$patch")): no check of '$groups' failed"
	fi
}

for m in "$here"/mutations/*.patch; do
	mutant "$m"
done
