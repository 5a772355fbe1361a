/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netmove: address parsing and formatting, then the real operations in a
 * private network namespace (unshare(CLONE_NEWNET) in a forked child, so
 * the host's addresses and firewall are never touched): a veth pair made
 * with ip(8), add/present/del/announce on it, and removal of rules of the
 * exact shape CRIU 4.2.1 installs for --tcp-established.
 *
 * The namespace part needs CAP_SYS_ADMIN; it is skipped (TAP "# SKIP")
 * only when unshare() itself fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/ip6.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nethold.h"
#include "netmove.h"
#include "tap.h"
#include "util.h"

static int
sh(const char *cmd)
{
	/* test fixture only: the library itself never uses a shell */
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
good(const char *in, const char *formatted, int family, unsigned int prefix, const char *dev)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_ipaddr a;
	char buf[80];
	int r = ferry_ipaddr_parse(in, &a, &err);

	ok(r == 0 && a.family == family && a.prefix == prefix && strcmp(a.dev, dev) == 0, "parse \"%s\"", in);
	if (r == 0)
		is_str(ferry_ipaddr_format(&a, buf, sizeof(buf)), formatted, "format \"%s\"", in);
	ferry_error_clear(&err);
}

static void
bad(const char *in, const char *names)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_ipaddr a;
	int r = ferry_ipaddr_parse(in, &a, &err);

	ok(r < 0 && err.msg && strstr(err.msg, names), "refuse \"%s\": error names \"%s\"", in, names);
	if (err.msg)
		printf("#   %s\n", err.msg);
	ferry_error_clear(&err);
}

static void
test_parse(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_ipaddr a;
	char buf[80];

	good("10.77.0.100/24@eth0", "10.77.0.100/24@eth0", AF_INET, 24, "eth0");
	good("10.77.0.100/32", "10.77.0.100/32", AF_INET, 32, "");
	good("0.0.0.0/0", "0.0.0.0/0", AF_INET, 0, "");
	good("fd00:0:0::1/64@br-x.10", "fd00::1/64@br-x.10", AF_INET6, 64, "br-x.10");
	good("::1/128", "::1/128", AF_INET6, 128, "");
	if (ferry_ipaddr_parse("fd00::1:2/64", &a, &err) == 0)
		is_str(ferry_ipaddr_format_addr(&a, buf, sizeof(buf)), "fd00::1:2", "format_addr has no prefix");

	bad("", "empty");
	bad("10.77.0.100", "missing prefix");
	bad("10.77.0.100@eth0", "missing prefix");
	bad("10.77.0.300/24", "bad address \"10.77.0.300\"");
	bad("eth0/24", "bad address");
	bad("/24", "bad address");
	bad("10.77.0.1/", "bad prefix");
	bad("10.77.0.1/+24", "bad prefix");
	bad("10.77.0.1/24x", "bad prefix");
	bad("10.77.0.1/33", "prefix length 33 out of range for IPv4");
	bad("fd00::1/129", "prefix length 129 out of range for IPv6");
	bad("10.77.0.1/99999999999999999999", "out of range");
	bad("10.77.0.1/24@", "empty device name");
	bad("10.77.0.1/24@abcdefghijklmnopq", "longer than 15");
	bad("10.77.0.1/24@a/b", "invalid device name");
	bad("10.77.0.1/24@..", "invalid device name");
	ferry_error_clear(&err);
}

static void
show(ferry_error_t *err)
{
	_cleanup_free_ char *s = ferry_error_string(err);

	if (s)
		printf("#   error: %s\n", s);
	ferry_error_clear(err);
}

static struct ferry_ipaddr
P(const char *s)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_ipaddr a;

	if (ferry_ipaddr_parse(s, &a, &err) < 0) {
		printf("Bail out! %s\n", err.msg);
		exit(1);
	}
	return a;
}

