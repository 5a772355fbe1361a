#!/usr/bin/env bats
# Checkpoint and restore through CRIU, as runc does them.  Workloads verify
# their own state after restore (a counter that continues, an httpd that
# answers from the restoring host's directory).

load helpers

setup() {
	common_setup
	IMG=$(mktemp -d /var/tmp/ferry-img.XXXXXX)
	ID2="${ID}-r"
}
teardown() {
	common_teardown
	rm -rf "$IMG" "${BUNDLE2:-}"
}

counter_bundle() {
	ARGS='["sh","-c","i=0; while :; do i=$((i+1)); echo $i > /tmp/c; sleep 0.1; done"]' make_bundle '
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","nodev"]}]'
}

counter_of() {
	ferry exec "$1" cat /tmp/c
}

out_above() {
	[ "$(tail -1 "$IMG/out")" -gt "$1" ]
}

# tick_above FILE N: the last "tick-K" line in FILE has K > N
tick_above() {
	local t
	t=$(grep -o 'tick-[0-9]*' "$1" | tail -1)
	[ -n "$t" ] && [ "${t#tick-}" -gt "$2" ]
}

counter_above() {
	[ "$(counter_of "$1")" -gt "$2" ]
}

# iptables_spy DIR: iptables-restore and ip6tables-restore in DIR that log
# each run to DIR/log, then run the real ones (CRIU finds them on PATH).
iptables_spy() {
	local t real
	mkdir -p "$1"
	for t in iptables-restore ip6tables-restore; do
		real=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$t")
		printf '#!/bin/sh\necho "%s $*" >>"%s/log"\nexec %s "$@"\n' "$t" "$1" "$real" >"$1/$t"
		chmod +x "$1/$t"
	done
	: >"$1/log"
}

@test "checkpoint --help exits 0 (Podman probes it)" {
	run "$FERRY" checkpoint --help
	[ "$status" -eq 0 ]
	[[ "$output" == *--image-path* ]]
	run "$FERRY" restore --help
	[ "$status" -eq 0 ]
}

@test "a counter checkpointed and restored under a new id continues" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 3
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	[ -s "$IMG/cp/inventory.img" ]
	[ -s "$IMG/cp/descriptors.json" ]
	run ferry list -q
	[[ "$output" != *"$ID"* ]]
	assert_no_leftovers "$ID"
	# the counter's value at the checkpoint, read from the image's tmpfs
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	is_status "$ID2" running
	before=$(counter_of "$ID2")
	wait_for counter_above "$ID2" "$before"
	[ "$(ferry state "$ID2" | jq -r .status)" = running ]
	# restored into its own cgroup
	pid=$(ferry state "$ID2" | jq -r .pid)
	grep -q "/ferry/$ID2\$" "/proc/$pid/cgroup"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
	! grep -q "$FERRY_ROOT/.*/criu-root" /proc/self/mountinfo
}

