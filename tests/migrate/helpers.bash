# Shared set-up of the two-host migration tests: the testbed (hosts a and b
# in their own network and mount namespaces, client), a CA and host
# certificates, `ferry serve` on both hosts, and a workload that checks its
# own state: httpd on :80 answering the host's bind-mounted name, httpd on
# :81 serving a counter that must keep counting across migrations, and a
# TCP echo service on :7000 whose established connection must survive.

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
WORK=/var/tmp/ferry-migrate-tests
BUILT_FERRY=${FERRY:-$REPO/build/ferry}
# the copy suite_setup makes (see there)
FERRY=$WORK/bin/ferry
TB=$REPO/scripts/testbed
SIP=10.77.0.100
CERTS=$WORK/certs
PORT=7070

addr_of() { case $1 in a) echo 10.77.0.11 ;; b) echo 10.77.0.12 ;; esac; }
other() { [[ $1 == a ]] && echo b || echo a; }
on() { "$TB" exec "$@"; }
fy() { local h=$1; shift; on "$h" "$FERRY" "$@"; }

# serve_start HOST [VAR=VALUE...] [-- SERVE-ARGS...]: the agent on HOST,
# with those variables in its environment and those extra options.
serve_start() {
	local h=$1 envs=()
	shift
	while [[ $# -gt 0 && $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	[[ ${1:-} == -- ]] && shift
	# emptied here, not by the background job's redirection: that may
	# happen after the wait below has read the previous agent's lines
	: >"$WORK/serve-$h.log"
	on "$h" env "${envs[@]}" "$FERRY" serve --listen "$(addr_of "$h"):$PORT" --ca "$CERTS/ca.pem" \
		--cert "$CERTS/$h.pem" --key "$CERTS/$h-key.pem" --bundle-root "/run/ferry-bundles" \
		--cgroup-parent "/ferry-tb-$h" --timeout 5000 "$@" >>"$WORK/serve-$h.log" 2>&1 &
	echo $! >"$WORK/serve-$h.pid"
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "listening on" "$WORK/serve-$h.log" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "serve on $h did not start:" >&2
	cat "$WORK/serve-$h.log" >&2
	return 1
}

serve_stop() {
	local h=$1 pid
	pid=$(cat "$WORK/serve-$h.pid" 2>/dev/null) || return 0
	# the agent runs under `testbed exec`: its children are ours to stop
	pkill -TERM -P "$pid" 2>/dev/null || true
	kill "$pid" 2>/dev/null || true
	pkill -f "serve --listen $(addr_of "$h"):$PORT" 2>/dev/null || true
	rm -f "$WORK/serve-$h.pid"
	# gone, sessions included (one that still rolls back holds the work
	# root's lock: the next agent would refuse to start)
	local i
	for ((i = 0; i < 100; i++)); do
		pgrep -f "serve --listen $(addr_of "$h"):$PORT" >/dev/null || return 0
		sleep 0.1
	done
	echo "serve on $h still runs after 10 s: $(pgrep -af "serve --listen $(addr_of "$h"):$PORT")" >&2
}

# run_on_a ID [BUNDLE]: the workload (default $WORK/web) running on a
# behind the service IP, once its counter answers.
run_on_a() {
	local id=$1 bundle=${2:-$WORK/web} i
	on a ip addr add "$SIP/24" dev eth0 2>/dev/null || true
	fy a run -d -b "$bundle" "$id" </dev/null >/dev/null 2>&1
	for ((i = 0; i < 60; i++)); do
		[[ $(answer 81 count) =~ ^[0-9]+$ ]] && return 0
		sleep 0.05
	done
	return 1
}

# mig FROM TO ID [ARGS...]: ferry migrate run on FROM, with the
# variables in MIG_ENV (e.g. MIG_ENV=(FERRY_FAULT=src-dump:stall)).
MIG_ENV=()
mig() {
	local from=$1 to=$2 id=$3
	shift 3
	on "$from" env "${MIG_ENV[@]}" "$FERRY" migrate "$id" --to "$(addr_of "$to")" --ca "$CERTS/ca.pem" \
		--cert "$CERTS/$from.pem" --key "$CERTS/$from-key.pem" --move-ip "$SIP/24" --no-progress --timeout 5000 "$@"
}

# stalled FILE POINT: the pid that stands still at POINT (it said so in FILE).
stalled() {
	local i l
	for ((i = 0; i < 300; i++)); do
		l=$(grep -o "stalled at $2 (pid [0-9]*)" "$1" 2>/dev/null | tail -n1)
		[[ -n $l ]] && { l=${l##* }; echo "${l%)}"; return 0; }
		sleep 0.05
	done
	echo "nothing stalled at $2: $(cat "$1")" >&2
	return 1
}

# await_on_b PATH: until PATH exists on b (a file the agent writes in
# place: a transfer is under way), looked at through the agent's root
# rather than by entering b each time; says how far it got.
await_on_b() {
	local spid i
	for spid in $(pgrep -f "serve --listen 10.77.0.12:$PORT"); do
		[[ -d /proc/$spid/root/run/ferry-bundles ]] && break
	done
	for ((i = 0; i < 500; i++)); do
		[[ -e /proc/$spid/root$1 ]] && break
		sleep 0.01
	done
	echo "$1 on b after $i polls of 10 ms: $(stat -c '%s bytes' "/proc/$spid/root$1" 2>&1 || true)"
}

# cgroups_of HOST ID: the cgroup directories of ID under HOST's agent's
# --cgroup-parent, in every hierarchy (v1 controllers, hybrid, v2).
cgroups_of() {
	on "$1" sh -c "ls -d /sys/fs/cgroup/ferry-tb-$1/$2 /sys/fs/cgroup/*/ferry-tb-$1/$2 2>/dev/null" || true
}

# The counter workload's bundle (read-only busybox rootfs, host network).
make_workload() {
	local bundle=$1
	rm -rf "$bundle"
	"$REPO/bench/workloads/httpd" build "$bundle" >/dev/null
	jq '.process.args = ["sh", "-c", "httpd -p 80 -h /var/www/html; httpd -p 81 -h /tmp; nc -ll -p 7000 -e cat & i=0; while :; do i=$((i+1)); echo $i >/tmp/count; sleep 0.05; done"]
		| del(.annotations)' "$bundle/config.json" >"$bundle/c" && mv "$bundle/c" "$bundle/config.json"
}

status_on() {
	local j
	j=$(fy "$1" state "$2" 2>/dev/null) || { echo none; return 0; }
	jq -r .status <<<"$j"
}

# Exactly one host runs the container, the other has no trace of it.
assert_only_on() {
	local h=$1 id=$2 o
	o=$(other "$h")
	[[ $(status_on "$h" "$id") == running ]] || { echo "$id is not running on $h ($(status_on "$h" "$id"))" >&2; return 1; }
	[[ $(status_on "$o" "$id") == none ]] || { echo "$id also on $o ($(status_on "$o" "$id"))" >&2; return 1; }
	if on "$o" sh -c "ls /run/ferry/$id" >/dev/null 2>&1; then
		echo "state dir of $id left on $o" >&2
		return 1
	fi
}

# The service IP is on exactly that host.
assert_ip_on() {
	local h=$1 o
	o=$(other "$h")
	on "$h" ip -o addr show | grep -q " $SIP/" || { echo "$SIP not on $h" >&2; return 1; }
	! on "$o" ip -o addr show | grep -q " $SIP/" || { echo "$SIP still on $o" >&2; return 1; }
}

answer() { on client curl -s -m 3 "http://$SIP:${1:-80}/${2:-}"; }

# No memory images, pages sockets or CRIU DROP rules left on either host
# (a failed session keeps its CRIU logs, and only those).
assert_clean() {
	local h left i
	for h in a b; do
		# the agent's session may still be tidying up after BYE
		for ((i = 0; i < 30; i++)); do
			left=$(on "$h" sh -c 'ls -d /run/ferry-serve/*/images /run/ferry-serve/*/pages.sock /run/ferry-migrate/*/images/pages-* 2>/dev/null; true')
			[[ -z $left ]] && break
			sleep 0.1
		done
		if [[ -n $left ]]; then
			echo "leftovers on $h: $left" >&2
			return 1
		fi
		if on "$h" iptables -S | grep -q 0xc114; then
			echo "CRIU network-lock rules left on $h" >&2
			return 1
		fi
		# the hold's rules go once its packets are through (nethold.h)
		for ((i = 0; i < 30; i++)); do
			on "$h" iptables -S | grep -q ferry-hold || break
			sleep 0.1
		done
		if on "$h" iptables -S | grep -q ferry-hold; then
			echo "hold rules left on $h: $(on "$h" iptables -S | grep ferry-hold)" >&2
			return 1
		fi
	done
}

# A TCP client in the client host holding one connection to :7000: sends a
# line now, another when $WORK/go appears, and writes what came back.
tcp_client_start() {
	rm -f "$WORK/go" "$WORK/tcp.out"
	on client python3 -c '
import socket, sys, os, time
s = socket.create_connection(("'"$SIP"'", 7000), timeout=5)
s.sendall(b"one\n"); a = s.recv(100)
open("'"$WORK"'/tcp.ready", "w").write(a.decode())
while not os.path.exists("'"$WORK"'/go"): time.sleep(0.05)
s.settimeout(10)
s.sendall(b"two\n"); b = s.recv(100)
open("'"$WORK"'/tcp.out", "w").write(a.decode() + b.decode())
' >"$WORK/tcp.log" 2>&1 &
	TCP_PID=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -s $WORK/tcp.ready ]] && { rm -f "$WORK/tcp.ready"; return 0; }
		sleep 0.05
	done
	echo "tcp client did not connect: $(cat "$WORK/tcp.log")" >&2
	return 1
}

tcp_client_check() {
	touch "$WORK/go"
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -s $WORK/tcp.out ]] && break
		sleep 0.05
	done
	[[ $(cat "$WORK/tcp.out" 2>/dev/null) == $'one\ntwo' ]] || {
		echo "tcp client: $(cat "$WORK/tcp.out" 2>/dev/null) / $(cat "$WORK/tcp.log")" >&2
		return 1
	}
}

