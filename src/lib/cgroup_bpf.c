/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Device rules on cgroup v2.  There is no devices controller on cgroup2;
 * instead a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup is
 * asked about every open/mknod of a device node and returns 1 (allow) or
 * 0 (deny).  ferry writes that program directly as BPF instructions.
 *
 * Semantics are the v1 controller's, which OCI describes: rules apply in
 * order, a later rule overriding an earlier one, and what no rule allows
 * is denied.  The v1 controller decides each access bit separately (a
 * deny of "w" after an allow of "rwm" leaves "rm"), so the program does
 * too: for each requested bit (m, r, w) it walks the rules from the last
 * to the first, and the first rule that matches the device and carries
 * that bit decides; a request is allowed when every bit it asks for is.
 */
#define LOG_PREFIX "cgroup: "

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "log.h"
#include "util.h"

/* Those of runc and crun: creating any node is allowed (opening it is
 * what the rules guard), and the devices every container gets in /dev. */
const struct ferry_device_rule ferry_cgroup_default_device_rules[] = {
	{ true, 'c', -1, -1, "m" },    /* mknod of any char device */
	{ true, 'b', -1, -1, "m" },    /* mknod of any block device */
	{ true, 'c', 1, 3, "rwm" },    /* /dev/null */
	{ true, 'c', 1, 5, "rwm" },    /* /dev/zero */
	{ true, 'c', 1, 7, "rwm" },    /* /dev/full */
	{ true, 'c', 1, 8, "rwm" },    /* /dev/random */
	{ true, 'c', 1, 9, "rwm" },    /* /dev/urandom */
	{ true, 'c', 5, 0, "rwm" },    /* /dev/tty */
	{ true, 'c', 5, 2, "rwm" },    /* /dev/ptmx */
	{ true, 'c', 136, -1, "rwm" }, /* /dev/pts/N */
	{ true, 'c', 10, 200, "rwm" }, /* /dev/net/tun, allowed by runc since Docker's early days */
};
const size_t ferry_cgroup_n_default_device_rules = ARRAY_SIZE(ferry_cgroup_default_device_rules);

#define MAX_PROG_INSNS 32000 /* jump offsets are 16 bits; ~2000 rules */
#define MAX_DEV_NUM 0xfffff  /* 20-bit minors, 12-bit majors: both fit a BPF immediate */

struct prog {
	struct bpf_insn *insns;
	size_t n, cap;
};

static size_t
emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn *i;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->insns = xrealloc(p->insns, p->cap * sizeof(*p->insns));
	}
	i = &p->insns[p->n];
	memset(i, 0, sizeof(*i));
	i->code = code;
	i->dst_reg = dst & 0xf;
	i->src_reg = src & 0xf;
	i->off = off;
	i->imm = imm;
	return p->n++;
}

/* Points the jump at insn `at` to the instruction `target`. */
static void
patch(struct prog *p, size_t at, size_t target)
{
	p->insns[at].off = (int16_t) ((long) target - (long) at - 1);
}

static bool
rule_has(const struct ferry_device_rule *r, char bit)
{
	return r->access[0] == '\0' || r->type == 'a' || strchr(r->access, bit) != NULL;
}

/* Registers: r1 ctx, r2 access bits, r3 device type, r4 major, r5 minor,
 * r6 scratch. */
static int
build(const struct ferry_device_rule *const *rules, size_t n, struct prog *p, ferry_error_t *err)
{
	static const struct {
		char letter;
		int32_t bit;
	} bits[] = { { 'm', BPF_DEVCG_ACC_MKNOD }, { 'r', BPF_DEVCG_ACC_READ }, { 'w', BPF_DEVCG_ACC_WRITE } };
	_cleanup_free_ size_t *to_next_rule = xmalloc0(4 * sizeof(size_t));
	_cleanup_free_ size_t *to_next_bit = xmalloc0((n + 1) * sizeof(size_t));

	for (size_t i = 0; i < n; i++) {
		const struct ferry_device_rule *r = rules[i];

		if (r->type != 'a' && r->type != 'b' && r->type != 'c')
			return ferry_error_set(err, EINVAL, "devices: invalid type '%c'", r->type);
		if (strspn(r->access, "rwm") != strlen(r->access))
			return ferry_error_set(err, EINVAL, "devices: invalid access \"%s\"", r->access);
		if (r->major > MAX_DEV_NUM || r->minor > MAX_DEV_NUM)
			return ferry_error_set(err, EINVAL, "devices: device number %" PRId64 ":%" PRId64 " out of range",
					       r->major, r->minor);
	}
	/* ctx is struct bpf_cgroup_dev_ctx: access_type (access << 16 |
	 * type), major, minor; all u32. */
	emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0);
	emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0);
	emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff);
	emit(p, BPF_ALU64 | BPF_RSH | BPF_K, BPF_REG_2, 0, 0, 16);
	emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0);
	emit(p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);

	for (size_t b = 0; b < ARRAY_SIZE(bits); b++) {
		size_t skip, n_next_bit = 0;

		/* Not asked for: nothing to decide. */
		emit(p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_2, 0, 0);
		emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_6, 0, 0, bits[b].bit);
		skip = emit(p, BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_6, 0, 0, 0);

		for (size_t k = n; k-- > 0;) {
			const struct ferry_device_rule *r = rules[k];
			size_t n_next_rule = 0;

			if (!rule_has(r, bits[b].letter))
				continue;
			if (r->type != 'a') {
				int32_t t = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;

				to_next_rule[n_next_rule++] = emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, 0, t);
				if (r->major >= 0)
					to_next_rule[n_next_rule++] =
						emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t) r->major);
				if (r->minor >= 0)
					to_next_rule[n_next_rule++] =
						emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t) r->minor);
			}
			if (r->allow) {
				to_next_bit[n_next_bit++] = emit(p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
			} else {
				emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
				emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
			}
			for (size_t j = 0; j < n_next_rule; j++)
				patch(p, to_next_rule[j], p->n);
			if (p->n > MAX_PROG_INSNS)
				return ferry_error_set(err, E2BIG, "devices: %zu rules make too large a program", n);
		}
		/* No rule carries this bit for this device: denied. */
		emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
		emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		patch(p, skip, p->n);
		for (size_t j = 0; j < n_next_bit; j++)
			patch(p, to_next_bit[j], p->n);
	}
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return 0;
}

