# TAP output for the project's shell tests: ok/not ok lines and a final
# "# Totals:" line, which scripts/check sums.
_n=0 _pass=0 _fail=0 _skip=0

# check DESCRIPTION CMD...: one test, passes when CMD exits 0.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	_n=$((_n + 1))
	if [ $rc -eq 0 ]; then
		_pass=$((_pass + 1))
		echo "ok $_n - $desc"
	else
		_fail=$((_fail + 1))
		echo "not ok $_n - $desc (exit $rc)"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
}

skip() {
	_n=$((_n + 1)) _skip=$((_skip + 1))
	echo "ok $_n - $1 # SKIP $2"
}

totals() {
	echo "1..$_n"
	echo "# Totals: pass:$_pass fail:$_fail skip:$_skip"
	[ $_fail -eq 0 ]
}
