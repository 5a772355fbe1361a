# shellcheck shell=bash
# bench/workloads/lib.sh: what the workload scripts share. Sourced, not run.
#
# A workload script is `bench/workloads/NAME build BUNDLE`: it makes BUNDLE
# (config.json + rootfs/) for one container the migration benchmark moves.
# The bundle is relocatable (root.path is relative), so it can be built in
# the root namespace into the testbed's shared directory and run by hosts
# that see it at /shared.

WL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WL_REPO=$(cd "$WL_DIR/../.." && pwd)

# Where the benchmark puts a per-host CRIU configuration file. runc hands the
# path named by the `org.criu.config` annotation to CRIU (CRIU ignores it when
# the file is missing); the harness writes it per variant on each host (every
# host has its own /run), which is the only way to give runc 1.1 CRIU options
# it has no flag for (skip-in-flight).
WL_CRIU_CONFIG=/run/ferry-bench/criu.conf

wl_die() {
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

WL_CAPS='["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]'

# wl_gen_config BUNDLE ARGS_JSON TMPFS... [-- BIND_SRC:DST...]
#
# The seed article's container, as its `oci-runtime-tool generate` line made
# it: the host's network (no network namespace), a read-only rootfs, tmpfs
# where the program must write, and bind mounts of host directories.
#
# The one place a config.json is made: generated with `runc spec` + jq for
# now; swap the body for `ferry generate` when ferry has it.
wl_gen_config() {
	local bundle=$1 args=$2
	shift 2
	local tmpfs=() binds=()
	while (($#)); do
		[[ $1 == -- ]] && {
			shift
			binds=("$@")
			break
		}
		tmpfs+=("$1")
		shift
	done
	local tmp
	tmp=$(mktemp -d)
	(cd "$tmp" && runc spec) || wl_die "runc spec failed"
	local tmpfs_json binds_json
	tmpfs_json=$(printf '%s\n' "${tmpfs[@]}" | jq -R . | jq -s .)
	binds_json=$(printf '%s\n' "${binds[@]+"${binds[@]}"}" | jq -R 'select(length > 0) | split(":") | {src: .[0], dst: .[1]}' | jq -s .)
	jq --argjson args "$args" --argjson tmpfs "$tmpfs_json" --argjson binds "$binds_json" \
		--arg criuconf "$WL_CRIU_CONFIG" --argjson caps "$WL_CAPS" '
		.process.terminal = false
		| .process.args = $args
		| .root = {path: "rootfs", readonly: true}
		| .hostname = "ferry-bench"
		# the default capabilities of oci-runtime-tool generate (Docker set);
		# the three of runc spec are too few for nginx (chown, setuid).
		| .process.capabilities = ({bounding: $caps, effective: $caps, permitted: $caps})
		# --network host: drop the network namespace.
		| .linux.namespaces |= map(select(.type != "network"))
		# --tmpfs PATH (oci-runtime-tool: rw,nosuid,nodev, mode 1777 for /tmp).
		| .mounts += [ $tmpfs[] | {destination: ., type: "tmpfs", source: "tmpfs",
			options: ["nosuid", "nodev", (if . == "/tmp" then "mode=1777" else "mode=755" end)]} ]
		# --bind SRC:DST
		| .mounts += [ $binds[] | {destination: .dst, type: "bind", source: .src,
			options: ["rbind", "rprivate", "ro"]} ]
		| .annotations["org.criu.config"] = $criuconf
		' "$tmp/config.json" >"$bundle/config.json.tmp" || wl_die "jq failed"
	mv "$bundle/config.json.tmp" "$bundle/config.json"
	rm -rf "$tmp"
}

# The seed's own httpd settings, shared by the busybox workloads.
# shellcheck disable=SC2034 # used by the scripts that source this
WL_HTTPD_TMPFS=(/tmp /run /var/log/httpd /run/httpd)
# shellcheck disable=SC2034 # used by the scripts that source this
WL_HTTPD_BIND=(/srv/www:/var/www/html)

# wl_busybox_rootfs DIR: the busybox test rootfs.
wl_busybox_rootfs() {
	"$WL_REPO/tests/fixtures/mkrootfs-busybox" "$1" >/dev/null
}

# wl_debian_rootfs NAME DIR PACKAGE...: copy the cached debootstrap rootfs
# (built once by mkrootfs-debian) to DIR.
wl_debian_rootfs() {
	local name=$1 dir=$2 cached
	shift 2
	cached=$("$WL_DIR/mkrootfs-debian" "$name" "$@") || wl_die "no rootfs $name"
	rm -rf --one-file-system "$dir"
	cp -a "$cached" "$dir"
}

# wl_nginx_conf ROOTFS: a config of our own, because Debian's closes a
# keep-alive connection after 1000 requests (5 s of the client's load) and
# after 65 s idle: the benchmark wants one connection for the whole run.
wl_nginx_conf() {
	cat >"$1/etc/nginx/ferry-bench.conf" <<'CONF'
# Workers as root, not www-data: CRIU reads every task's rlimits with
# prlimit(), which for a task of another uid needs CAP_SYS_RESOURCE, and
# the machine the benchmark was written on withholds that capability from
# everything (CapBnd lacks bit 24), so a www-data worker cannot be dumped.
user root;
worker_processes 1;
daemon off;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_timeout 600s;
	keepalive_requests 10000000;
	default_type text/plain;
	server {
		listen 80 default_server;
		root /var/www/html;
		index index.html;
	}
}
CONF
}
