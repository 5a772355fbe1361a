/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `ferry generate`: write a config.json the way oci-runtime-tool's
 * `generate` does, from its default spec (or a template) plus its flags.
 *
 * The flags are the library's interface, not just the CLI's: every error
 * names the flag and what it accepts ("generate: --bind \"/a\": expected
 * SRC:DST[:OPTIONS]"), and the order in which flags take effect is fixed
 * here (runtime-tools' order), not by the order on the command line. The CLI
 * only maps option names to keys with ferry_generate_flags[].
 */
#ifndef FERRY_GENERATE_H
#define FERRY_GENERATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* What runtime-tools writes as ociVersion (its vendored runtime-spec). */
#define FERRY_GENERATE_OCI_VERSION "1.0.2-dev"

enum ferry_generate_key {
	FERRY_GEN_ARGS = 1,
	FERRY_GEN_ENV,
	FERRY_GEN_HOSTNAME,
	FERRY_GEN_LABEL,
	FERRY_GEN_ROOTFS_PATH,
	FERRY_GEN_ROOTFS_READONLY,
	FERRY_GEN_UID,
	FERRY_GEN_GID,
	FERRY_GEN_USERNAME,
	FERRY_GEN_GROUPS,
	FERRY_GEN_CWD,
	FERRY_GEN_TERMINAL,
	FERRY_GEN_NO_NEW_PRIVILEGES,
	FERRY_GEN_APPARMOR,
	FERRY_GEN_SELINUX_LABEL,
	FERRY_GEN_MOUNT_LABEL,
	FERRY_GEN_CGROUPS_PATH,
	FERRY_GEN_MASKED_PATHS,
	FERRY_GEN_READONLY_PATHS,
	FERRY_GEN_SYSCTL,
	FERRY_GEN_PRIVILEGED,
	FERRY_GEN_CAP_ADD,
	FERRY_GEN_CAP_DROP,
	FERRY_GEN_CAP_DROP_ALL,
	FERRY_GEN_UIDMAPPINGS,
	FERRY_GEN_GIDMAPPINGS,
	/* the per-namespace shortcuts of the 2016 CLI: host | "" | /path */
	FERRY_GEN_NS_NETWORK,
	FERRY_GEN_NS_PID,
	FERRY_GEN_NS_MOUNT,
	FERRY_GEN_NS_IPC,
	FERRY_GEN_NS_UTS,
	FERRY_GEN_NS_USER,
	FERRY_GEN_NS_CGROUP,
	FERRY_GEN_NAMESPACE_REMOVE_ALL,
	FERRY_GEN_NAMESPACE_ADD,
	FERRY_GEN_NAMESPACE_REMOVE,
	FERRY_GEN_TMPFS,
	FERRY_GEN_MOUNT_CGROUPS,
	FERRY_GEN_BIND,
	FERRY_GEN_MOUNTS_REMOVE_ALL,
	FERRY_GEN_MOUNTS_REMOVE,
	FERRY_GEN_MOUNTS_ADD,
	FERRY_GEN_HOOKS_PRESTART_REMOVE_ALL,
	FERRY_GEN_HOOKS_PRESTART_ADD,
	FERRY_GEN_HOOKS_POSTSTART_REMOVE_ALL,
	FERRY_GEN_HOOKS_POSTSTART_ADD,
	FERRY_GEN_HOOKS_POSTSTOP_REMOVE_ALL,
	FERRY_GEN_HOOKS_POSTSTOP_ADD,
	FERRY_GEN_ROOTFS_PROPAGATION,
	FERRY_GEN_OOM_SCORE_ADJ,
	FERRY_GEN_CPU_SHARES,
	FERRY_GEN_CPU_QUOTA,
	FERRY_GEN_CPU_PERIOD,
	FERRY_GEN_CPUS,
	FERRY_GEN_MEMS,
	FERRY_GEN_MEM_LIMIT,
	FERRY_GEN_MEM_RESERVATION,
	FERRY_GEN_MEM_SWAP,
	FERRY_GEN_PIDS_LIMIT,
	FERRY_GEN_RLIMITS_REMOVE_ALL,
	FERRY_GEN_RLIMITS_ADD,
	FERRY_GEN_RLIMITS_REMOVE,
	FERRY_GEN__MAX,
};

/* One flag name as typed after "--". Several names may share a key (the
 * 2016 name and the current one: --read-only and --rootfs-readonly). */
struct ferry_generate_flag {
	const char *name;
	enum ferry_generate_key key;
	enum {
		FERRY_GEN_VALUE,      /* --flag VALUE or --flag=VALUE */
		FERRY_GEN_BOOL,       /* --flag, or --flag=true|false */
	} arg;
	const char *metavar; /* for --help, NULL for booleans */
	const char *help;    /* NULL: an alias, left out of --help */
};

/* Every flag, terminated by { NULL }. */
extern const struct ferry_generate_flag ferry_generate_flags[];

struct ferry_generate_item {
	enum ferry_generate_key key;
	const char *name;  /* the flag as given, for messages ("read-only") */
	const char *value; /* a boolean's is NULL (true) or "true"/"false" */
};

/* The flags in command-line order. Values are borrowed (argv), not owned. */
struct ferry_generate_opts {
	struct ferry_generate_item *items;
	size_t n;
};

void ferry_generate_opts_add(struct ferry_generate_opts *o, enum ferry_generate_key key, const char *name,
			     const char *value);
void ferry_generate_opts_clear(struct ferry_generate_opts *o);
/* Looks a flag up by name (without "--"); NULL if unknown. */
const struct ferry_generate_flag *ferry_generate_flag_find(const char *name);

/* runtime-tools' generate.New("linux"), as a new reference. */
json_t *ferry_generate_default_spec(void);

/*
 * Applies o to template_json (NULL: runtime-tools' default Linux spec) and
 * returns the result as indented JSON in *out_json (caller frees).
 */
int ferry_generate(const char *template_json, const struct ferry_generate_opts *o, char **out_json,
		   ferry_error_t *err);

/*
 * The verb's whole job: read template_path (NULL: the default), apply o,
 * write to output_path through a temporary file and rename (NULL: stdout).
 */
int ferry_generate_file(const char *template_path, const struct ferry_generate_opts *o, const char *output_path,
			ferry_error_t *err);

#endif