@test "the seed httpd restored from another bundle serves that bundle's directory" {
	mkdir -p "$BUNDLE/www"
	echo "host-A" >"$BUNDLE/www/index.html"
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
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run wait_for curl -sf "http://127.0.0.1:$port/"
	[ "$output" = "host-A" ]
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	run curl -sf --max-time 2 "http://127.0.0.1:$port/"
	[ "$status" -ne 0 ]
	# host 2: another bundle whose bind source holds other content
	BUNDLE2=$(mktemp -d /var/tmp/ferry-bundle2.XXXXXX)
	mkdir -p "$BUNDLE2/www"
	echo "host-B" >"$BUNDLE2/www/index.html"
	jq --arg src "$BUNDLE2/www" '(.mounts[] | select(.destination == "/var/www/html") | .source) = $src' \
		"$BUNDLE/config.json" >"$BUNDLE2/config.json"
	ferry restore -d -b "$BUNDLE2" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	run wait_for curl -sf "http://127.0.0.1:$port/"
	[ "$status" -eq 0 ]
	[ "$output" = "host-B" ]
	# still read-only
	run ferry exec "$ID2" touch /etc/x
	[ "$status" -ne 0 ]
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "restore into a fresh rootfs creates the bind mount points (podman restore --import)" {
	# A rootfs that never ran the container lacks the files and
	# directories create made as bind mount points; CRIU needs them.
	counter_bundle
	cp -a "$ROOTFS_CACHE" "$BUNDLE/rootfs"
	echo data-A >"$BUNDLE/file"
	mkdir -p "$BUNDLE/dir"
	jq --arg b "$BUNDLE" '.root.path = "rootfs" | .mounts += [
		{"destination": "/etc/ferry-file", "type": "bind", "source": ($b + "/file"), "options": ["bind","ro"]},
		{"destination": "/srv/ferry/dir", "type": "bind", "source": ($b + "/dir"), "options": ["rbind","rw"]}]' \
		"$BUNDLE/config.json" >"$BUNDLE/c.json" && mv "$BUNDLE/c.json" "$BUNDLE/config.json"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 2
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	BUNDLE2=$(mktemp -d /var/tmp/ferry-bundle2.XXXXXX)
	cp -a "$ROOTFS_CACHE" "$BUNDLE2/rootfs"
	[ ! -e "$BUNDLE2/rootfs/etc/ferry-file" ]
	echo data-B >"$BUNDLE2/file"
	mkdir -p "$BUNDLE2/dir"
	sed "s#$BUNDLE/#$BUNDLE2/#g" "$BUNDLE/config.json" >"$BUNDLE2/config.json"
	ferry restore -d -b "$BUNDLE2" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	is_status "$ID2" running
	[ "$(ferry exec "$ID2" cat /etc/ferry-file)" = data-B ]
	ferry exec "$ID2" touch /srv/ferry/dir/x
	[ -e "$BUNDLE2/dir/x" ]
	v=$(counter_of "$ID2")
	wait_for counter_above "$ID2" "$v"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "restore -d --no-subreaper (containerd's shim) restores; in the foreground it is refused" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 2
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	run ferry restore --no-subreaper -b "$BUNDLE" --image-path "$IMG/cp" "$ID2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--no-subreaper needs --detach"* ]]
	assert_no_leftovers "$ID2"
	ferry restore -d --no-subreaper -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	is_status "$ID2" running
	v=$(counter_of "$ID2")
	wait_for counter_above "$ID2" "$v"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "a terminal container restores with its new pty master sent to --console-socket" {
	ARGS='["sh","-c","i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.1; done"]' make_bundle '.process.terminal = true'
	recv=$BATS_TEST_DIRNAME/../../build/tests/helpers/recvtty
	"$recv" "$BUNDLE/tty1.sock" >"$BUNDLE/tty1.out" 3>&- &
	wait_for grep -q listening "$BUNDLE/tty1.out"
	ferry run -d --console-socket "$BUNDLE/tty1.sock" -b "$BUNDLE" "$ID"
	wait_for grep -q tick-3 "$BUNDLE/tty1.out"
	# the master is outside the container: dumped as an orphan pty
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	last=$(grep -o 'tick-[0-9]*' "$BUNDLE/tty1.out" | tail -1)
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2"
	[ "$status" -ne 0 ]
	[[ "$output" == *"needs --console-socket"* ]]
	assert_no_leftovers "$ID2"
	"$recv" "$BUNDLE/tty2.sock" >"$BUNDLE/tty2.out" 3>&- &
	wait_for grep -q listening "$BUNDLE/tty2.out"
	ferry restore -d --console-socket "$BUNDLE/tty2.sock" -b "$BUNDLE" --image-path "$IMG/cp" "$ID2"
	is_status "$ID2" running
	# the counter goes on, on the new terminal
	wait_for tick_above "$BUNDLE/tty2.out" "${last#tick-}"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

# in_netns ID CMD...: CMD in the network namespace of container ID's init
in_netns() {
	local pid
	pid=$(ferry state "$1" | jq -r .pid)
	nsenter -t "$pid" -n "${@:2}"
}

@test "the container's own network namespace: left out of the image when it holds only lo; lo is up again after restore, with a server on 127.0.0.1 and the config's net sysctl" {
	port=$((20000 + RANDOM % 20000))
	mkdir -p "$BUNDLE/www"
	echo "inside" >"$BUNDLE/www/index.html"
	ARGS="[\"/usr/sbin/httpd\",\"-f\",\"-p\",\"127.0.0.1:$port\",\"-h\",\"/www\"]" make_bundle "
		.linux.sysctl = {\"net.ipv4.ip_unprivileged_port_start\": \"99\"} |
		.mounts += [{\"destination\": \"/www\", \"type\": \"bind\", \"source\": \"$BUNDLE/www\", \"options\": [\"rbind\",\"ro\"]}]"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run wait_for in_netns "$ID" curl -sf "http://127.0.0.1:$port/"
	[ "$output" = inside ]
	iptables_spy "$IMG/spy"
	PATH="$IMG/spy:$PATH" ferry checkpoint --image-path "$IMG/cp" "$ID"
	# nothing of the namespace in the image, and CRIU ran no ip/iptables
	! ls "$IMG"/cp/netdev-*.img
	! grep -q "iptables-save\|ip addr save" "$IMG/cp/dump.log"
	PATH="$IMG/spy:$PATH" ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	! grep -q "iptables-restore\|ip addr restore" "$IMG/cp/restore.log"
	# nor did it lock the network (nothing to lock in a namespace with
	# only lo): no iptables-restore at all, on either side
	[ ! -s "$IMG/spy/log" ]
	run in_netns "$ID2" ip -br addr show lo
	[[ "$output" == *UNKNOWN*127.0.0.1/8*::1/128* ]]
	[ "$(in_netns "$ID2" cat /proc/sys/net/ipv4/ip_unprivileged_port_start)" = 99 ]
	# the restored listening socket answers in the new namespace
	run wait_for in_netns "$ID2" curl -sf "http://127.0.0.1:$port/"
	[ "$output" = inside ]
	# a namespace of its own, not the host's
	[ "$(readlink "/proc/$(ferry state "$ID2" | jq -r .pid)/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "a network namespace the container could configure is dumped whole; --empty-ns network leaves it out on either side" {
	# CAP_NET_ADMIN in the bounding set: the tree may have added an address
	ARGS='["sh","-c","ip addr add 10.9.8.7/32 dev lo && touch /tmp/ok && exec sleep 1000"]' make_bundle '
		.process.capabilities.bounding += ["CAP_NET_ADMIN"] |
		.process.capabilities.effective += ["CAP_NET_ADMIN"] |
		.process.capabilities.permitted += ["CAP_NET_ADMIN"] |
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","nodev"]}]'
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for ferry exec "$ID" test -e /tmp/ok
	ferry checkpoint --leave-running --image-path "$IMG/cp" "$ID"
	ls "$IMG"/cp/netdev-*.img
	# a namespace with a tree that could reach out is locked while CRIU
	# restores it (CRIU's iptables lock and unlock)
	iptables_spy "$IMG/spy"
	PATH="$IMG/spy:$PATH" ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	grep -q "^iptables-restore -w --noflush" "$IMG/spy/log"
	run in_netns "$ID2" ip -br addr show lo
	[[ "$output" == *10.9.8.7/32* ]]
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
	# restore --empty-ns network: a fresh namespace (lo up) from that image
	ferry restore -d --empty-ns network -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	run in_netns "$ID2" ip -br addr show lo
	[[ "$output" == *127.0.0.1/8* ]]
	[[ "$output" != *10.9.8.7* ]]
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
	# checkpoint --empty-ns network: left out of the image even so
	ferry checkpoint --empty-ns network --image-path "$IMG/cp2" "$ID"
	! ls "$IMG"/cp2/netdev-*.img
	assert_no_leftovers "$ID"
	# only a network namespace can be left empty
	run ferry checkpoint --empty-ns ipc --image-path "$IMG/cp3" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *'--empty-ns "ipc": only "network"'* ]]
	run ferry restore --empty-ns mount -b "$BUNDLE" --image-path "$IMG/cp2" "$ID2"
	[ "$status" -ne 0 ]
	[[ "$output" == *'--empty-ns "mount": only "network"'* ]]
	assert_no_leftovers "$ID2"
}

@test "a network namespace joined by path (Podman's) is external: the restore joins the restoring config's" {
	ns=ferry-cr-$$
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add 10.9.8.6/32 dev lo
	port=$((20000 + RANDOM % 20000))
	mkdir -p "$BUNDLE/www"
	echo "joined" >"$BUNDLE/www/index.html"
	ARGS="[\"/usr/sbin/httpd\",\"-f\",\"-p\",\"10.9.8.6:$port\",\"-h\",\"/www\"]" make_bundle "
		(.linux.namespaces[] | select(.type == \"network\") | .path) = \"/run/netns/$ns\" |
		.mounts += [{\"destination\": \"/www\", \"type\": \"bind\", \"source\": \"$BUNDLE/www\", \"options\": [\"rbind\",\"ro\"]}]"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run wait_for ip netns exec "$ns" curl -sf "http://10.9.8.6:$port/"
	[ "$output" = joined ]
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	! ls "$IMG"/cp/netdev-*.img
	# the restoring config names a namespace that is not there: said, nothing left
	jq '(.linux.namespaces[] | select(.type == "network") | .path) = "/run/netns/nosuch-ferry"' \
		"$BUNDLE/config.json" >"$IMG/config.json"
	cp "$BUNDLE/config.json" "$IMG/config.orig"
	cp "$IMG/config.json" "$BUNDLE/config.json"
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"network namespace /run/netns/nosuch-ferry"* ]]
	assert_no_leftovers "$ID2"
	cp "$IMG/config.orig" "$BUNDLE/config.json"
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	[ "$(readlink "/proc/$(ferry state "$ID2" | jq -r .pid)/ns/net")" = "$(ip netns exec "$ns" readlink /proc/self/ns/net)" ]
	run wait_for ip netns exec "$ns" curl -sf "http://10.9.8.6:$port/"
	[ "$output" = joined ]
	ferry delete -f "$ID2"
	ip netns del "$ns"
	assert_no_leftovers "$ID2"
}

@test "restore --lsm-profile and --lsm-mount-context reach CRIU (runc's flags); a malformed profile is refused first" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 1
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	run ferry restore -d --lsm-profile bogus -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *'--lsm-profile "bogus": expected apparmor:PROFILE or selinux:CONTEXT'* ]]
	run ferry restore -d --lsm-profile apparmor: -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"the profile is empty"* ]]
	assert_no_leftovers "$ID2"
	if ! grep -qw apparmor /sys/kernel/security/lsm 2>/dev/null; then
		# CRIU itself refuses a profile of an LSM the kernel lacks: the
		# flag got to it; ferry quotes it and leaves nothing
		run ferry restore -d --lsm-profile apparmor:ferry-test -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
		[ "$status" -ne 0 ]
		[[ "$output" == *"apparmor LSM specified but apparmor not supported"*"restore.log"* ]]
		assert_no_leftovers "$ID2"
	fi
	# a mount context is CRIU's to apply (nothing to label without SELinux)
	ferry restore -d --lsm-mount-context system_u:object_r:container_file_t:s0 -b "$BUNDLE" \
		--image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	before=$(counter_of "$ID2")
	wait_for counter_above "$ID2" "$before"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "CRIU's version is kept in the state root with the binary's identity: used while it matches, asked again when the binary changes" {
	criu=${FERRY_CRIU:-/opt/ferry/criu/usr/sbin/criu}
	cp "$criu" "$IMG/criu"
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	ferry --criu "$IMG/criu" checkpoint --leave-running --image-path "$IMG/cp1" "$ID"
	line=$(sed -n 1p "$FERRY_ROOT/.criu-version")
	[[ "$line" == "$(stat -c '%d %i %s %Y' "$IMG/criu") "*" $IMG/criu" ]]
	[[ "$(sed -n 2p "$FERRY_ROOT/.criu-version")" == 4.* ]]
	# the kept answer is what ferry goes by (here made to say too old) ...
	sed -i '2s/.*/3.17.0/' "$FERRY_ROOT/.criu-version"
	run ferry --criu "$IMG/criu" checkpoint --leave-running --image-path "$IMG/cp2" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is version 3.17, too old"* ]]
	# ... until the binary changes: then CRIU is asked again
	touch "$IMG/criu"
	ferry --criu "$IMG/criu" checkpoint --leave-running --image-path "$IMG/cp3" "$ID"
	[[ "$(sed -n 2p "$FERRY_ROOT/.criu-version")" == 4.* ]]
	# not a container
	[[ "$(ferry list -q)" == "$ID" ]]
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "where /run is not a tmpfs, ferry keeps CRIU's kernel probes for its own CRIU: probed once, loaded after, per boot; the host's /run untouched" {
	[ "$(stat -f -c %T /run)" != tmpfs ] || skip "/run is a tmpfs here: CRIU keeps its own cache"
	host_had=0
	[ ! -e /run/criu.kdat ] || host_had=1
	boot=$(cat /proc/sys/kernel/random/boot_id)
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	# no cache yet: CRIU probes, saves into its private /run, ferry keeps it
	ferry checkpoint --leave-running --image-path "$IMG/cp1" "$ID"
	! grep -q "Loaded kdat cache" "$IMG/cp1/dump.log"
	[ -s "$FERRY_ROOT/.criu-kdat" ]
	[ "$(sed -n 1p "$FERRY_ROOT/.criu-kdat.key")" = "boot $boot" ]
	# later runs, dump and restore, load it
	ferry checkpoint --image-path "$IMG/cp2" "$ID"
	grep -q "Loaded kdat cache from /run/criu.kdat" "$IMG/cp2/dump.log"
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp2" "$ID" </dev/null >/dev/null 2>&1
	grep -q "Loaded kdat cache from /run/criu.kdat" "$IMG/cp2/restore.log"
	wait_for is_status "$ID" running
	# a cache from another boot is not used, and is replaced
	sed -i '1s/.*/boot 00000000-0000-0000-0000-000000000000/' "$FERRY_ROOT/.criu-kdat.key"
	ferry checkpoint --leave-running --image-path "$IMG/cp3" "$ID"
	! grep -q "Loaded kdat cache" "$IMG/cp3/dump.log"
	[ "$(sed -n 1p "$FERRY_ROOT/.criu-kdat.key")" = "boot $boot" ]
	# nothing of it on the host
	[ "$host_had" = 1 ] || [ ! -e /run/criu.kdat ]
	! grep -q " /run tmpfs" /proc/self/mountinfo
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "restore runs the config's prestart and createRuntime hooks once the namespaces exist, with the restored init's pid (runc's setup-namespaces); a failing one fails the restore and leaves nothing" {
	counter_bundle
	jq --arg out "$IMG" '.hooks = {
		"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($out)/prestart.json"]}],
		"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "cat > \($out)/createRuntime.json; test -e /proc/$(jq -r .pid \($out)/createRuntime.json)/ns/pid"]}]
	}' "$BUNDLE/config.json" >"$BUNDLE/c2" && mv "$BUNDLE/c2" "$BUNDLE/config.json"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 1
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	rm -f "$IMG"/prestart.json "$IMG"/createRuntime.json
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	pid=$(ferry state "$ID2" | jq -r .pid)
	for h in prestart createRuntime; do
		[ "$(jq -r .id "$IMG/$h.json")" = "$ID2" ]
		[ "$(jq -r .pid "$IMG/$h.json")" = "$pid" ]
		[ "$(jq -r .status "$IMG/$h.json")" = creating ]
		[ "$(jq -r .bundle "$IMG/$h.json")" = "$BUNDLE" ]
	done
	before=$(counter_of "$ID2")
	wait_for counter_above "$ID2" "$before"
	ferry checkpoint --image-path "$IMG/cp2" "$ID2"
	# a prestart hook that fails: CRIU is told no, the restore undone
	jq '.hooks.prestart[0].args = ["sh", "-c", "echo no-such-network >&2; exit 3"]' "$BUNDLE/config.json" >"$BUNDLE/c2" &&
		mv "$BUNDLE/c2" "$BUNDLE/config.json"
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp2" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"prestart"* ]]
	assert_no_leftovers "$ID2"
}

