/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * linux.seccomp through libseccomp.
 *
 * The filter is compiled when the container is created, so that a bad
 * profile fails `create` with a message naming its place in the config,
 * and loaded as the very last step before execve, so that as few of the
 * runtime's own syscalls as possible run under the container's filter.
 */
#define LOG_PREFIX "seccomp: "

#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <seccomp.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct ferry_seccomp_filter {
	scmp_filter_ctx ctx;
};

enum action_kind {
	ACT_PLAIN,  /* no errno */
	ACT_ERRNO,  /* SCMP_ACT_ERRNO(errnoRet) */
	ACT_TRACE,  /* SCMP_ACT_TRACE(errnoRet) */
	ACT_NOTIFY, /* needs a listener: not supported */
};

/* min_api: the libseccomp API level (seccomp_api_get) at which the kernel
 * and library both support the action; below it libseccomp refuses rules
 * with a bare EINVAL, so say which action is the problem instead. */
static const struct {
	const char *name;
	enum action_kind kind;
	uint32_t action;
	unsigned int min_api;
} actions[] = {
	{ "SCMP_ACT_ALLOW", ACT_PLAIN, SCMP_ACT_ALLOW, 0 },
	{ "SCMP_ACT_ERRNO", ACT_ERRNO, 0, 0 },
	{ "SCMP_ACT_KILL", ACT_PLAIN, SCMP_ACT_KILL, 0 },
	{ "SCMP_ACT_KILL_PROCESS", ACT_PLAIN, SCMP_ACT_KILL_PROCESS, 3 },
	{ "SCMP_ACT_KILL_THREAD", ACT_PLAIN, SCMP_ACT_KILL_THREAD, 0 },
	{ "SCMP_ACT_TRAP", ACT_PLAIN, SCMP_ACT_TRAP, 0 },
	{ "SCMP_ACT_TRACE", ACT_TRACE, 0, 0 },
	{ "SCMP_ACT_LOG", ACT_PLAIN, SCMP_ACT_LOG, 3 },
	{ "SCMP_ACT_NOTIFY", ACT_NOTIFY, 0, 5 },
};

static const struct {
	const char *name;
	enum scmp_compare op;
} operators[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

#define SYSCALL_MAX_ARGS 6
#define ERRNO_MAX 0xffff /* the data part of a seccomp return value */

/* Resolves an action name; where is "defaultAction" or "syscalls[3]".
 * errnoRet defaults to EPERM, as runc's does for both ERRNO and TRACE. */
static int
resolve_action(const char *where, const char *name, bool has_errno, unsigned int errno_ret, uint32_t *out,
	       ferry_error_t *err)
{
	const char *errno_field = strcmp(where, "defaultAction") == 0 ? "defaultErrnoRet" : "errnoRet";

	if (name == NULL)
		return ferry_error_set(err, EINVAL, "seccomp: %s: missing action", where);
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(actions[i].name, name) != 0)
			continue;
		if (actions[i].kind == ACT_NOTIFY)
			return ferry_error_set(err, EOPNOTSUPP, "seccomp: %s: action %s is not supported by ferry yet",
					       where, name);
		if (actions[i].min_api > 0 && seccomp_api_get() < actions[i].min_api)
			return ferry_error_set(err, EOPNOTSUPP,
					       "seccomp: %s: action %s is not supported by this kernel or libseccomp %u.%u",
					       where, name, seccomp_version()->major, seccomp_version()->minor);
		/* The runtime spec: an errno given to an action that has
		 * none MUST be an error. */
		if (has_errno && actions[i].kind == ACT_PLAIN)
			return ferry_error_set(err, EINVAL, "seccomp: %s: %s given for %s, which returns no errno",
					       where, errno_field, name);
		if (has_errno && errno_ret > ERRNO_MAX)
			return ferry_error_set(err, ERANGE, "seccomp: %s: %s %u out of range 0..%d", where,
					       errno_field, errno_ret, ERRNO_MAX);
		switch (actions[i].kind) {
		case ACT_ERRNO:
			*out = SCMP_ACT_ERRNO(has_errno ? errno_ret : EPERM);
			break;
		case ACT_TRACE:
			*out = SCMP_ACT_TRACE(has_errno ? errno_ret : EPERM);
			break;
		default:
			*out = actions[i].action;
			break;
		}
		return 0;
	}
	return ferry_error_set(err, EINVAL, "seccomp: %s: unknown action \"%s\"", where, name);
}

/* "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64".  libseccomp
 * knows every architecture's lower-case name, so no table here. */
