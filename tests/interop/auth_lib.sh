# tests/interop/auth_lib.sh: what the two DH-HMAC-CHAP interop scripts
# (run_auth_interop.sh, run_auth_target_interop.sh) share: PASS/FAIL
# results and their summary, secrets made with the tool's gen-dhchap-key
# (remembered, so that the scripts can check none leaked), and steps run
# in a subshell with their own log.  Sourced after lib.sh; the script sets
# TOOL (the nvmeof tool), WORK (its scratch directory), t0 (=$SECONDS at
# its start), KEEP and SPID (the running step, for its cleanup), and may
# set STEP_AFTER (a command run after every step).
# shellcheck shell=bash disable=SC2034,SC2154 # set here, used by the scripts; theirs, used here

RESULTS=() NOT_RUN=() SECRETS=() FAILED=0 nstep=0

result() { # PASS|FAIL text
	RESULTS+=("$1 $2")
	echo "$1 $2"
}
not_run() { # PEER WHY
	NOT_RUN+=("$1: $2")
	echo "not run: $1: $2"
}
summary() {
	local r passed=0 failed=0
	echo
	echo "=== summary ($((SECONDS - t0)) s)"
	for r in "${RESULTS[@]}"; do
		echo "$r"
		case $r in PASS*) passed=$((passed + 1)) ;; *) failed=$((failed + 1)) ;; esac
	done
	for r in "${NOT_RUN[@]}"; do echo "not run: $r"; done
	echo "$passed passed, $failed failed"
	((failed == 0)) || { KEEP=1; FAILED=1; }
}

# key VAR HMAC NQN [LENGTH]: VAR = a new secret (nvmeof gen-dhchap-key),
# remembered in SECRETS.
key() {
	local k
	k=$("$TOOL" gen-dhchap-key -m "$2" -n "$3" ${4:+-l "$4"}) || return 1
	[[ $k == DHHC-1:0[0-3]:*: ]] || { echo "gen-dhchap-key printed no DHHC-1 secret" >&2; return 1; }
	SECRETS+=("$k")
	printf -v "$1" '%s' "$k"
}

# step NAME FUNCTION [ARGS]: FUNCTION under `set -e` in a subshell, output in
# a log, one PASS/FAIL line (FUNCTION's last output line as a note).
step() {
	local name=$1 fn=$2 st=0 log note
	shift 2
	nstep=$((nstep + 1))
	log=$WORK/$(printf '%02d' "$nstep")-${fn#c_}.log
	(
		set -e
		"$fn" "$@"
	) >"$log" 2>&1 &
	SPID=$!
	wait "$SPID" || st=$?
	SPID=''
	${STEP_AFTER:-true}
	note=$(tail -n 1 "$log" | cut -c1-160)
	if ((st == 0)); then
		result PASS "$name${note:+ [$note]}"
	else
		result FAIL "$name (exit status $st; log $log)"
		tail -n 15 "$log" | sed 's/^/    /'
	fi
}