@test "checkpoint --leave-running keeps the container running" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 2
	run ferry checkpoint --leave-running --print-stats --image-path "$IMG/cp" "$ID"
	[ "$status" -eq 0 ]
	[[ "$output" == *"frozen time:"* ]]
	[[ "$output" == *"pages written:"* ]]
	[ -s "$IMG/cp/inventory.img" ]
	is_status "$ID" running
	# ferry froze the cgroup before CRIU (CRIU found it FROZEN: no
	# 100 ms FREEZING retry), and the image still records the running
	# container's freezer as THAWED
	if [ -d /sys/fs/cgroup/freezer ]; then
		grep -q "freezer.state=FROZEN" "$IMG/cp/dump.log"
		! grep -q "freezer.state=FREEZING" "$IMG/cp/dump.log"
		LC_ALL=C grep -q -a "freezer.state..THAWED" "$IMG/cp/cgroup.img"
		! LC_ALL=C grep -q -a "freezer.state..FROZEN" "$IMG/cp/cgroup.img"
	fi
	v=$(counter_of "$ID")
	wait_for counter_above "$ID" "$v"
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "checkpoint of a stopped or missing container fails clearly" {
	run ferry checkpoint --image-path "$IMG/cp" nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not exist"* ]]
	ARGS='["true"]' make_bundle
	ferry create -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	ferry start "$ID"
	wait_for is_status "$ID" stopped
	run ferry checkpoint --image-path "$IMG/cp" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"stopped, not running"* ]]
	is_status "$ID" stopped
	ferry delete "$ID"
	assert_no_leftovers "$ID"
}

