#!/usr/bin/env bats
# What the container sees: mounts, identity, limits, hooks, stdio.

load helpers

setup() { common_setup; }
teardown() { common_teardown; }

@test "the seed article's httpd container answers curl with the host's name" {
	mkdir -p "$BUNDLE/www"
	echo "host-$ID" >"$BUNDLE/www/index.html"
	port=$((20000 + RANDOM % 20000))
	ARGS="[\"/usr/sbin/httpd\",\"-f\",\"-p\",\"127.0.0.1:$port\",\"-h\",\"/var/www/html\"]" make_bundle "
		.linux.namespaces |= map(select(.type != \"network\")) |
		.root.readonly = true |
		.mounts += [
		  {\"destination\": \"/tmp\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\",\"nodev\"]},
		  {\"destination\": \"/run\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\",\"nodev\"]},
		  {\"destination\": \"/var/log/httpd\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\",\"nodev\"]},
		  {\"destination\": \"/run/httpd\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [\"nosuid\",\"nodev\"]},
		  {\"destination\": \"/var/www/html\", \"type\": \"bind\", \"source\": \"$BUNDLE/www\", \"options\": [\"rbind\",\"rw\"]}
		]"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null
	run wait_for curl -sf "http://127.0.0.1:$port/"
	[ "$status" -eq 0 ]
	[ "$output" = "host-$ID" ]
	# read-only rootfs, writable tmpfs
	run ferry exec "$ID" touch /etc/x
	[ "$status" -ne 0 ]
	ferry exec "$ID" touch /tmp/x /var/log/httpd/x /run/httpd/x
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "detached run does not hold the caller's stdout pipe open" {
	make_bundle
	# If the container kept our pipe, this command substitution would hang.
	out=$(timeout 10 "$FERRY" --root "$FERRY_ROOT" run -d -b "$BUNDLE" "$ID"; echo rc=$?)
	[[ "$out" == *rc=0* ]]
	pid=$(ferry state "$ID" | jq -r .pid)
	l=$(readlink /proc/$pid/fd/1); [[ "$l" == */null ]]
	ferry delete -f "$ID"
}

@test "a network namespace of the container's own has lo up (127.0.0.1 and ::1), as with runc and crun" {
	ARGS='["sh","-c","ip -br addr show lo; exec sleep 1000"]' make_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >"$BUNDLE/out" 2>&1
	pid=$(ferry state "$ID" | jq -r .pid)
	run nsenter -t "$pid" -n ip -br addr show lo
	[[ "$output" == *UNKNOWN*127.0.0.1/8*::1/128* ]]
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	# a server on 127.0.0.1 inside is reachable inside
	run ferry exec "$ID" sh -c 'nc -l -p 5599 -e echo hi & sleep 0.3; nc 127.0.0.1 5599 </dev/null'
	[ "$output" = hi ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "ferry check says who keeps CRIU's kernel probes: CRIU on a tmpfs /run, else ferry" {
	run "$FERRY" check
	line=$(grep "criu kdat cache" <<<"$output")
	[[ "$line" == ok* ]]
	if [ "$(stat -f -c %T /run)" = tmpfs ]; then
		[[ "$line" == *"CRIU caches its kernel probes in /run/criu.kdat"* ]]
	else
		[[ "$line" == *"ferry keeps CRIU's kernel probes in its state root"* ]]
	fi
}

@test "ferry check leaves no /run/criu.kdat.tmp behind (CRIU 4.2 does, where /run is not a tmpfs)" {
	# one left by an earlier CRIU run is put aside, and back after
	local aside=
	if [ -e /run/criu.kdat.tmp ]; then
		aside=$(mktemp /run/ferry-kdat-aside.XXXXXX)
		mv /run/criu.kdat.tmp "$aside"
	fi
	run "$FERRY" check
	local left=0
	[ -e /run/criu.kdat.tmp ] && left=1
	[ -z "$aside" ] || mv -f "$aside" /run/criu.kdat.tmp
	[ "$left" -eq 0 ]
}

@test "hostname, env, cwd, uid/gid and additional gids are applied" {
	ARGS='["sh","-c","hostname; echo $FOO; pwd; id -u; id -g; id -G"]' make_bundle '
		.hostname = "box1" | .process.env += ["FOO=bar"] | .process.cwd = "/tmp" |
		.process.user = {"uid": 65534, "gid": 65534, "additionalGids": [10, 20]}'
	run ferry run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = box1 ]
	[ "${lines[1]}" = bar ]
	[ "${lines[2]}" = /tmp ]
	[ "${lines[3]}" = 65534 ]
	[ "${lines[4]}" = 65534 ]
	[[ "${lines[5]}" == *10*20* ]]
}

@test "capabilities are limited to the configured sets" {
	ARGS='["sh","-c","grep -E \"^Cap(Eff|Bnd)\" /proc/self/status"]' make_bundle '
		.process.capabilities = {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]}'
	run ferry run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"CapEff:	0000000000000020"* ]]
	[[ "$output" == *"CapBnd:	0000000000000020"* ]]
}

@test "rlimits and noNewPrivileges are applied" {
	ARGS='["sh","-c","ulimit -n; grep NoNewPrivs /proc/self/status"]' make_bundle '
		.process.rlimits = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 512}] | .process.noNewPrivileges = true'
	run ferry run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 512 ]
	[[ "${lines[1]}" == *1 ]]
}

@test "masked and read-only paths" {
	ARGS='["sh","-c","cat /proc/keys | wc -c; echo 1 > /proc/sys/kernel/ns_last_pid && echo writable || echo readonly"]' make_bundle
	run ferry run -b "$BUNDLE" "$ID"
	[ "${lines[0]}" = 0 ]
	[[ "$output" == *readonly* ]]
}

@test "default devices exist and /dev/null works" {
	ARGS='["sh","-c","ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty && echo x > /dev/null && echo ok"]' make_bundle
	run ferry run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *ok* ]]
}

@test "no file descriptor of ferry leaks into the container" {
	ARGS='["sh","-c","ls /proc/self/fd | wc -l"]' make_bundle
	# fds 0,1,2 and the one ls opens for the directory
	exec 7</dev/null
	run ferry run -b "$BUNDLE" "$ID"
	exec 7<&-
	[ "$status" -eq 0 ]
	[ "$output" -le 4 ]
}

@test "sysctl is applied in the container's namespaces" {
	ARGS='["cat","/proc/sys/net/ipv4/ip_forward"]' make_bundle '.linux.sysctl = {"net.ipv4.ip_forward": "1"}'
	run ferry run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = 1 ]
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ] || skip "host already forwards"
}

