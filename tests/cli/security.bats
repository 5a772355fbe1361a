#!/usr/bin/env bats
# Security properties of the runtime, each shown by trying what an attacker
# (or a careless caller) would do. docs/security.md says why each matters.

load helpers

setup() {
	common_setup
	REAL_FERRY=$FERRY
	OUTER_ROOT=$FERRY_ROOT
}

teardown() {
	local id
	# a test may have pointed FERRY at a copy it then attacked
	FERRY=$REAL_FERRY
	# and FERRY_ROOT at a root below the usual one
	FERRY_ROOT=$OUTER_ROOT
	if [ -d "$FERRY_ROOT/new/root" ]; then
		for id in $(ls "$FERRY_ROOT/new/root"); do
			"$FERRY" --root "$FERRY_ROOT/new/root" delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	common_teardown
}

# A writable directory of the bundle, bind-mounted at /rw in the container.
RW_MOUNT='.mounts += [{"destination": "/rw", "type": "bind", "source": ($ENV.BUNDLE + "/rw"), "options": ["rbind", "rw"]}]'

# own_rootfs: a private copy of the shared rootfs at $BUNDLE/rootfs that a
# test may change (symlinks, libraries), used instead of the shared one.
own_rootfs() {
	cp -a "$ROOTFS_CACHE" "$BUNDLE/rootfs"
	jq '.root.path = "rootfs"' "$BUNDLE/config.json" >"$BUNDLE/c" && mv "$BUNDLE/c" "$BUNDLE/config.json"
}

# ---- a. file descriptors ------------------------------------------------

# ls of its own fd directory: 0 1 2 and the fd ls reads the directory with.
FD_LIST='["sh","-c","ls /proc/self/fd | tr \"\\n\" \" \""]'

@test "fds: nothing of ferry's or the caller's leaks into run (foreground)" {
	ARGS=$FD_LIST make_bundle
	# stray fds of the caller (bats has its own too) are not the container's
	exec 5</etc/hostname 7>"$BATS_TEST_TMPDIR/out" 9</dev/null
	run ferry run -b "$BUNDLE" "$ID"
	exec 5<&- 7>&- 9<&-
	[ "$status" -eq 0 ]
	[ "$output" = "0 1 2 3 " ]
	assert_no_leftovers "$ID"
}

@test "fds: the init of run -d and exec, foreground and detached, hold only stdio" {
	mkdir "$BUNDLE/rw"
	make_bundle "$RW_MOUNT"
	exec 5</etc/hostname 7>"$BATS_TEST_TMPDIR/out"
	ferry run -d -b "$BUNDLE" "$ID"
	run ferry exec "$ID" ls /proc/1/fd
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = "0 1 2" ]
	run ferry exec "$ID" sh -c 'ls /proc/self/fd | tr "\n" " "'
	[ "$status" -eq 0 ]
	[ "$output" = "0 1 2 3 " ]
	ferry exec -d "$ID" sh -c 'ls /proc/self/fd | tr "\n" " " >/rw/fds'
	exec 5<&- 7>&-
	wait_for test -s "$BUNDLE/rw/fds"
	[ "$(cat "$BUNDLE/rw/fds")" = "0 1 2 3 " ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "fds: --preserve-fds passes exactly the fds asked for" {
	ARGS='["sh","-c","ls /proc/self/fd | tr \"\\n\" \" \"; cat <&3"]' make_bundle
	echo preserved >"$BATS_TEST_TMPDIR/in"
	run bash -c 'exec 3<"$1" 4</etc/hostname; shift; exec "$@"' _ "$BATS_TEST_TMPDIR/in" \
		"$FERRY" --root "$FERRY_ROOT" run --preserve-fds 1 -b "$BUNDLE" "$ID"
	[ "$status" -eq 0 ]
	# 3 passed, 4 not; ls's own directory fd is then 4
	[ "$output" = "0 1 2 3 4 preserved" ]
	assert_no_leftovers "$ID"
}

# ---- b. the ferry binary (CVE-2019-5736) ----------------------------------

# Runs inside the container: finds a process whose executable is not
# busybox, holds its /proc/PID/exe open, and writes through that fd once
# the kernel allows it (nothing executes the file any more). Logs what it
# saw in /rw/log: "hidden PID" (no access to the process's exe), "opened
# PID -> TARGET", "write-failed", "WROTE".
ATTACK='
log=/rw/log
end=$(( $(date +%s) + ${ATTACK_TIME:-10} ))
held=
while [ "$(date +%s)" -lt "$end" ] && [ ! -e /rw/stop ]; do
	if [ -z "$held" ]; then
		for p in /proc/[0-9]*; do
			[ "$p" = "/proc/$$" ] && continue
			if ! t=$(readlink "$p/exe" 2>/dev/null); then
				[ -e "$p/stat" ] && ! grep -qx "hidden $p" $log 2>/dev/null && echo "hidden $p" >>$log
				continue
			fi
			case "$t" in /bin/busybox|"") continue ;; esac
			if (exec 3<"$p/exe") 2>/dev/null && exec 3<"$p/exe"; then
				echo "opened $p -> $t" >>$log
				held=$t
				break
			fi
		done
	elif echo "#!/bin/sh" 2>/dev/null >/proc/self/fd/3; then
		echo "WROTE $held" >>$log
		break
	else
		grep -qx write-failed $log || echo write-failed >>$log
	fi
	usleep 10000