@test "a process started by exec is not silently lost: checkpoint refuses, naming it, and works once it ends" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 2
	ferry exec -d "$ID" sleep 1000
	run ferry checkpoint --image-path "$IMG/cp" "$ID"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"(sleep) is in the container but not below its init"* ]]
	[ ! -e "$IMG/cp/inventory.img" ]
	is_status "$ID" running
	ferry exec "$ID" pkill sleep || ferry exec "$ID" killall sleep
	# once it is gone the checkpoint goes through
	for _ in $(seq 50); do
		run ferry checkpoint --leave-running --image-path "$IMG/cp" "$ID"
		[ "$status" -eq 0 ] && break
		sleep 0.1
	done
	[ "$status" -eq 0 ]
	is_status "$ID" running
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "pre-dump without soft-dirty, lazy pages without a page server are refused clearly" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	run ferry checkpoint --pre-dump --image-path "$IMG/cp" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"pre-dump"* ]]
	run ferry checkpoint --lazy-pages --image-path "$IMG/cp" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--lazy-pages needs --page-server"* ]]
	run ferry checkpoint --status-fd 1 --image-path "$IMG/cp" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"--status-fd only applies to --lazy-pages"* ]]
	run ferry checkpoint --lazy-pages --page-server 127.0.0.1 --image-path "$IMG/cp" "$ID"
	[ "$status" -ne 0 ]
	[[ "$output" == *"expected ADDRESS:PORT"* ]]
	is_status "$ID" running
	ferry delete -f "$ID"
}