static int
bpf(int cmd, union bpf_attr *attr)
{
	return (int) syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int
load(const struct prog *p, ferry_error_t *err)
{
	char log[4096] = "";
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t) (uintptr_t) p->insns;
	attr.insn_cnt = (uint32_t) p->n;
	attr.license = (uint64_t) (uintptr_t) "GPL";
	attr.log_buf = (uint64_t) (uintptr_t) log;
	attr.log_size = sizeof(log);
	attr.log_level = 1;
	fd = bpf(BPF_PROG_LOAD, &attr);
	if (fd < 0 && errno == ENOSPC) {
		/* Only the log did not fit; the program may be fine. */
		attr.log_buf = 0;
		attr.log_size = 0;
		attr.log_level = 0;
		fd = bpf(BPF_PROG_LOAD, &attr);
	}
	if (fd < 0) {
		size_t len;
		char *stats = strstr(log, "\nprocessed ");

		/* Keep the verifier's complaint, not its statistics. */
		if (stats)
			*stats = '\0';
		len = strlen(log);
		while (len > 0 && log[len - 1] == '\n')
			log[--len] = '\0';
		for (char *c = log; *c; c++)
			if (*c == '\n')
				*c = ' ';
		return ferry_error_sys(err, "devices: load BPF device program%s%s", len ? ": verifier: " : "",
				       len ? log : "");
	}
	return fd;
}

/* Ids of the device programs attached to the cgroup itself. */
static int
query(int cgfd, uint32_t *ids, uint32_t *n, ferry_error_t *err)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t) cgfd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t) (uintptr_t) ids;
	attr.query.prog_cnt = *n;
	if (bpf(BPF_PROG_QUERY, &attr) < 0)
		return ferry_error_sys(err, "devices: query the cgroup's device programs");
	*n = attr.query.prog_cnt;
	return 0;
}

int
cg_v2_set_devices(const struct ferry_cgroup *cg, int dfd, const struct ferry_resources *res, ferry_error_t *err)
{
	_cleanup_free_ const struct ferry_device_rule **rules = NULL;
	_cleanup_free_ struct bpf_insn *insns = NULL;
	size_t n = res->n_devices + ferry_cgroup_n_default_device_rules;
	struct prog p = { 0 };
	_cleanup_close_ int prog_fd = -1;
	uint32_t old[64], n_old = ARRAY_SIZE(old);
	union bpf_attr attr;

	rules = xmalloc0((n + 1) * sizeof(*rules));
	for (size_t i = 0; i < res->n_devices; i++)
		rules[i] = &res->devices[i];
	for (size_t i = 0; i < ferry_cgroup_n_default_device_rules; i++)
		rules[res->n_devices + i] = &ferry_cgroup_default_device_rules[i];
	if (build(rules, n, &p, err) < 0) {
		free(p.insns);
		return -1;
	}
	insns = p.insns;
	if (cg->fake) {
		pr_debug("%s: fake cgroup tree: device program (%zu insns) not attached", cg->path, p.n);
		return 0;
	}
	prog_fd = load(&p, err);
	if (prog_fd < 0)
		return -1;
	if (query(dfd, old, &n_old, err) < 0)
		return -1;
	if (n_old > ARRAY_SIZE(old))
		n_old = ARRAY_SIZE(old);
	/* Attach the new program before detaching the old ones: in between
	 * both run and both must allow, so no access is ever wider than
	 * the old or the new rules allow. */
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t) dfd;
	attr.attach_bpf_fd = (uint32_t) prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf(BPF_PROG_ATTACH, &attr) < 0)
		return ferry_error_sys(err, "devices: attach the BPF device program");
	for (uint32_t i = 0; i < n_old; i++) {
		_cleanup_close_ int ofd = -1;

		memset(&attr, 0, sizeof(attr));
		attr.prog_id = old[i];
		ofd = bpf(BPF_PROG_GET_FD_BY_ID, &attr);
		if (ofd < 0) {
			if (errno == ENOENT)
				continue;
			return ferry_error_sys(err, "devices: open old device program %u", old[i]);
		}
		memset(&attr, 0, sizeof(attr));
		attr.target_fd = (uint32_t) dfd;
		attr.attach_bpf_fd = (uint32_t) ofd;
		attr.attach_type = BPF_CGROUP_DEVICE;
		if (bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT)
			return ferry_error_sys(err, "devices: detach old device program %u", old[i]);
	}
	return 0;
}
