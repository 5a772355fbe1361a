#!/usr/bin/env bats
# Podman (Debian's, with conmon) using ferry as its OCI runtime: what a
# Podman user types, checked both from Podman's side and in ferry's own
# state root, so a pass cannot come from another runtime.

load helpers
load clients

IMAGE=localhost/ferry-busybox:test

setup_file() {
	require_engine podman conmon
	pm_store_setup "$(mktemp -d /var/tmp/ferry-podman.XXXXXX)"
	pm_import_busybox "$IMAGE"
}

teardown_file() {
	pm_store_teardown
}

setup() {
	export PATH="$(dirname "$FERRY_CRIU_BIN"):$PATH"
}

teardown() {
	local ids left
	ids=$(pm ps -aq --no-trunc)
	pm rm -af -t 0 >/dev/null 2>&1 || true
	# Podman deletes through ferry: nothing of any container may stay.
	# shellcheck disable=SC2086 # one id a word
	ferry_forgot $ids
	# ferry removed the containers' cgroups (Podman's conmon cgroup stays)
	left=$(find /sys/fs/cgroup/*"$PM_CGROUP_PARENT" -name 'libpod-*' 2>/dev/null)
	[ -z "$left" ] || { echo "leftover cgroups: $left" >&2; return 1; }
}

pm_run() {
	pm run --cgroup-parent "$PM_CGROUP_PARENT" --network none "$@"
}

ferry_status() {
	"$FERRY" --root "$FERRY_ROOT" state "$1" | jq -r .status
}

full_id() {
	pm inspect --format '{{.Id}}' "$1"
}

# A counter that writes its value to /tmp/c (in the container's own
# rootfs) and to its stdout (Podman's log).
COUNTER='i=0; while :; do i=$((i+1)); echo $i >/tmp/c; echo "n $i"; sleep 0.1; done'

# pm_status_is NAME STATUS: Podman's view, read afresh on every call (for wait_for)
pm_status_is() {
	[ "$(pm inspect --format '{{.State.Status}}' "$1")" = "$2" ]
}

counter_of() {
	pm exec "$1" cat /tmp/c
}

# logs_above NAME N: the counter's last line in Podman's log is above N
logs_above() {
	local n
	n=$(pm logs "$1" | grep -o 'n [0-9]*' | tail -1 | cut -d' ' -f2)
	[ -n "$n" ] && [ "$n" -gt "$2" ]
}

counter_above() {
	[ "$(counter_of "$1")" -gt "$2" ]
}

@test "podman run in the foreground prints the output and passes the exit code" {
	run pm_run --rm --cidfile "$PM_DIR/cid" "$IMAGE" sh -c 'echo out-$((6*7)); echo err >&2; exit 7'
	[ "$status" -eq 7 ]
	[[ "$output" == *out-42* ]]
	[[ "$output" == *err* ]]
	# --rm: Podman's cleanup deleted it in ferry too
	ferry_forgot "$(cat "$PM_DIR/cid")"
	rm -f "$PM_DIR/cid"
	# a terminal goes through ferry's --console-socket
	run pm_run --rm -t "$IMAGE" tty
	[ "$status" -eq 0 ]
	[[ "$output" == /dev/pts/* ]]
}

@test "podman run --device and --privileged (fileMode with the type bits)" {
	[ -c /dev/fuse ] || skip "this host has no /dev/fuse"
	# Podman copies the host device's st_mode, S_IFCHR included
	run pm_run --rm --device /dev/fuse "$IMAGE" stat -c '%F %a %t:%T' /dev/fuse
	[ "$status" -eq 0 ]
	[ "$output" = "character special file 600 a:e5" ]
	run pm_run --rm --privileged "$IMAGE" test -c /dev/fuse
	[ "$status" -eq 0 ]
}

@test "podman run --uidmap: a user namespace, with the cgroup hierarchies bound" {
	run pm_run --rm --uidmap 0:100000:65536 --gidmap 0:100000:65536 "$IMAGE" \
		sh -c 'cat /proc/self/uid_map; test -n "$(ls /sys/fs/cgroup)" && echo cg-ok'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *100000*65536* ]]
	[ "${lines[1]}" = cg-ok ]
}

@test "podman run --init, and a pod whose containers join the infra's namespaces" {
	run pm_run --rm --init "$IMAGE" sh -c 'tr "\0" " " </proc/1/cmdline'
	[ "$status" -eq 0 ]
	[[ "$output" == "/run/podman-init -- sh"* ]]
	# a pod: ferry joins the infra container's namespaces by path
	pm pod create --name pod1 --network none --cgroup-parent "$PM_CGROUP_PARENT"
	pm run -d --pod pod1 --name member1 "$IMAGE" sleep 1000
	infra=$(pm pod inspect --format '{{.InfraContainerID}}' pod1)
	[ "$(ferry_status "$infra")" = running ]
	[ "$(ferry_status "$(full_id member1)")" = running ]
	nsof='for n in ipc uts net; do readlink /proc/self/ns/$n; done; hostname'
	ns1=$(pm exec member1 sh -c "$nsof")
	run pm run --rm --pod pod1 "$IMAGE" sh -c "$nsof"
	[ "$status" -eq 0 ]
	[ "$output" = "$ns1" ]
	[ "${lines[3]}" = pod1 ]
	pm pod rm -f -t 0 pod1
	ferry_forgot "$infra"
}

@test "podman run -d, exec, logs, stop and rm" {
	pm_run -d --name web "$IMAGE" sh -c 'trap "echo bye; exit 0" TERM; echo hello; while :; do sleep 0.1; done'
	id=$(full_id web)
	# the container is ferry's: its state root knows it
	[ "$(ferry_status "$id")" = running ]
	[ "$(pm inspect --format '{{.State.Status}}' web)" = running ]
	# exec: output, stdin and exit code go through conmon's pipes
	run pm exec web sh -c 'echo in-$$; cat /proc/1/cmdline | tr "\0" " "'
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == in-* ]]
	[[ "${lines[1]}" == "sh -c trap"* ]]
	run pm exec web sh -c 'exit 3'
	[ "$status" -eq 3 ]
	[ "$(echo piped | pm exec -i web cat)" = piped ]
	run pm logs web
	[[ "$output" == *hello* ]]
	# stop sends SIGTERM through ferry kill; the trap answers it
	start=$SECONDS
	pm stop -t 10 web
	[ $((SECONDS - start)) -lt 5 ]
	[ "$(pm inspect --format '{{.State.Status}} {{.State.ExitCode}}' web)" = "exited 0" ]
	run pm logs web
	[[ "$output" == *bye* ]]
	pm rm web
	ferry_forgot "$id"
	run pm inspect web
	[ "$status" -ne 0 ]
}

@test "podman kill, pause and unpause" {
	pm_run -d --name k "$IMAGE" sleep 1000
	id=$(full_id k)
	pm pause k
	[ "$(ferry_status "$id")" = paused ]
	pm unpause k
	[ "$(ferry_status "$id")" = running ]
	pm kill k
	wait_for pm_status_is k exited
	[ "$(pm inspect --format '{{.State.ExitCode}}' k)" = 137 ]
	pm rm k
}

@test "podman container checkpoint and restore: the counter continues" {
	pm_run -d --name cnt "$IMAGE" sh -c "$COUNTER"
	id=$(full_id cnt)
	wait_for counter_above cnt 3
	pm container checkpoint cnt
	# Podman's checkpoint went through ferry and CRIU: the container is
	# gone from ferry's root and the image is in Podman's container dir
	ferry_forgot "$id"
	[ "$(pm inspect --format '{{.State.Status}}' cnt)" = exited ]
	dir=$(pm inspect --format '{{.StaticDir}}' cnt)
	[ -s "$dir/checkpoint/inventory.img" ]
	[ -s "$dir/checkpoint/descriptors.json" ]
	pm container restore cnt
	[ "$(ferry_status "$id")" = running ]
	# ferry restored it from the image Podman's checkpoint wrote
	[ "$(jq -r .restored_from "$FERRY_ROOT/$id/state.json")" = "$(readlink -f "$dir/checkpoint")" ]
	v=$(counter_of cnt)
	[ "$v" -gt 3 ]
	wait_for counter_above cnt "$v"
	pm rm -f -t 0 cnt
}

@test "podman checkpoint and restore of a container with a terminal (run -t)" {
	pm_run -dt --name tty "$IMAGE" sh -c "$COUNTER"
	wait_for counter_above tty 3
	pm container checkpoint tty
	v=$(pm logs tty | grep -o 'n [0-9]*' | tail -1 | cut -d' ' -f2)
	# ferry restore --console-socket: conmon gets the new pty's master
	pm container restore tty
	[ "$(pm exec tty readlink /proc/1/fd/1)" = /dev/pts/0 ]
	wait_for logs_above tty "$v"
	pm rm -f -t 0 tty
}

@test "podman checkpoint --leave-running --print-stats, restore --print-stats" {
	pm_run -d --name lr "$IMAGE" sh -c "$COUNTER"
	wait_for counter_above lr 2
	run pm container checkpoint --leave-running --print-stats --tcp-established --file-locks --keep lr
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.container_statistics[0].criu_statistics.pages_written > 0'
	[ "$(pm inspect --format '{{.State.Status}}' lr)" = running ]
	v=$(counter_of lr)
	wait_for counter_above lr "$v"
	pm stop -t 0 lr
	run pm container restore --print-stats --tcp-established --file-locks lr
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.container_statistics[0].criu_statistics.pages_restored > 0'
	wait_for counter_above lr "$v"
	pm rm -f -t 0 lr
}

@test "podman checkpoint --export and restore --import, also under a new name" {
	pm_run -d --name ex "$IMAGE" sh -c "$COUNTER"
	wait_for counter_above ex 3
	id=$(full_id ex)
	pm container checkpoint --export "$PM_DIR/ex.tar.gz" --compress gzip ex
	[ -s "$PM_DIR/ex.tar.gz" ]
	tar -tzf "$PM_DIR/ex.tar.gz" | grep -q checkpoint/inventory.img
	v=$(pm logs ex | tail -1 | cut -d' ' -f2)
	pm rm ex
	ferry_forgot "$id"
	# a fresh container from the archive: its rootfs never ran the workload
	pm container restore --import "$PM_DIR/ex.tar.gz"
	[ "$(ferry_status "$(full_id ex)")" = running ]
	wait_for counter_above ex "$v"
	# and a second copy beside it, under another name and id
	pm container restore --import "$PM_DIR/ex.tar.gz" --name ex2
	[ "$(full_id ex2)" != "$(full_id ex)" ]
	[ "$(ferry_status "$(full_id ex2)")" = running ]
	wait_for counter_above ex2 "$v"
	pm rm -f -t 0 ex ex2
}