# A shell whose heap holds 8 MiB of a known pattern and re-hashes it every
# second, a counter in a tmpfs file, and 4 MiB in /dev/shm.
lazy_bundle() {
	ARGS='["sh","-c","p=$(yes ferry-lazy-pattern | head -c 8388608); printf %s \"$p\" | md5sum > /tmp/sum0; dd if=/dev/urandom of=/dev/shm/blob bs=1M count=4 2>/dev/null; md5sum < /dev/shm/blob > /tmp/shm0; i=0; while :; do i=$((i+1)); echo $i > /tmp/c; [ $((i % 10)) = 0 ] && printf %s \"$p\" | md5sum > /tmp/sum; sleep 0.1; done"]' make_bundle '
		.mounts += [{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid","nodev"]}]'
}

sum_ok() {
	[ "$(ferry exec "$1" cat /tmp/sum 2>/dev/null)" = "$(ferry exec "$1" cat /tmp/sum0)" ]
}

@test "lazy pages: dump serves the memory, criu lazy-pages fetches it, the restored workload continues" {
	criu=${FERRY_CRIU:-/opt/ferry/criu/usr/sbin/criu}
	lazy_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 12
	wait_for sum_ok "$ID"
	port=$((20000 + RANDOM % 20000))
	mkfifo "$IMG/status"
	# the dump returns only once every page was fetched: run it aside
	ferry checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd 5 \
		--image-path "$IMG/cp" "$ID" 5>"$IMG/status" >"$IMG/dump.out" 2>&1 3>&- &
	dump=$!
	# one NUL byte once CRIU's page server listens
	run timeout 60 od -An -c -N1 "$IMG/status"
	[ "$status" -eq 0 ]
	[ "$(echo $output)" = '\0' ]
	[ -s "$IMG/cp/inventory.img" ]
	# restoring before the daemon runs is refused up front
	run ferry restore -d --lazy-pages -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"no criu lazy-pages daemon listens in $IMG/cp"* ]]
	assert_no_leftovers "$ID2"
	"$criu" lazy-pages --page-server --address 127.0.0.1 --port "$port" \
		-D "$IMG/cp" -W "$IMG/cp" -o lazy-pages.log >"$IMG/lazy.out" 2>&1 3>&- &
	lazy=$!
	wait_for test -S "$IMG/cp/lazy-pages.socket"
	ferry restore -d --lazy-pages -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	grep -q uffd "$IMG/cp/restore.log"
	is_status "$ID2" running
	before=$(counter_of "$ID2")
	wait_for counter_above "$ID2" $((before + 10))
	# the heap pattern came over intact (re-hashed after the restore)
	ferry exec "$ID2" rm /tmp/sum
	wait_for sum_ok "$ID2"
	[ "$(ferry exec "$ID2" md5sum </dev/null /dev/shm/blob | cut -c1-32)" = "$(ferry exec "$ID2" cut -c1-32 /tmp/shm0)" ]
	# the dump and the lazy-pages daemon end once everything was fetched
	wait "$dump"
	wait "$lazy"
	! ferry state "$ID" >/dev/null 2>&1
	assert_no_leftovers "$ID"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "restore onto an existing id or from a missing image fails and leaves nothing" {
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	ferry checkpoint --leave-running --image-path "$IMG/cp" "$ID"
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"already exists"* ]]
	is_status "$ID" running
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/none" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"$IMG/none"* ]]
	assert_no_leftovers "$ID2"
	mkdir "$IMG/empty"
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/empty" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"not a CRIU checkpoint"* ]]
	assert_no_leftovers "$ID2"
	ferry delete -f "$ID"
	assert_no_leftovers "$ID"
}

