#!/usr/bin/env bats
# zdtm-style matrix: the same small workloads (tests/helpers/cr-workload.c:
# a counter mirrored in a file, a file written at an offset, a pipe and a
# unix socketpair between two processes, a periodic timer), each
# checkpointed and restored in every mode, each checking its own state
# after the restore (a failed check leaves FAIL in /tmp/status and kills
# the workload, which the test sees).
#
# Modes: plain (dump, restore under a new id), leave-running (the original
# keeps going, a copy is restored beside it), new-bundle (restored from a
# config in another bundle directory), lazy (pages served by the dump's
# page server to `criu lazy-pages`, faulted in after the restore).

load helpers

setup() {
	common_setup
	IMG=$(mktemp -d /var/tmp/ferry-img.XXXXXX)
	ID2="${ID}-r"
	HELPERS=$(realpath "$BATS_TEST_DIRNAME/../../build/tests/helpers")
	[ -x "$HELPERS/cr-workload" ] || skip "build/tests/helpers/cr-workload is not built"
	CRIU=${FERRY_CRIU:-/opt/ferry/criu/usr/sbin/criu}
}

teardown() {
	[ -z "${BG:-}" ] || kill $BG 2>/dev/null || true
	common_teardown
	rm -rf "$IMG" "${BUNDLE2:-}"
}

workload_bundle() {
	ARGS="[\"/data/cr-workload\",\"$1\"]" make_bundle "
		.mounts += [
		  {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\",\"nodev\"]},
		  {\"destination\": \"/data\", \"type\": \"bind\", \"source\": \"$HELPERS\", \"options\": [\"rbind\",\"ro\"]}
		]"
}

progress_of() { ferry exec "$1" cat /tmp/progress; }
progress_above() { [ "$(progress_of "$1")" -gt "$2" ]; }

# The workload's own verdict: no FAIL, and still running.
check_ok() {
	local s
	s=$(ferry exec "$1" cat /tmp/status 2>/dev/null || true)
	if [ -n "$s" ]; then
		echo "$1: $s" >&2
		return 1
	fi
	is_status "$1" running
}

lazy_dump_and_restore() {
	local port=$((20000 + RANDOM % 20000)) dump lazy
	mkfifo "$IMG/status"
	ferry checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd 5 \
		--image-path "$IMG/cp" "$ID" 5>"$IMG/status" >"$IMG/dump.out" 2>&1 3>&- &
	dump=$!
	BG="$dump"
	[ "$(timeout 60 od -An -c -N1 "$IMG/status" | tr -d ' ')" = '\0' ]
	"$CRIU" lazy-pages --page-server --address 127.0.0.1 --port "$port" \
		-D "$IMG/cp" -W "$IMG/cp" -o lazy-pages.log >"$IMG/lazy.out" 2>&1 3>&- &
	lazy=$!
	BG="$dump $lazy"
	wait_for test -S "$IMG/cp/lazy-pages.socket"
	ferry restore -d --lazy-pages -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	wait "$dump"
	wait "$lazy"
	BG=""
}

# run_case WORKLOAD MODE
run_case() {
	local w=$1 mode=$2 before at
	workload_bundle "$w"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for progress_above "$ID" 5
	check_ok "$ID"
	before=$(progress_of "$ID")
	case $mode in
	plain)
		ferry checkpoint --image-path "$IMG/cp" "$ID"
		assert_no_leftovers "$ID"
		ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
		;;
	leave-running)
		ferry checkpoint --leave-running --image-path "$IMG/cp" "$ID"
		v=$(progress_of "$ID")
		wait_for progress_above "$ID" $((v + 3))
		check_ok "$ID"
		ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
		;;
	new-bundle)
		ferry checkpoint --image-path "$IMG/cp" "$ID"
		BUNDLE2=$(mktemp -d /var/tmp/ferry-bundle2.XXXXXX)
		cp "$BUNDLE/config.json" "$BUNDLE2/config.json"
		ferry restore -d -b "$BUNDLE2" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
		[ "$(ferry state "$ID2" | jq -r .bundle)" = "$BUNDLE2" ]
		;;
	lazy)
		lazy_dump_and_restore
		grep -q uffd "$IMG/cp/restore.log"
		;;
	esac
	# the restored copy starts where the dump was taken, not from zero
	at=$(progress_of "$ID2")
	[ "$at" -ge "$before" ]
	wait_for progress_above "$ID2" $((at + 5))
	check_ok "$ID2"
	if [ "$mode" = leave-running ]; then
		check_ok "$ID"
		ferry delete -f "$ID"
		assert_no_leftovers "$ID"
	fi
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "counter: plain" { run_case counter plain; }
@test "counter: leave-running" { run_case counter leave-running; }
@test "counter: new-bundle" { run_case counter new-bundle; }
@test "counter: lazy" { run_case counter lazy; }
@test "offset: plain" { run_case offset plain; }
@test "offset: leave-running" { run_case offset leave-running; }
@test "offset: new-bundle" { run_case offset new-bundle; }
@test "offset: lazy" { run_case offset lazy; }
@test "pipe: plain" { run_case pipe plain; }
@test "pipe: leave-running" { run_case pipe leave-running; }
@test "pipe: new-bundle" { run_case pipe new-bundle; }
@test "pipe: lazy" { run_case pipe lazy; }
@test "socketpair: plain" { run_case socketpair plain; }
@test "socketpair: leave-running" { run_case socketpair leave-running; }
@test "socketpair: new-bundle" { run_case socketpair new-bundle; }
@test "socketpair: lazy" { run_case socketpair lazy; }
@test "timer: plain" { run_case timer plain; }
@test "timer: leave-running" { run_case timer leave-running; }
@test "timer: new-bundle" { run_case timer new-bundle; }
@test "timer: lazy" { run_case timer lazy; }
