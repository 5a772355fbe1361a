# Shared set-up for the tests that drive ferry through real container
# engines (podman.bats, containerd.bats). Everything an engine writes lives
# under one private directory per test file: storage, run state, config,
# ferry's own state root and a cgroup parent, all removed at the end.

# The provisioned CRIU (scripts/install-deps): Podman asks go-criu, which
# looks for `criu` on PATH, whether checkpointing is possible at all.
FERRY_CRIU_BIN=${FERRY_CRIU_BIN:-/opt/ferry/criu/usr/sbin/criu}

require_engine() {
	local bin
	for bin in "$@"; do
		command -v "$bin" >/dev/null ||
			{ echo "$bin is not installed: run scripts/install-deps" >&2; return 1; }
	done
}

# pm_store_setup DIR: a private Podman store under DIR whose OCI runtime is
# ferry. Sets PM_DIR and FERRY_ROOT, exports CONTAINERS_CONF. Call pm as the
# podman command.
#
# ferry keeps its default state root (/run/ferry): Podman 4.3 does not pass
# --runtime-flag on to the `podman container cleanup` it has conmon run
# when a container exits, so a private --root would be used by some of the
# runtime calls and not by others. Container ids are 64 random hex digits,
# so the tests only ever look at their own entries there.
pm_store_setup() {
	PM_DIR=$1
	FERRY_ROOT=${FERRY_DEFAULT_ROOT:-/run/ferry}
	PM_CGROUP_PARENT=/ferry-podman-test-$$
	mkdir -p "$PM_DIR"/{root,run,tmp,cni}
	# nofile/nproc: Podman's defaults for root are 1048576, above this
	# host's hard limits, and raising a hard limit needs CAP_SYS_RESOURCE
	# (runc would fail the same way). cgroupfs: ferry has no systemd driver.
	cat >"$PM_DIR/containers.conf" <<-EOF
		[containers]
		default_ulimits = ["nofile=1024:4096", "nproc=4096:4096"]
		[engine]
		cgroup_manager = "cgroupfs"
		events_logger = "file"
		runtime = "ferry"
		[engine.runtimes]
		ferry = ["$FERRY"]
	EOF
	export CONTAINERS_CONF=$PM_DIR/containers.conf PM_DIR FERRY_ROOT PM_CGROUP_PARENT
}

pm() {
	podman --root "$PM_DIR/root" --runroot "$PM_DIR/run" --tmpdir "$PM_DIR/tmp" \
		--storage-driver overlay --network-config-dir "$PM_DIR/cni" "$@"
}

# pm_import_busybox NAME: the test rootfs as an image, made offline.
pm_import_busybox() {
	ensure_rootfs
	tar -C "$ROOTFS_CACHE" -cf "$PM_DIR/rootfs.tar" . &&
		pm import "$PM_DIR/rootfs.tar" "$1" >/dev/null
}

# Removes every container and image, the cgroup parent, then the store.
pm_store_teardown() {
	[ -n "${PM_DIR:-}" ] && [ -d "$PM_DIR" ] || return 0
	pm pod rm -af -t 0 >/dev/null 2>&1 || true
	pm rm -af -t 0 >/dev/null 2>&1 || true
	pm rmi -af >/dev/null 2>&1 || true
	remove_cgroup_tree "$PM_CGROUP_PARENT"
	unmount_under "$PM_DIR"
	rm -rf "$PM_DIR"
}

# remove_cgroup_tree PATH: rmdir PATH (relative to each hierarchy) and its
# subdirectories, deepest first, in every hierarchy that has it.
remove_cgroup_tree() {
	local d
	for d in /sys/fs/cgroup/*"$1" /sys/fs/cgroup"$1"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

unmount_under() {
	local mp
	awk -v p="$1" 'index($5, p) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r mp; do umount -l "$mp" 2>/dev/null || true; done
}

# ferry_forgot ID...: true when ferry's state root has none of the ids
# (says which one it still has otherwise).
ferry_forgot() {
	local id
	for id in "$@"; do
		[ ! -e "$FERRY_ROOT/$id" ] || { echo "left in ferry's root: $id" >&2; return 1; }
	done
	return 0
}