/* A packet socket on dev (the other end of the veth) for one ethertype. */
static int
sniff(const char *dev, int proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons((uint16_t) proto) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons((uint16_t) proto));

	sll.sll_ifindex = (int) if_nametoindex(dev);
	if (fd >= 0 && bind(fd, (struct sockaddr *) &sll, sizeof(sll)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Reads frames until pred accepts one or 1 s passes. */
static bool
wait_frame(int fd, bool (*pred)(const unsigned char *f, size_t n, const void *arg), const void *arg)
{
	unsigned char f[2048];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0)
			return false;
		n = recv(fd, f, sizeof(f), 0);
		if (n > 0 && pred(f, (size_t) n, arg))
			return true;
	}
}

static void
mac_of(const char *dev, unsigned char mac[6])
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		memset(mac, 0, 6);
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (fd >= 0)
		close(fd);
}

static unsigned char fm0_mac[6];

/* Broadcast ARP request from fm0's MAC with sender IP = target IP = arg. */
static bool
is_garp(const unsigned char *f, size_t n, const void *arg)
{
	const struct ether_arp *a = (const void *) (f + 14);

	if (n < 14 + sizeof(*a) || memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) != 0 || memcmp(f + 6, fm0_mac, 6) != 0)
		return false;
	return ntohs(a->ea_hdr.ar_op) == ARPOP_REQUEST && memcmp(a->arp_sha, fm0_mac, 6) == 0 &&
	       memcmp(a->arp_spa, arg, 4) == 0 && memcmp(a->arp_tpa, arg, 4) == 0;
}

/* ICMPv6 NA to ff02::1, hop limit 255, override flag, target arg, fm0's MAC. */
static bool
is_na(const unsigned char *f, size_t n, const void *arg)
{
	/* Copied out: at offset 14 of a frame the headers are not aligned. */
	struct ip6_hdr ipb;
	struct nd_neighbor_advert nab;
	const struct ip6_hdr *ip = &ipb;
	const struct nd_neighbor_advert *na = &nab;
	const unsigned char *opt = f + 14 + sizeof(ipb) + sizeof(nab);

	if (n < 14 + sizeof(*ip) + sizeof(*na) + 8)
		return false;
	memcpy(&ipb, f + 14, sizeof(ipb));
	memcpy(&nab, f + 14 + sizeof(ipb), sizeof(nab));
	if (ip->ip6_nxt != IPPROTO_ICMPV6)
		return false;
	return na->nd_na_type == ND_NEIGHBOR_ADVERT && ip->ip6_hlim == 255 &&
	       (na->nd_na_flags_reserved & ND_NA_FLAG_OVERRIDE) && memcmp(&na->nd_na_target, arg, 16) == 0 &&
	       memcmp(&ip->ip6_src, arg, 16) == 0 && opt[0] == ND_OPT_TARGET_LINKADDR && memcmp(opt + 2, fm0_mac, 6) == 0;
}

/* Runs in the child, inside its own network namespace. */
/* A loopback TCP connection of this process: its two ends' ports. */
static int
loopback_pair(int fds[3], uint16_t *server_port, uint16_t *client_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sa);

	fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fds[0] < 0 || fds[1] < 0 || bind(fds[0], (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fds[0], 1) < 0 ||
	    getsockname(fds[0], (struct sockaddr *) &sa, &l) < 0 || connect(fds[1], (struct sockaddr *) &sa, l) < 0)
		return -1;
	fds[2] = accept(fds[0], NULL, NULL);
	*server_port = ntohs(sa.sin_port);
	l = sizeof(sa);
	if (fds[2] < 0 || getsockname(fds[1], (struct sockaddr *) &sa, &l) < 0)
		return -1;
	*client_port = ntohs(sa.sin_port);
	return 0;
}

