# Sourced by guest suites that compare page counts before and after a
# workload: figures read by the shell itself, with no process started (not
# even a subshell), so that no other process's pages or page tables count
# in them, and on one CPU: a CPU keeps the last process it ran as its lazy
# TLB mm, so an exited process's page-table root would linger in
# PageTables on another.  An exited process's page tables are freed after
# an RCU grace period: compare figures only once they are stable.
# shellcheck shell=bash

# kv FILE KEY: sets v to the value of KEY (first field) in FILE, or ""
kv() {
	local k x _
	v=""
	while read -r k x _; do
		[ "$k" = "$2" ] && { v=$x; return; }
	done <"$1"
}

# nap SECONDS: sleep without starting a process (a read from a FIFO that
# nobody writes times out)
_nap_fifo=/tmp/quiet.$$.fifo
mkfifo $_nap_fifo
exec {_nap_fd}<>$_nap_fifo
rm -f $_nap_fifo
nap() { read -r -t "$1" -u $_nap_fd; }

# one_cpu / all_cpus: take the second CPU offline and back
_cpu1=/sys/devices/system/cpu/cpu1/online
one_cpu() { [ ! -w $_cpu1 ] || echo 0 >$_cpu1; }
all_cpus() { [ ! -w $_cpu1 ] || echo 1 >$_cpu1; }

# stable FUNCTION: run FUNCTION (which sets fig) every half second, after
# folding the per-CPU counters, until fig reads the same twice (20 s at
# most)
stable() {
	local i last=""
	for i in {1..40}; do
		nap 0.5
		echo 1 >/proc/sys/vm/stat_refresh
		"$1"
		[ "$fig" = "$last" ] && return
		last=$fig
	done
}
