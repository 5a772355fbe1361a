#!/usr/bin/env bash
# Smoke test of scripts/testbed and, when built, bench's ferry-loadclient:
# up twice, the hosts' isolation, cgroups and sysfs inside a host, shared
# storage on/off, a service IP moved with gratuitous ARP, the load client
# across that move, and down leaving nothing behind.
#
# usage: tests/testbed/smoke.sh [PATH-TO-ferry-loadclient]
# Needs root. Talks only to 10.77.0.0/24 inside the testbed's namespaces.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tb=$top/scripts/testbed
lc=${1:-}
vip=10.77.0.100

pass=0
fail=0
n=0
ok() {
	n=$((n + 1))
	pass=$((pass + 1))
	echo "ok $n - $*"
}
not_ok() {
	n=$((n + 1))
	fail=$((fail + 1))
	echo "not ok $n - $*"
}
# A failed check shows what the command printed, as comments.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		[[ -z $out ]] || printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
}

[[ $(id -u) -eq 0 ]] || {
	echo "1..0 # SKIP needs root"
	exit 0
}

# Outputs of programs run inside a host go to the root file system: each
# host's /tmp is its own tmpfs.
out=$(mktemp -d /var/tmp/ferry-tb-smoke.XXXXXX)
cleanup() {
	"$tb" down >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT

"$tb" down >/dev/null 2>&1 || true
check "up" "$tb" up
check "up again (idempotent)" "$tb" up
check "status lists a, b, client" bash -c "[[ \$('$tb' hosts | tr '\n' ' ') == 'a b client ' ]]"

check "client pings a" "$tb" exec client busybox ping -c 1 -W 2 10.77.0.11
check "a pings b" "$tb" exec a busybox ping -c 1 -W 2 10.77.0.12
check "hostname inside a is a" bash -c "[[ \$('$tb' exec a hostname) == a ]]"
check "a's index.html names a" bash -c "[[ \$('$tb' exec a cat /srv/www/index.html) == a ]]"
check "b's index.html names b" bash -c "[[ \$('$tb' exec b cat /srv/www/index.html) == b ]]"

"$tb" exec a sh -c 'echo only-a > /var/lib/ferry/secret; echo only-a > /tmp/secret'
check "b cannot see a's /var/lib/ferry" bash -c "! '$tb' exec b test -e /var/lib/ferry/secret"
check "b cannot see a's /tmp" bash -c "! '$tb' exec b test -e /tmp/secret"
check "root namespace cannot see a's /var/lib/ferry" bash -c "! test -e /var/lib/ferry/secret"

check "sysfs in a shows a's devices only" bash -c "[[ \$('$tb' exec a ls /sys/class/net | tr '\n' ' ') == 'eth0 lo ' ]]"
roots=$(findmnt -rn -o TARGET -R /sys/fs/cgroup | sort | tr '\n' ' ')
check "cgroup mounts in a are the root namespace's" \
	bash -c "[[ \$('$tb' exec a findmnt -rn -o TARGET -R /sys/fs/cgroup | sort | tr '\n' ' ') == '$roots' ]]"
if [[ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]]; then
	check "cgroup v1 memory readable in a" "$tb" exec a cat /sys/fs/cgroup/memory/memory.limit_in_bytes
fi
for f in /sys/fs/cgroup/unified/cgroup.controllers /sys/fs/cgroup/cgroup.controllers; do
	[[ -e $f ]] && check "cgroup v2 readable in a ($f)" "$tb" exec a cat "$f"
done

echo shared-bytes >/var/lib/ferry-testbed/shared/probe
check "shared hidden while off" bash -c "! '$tb' exec a test -e /shared/probe"
check "testbed's own dir hidden in hosts" bash -c "! '$tb' exec a test -e /var/lib/ferry-testbed/shared/probe"
check "share on a" "$tb" share on a
check "a reads shared storage" bash -c "[[ \$('$tb' exec a cat /shared/probe) == shared-bytes ]]"
check "b still does not" bash -c "! '$tb' exec b test -e /shared/probe"
check "status shows a shared" bash -c "'$tb' status | grep -E '^a +.* on ' "
check "share off a" "$tb" share off a
check "hidden again" bash -c "! '$tb' exec a test -e /shared/probe"

for h in a b; do "$tb" exec "$h" busybox httpd -p 80 -h /srv/www; done
check "assign $vip to a" "$tb" ip-move "$vip/24" - a
check "client reaches a at $vip" bash -c "[[ \$('$tb' exec client curl -s -m 2 http://$vip/) == a ]]"
check "ip-move refuses an address outside the pool" bash -c "! '$tb' ip-move 10.77.0.12 a b"
check "ip-move refuses a FROM that lacks the address" bash -c "! '$tb' ip-move $vip b a"
check "move $vip a -> b" "$tb" ip-move "$vip" a b
# No sleep: the gratuitous ARP must already have redirected the client.
check "client reaches b right after the move" \
	bash -c "[[ \$('$tb' exec client curl -s -m 1 http://$vip/) == b ]]"
check "status shows $vip on b" bash -c "'$tb' status | grep -E '^b +.*$vip'"

if [[ -n $lc && -x $lc ]]; then
	# A copy the client host can see (its /tmp is its own).
	cp "$lc" "$out/ferry-loadclient"
	lc=$out/ferry-loadclient
	# The move starts once both modes have had an answer from b (a loaded
	# machine may take a while to start the client; a fixed sleep was not
	# enough in CI), and the run stops after it: before and after are both
	# in the record.
	rm -f "$out/ready" "$out/stop"
	"$tb" exec client "$lc" -q -d 60 -K 500 -R "$out/ready" -s "$out/stop" -m "$out/marks" \
		-j "$out/run.json" -g "$out/run.svg" "http://$vip/" &
	lcpid=$!
	for ((i = 0; i < 200; i++)); do
		[[ -e $out/ready ]] && break
		sleep 0.05
	done
	check "load client had answers from b" test -e "$out/ready"
	s=$(date +%s%N)
	"$tb" ip-move "$vip" b a
	echo "ip-move $s $(date +%s%N)" >"$out/marks"
	# busybox httpd closes every connection, so the keep-alive worker
	# connects anew; a SYN sent to b as the address left is retransmitted
	# only after 1 s, then 3 s.  A short request timeout (-K) makes it try
	# a new connection sooner.
	sleep 3
	: >"$out/stop"
	if wait "$lcpid"; then ok "load client ran"; else not_ok "load client ran"; fi
	check "load client JSON: hosts b then a, both modes" python3 -c "
import json, sys
d = json.load(open('$out/run.json'))
for m in ('fresh', 'keepalive'):
    ch = d['modes'][m]['host_changes']
    assert ch and ch[0]['from'] == 'b' and ch[-1]['to'] == 'a', (m, d['modes'][m]['hosts'], ch, d['modes'][m]['errors'])
assert len(d['marks']) == 1 and d['split'] is not None
assert d['modes']['keepalive']['keepalive']['server_supports_keepalive'] is False
"
	check "load client SVG is well-formed" python3 -c "import xml.dom.minidom as m; m.parse('$out/run.svg')"
else
	echo "# load client not given or not built: skipped its checks"
fi

pids=$(ip netns pids ferry-tb-a 2>/dev/null; ip netns pids ferry-tb-b 2>/dev/null)
check "down" "$tb" down
check "no testbed network namespace left" bash -c "! ip netns list | grep -q ferry-tb"
check "no testbed mount left" bash -c "! findmnt -rn -o TARGET,SOURCE | grep -Eq 'ferry-testbed|ferry-tb|^/shared|^/var/lib/ferry '"
# A killed daemon's parent is pid 1, which may reap it a little later: a
# zombie is gone for this purpose.
left=
for p in $pids; do
	st=$(awk '/^State:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
	[[ -n $st && $st != Z ]] && left+=" $p"
done
check "no process of the hosts left${left:+ (left:$left)}" test -z "$left"
check "no testbed directory left" bash -c "[[ ! -e /run/ferry-testbed && ! -e /var/lib/ferry-testbed && ! -e /shared ]]"

echo "1..$n"
echo "$pass passed, $fail failed"
((fail == 0))
