#!/usr/bin/env bats
# containerd (Debian's, with its runc v2 shim) using ferry as the
# runc-compatible binary, driven with ctr. The test starts its own
# containerd with a private config, root, state and socket, and stops it
# at the end. The image is made offline: the test rootfs imported into a
# private Podman store and saved as an OCI archive for `ctr image import`.

load helpers
load clients

IMAGE=localhost/ferry-busybox:test

setup_file() {
	require_engine containerd ctr containerd-shim-runc-v2 podman
	# containerd 1.6 puts shim sockets (and `ctr containers restore` its
	# fifos) under /run/containerd whatever the config says; remove what
	# it made there unless a containerd of the host's own had it first.
	CD_HOST_RUN=0
	[ ! -e /run/containerd ] || CD_HOST_RUN=1
	# the namespace is also the containers' cgroup parent (/NS/ID)
	NS=ferry-test-$$
	export CD_HOST_RUN NS
	CD_DIR=$(mktemp -d /var/tmp/ferry-containerd.XXXXXX)
	# sockets want a short path; the shim's state is runtime state
	CD_RUN=$(mktemp -d /run/ferry-containerd.XXXXXX)
	mkdir -p "$CD_DIR"/{root,opt} "$CD_RUN"/{state,runc,fifo}
	# No CRI (nothing here is Kubernetes); the opt plugin would otherwise
	# make /opt/containerd.
	cat >"$CD_DIR/config.toml" <<-EOF
		version = 2
		root = "$CD_DIR/root"
		state = "$CD_RUN/state"
		disabled_plugins = ["io.containerd.grpc.v1.cri"]
		[grpc]
		  address = "$CD_RUN/containerd.sock"
		[ttrpc]
		  address = "$CD_RUN/containerd.sock.ttrpc"
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$CD_DIR/opt"
	EOF
	# 3>&-: bats waits for every holder of its fd 3 to go
	containerd --config "$CD_DIR/config.toml" </dev/null >"$CD_DIR/containerd.log" 2>&1 3>&- &
	echo $! >"$CD_DIR/containerd.pid"
	export CD_DIR CD_RUN
	wait_for cd_ctr version >/dev/null

	# The image, made offline with a throwaway Podman store.
	pm_store_setup "$CD_DIR/podman"
	pm_import_busybox "$IMAGE"
	pm save --format oci-archive -o "$CD_DIR/image.tar" "$IMAGE" >/dev/null 2>&1
	pm_store_teardown
	cd_ctr image import "$CD_DIR/image.tar" >/dev/null
}