static void
test_own_lock(const struct ferry_ipaddr *a4)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_tcp_conn *c = NULL;
	size_t n = 0;
	int fds[3] = { -1, -1, -1 };
	uint16_t sp = 0, cp = 0;
	pid_t self = getpid();
	bool client = false, server = false;
	int r;

	if (!ferry_net_lock_available(AF_INET)) {
		ok(1, "# SKIP no iptables-restore");
		return;
	}
	ok(loopback_pair(fds, &sp, &cp) == 0, "a loopback connection (127.0.0.1:%u <- :%u)", sp, cp);
	r = ferry_net_tcp_conns_of(&self, 1, &c, &n, &err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (c[i].lport == cp && c[i].pport == sp && c[i].local.addr[0] == 127)
			client = true;
		if (c[i].lport == sp && c[i].pport == cp && c[i].peer.addr[0] == 127)
			server = true;
	}
	ok(r == 0 && n == 2 && client && server, "sock_diag finds both ends, not the listener (%zu)", n);
	if (r < 0)
		show(&err);
	{
		/* the restore tool started ahead and not used: gone, nothing changed */
		struct ferry_net_lock_prep unused;
		pid_t pid;

		sh("iptables -w -S > /tmp/test-netmove-rules-before");
		ok(ferry_net_lock_prep_start(AF_INET, &unused, &err) == 0 && unused.pid > 0,
		   "iptables-restore started ahead, waiting for rules");
		pid = unused.pid;
		ferry_net_lock_prep_cancel(&unused);
		ok(unused.pid == -1 && kill(pid, 0) < 0 && errno == ESRCH, "cancelled: it exits, reaped");
		ok(sh("iptables -w -S | cmp -s - /tmp/test-netmove-rules-before") == 0, "having changed no rule");
		unlink("/tmp/test-netmove-rules-before");
	}
	{
		struct ferry_net_lock_prep prep;

		ok(ferry_net_lock_prep_start(AF_INET, &prep, &err) == 0, "started ahead again, for the lock");
		r = ferry_net_lock_conns_prepared(&prep, a4, 1, c, n, true, &err);
		ok(prep.pid == -1 && prep.in_fd == -1, "the lock used it up");
	}
	ok(r == 0 && sh("iptables -w -S OUTPUT | grep -- '-s 10.99.0.1/32 ' | grep -v -- '--sport' | "
			"grep -q -- '-j DROP'") == 0,
	   "lock: TCP from 10.99.0.1 dropped");
	if (r < 0)
		show(&err);
	ok(sh("test $(iptables -w -S INPUT | grep -c -- '-s 127.0.0.1/32 -d 127.0.0.1/32') = 2 && "
	      "test $(iptables -w -S OUTPUT | grep -c -- '-s 127.0.0.1/32 -d 127.0.0.1/32') = 2") == 0,
	   "and both directions of both ends of the loopback connection");
	{
		/* the lock holds: nothing gets through any more */
		char b = 'x';
		struct pollfd p = { .fd = fds[2], .events = POLLIN };
		ok(write(fds[1], &b, 1) == 1 && poll(&p, 1, 300) == 0, "a byte sent on it does not arrive");
	}
	{
		/* as the guardian does it: from the file the lock left */
		char dir[] = "/tmp/test-netmove-XXXXXX";
		int dfd = mkdtemp(dir) ? open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;

		ok(dfd >= 0 && ferry_net_lock_conns_save(dfd, c, n, &err) == 0 &&
			   ferry_net_lock_conns_undo_saved(dfd, &err) == 2 && ferry_net_criu_unlock_leftovers(a4, &err) == 1 &&
			   sh("test $(iptables -w -S | grep -c -- '^-A') = 2") == 0,
		   "the saved connections' rules go (their file read back), the leftover cleanup takes the address's");
		ok(ferry_net_lock_conns_undo_saved(dfd, &err) == 0, "and the file with them: a second cleanup does nothing");
		if (dfd >= 0)
			close(dfd);
		rmdir(dir);
	}
	{
		char b = 0;
		struct pollfd p = { .fd = fds[2], .events = POLLIN };
		ok(poll(&p, 1, 3000) == 1 && read(fds[2], &b, 1) == 1 && b == 'x', "and the byte arrives after all");
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(c);
	ferry_error_clear(&err);
}

