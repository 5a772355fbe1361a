/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Holding a service address's incoming traffic on the destination while the
 * container is dumped and restored, instead of dropping it on the source.
 *
 * A dropped SYN costs its client a retransmission timeout (1 s on Linux, 3 s
 * on some stacks), a dropped segment of an established connection at least
 * TCP's 200 ms; a held one costs exactly the time it waited.  So the source
 * hands its addresses over just before it freezes: the destination queues
 * every packet to them in the kernel (iptables NFQUEUE, nfnetlink_queue) and
 * adds and announces them; once the restored sockets exist, the queue is let
 * go and each packet goes on to its socket as if it had just arrived.
 *
 * The rules carry --queue-bypass: when nobody holds the queue (the agent
 * died, or the hold is over) a rule lets packets through, so a leftover rule
 * blackholes nothing.  Their comment "ferry-hold" lets clean-up find them
 * (ferry_net_criu_unlock_leftovers removes them with CRIU's).
 */
#ifndef FERRY_NETHOLD_H
#define FERRY_NETHOLD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "netmove.h"

struct ferry_hold {
	int fd;            /* nfnetlink socket bound to queue, -1 when not */
	uint16_t queue;
	bool rules_in;     /* iptables rules inserted for ips */
	struct ferry_ipaddr ips[64];
	size_t n_ips;
	uint64_t held;     /* packets queued so far */
	uint64_t released; /* of them, let through (by the thread, after the release) */
	uint64_t waited;   /* those held when the release came */
	uint32_t max_id;   /* the last packet id read */
	bool any;
	/* iptables-restore for each family, started with the hold, that
	 * takes its rules out at the release */
	struct ferry_net_lock_prep remover[2];
	bool removing;     /* they have their input: the removal is under way */
	/* After the release, a thread lets through what still comes until
	 * the rules are gone, then gives the queue up. */
	pthread_t thread;
	bool thread_running;
	bool thread_failed;
};

#define FERRY_HOLD_INIT { .fd = -1, .remover = { FERRY_NET_LOCK_PREP_INIT, FERRY_NET_LOCK_PREP_INIT } }

/* Can this host hold packets: nfnetlink_queue answers a bind, and
 * iptables-restore and ip6tables-restore are there to add the rules.  Cheap (no rule is added). */
bool ferry_hold_available(void);

/* Binds a free queue, then adds one rule per address sending its packets
 * there.  The addresses need not be local yet (the rules only see packets
 * for local addresses): add them after this. */
int ferry_hold_start(struct ferry_hold *h, const struct ferry_ipaddr *ips, size_t n_ips, ferry_error_t *err);

/* Lets every packet held so far go on and starts the rules' removal, for
 * the caller to answer its peer at once; a thread then lets through what
 * still comes until the rules are gone, and gives the queue up (a packet
 * dropped there would cost its sender a retransmission: 1 s for a SYN, or
 * for the ACK that ends a handshake); ferry_hold_finish waits for it.  Should the rules stay (the
 * tool failed: warned), they let packets through (bypass) until
 * ferry_hold_remove_rules. */
int ferry_hold_release(struct ferry_hold *h, ferry_error_t *err);
int ferry_hold_finish(struct ferry_hold *h, ferry_error_t *err);

/* Removes the rules (idempotent). */
int ferry_hold_remove_rules(struct ferry_hold *h, ferry_error_t *err);

/* Gives the queue up without letting anything through (the kernel drops
 * what it held: senders retransmit, wherever the address is then) and
 * removes the rules.  Idempotent; for rollbacks and clean-up. */
void ferry_hold_drop(struct ferry_hold *h);

/* Is this `iptables -S` line (split in tokens) one of the hold rules for
 * addr ("10.77.0.100/32")?  For clean-up after a dead agent. */
bool ferry_hold_is_rule(char **tok, size_t n, const char *addr);

#endif
