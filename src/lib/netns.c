/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The container's own network namespace: its loopback, and how it crosses
 * a checkpoint.
 *
 * runc never dumps a network namespace's contents: it always asks CRIU for
 * an empty one (empty_ns), because it "doesn't manage network devices".
 * CRIU's restore then makes a new namespace whose loopback is down, so a
 * runc-restored container loses 127.0.0.1.  Dumping the namespace instead
 * costs ~35 ms of `ip`/`iptables-save` runs at the dump and ~25 ms of
 * `iptables-restore` runs at the restore, for a namespace that holds
 * nothing but the loopback ferry brought up.
 *
 * ferry does what runc does when the namespace is as ferry made it, and
 * brings the loopback up again (with the config's net.* sysctls) at CRIU's
 * setup-namespaces notification, before any socket is restored: the same
 * namespace a fresh `run` gets, for less than either.  A namespace that
 * may hold more (another interface, legacy iptables tables, a process that
 * can configure it, a hook that could have) is dumped whole, as before.
 * A namespace joined by path is the caller's (Podman's): external, and
 * handed back on restore from the restoring config's path, as runc does.
 */
#define LOG_PREFIX "netns: "
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Only "lo" in /proc/PID/net/dev (two header lines, then one per link). */
static bool
only_loopback(pid_t pid)
{
	char path[64], line[512];
	_cleanup_fclose_ FILE *f = NULL;
	int n = 0;
	bool lo = false;

	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int) pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *name = line, *colon;
		if (++n <= 2)
			continue;
		colon = strchr(line, ':');
		if (colon == NULL)
			return false;
		*colon = '\0';
		name += strspn(name, " ");
		if (strcmp(name, "lo") != 0)
			return false;
		lo = true;
	}
	return lo;
}

/* A legacy iptables table was ever loaded in the namespace. */
static bool
has_legacy_tables(pid_t pid)
{
	static const char *const names[] = { "ip_tables_names", "ip6_tables_names", "arp_tables_names" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[64];
		_cleanup_free_ char *text = NULL;
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		size_t len = 0;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", (int) pid, names[i]);
		if (ferry_read_file(path, 4096, &text, &len, &e) == 0 && len > 0)
			return true;
	}
	return false;
}

/* CAP_NET_ADMIN (12) in the init's bounding set: the tree could have
 * configured the namespace (addresses, routes, nftables). */
static bool
may_net_admin(pid_t pid)
{
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned long long bnd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if ((f = fopen(path, "re")) == NULL)
		return true;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapBnd: %llx", &bnd) == 1)
			return (bnd >> 12) & 1;
	return true;
}

bool
ferry_cr_netns_pristine(pid_t pid, const ferry_spec_t *spec)
{
	const struct ferry_namespace *ns = ferry_spec_get_ns(spec, CLONE_NEWNET);
	static const int setup_hooks[] = { FERRY_HOOK_PRESTART, FERRY_HOOK_CREATE_RUNTIME,
					   FERRY_HOOK_CREATE_CONTAINER, FERRY_HOOK_START_CONTAINER };

	if (ns == NULL || ns->path)
		return false;
	for (size_t i = 0; i < sizeof(setup_hooks) / sizeof(setup_hooks[0]); i++)
		if (spec->n_hooks[setup_hooks[i]])
			return false; /* a hook may have set the namespace up (CNI) */
	return only_loopback(pid) && !has_legacy_tables(pid) && !may_net_admin(pid);
}

int
ferry_netns_lo_up(ferry_error_t *err)
{
	struct ifreq ifr = { 0 };
	_cleanup_close_ int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sk < 0)
		return ferry_error_sys(err, "socket");
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0)
		return ferry_error_sys(err, "lo: SIOCGIFFLAGS");
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)
		return ferry_error_sys(err, "lo: bringing it up");
	return 0;
}

/* In the child, in the namespace: lo up, then the config's net.* sysctls. */
static int
netns_setup_here(const ferry_spec_t *spec, ferry_error_t *err)
{
	if (ferry_netns_lo_up(err) < 0)
		return -1;
	/* the rest lives in namespaces CRIU restores */
	for (size_t i = 0; i < spec->linux_.n_sysctl; i++)
		if (strncmp(spec->linux_.sysctl[i].key, "net.", 4) == 0 &&
		    ferry_sysctl_set(spec->linux_.sysctl[i].key, spec->linux_.sysctl[i].value, err) < 0)
			return -1;
	return 0;
}

struct netns_setup {
	int nsfd;
	const ferry_spec_t *spec;
};

static int
netns_setup_child(void *arg, ferry_error_t *err)
{
	struct netns_setup *a = arg;

	if (setns(a->nsfd, CLONE_NEWNET) < 0)
		return ferry_error_sys(err, "setns into the restored network namespace");
	return netns_setup_here(a->spec, err);
}

int
ferry_cr_netns_setup(pid_t pid, const ferry_spec_t *spec, ferry_error_t *err)
{
	char path[64];
	_cleanup_close_ int nsfd = -1;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int) pid);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return ferry_error_sys(err, "%s", path);
	if (ferry_in_child(netns_setup_child, &(struct netns_setup){ nsfd, spec }, "network namespace set-up",
			   err) < 0)
		return ferry_error_prefix(err, "restored network namespace");
	return 0;
}
