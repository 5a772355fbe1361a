/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `checkpoint` and `restore`: runc's flags, handed to the library. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "checkpoint.h"
#include "cli.h"
#include "util.h"

enum {
	OPT_IMAGE_PATH = 1000,
	OPT_WORK_PATH,
	OPT_PARENT_PATH,
	OPT_LEAVE_RUNNING,
	OPT_TCP_ESTABLISHED,
	OPT_TCP_SKIP_IN_FLIGHT,
	OPT_TCP_CLOSE,
	OPT_EXT_UNIX_SK,
	OPT_SHELL_JOB,
	OPT_FILE_LOCKS,
	OPT_LINK_REMAP,
	OPT_AUTO_DEDUP,
	OPT_PRE_DUMP,
	OPT_LAZY_PAGES,
	OPT_PAGE_SERVER,
	OPT_MANAGE_CGROUPS_MODE,
	OPT_PRINT_STATS,
	OPT_EMPTY_NS,
	OPT_STATUS_FD,
	OPT_PID_FILE,
	OPT_CONSOLE_SOCKET,
	OPT_NO_SUBREAPER,
	OPT_NO_PIVOT,
	OPT_LSM_PROFILE,
	OPT_LSM_MOUNT_CONTEXT,
};

/* runc's --empty-ns takes an OCI namespace type; CRIU can only make a
 * network namespace empty. */
static int
parse_empty_ns(const char *verb, const char *arg, bool *empty_net, ferry_error_t *err)
{
	if (strcmp(arg, "network") == 0) {
		*empty_net = true;
		return 0;
	}
	return ferry_error_set(err, EINVAL, "%s: --empty-ns \"%s\": only \"network\" can be left empty (CRIU restores "
			       "every other namespace from the image)", verb, arg);
}


int
ferry_cmd_checkpoint(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "image-path", required_argument, NULL, OPT_IMAGE_PATH },
		{ "work-path", required_argument, NULL, OPT_WORK_PATH },
		{ "parent-path", required_argument, NULL, OPT_PARENT_PATH },
		{ "leave-running", no_argument, NULL, OPT_LEAVE_RUNNING },
		{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },
		{ "tcp-skip-in-flight", no_argument, NULL, OPT_TCP_SKIP_IN_FLIGHT },
		{ "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK },
		{ "shell-job", no_argument, NULL, OPT_SHELL_JOB },
		{ "file-locks", no_argument, NULL, OPT_FILE_LOCKS },
		{ "link-remap", no_argument, NULL, OPT_LINK_REMAP },
		{ "auto-dedup", no_argument, NULL, OPT_AUTO_DEDUP },
		{ "pre-dump", no_argument, NULL, OPT_PRE_DUMP },
		{ "lazy-pages", no_argument, NULL, OPT_LAZY_PAGES },
		{ "page-server", required_argument, NULL, OPT_PAGE_SERVER },
		{ "manage-cgroups-mode", required_argument, NULL, OPT_MANAGE_CGROUPS_MODE },
		{ "print-stats", no_argument, NULL, OPT_PRINT_STATS },
		{ "empty-ns", required_argument, NULL, OPT_EMPTY_NS },
		{ "status-fd", required_argument, NULL, OPT_STATUS_FD },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[--image-path DIR] [--work-path DIR] [--leave-running] "
			    "[--tcp-established]\n"
			    "  [--tcp-skip-in-flight] [--ext-unix-sk] [--shell-job] "
			    "[--file-locks] [--link-remap]\n"
			    "  [--auto-dedup] [--manage-cgroups-mode "
			    "soft|full|strict|ignore] [--print-stats]\n"
			    "  [--pre-dump] [--parent-path DIR] [--lazy-pages] "
			    "[--page-server ADDR:PORT]\n"
			    "  [--empty-ns NS] [--status-fd FD] CONTAINER-ID";
	struct ferry_checkpoint_opts o = { 0 };
	int c;

	while ((c = ferry_cli_getopt(argc, argv, "checkpoint", "h", opts, usage, err)) != -1) {
		switch (c) {
		case OPT_IMAGE_PATH: o.image_path = optarg; break;
		case OPT_WORK_PATH: o.work_path = optarg; break;
		case OPT_PARENT_PATH: o.parent_path = optarg; break;
		case OPT_LEAVE_RUNNING: o.leave_running = true; break;
		case OPT_TCP_ESTABLISHED: o.tcp_established = true; break;
		case OPT_TCP_SKIP_IN_FLIGHT: o.tcp_skip_in_flight = true; break;
		case OPT_EXT_UNIX_SK: o.ext_unix_sk = true; break;
		case OPT_SHELL_JOB: o.shell_job = true; break;
		case OPT_FILE_LOCKS: o.file_locks = true; break;
		case OPT_LINK_REMAP: o.link_remap = true; break;
		case OPT_AUTO_DEDUP: o.auto_dedup = true; break;
		case OPT_PRE_DUMP: o.pre_dump = true; break;
		case OPT_LAZY_PAGES: o.lazy_pages = true; break;
		case OPT_PAGE_SERVER: o.page_server = optarg; break;
		case OPT_PRINT_STATS: o.print_stats = true; break;
		case OPT_MANAGE_CGROUPS_MODE:
			if (ferry_criu_cg_mode_parse(optarg, &o.manage_cgroups_mode, err) < 0)
				return -1;
			break;
		case OPT_EMPTY_NS:
			if (parse_empty_ns("checkpoint", optarg, &o.empty_net, err) < 0)
				return -1;
			break;
		case OPT_STATUS_FD: {
			int64_t fd;
			if (ferry_parse_i64(optarg, &fd) < 0 || fd < 0 || fd > INT_MAX)
				return ferry_error_set(err, EINVAL, "checkpoint: --status-fd \"%s\" is not a descriptor",
						       optarg);
			o.has_status_fd = true;
			o.status_fd = (int) fd;
			break;
		}
		default: return -1;
		}
	}
	if (ferry_cli_need_args(argc, argv, 1, 1, "checkpoint", usage, err) < 0)
		return -1;
	o.id = argv[optind];
	return ferry_container_checkpoint(ctx, &o, err);
}

