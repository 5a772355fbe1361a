/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Moving a service IP address between hosts: rtnetlink to add and remove
 * it, a gratuitous ARP so that neighbours and switches learn the new owner
 * at once, and cleanup of the packet-drop rules CRIU's network lock leaves
 * behind on the host a container left.
 */
#ifndef FERRY_NETMOVE_H
#define FERRY_NETMOVE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

struct ferry_ipaddr {
	int family;                  /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned int prefix;         /* 0..32 / 0..128 */
	char dev[IF_NAMESIZE];       /* "" when not given: see ferry_net_addr_add */
};

/* "ADDR/PREFIX[@DEV]" (IPv4 or IPv6; PREFIX required).  Errors name the
 * part that is wrong. */
int ferry_ipaddr_parse(const char *s, struct ferry_ipaddr *out, ferry_error_t *err);
/* "10.77.0.100/24@eth0" (without "@" when dev is empty); buf >= 80 bytes. */
const char *ferry_ipaddr_format(const struct ferry_ipaddr *a, char *buf, size_t len);
/* Only the address, "10.77.0.100". */
const char *ferry_ipaddr_format_addr(const struct ferry_ipaddr *a, char *buf, size_t len);

/*
 * Adds the address in the caller's network namespace.  Without a device,
 * the device that already has an address in the same subnet is used (error
 * naming the address when there is none or more than one).  Adding an
 * address that is already there is not an error (*added = false then, so
 * a rollback knows not to remove it); added may be NULL.
 */
int ferry_net_addr_add(const struct ferry_ipaddr *a, bool *added, ferry_error_t *err);
/* Removes it (from a->dev, or from whichever device has it); absent is not
 * an error (*removed = false); removed may be NULL. */
int ferry_net_addr_del(const struct ferry_ipaddr *a, bool *removed, ferry_error_t *err);
/* 1 when some device in this netns has the address, 0 when none, -1 on error. */
int ferry_net_addr_present(const struct ferry_ipaddr *a, ferry_error_t *err);

/* Announces the address from the device that has it: IPv4 gratuitous ARP
 * (count requests, 50 ms apart); IPv6 unsolicited neighbour advertisement. */
int ferry_net_announce(const struct ferry_ipaddr *a, int count, ferry_error_t *err);

/*
 * The same in three steps, for a path that waits on the announcement:
 * closing a packet socket waits for an RCU grace period (8-16 ms measured
 * here), so open before, send when it counts, close after.  open finds
 * the device that has the address now; fd is -1 when there is nothing to
 * announce on (no ARP/ND on the device) or after close.  close is
 * idempotent on a zeroed struct with fd set to -1.
 */
struct ferry_announcer {
	int fd;
	struct ferry_ipaddr a;
	int ifindex;
	unsigned char mac[6];
	char shown[96];
};
#define FERRY_ANNOUNCER_INIT { .fd = -1 }
int ferry_net_announcer_open(const struct ferry_ipaddr *a, struct ferry_announcer *an, ferry_error_t *err);
int ferry_net_announcer_send(struct ferry_announcer *an, int count, ferry_error_t *err);
void ferry_net_announcer_close(struct ferry_announcer *an);

/*
 * Removes the iptables (and ip6tables) rules that CRIU's network lock added
 * for TCP connections of the given local address (the rules CRIU installs
 * with --tcp-established in a netns it does not own, marked so that CRIU's
 * own packets pass) and that only a restore on this same host would have
 * removed.  Returns the number of rules removed, or -1.
 */
int ferry_net_criu_unlock_leftovers(const struct ferry_ipaddr *a, ferry_error_t *err);

/*
 * The gate for new TCP connections to the address while its container is
 * frozen: with on, an INPUT rule drops SYNs to it; without, every such
 * rule goes.  Without the gate the frozen listener's kernel completes the
 * handshake and acknowledges the request, CRIU leaves the connection in
 * the listen queue behind (--skip-in-flight), and the client waits for
 * an answer that never comes; with it the client's next SYN, a second
 * later, reaches the address where it is then.  The rule has CRIU's mark
 * exception, so ferry_net_criu_unlock_leftovers removes it too.  No
 * iptables here is not an error (returns 0: there is no gate); 1 when the
 * rule was added or removed.
 */
int ferry_net_gate_new_conns(const struct ferry_ipaddr *a, bool on, ferry_error_t *err);

/*
 * ferry's own network lock, for a migration that tells CRIU to lock
 * nothing (CRIU's iptables lock runs two `iptables` a connection on each
 * side, about 2.5 ms apiece, while the container is frozen).  Once the
 * tree is frozen, one `iptables-restore` transaction a family drops all
 * TCP *from* each moved address (with ferry_net_gate_new_conns' SYN rule:
 * nothing the frozen kernel says reaches a peer, while what peers send
 * still lands in the queues CRIU dumps, as it would before CRIU's
 * per-connection lock) and, as CRIU would, both directions of each other
 * connection of the tree (e.g. over loopback).  The address rules carry
 * CRIU's mark, so ferry_net_criu_unlock_leftovers removes them.
 */
struct ferry_tcp_conn {
	struct ferry_ipaddr local, peer;
	uint16_t lport, pport;
};
/* iptables-restore (ip6tables-restore) is in PATH. */
bool ferry_net_lock_available(int family);
/* One iptables-restore --noflush transaction in the filter table; rules
 * is its body (-I/-D lines). */
int ferry_net_iptables_batch(int family, const char *rules, ferry_error_t *err);
/* on: adds the rules for ips[] and c[]; off: removes those of c[]. */
int ferry_net_lock_conns(const struct ferry_ipaddr *ips, size_t n_ips, const struct ferry_tcp_conn *c, size_t n,
			 bool on, ferry_error_t *err);
/* The connections' rules, written down in dirfd (before they are added)
 * for a cleanup by another process (the guardian), and that cleanup:
 * removes them and the file; returns how many, 0 without a file. */
/* The restore tool of one family started ahead, waiting for the rules
 * (its exec out of the frozen window); _cancel takes it down unused. */
struct ferry_net_lock_prep {
	pid_t pid;
	int in_fd;
	int family;
};
#define FERRY_NET_LOCK_PREP_INIT { -1, -1, 0 }
int ferry_net_lock_prep_start(int family, struct ferry_net_lock_prep *p, ferry_error_t *err);
void ferry_net_lock_prep_cancel(struct ferry_net_lock_prep *p);
/* ferry_net_lock_conns through prep for its family (used up then); the
 * other family, or a prep not started, runs its tool as usual. */
int ferry_net_lock_conns_prepared(struct ferry_net_lock_prep *prep, const struct ferry_ipaddr *ips, size_t n_ips,
				  const struct ferry_tcp_conn *c, size_t n, bool on, ferry_error_t *err);
int ferry_net_lock_conns_save(int dirfd, const struct ferry_tcp_conn *c, size_t n, ferry_error_t *err);
int ferry_net_lock_conns_undo_saved(int dirfd, ferry_error_t *err);
/* The connected TCP sockets (not listening, not closed) that pids[] hold,
 * as seen in the caller's network namespace (sock_diag): for a container
 * in the host's network, its own. */
int ferry_net_tcp_conns_of(const pid_t *pids, size_t n, struct ferry_tcp_conn **out, size_t *n_out,
			   ferry_error_t *err);

#endif