done
echo done >>$log
'

@test "the ferry binary cannot be overwritten from inside a container" {
	# A copy: if the protection fails, the copy is what gets overwritten.
	mkdir "$BATS_TEST_TMPDIR/bin" "$BUNDLE/rw"
	cp "$REAL_FERRY" "$BATS_TEST_TMPDIR/bin/ferry"
	FERRY=$BATS_TEST_TMPDIR/bin/ferry
	before=$(sha256sum "$FERRY" | cut -d' ' -f1)
	make_bundle "$RW_MOUNT"
	own_rootfs
	# ferry's own libraries in the rootfs, so that a container that gets
	# ferry executed inside it really runs it
	for lib in $(ldd "$FERRY" | grep -o '/[^ ]*'); do
		mkdir -p "$BUNDLE/rootfs$(dirname "$lib")"
		cp -L "$lib" "$BUNDLE/rootfs$lib"
	done
	printf '%s' "$ATTACK" >"$BUNDLE/rw/attack.sh"
	# runc's exploit: the program exec runs is a script whose interpreter
	# is /proc/self/exe, resolved in the entering ferry process; the
	# argument makes that ferry read stdin (--template /dev/stdin) so it
	# stays alive while the attacker looks for it
	printf '#!/proc/self/exe --root\n' >"$BUNDLE/rw/evil"
	chmod +x "$BUNDLE/rw/evil"

	# 1. In a created container the init is still ferry: an attacker that
	# joined it must not reach /proc/1/exe.
	ferry create -b "$BUNDLE" "$ID" </dev/null
	ferry exec -d "$ID" sh -c "ATTACK_TIME=15 sh /rw/attack.sh"
	wait_for grep -q -e "^hidden /proc/1$" -e "^opened /proc/1 " "$BUNDLE/rw/log"
	ferry start "$ID"
	# 2. The #!/proc/self/exe trick runs whatever ferry is, as a plain
	# container process the attacker can open.
	run bash -c 'sleep 3 | "$@"' _ "$FERRY" --root "$FERRY_ROOT" exec "$ID" /rw/evil generate --template /dev/stdin
	echo "exploit run: $output"
	wait_for grep -q "^opened" "$BUNDLE/rw/log"
	# 3. ...and holds it while nothing runs it any more.
	sleep 1
	touch "$BUNDLE/rw/stop"
	wait_for grep -qx done "$BUNDLE/rw/log"
	cat "$BUNDLE/rw/log"

	[ "$(sha256sum "$FERRY" | cut -d' ' -f1)" = "$before" ]
	! grep -q WROTE "$BUNDLE/rw/log"
	# the created container's init (ferry) was out of reach
	grep -qx "hidden /proc/1" "$BUNDLE/rw/log"
	# what the trick ran was the sealed copy, which refused the write
	grep -q '^opened /proc/[0-9]* -> /memfd:ferry' "$BUNDLE/rw/log"
	grep -qx write-failed "$BUNDLE/rw/log"
	# after execve a container process is its own program again
	[ "$(ferry exec "$ID" readlink /proc/self/exe)" = /bin/busybox ]
	[ "$(ferry exec "$ID" readlink /proc/1/exe)" = /bin/busybox ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

# exec's child runs the same code (ferry_init_child), but only a created
# container's init waits long enough to be looked at deterministically.
@test "a created container's init is not dumpable until it execs" {
	mkdir "$BUNDLE/rw"
	make_bundle "$RW_MOUNT"
	ferry create -b "$BUNDLE" "$ID" </dev/null
	pid=$(ferry state "$ID" | jq -r .pid)
	# the host sees the init running ferry (the sealed copy), not dumpable
	[[ "$(readlink /proc/$pid/exe)" == /memfd:ferry* ]]
	# from inside, neither its exe nor where its fds lead (the host's
	# exec fifo)
	run ferry exec "$ID" readlink /proc/1/exe
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *ferry* ]]
	run ferry exec "$ID" sh -c 'for f in /proc/1/fd/*; do readlink $f; done; cat /proc/1/environ'
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" != *exec.fifo* ]]
	[[ "$output" != *"$FERRY_ROOT"* ]]
	ferry start "$ID"
	[ "$(ferry exec "$ID" readlink /proc/1/exe)" = /bin/busybox ]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "a non-dumpable init in a user namespace still applies oomScoreAdj" {
	# A non-dumpable process's /proc files belong to the host's root, which
	# the mapped root cannot write: the init writes oomScoreAdj first.
	# (The cgroup mount is left out: not permitted in a user namespace.)
	ARGS='["sh","-c","cat /proc/self/oom_score_adj; cat /proc/self/uid_map"]' make_bundle \
		'.process.oomScoreAdj = 123 | .linux.namespaces += [{"type": "user"}]
		 | .linux.uidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		 | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]
		 | .mounts |= map(select(.destination != "/sys/fs/cgroup"))'
	run ferry run -b "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 123 ]
	[[ "${lines[1]}" == *0*100000*65536* ]]
	assert_no_leftovers "$ID"
}