@test "host files the init had as stdio are handed over on restore" {
	ARGS='["sh","-c","i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done"]' make_bundle
	# create with our stdio: stdin the host's /dev/null, stdout a file
	ferry create -b "$BUNDLE" "$ID" </dev/null >"$IMG/out" 2>/dev/null
	ferry start "$ID"
	wait_for test -s "$IMG/out"
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	last=$(tail -1 "$IMG/out")
	grep -q '^0 c file\[' "$IMG/cp/ferry-stdio-external"
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	wait_for out_above "$last"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "a restore CRIU fails leaves nothing behind; a paused container stays paused" {
	mkdir -p "$BUNDLE/data"
	counter_bundle
	jq --arg src "$BUNDLE/data" '.mounts += [{"destination": "/data", "type": "bind", "source": $src, "options": ["rbind"]}]' \
		"$BUNDLE/config.json" >"$BUNDLE/c2" && mv "$BUNDLE/c2" "$BUNDLE/config.json"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	ferry pause "$ID"
	ferry checkpoint --leave-running --image-path "$IMG/cp" "$ID"
	is_status "$ID" paused
	ferry delete -f "$ID"
	# the restoring host lacks the bind source: named before CRIU runs
	rmdir "$BUNDLE/data"
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"bind mount source $BUNDLE/data (for /data)"* ]]
	assert_no_leftovers "$ID2"
	# an image without its memory pages: CRIU fails, its log is quoted
	mkdir "$BUNDLE/data"
	rm -f "$IMG"/cp/pages-*.img
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"criu restore failed"*"restore.log"* ]]
	assert_no_leftovers "$ID2"
	! grep -q "$FERRY_ROOT/.*/criu-root" /proc/self/mountinfo
}