int
ferry_cmd_restore(ferry_ctx_t *ctx, int argc, char **argv, ferry_error_t *err)
{
	static const struct option opts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "bundle", required_argument, NULL, 'b' },
		{ "image-path", required_argument, NULL, OPT_IMAGE_PATH },
		{ "work-path", required_argument, NULL, OPT_WORK_PATH },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
		{ "tcp-established", no_argument, NULL, OPT_TCP_ESTABLISHED },
		{ "tcp-close", no_argument, NULL, OPT_TCP_CLOSE },
		{ "ext-unix-sk", no_argument, NULL, OPT_EXT_UNIX_SK },
		{ "shell-job", no_argument, NULL, OPT_SHELL_JOB },
		{ "file-locks", no_argument, NULL, OPT_FILE_LOCKS },
		{ "auto-dedup", no_argument, NULL, OPT_AUTO_DEDUP },
		{ "manage-cgroups-mode", required_argument, NULL, OPT_MANAGE_CGROUPS_MODE },
		{ "empty-ns", required_argument, NULL, OPT_EMPTY_NS },
		{ "lazy-pages", no_argument, NULL, OPT_LAZY_PAGES },
		{ "no-subreaper", no_argument, NULL, OPT_NO_SUBREAPER },
		{ "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
		{ "lsm-profile", required_argument, NULL, OPT_LSM_PROFILE },
		{ "lsm-mount-context", required_argument, NULL, OPT_LSM_MOUNT_CONTEXT },
		{ "print-stats", no_argument, NULL, OPT_PRINT_STATS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = "[-d] [-b BUNDLE] [--image-path DIR] [--work-path DIR] [--pid-file "
			    "FILE]\n"
			    "  [--tcp-established] [--tcp-close] [--ext-unix-sk] [--shell-job] "
			    "[--file-locks]\n"
			    "  [--auto-dedup] [--manage-cgroups-mode MODE] [--print-stats] "
			    "[--no-pivot]\n"
			    "  [--console-socket PATH] [--empty-ns NS] [--lazy-pages] "
			    "[--no-subreaper]\n"
			    "  [--lsm-profile P] [--lsm-mount-context C] CONTAINER-ID";
	struct ferry_restore_opts o = { 0 };
	int c, status = 0;

	while ((c = ferry_cli_getopt(argc, argv, "restore", "db:h", opts, usage, err)) != -1) {
		switch (c) {
		case 'd': o.detach = true; break;
		case 'b': o.bundle = optarg; break;
		case OPT_IMAGE_PATH: o.image_path = optarg; break;
		case OPT_WORK_PATH: o.work_path = optarg; break;
		case OPT_PID_FILE: o.pid_file = optarg; break;
		case OPT_TCP_ESTABLISHED: o.tcp_established = true; break;
		case OPT_TCP_CLOSE: o.tcp_close = true; break;
		case OPT_EXT_UNIX_SK: o.ext_unix_sk = true; break;
		case OPT_SHELL_JOB: o.shell_job = true; break;
		case OPT_FILE_LOCKS: o.file_locks = true; break;
		case OPT_AUTO_DEDUP: o.auto_dedup = true; break;
		case OPT_PRINT_STATS: o.print_stats = true; break;
		/* ferry never pivots for CRIU's restore (CRIU sets up the root itself). */
		case OPT_NO_PIVOT: break;
		case OPT_MANAGE_CGROUPS_MODE:
			if (ferry_criu_cg_mode_parse(optarg, &o.manage_cgroups_mode, err) < 0)
				return -1;
			break;
		case OPT_CONSOLE_SOCKET: o.console_socket = optarg; break;
		case OPT_EMPTY_NS:
			if (parse_empty_ns("restore", optarg, &o.empty_net, err) < 0)
				return -1;
			break;
		case OPT_LAZY_PAGES: o.lazy_pages = true; break;
		case OPT_NO_SUBREAPER: o.no_subreaper = true; break;
		case OPT_LSM_PROFILE:
			/* CRIU's form: the LSM, a colon, its profile or context */
			if (strncmp(optarg, "apparmor:", 9) != 0 && strncmp(optarg, "selinux:", 8) != 0)
				return ferry_error_set(err, EINVAL,
						       "restore: --lsm-profile \"%s\": expected apparmor:PROFILE or "
						       "selinux:CONTEXT", optarg);
			if (strchr(optarg, ':')[1] == '\0')
				return ferry_error_set(err, EINVAL, "restore: --lsm-profile \"%s\": the %s is empty",
						       optarg, optarg[0] == 'a' ? "profile" : "context");
			o.lsm_profile = optarg;
			break;
		case OPT_LSM_MOUNT_CONTEXT:
			if (*optarg == '\0')
				return ferry_error_set(err, EINVAL, "restore: --lsm-mount-context is empty");
			o.lsm_mount_context = optarg;
			break;
		default: return -1;
		}
	}
	if (ferry_cli_need_args(argc, argv, 1, 1, "restore", usage, err) < 0)
		return -1;
	o.id = argv[optind];
	if (ferry_container_restore(ctx, &o, &status, err) < 0)
		return -1;
	return status;
}