# Whatever an earlier run or a person left on the simulated hosts.
reset_hosts() {
	local h id
	pkill -f "serve --listen 10.77.0.1[12]:$PORT" 2>/dev/null || true
	for h in a b; do
		for id in $(fy "$h" list -q 2>/dev/null); do fy "$h" delete -f "$id" >/dev/null 2>&1 || true; done
		on "$h" ip addr del "$SIP/24" dev eth0 2>/dev/null || true
	done
}

suite_setup() {
	mkdir -p "$WORK/bin"
	# The hosts have their own /tmp and /run: a checkout there would be out
	# of their sight, so what runs inside them is copied where they see it.
	cp --remove-destination "$BUILT_FERRY" "$WORK/bin/ferry"
	cp "$BATS_TEST_DIRNAME/hostile-peer.py" "$WORK/bin/"
	"$TB" up >/dev/null
	reset_hosts
	[[ -s $CERTS/a.pem ]] || "$REPO/scripts/mkcerts" "$CERTS" a=10.77.0.11 b=10.77.0.12 >/dev/null
	make_workload "$WORK/web"
	serve_start a
	serve_start b
}

suite_teardown() {
	local h id
	for h in a b; do
		for id in $(fy "$h" list -q 2>/dev/null); do fy "$h" delete -f "$id" >/dev/null 2>&1 || true; done
		on "$h" ip addr del "$SIP/24" dev eth0 2>/dev/null || true
	done
	serve_stop a
	serve_stop b
	"$TB" down >/dev/null 2>&1 || true
}