@test "restore --manage-cgroups-mode: ignore and soft keep the bundle's memory limit, full restores the dumped one (and a pause)" {
	counter_bundle
	jq '.linux.resources.memory.limit = 67108864' "$BUNDLE/config.json" >"$BUNDLE/c2" && mv "$BUNDLE/c2" "$BUNDLE/config.json"
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 2
	[ "$(cat "/sys/fs/cgroup/memory/ferry/$ID/memory.limit_in_bytes")" = 67108864 ]
	ferry checkpoint --leave-running --image-path "$IMG/cp" "$ID"
	ferry delete -f "$ID"
	# the restoring bundle asks for another limit
	BUNDLE2=$(mktemp -d /var/tmp/ferry-bundle2.XXXXXX)
	jq '.linux.resources.memory.limit = 100663296' "$BUNDLE/config.json" >"$BUNDLE2/config.json"
	for mode in ignore soft full; do
		ferry restore -d -b "$BUNDLE2" --manage-cgroups-mode "$mode" --image-path "$IMG/cp" "$ID2-$mode" </dev/null >/dev/null 2>&1
		pid=$(ferry state "$ID2-$mode" | jq -r .pid)
		grep -q "memory:/ferry/$ID2-$mode\$" "/proc/$pid/cgroup"
		limit=$(cat "/sys/fs/cgroup/memory/ferry/$ID2-$mode/memory.limit_in_bytes")
		case $mode in
		full) [ "$limit" = 67108864 ] ;;
		*) [ "$limit" = 100663296 ] ;;
		esac
		is_status "$ID2-$mode" running
		before=$(counter_of "$ID2-$mode")
		wait_for counter_above "$ID2-$mode" "$before"
		ferry delete -f "$ID2-$mode"
		assert_no_leftovers "$ID2-$mode"
	done
	# strict refuses to reuse the container's existing cgroup: CRIU says so
	run ferry restore -d -b "$BUNDLE2" --manage-cgroups-mode strict --image-path "$IMG/cp" "$ID2-strict" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"Abort restore of existing cgroups"*"restore.log"* ]]
	assert_no_leftovers "$ID2-strict"
	# a paused container's image records the freezer as FROZEN; full
	# restores that (CRIU must not sit in the cgroup it freezes)
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 2
	ferry pause "$ID"
	ferry checkpoint --image-path "$IMG/cp-paused" "$ID"
	timeout 60 "$FERRY" --root "$FERRY_ROOT" restore -d -b "$BUNDLE2" --manage-cgroups-mode full \
		--image-path "$IMG/cp-paused" "$ID2-paused" </dev/null >/dev/null 2>&1
	is_status "$ID2-paused" paused
	ferry resume "$ID2-paused"
	before=$(counter_of "$ID2-paused")
	wait_for counter_above "$ID2-paused" "$before"
	ferry delete -f "$ID2-paused"
	assert_no_leftovers "$ID2-paused"
}

# A host-side TCP client holding one connection: each line written to the
# fifo $1 is sent, and the reply is appended to $2.
tcp_client() {
	python3 -u -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=60)
out = open(sys.argv[3], "a")
out.write("connected %d\n" % s.getsockname()[1]); out.flush()
for line in open(sys.argv[2]):
    s.sendall(line.encode())
    out.write("reply " + s.recv(4096).decode()); out.flush()
' "$@"
}

@test "--tcp-established: a connection to the container survives checkpoint and restore" {
	command -v python3 >/dev/null || skip "needs python3 for the client"
	command -v iptables >/dev/null || skip "CRIU locks host-netns connections with iptables"
	port=$((20000 + RANDOM % 20000))
	# host network: the connection is reachable from the host without a
	# veth; CRIU then locks it with an iptables rule of its own while the
	# server is down (and needs the xtables lock for that)
	ARGS="[\"nc\",\"-l\",\"-p\",\"$port\",\"-e\",\"cat\"]" make_bundle '
		.linux.namespaces |= map(select(.type != "network"))'
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	mkfifo "$IMG/ctl"
	wait_for sh -c "ss -Htln 'sport = :$port' | grep -q ."
	tcp_client "$port" "$IMG/ctl" "$IMG/replies" 3>&- &
	client=$!
	exec 7>"$IMG/ctl"
	echo ping-before >&7
	wait_for grep -q "reply ping-before" "$IMG/replies"
	run ferry checkpoint --image-path "$IMG/cp" "$ID"
	[ "$status" -ne 0 ] # without --tcp-established CRIU refuses the connection
	[[ "$output" == *"criu dump failed"*"dump.log"* ]]
	is_status "$ID" running
	ferry checkpoint --tcp-established --image-path "$IMG/cp" "$ID"
	assert_no_leftovers "$ID"
	ferry restore -d --tcp-established -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	is_status "$ID2" running
	# the same connection (same client port) answers after the restore
	echo ping-after >&7
	wait_for grep -q "reply ping-after" "$IMG/replies"
	[ "$(grep -c connected "$IMG/replies")" -eq 1 ]
	exec 7>&-
	wait "$client"
	# CRIU's lock rules went away with the restore
	! iptables -S 2>/dev/null | grep -q "dport $port\|sport $port"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "restore --console-socket: a terminal container gets a new pty that works both ways" {
	recv=$BATS_TEST_DIRNAME/../../build/tests/helpers/recvtty
	ARGS='["sh","-c","(i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done) & read l; echo got-$l; wait"]' \
		make_bundle '.process.terminal = true'
	"$recv" "$IMG/tty1.sock" >"$IMG/tty1.out" 3>&- &
	wait_for grep -q listening "$IMG/tty1.out"
	ferry run -d --console-socket "$IMG/tty1.sock" -b "$BUNDLE" "$ID"
	wait_for grep -q tick-3 "$IMG/tty1.out"
	ferry checkpoint --image-path "$IMG/cp" "$ID"
	assert_no_leftovers "$ID"
	last=$(grep -o 'tick-[0-9]*' "$IMG/tty1.out" | tail -1 | cut -d- -f2)
	# without a console socket CRIU has nowhere to put the master
	run ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"needs --console-socket"* ]]
	assert_no_leftovers "$ID2"
	"$recv" "$IMG/tty2.sock" "$(printf 'hello\r')" >"$IMG/tty2.out" 3>&- &
	wait_for grep -q listening "$IMG/tty2.out"
	ferry restore -d --console-socket "$IMG/tty2.sock" -b "$BUNDLE" --image-path "$IMG/cp" "$ID2"
	grep -q '^pty /dev/pts/' "$IMG/tty2.out"
	# input typed on the new master reaches the restored shell, and its
	# output (the same counter, continuing) comes back
	wait_for grep -q got-hello "$IMG/tty2.out"
	wait_for grep -q "tick-$((last + 3))" "$IMG/tty2.out"
	! grep -q "tick-1\b" "$IMG/tty2.out"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "--page-server without lazy pages sends the memory to a criu page-server" {
	criu=${FERRY_CRIU:-/opt/ferry/criu/usr/sbin/criu}
	counter_bundle
	ferry run -d -b "$BUNDLE" "$ID" </dev/null >/dev/null 2>&1
	wait_for counter_above "$ID" 3
	port=$((20000 + RANDOM % 20000))
	mkdir -p "$IMG/pages"
	"$criu" page-server --address 127.0.0.1 --port "$port" -D "$IMG/pages" -o page-server.log \
		>"$IMG/ps.out" 2>&1 3>&- &
	ps=$!
	wait_for sh -c "ss -Htln 'sport = :$port' | grep -q ."
	ferry checkpoint --page-server "127.0.0.1:$port" --image-path "$IMG/cp" "$ID"
	wait "$ps"
	# the memory (pagemaps and pages) went to the page server, the rest
	# to the image directory
	ls "$IMG/pages"/pages-*.img "$IMG/pages"/pagemap-*.img >/dev/null
	[ -z "$(ls "$IMG/cp" | grep '^page')" ]
	cp "$IMG/pages"/page*.img "$IMG/cp/"
	ferry restore -d -b "$BUNDLE" --image-path "$IMG/cp" "$ID2" </dev/null >/dev/null 2>&1
	before=$(counter_of "$ID2")
	wait_for counter_above "$ID2" "$before"
	ferry delete -f "$ID2"
	assert_no_leftovers "$ID2"
}