static int
connect_nb(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	/* From another address: the answers must not go to the held one
	 * (a client is on another host). */
	inet_pton(AF_INET, "10.99.0.10", &me.sin_addr);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	if (fd >= 0 && bind(fd, (struct sockaddr *) &me, sizeof(me)) < 0) {
		close(fd);
		return -1;
	}
	if (fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 connected, 0 still in progress after ms, -errno refused/failed. */
static int
connected_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int e = 0;
	socklen_t l = sizeof(e);

	if (poll(&p, 1, ms) == 0)
		return 0;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
	return e == 0 ? 1 : -e;
}

static int
listen_on(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The hold (nethold.h): a SYN to an address with no listener yet waits in
 * the queue instead of being refused; once a listener exists and the hold
 * is let go, the connection completes at once, not after the client's 1 s
 * SYN retransmission.
 */
static void
test_hold(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_ipaddr x = P("10.99.0.9/24@fm0");
	struct ferry_hold h = FERRY_HOLD_INIT;
	char want[160];
	int c, l, r;
	double t;

	if (!ferry_hold_available()) {
		ok(1, "# SKIP no nfnetlink_queue or iptables-restore here");
		return;
	}
	struct ferry_ipaddr client = P("10.99.0.10/24@fm0");

	ok(ferry_net_addr_add(&x, NULL, &err) == 0 && ferry_net_addr_add(&client, NULL, &err) == 0,
	   "add 10.99.0.9 for the hold, 10.99.0.10 for its client");
	c = connect_nb("10.99.0.9", 8099);
	ok(c >= 0 && connected_within(c, 1000) == -ECONNREFUSED, "without a hold, no listener: refused");
	if (c >= 0)
		close(c);

	r = ferry_hold_start(&h, &x, 1, &err);
	ok(r == 0 && h.fd >= 0 && h.queue >= 0xf000, "hold started on queue %u", (unsigned) h.queue);
	if (r < 0)
		show(&err);
	snprintf(want, sizeof(want),
		 "iptables -w -S INPUT | grep -q -- '-A INPUT -d 10.99.0.9/32 -m comment --comment ferry-hold -j NFQUEUE "
		 "--queue-num %u --queue-bypass'", (unsigned) h.queue);
	ok(sh(want) == 0, "its rule: NFQUEUE with bypass, tagged ferry-hold");
	c = connect_nb("10.99.0.9", 8099);
	ok(c >= 0 && connected_within(c, 300) == 0, "held: no answer after 300 ms, not refused");
	l = listen_on("10.99.0.9", 8099);
	ok(l >= 0, "a listener appears (as a restore makes one)");
	t = ferry_now_s();
	r = ferry_hold_release(&h, &err);
	ok(r == 0 && h.held >= 1 && h.released == h.held, "released %llu held packet(s)", (unsigned long long) h.held);
	if (r < 0)
		show(&err);
	r = connected_within(c, 900);
	t = ferry_now_s() - t;
	ok(r == 1 && t < 0.5, "the held connection completes %.1f ms after the release (no SYN retransmission)",
	   t * 1000.0);
	{
		/* The handshake's last ACK and a request come while the rules
		 * are being removed: let through, not dropped. */
		int a = l >= 0 ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : -1;
		char b = 0;
		ok(a >= 0 && write(c, "x", 1) == 1 && read(a, &b, 1) == 1 && b == 'x',
		   "the listener accepts it and a byte goes through");
		if (a >= 0)
			close(a);
	}
	r = ferry_hold_finish(&h, &err);
	ok(r == 0 && h.fd < 0 && !h.rules_in && h.released == h.held && sh("iptables -w -S INPUT | grep -q ferry-hold") != 0,
	   "finish: rules gone, queue given up, all %llu packet(s) let through", (unsigned long long) h.held);
	if (c >= 0)
		close(c);
	c = connect_nb("10.99.0.9", 8099);
	ok(c >= 0 && connected_within(c, 500) == 1, "after the release the rule lets new ones through (bypass)");
	if (c >= 0)
		close(c);
	ok(ferry_hold_remove_rules(&h, &err) == 0 && sh("iptables -w -S INPUT | grep -q ferry-hold") != 0,
	   "rules removed");
	if (l >= 0)
		close(l);

	/* A rollback: what was held is dropped, the rules go. */
	ok(ferry_hold_start(&h, &x, 1, &err) == 0, "second hold");
	c = connect_nb("10.99.0.9", 8099);
	connected_within(c, 100);
	ferry_hold_drop(&h);
	ok(h.fd < 0 && !h.rules_in && sh("iptables -w -S INPUT | grep -q ferry-hold") != 0,
	   "drop: queue given up, rules removed");
	if (c >= 0)
		close(c);

	/* An agent that died holding: its rule stays and lets traffic by;
	 * the clean-up finds it. */
	ok(ferry_hold_start(&h, &x, 1, &err) == 0, "third hold");
	close(h.fd);
	h.fd = -1;
	l = listen_on("10.99.0.9", 8099);
	c = connect_nb("10.99.0.9", 8099);
	ok(c >= 0 && connected_within(c, 500) == 1, "a leftover rule with nobody on its queue lets SYNs through");
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
	r = ferry_net_criu_unlock_leftovers(&x, &err);
	ok(r == 1 && sh("iptables -w -S INPUT | grep -q ferry-hold") != 0, "the leftover clean-up removes it (got %d)", r);
	ferry_net_addr_del(&x, NULL, &err);
	ferry_net_addr_del(&client, NULL, &err);
	ferry_error_clear(&err);
}

/* The same over IPv6 (ip6tables-restore, a /128 rule): a held SYN, a
 * listener, the release, the connection. */
static void
test_hold6(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_ipaddr x = P("fd00:99::9/64@fm0");
	struct ferry_hold h = FERRY_HOLD_INIT;
	struct sockaddr_in6 srv = { .sin6_family = AF_INET6, .sin6_port = htons(8098) };
	struct sockaddr_in6 me = { .sin6_family = AF_INET6 };
	int c = -1, l = -1, one = 1, r;

	if (!ferry_hold_available()) {
		ok(1, "# SKIP no nfnetlink_queue or ip(6)tables-restore here");
		return;
	}
	/* nodad: usable at once (the hold does not add addresses itself) */
	ok(sh("ip -6 addr add fd00:99::9/64 dev fm0 nodad && ip -6 addr add fd00:99::10/64 dev fm0 nodad") == 0,
	   "IPv6: fd00:99::9 for the hold, fd00:99::10 for its client");
	inet_pton(AF_INET6, "fd00:99::9", &srv.sin6_addr);
	inet_pton(AF_INET6, "fd00:99::10", &me.sin6_addr);
	r = ferry_hold_start(&h, &x, 1, &err);
	ok(r == 0 && sh("ip6tables -w -S INPUT | grep -q -- '-d fd00:99::9/128 -m comment --comment ferry-hold -j NFQUEUE'") == 0,
	   "IPv6 hold: its /128 rule in ip6tables");
	if (r < 0)
		show(&err);
	c = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c >= 0 && (bind(c, (struct sockaddr *) &me, sizeof(me)) < 0 ||
		       (connect(c, (struct sockaddr *) &srv, sizeof(srv)) < 0 && errno != EINPROGRESS))) {
		close(c);
		c = -1;
	}
	ok(c >= 0 && connected_within(c, 300) == 0, "IPv6: held, not refused");
	l = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ok(l >= 0 && bind(l, (struct sockaddr *) &srv, sizeof(srv)) == 0 && listen(l, 4) == 0, "IPv6 listener");
	r = ferry_hold_release(&h, &err);
	ok(r == 0 && connected_within(c, 500) == 1, "IPv6: released, the connection completes");
	ok(ferry_hold_finish(&h, &err) == 0 && !h.rules_in && sh("ip6tables -w -S INPUT | grep -q ferry-hold") != 0,
	   "IPv6: finished, rule gone");
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
	ferry_hold_drop(&h);
	sh("ip -6 addr del fd00:99::9/64 dev fm0; ip -6 addr del fd00:99::10/64 dev fm0");
	ferry_error_clear(&err);
}

static void
test_in_netns(void)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	struct ferry_ipaddr a4 = P("10.99.0.1/24@fm0"), b4 = P("10.99.0.2/24"), c4 = P("10.98.0.1/24");
	struct ferry_ipaddr a6 = P("fd00:99::1/64@fm0");
	bool added = true, removed = true;
	int r;

	ok(sh("ip link set lo up && ip link add fm0 type veth peer name fm1 && ip link set fm0 up && "
	      "ip link set fm1 up") == 0,
	   "veth pair in the private netns");

	r = ferry_net_addr_present(&a4, &err);
	ok(r == 0, "10.99.0.1 absent at first");
	r = ferry_net_addr_add(&a4, &added, &err);
	ok(r == 0 && added, "add 10.99.0.1/24@fm0: added");
	if (r < 0)
		show(&err);
	r = ferry_net_addr_add(&a4, &added, &err);
	ok(r == 0 && !added, "add it again: not an error, added=false");
	ok(ferry_net_addr_present(&a4, &err) == 1, "present");
	ok(sh("ip -4 addr show dev fm0 | grep -q 'inet 10.99.0.1/24'") == 0, "ip(8) sees it on fm0 with /24");

	r = ferry_net_addr_add(&b4, &added, &err);
	ok(r == 0 && added && sh("ip -4 addr show dev fm0 | grep -q 'inet 10.99.0.2/24'") == 0,
	   "without a device: the one with an address in the subnet (fm0)");
	if (r < 0)
		show(&err);
	r = ferry_net_addr_add(&c4, &added, &err);
	ok(r < 0 && err.msg && strstr(err.msg, "10.98.0.1/24") && strstr(err.msg, "no device"),
	   "no device in the subnet: error names the address");
	show(&err);
	ok(sh("ip addr add 10.99.0.3/24 dev fm1") == 0, "a second device in the same subnet");
	{
		struct ferry_ipaddr d4 = P("10.99.0.4/24");

		r = ferry_net_addr_add(&d4, &added, &err);
		ok(r < 0 && err.msg && strstr(err.msg, "10.99.0.4/24") && strstr(err.msg, "@DEV"),
		   "two devices in the subnet: error asks for @DEV");
		show(&err);
	}

	mac_of("fm0", fm0_mac);
	{
		int sfd = sniff("fm1", ETH_P_ARP);

		r = ferry_net_announce(&a4, 2, &err);
		ok(r == 0, "gratuitous ARP for 10.99.0.1 (2 requests)");
		if (r < 0)
			show(&err);
		ok(sfd >= 0 && wait_frame(sfd, is_garp, a4.addr) && wait_frame(sfd, is_garp, a4.addr),
		   "fm1 sees 2 broadcast ARP announcements of 10.99.0.1 from fm0's MAC");
		if (sfd >= 0)
			close(sfd);
	}
	r = ferry_net_announce(&c4, 1, &err);
	ok(r < 0 && err.msg && strstr(err.msg, "10.98.0.1"), "announce of an absent address fails naming it");
	ferry_error_clear(&err);

	r = ferry_net_addr_add(&a6, &added, &err);
	ok(r == 0 && added && ferry_net_addr_present(&a6, &err) == 1, "add fd00:99::1/64@fm0");
	if (r < 0)
		show(&err);
	{
		int sfd = sniff("fm1", ETH_P_IPV6);

		r = ferry_net_announce(&a6, 2, &err);
		ok(r == 0, "unsolicited NA for fd00:99::1");
		if (r < 0)
			show(&err);
		ok(sfd >= 0 && wait_frame(sfd, is_na, a6.addr), "fm1 sees the NA (override flag, hop limit 255, fm0's MAC)");
		if (sfd >= 0)
			close(sfd);
	}

	r = ferry_net_addr_del(&a4, &removed, &err);
	ok(r == 0 && removed && ferry_net_addr_present(&a4, &err) == 0, "del 10.99.0.1: removed, absent");
	r = ferry_net_addr_del(&a4, &removed, &err);
	ok(r == 0 && !removed, "del again: not an error, removed=false");
	{
		struct ferry_ipaddr a6other = P("fd00:99::1/48"); /* prefix differs, no device */

		r = ferry_net_addr_del(&a6other, &removed, &err);
		ok(r == 0 && removed && ferry_net_addr_present(&a6, &err) == 0,
		   "del fd00:99::1 without device and with another prefix");
		if (r < 0)
			show(&err);
	}

	/* CRIU's leftovers: the exact commands from CRIU 4.2.1's dump log,
	 * plus rules that must survive (another address, no CRIU mark). */
	if (sh("iptables -w -L -n >/dev/null 2>&1") != 0) {
		ok(1, "# SKIP iptables does not work here");
	} else {
		ok(sh("iptables -w -t filter -I INPUT --protocol tcp -m mark ! --mark 0xC114 --source 10.99.0.7 "
		      "--sport 41085 --destination 10.99.0.1 --dport 8080 -j DROP && "
		      "iptables -w -t filter -I OUTPUT --protocol tcp -m mark ! --mark 0xC114 --source 10.99.0.1 "
		      "--sport 8080 --destination 10.99.0.7 --dport 41085 -j DROP && "
		      "iptables -w -t filter -I INPUT --protocol tcp -m mark ! --mark 0xC114 --source 10.99.0.1 "
		      "--sport 1 --destination 10.99.0.2 --dport 2 -j DROP && "
		      "iptables -w -t filter -I INPUT -d 10.99.0.1 -p tcp -j DROP") == 0,
		   "CRIU-style lock rules installed");
		r = ferry_net_criu_unlock_leftovers(&a4, &err);
		ok(r == 2, "unlock removes exactly CRIU's 2 rules for 10.99.0.1 (got %d)", r);
		if (r < 0)
			show(&err);
		ok(sh("test $(iptables -w -S | grep -c -- '^-A') = 2") == 0, "the 2 other rules are still there");
		ok(ferry_net_criu_unlock_leftovers(&a4, &err) == 0, "second run removes nothing");

		/* The gate for new connections while frozen. */
		r = ferry_net_gate_new_conns(&a4, true, &err);
		ok(r == 1 && sh("iptables -w -S INPUT | grep -- '-d 10.99.0.1/32 ' | grep -q -- "
				"'--tcp-flags FIN,SYN,RST,ACK SYN -j DROP'") == 0,
		   "gate up: SYNs to 10.99.0.1 dropped");
		ok(ferry_net_gate_new_conns(&a4, true, &err) == 1 && ferry_net_gate_new_conns(&a4, false, &err) == 1 &&
			   sh("iptables -w -S INPUT | grep -q -- '--tcp-flags'") != 0,
		   "gate down removes every copy of it");
		ok(ferry_net_gate_new_conns(&a4, false, &err) == 0, "gate down again: nothing to remove, no error");
		ok(ferry_net_gate_new_conns(&a4, true, &err) == 1 && ferry_net_criu_unlock_leftovers(&a4, &err) == 1,
		   "the leftover cleanup (after a commit, the guardian) takes a gate down too");
		ok(sh("test $(iptables -w -S | grep -c -- '^-A') = 2") == 0, "and only it");

		/* ferry's own lock: the address's outgoing TCP and a loopback
		 * connection both ways, in one transaction. */
		test_own_lock(&a4);
		test_hold();
	}
	if (sh("ip6tables -w -L -n >/dev/null 2>&1") != 0) {
		ok(1, "# SKIP ip6tables does not work here");
	} else {
		ok(sh("ip6tables -w -t filter -I INPUT --protocol tcp -m mark ! --mark 0xC114 --source fd00:99::7 "
		      "--sport 41085 --destination fd00:99::1 --dport 8080 -j DROP") == 0,
		   "CRIU-style IPv6 lock rule installed");
		r = ferry_net_criu_unlock_leftovers(&a6, &err);
		ok(r == 1, "ip6tables rule removed (got %d)", r);
		if (r < 0)
			show(&err);
		test_hold6();
	}
	ferry_error_clear(&err);
}

int
main(void)
{
	pid_t pid;
	int st;

	test_parse();

	/* The child continues the TAP numbering and prints the plan. */
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		printf("Bail out! fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0) {
			ok(1, "# SKIP network namespace tests: unshare(CLONE_NEWNET): %s", strerror(errno));
		} else {
			test_in_netns();
		}
		st = tap_done();
		fflush(stdout); /* _exit() does not flush stdio */
		_exit(st);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
