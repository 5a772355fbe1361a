/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The source side of a migration and its service addresses: taking them
 * down here and back on a rollback, the gate for new connections, and
 * ferry's own network lock (netmove.h says why ferry locks, not CRIU).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#undef LOG_PREFIX
#define LOG_PREFIX "migrate: "
#include "log.h"
#include "migrate_internal.h"
#include "util.h"
#include "wire.h"

/* Puts back the IPs this migration removed. */
void
mig_restore_ips(struct mig *m)
{
	for (size_t i = 0; i < m->o->n_ips && i < 64; i++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (!m->ip_removed[i])
			continue;
		if (ferry_net_addr_add(&m->o->ips[i], NULL, &e) < 0 || ferry_net_announce(&m->o->ips[i], 2, &e) < 0)
			pr_warn("rollback: %s", e.msg);
		m->ip_removed[i] = false;
	}
}

/*
 * After a rollback that reached the destination's restore: its copy ran
 * with our addresses for a while and may have sent ARP requests from
 * them, which point the neighbours' caches at it.  Once the session has
 * ended (it closes the connection when its rollback is done) the
 * addresses are announced here again.
 */
void
mig_announce_again(struct mig *m)
{
	for (int i = 0; i < 50; i++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		_cleanup_free_ char *buf = NULL;
		uint32_t type;
		size_t len;

		ferry_tls_set_timeout(m->t, 3000);
		if (ferry_wire_recv(m->t, &type, &buf, &len, &e) < 0)
			break;
	}
	for (size_t i = 0; i < m->o->n_ips && i < 64; i++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if ((m->ips_moved & (UINT64_C(1) << i)) && ferry_net_announce(&m->o->ips[i], 2, &e) < 0)
			pr_warn("rollback: %s", e.msg);
	}
}

/* Removes the service IPs here and lists them for COMMIT. */
json_t *
mig_release_ips(struct mig *m, ferry_error_t *err)
{
	json_t *ips = json_array();

	for (size_t i = 0; i < m->o->n_ips && i < 64; i++) {
		char buf[128];
		bool removed = false;
		/* Again after a HOLD took them down: listed, not removed twice
		 * (that would forget to put them back on a rollback). */
		if (!m->ip_removed[i] && ferry_net_addr_del(&m->o->ips[i], &removed, err) < 0) {
			json_decref(ips);
			ferry_error_prefix(err, "move %s", ferry_ipaddr_format(&m->o->ips[i], buf, sizeof(buf)));
			return NULL;
		}
		if (removed)
			m->ip_removed[i] = true;
		json_array_append_new(ips, json_string(ferry_ipaddr_format(&m->o->ips[i], buf, sizeof(buf))));
	}
	{
		uint64_t mask = 0;
		for (size_t i = 0; i < m->o->n_ips && i < 64; i++)
			if (m->ip_removed[i])
				mask |= UINT64_C(1) << i;
		ferry_guard_note(m->guard, FERRY_GUARD_IPS, mask);
		m->ips_moved |= mask; /* with those HOLD gave away */
	}
	return ips;
}

/*
 * New connections to the service IPs wait at a gate from just before the
 * freeze: a frozen listener's kernel would still complete handshakes and
 * acknowledge requests, and CRIU leaves such connections behind in the
 * listen queue, so those clients would hang.  Dropped SYNs are sent again
 * a second later and reach the container where it then is.  Taken down on
 * a rollback; after a commit finish_source() and the guardian remove it
 * with CRIU's own leftovers.
 */
void
mig_gate_new_conns(struct mig *m, bool on)
{
	for (size_t i = 0; i < m->o->n_ips; i++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		if (ferry_net_gate_new_conns(&m->o->ips[i], on, &e) < 0)
			pr_warn("%s", e.msg);
		else if (on)
			m->gated = true;
	}
	if (!on)
		m->gated = false;
}

static bool
mig_is_moved_ip(const struct mig *m, const struct ferry_ipaddr *a)
{
	size_t len = a->family == AF_INET ? 4 : 16;

	for (size_t i = 0; i < m->o->n_ips; i++)
		if (m->o->ips[i].family == a->family && memcmp(m->o->ips[i].addr, a->addr, len) == 0)
			return true;
	return false;
}

/*
 * ferry's network lock, in place of CRIU's (own_lock), which runs two
 * `iptables` per connection on each host, about 2.5 ms each with the
 * container frozen.  Once frozen (no socket can appear any more, no data
 * is written): TCP from the moved addresses is dropped, and each other
 * connection of the tree, e.g. over loopback, gets both directions of its
 * own, all in one transaction (netmove.h says why only outgoing for the
 * addresses: a request that arrives while frozen is dumped with its
 * socket, as before CRIU's lock, instead of waiting for a retransmission).
 */
int
mig_lock_network(struct mig *m, ferry_error_t *err)
{
	_cleanup_free_ pid_t *pids = NULL;
	_cleanup_free_ struct ferry_tcp_conn *all = NULL;
	size_t n_pids = 0, n_all = 0;

	if (ferry_cgroup_pids(m->cg, &pids, &n_pids, err) < 0 ||
	    ferry_net_tcp_conns_of(pids, n_pids, &all, &n_all, err) < 0)
		return ferry_error_prefix(err, "the container's TCP connections");
	for (size_t i = 0; i < n_all; i++) {
		if (mig_is_moved_ip(m, &all[i].local))
			continue;
		m->extra = xrealloc(m->extra, (m->n_extra + 1) * sizeof(*m->extra));
		m->extra[m->n_extra++] = all[i];
	}
	m->gated = true; /* a rollback removes whatever got in */
	m->extra_locked = m->n_extra > 0;
	/* For the guardian, should this process die with them in place. */
	if (m->n_extra) {
		_cleanup_close_ int wfd = open(m->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (wfd < 0 || ferry_net_lock_conns_save(wfd, m->extra, m->n_extra, err) < 0)
			return ferry_error_prefix(err, "lock the network");
	}
	if (ferry_net_lock_conns_prepared(&m->lock_prep, m->o->ips, m->o->n_ips, m->extra, m->n_extra, true, err) < 0)
		return -1;
	if (m->n_extra)
		pr_info("locked %zu connection(s) not on a moved address", m->n_extra);
	return 0;
}

/* Takes ferry's lock down (rollback, or after the commit: the IPs are
 * elsewhere then, and their rules would only drop the next owner's
 * traffic). */
void
mig_unlock_network(struct mig *m)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (m->gated) {
		for (size_t i = 0; i < m->o->n_ips; i++)
			if (ferry_net_criu_unlock_leftovers(&m->o->ips[i], &e) < 0) {
				pr_warn("%s", e.msg);
				ferry_error_clear(&e);
			}
		m->gated = false;
	}
	if (m->extra_locked) {
		_cleanup_close_ int wfd = open(m->work, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (ferry_net_lock_conns(NULL, 0, m->extra, m->n_extra, false, &e) < 0)
			pr_warn("%s", e.msg);
		else if (wfd >= 0)
			unlinkat(wfd, "ferry-locked-conns", 0);
	}
	m->extra_locked = false;
}