@test "concurrent create, start, two checkpoints per container and restores leave consistent state" {
	MARKER="sleep 2$$$BATS_TEST_NUMBER"
	ARGS="[\"sleep\",\"2$$$BATS_TEST_NUMBER\"]" make_bundle
	n=8
	for i in $(seq 1 $n); do
		ferry create -b "$BUNDLE" "$ID-$i" </dev/null >"$IMG/create.$i" 2>&1 &
	done
	wait
	for i in $(seq 1 $n); do
		ferry start "$ID-$i" >"$IMG/start.$i" 2>&1 &
		ferry state "$ID-$i" >/dev/null 2>&1 &
	done
	wait
	for i in $(seq 1 $n); do
		[ ! -s "$IMG/create.$i" ] && [ ! -s "$IMG/start.$i" ] || { cat "$IMG/create.$i" "$IMG/start.$i"; false; }
		is_status "$ID-$i" running
	done
	# two checkpoints of each container at once, a state racing them
	for i in $(seq 1 $n); do
		ferry checkpoint --image-path "$IMG/$i-a" "$ID-$i" >"$IMG/cp.$i-a" 2>&1 &
		ferry checkpoint --image-path "$IMG/$i-b" "$ID-$i" >"$IMG/cp.$i-b" 2>&1 &
		ferry state "$ID-$i" >/dev/null 2>&1 &
	done
	wait
	for i in $(seq 1 $n); do
		# exactly one won; the other says why and left no image behind
		won=""
		for x in a b; do
			if [ -s "$IMG/$i-$x/inventory.img" ] && ! [ -s "$IMG/cp.$i-$x" ]; then
				[ -z "$won" ] || { echo "$ID-$i: both checkpoints claim success" >&2; false; }
				won=$x
			else
				grep -q -E 'does not exist|not running|busy|locked|in use' "$IMG/cp.$i-$x" ||
					{ echo "$ID-$i/$x:"; cat "$IMG/cp.$i-$x"; false; }
			fi
		done
		[ -n "$won" ]
		echo "$won" >"$IMG/won.$i"
		assert_no_leftovers "$ID-$i"
	done
	! pgrep -f "$MARKER" >/dev/null
	# every winning image restores, all at once, and the trees run again
	for i in $(seq 1 $n); do
		ferry restore -d -b "$BUNDLE" --image-path "$IMG/$i-$(cat "$IMG/won.$i")" "$ID-$i" \
			</dev/null >"$IMG/rs.$i" 2>&1 &
	done
	wait
	for i in $(seq 1 $n); do
		[ ! -s "$IMG/rs.$i" ] || { cat "$IMG/rs.$i"; false; }
		is_status "$ID-$i" running
	done
	[ "$(pgrep -fc "$MARKER")" -eq $n ]
	for i in $(seq 1 $n); do
		ferry delete -f "$ID-$i" &
	done
	wait
	[ -z "$(ferry list -q)" ]
	for i in $(seq 1 $n); do
		assert_no_leftovers "$ID-$i"
	done
	no_marker() { ! pgrep -f "$MARKER" >/dev/null; }
	wait_for no_marker
}
