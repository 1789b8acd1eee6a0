#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Host tests of pgtfree(8), against fake kernel trees built in a
# temporary directory (--sysroot) and the fake-kernel shim (LD_PRELOAD)
# that makes them behave as sysfs and tracefs do.
#
# usage: tests/run.sh
# env:   PGTFREE=PATH       binary under test (default: "make" here)
#        PGTFREE_UNIT=PATH  the unit tests (default: "make unit" here)
#        VALGRIND=0         no second pass under valgrind
#        MUTATIONS=0        leave out tests/mutations (they need the source
#                           and a compiler; each must fail these tests)
#        ONLY="GROUP..."    only these groups: unit status mode drain
#                           watch top cli words drift
#        UPDATE_GOLDEN=1    rewrite tests/golden/ from the current output
#        CC=cc              compiles tests/fake-kernel.c
#
# TAP, one line per check, then "# Totals: pass:N fail:N skip:N"; exit 1
# on failure.
set -u
export LC_ALL=C
umask 022

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(dirname "$here")
golden=$here/golden
traces=$here/traces
# shellcheck source=tools/pgtfree/tests/lib.sh
. "$here/lib.sh"
for f in "$here"/t-*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done

bail() { echo "not ok 1 - $1"; echo "# Totals: pass:0 fail:1 skip:0"; exit 1; }

if [ -z "${PGTFREE:-}" ]; then
	make -s -C "$src" all unit >&2 || bail "build pgtfree"
	PGTFREE=$src/pgtfree PGTFREE_UNIT=$src/pgtfree-unit
fi
[ -x "$PGTFREE" ] || bail "$PGTFREE is an executable"
for tool in jq setpriv script gzip; do
	command -v $tool >/dev/null || bail "$tool is installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pgtfree-test.XXXXXX") || exit 1
bgpids=()
cleanup()
{
	local p

	for p in "${bgpids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# nobody must reach the fixtures, the binary and the shim
chmod 0755 "$tmp"
mkdir -p "$tmp/bin" "$tmp/vg" "$tmp/fx"
chmod 1777 "$tmp/vg"
cp "$PGTFREE" "$tmp/bin/pgtfree"
BIN=$tmp/bin/pgtfree
fx=$tmp/fx out=$tmp/out err=$tmp/err rc=0
pagesize=$(getconf PAGESIZE)
shim=$tmp/fake-kernel.so
"${CC:-cc}" -shared -fPIC -O1 -Wall -Wno-format-truncation -o "$shim" \
	"$here/fake-kernel.c" -ldl || bail "compile tests/fake-kernel.c"

test_unit()
{
	local unit=${PGTFREE_UNIT:-}

	[ -z "$pfx" ] || return
	if [ -z "$unit" ]; then
		skip "unit tests" "no PGTFREE_UNIT: they test the source, not a binary"
		return
	fi
	"$unit" | sed "s/^\(not \)\?ok [0-9]* - /&/" >"$tmp/unit.tap"
	while read -r line; do
		case $line in
		"ok "*) ok "${line#ok * - }" ;;
		"not ok "*) notok "${line#not ok * - }" ;;
		esac
	done <"$tmp/unit.tap"
}

groups="unit status mode drain watch top cli words drift"
suite()
{
	local g

	rm -rf "$fx"
	mkdir -p "$fx"
	fixtures_status
	fixtures_mode
	fixtures_watch
	for g in ${ONLY:-$groups}; do
		"test_$g"
	done
}

suite
if [ "${VALGRIND:-1}" = 0 ]; then
	skip "valgrind pass" "VALGRIND=0"
elif ! command -v valgrind >/dev/null; then
	notok "valgrind is installed"
else
	pfx="valgrind: "
	wrap=(valgrind -q --error-exitcode=99 --leak-check=full
	      --show-leak-kinds=definite,indirect,possible
	      --errors-for-leak-kinds=definite,indirect,possible
	      --log-file="$tmp/vg/vg.%p.log")
	suite
	last_cmd="valgrind logs"
	rc=0
	# valgrind 3.19 does not know openat2 (pgtfree then walks the path
	# itself): that warning is not a report
	cat "$tmp"/vg/vg.*.log 2>/dev/null | grep -v -e 'unhandled amd64-linux syscall: 437$' \
		-e 'You may be able to write your own handler\.$' \
		-e 'Read the file README_MISSING_SYSCALL_OR_IOCTL\.$' \
		-e 'Nevertheless we consider this a bug\.  Please report$' \
		-e 'it at http://valgrind.org/support/bug_reports.html\.$' >"$err"
	: >"$out"
	t "no valgrind report in any run" err_empty
	pfx= wrap=()
fi
if [ "${MUTATIONS:-1}" != 0 ] && [ -z "${ONLY:-}" ]; then
	. "$here/mutations/run.sh"
fi
echo "# Totals: pass:$npass fail:$nfail skip:$nskip"
[ $nfail -eq 0 ]
