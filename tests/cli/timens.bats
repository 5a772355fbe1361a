#!/usr/bin/env bats
# Time namespaces: .linux.namespaces "time" with .linux.timeOffsets.

load helpers

setup() { common_setup; }
teardown() {
	ferry delete -f "$ID" >/dev/null 2>&1 || true
	ferry delete -f "$ID-2" >/dev/null 2>&1 || true
	local rc=0
	assert_no_leftovers "$ID" || rc=$?
	common_teardown
	return $rc
}

uptime_s() { cut -d. -f1 <<<"$1"; }

@test "a new time namespace with offsets: the container's clocks are moved, exec sees the same" {
	ARGS='["sleep", "1000"]' make_bundle '.linux.namespaces += [{"type": "time"}] | .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0}, "monotonic": {"secs": 86400, "nanosecs": 0}}'
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	host=$(uptime_s "$(cat /proc/uptime)")
	inside=$(uptime_s "$(ferry exec "$ID" cat /proc/uptime)")
	echo "host $host inside $inside"
	[ "$inside" -ge $((host + 864000 - 5)) ]
	[ "$inside" -le $((host + 864000 + 5)) ]
	# the init itself is in it (not only processes that exec joins)
	pid=$(ferry state "$ID" | jq -r .pid)
	[ "$(readlink "/proc/$pid/ns/time")" != "$(readlink /proc/self/ns/time)" ]
	grep -q "monotonic *86400" "/proc/$pid/timens_offsets"
	# ferry itself is back in the host's time namespace afterwards
	[ "$(uptime_s "$(cat /proc/uptime)")" -lt $((host + 100)) ]
}

@test "joining another container's time namespace by path" {
	ARGS='["sleep", "1000"]' make_bundle '.linux.namespaces += [{"type": "time"}] | .linux.timeOffsets = {"boottime": {"secs": 3600, "nanosecs": 0}}'
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	pid=$(ferry state "$ID" | jq -r .pid)
	cp "$BUNDLE/config.json" "$BUNDLE/one.json"
	jq --arg p "/proc/$pid/ns/time" '.linux.namespaces |= map(if .type == "time" then .path = $p else . end) | del(.linux.timeOffsets)' \
		"$BUNDLE/one.json" >"$BUNDLE/config.json"
	ferry run -d -b "$BUNDLE" "$ID-2" </dev/null >/dev/null 2>&1
	pid2=$(ferry state "$ID-2" | jq -r .pid)
	[ "$(readlink "/proc/$pid/ns/time")" = "$(readlink "/proc/$pid2/ns/time")" ]
	ferry delete -f "$ID-2"
}

@test "time offsets without a time namespace are refused, naming the field" {
	make_bundle '.linux.timeOffsets = {"monotonic": {"secs": 5, "nanosecs": 0}}'
	run ferry run -d -b "$BUNDLE" "$ID"
	[ "$status" -ne 0 ]
	[[ $output == *".linux.timeOffsets"*"time namespace"* ]]
}
