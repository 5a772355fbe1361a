# Shared set-up for ferry's CLI tests (bats).
# Every test gets its own state root and bundle; teardown deletes what is
# left and fails the test if anything leaked (state dir, cgroup, mount,
# process).

FERRY=${FERRY:-$BATS_TEST_DIRNAME/../../build/ferry}
ROOTFS_CACHE=${ROOTFS_CACHE:-/var/tmp/ferry-test-rootfs}

ferry() {
	"$FERRY" --root "$FERRY_ROOT" "$@"
}

# A busybox rootfs shared read-only by all tests (built once).
ensure_rootfs() {
	if [ ! -x "$ROOTFS_CACHE/bin/busybox" ]; then
		"$BATS_TEST_DIRNAME/../fixtures/mkrootfs-busybox" "$ROOTFS_CACHE" >/dev/null
	fi
}

common_setup() {
	ensure_rootfs
	FERRY_ROOT=$(mktemp -d /run/ferry-test.XXXXXX)
	BUNDLE=$(mktemp -d /var/tmp/ferry-bundle.XXXXXX)
	export FERRY_ROOT BUNDLE
	# test ids are unique per test so cgroup leftovers are attributable
	ID="t$$-${BATS_TEST_NUMBER}"
}

# make_bundle [jq-filter]: default spec with the shared rootfs, no terminal,
# args from $ARGS (JSON array) when set, plus the given jq filter.
make_bundle() {
	local filter=${1:-.}
	(cd "$BUNDLE" && "$FERRY" spec) || return 1
	jq --arg root "$ROOTFS_CACHE" --argjson args "${ARGS:-[\"sleep\",\"1000\"]}" \
		'.root.path = $root | .process.terminal = false | .process.args = $args | '"$filter" \
		"$BUNDLE/config.json" >"$BUNDLE/config.json.new" && mv "$BUNDLE/config.json.new" "$BUNDLE/config.json"
}

cgroup_dirs_for() {
	local id=$1 d
	for d in /sys/fs/cgroup/*/ferry/"$id" /sys/fs/cgroup/ferry/"$id"; do
		[ -e "$d" ] && echo "$d"
	done
	return 0
}

# Fails (and says what) when anything of container $1 is left behind.
assert_no_leftovers() {
	local id=$1 left
	if [ -e "$FERRY_ROOT/$id" ]; then
		echo "leftover state dir $FERRY_ROOT/$id" >&2
		return 1
	fi
	left=$(cgroup_dirs_for "$id")
	if [ -n "$left" ]; then
		echo "leftover cgroups: $left" >&2
		return 1
	fi
	if grep -q "$BUNDLE" /proc/self/mountinfo; then
		echo "leftover mounts under $BUNDLE" >&2
		return 1
	fi
	if [ -n "${MARKER:-}" ] && pgrep -f "$MARKER" >/dev/null; then
		echo "leftover processes: $(pgrep -af "$MARKER")" >&2
		return 1
	fi
	return 0
}

common_teardown() {
	local id
	if [ -d "$FERRY_ROOT" ]; then
		for id in $(ls "$FERRY_ROOT" 2>/dev/null); do
			"$FERRY" --root "$FERRY_ROOT" delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	rm -rf "$FERRY_ROOT" "$BUNDLE"
}

# wait_for CMD...: retries for up to 5 s
wait_for() {
	local i
	for i in $(seq 1 100); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

status_of() {
	ferry state "$1" | jq -r .status
}

is_status() {
	[ "$(status_of "$1")" = "$2" ]
}