teardown_file() {
	local id pid
	[ -n "${CD_DIR:-}" ] || return 0
	# Tasks first: their shims exit with them, then containerd itself.
	for id in $(cd_ctr task ls -q 2>/dev/null); do
		cd_ctr task kill -s KILL "$id" >/dev/null 2>&1 || true
		cd_ctr task delete -f "$id" >/dev/null 2>&1 || true
	done
	for id in $(cd_ctr container ls -q 2>/dev/null); do
		cd_ctr container rm "$id" >/dev/null 2>&1 || true
	done
	pid=$(cat "$CD_DIR/containerd.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		# gone, or a zombie waiting for whoever inherited it
		wait_for sh -c "! kill -0 $pid 2>/dev/null || grep -q '^State:.*Z' /proc/$pid/status" ||
			kill -KILL "$pid" 2>/dev/null || true
	fi
	remove_cgroup_tree "/$NS"
	unmount_under "$CD_RUN"
	unmount_under "$CD_DIR"
	rm -rf "$CD_DIR" "$CD_RUN"
	if [ "$CD_HOST_RUN" = 0 ] && [ -d /run/containerd ]; then
		find /run/containerd -depth -type d -empty -delete 2>/dev/null || true
	fi
}

setup() {
	# The shim keeps ferry's state under --runc-root/<namespace>.
	FERRY_ROOT=$CD_RUN/runc/$NS
}

teardown() {
	local left id
	# every container the test made is gone, and with it ferry's state
	left=$(cd_ctr container ls -q)
	for id in $left; do
		cd_remove "$id" >/dev/null 2>&1 || true
	done
	[ -z "$left" ] || { echo "containers left: $left" >&2; return 1; }
	left=$(ls "$FERRY_ROOT" 2>/dev/null)
	[ -z "$left" ] || { echo "left in ferry's root: $left" >&2; return 1; }
	left=$(find /sys/fs/cgroup/*/"$NS" -mindepth 1 -type d 2>/dev/null)
	[ -z "$left" ] || { echo "leftover cgroups: $left" >&2; return 1; }
}

cd_ctr() {
	ctr --address "$CD_RUN/containerd.sock" --namespace "$NS" "$@"
}

# ctr run with ferry as the shim's runc binary
cd_run() {
	cd_ctr run --runc-binary "$FERRY" --runc-root "$CD_RUN/runc" --fifo-dir "$CD_RUN/fifo" "$@"
}

cd_exec() {
	cd_ctr task exec --fifo-dir "$CD_RUN/fifo" "$@"
}

ferry_status() {
	"$FERRY" --root "$FERRY_ROOT" state "$1" | jq -r .status
}

task_status() {
	cd_ctr task ls | awk -v id="$1" '$1 == id { print $3 }'
}

task_is() {
	[ "$(task_status "$1")" = "$2" ]
}

# removes the task (killed) and the container
cd_remove() {
	cd_ctr task kill -s KILL "$1" >/dev/null 2>&1 || true
	wait_for task_is "$1" STOPPED
	cd_ctr task delete "$1" >/dev/null
	cd_ctr container rm "$1"
}

COUNTER='i=0; while :; do i=$((i+1)); echo $i >/tmp/c; sleep 0.1; done'

counter_of() {
	cd_exec --exec-id "read-$RANDOM" "$1" cat /tmp/c
}

counter_above() {
	[ "$(counter_of "$1")" -gt "$2" ]
}

@test "ctr image import, then ctr run --rm with ferry: output and exit code" {
	run cd_ctr image ls -q
	[[ "$output" == *"$IMAGE"* ]]
	run cd_run --rm "$IMAGE" c1 sh -c 'echo hello-$((6*7)); echo err >&2'
	[ "$status" -eq 0 ]
	[[ "$output" == *hello-42* ]]
	[[ "$output" == *err* ]]
	run cd_run --rm "$IMAGE" c1 sh -c 'exit 5'
	[ "$status" -eq 5 ]
}

@test "ctr run -t: the shim gets the terminal through --console-socket" {
	# ctr wants a terminal of its own for -t: script(1) gives it one
	run timeout 30 script -qec "ctr --address $CD_RUN/containerd.sock --namespace $NS run \
		--runc-binary $FERRY --runc-root $CD_RUN/runc --fifo-dir $CD_RUN/fifo -t --rm $IMAGE t1 \
		sh -c 'tty; echo hi-\$((6*7))'" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == */dev/pts/* ]]
	[[ "$output" == *hi-42* ]]
}

@test "ctr shows ferry's reason when create fails (the shim reads --log log.json)" {
	run cd_run --rm "$IMAGE" c5 /no/such/program
	[ "$status" -ne 0 ]
	[[ "$output" == *"/no/such/program"* ]]
	# nothing is left of the failed task
	cd_ctr container rm c5 2>/dev/null || true
	[ ! -e "$FERRY_ROOT/c5" ]
}

@test "ctr run -d, task exec, task ps, task kill and delete" {
	cd_run -d "$IMAGE" c2 sh -c 'trap "exit 0" TERM; echo $$ >/tmp/pid; while :; do sleep 0.1; done'
	# the shim really runs ferry: the container is in ferry's state root
	[ "$(ferry_status c2)" = running ]
	[ "$(task_status c2)" = RUNNING ]
	run cd_exec --exec-id e1 c2 sh -c 'echo exec-out; cat /proc/1/cmdline | tr "\0" " "; exit 3'
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = exec-out ]
	[[ "${lines[1]}" == "sh -c trap"* ]]
	[ "$(echo piped | cd_exec --exec-id e2 c2 cat)" = piped ]
	run cd_ctr task ps c2
	[ "$status" -eq 0 ]
	pid=$("$FERRY" --root "$FERRY_ROOT" state c2 | jq -r .pid)
	[[ "$output" == *"$pid"* ]]
	# SIGTERM (ctr's default) through ferry kill; the trap exits 0
	cd_ctr task kill c2
	wait_for task_is c2 STOPPED
	run cd_ctr task delete c2
	[ "$status" -eq 0 ]
	[ "$(ferry_status c2 2>/dev/null || true)" = "" ]
	cd_ctr container rm c2
}

@test "ctr task checkpoint --image-path writes a CRIU image through ferry" {
	cd_run -d "$IMAGE" c3 sh -c "$COUNTER"
	wait_for counter_above c3 2
	cd_ctr task checkpoint --image-path "$CD_DIR/c3-img" --work-path "$CD_DIR/c3-work" c3
	[ -s "$CD_DIR/c3-img/inventory.img" ]
	[ -s "$CD_DIR/c3-img/descriptors.json" ]
	# without --exit the task keeps running (checkpoint --leave-running)
	[ "$(ferry_status c3)" = running ]
	v=$(counter_of c3)
	wait_for counter_above c3 "$v"
	cd_remove c3
}

@test "ctr containers checkpoint --task, then containers restore --live: the counter continues" {
	cd_run -d "$IMAGE" c4 sh -c "$COUNTER"
	wait_for counter_above c4 3
	cd_ctr containers checkpoint --rw --task c4 localhost/c4-checkpoint:1
	v=$(counter_of c4)
	cd_remove c4
	[ ! -e "$FERRY_ROOT/c4" ]
	# restore takes the runtime options (ferry as the runc binary and its
	# root) from the checkpoint; the shim runs ferry restore -d --no-subreaper
	cd_ctr containers restore --rw --live c4 localhost/c4-checkpoint:1 </dev/null
	wait_for task_is c4 RUNNING
	[ "$(ferry_status c4)" = running ]
	jq -e '.restored_from != null' "$FERRY_ROOT/c4/state.json"
	# the values from before the checkpoint came back, and it counts on
	[ "$(counter_of c4)" -gt 3 ]
	wait_for counter_above c4 "$v"
	cd_remove c4
	cd_ctr image rm localhost/c4-checkpoint:1 >/dev/null
}
