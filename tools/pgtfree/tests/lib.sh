# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
#
# What the host tests of pgtfree share: TAP, running pgtfree (plain, as
# nobody, under the fake-kernel shim), assertions and fixture trees.
# Sourced by run.sh.

n=0 npass=0 nfail=0 nskip=0
pfx=

ok() { n=$((n + 1)) npass=$((npass + 1)); echo "ok $n - $pfx$1"; }
notok() { n=$((n + 1)) nfail=$((nfail + 1)); echo "not ok $n - $pfx$1"; }
skip() { n=$((n + 1)) nskip=$((nskip + 1)); echo "ok $n - $pfx$1 # SKIP $2"; }

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
		head -n 10 "$err" | cut -c1-200 | sed 's/^/#   /'
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
		show
	fi
}

# tn: t for a check of a run as nobody, skipped where that cannot run
tn()
{
	if [ $nobody_ok -eq 0 ]; then
		skip "$1" "not root: cannot run as nobody"
		return
	fi
	t "$@"
}

wrap=()
pg() { "${wrap[@]}" "$BIN" "$@"; }

run()
{
	last_cmd="pgtfree $*"
	pg "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
nobody_ok=0
if [ "$(id -u)" -eq 0 ] && "${as_nobody[@]}" true 2>/dev/null; then
	nobody_ok=1
fi

# run_nobody ARGS...: as run, as user nobody (shim and all)
run_nobody()
{
	last_cmd="(nobody) pgtfree $*"
	: >"$out"
	: >"$err"
	rc=255
	[ $nobody_ok -eq 1 ] || return
	env "${kenv[@]}" "${as_nobody[@]}" "${wrap[@]}" "$BIN" "$@" \
		>"$out" 2>"$err" </dev/null
	rc=$?
}

# ---------------------------------------------------------------- the shim

# kernel FIX [VAR=VALUE...]: the environment of the fake-kernel shim on
# fixture FIX, in kenv; run_k runs pgtfree with it
kenv=()
kernel()
{
	local fix=$1

	shift
	kenv=(LD_PRELOAD="$shim" FAKE_SYSFS="$fx/$fix/sys"
	      FAKE_TRACEFS="$fx/$fix/sys/kernel/${ftdir:-tracing}"
	      FAKE_LOG="$tmp/log" FAKE_TRACEFS_PIPE="$traces/recorded.trace"
	      "$@")
	: >"$tmp/log"
}

run_k()
{
	last_cmd="(${kenv[*]}) pgtfree $*"
	env "${kenv[@]}" "${wrap[@]}" "$BIN" "$@" >"$out" 2>"$err" </dev/null
	rc=$?
}

# start_k ARGS...: run_k in the background, pid in $bgpid (set -m: a
# background job of a script would otherwise ignore SIGINT; pgtfree keeps
# a signal ignored on entry ignored, and these tests may run under nohup)
start_k()
{
	last_cmd="(${kenv[*]}, background) pgtfree $*"
	: >"$out"
	set -m
	env --default-signal "${kenv[@]}" "${wrap[@]}" "$BIN" "$@" >"$out" \
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

# reap PID: wait for it, killed after 60 s (a signal it did not act on
# fails a check rather than hanging the tests); sets rc
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

log_is() { [ "$(cat "$tmp/log")" = "$1" ]; }

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
# fails with exit status CODE and one message on stderr holding TEXT (a
# usage error adds where to find help)
fails()
{
	status_is "$1" && err_has "$2" &&
		[ "$(grep -vc "^Try 'pgtfree" "$err")" -eq 1 ]
}

# every stderr line is {"error":{"message":string,"code":<rc>}}
err_json()
{
	[ -s "$err" ] &&
		jq -e --argjson rc "$rc" '(.error.message | type) == "string" and
			.error.code == $rc' <"$err" >/dev/null 2>&1 &&
		[ "$(jq -c . <"$err" | wc -l)" -eq "$(wc -l <"$err")" ]
}

# compare stdout with golden/NAME (or write it with UPDATE_GOLDEN=1)
golden()
{
	if [ "${UPDATE_GOLDEN:-0}" = 1 ] && [ -z "$pfx" ]; then
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

# ---------------------------------------------------------------- fixtures

healthy=(queued=1234 freed=1200 pending=34 pending_max=512 batches=60
	 freed_sync=10 oom_freed=100 oom_events=2 invalidations=40
	 invalidated_mms=55)
calm=(queued=1200 freed=1200 pending=0 pending_max=512 batches=60
      freed_sync=10 oom_freed=0 oom_events=0 invalidations=40
      invalidated_mms=55)

# mkfix NAME MODE-CONTENT|- [COUNTER=VALUE...]: a fake kernel tree; "-"
# leaves the mode file out, counters not given are absent
mkfix()
{
	local root=$fx/$1 mode=$2 d kv

	shift 2
	d=$root/sys/kernel/mm/pgtable_free
	rm -rf "$root"
	mkdir -p "$d/stats" "$root/proc/sys/kernel"
	printf '1000.00 1900.00\n' >"$root/proc/uptime"
	[ "$mode" = - ] || printf '%s\n' "$mode" >"$d/mode"
	: >"$d/drain"
	chmod 0200 "$d/drain"
	for kv; do
		printf '%s\n' "${kv#*=}" >"$d/stats/${kv%%=*}"
	done
}

sysfs() { echo "$fx/$1/sys/kernel/mm/pgtable_free"; }

# scripted NAME COUNTER V1 V2...: the values COUNTER reads one after the
# other under the shim (FAKE_SYSFS_SCRIPT=$tmp/script/NAME)
scripted()
{
	local d=$tmp/script/$1 c=$2

	shift 2
	mkdir -p "$d"
	printf '%s\n' "$@" >"$d/$c"
}