# ---- c. paths inside the rootfs ----------------------------------------

@test "mount destinations through symlinks stay inside the rootfs" {
	tag=escape-$$-$BATS_TEST_NUMBER
	host=/tmp/$tag
	rm -rf "$host-abs" "$host-rel" "$host-bind" "$host-deep"
	mkdir -p "$BUNDLE/src" "$BUNDLE/rw"
	echo secret-from-bundle >"$BUNDLE/src/file"
	ARGS='["sh","-c","cat /proc/self/mountinfo; ls /tmp"]' make_bundle \
		'.mounts += [
			{"destination": "/etc/abs", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
			{"destination": "/rel/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
			{"destination": "/etc/bind", "type": "bind", "source": ($ENV.BUNDLE + "/src"), "options": ["rbind", "ro"]},
			{"destination": "/etc/deep/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}
		] | .root.readonly = false'
	own_rootfs
	# absolute with "..", relative climbing out, a bind, a nested one
	ln -s "/../../../tmp/$tag-abs" "$BUNDLE/rootfs/etc/abs"
	ln -s "../../../../../../../tmp/$tag-rel" "$BUNDLE/rootfs/rel"
	ln -s "/../../tmp/$tag-bind" "$BUNDLE/rootfs/etc/bind"
	ln -s "../../../../../tmp/$tag-deep" "$BUNDLE/rootfs/etc/deep"
	run ferry run -b "$BUNDLE" "$ID"
	echo "$output"
	[ "$status" -eq 0 ]
	# inside, the mounts are where the symlinks lead within the rootfs
	[[ "$output" == *" /tmp/$tag-abs "* ]]
	[[ "$output" == *" /tmp/$tag-rel/x "* ]]
	[[ "$output" == *" /tmp/$tag-bind "* ]]
	[[ "$output" == *" /tmp/$tag-deep/sub "* ]]
	# outside, nothing was created or mounted
	for p in "$host-abs" "$host-rel" "$host-bind" "$host-deep"; do
		[ ! -e "$p" ]
		! grep -q " $p" /proc/self/mountinfo
	done
	[ -d "$BUNDLE/rootfs/tmp/$tag-abs" ]
	assert_no_leftovers "$ID"
}

# ---- d. the state directory ---------------------------------------------

@test "state directories are 0700 and state files are private and complete" {
	make_bundle
	# a state root ferry has to create itself, two levels deep
	FERRY_ROOT=$FERRY_ROOT/new/root
	ferry create -b "$BUNDLE" "$ID" </dev/null
	[ "$(stat -c %a "${FERRY_ROOT%/root}")" = 700 ]
	[ "$(stat -c %a "$FERRY_ROOT")" = 700 ]
	[ "$(stat -c %a "$FERRY_ROOT/$ID")" = 700 ]
	[ "$(stat -c %a "$FERRY_ROOT/$ID/state.json")" = 600 ]
	[ "$(stat -c %a "$FERRY_ROOT/$ID/config.json")" = 600 ]
	[ "$(stat -c %a "$FERRY_ROOT/$ID/lock")" = 600 ]
	# the fifo is written by the init, which may run as any user by then
	[ "$(stat -c %a "$FERRY_ROOT/$ID/exec.fifo")" = 622 ]
	# no temporary files of the atomic writes are left behind
	[ "$(ls -A "$FERRY_ROOT/$ID" | tr '\n' ' ')" = "config.json exec.fifo lock state.json " ]
	jq -e .pid "$FERRY_ROOT/$ID/state.json"
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "state.json is replaced atomically: readers never see a partial file" {
	make_bundle
	# the --pid-file and state.json writes go through a temporary file and
	# rename: a reader racing with the writers sees all or nothing
	(
		end=$((SECONDS + 20))
		while [ $SECONDS -lt $end ] && [ ! -e "$BATS_TEST_TMPDIR/stop" ]; do
			for f in "$FERRY_ROOT"/*/state.json "$BATS_TEST_TMPDIR"/*.pid; do
				[ -e "$f" ] || continue
				c=$(cat "$f" 2>/dev/null) || continue
				case $f in
				*.pid) [[ "$c" =~ ^[0-9]+$ ]] || echo "partial $f: '$c'" ;;
				*) [ -z "$c" ] && [ ! -e "$f" ] && continue
				   echo "$c" | jq -e . >/dev/null 2>&1 || { [ -e "$f" ] && echo "partial $f: '$c'"; } ;;
				esac
			done
		done >"$BATS_TEST_TMPDIR/reader.log" 2>&1
	) &
	reader=$!
	for i in $(seq 1 15); do
		ferry create --pid-file "$BATS_TEST_TMPDIR/$i.pid" -b "$BUNDLE" "$ID-$i" </dev/null
		ferry delete -f "$ID-$i"
	done
	touch "$BATS_TEST_TMPDIR/stop"
	wait "$reader"
	cat "$BATS_TEST_TMPDIR/reader.log"
	[ ! -s "$BATS_TEST_TMPDIR/reader.log" ]
	for i in $(seq 1 15); do assert_no_leftovers "$ID-$i"; done
}

# ---- e. concurrency ----------------------------------------------------

@test "50 concurrent runs, kills, states and deletes leave consistent state" {
	MARKER="sleep 1$$$BATS_TEST_NUMBER"
	ARGS="[\"sleep\",\"1$$$BATS_TEST_NUMBER\"]" make_bundle
	n=50
	for i in $(seq 1 $n); do
		ferry run -d -b "$BUNDLE" "$ID-$i" </dev/null >"$BATS_TEST_TMPDIR/run.$i" 2>&1 &
	done
	# meanwhile: state, kill 0 and list on the same ids, racing the creates
	for i in $(seq 1 $n); do
		{ ferry state "$ID-$i"; ferry kill "$ID-$i" 0; ferry list -q; } >/dev/null 2>&1 &
	done
	wait
	for i in $(seq 1 $n); do
		[ -s "$BATS_TEST_TMPDIR/run.$i" ] && { cat "$BATS_TEST_TMPDIR/run.$i"; false; }
	done
	# list shows exactly what exists, and every state file parses
	[ "$(ferry list -q | sort | tr '\n' ' ')" = "$(for i in $(seq 1 $n); do echo "$ID-$i"; done | sort | tr '\n' ' ')" ]
	[ "$(ferry list -f json | jq '[.[] | select(.status == "running")] | length')" -eq $n ]
	for i in $(seq 1 $n); do
		jq -e ".pid > 0" "$FERRY_ROOT/$ID-$i/state.json" >/dev/null
	done
	[ "$(pgrep -fc "$MARKER")" -eq $n ]

	# concurrent deletes, with kills and states racing them on the same ids
	for i in $(seq 1 $n); do
		ferry delete -f "$ID-$i" >"$BATS_TEST_TMPDIR/del.$i" 2>&1 &
		{ ferry kill "$ID-$i" KILL; ferry state "$ID-$i"; } >"$BATS_TEST_TMPDIR/race.$i" 2>&1 &
	done
	wait
	for i in $(seq 1 $n); do
		# a delete that lost the race to nobody must not fail
		[ -s "$BATS_TEST_TMPDIR/del.$i" ] && { cat "$BATS_TEST_TMPDIR/del.$i"; false; }
		# a racing command either worked or found the container gone
		if grep -v -e '^{' -e '^ *"' -e '^}' -e 'does not exist' -e 'not running' "$BATS_TEST_TMPDIR/race.$i"; then
			false
		fi
	done
	[ -z "$(ferry list -q)" ]
	[ "$(ferry list -f json)" = "[]" ] || [ "$(ferry list -f json | jq length)" -eq 0 ]
	for i in $(seq 1 $n); do
		assert_no_leftovers "$ID-$i"
	done
	# (a function: "sh -c 'pgrep ...'" would find its own command line)
	no_marker() { ! pgrep -f "$MARKER" >/dev/null; }
	wait_for no_marker
}
