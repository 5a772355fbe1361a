#!/usr/bin/env bats
# Live migration between two simulated hosts (scripts/testbed): every mode
# this machine supports, back and forth, and the ways it must fail safely.
# Each test leaves the container running on exactly one host.

load helpers

setup_file() { suite_setup; }
teardown_file() { suite_teardown; }

@test "lazy: a to b and back, host content follows, counter continues, TCP connection survives" {
	run_on_a lz
	[ "$(answer)" = a ]
	tcp_client_start
	c1=$(answer 81 count)
	run mig a b lz --mode lazy
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"mode          lazy"* ]]
	[[ $output == *downtime* ]]
	# ferry's lazy-pages daemon counted the pages it copied in
	[[ $output =~ memory\ +[1-9][0-9]*\ pages\ \([0-9.]+\ MiB\)\ served\ lazily ]]
	assert_only_on b lz
	assert_ip_on b
	[ "$(answer)" = b ]
	c2=$(answer 81 count)
	[ "$c2" -ge "$c1" ]
	tcp_client_check
	# and back, stop-copy this time
	tcp_client_start
	run mig b a lz --mode stop-copy
	echo "$output"
	[ "$status" -eq 0 ]
	assert_only_on a lz
	assert_ip_on a
	[ "$(answer)" = a ]
	[ "$(answer 81 count)" -ge "$c2" ]
	tcp_client_check
	fy a delete -f lz
	assert_clean
}

# progress_on HOST ID: cr-workload's step count in the container, or 0.
progress_on() { fy "$1" exec "$2" cat /tmp/progress 2>/dev/null || echo 0; }

