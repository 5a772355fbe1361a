#!/usr/bin/env bats
# Images cross between runc and ferry, both driving the same CRIU: a
# counter checkpointed by one runtime continues when the other restores it
# (different state roots, same bundle).

load helpers

setup() {
	command -v runc >/dev/null || skip "runc is not installed"
	common_setup
	IMG=$(mktemp -d /var/tmp/ferry-img.XXXXXX)
	RUNC_ROOT=$(mktemp -d /run/ferry-test-runc.XXXXXX)
	CRIU=${FERRY_CRIU:-/opt/ferry/criu/usr/sbin/criu}
	ID2="${ID}-r"
}

teardown() {
	local id
	[ -z "${HOLDERS:-}" ] || kill $HOLDERS 2>/dev/null || true
	for id in $(runc --root "$RUNC_ROOT" list -q 2>/dev/null); do
		runc --root "$RUNC_ROOT" delete -f "$id" >/dev/null 2>&1 || true
	done
	common_teardown
	rm -rf "$IMG" "$RUNC_ROOT"
}

xrunc() {
	runc --root "$RUNC_ROOT" --criu "$CRIU" "$@"
}

counter_bundle() {
	ARGS='["sh","-c","i=0; while :; do i=$((i+1)); echo $i > /tmp/c; sleep 0.1; done"]' make_bundle '
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","nodev"]}]'
}

# pipe_stdin: fd 8 is the read end of a pipe whose writer (a sleep) lives
# until teardown; nothing of it holds bats' own output open.
pipe_stdin() {
	exec 8< <(exec sleep 600 </dev/null >&- 2>/dev/null 3>&-)
	HOLDERS="${HOLDERS:-} $!"
}
# a sink for stdout/stderr that ends when the last writer is gone
sink() { exec cat >/dev/null 2>&1 3>&-; }

runc_counter() { xrunc exec "$1" cat /tmp/c; }
runc_counter_above() { [ "$(runc_counter "$1")" -gt "$2" ]; }
ferry_counter() { ferry exec "$1" cat /tmp/c; }
ferry_counter_above() { [ "$(ferry_counter "$1")" -gt "$2" ]; }

@test "runc checkpoint -> ferry restore: the counter continues" {
	counter_bundle
	# like runc's own tests: stdio are pipes, which the image records in
	# descriptors.json and the restoring runtime replaces with its own
	pipe_stdin
	xrunc run -d -b "$BUNDLE" "$ID" <&8 > >(sink) 2>&1 3>&-
	wait_for runc_counter_above "$ID" 5
	before=$(runc_counter "$ID")
	xrunc checkpoint --image-path "$IMG/cp" "$ID"
	[ -s "$IMG/cp/descriptors.json" ]
	grep -q '"pipe:' "$IMG/cp/descriptors.json"
	run xrunc state "$ID"
	[ "$status" -ne 0 ]
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	is_status "$ID2" running
	# not a fresh start: the value is at least the checkpointed one
	[ "$(ferry_counter "$ID2")" -ge "$before" ]
	wait_for ferry_counter_above "$ID2" $((before + 5))
	pid=$(ferry state "$ID2" | jq -r .pid)
	grep -q "/ferry/$ID2\$" "/proc/$pid/cgroup"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "ferry checkpoint -> runc restore: the counter continues" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for ferry_counter_above "$ID" 5
	before=$(ferry_counter "$ID")
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	assert_no_leftovers "$ID"
	xrunc restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1 3>&-
	[ "$(xrunc state "$ID2" | jq -r .status)" = running ]
	[ "$(runc_counter "$ID2")" -ge "$before" ]
	wait_for runc_counter_above "$ID2" $((before + 5))
	xrunc delete -f "$ID2"
}

@test "ferry checkpoint -> runc restore -> runc checkpoint -> ferry restore, with pipes as stdio" {
	counter_bundle
	pipe_stdin
	ferry run -b "$BUNDLE" "$ID" <&8 > >(sink) 2>&1 3>&- &
	wait_for ferry_counter_above "$ID" 3
	ferry checkpoint --image-path "$IMG/cp1" "$ID"
	grep -q '"pipe:' "$IMG/cp1/descriptors.json"
	pipe_stdin
	xrunc restore -d -b "$BUNDLE" --image-path "$IMG/cp1" "$ID2" <&8 > >(sink) 2>&1 3>&-
	wait_for runc_counter_above "$ID2" 6
	before=$(runc_counter "$ID2")
	xrunc checkpoint --image-path "$IMG/cp2" "$ID2"
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp2" "$ID-3" </dev/null >/dev/null 2>&1
	[ "$(ferry_counter "$ID-3")" -ge "$before" ]
	wait_for ferry_counter_above "$ID-3" $((before + 3))
	ferry delete -f "$ID-3"
	assert_no_leftovers "$ID-3"
}

@test "terminal containers cross too: runc -> ferry -> runc, each restore with its own console socket" {
	recv=$BATS_TEST_DIRNAME/../../build/tests/helpers/recvtty
	ARGS='["sh","-c","i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done"]' make_bundle '.process.terminal = true'
	for n in 1 2 3; do
		"$recv" "$IMG/tty$n.sock" >"$IMG/tty$n.out" 3>&- &
		HOLDERS="${HOLDERS:-} $!"
		wait_for grep -q listening "$IMG/tty$n.out"
	done
	xrunc run -d --console-socket "$IMG/tty1.sock" -b "$BUNDLE" "$ID" 3>&-
	wait_for grep -q tick-3 "$IMG/tty1.out"
	xrunc checkpoint --image-path "$IMG/cp1" "$ID"
	ferry restore -d --console-socket "$IMG/tty2.sock" -b "$BUNDLE" --image-path "$IMG/cp1" "$ID2"
	last=$(grep -o 'tick-[0-9]*' "$IMG/tty1.out" | tail -1 | cut -d- -f2)
	wait_for grep -q "tick-$((last + 3))" "$IMG/tty2.out"
	ferry checkpoint --image-path "$IMG/cp2" "$ID2"
	assert_no_leftovers "$ID2"
	xrunc restore -d --console-socket "$IMG/tty3.sock" -b "$BUNDLE" --image-path "$IMG/cp2" "$ID-3" </dev/null 3>&-
	last=$(grep -o 'tick-[0-9]*' "$IMG/tty2.out" | tail -1 | cut -d- -f2)
	wait_for grep -q "tick-$((last + 3))" "$IMG/tty3.out"
	xrunc delete -f "$ID-3"
}
