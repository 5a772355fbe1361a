#!/usr/bin/env bats
# update and events, as runc users type them.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

# The directory of controller $2 of container $1, v1 or v2 (whichever this
# host uses for it).
cg_dir() {
	local id=$1 ctl=$2
	if [ -d "/sys/fs/cgroup/$ctl/ferry/$id" ]; then
		echo "/sys/fs/cgroup/$ctl/ferry/$id"
	else
		echo "/sys/fs/cgroup/ferry/$id"
	fi
}

mem_limit_of() {
	local d
	d=$(cg_dir "$1" memory)
	if [ -e "$d/memory.limit_in_bytes" ]; then cat "$d/memory.limit_in_bytes"; else cat "$d/memory.max"; fi
}

cpu_quota_of() {
	local d
	d=$(cg_dir "$1" cpu)
	if [ -e "$d/cpu.cfs_quota_us" ]; then cat "$d/cpu.cfs_quota_us"; else cut -d' ' -f1 "$d/cpu.max"; fi
}

has_lines() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

start_limited() {
	make_bundle '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
	ferry run -d -b "$BUNDLE" "$ID"
	[ "$(mem_limit_of "$ID")" = 67108864 ]
}

@test "update --memory, --pids-limit and --cpu-quota change the cgroup files" {
	start_limited
	run ferry update --memory 128m --pids-limit 77 --cpu-period 100000 --cpu-quota 50000 "$ID"
	[ "$status" -eq 0 ]
	[ "$(mem_limit_of "$ID")" = 134217728 ]
	[ "$(cat "$(cg_dir "$ID" pids)/pids.max")" = 77 ]
	[ "$(cpu_quota_of "$ID")" = 50000 ]
	# the config copy records the limits in force, the untouched ones too
	[ "$(jq .linux.resources.memory.limit "$FERRY_ROOT/$ID/config.json")" = 134217728 ]
	[ "$(jq .linux.resources.pids.limit "$FERRY_ROOT/$ID/config.json")" = 77 ]
	# a second update builds on the first
	ferry update --pids-limit -1 "$ID"
	[ "$(cat "$(cg_dir "$ID" pids)/pids.max")" = max ]
	[ "$(mem_limit_of "$ID")" = 134217728 ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "update -r reads runc's LinuxResources JSON from a file and from stdin" {
	start_limited
	echo '{"memory": {"limit": 100663296, "swap": null}, "pids": {"limit": 60}}' >"$BUNDLE/res.json"
	ferry update -r "$BUNDLE/res.json" "$ID"
	[ "$(mem_limit_of "$ID")" = 100663296 ]
	[ "$(cat "$(cg_dir "$ID" pids)/pids.max")" = 60 ]
	# a flag wins over the same field in the file
	echo '{"pids": {"limit": 61}}' | ferry update --resources - --pids-limit 62 "$ID"
	[ "$(cat "$(cg_dir "$ID" pids)/pids.max")" = 62 ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "update with a bad value fails, names the flag and changes nothing" {
	start_limited
	run ferry update --memory lots "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--memory"*lots* ]]
	run ferry update --pids-limit -7 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--pids-limit"* ]]
	run ferry update --blkio-weight 5000 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--blkio-weight"* ]]
	echo '{"memory": {"limit": "1g"}}' >"$BUNDLE/res.json"
	run ferry update -r "$BUNDLE/res.json" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *res.json*".memory.limit"* ]]
	# a value only the kernel refuses is named by its file
	run ferry update --cpu-quota 500 --cpu-period 100 "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"update $ID"*cpu* ]]
	[ "$(mem_limit_of "$ID")" = 67108864 ]
	[ "$(jq .linux.resources.memory.limit "$FERRY_ROOT/$ID/config.json")" = 67108864 ]
	run ferry update "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"nothing to update"* ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "update --memory past the memory+swap limit asks for --memory-swap" {
	make_bundle '.linux.resources.memory = {"limit": 16777216, "swap": 33554432}'
	ferry run -d -b "$BUNDLE" "$ID"
	run ferry update --memory 64m "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--memory-swap"* ]]
	[ "$(mem_limit_of "$ID")" = 16777216 ]
	ferry update --memory 64m --memory-swap 128m "$ID"
	[ "$(mem_limit_of "$ID")" = 67108864 ]
	# lowering needs no swap change
	ferry update --memory 8m "$ID"
	[ "$(mem_limit_of "$ID")" = 8388608 ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "update refuses unknown and stopped containers" {
	run ferry update --memory 1m nosuch-$ID
	[ "$status" -ne 0 ]
	[[ "$output" == *"nosuch-$ID"*"does not exist"* ]]
	ARGS='["true"]' make_bundle
	ferry run --keep -b "$BUNDLE" "$ID"
	run ferry update --memory 64m "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$ID"*stopped* ]]
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "events --stats prints one stats object with memory in use" {
	start_limited
	run ferry events --stats "$ID"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	echo "$output" | jq -e '.type == "stats"'
	echo "$output" | jq -e --arg id "$ID" '.id == $id'
	echo "$output" | jq -e '.data.memory.usage.usage > 0'
	echo "$output" | jq -e '.data.memory.usage.limit == 67108864'
	echo "$output" | jq -e '.data.pids.current >= 1 and .data.pids.limit == 50'
	echo "$output" | jq -e '.data.cpu.usage.total >= 0'
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "events streams stats every interval and ends when the container stops" {
	start_limited
	"$FERRY" --root "$FERRY_ROOT" events --interval 200ms "$ID" >"$BUNDLE/events" 2>&1 &
	pid=$!
	wait_for has_lines "$BUNDLE/events" 3
	ferry kill "$ID" KILL
	# the stream ends by itself, with status 0
	for i in $(seq 1 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	! kill -0 $pid 2>/dev/null
	wait $pid
	while read -r line; do
		echo "$line" | jq -e --arg id "$ID" '.type == "stats" and .id == $id'
	done <"$BUNDLE/events"
	run ferry events --stats "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not running"* ]]
	run ferry events --interval soon "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--interval"* ]]
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "events reports an oom event when the OOM killer strikes in the container" {
	# memory+swap equal to memory: the hog cannot swap, it is killed
	make_bundle '.linux.resources.memory = {"limit": 16777216, "swap": 16777216}'
	ferry run -d -b "$BUNDLE" "$ID"
	"$FERRY" --root "$FERRY_ROOT" events --interval 100ms "$ID" >"$BUNDLE/events" 2>&1 &
	pid=$!
	wait_for has_lines "$BUNDLE/events" 1
	run ferry exec "$ID" sh -c 'head -c 100000000 /dev/zero | tr "\0" a | sort >/dev/null'
	[ "$status" -ne 0 ]
	wait_for grep -q '"type":"oom"' "$BUNDLE/events"
	# (the stream is still being written: read whole lines only)
	grep '"type":"oom"' "$BUNDLE/events" | head -1 | jq -e --arg id "$ID" '.id == $id'
	ferry delete -f "$ID"
	wait $pid
	assert_no_leftovers "$ID"
}