@test "lazy: 64 MiB arrive intact through ferry's lazy-pages daemon, in the task and in the children it forks meanwhile" {
	local b=$WORK/mem p0 p1 i
	rm -rf "$b" && mkdir -p "$b" && cp -a "$WORK/web/rootfs" "$b/"
	cp "$REPO/build/tests/helpers/cr-workload" "$b/rootfs/bin/"
	jq '.process.args[2] |= sub("nc -ll"; "/bin/cr-workload memory & nc -ll")' "$WORK/web/config.json" >"$b/config.json"
	run_on_a mem "$b"
	for ((i = 0; i < 100; i++)); do
		p0=$(progress_on a mem)
		((p0 >= 2)) && break
		sleep 0.1
	done
	((p0 >= 2))
	run mig a b mem --mode lazy
	echo "$output"
	[ "$status" -eq 0 ]
	# the 64 MiB (16,384 pages) and the rest came lazily
	[[ $output =~ memory\ +([0-9]+)\ pages ]]
	((BASH_REMATCH[1] >= 16384))
	assert_only_on b mem
	# two full passes over the memory after the move: every page checked
	# by the task and by a child
	p1=$(progress_on b mem)
	for ((i = 0; i < 100; i++)); do
		(($(progress_on b mem) >= p1 + 32)) && break
		sleep 0.1
	done
	(($(progress_on b mem) >= p1 + 32))
	run fy b exec mem cat /tmp/status
	echo "status: $output"
	[ "$status" -ne 0 ] # no /tmp/status: no check failed
	fy b delete -f mem
	on b ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "lazy with CRIU's own lazy-pages daemon (FERRY_LAZY_DAEMON=criu): the container moves as well" {
	run_on_a lzc
	c1=$(answer 81 count)
	serve_stop b
	serve_start b FERRY_LAZY_DAEMON=criu
	run mig a b lzc --mode lazy
	echo "$output"
	serve_stop b
	serve_start b
	[ "$status" -eq 0 ]
	assert_only_on b lzc
	[ "$(answer)" = b ]
	[ "$(answer 81 count)" -ge "$c1" ]
	fy b delete -f lzc
	on b ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "a container whose stdout is a host file migrates (a stand-in of its size and mode takes its place)" {
	on a ip addr add "$SIP/24" dev eth0 2>/dev/null || true
	rm -f "$WORK/std.log"
	(umask 022 && fy a run -d -b "$WORK/web" so </dev/null >"$WORK/std.log" 2>&1)
	for ((i = 0; i < 60; i++)); do
		[[ $(answer 81 count) =~ ^[0-9]+$ ]] && break
		sleep 0.05
	done
	[ "$(stat -c %a "$WORK/std.log")" = 644 ]
	run mig a b so --mode lazy
	echo "$output"
	[ "$status" -eq 0 ]
	assert_only_on b so
	[ "$(answer)" = b ]
	run mig b a so --mode stop-copy
	echo "$output"
	[ "$status" -eq 0 ]
	assert_only_on a so
	[ "$(answer)" = a ]
	fy a delete -f so
	assert_clean
}

# late_then_go NAME PID MPID: a request begun now (its answer in
# $WORK/NAME.late), then the migration stalled in PID goes on; its status
# in st, its output ($WORK/NAME.out) shown.
late_then_go() {
	local name=$1 pid=$2 mpid=$3 cpid
	on client curl -s -m 15 "http://$SIP/" >"$WORK/$name.late" 2>&1 &
	cpid=$!
	sleep 0.3
	kill -USR1 "$pid"
	wait "$mpid" && st=0 || st=$?
	cat "$WORK/$name.out"
	wait "$cpid" || true
}

@test "hold: packets to the service address wait on b for the restore, no SYN is retransmitted, and the rules go" {
	run_on_a hd
	[ "$(answer)" = a ]
	MIG_ENV=(FERRY_FAULT=src-dump:stall)
	mig a b hd --mode stop-copy >"$WORK/hd.out" 2>&1 &
	MIG_ENV=()
	local mpid=$! pid rule=0 ipb=0 ipa=1 probe st syn0 syn1
	pid=$(stalled "$WORK/hd.out" src-dump) || { kill "$mpid"; false; }
	# frozen and dumped: the address is b's, announced, and its packets
	# wait in b's queue; a has let it go
	on b iptables -S INPUT | grep -qE -- "-d $SIP/32 -m comment --comment ferry-hold -j NFQUEUE --queue-num [0-9]+ --queue-bypass" && rule=1
	on b ip -o addr show | grep -q " $SIP/" && ipb=1
	on a ip -o addr show | grep -q " $SIP/" || ipa=0
	# a connection now neither completes nor is refused: it waits
	on client timeout 0.5 bash -c "exec 3<>/dev/tcp/$SIP/80" && probe=0 || probe=$?
	# the kernel's SYN retransmissions from here on
	syn0=$(on client nstat -az TcpExtTCPSynRetrans | awk '/TcpExtTCPSynRetrans/ {print $2}')
	late_then_go hd "$pid" "$mpid"
	syn1=$(on client nstat -az TcpExtTCPSynRetrans | awk '/TcpExtTCPSynRetrans/ {print $2}')
	echo "rule on b: $rule, address on b: $ipb, on a: $ipa, probe status: $probe, late: $(cat "$WORK/hd.late"), SYN retransmissions: $syn0 -> $syn1"
	[ "$st" -eq 0 ]
	# the probe's SYN and the late request's at least
	[[ $(cat "$WORK/hd.out") =~ addresses\ +handed\ over\ before\ the\ freeze\ \([0-9]+\ ms\):\ ([0-9]+)\ packet ]]
	((BASH_REMATCH[1] >= 2))
	[ "$rule" = 1 ]
	[ "$ipb" = 1 ]
	[ "$ipa" = 0 ]
	[ "$probe" = 124 ] # timed out waiting, not refused (1)
	[ "$(cat "$WORK/hd.late")" = b ]
	[ "$syn1" = "$syn0" ]
	assert_only_on b hd
	fy b delete -f hd
	on b ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "FERRY_NO_HOLD: new connections during the freeze wait at a gate and reach b (none lost in a's frozen listen queue)" {
	run_on_a gt
	[ "$(answer)" = a ]
	MIG_ENV=(FERRY_NO_HOLD=1 FERRY_FAULT=src-dump:stall)
	mig a b gt --mode stop-copy >"$WORK/gt.out" 2>&1 &
	MIG_ENV=()
	local mpid=$! pid rule=0 conn=0
	pid=$(stalled "$WORK/gt.out" src-dump) || { kill "$mpid"; false; }
	# frozen and dumped: SYNs to the service address are dropped, so the
	# frozen listener's kernel completes no handshake...
	on a iptables -S INPUT | grep -qE -- "-d $SIP/32 .*--tcp-flags FIN,SYN,RST,ACK SYN -j DROP" && rule=1
	on client timeout 1 bash -c "exec 3<>/dev/tcp/$SIP/80" && conn=1
	# ...and a request begun now is answered by b once it has the container
	late_then_go gt "$pid" "$mpid"
	echo "gate rule seen: $rule, connected while frozen: $conn, late request: $(cat "$WORK/gt.late")"
	[ "$st" -eq 0 ]
	[ "$rule" = 1 ]
	[ "$conn" = 0 ]
	[ "$(cat "$WORK/gt.late")" = b ]
	assert_only_on b gt
	fy b delete -f gt
	on b ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "the destination stages the restore before the freeze: a helper and CRIU wait in the container's cgroup" {
	run_on_a sg
	MIG_ENV=(FERRY_FAULT=src-dump:stall)
	mig a b sg --mode stop-copy >"$WORK/sg.out" 2>&1 &
	MIG_ENV=()
	local mpid=$! pid dirs procs n=0 state=0 d
	pid=$(stalled "$WORK/sg.out" src-dump) || { kill "$mpid"; false; }
	# a is frozen and dumped; b has made the cgroup, and a helper of b's
	# agent waits in it (in every hierarchy) with a CRIU already started,
	# no state yet
	dirs=$(cgroups_of b sg)
	for d in $dirs; do
		procs=$(on b cat "$d/cgroup.procs")
		comms=$(for p in $procs; do on b cat "/proc/$p/comm"; done | sort | tr '\n' ' ')
		echo "$d: $comms"
		[[ $comms == "criu ferry " ]] && n=$((n + 1))
	done
	on b test -e /run/ferry/sg/state.json && state=1
	kill -USR1 "$pid"
	wait "$mpid" && st=0 || st=$?
	cat "$WORK/sg.out"
	echo "cgroups on b: $dirs; with the helper and CRIU alone: $n; state before the restore: $state"
	[ "$st" -eq 0 ]
	[ -n "$dirs" ]
	[ "$n" -eq "$(wc -w <<<"$dirs")" ]
	[ "$state" = 0 ]
	# after the restore the helper and CRIU are gone: the cgroup holds
	# the container
	assert_only_on b sg
	for d in $dirs; do
		# (the workload's short-lived children may be gone by now)
		for procs in $(on b cat "$d/cgroup.procs"); do
			c=$(on b cat "/proc/$procs/comm" 2>/dev/null || true)
			[[ $c != ferry && $c != criu ]]
		done
	done
	fy b delete -f sg
	on b ip addr del "$SIP/24" dev eth0
	[[ -z $(cgroups_of b sg) ]]
	assert_clean
}

@test "a staged restore that is never run leaves nothing on the destination" {
	run_on_a sn
	MIG_ENV=(FERRY_FAULT=src-images)
	run mig a b sn --mode stop-copy
	MIG_ENV=()
	echo "$output"
	[ "$status" -ne 0 ]
	assert_only_on a sn
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -z $(cgroups_of b sn) ]] && break
		sleep 0.1
	done
	[[ -z $(cgroups_of b sn) ]]
	! on b test -e /run/ferry/sn
	! on b grep -q "/sn[/ ]" /proc/self/mountinfo
	fy a delete -f sn
	assert_clean
}

@test "a rollback takes the gate down (no hold), or the hold and b's address (hold): a answers again" {
	local env
	for env in FERRY_NO_HOLD=1 FERRY_NO_HOLD=; do
		run_on_a gr
		MIG_ENV=("$env" FERRY_FAULT=src-images)
		run mig a b gr --mode stop-copy
		MIG_ENV=()
		echo "$env: $output"
		[ "$status" -ne 0 ]
		assert_only_on a gr
		assert_ip_on a
		! on a iptables -S INPUT | grep -q 0xc114
		! on b iptables -S INPUT | grep -q ferry-hold
		[ "$(answer)" = a ]
		run on client timeout 2 bash -c "exec 3<>/dev/tcp/$SIP/80"
		[ "$status" -eq 0 ]
		fy a delete -f gr
		assert_clean
	done
}

@test "auto: stop-copy for a small container, lazy for a big one, and says why; --json gives events and a result" {
	run_on_a au
	run mig a b au --json
	[ "$status" -eq 0 ]
	echo "$output" | tail -n1 | jq -e '.event == "result" and .result == "ok" and .mode == "stop-copy" and (.why | test("MiB of private memory"))'
	echo "$output" | jq -se 'map(select(.event == "phase-end")) | length >= 4'
	assert_only_on b au
	fy b delete -f au
	on b ip addr del "$SIP/24" dev eth0
	# the same workload holding 40 MB more in its shell
	rm -rf "$WORK/big" && cp -a "$WORK/web" "$WORK/big"
	jq '.process.args[2] = "x=$(head -c 40000000 /dev/zero | tr \"\\000\" a); " + .process.args[2]' \
		"$WORK/web/config.json" >"$WORK/big/config.json"
	run_on_a ab "$WORK/big"
	run mig a b ab --json
	[ "$status" -eq 0 ]
	echo "$output" | tail -n1 | jq -e '.event == "result" and .result == "ok" and .mode == "lazy" and (.why | test("userfaultfd"))'
	assert_only_on b ab
	fy b delete -f ab
	on b ip addr del "$SIP/24" dev eth0
	rm -rf "$WORK/big"
}

@test "tmpfs contents move with the container, carried by ferry (no tar): files, modes, owners, symlinks, a held file, /dev's nodes" {
	# a process holding a log open in one tmpfs, a nested tmpfs, odd modes,
	# a device of the config's own in /dev
	jq '.process.args[2] = "exec 3>>/var/log/httpd/held; " + .process.args[2] + "; :" |
		.process.args[2] |= sub("sleep 0.05"; "echo $i >&3; sleep 0.05") |
		.linux.devices += [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 384}]' \
		"$WORK/web/config.json" >"$WORK/tc.json"
	rm -rf "$WORK/tc" && mkdir "$WORK/tc" && cp -a "$WORK/web/rootfs" "$WORK/tc/" && mv "$WORK/tc.json" "$WORK/tc/config.json"
	run_on_a tc "$WORK/tc"
	fy a exec tc sh -c 'mkdir -p /tmp/d/e && printf "hello\n" >/tmp/d/e/f && chmod 0640 /tmp/d/e/f && chown 7:8 /tmp/d/e/f &&
		chmod 0711 /tmp/d && ln -s d/e/f /tmp/link && echo 42 >/run/httpd/x.pid && truncate -s 1M /tmp/sparse &&
		mkfifo /run/fifo'
	serve_stop b
	serve_start b FERRY_KEEP_WORK=1
	run mig a b tc --mode stop-copy
	echo "$output"
	[ "$status" -eq 0 ]
	assert_only_on b tc
	[ "$(fy b exec tc cat /tmp/d/e/f)" = hello ]
	[ "$(fy b exec tc stat -c '%a %u %g' /tmp/d/e/f)" = "640 7 8" ]
	[ "$(fy b exec tc stat -c '%a' /tmp/d)" = 711 ]
	[ "$(fy b exec tc readlink /tmp/link)" = d/e/f ]
	[ "$(fy b exec tc cat /run/httpd/x.pid)" = 42 ]
	[ "$(fy b exec tc stat -c %s /tmp/sparse)" = 1048576 ]
	# a tmpfs with a fifo in it stays CRIU's (tar), and comes along too
	fy b exec tc test -p /run/fifo
	# the held log goes on where it was, through the restored descriptor
	n1=$(fy b exec tc wc -l /var/log/httpd/held | awk '{print $1}')
	sleep 0.3
	n2=$(fy b exec tc wc -l /var/log/httpd/held | awk '{print $1}')
	echo "held: $n1 -> $n2 lines"
	[ "$n2" -gt "$n1" ]
	# one line a tick, none lost or doubled across the move
	fy b exec tc sh -c 'awk "NR > 1 && \$1 != p + 1 { print \"gap at \" NR; bad = 1 } { p = \$1 } END { exit bad }" /var/log/httpd/held'
	# CRIU ran no tar: it bound the tmpfs mounts ferry made and filled
	# (/tmp, /run/httpd, /var/log/httpd at least; /run is CRIU's)
	n=$(on b sh -c 'cat /run/ferry-serve/*/work/restore.log' | grep -c 'Will mount .* from /run/ferry/tc/tmpfs/[0-9]* (E)')
	echo "external tmpfs mounts: $n"
	[ "$n" -ge 4 ]
	# /dev among them: its nodes are the config's, so ferry made them on b
	devid=$(on b sh -c 'cat /run/ferry-serve/*/work/restore.log' | sed -n 's|.*Will mount \([0-9]*\) @ .* /dev$|\1|p' | head -1)
	[ -n "$devid" ]
	on b sh -c 'cat /run/ferry-serve/*/work/restore.log' | grep -q "Will mount $devid from /run/ferry/tc/tmpfs/[0-9]* (E)"
	[ "$(fy b exec tc stat -c '%F %t:%T %a' /dev/null)" = "character special file 1:3 666" ]
	[ "$(fy b exec tc stat -c '%F %t:%T %a' /dev/fuse)" = "character special file a:e5 600" ]
	[ "$(fy b exec tc sh -c 'echo x >/dev/null && head -c 5 /dev/zero | wc -c')" = 5 ]
	[ "$(fy b exec tc readlink /dev/ptmx)" = pts/ptmx ]
	fy b exec tc test -d /dev/pts/
	fy b exec tc sh -c 'grep -q " /dev/shm .* tmpfs " /proc/self/mountinfo && grep -q " /dev/pts .* devpts " /proc/self/mountinfo' 
	fy b delete -f tc
	on b ip addr del "$SIP/24" dev eth0
	on b sh -c 'rm -rf /run/ferry-serve/*'
	serve_stop b
	serve_start b
	assert_clean
}

@test "cgroup mounts after a move: each v1 hierarchy shows the container's own cgroup, bound (no tar, no new cgroup2 mount)" {
	run_on_a cgm
	serve_stop b
	serve_start b FERRY_KEEP_WORK=1
	run mig a b cgm --mode stop-copy
	echo "$output"
	[ "$status" -eq 0 ]
	assert_only_on b cgm
	local pid roots own
	pid=$(fy b state cgm | jq -r .pid)
	# as create makes them: the container's cgroup in every v1 hierarchy
	# (not the host's whole tree), the unified one as on a
	roots=$(on b awk '$9 == "cgroup" { print $4 }' "/proc/$pid/mountinfo" | sort -u)
	own=$(on b awk -F: '$2 == "memory" { print $3 }' "/proc/$pid/cgroup")
	echo "v1 mount roots in the container: $roots; its memory cgroup: $own"
	[ "$roots" = "$own" ]
	[ "$own" = /ferry-tb-b/cgm ]
	# what it sees there is its own: its own processes, no other cgroup
	on b grep -qx "$pid" "/proc/$pid/root/sys/fs/cgroup/pids/cgroup.procs"
	! on b test -e "/proc/$pid/root/sys/fs/cgroup/pids/ferry-tb-b"
	# neither the cgroup tmpfs nor the unified hierarchy cost CRIU a tar or a mount
	log=$(on b sh -c 'cat /run/ferry-serve/*/work/restore.log')
	grep -q 'Will mount .* from /run/ferry/cgm/tmpfs/[0-9]* (E)' <<<"$log"
	grep -q 'Will mount .* from /sys/fs/cgroup/unified (E)' <<<"$log"
	! grep -q 'Mounting cgroup2' <<<"$log"
	fy b delete -f cgm
	on b ip addr del "$SIP/24" dev eth0
	on b sh -c 'rm -rf /run/ferry-serve/*'
	serve_stop b
	serve_start b
	assert_clean
}

# loopback_bundle DIR: the workload, plus a client in the init's tree that
# echoes a number every 50 ms through nc's echo service on 127.0.0.1:7000
# into /tmp/lo.out.
loopback_bundle() {
	jq '.process.args[2] |= sub("nc -ll -p 7000 -e cat & "; "nc -ll -p 7000 -e cat & (sleep 0.3; j=0; while :; do j=$((j+1)); echo $j; sleep 0.05; done | nc 127.0.0.1 7000 >/tmp/lo.out) & ")' \
		"$WORK/web/config.json" >"$WORK/lb.json"
	rm -rf "$1" && mkdir "$1" && cp -a "$WORK/web/rootfs" "$1/" && mv "$WORK/lb.json" "$1/config.json"
}

# lines_grow HOST ID: /tmp/lo.out grows, one number a line, none missing.
lines_grow() {
	local n1 n2
	n1=$(fy "$1" exec "$2" wc -l /tmp/lo.out | awk '{print $1}')
	sleep 0.5
	n2=$(fy "$1" exec "$2" wc -l /tmp/lo.out | awk '{print $1}')
	echo "loopback echo lines on $1: $n1 -> $n2"
	[ "$n2" -gt "$n1" ] || return 1
	fy "$1" exec "$2" sh -c 'awk "NR > 1 && \$1 != p + 1 { print \"gap at \" NR; bad = 1 } { p = \$1 } END { exit bad }" /tmp/lo.out'
}

@test "ferry migrate killed while its lock holds: the guardian takes every rule down, the loopback connection goes on at a" {
	loopback_bundle "$WORK/ng"
	run_on_a ng "$WORK/ng"
	sleep 0.5
	MIG_ENV=(FERRY_FAULT=src-dump:stall)
	mig a b ng --mode stop-copy >"$WORK/ng.out" 2>&1 &
	MIG_ENV=()
	local mpid=$! pid i
	pid=$(stalled "$WORK/ng.out" src-dump) || { kill "$mpid"; false; }
	# frozen and locked: the address's outgoing TCP and the loopback
	# pair's four (no gate: b holds the address's packets)
	echo "rules while frozen: $(on a iptables -S | grep -c -- '-j DROP')"
	[ "$(on a iptables -S | grep -c -- '-j DROP')" -ge 5 ]
	kill -KILL "$pid"
	wait "$mpid" || true
	for ((i = 0; i < 100; i++)); do
		[[ $(on a iptables -S | grep -c -- '-j DROP') == 0 && $(status_on a ng) == running ]] && break
		sleep 0.1
	done
	cat "$WORK/ng.out"
	[ "$(on a iptables -S | grep -c -- '-j DROP')" = 0 ]
	! pgrep -x -f "iptables-restore -w --noflush"
	assert_only_on a ng
	lines_grow a ng
	[ "$(answer)" = a ]
	fy a delete -f ng
	on a ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "ferry locks the network itself: CRIU runs no iptables, a loopback connection inside and the client's connection survive" {
	# a connection over loopback with both ends in the container's tree:
	# ferry locks it with rules of its own (it is on no moved address)
	loopback_bundle "$WORK/nl"
	run_on_a nl "$WORK/nl"
	tcp_client_start
	sleep 0.5
	serve_stop b
	serve_start b FERRY_KEEP_WORK=1
	run env FERRY_KEEP_WORK=1 FERRY_CRIU_LOG_LEVEL=4 "$TB" exec a "$FERRY" migrate nl --to "$(addr_of b)" --ca "$CERTS/ca.pem" \
		--cert "$CERTS/a.pem" --key "$CERTS/a-key.pem" --move-ip "$SIP/24" --no-progress --timeout 5000 --mode stop-copy
	echo "$output"
	[ "$status" -eq 0 ]
	assert_only_on b nl
	tcp_client_check
	# every number once, in order: nothing lost or doubled across the move
	lines_grow b nl
	# CRIU locked and unlocked nothing, on either side
	! on a sh -c 'cat /run/ferry-migrate/nl-*/work/dump.log' | grep -q iptables
	on a sh -c 'cat /run/ferry-migrate/nl-*/work/dump.log' | grep -q 'Dumping finished successfully'
	! on b sh -c 'cat /run/ferry-serve/*/work/restore.log' | grep -q iptables
	# and none of ferry's rules is left on a, nor the restore tool it
	# started before the freeze to apply them
	[ "$(on a iptables -S | grep -c -- '-j DROP')" = 0 ]
	! pgrep -x -f "iptables-restore -w --noflush"
	fy b delete -f nl
	on b ip addr del "$SIP/24" dev eth0
	on a sh -c 'rm -rf /run/ferry-migrate/nl-*'
	on b sh -c 'rm -rf /run/ferry-serve/*'
	serve_stop b
	serve_start b
	assert_clean
}

@test "a process started by exec would be lost: migrate refuses before sending anything, the container stays" {
	run_on_a ex
	fy a exec -d ex sleep 1000
	run mig a b ex --mode stop-copy
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"(sleep) is in the container but not below its init"* ]]
	assert_only_on a ex
	[ "$(answer)" = a ]
	fy a delete -f ex
	on a ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "shared: the article's flow through --shared-dir" {
	"$TB" share on a
	"$TB" share on b
	make_workload /var/lib/ferry-testbed/shared/web
	on a ip addr add "$SIP/24" dev eth0
	fy a run -d -b /shared/web sh1 </dev/null >/dev/null 2>&1
	sleep 0.3
	run mig a b sh1 --shared-dir /shared
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"mode          shared"* ]]
	assert_only_on b sh1
	[ "$(answer)" = b ]
	fy b delete -f sh1
	on b ip addr del "$SIP/24" dev eth0
	rm -rf /var/lib/ferry-testbed/shared/sh1-* /var/lib/ferry-testbed/shared/web
	"$TB" share off a
	"$TB" share off b
}

