#!/usr/bin/env bats
# create/start/state/list/kill/delete, as runc users type them.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "create leaves the container created, start makes it running" {
	make_bundle
	ferry create -b "$BUNDLE" "$ID" </dev/null >"$BUNDLE/out" 2>&1 || { cat "$BUNDLE/out"; false; }
	[ "$(status_of "$ID")" = created ]
	pid=$(ferry state "$ID" | jq -r .pid)
	[ "$pid" -gt 0 ]
	# the user process has not run yet: the init is still ferry's
	! grep -q sleep /proc/$pid/cmdline
	ferry start "$ID"
	[ "$(status_of "$ID")" = running ]
	wait_for grep -q sleep /proc/$pid/cmdline
	ferry kill "$ID" KILL
	wait_for is_status "$ID" stopped
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "state prints runc's fields" {
	make_bundle
	ferry create -b "$BUNDLE" "$ID"
	run ferry state "$ID"
	[ "$status" -eq 0 ]
	for k in ociVersion id pid status bundle rootfs created owner; do
		echo "$output" | jq -e "has(\"$k\")"
	done
	[ "$(echo "$output" | jq -r .bundle)" = "$(readlink -f "$BUNDLE")" ]
	[ "$(echo "$output" | jq -r .id)" = "$ID" ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "run -d returns at once and the container runs in its own pid namespace" {
	make_bundle
	run timeout 10 "$FERRY" --root "$FERRY_ROOT" run -d -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$(status_of "$ID")" = running ]
	run ferry exec "$ID" sh -c 'echo $$'
	[ "$status" -eq 0 ]
	[ "$output" -gt 1 ]
	run ferry exec "$ID" cat /proc/1/cmdline
	[[ "$output" == sleep* ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "run in the foreground passes stdio and the exit code" {
	ARGS='["sh","-c","echo out; echo err >&2; exit 7"]' make_bundle
	run ferry run -b "$BUNDLE" "$ID"
	[ "$status" -eq 7 ]
	[[ "$output" == *out* ]]
	[[ "$output" == *err* ]]
	# run deletes the container after it exits
	assert_no_leftovers "$ID"
}

@test "run --keep keeps a stopped container for state and delete" {
	ARGS='["true"]' make_bundle
	ferry run --keep -b "$BUNDLE" "$ID"
	[ "$(status_of "$ID")" = stopped ]
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "list shows containers in table, json and quiet formats" {
	make_bundle
	ferry create -b "$BUNDLE" "$ID"
	run ferry list
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == ID* ]]
	[[ "$output" == *"$ID"*created* ]]
	run ferry list -f json
	[ "$(echo "$output" | jq -r '.[0].id')" = "$ID" ]
	[ "$(echo "$output" | jq -r '.[0].status')" = created ]
	run ferry list -q
	[ "$output" = "$ID" ]
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "kill accepts names and numbers, and refuses unknown signals" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	run ferry kill "$ID" NOSUCHSIG
	[ "$status" -ne 0 ]
	[[ "$output" == *'unknown signal "NOSUCHSIG"'* ]]
	[ "$(status_of "$ID")" = running ]
	ferry kill "$ID" 9
	wait_for is_status "$ID" stopped
	run ferry kill "$ID" TERM
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "kill --all signals every process of a container without a pid namespace" {
	ARGS='["sh","-c","sleep 1001 & sleep 1002 & wait"]' make_bundle \
		'.linux.namespaces |= map(select(.type != "pid"))'
	ferry run -d -b "$BUNDLE" "$ID"
	wait_for pgrep -f "sleep 1002"
	ferry kill --all "$ID" KILL
	wait_for sh -c '! pgrep -f "sleep 100[12]"'
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "delete refuses a running container without --force" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	run ferry delete "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is running"* ]]
	[ "$(status_of "$ID")" = running ]
	ferry delete --force "$ID"
	assert_no_leftovers "$ID"
}

@test "pause and resume freeze the container" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	ferry pause "$ID"
	[ "$(status_of "$ID")" = paused ]
	run ferry pause "$ID"
	[ "$status" -ne 0 ]
	ferry resume "$ID"
	[ "$(status_of "$ID")" = running ]
	run ferry resume "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not paused"* ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "ps lists the container's processes" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	pid=$(ferry state "$ID" | jq -r .pid)
	run ferry ps -f json "$ID"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e --argjson p "$pid" 'index($p) != null'
	run ferry ps "$ID"
	[[ "${lines[0]}" == *PID* ]]
	[[ "$output" == *"sleep 1000"* ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "a deleted container's pid being reused does not make it running" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	pid=$(ferry state "$ID" | jq -r .pid)
	# a state file that lies about the start time, as after pid reuse
	jq '.init_start_time = 1' "$FERRY_ROOT/$ID/state.json" >"$BATS_TEST_TMPDIR/s" && cp "$BATS_TEST_TMPDIR/s" "$FERRY_ROOT/$ID/state.json"
	[ "$(status_of "$ID")" = stopped ]
	kill -9 "$pid"
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}