static int
resolve_arch(size_t idx, const char *name, uint32_t *out, ferry_error_t *err)
{
	char lower[64];
	size_t n;

	if (name == NULL || strncmp(name, "SCMP_ARCH_", 10) != 0 || (n = strlen(name + 10)) == 0 ||
	    n >= sizeof(lower))
		goto unknown;
	for (size_t i = 0; i <= n; i++) {
		char c = name[10 + i];

		lower[i] = (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
	}
	*out = seccomp_arch_resolve_name(lower);
	if (*out != 0)
		return 0;
unknown:
	return ferry_error_set(err, EINVAL, "seccomp: architectures[%zu]: unknown architecture \"%s\"", idx,
			       name ? name : "(null)");
}

static int
set_flag(scmp_filter_ctx ctx, size_t idx, const char *flag, ferry_error_t *err)
{
	enum scmp_filter_attr attr;
	int r;

	if (flag == NULL)
		return ferry_error_set(err, EINVAL, "seccomp: flags[%zu]: missing flag", idx);
	if (strcmp(flag, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
		attr = SCMP_FLTATR_CTL_TSYNC;
	else if (strcmp(flag, "SECCOMP_FILTER_FLAG_LOG") == 0)
		attr = SCMP_FLTATR_CTL_LOG;
	else if (strcmp(flag, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
		attr = SCMP_FLTATR_CTL_SSB;
	else if (strcmp(flag, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
		/* Only meaningful with a user-space notifier. */
		return ferry_error_set(err, EOPNOTSUPP, "seccomp: flags[%zu]: %s is not supported by ferry yet", idx,
				       flag);
	else
		return ferry_error_set(err, EINVAL, "seccomp: flags[%zu]: unknown flag \"%s\"", idx, flag);
	r = seccomp_attr_set(ctx, attr, 1);
	if (r < 0)
		return ferry_error_set(err, -r, "seccomp: flags[%zu]: %s is not supported by this kernel or libseccomp %u.%u",
				       idx, flag, seccomp_version()->major, seccomp_version()->minor);
	return 0;
}

static int
resolve_op(const char *where, const char *name, enum scmp_compare *out, ferry_error_t *err)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(operators); i++) {
		if (strcmp(operators[i].name, name) == 0) {
			*out = operators[i].op;
			return 0;
		}
	}
	return ferry_error_set(err, EINVAL, "seccomp: %s: unknown operator \"%s\"", where, name ? name : "(null)");
}

static int
add_rule(scmp_filter_ctx ctx, size_t ri, const struct ferry_seccomp_rule *r, uint32_t action, ferry_error_t *err)
{
	_cleanup_free_ struct scmp_arg_cmp *conds = xmalloc0(r->n_args * sizeof(*conds));
	unsigned int per_index[SYSCALL_MAX_ARGS] = { 0 };
	bool separate = false;

	if (r->names == NULL || r->names[0] == NULL)
		return ferry_error_set(err, EINVAL, "seccomp: syscalls[%zu]: names is empty", ri);
	for (size_t ai = 0; ai < r->n_args; ai++) {
		const struct ferry_seccomp_arg *a = &r->args[ai];
		char where[64];
		enum scmp_compare op = SCMP_CMP_EQ;

		snprintf(where, sizeof(where), "syscalls[%zu].args[%zu]", ri, ai);
		if (a->index >= SYSCALL_MAX_ARGS)
			return ferry_error_set(err, EINVAL, "seccomp: %s: index %u out of range 0..%d", where, a->index,
					       SYSCALL_MAX_ARGS - 1);
		if (resolve_op(where, a->op, &op, err) < 0)
			return -1;
		if (++per_index[a->index] > 1)
			separate = true;
		/* For MASKED_EQ, value is the mask and valueTwo the datum:
		 * libseccomp's datum_a/datum_b order. */
		conds[ai] = (struct scmp_arg_cmp) { a->index, op, a->value, a->value_two };
	}

	for (char **name = r->names; *name; name++) {
		int nr = seccomp_syscall_resolve_name(*name);
		int rc = 0;

		/* Profiles list syscalls of newer kernels: unknown names are
		 * skipped, as runc does. */
		if (nr == __NR_SCMP_ERROR) {
			pr_debug("syscalls[%zu]: unknown syscall \"%s\" skipped", ri, *name);
			continue;
		}
		if (!separate) {
			rc = seccomp_rule_add_array(ctx, action, nr, (unsigned int) r->n_args, r->n_args ? conds : NULL);
		} else {
			/* libseccomp ANDs the conditions of one rule and
			 * cannot hold two on the same argument.  runc then adds
			 * one rule per condition, which ORs them: keep that
			 * meaning so that profiles behave as they do under runc. */
			for (size_t ai = 0; ai < r->n_args && rc == 0; ai++)
				rc = seccomp_rule_add_array(ctx, action, nr, 1, &conds[ai]);
		}
		if (rc < 0)
			return ferry_error_set(err, -rc, "seccomp: syscalls[%zu]: add rule for %s", ri, *name);
	}
	return 0;
}

static void
ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

int
ferry_seccomp_compile(const struct ferry_seccomp *s, ferry_seccomp_filter_t **out, ferry_error_t *err)
{
	__attribute__((cleanup(ctx_releasep))) scmp_filter_ctx ctx = NULL;
	ferry_seccomp_filter_t *f;
	uint32_t def;
	int r;

	if (s->listener_path && s->listener_path[0])
		return ferry_error_set(err, EOPNOTSUPP, "seccomp: listenerPath is not supported by ferry yet");
	if (resolve_action("defaultAction", s->default_action, s->has_default_errno, s->default_errno, &def, err) < 0)
		return -1;
	ctx = seccomp_init(def);
	if (ctx == NULL)
		return ferry_error_set(err, ENOMEM, "seccomp: cannot create a filter");
	/* libseccomp sets NO_NEW_PRIVS itself on load by default, which would
	 * silently override process.noNewPrivileges=false.  The caller loads
	 * the filter while still holding CAP_SYS_ADMIN in that case. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return ferry_error_set(err, -r, "seccomp: cannot clear the no_new_privs attribute");
	for (size_t i = 0; s->architectures && s->architectures[i]; i++) {
		uint32_t arch;

		if (resolve_arch(i, s->architectures[i], &arch, err) < 0)
			return -1;
		r = seccomp_arch_add(ctx, arch);
		/* The native architecture is already in a new filter. */
		if (r < 0 && r != -EEXIST)
			return ferry_error_set(err, -r, "seccomp: architectures[%zu]: cannot add %s", i,
					       s->architectures[i]);
	}
	for (size_t i = 0; s->flags && s->flags[i]; i++)
		if (set_flag(ctx, i, s->flags[i], err) < 0)
			return -1;
	/* Long profiles (Docker's lists ~350 syscalls) are searched linearly
	 * unless asked otherwise; a binary tree cuts the cost of every
	 * syscall.  libseccomp <= 2.5.4 mishandles the tree for tiny filters,
	 * hence the threshold (the same as runc's).  Not fatal if missing. */
	if (s->n_rules > 32 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
		pr_debug("binary tree optimisation not available");

	for (size_t i = 0; i < s->n_rules; i++) {
		const struct ferry_seccomp_rule *rule = &s->rules[i];
		char where[32];
		uint32_t action;

		snprintf(where, sizeof(where), "syscalls[%zu]", i);
		if (resolve_action(where, rule->action, rule->has_errno, rule->errno_ret, &action, err) < 0)
			return -1;
		/* libseccomp rejects a rule whose action is the default one
		 * (EACCES); such a rule changes nothing, so drop it. */
		if (action == def) {
			pr_debug("%s: action is the default action, rule skipped", where);
			continue;
		}
		if (add_rule(ctx, i, rule, action, err) < 0)
			return -1;
	}

	/* Generate the BPF program once now: errors that only show at
	 * generation (a program over the kernel's 4096 instructions) then
	 * fail create, not the container's start. */
	{
		_cleanup_close_ int null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (null_fd >= 0 && (r = seccomp_export_bpf(ctx, null_fd)) < 0)
			return ferry_error_set(err, -r, "seccomp: cannot generate the filter program");
	}

	f = xmalloc0(sizeof(*f));
	f->ctx = steal_pointer(&ctx);
	*out = f;
	return 0;
}

int
ferry_seccomp_load(ferry_seccomp_filter_t *f, ferry_error_t *err)
{
	int r = seccomp_load(f->ctx);

	if (r == -EACCES || r == -EPERM)
		return ferry_error_set(err, -r,
				       "seccomp: load the filter: without noNewPrivileges this needs CAP_SYS_ADMIN, "
				       "so it must be loaded before the capabilities are dropped");
	if (r < 0)
		return ferry_error_set(err, -r, "seccomp: load the filter");
	return 0;
}

void
ferry_seccomp_free(ferry_seccomp_filter_t *f)
{
	if (f == NULL)
		return;
	seccomp_release(f->ctx);
	free(f);
}