@test "a rootfs the destination lacks is sent, a writable one synced again while frozen" {
	on a sh -c "mkdir -p /run/wbundle && cp -a $WORK/web/. /run/wbundle/"
	on a sh -c "jq '.root.readonly = false | .root.path = \"rootfs\"' /run/wbundle/config.json >/run/wbundle/c && mv /run/wbundle/c /run/wbundle/config.json"
	on a ip addr add "$SIP/24" dev eth0
	fy a run -d -b /run/wbundle wr </dev/null >/dev/null 2>&1
	fy a exec wr sh -c 'echo written-on-a >/etc/marker'
	run mig a b wr --mode stop-copy
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output =~ rootfs\ [1-9][0-9]*\ B ]]
	assert_only_on b wr
	[ "$(fy b exec wr cat /etc/marker)" = written-on-a ]
	[ "$(fy b state wr | jq -r .bundle)" = /run/ferry-bundles/wr ]
	fy b delete -f wr
	on b ip addr del "$SIP/24" dev eth0
	on a rm -rf /run/wbundle
}

@test "--preflight checks both sides and changes nothing" {
	run_on_a pf
	run mig a b pf --preflight
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"preflight of pf"*ok* ]]
	assert_only_on a pf
	assert_ip_on a
	fy a delete -f pf
	on a ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "bad requests fail clearly and leave the container where it was" {
	run_on_a bad
	run mig a b nosuch
	[ "$status" -ne 0 ]
	[[ $output == *nosuch* ]]
	# the id is taken on the destination (its own cgroup: the simulated
	# hosts share one cgroup tree)
	rm -rf "$WORK/web-b" && cp -a "$WORK/web" "$WORK/web-b"
	jq '.linux.cgroupsPath = "/ferry-tb-conflict/bad" | .process.args = ["sleep", "1000"]' "$WORK/web/config.json" >"$WORK/web-b/config.json"
	fy b run -d -b "$WORK/web-b" bad </dev/null >/dev/null 2>&1
	run mig a b bad
	echo "$output"
	[ "$status" -ne 0 ]
	[[ $output == *"already exists"* ]]
	fy b delete -f bad
	# a bind source the destination lacks
	on b mv /srv/www /srv/www.away
	run mig a b bad
	on b mv /srv/www.away /srv/www
	[ "$status" -ne 0 ]
	[[ $output == *"/srv/www is missing"* ]]
	run mig a b bad --mode pre-copy
	[ "$status" -ne 0 ]
	[[ $output == *soft-dirty* ]]
	run fy a migrate bad --to 10.77.0.12:99999 --ca x --cert y --key z
	[ "$status" -ne 0 ]
	[[ $output == *"bad port"* ]]
	assert_only_on a bad
	assert_ip_on a
	[ "$(answer)" = a ]
	fy a delete -f bad
	on a ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "an untrusted certificate is refused before any request" {
	run_on_a tls
	rm -rf "$WORK/evil"
	"$REPO/scripts/mkcerts" "$WORK/evil" a=10.77.0.11 >/dev/null
	run fy a migrate tls --to 10.77.0.12 --ca "$CERTS/ca.pem" --cert "$WORK/evil/a.pem" --key "$WORK/evil/a-key.pem" --no-progress
	echo "$output"
	[ "$status" -ne 0 ]
	grep -q "refused" "$WORK/serve-b.log"
	# and a server the client does not trust
	run fy a migrate tls --to 10.77.0.12 --ca "$WORK/evil/ca.pem" --cert "$CERTS/a.pem" --key "$CERTS/a-key.pem" --no-progress
	[ "$status" -ne 0 ]
	[[ $output == *"not accepted"* ]]
	# the report says that no mode was chosen, not "auto ()"
	[[ $output == *"mode          auto (not chosen yet)"* ]]
	assert_only_on a tls
	fy a delete -f tls
	on a ip addr del "$SIP/24" dev eth0
}

# The fault matrix (every fault at every point, both modes): faults.bats.

@test "the destination agent killed during the transfer: the source keeps it" {
	run_on_a kl
	# a big file in a writable rootfs makes the transfer last
	on a sh -c "mkdir -p /run/kbundle && cp -a $WORK/web/. /run/kbundle/ && head -c 300M /dev/zero >/run/kbundle/rootfs/big"
	on a sh -c "jq '.root.readonly = false' /run/kbundle/config.json >/run/kbundle/c && mv /run/kbundle/c /run/kbundle/config.json"
	fy a delete -f kl
	fy a run -d -b /run/kbundle kl </dev/null >/dev/null 2>&1
	sleep 0.3
	mig a b kl --mode stop-copy >"$WORK/kl.out" 2>&1 &
	local mpid=$!
	# killed while the big file is on its way
	await_on_b /run/ferry-bundles/kl/rootfs/big
	pkill -KILL -f "serve --listen 10.77.0.12:$PORT"
	wait "$mpid" && st=0 || st=$?
	cat "$WORK/kl.out"
	[ "$st" -ne 0 ]
	assert_only_on a kl
	[ "$(answer)" = a ]
	serve_start b
	fy a delete -f kl
	on a rm -rf /run/kbundle
	on b rm -rf /run/ferry-bundles/kl
	on a ip addr del "$SIP/24" dev eth0
}

@test "the link cut during the transfer: the source keeps it, the destination cleans up" {
	on a sh -c "mkdir -p /run/cbundle && cp -a $WORK/web/. /run/cbundle/ && head -c 300M /dev/zero >/run/cbundle/rootfs/big"
	on a sh -c "jq '.root.readonly = false' /run/cbundle/config.json >/run/cbundle/c && mv /run/cbundle/c /run/cbundle/config.json"
	on a ip addr add "$SIP/24" dev eth0
	fy a run -d -b /run/cbundle cut </dev/null >/dev/null 2>&1
	sleep 0.3
	mig a b cut --mode stop-copy >"$WORK/cut.out" 2>&1 &
	local mpid=$!
	# cut while the big file is on its way
	await_on_b /run/ferry-bundles/cut/rootfs/big
	on b iptables -I INPUT -s 10.77.0.11 -j DROP
	wait "$mpid" && st=0 || st=$?
	on b iptables -D INPUT -s 10.77.0.11 -j DROP
	cat "$WORK/cut.out"
	[ "$st" -ne 0 ]
	assert_only_on a cut
	[ "$(answer)" = a ]
	# the destination gave up too and removed what it made
	local i
	for ((i = 0; i < 100; i++)); do
		! on b test -e /run/ferry-bundles/cut && break
		sleep 0.1
	done
	! on b test -e /run/ferry-bundles/cut
	fy a delete -f cut
	on a rm -rf /run/cbundle
	on a ip addr del "$SIP/24" dev eth0
}

@test "a peer breaking the protocol is dropped with a reason; the agent serves on" {
	local c
	for c in garbage unknown-type oversized out-of-order truncated bad-json; do
		run on a python3 "$WORK/bin/hostile-peer.py" 10.77.0.12 "$PORT" "$CERTS/ca.pem" \
			"$CERTS/a.pem" "$CERTS/a-key.pem" "$c"
		echo "$c: $output"
		[ "$status" -eq 0 ]
	done
	grep -q "bad magic" "$WORK/serve-b.log"
	grep -q "unknown record type 99" "$WORK/serve-b.log"
	grep -q "at most" "$WORK/serve-b.log"
	grep -q "RESTORE before DUMP" "$WORK/serve-b.log"
	grep -q "bad JSON" "$WORK/serve-b.log"
	grep -q "HELLO record: receive" "$WORK/serve-b.log"
	# nothing was made, and a real migration still goes through
	[ -z "$(fy b list -q)" ]
	run_on_a hp
	run mig a b hp
	[ "$status" -eq 0 ]
	assert_only_on b hp
	fy b delete -f hp
	on b ip addr del "$SIP/24" dev eth0
	assert_clean
}

@test "the agent reads the network as nobody in an empty chroot; root acts on typed requests" {
	local held=$WORK/held.out pid net="" mon i before
	# (failed sessions of earlier tests keep their CRIU logs there)
	before=$(on b ls /run/ferry-serve/)
	on a python3 "$WORK/bin/hostile-peer.py" 10.77.0.12 "$PORT" "$CERTS/ca.pem" "$CERTS/a.pem" \
		"$CERTS/a-key.pem" hold >"$held" 2>&1 &
	for ((i = 0; i < 100; i++)); do
		grep -q '^held' "$held" && break
		sleep 0.1
	done
	grep -q '^record 3 ' "$held" # HELLO_OK came back through both processes
	for pid in $(pgrep -x ferry); do
		grep -q '^Uid:[[:space:]]*65534[[:space:]]65534[[:space:]]65534[[:space:]]65534$' /proc/$pid/status 2>/dev/null && net=$pid
	done
	[ -n "$net" ]
	# no way back to root: no capability in any set, groups dropped,
	# no_new_privs, and its root is the session's empty directory
	grep -q '^Gid:[[:space:]]*65534[[:space:]]65534[[:space:]]65534[[:space:]]65534$' /proc/$net/status
	grep -q '^Groups:[[:space:]]*$' /proc/$net/status
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -q "^$c:[[:space:]]*0000000000000000$" /proc/$net/status
	done
	grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/$net/status
	[[ $(readlink /proc/$net/root) == */net ]]
	[ -z "$(ls -A /proc/$net/root/)" ]
	# only the connection, the monitor's socket and stderr are open
	[ "$(ls /proc/$net/fd | wc -l)" -le 5 ]
	# its parent, the monitor, is root
	mon=$(awk '/^PPid:/ {print $2}' /proc/$net/status)
	grep -q '^Uid:[[:space:]]*0[[:space:]]' /proc/$mon/status
	wait
	# the held session ends without a trace
	for ((i = 0; i < 50; i++)); do
		[ "$(on b ls /run/ferry-serve/)" = "$before" ] && break
		sleep 0.1
	done
	[ "$(on b ls /run/ferry-serve/)" = "$before" ]
	! kill -0 "$net" 2>/dev/null
	grep -q 'rolling back' "$WORK/serve-b.log"
	assert_clean
}

@test "an agent killed between restore and commit: the next agent removes what it restored" {
	run_on_a rc
	# the session dies right after the restore (before RESTORED goes out)
	serve_stop b
	on b env FERRY_FAULT=dst-restored-exit "$FERRY" serve --listen 10.77.0.12:$PORT --ca "$CERTS/ca.pem" \
		--cert "$CERTS/b.pem" --key "$CERTS/b-key.pem" --bundle-root /run/ferry-bundles --cgroup-parent /ferry-tb-b \
		--timeout 5000 >>"$WORK/serve-b.log" 2>&1 &
	echo $! >"$WORK/serve-b.pid"
	sleep 0.3
	run mig a b rc --mode stop-copy
	echo "$output"
	[ "$status" -ne 0 ]
	assert_only_on a rc 2>/dev/null || [[ $(status_on b rc) == running ]]
	# b still has the half-migrated container until an agent starts there
	serve_stop b
	serve_start b
	grep -q "never committed" "$WORK/serve-b.log"
	assert_only_on a rc
	assert_ip_on a
	[ "$(answer)" = a ]
	fy a delete -f rc
	on a ip addr del "$SIP/24" dev eth0
	assert_clean
}