@test "memory and pids limits land in the container's cgroup" {
	make_bundle '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 32}}'
	ferry run -d -b "$BUNDLE" "$ID"
	if [ -d /sys/fs/cgroup/memory ]; then
		[ "$(cat /sys/fs/cgroup/memory/ferry/$ID/memory.limit_in_bytes)" = 67108864 ]
		[ "$(cat /sys/fs/cgroup/pids/ferry/$ID/pids.max)" = 32 ]
	else
		[ "$(cat /sys/fs/cgroup/ferry/$ID/memory.max)" = 67108864 ]
		[ "$(cat /sys/fs/cgroup/ferry/$ID/pids.max)" = 32 ]
	fi
	pid=$(ferry state "$ID" | jq -r .pid)
	grep -q "ferry/$ID" /proc/$pid/cgroup
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "hooks run in order with the state on stdin" {
	log="$BUNDLE/hooks.log"
	cat >"$BUNDLE/hook.sh" <<-EOS
	#!/bin/sh
	state=\$(cat)
	echo "\$1 \$(echo "\$state" | jq -r .status) \$(echo "\$state" | jq -r .id)" >> $log
	EOS
	chmod +x "$BUNDLE/hook.sh"
	h() { echo "{\"path\": \"$BUNDLE/hook.sh\", \"args\": [\"hook.sh\", \"$1\"]}"; }
	make_bundle ".hooks = {
		\"prestart\": [$(h prestart)], \"createRuntime\": [$(h createRuntime)],
		\"poststart\": [$(h poststart)], \"poststop\": [$(h poststop)]}"
	ferry create -b "$BUNDLE" "$ID"
	ferry start "$ID"
	ferry delete -f "$ID"
	run cat "$log"
	[ "${lines[0]}" = "prestart creating $ID" ]
	[ "${lines[1]}" = "createRuntime creating $ID" ]
	[ "${lines[2]}" = "poststart running $ID" ]
	[ "${lines[3]}" = "poststop stopped $ID" ]
	assert_no_leftovers "$ID"
}

@test "exec: env, cwd, user, process.json and exit codes" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	run ferry exec -e A=1 --cwd /tmp -u 65534:65534 "$ID" sh -c 'echo $A $(pwd) $(id -u):$(id -g)'
	[ "$status" -eq 0 ]
	[ "$output" = "1 /tmp 65534:65534" ]
	run ferry exec "$ID" sh -c 'exit 5'
	[ "$status" -eq 5 ]
	cat >"$BUNDLE/p.json" <<-'EOS'
	{"args": ["sh", "-c", "echo from-json $B"], "env": ["B=2", "PATH=/bin:/usr/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}}
	EOS
	run ferry exec -p "$BUNDLE/p.json" "$ID"
	[ "$status" -eq 0 ]
	[ "$output" = "from-json 2" ]
	ferry exec -d --pid-file "$BUNDLE/exec.pid" "$ID" sleep 1001
	wait_for test -s "$BUNDLE/exec.pid"
	kill -0 "$(cat "$BUNDLE/exec.pid")"
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "exec --detach passes its stdio to the process (conmon, shims)" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	# conmon reads a detached exec's output from the pipe it passes
	out=$(timeout 10 "$FERRY" --root "$FERRY_ROOT" exec -d --pid-file "$BUNDLE/exec.pid" "$ID" \
		sh -c 'read x; echo "got $x"; echo err >&2' 2>&1 <<<"in"; echo rc=$?)
	[[ "$out" == *"got in"* ]]
	[[ "$out" == *err* ]]
	[[ "$out" == *rc=0* ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "a user namespace without a cgroup namespace still gets /sys/fs/cgroup (podman --uidmap)" {
	# Only the owner of the cgroup namespace may mount a hierarchy; the
	# container's user namespace is not, so ferry binds the host's instead.
	ARGS='["sh","-c","cat /proc/self/uid_map; test -n \"$(ls /sys/fs/cgroup)\" && echo cg-ok"]' \
		make_bundle '.linux.namespaces += [{"type": "user"}] |
		.linux.namespaces |= map(select(.type != "cgroup")) |
		.linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
		.linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}] |
		.mounts |= map(select(.destination != "/sys/fs/cgroup")) |
		.mounts += [{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["ro","nosuid","noexec","nodev"]}]'
	run ferry run -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *100000*65536* ]]
	[ "${lines[1]}" = cg-ok ]
	assert_no_leftovers "$ID"
}

@test "without a cgroup namespace /sys/fs/cgroup shows the container's own cgroups, not the host's" {
	# What the init mounts follows the cgroups it is in, so it joins
	# them first (ferry_cgroup_join_self).
	# (v1 hierarchies only: the hybrid host's cgroup2 hierarchy is still
	# bound whole, see the revert of "find the cgroup2 line": a subtree
	# there becomes an external mount runc's restore cannot map)
	ARGS='["sh","-c","grep -E \" - cgroup \" /proc/self/mountinfo | cut -d\" \" -f4"]' \
		make_bundle '.linux.namespaces |= map(select(.type != "cgroup"))'
	run ferry run -b "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -gt 0 ]
	for root in "${lines[@]}"; do
		[[ "$root" == */"$ID" ]]
	done
	assert_no_leftovers "$ID"
}

@test "the container's processes join every hierarchy of its cgroup, init and exec alike" {
	make_bundle
	ferry run -d -b "$BUNDLE" "$ID"
	pid=$(ferry state "$ID" | jq -r .pid)
	ferry exec -d --pid-file "$BUNDLE/exec.pid" "$ID" sleep 1001
	wait_for test -s "$BUNDLE/exec.pid"
	for p in "$pid" "$(cat "$BUNDLE/exec.pid")"; do
		cat /proc/$p/cgroup
		[ "$(wc -l </proc/$p/cgroup)" -gt 0 ]
		# every line, v1 and cgroup2: N:controllers:/ferry/ID
		! grep -v ":/ferry/$ID\$" /proc/$p/cgroup
	done
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

# The super-block options of the cgroup2 mount at $1 ("rw,nsdelegate").
cgroup2_super_opts() {
	awk -v m="$1" '$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") { print $(i + 3); exit } }' \
		/proc/self/mountinfo
}

@test "a container without a cgroup namespace leaves the host's cgroup2 mount options alone (hybrid)" {
	# A new cgroup2 mount made from the host's cgroup namespace applies
	# its options to the whole hierarchy: the host's nsdelegate would be
	# gone.  ferry binds the host's mount of it instead.
	local u=/sys/fs/cgroup/unified before during after
	before=$(cgroup2_super_opts $u)
	[ -n "$before" ] || skip "not a hybrid host (no cgroup2 at $u)"
	ARGS='["sh","-c","ls /sys/fs/cgroup/unified/ferry >/dev/null && echo whole"]' \
		make_bundle '.linux.namespaces |= map(select(.type != "cgroup"))'
	mount -o remount,nsdelegate $u
	run ferry run -b "$BUNDLE" "$ID"
	during=$(cgroup2_super_opts $u)
	# Put the host back as it was before asserting anything: a new mount
	# applies exactly its options (a remount would keep nsdelegate).
	mkdir "$BUNDLE/m"
	unshare -m mount -t cgroup2 -o "$before" cgroup2 "$BUNDLE/m"
	after=$(cgroup2_super_opts $u)
	echo "$output; before: $before; during: $during; after: $after"
	[ "$after" = "$before" ]
	[ "$status" -eq 0 ]
	[ "$output" = whole ]
	[[ "$during" == *nsdelegate* ]]
	assert_no_leftovers "$ID"
}

@test "create --pid-file writes the init's pid" {
	make_bundle
	ferry create --pid-file "$BUNDLE/pid" -b "$BUNDLE" "$ID"
	[ "$(cat "$BUNDLE/pid")" = "$(ferry state "$ID" | jq -r .pid)" ]
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "features reports what ferry supports" {
	run ferry features
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.linux.namespaces | index("pid") != null'
	echo "$output" | jq -e '.hooks | index("createRuntime") != null'
	echo "$output" | jq -e '.linux.seccomp.enabled == true'
}

@test "spec writes a config that ferry runs, and will not overwrite one" {
	(cd "$BUNDLE" && ferry spec)
	jq -e '.ociVersion and .process.args and .linux.namespaces' "$BUNDLE/config.json"
	run sh -c "cd '$BUNDLE' && '$FERRY' spec"
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists"* ]]
}

@test "--log-format json writes runc-style log lines" {
	run "$FERRY" --root "$FERRY_ROOT" --log "$BUNDLE/log.json" --log-format json start nosuch
	[ "$status" -ne 0 ]
	jq -e '.level == "error" and (.msg | contains("nosuch")) and .time' "$BUNDLE/log.json"
}

@test "terminal: the pty master goes to --console-socket" {
	ARGS='["sh","-c","tty; echo hello-tty; sleep 1000"]' make_bundle '.process.terminal = true'
	recv=$BATS_TEST_DIRNAME/../../build/tests/helpers/recvtty
	"$recv" "$BUNDLE/tty.sock" >"$BUNDLE/tty.out" 3>&- &
	wait_for grep -q listening "$BUNDLE/tty.out"
	ferry run -d --console-socket "$BUNDLE/tty.sock" -b "$BUNDLE" "$ID"
	wait_for grep -q hello-tty "$BUNDLE/tty.out"
	grep -q "^/dev/pts/" "$BUNDLE/tty.out"
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "scheduler SCHED_DEADLINE with runtime/deadline/period is applied; bad values are named" {
	ARGS='["cat", "/proc/self/sched"]' make_bundle '.process.scheduler = {"policy": "SCHED_DEADLINE", "runtime": 1000000, "deadline": 10000000, "period": 10000000}'
	run ferry run -b "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -Eq "^policy +: +6$" <<<"$output"
	jq '.process.scheduler = {"policy": "SCHED_DEADLINE", "runtime": 20000000, "deadline": 10000000}' \
		"$BUNDLE/config.json" >"$BUNDLE/c" && mv "$BUNDLE/c" "$BUNDLE/config.json"
	run ferry run -b "$BUNDLE" "$ID-2"
	[ "$status" -ne 0 ]
	[[ $output == *"SCHED_DEADLINE needs 0 < runtime (20000000) <= deadline (10000000)"* ]]
	assert_no_leftovers "$ID-2"
}

@test "idmapped bind mount: files show through the mount's mapping; rro reaches submounts" {
	mkdir -p "$BUNDLE/src"
	echo hi >"$BUNDLE/src/f"
	chown 0:0 "$BUNDLE/src/f"
	# on-disk id = containerID of the mapping, seen as its hostID (kernel
	# and runc semantics: a container whose user namespace maps 0 to 1000
	# would see these files as its root's)
	ARGS='["stat", "-c", "%u:%g", "/m/f"]' make_bundle '.mounts += [{"destination": "/m", "type": "bind", "source": "'"$BUNDLE/src"'", "options": ["bind", "idmap"], "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}], "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]'
	run ferry run -b "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "1000:1000" ]
	# the same without the idmap: the ids on disk
	jq '.mounts[-1].options = ["bind"] | del(.mounts[-1].uidMappings, .mounts[-1].gidMappings)' "$BUNDLE/config.json" >"$BUNDLE/c" &&
		mv "$BUNDLE/c" "$BUNDLE/config.json"
	run ferry run -b "$BUNDLE" "$ID"
	[ "${lines[-1]}" = "0:0" ]
	# rro: read-only down the whole tree (a tmpfs mounted below the source)
	mkdir -p "$BUNDLE/src/sub"
	mount -t tmpfs tmpfs "$BUNDLE/src/sub"
	jq '.mounts[-1].options = ["rbind", "rro"] | .process.args = ["sh", "-c", "touch /m/sub/x 2>&1; touch /m/y 2>&1; true"]' \
		"$BUNDLE/config.json" >"$BUNDLE/c" && mv "$BUNDLE/c" "$BUNDLE/config.json"
	run ferry run -b "$BUNDLE" "$ID"
	umount "$BUNDLE/src/sub"
	echo "$output"
	[[ $output == *"/m/sub/x"*"Read-only"* ]]
	[[ $output == *"/m/y"*"Read-only"* ]]
}
