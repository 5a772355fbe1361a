/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Moving a service address: rtnetlink for the address itself, gratuitous
 * ARP / unsolicited NA so that neighbours update their caches at once
 * instead of after their entries time out (seconds to minutes, during
 * which the old host would still get the traffic), and removal of the
 * iptables rules CRIU's per-connection network lock leaves behind.
 *
 * Raw rtnetlink rather than exec'ing ip(8): every request is acked, and
 * the kernel's errno (EEXIST, EADDRNOTAVAIL) tells "already done" apart
 * from a failure without parsing a tool's messages.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/if_ether.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "netmove: "
#include "log.h"
#include "nethold.h"
#include "netmove.h"
#include "util.h"

extern char **environ;

/* ---- parse / format ------------------------------------------------------ */

static size_t
addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static unsigned int
max_prefix(int family)
{
	return family == AF_INET ? 32 : 128;
}

int
ferry_ipaddr_parse(const char *s, struct ferry_ipaddr *out, ferry_error_t *err)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash, *at, *p;
	unsigned long prefix = 0;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0')
		return ferry_error_set(err, EINVAL, "empty address (expected ADDR/PREFIX[@DEV])");
	at = strchr(s, '@');
	slash = strchr(s, '/');
	if (slash == NULL || (at && slash > at))
		return ferry_error_set(err, EINVAL, "%s: missing prefix length (expected ADDR/PREFIX[@DEV])", s);
	alen = (size_t) (slash - s);
	if (alen == 0 || alen >= sizeof(buf))
		return ferry_error_set(err, EINVAL, "%s: bad address \"%.*s\"", s, (int) (alen < 64 ? alen : 64), s);
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return ferry_error_set(err, EINVAL, "%s: bad address \"%s\" (neither IPv4 nor IPv6)", s, buf);

	/* digits only: strtoul would take "+24", " 24" and "0x18" */
	p = slash + 1;
	if (*p < '0' || *p > '9')
		return ferry_error_set(err, EINVAL, "%s: bad prefix length (expected a number after '/')", s);
	for (; *p >= '0' && *p <= '9'; p++)
		if (prefix <= 1000) /* saturate: anything above is out of range anyway */
			prefix = prefix * 10 + (unsigned long) (*p - '0');
	if (*p != '\0' && *p != '@')
		return ferry_error_set(err, EINVAL, "%s: bad prefix length (expected a number after '/')", s);
	if (prefix > max_prefix(out->family))
		return ferry_error_set(err, EINVAL, "%s: prefix length %.*s out of range for %s (0..%u)", s,
				       (int) (p - slash - 1), slash + 1, out->family == AF_INET ? "IPv4" : "IPv6",
				       max_prefix(out->family));
	out->prefix = (unsigned int) prefix;

	if (*p == '@') {
		const char *dev = p + 1;
		size_t dlen = strlen(dev);

		if (dlen == 0)
			return ferry_error_set(err, EINVAL, "%s: empty device name after '@'", s);
		if (dlen >= IF_NAMESIZE)
			return ferry_error_set(err, EINVAL, "%s: device name \"%s\" longer than %d bytes", s, dev,
					       IF_NAMESIZE - 1);
		/* the kernel's dev_valid_name() rules */
		if (strcmp(dev, ".") == 0 || strcmp(dev, "..") == 0 || strpbrk(dev, "/:@ \t\n\r\v\f"))
			return ferry_error_set(err, EINVAL, "%s: invalid device name \"%s\"", s, dev);
		memcpy(out->dev, dev, dlen + 1);
	}
	return 0;
}

const char *
ferry_ipaddr_format_addr(const struct ferry_ipaddr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, a->addr, buf, (socklen_t) len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

const char *
ferry_ipaddr_format(const struct ferry_ipaddr *a, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	ferry_ipaddr_format_addr(a, addr, sizeof(addr));
	if (a->dev[0])
		snprintf(buf, len, "%s/%u@%s", addr, a->prefix, a->dev);
	else
		snprintf(buf, len, "%s/%u", addr, a->prefix);
	return buf;
}

/* ---- rtnetlink --------------------------------------------------------------- */

#define NL_BUFSIZE 32768

struct nl_req {
	struct nlmsghdr h;
	struct ifaddrmsg ifa;
	char attrs[256];
};

static void
nl_put(struct nl_req *req, unsigned short type, const void *data, size_t len)
{
	char *base = (char *) req;
	struct rtattr *rta;

	if (NLMSG_ALIGN(req->h.nlmsg_len) + RTA_SPACE(len) > sizeof(*req))
		abort(); /* fixed, small attribute sets: a bug, not input */
	rta = (struct rtattr *) (base + NLMSG_ALIGN(req->h.nlmsg_len));
	rta->rta_type = type;
	rta->rta_len = (unsigned short) RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	req->h.nlmsg_len = (unsigned int) (NLMSG_ALIGN(req->h.nlmsg_len) + RTA_ALIGN(rta->rta_len));
}

static int
nl_open(ferry_error_t *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int one = 1;

	if (fd < 0)
		return ferry_error_sys(err, "netlink socket");
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return ferry_error_sys(err, "netlink bind");
	/* extended acks: the kernel's own reason in the error, when it gives one */
	(void) setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	return steal_fd(&fd);
}

static int
nl_send(int fd, struct nlmsghdr *h, ferry_error_t *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return ferry_error_sys(err, "netlink send");
	return 0;
}

/* The extended-ack message text, if the kernel attached one. */
static const char *
nl_extack(const struct nlmsghdr *h)
{
	const struct nlmsgerr *e = NLMSG_DATA(h);
	size_t off;
	const struct rtattr *rta;
	int len;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	off = sizeof(*e);
	if (!(h->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (NLMSG_LENGTH(off) > h->nlmsg_len)
		return NULL;
	len = (int) (h->nlmsg_len - NLMSG_LENGTH(off));
	for (rta = (const struct rtattr *) ((const char *) e + off); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(rta) > 0 &&
		    ((const char *) RTA_DATA(rta))[RTA_PAYLOAD(rta) - 1] == '\0')
			return RTA_DATA(rta);
	return NULL;
}

/*
 * Sends h (with NLM_F_ACK) and reads until its ack.  Returns 0, or the
 * kernel's negative errno with err filled (callers that treat EEXIST or
 * EADDRNOTAVAIL as success clear it); -EIO for a local failure.
 */
static int
nl_transact(int fd, struct nlmsghdr *h, ferry_error_t *err)
{
	_cleanup_free_ char *buf = xmalloc0(NL_BUFSIZE);

	/* one request per socket (nl_open each time), so a fixed sequence
	 * number identifies its ack */
	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = 1;
	if (nl_send(fd, h, err) < 0)
		return -EIO;
	for (;;) {
		ssize_t n = recv(fd, buf, NL_BUFSIZE, 0);
		unsigned int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ferry_error_sys(err, "netlink receive");
			return -EIO;
		}
		len = (unsigned int) n;
		for (struct nlmsghdr *r = (struct nlmsghdr *) buf; NLMSG_OK(r, len); r = NLMSG_NEXT(r, len)) {
			const struct nlmsgerr *e;
			const char *msg;

			if (r->nlmsg_seq != h->nlmsg_seq || r->nlmsg_type != NLMSG_ERROR)
				continue;
			if (r->nlmsg_len < NLMSG_LENGTH(sizeof(*e))) {
				ferry_error_set(err, EPROTO, "netlink: truncated ack");
				return -EIO;
			}
			e = NLMSG_DATA(r);
			if (e->error == 0)
				return 0;
			msg = nl_extack(r);
			if (msg)
				ferry_error_set(err, -e->error, "%s", msg);
			else
				ferry_error_set(err, -e->error, "netlink");
			return e->error;
		}
	}
}

struct addr_rec {
	int family;
	unsigned char addr[16];
	unsigned int prefix;
	int ifindex;
};

/* All addresses of family in this netns (RTM_GETADDR dump). */
static int
addr_dump(int family, struct addr_rec **out, size_t *n_out, ferry_error_t *err)
{
	_cleanup_close_ int fd = nl_open(err);
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ struct addr_rec *v = NULL;
	size_t n = 0, cap = 0;
	struct nl_req req = { 0 };

	*out = NULL;
	*n_out = 0;
	if (fd < 0)
		return -1;
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.h.nlmsg_type = RTM_GETADDR;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.h.nlmsg_seq = 1;
	req.ifa.ifa_family = (unsigned char) family;
	if (nl_send(fd, &req.h, err) < 0)
		return -1;
	buf = xmalloc0(NL_BUFSIZE);
	for (;;) {
		ssize_t r = recv(fd, buf, NL_BUFSIZE, 0);
		unsigned int len;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ferry_error_sys(err, "netlink: address dump");
		}
		if (r == 0)
			return ferry_error_set(err, EPROTO, "netlink: address dump ended early");
		len = (unsigned int) r;
		for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
			const struct ifaddrmsg *ifa;
			const struct rtattr *rta;
			const void *local = NULL, *address = NULL;
			int alen;

			if (h->nlmsg_seq != req.h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				*out = steal_pointer(&v);
				*n_out = n;
				return 0;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return ferry_error_set(err, e->error ? -e->error : EPROTO, "netlink: address dump");
			}
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				/* addresses changed during the dump: the list
				 * may be inconsistent, and acting on it wrong */
				return ferry_error_set(err, EAGAIN, "netmove: addresses changed during the dump");
			if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*ifa)))
				continue;
			ifa = NLMSG_DATA(h);
			if (ifa->ifa_family != family)
				continue;
			alen = (int) (h->nlmsg_len - NLMSG_LENGTH(sizeof(*ifa)));
			for (rta = IFA_RTA(ifa); RTA_OK(rta, alen); rta = RTA_NEXT(rta, alen)) {
				if (RTA_PAYLOAD(rta) != addr_len(family))
					continue;
				if (rta->rta_type == IFA_LOCAL)
					local = RTA_DATA(rta);
				else if (rta->rta_type == IFA_ADDRESS)
					address = RTA_DATA(rta);
			}
			/* IPv4: IFA_LOCAL is ours, IFA_ADDRESS the peer on
			 * point-to-point links.  IPv6 has only IFA_ADDRESS. */
			if (local == NULL)
				local = address;
			if (local == NULL)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[n].family = family;
			memcpy(v[n].addr, local, addr_len(family));
			v[n].prefix = ifa->ifa_prefixlen;
			v[n].ifindex = (int) ifa->ifa_index;
			n++;
		}
	}
}

static bool
same_subnet(int family, const unsigned char *a, const unsigned char *b, unsigned int prefix)
{
	unsigned int full = prefix / 8, rest = prefix % 8;

	if (prefix > max_prefix(family))
		return false;
	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

/* The index of a->dev, or of the one device with an address in a's subnet. */
static int
pick_ifindex(const struct ferry_ipaddr *a, const char *shown, ferry_error_t *err)
{
	_cleanup_free_ struct addr_rec *v = NULL;
	size_t n = 0;
	int found = 0;

	if (a->dev[0]) {
		unsigned int idx = if_nametoindex(a->dev);

		if (idx == 0)
			return ferry_error_sys(err, "%s: device %s", shown, a->dev);
		return (int) idx;
	}
	if (addr_dump(a->family, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		/* the existing address's own prefix says what its subnet is */
		if (!same_subnet(a->family, v[i].addr, a->addr, v[i].prefix) || v[i].prefix == 0)
			continue;
		if (found && found != v[i].ifindex) {
			char d1[IF_NAMESIZE] = "?", d2[IF_NAMESIZE] = "?";

			if_indextoname((unsigned int) found, d1);
			if_indextoname((unsigned int) v[i].ifindex, d2);
			return ferry_error_set(err, 0, "%s: both %s and %s have an address in that subnet: name one with @DEV",
					       shown, d1, d2);
		}
		found = v[i].ifindex;
	}
	if (!found)
		return ferry_error_set(err, 0, "%s: no device has an address in that subnet: name one with @DEV", shown);
	return found;
}

static int
addr_request(int type, int ifindex, int family, const unsigned char *addr, unsigned int prefix, ferry_error_t *err)
{
	_cleanup_close_ int fd = nl_open(err);
	struct nl_req req = { 0 };

	if (fd < 0)
		return -EIO;
	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifa));
	req.h.nlmsg_type = (unsigned short) type;
	if (type == RTM_NEWADDR)
		/* EXCL: "already there" must come back as EEXIST, so that a
		 * rollback does not remove an address we did not add. */
		req.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	req.ifa.ifa_family = (unsigned char) family;
	req.ifa.ifa_prefixlen = (unsigned char) prefix;
	req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	req.ifa.ifa_index = (unsigned int) ifindex;
	if (family == AF_INET)
		nl_put(&req, IFA_LOCAL, addr, 4);
	nl_put(&req, IFA_ADDRESS, addr, addr_len(family));
	if (family == AF_INET6 && type == RTM_NEWADDR) {
		/* No duplicate address detection: the address is moving, the
		 * old owner has just dropped it, and a tentative address can
		 * neither be bound by the restored sockets nor announced. */
		unsigned int flags = IFA_F_NODAD;

		nl_put(&req, IFA_FLAGS, &flags, sizeof(flags));
	}
	return nl_transact(fd, &req.h, err);
}

int
ferry_net_addr_add(const struct ferry_ipaddr *a, bool *added, ferry_error_t *err)
{
	char shown[96];
	int idx, r;

	if (added)
		*added = false;
	ferry_ipaddr_format(a, shown, sizeof(shown));
	if (a->family != AF_INET && a->family != AF_INET6)
		return ferry_error_set(err, EAFNOSUPPORT, "%s: not an IPv4 or IPv6 address", shown);
	idx = pick_ifindex(a, shown, err);
	if (idx < 0)
		return -1;
	r = addr_request(RTM_NEWADDR, idx, a->family, a->addr, a->prefix, err);
	if (r == -EEXIST) {
		ferry_error_clear(err);
		pr_debug("%s already present", shown);
		return 0;
	}
	if (r < 0)
		return ferry_error_prefix(err, "add %s", shown);
	if (added)
		*added = true;
	return 0;
}

int
ferry_net_addr_del(const struct ferry_ipaddr *a, bool *removed, ferry_error_t *err)
{
	_cleanup_free_ struct addr_rec *v = NULL;
	char shown[96];
	size_t n = 0;
	int want_idx = 0;

	if (removed)
		*removed = false;
	ferry_ipaddr_format(a, shown, sizeof(shown));
	if (a->family != AF_INET && a->family != AF_INET6)
		return ferry_error_set(err, EAFNOSUPPORT, "%s: not an IPv4 or IPv6 address", shown);
	if (a->dev[0]) {
		want_idx = (int) if_nametoindex(a->dev);
		if (want_idx == 0)
			return ferry_error_sys(err, "remove %s: device %s", shown, a->dev);
	}
	/* The dump gives the prefix the address really has: IPv6 deletion
	 * matches on it, and the caller's may differ. */
	if (addr_dump(a->family, &v, &n, err) < 0)
		return ferry_error_prefix(err, "remove %s", shown);
	for (size_t i = 0; i < n; i++) {
		int r;

		if (memcmp(v[i].addr, a->addr, addr_len(a->family)) != 0 || (want_idx && v[i].ifindex != want_idx))
			continue;
		r = addr_request(RTM_DELADDR, v[i].ifindex, a->family, a->addr, v[i].prefix, err);
		if (r == -EADDRNOTAVAIL) {
			ferry_error_clear(err); /* gone in between */
			continue;
		}
		if (r < 0)
			return ferry_error_prefix(err, "remove %s", shown);
		if (removed)
			*removed = true;
	}
	return 0;
}

/* The index of a device that has the address, 0 when none, -1 on error. */
static int
find_ifindex(const struct ferry_ipaddr *a, ferry_error_t *err)
{
	_cleanup_free_ struct addr_rec *v = NULL;
	size_t n = 0;

	if (addr_dump(a->family, &v, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].addr, a->addr, addr_len(a->family)) == 0)
			return v[i].ifindex;
	return 0;
}

int
ferry_net_addr_present(const struct ferry_ipaddr *a, ferry_error_t *err)
{
	char shown[96];
	int idx;

	if (a->family != AF_INET && a->family != AF_INET6)
		return ferry_error_set(err, EAFNOSUPPORT, "not an IPv4 or IPv6 address");
	idx = find_ifindex(a, err);
	if (idx < 0)
		return ferry_error_prefix(err, "%s", ferry_ipaddr_format(a, shown, sizeof(shown)));
	return idx > 0;
}

/* ---- announce -------------------------------------------------------------- */

static int
get_hwaddr(int ifindex, const char *shown, unsigned char mac[ETH_ALEN], bool *has_arp, ferry_error_t *err)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };

	if (fd < 0)
		return ferry_error_sys(err, "%s: socket", shown);
	if (if_indextoname((unsigned int) ifindex, ifr.ifr_name) == NULL)
		return ferry_error_sys(err, "%s: device %d", shown, ifindex);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return ferry_error_sys(err, "%s: flags of %s", shown, ifr.ifr_name);
	*has_arp = !(ifr.ifr_flags & (IFF_NOARP | IFF_LOOPBACK));
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return ferry_error_sys(err, "%s: hardware address of %s", shown, ifr.ifr_name);
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		*has_arp = false;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct arp_packet {
	struct arphdr h;
	unsigned char sha[ETH_ALEN];
	unsigned char sip[4];
	unsigned char tha[ETH_ALEN];
	unsigned char tip[4];
} __attribute__((packed));

/*
 * Gratuitous ARP as a request with sender IP = target IP (RFC 5227's
 * "ARP announcement"): every host on the segment that has the address
 * cached updates the MAC, and switches learn the port from the frame.
 */
static int
send_arp(const struct ferry_announcer *an, int count, ferry_error_t *err)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = an->ifindex,
		.sll_halen = ETH_ALEN,
	};
	struct arp_packet p = { 0 };

	memset(sll.sll_addr, 0xff, ETH_ALEN);
	p.h.ar_hrd = htons(ARPHRD_ETHER);
	p.h.ar_pro = htons(ETH_P_IP);
	p.h.ar_hln = ETH_ALEN;
	p.h.ar_pln = 4;
	p.h.ar_op = htons(ARPOP_REQUEST);
	memcpy(p.sha, an->mac, ETH_ALEN);
	memcpy(p.sip, an->a.addr, 4);
	memcpy(p.tip, an->a.addr, 4);
	for (int i = 0; i < count; i++) {
		if (i > 0)
			sleep_ms(50);
		if (sendto(an->fd, &p, sizeof(p), 0, (struct sockaddr *) &sll, sizeof(sll)) < 0)
			return ferry_error_sys(err, "%s: send gratuitous ARP", an->shown);
	}
	return 0;
}

/*
 * Unsolicited neighbour advertisement (RFC 4861 7.2.6) to all-nodes, with
 * the override flag so that caches replace the old MAC.  The kernel fills
 * the ICMPv6 checksum on raw ICMPv6 sockets.  Best effort by nature: hosts
 * may ignore unsolicited NAs for entries they do not have.
 */
static int
open_na(struct ferry_announcer *an, ferry_error_t *err)
{
	_cleanup_close_ int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	struct sockaddr_in6 src = { .sin6_family = AF_INET6 };
	int hops = 255; /* receivers drop NAs whose hop limit is not 255 */

	if (fd < 0)
		return ferry_error_sys(err, "%s: ICMPv6 socket", an->shown);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &an->ifindex, sizeof(an->ifindex)) < 0)
		return ferry_error_sys(err, "%s: ICMPv6 socket options", an->shown);
	memcpy(&src.sin6_addr, an->a.addr, 16);
	if (IN6_IS_ADDR_LINKLOCAL(&src.sin6_addr))
		src.sin6_scope_id = (uint32_t) an->ifindex;
	if (bind(fd, (struct sockaddr *) &src, sizeof(src)) < 0)
		return ferry_error_sys(err, "%s: bind to the address", an->shown);
	an->fd = steal_fd(&fd);
	return 0;
}

static int
send_na(const struct ferry_announcer *an, int count, ferry_error_t *err)
{
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t) an->ifindex };
	struct {
		struct nd_neighbor_advert na;
		struct nd_opt_hdr opt;
		unsigned char mac[ETH_ALEN];
	} __attribute__((packed)) p;

	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	memset(&p, 0, sizeof(p));
	p.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	p.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
	memcpy(&p.na.nd_na_target, an->a.addr, 16);
	p.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	p.opt.nd_opt_len = 1; /* in units of 8 bytes */
	memcpy(p.mac, an->mac, ETH_ALEN);
	for (int i = 0; i < count; i++) {
		if (i > 0)
			sleep_ms(50);
		if (sendto(an->fd, &p, sizeof(p), 0, (struct sockaddr *) &dst, sizeof(dst)) < 0)
			return ferry_error_sys(err, "%s: send neighbour advertisement", an->shown);
	}
	return 0;
}

int
ferry_net_announcer_open(const struct ferry_ipaddr *a, struct ferry_announcer *an, ferry_error_t *err)
{
	bool has_arp = false;

	*an = (struct ferry_announcer) FERRY_ANNOUNCER_INIT;
	an->a = *a;
	ferry_ipaddr_format_addr(a, an->shown, sizeof(an->shown));
	if (a->family != AF_INET && a->family != AF_INET6)
		return ferry_error_set(err, EAFNOSUPPORT, "announce: not an IPv4 or IPv6 address");
	an->ifindex = find_ifindex(a, err);
	if (an->ifindex < 0)
		return ferry_error_prefix(err, "announce %s", an->shown);
	if (an->ifindex == 0)
		return ferry_error_set(err, EADDRNOTAVAIL, "announce %s: no device has the address", an->shown);
	if (get_hwaddr(an->ifindex, an->shown, an->mac, &has_arp, err) < 0)
		return ferry_error_prefix(err, "announce");
	if (!has_arp) {
		/* loopback, tun, ... : no neighbours to tell */
		pr_debug("%s: device without ARP/ND, nothing to announce", an->shown);
		return 0;
	}
	if (a->family == AF_INET6)
		return open_na(an, err) < 0 ? ferry_error_prefix(err, "announce") : 0;
	an->fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (an->fd < 0)
		return ferry_error_sys(err, "announce: %s: packet socket", an->shown);
	return 0;
}

int
ferry_net_announcer_send(struct ferry_announcer *an, int count, ferry_error_t *err)
{
	if (an->fd < 0)
		return 0;
	if (count < 1)
		count = 1;
	if (an->a.family == AF_INET)
		return send_arp(an, count, err) < 0 ? ferry_error_prefix(err, "announce") : 0;
	return send_na(an, count, err) < 0 ? ferry_error_prefix(err, "announce") : 0;
}

void
ferry_net_announcer_close(struct ferry_announcer *an)
{
	if (an->fd >= 0)
		close(an->fd);
	an->fd = -1;
}

int
ferry_net_announce(const struct ferry_ipaddr *a, int count, ferry_error_t *err)
{
	struct ferry_announcer an;
	int r = ferry_net_announcer_open(a, &an, err);

	if (r == 0)
		r = ferry_net_announcer_send(&an, count, err);
	ferry_net_announcer_close(&an);
	return r;
}

/* ---- CRIU's network-lock leftovers ---------------------------------------- */

/*
 * Runs argv (no shell) with stdout into *out when out is not NULL and
 * stderr to /dev/null.  Returns the exit status, or -1 with err set.
 */
static int
run_tool_in(char *const argv[], const char *in, char **out, ferry_error_t *err)
{
	posix_spawn_file_actions_t fa;
	_cleanup_close_ int rd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	int p[2] = { -1, -1 };
	pid_t pid;
	int r, status;

	if (out) {
		*out = NULL;
		if (pipe2(p, O_CLOEXEC) < 0)
			return ferry_error_sys(err, "pipe");
	}
	_cleanup_close_ int infd = -1;

	if (in) {
		infd = memfd_create("tool-input", MFD_CLOEXEC);
		if (infd < 0 || ferry_write_all(infd, in, strlen(in)) < 0 || lseek(infd, 0, SEEK_SET) != 0)
			return ferry_error_sys(err, "input for %s", argv[0]);
	}
	posix_spawn_file_actions_init(&fa);
	if (in)
		posix_spawn_file_actions_adddup2(&fa, infd, 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out)
		posix_spawn_file_actions_adddup2(&fa, p[1], 1); /* dup2 clears O_CLOEXEC on 1 */
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out)
		close(p[1]);
	rd = p[0];
	if (r != 0) {
		errno = r;
		return ferry_error_sys(err, "run %s", argv[0]);
	}
	while (out) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			cap = cap ? 2 * cap : 8192;
			if (cap > (16u << 20)) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				return ferry_error_set(err, EFBIG, "%s: output larger than 16 MiB", argv[0]);
			}
			buf = xrealloc(buf, cap);
		}
		n = read(rd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t) n;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return ferry_error_sys(err, "wait for %s", argv[0]);
	if (out) {
		if (buf == NULL)
			buf = xmalloc0(1);
		buf[len] = '\0';
		*out = steal_pointer(&buf);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int
run_tool(char *const argv[], char **out, ferry_error_t *err)
{
	return run_tool_in(argv, NULL, out, err);
}

/*
 * Does this `iptables -S` line carry CRIU's connection-lock match for the
 * address?  What CRIU 4.2.1 installs for --tcp-established (criu/netfilter.c
 * iptables_connection_switch_raw, seen empirically as):
 *   -A INPUT  -s PEER/32 -d LOCAL/32 -p tcp -m mark ! --mark 0xc114 -m tcp --sport PP --dport LP -j DROP
 *   -A OUTPUT -s LOCAL/32 -d PEER/32 -p tcp -m mark ! --mark 0xc114 -m tcp --sport LP --dport PP -j DROP
 * so the local address is the destination on INPUT, the source on OUTPUT.
 */
static bool
is_criu_lock_rule(char **tok, size_t n, const char *chain, const char *addr)
{
	const char *addr_opt = strcmp(chain, "INPUT") == 0 ? "-d" : "-s";
	bool mark = false, drop = false, match_addr = false, tcp = false;

	if (n < 2 || strcmp(tok[0], "-A") != 0 || strcmp(tok[1], chain) != 0)
		return false;
	for (size_t i = 2; i < n; i++) {
		if (i + 4 < n && !strcmp(tok[i], "-m") && !strcmp(tok[i + 1], "mark") && !strcmp(tok[i + 2], "!") &&
		    !strcmp(tok[i + 3], "--mark") && !strcasecmp(tok[i + 4], "0xc114"))
			mark = true;
		if (i + 1 < n && !strcmp(tok[i], "-j") && !strcmp(tok[i + 1], "DROP"))
			drop = true;
		if (i + 1 < n && !strcmp(tok[i], "-p") && !strcmp(tok[i + 1], "tcp"))
			tcp = true;
		if (i + 1 < n && !strcmp(tok[i], addr_opt) && !strcmp(tok[i + 1], addr))
			match_addr = true;
	}
	return mark && drop && tcp && match_addr;
}

static int
unlock_chain(const char *tool, const char *chain, const char *addr, ferry_error_t *err)
{
	char *list_argv[] = { (char *) tool, (char *) "-w", (char *) "-t", (char *) "filter", (char *) "-S",
			      (char *) chain, NULL };
	_cleanup_free_ char *out = NULL;
	char *save = NULL;
	int removed = 0;
	int st;

	st = run_tool(list_argv, &out, err);
	if (st < 0 && err->errno_ == ENOENT) {
		/* no such tool here: CRIU, which runs the same name from
		 * PATH, cannot have installed rules with it either */
		pr_debug("%s not found: no rules to remove", tool);
		ferry_error_clear(err);
		return 0;
	}
	if (st < 0)
		return -1;
	if (st != 0)
		return ferry_error_set(err, 0, "%s -S %s exited with status %d", tool, chain, st);
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[64];
		char *argv[72];
		char *tsave = NULL;
		size_t n = 0, k = 0;

		/* CRIU's rules have no quoted arguments; a line that has some
		 * is not one of them and would not split on spaces. */
		if (line[0] != '-' || strchr(line, '"') || strchr(line, '\''))
			continue;
		for (char *t = strtok_r(line, " ", &tsave); t && n < ARRAY_SIZE(tok); t = strtok_r(NULL, " ", &tsave))
			tok[n++] = t;
		if (n == ARRAY_SIZE(tok) ||
		    !(is_criu_lock_rule(tok, n, chain, addr) ||
		      (strcmp(chain, "INPUT") == 0 && ferry_hold_is_rule(tok, n, addr))))
			continue;
		argv[k++] = (char *) tool;
		argv[k++] = (char *) "-w";
		argv[k++] = (char *) "-t";
		argv[k++] = (char *) "filter";
		argv[k++] = (char *) "-D";
		for (size_t i = 1; i < n; i++)
			argv[k++] = tok[i];
		argv[k] = NULL;
		st = run_tool(argv, NULL, err);
		if (st < 0)
			return -1;
		if (st != 0)
			return ferry_error_set(err, 0, "%s -D %s (rule for %s) exited with status %d", tool, chain, addr, st);
		removed++;
	}
	return removed;
}

int
ferry_net_gate_new_conns(const struct ferry_ipaddr *a, bool on, ferry_error_t *err)
{
	char *tool = (char *) (a->family == AF_INET ? "iptables" : "ip6tables");
	char addr[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN + 8];
	char *argv[] = { tool,	  (char *) "-w",    (char *) "-t",     (char *) "filter", (char *) (on ? "-I" : "-D"),
			 (char *) "INPUT", (char *) "-d",    dst,	       (char *) "-p",     (char *) "tcp",
			 (char *) "-m",	   (char *) "mark", (char *) "!",      (char *) "--mark", (char *) "0xc114",
			 (char *) "-m",	   (char *) "tcp",  (char *) "--syn", (char *) "-j",     (char *) "DROP",
			 NULL };
	int st, n = 0;

	if (a->family != AF_INET && a->family != AF_INET6)
		return ferry_error_set(err, EAFNOSUPPORT, "gate: not an IPv4 or IPv6 address");
	ferry_ipaddr_format_addr(a, addr, sizeof(addr));
	snprintf(dst, sizeof(dst), "%s/%u", addr, max_prefix(a->family));
	/* -D removes one rule a call: until none is left (a bound, in case
	 * something keeps adding them). */
	do {
		st = run_tool(argv, NULL, err);
		if (st < 0 && err->errno_ == ENOENT) {
			pr_debug("%s not found: no gate for new connections to %s", tool, addr);
			ferry_error_clear(err);
			return 0;
		}
		if (st < 0)
			return ferry_error_prefix(err, "%s the gate for new connections to %s", on ? "add" : "remove",
						  addr);
		if (st == 0)
			n++;
	} while (!on && st == 0 && n < 16);
	if (on && st != 0)
		return ferry_error_set(err, 0, "%s -I INPUT (drop new connections to %s while frozen) exited with status %d",
				       tool, addr, st);
	return n > 0;
}

int
ferry_net_criu_unlock_leftovers(const struct ferry_ipaddr *a, ferry_error_t *err)
{
	static const char *const chains[] = { "INPUT", "OUTPUT" };
	const char *tool = a->family == AF_INET ? "iptables" : "ip6tables";
	char addr[INET6_ADDRSTRLEN], match[INET6_ADDRSTRLEN + 8];
	int total = 0;

	if (a->family != AF_INET && a->family != AF_INET6)
		return ferry_error_set(err, EAFNOSUPPORT, "unlock: not an IPv4 or IPv6 address");
	ferry_ipaddr_format_addr(a, addr, sizeof(addr));
	/* iptables -S prints host addresses with their full-length prefix */
	snprintf(match, sizeof(match), "%s/%u", addr, max_prefix(a->family));
	for (size_t i = 0; i < ARRAY_SIZE(chains); i++) {
		int r = unlock_chain(tool, chains[i], match, err);

		if (r < 0)
			return ferry_error_prefix(err, "remove CRIU's network-lock rules for %s", addr);
		total += r;
	}
	if (total)
		pr_info("removed %d CRIU network-lock rule(s) for %s", total, addr);
	return total;
}

/* ---- ferry's own network lock ---------------------------------------------- */

static const char *
restore_tool(int family)
{
	return family == AF_INET6 ? "ip6tables-restore" : "iptables-restore";
}

bool
ferry_net_lock_available(int family)
{
	return ferry_in_path(restore_tool(family));
}

/* One transaction in the filter table: rules is the body (-I/-D lines). */
int
ferry_net_iptables_batch(int family, const char *rules, ferry_error_t *err)
{
	_cleanup_free_ char *text = xasprintf("*filter\n%sCOMMIT\n", rules);
	char *argv[] = { (char *) restore_tool(family), (char *) "-w", (char *) "--noflush", NULL };
	int st = run_tool_in(argv, text, NULL, err);

	if (st < 0)
		return -1;
	if (st != 0)
		return ferry_error_set(err, 0, "%s exited with status %d for: %s", argv[0], st, rules);
	return 0;
}

static void
conn_rules(FILE *f, const struct ferry_tcp_conn *c, const char *op)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	unsigned int p = max_prefix(c->local.family);

	ferry_ipaddr_format_addr(&c->local, l, sizeof(l));
	ferry_ipaddr_format_addr(&c->peer, r, sizeof(r));
	fprintf(f,
		"%s INPUT -s %s/%u -d %s/%u -p tcp -m mark ! --mark 0xc114 -m tcp --sport %u --dport %u -j DROP\n",
		op, r, p, l, p, c->pport, c->lport);
	fprintf(f,
		"%s OUTPUT -s %s/%u -d %s/%u -p tcp -m mark ! --mark 0xc114 -m tcp --sport %u --dport %u -j DROP\n",
		op, l, p, r, p, c->lport, c->pport);
}

/*
 * The lock's restore tool, started ahead: it blocks reading its input,
 * so the exec and dynamic loading (2.5 ms on a quiet host here, 12-14 ms
 * under load) are paid before the freeze; the rules are written at the
 * freeze.  The xtables lock, where there is one, is only taken when the
 * table line arrives.  Closed without a COMMIT it changes nothing.
 */
int
ferry_net_lock_prep_start(int family, struct ferry_net_lock_prep *p, ferry_error_t *err)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = { (char *) restore_tool(family), (char *) "-w", (char *) "--noflush", NULL };
	int in[2], r;

	*p = (struct ferry_net_lock_prep) FERRY_NET_LOCK_PREP_INIT;
	if (pipe2(in, O_CLOEXEC) < 0)
		return ferry_error_sys(err, "pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&p->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	if (r != 0) {
		close(in[1]);
		p->pid = -1;
		errno = r;
		return ferry_error_sys(err, "run %s", argv[0]);
	}
	p->in_fd = in[1];
	p->family = family;
	return 0;
}

void
ferry_net_lock_prep_cancel(struct ferry_net_lock_prep *p)
{
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
	if (p->pid > 0)
		while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
			;
	p->pid = -1;
}

/* The batch through the started tool when it is for this family. */
static int
batch(int family, const char *rules, struct ferry_net_lock_prep *prep, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	int status;

	if (prep == NULL || prep->pid <= 0 || prep->family != family)
		return ferry_net_iptables_batch(family, rules, err);
	text = xasprintf("*filter\n%sCOMMIT\n", rules);
	if (ferry_write_all(prep->in_fd, text, strlen(text)) < 0) {
		ferry_error_sys(err, "%s: write the rules", restore_tool(family));
		ferry_net_lock_prep_cancel(prep);
		return -1;
	}
	close(prep->in_fd);
	prep->in_fd = -1;
	while (waitpid(prep->pid, &status, 0) < 0)
		if (errno != EINTR) {
			prep->pid = -1;
			return ferry_error_sys(err, "wait for %s", restore_tool(family));
		}
	prep->pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ferry_error_set(err, 0, "%s exited with status 0x%x for: %s", restore_tool(family), status,
				       rules);
	return 0;
}

int
ferry_net_lock_conns(const struct ferry_ipaddr *ips, size_t n_ips, const struct ferry_tcp_conn *c, size_t n, bool on,
		     ferry_error_t *err)
{
	return ferry_net_lock_conns_prepared(NULL, ips, n_ips, c, n, on, err);
}

int
ferry_net_lock_conns_prepared(struct ferry_net_lock_prep *prep, const struct ferry_ipaddr *ips, size_t n_ips,
			      const struct ferry_tcp_conn *c, size_t n, bool on, ferry_error_t *err)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (size_t k = 0; k < ARRAY_SIZE(families); k++) {
		_cleanup_free_ char *rules = NULL;
		size_t len = 0, count = 0;
		FILE *f = open_memstream(&rules, &len);

		if (f == NULL)
			return ferry_error_sys(err, "open_memstream");
		for (size_t i = 0; on && i < n_ips; i++) {
			char a[INET6_ADDRSTRLEN];
			if (ips[i].family != families[k])
				continue;
			ferry_ipaddr_format_addr(&ips[i], a, sizeof(a));
			fprintf(f, "-I OUTPUT -s %s/%u -p tcp -m mark ! --mark 0xc114 -j DROP\n", a,
				max_prefix(families[k]));
			count++;
		}
		for (size_t i = 0; i < n; i++)
			if (c[i].local.family == families[k]) {
				conn_rules(f, &c[i], on ? "-I" : "-D");
				count++;
			}
		fclose(f);
		if (count && batch(families[k], rules, prep, err) < 0)
			return ferry_error_prefix(err, "%s the network", on ? "lock" : "unlock");
	}
	return 0;
}

static bool
is_v4_mapped(const unsigned char a[16])
{
	static const unsigned char prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

static void
unmap_v4(struct ferry_ipaddr *a)
{
	unsigned char v4[4];

	memcpy(v4, a->addr + 12, 4);
	memset(a->addr, 0, sizeof(a->addr));
	memcpy(a->addr, v4, 4);
	a->family = AF_INET;
	a->prefix = 32;
}

/* The connected TCP sockets of one family in this network namespace
 * (sock_diag: the kernel filters out listeners and TIME_WAIT, which a busy
 * server has thousands of), those with an inode in inodes[]. */
static int
diag_tcp(int family, const unsigned long *inodes, size_t n_inodes, struct ferry_tcp_conn **out, size_t *n_out,
	 ferry_error_t *err)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = { 0 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	char buf[32768];
	bool done = false;

	if (fd < 0)
		return ferry_error_sys(err, "sock_diag socket");
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.r.sdiag_family = (uint8_t) family;
	req.r.sdiag_protocol = IPPROTO_TCP;
	/* every state but LISTEN (10), CLOSE (7) and TIME_WAIT (6) */
	req.r.idiag_states = 0xfff & ~((1u << 10) | (1u << 7) | (1u << 6));
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return ferry_error_sys(err, "sock_diag request");
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ferry_error_sys(err, "sock_diag");
		if (n == 0)
			break;
		for (h = (struct nlmsghdr *) buf; NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
			const struct inet_diag_msg *d;
			struct ferry_tcp_conn c = { 0 };
			size_t alen = family == AF_INET ? 4 : 16;
			bool ours = false;

			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				errno = -e->error;
				return ferry_error_sys(err, "sock_diag");
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*d)))
				continue;
			d = NLMSG_DATA(h);
			for (size_t i = 0; i < n_inodes && !ours; i++)
				ours = inodes[i] == d->idiag_inode;
			if (!ours || d->idiag_inode == 0)
				continue;
			c.local.family = c.peer.family = family;
			c.local.prefix = c.peer.prefix = max_prefix(family);
			memcpy(c.local.addr, d->id.idiag_src, alen);
			memcpy(c.peer.addr, d->id.idiag_dst, alen);
			/* A dual-stack socket's IPv4 connection (::ffff:a.b.c.d):
			 * its packets are IPv4, for iptables, not ip6tables. */
			if (family == AF_INET6 && is_v4_mapped(c.local.addr) && is_v4_mapped(c.peer.addr)) {
				unmap_v4(&c.local);
				unmap_v4(&c.peer);
			}
			c.lport = ntohs(d->id.idiag_sport);
			c.pport = ntohs(d->id.idiag_dport);
			*out = xrealloc(*out, (*n_out + 1) * sizeof(**out));
			(*out)[(*n_out)++] = c;
		}
	}
	return 0;
}

int
ferry_net_tcp_conns_of(const pid_t *pids, size_t n, struct ferry_tcp_conn **out, size_t *n_out, ferry_error_t *err)
{
	_cleanup_free_ unsigned long *inodes = NULL;
	size_t n_inodes = 0;

	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n; i++) {
		char dir[64];
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *de;

		snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pids[i]);
		d = opendir(dir);
		if (d == NULL)
			continue; /* gone: nothing of it to lock */
		while ((de = readdir(d)) != NULL) {
			char target[64];
			ssize_t k;
			unsigned long ino;

			if (de->d_name[0] == '.')
				continue;
			k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
			if (k <= 0)
				continue;
			target[k] = '\0';
			if (sscanf(target, "socket:[%lu]", &ino) != 1)
				continue;
			inodes = xrealloc(inodes, (n_inodes + 1) * sizeof(*inodes));
			inodes[n_inodes++] = ino;
		}
	}
	if (n_inodes == 0 || n == 0)
		return 0;
	for (int k = 0; k < 2; k++) {
		if (diag_tcp(k == 0 ? AF_INET : AF_INET6, inodes, n_inodes, out, n_out, err) < 0) {
			free(*out);
			*out = NULL;
			*n_out = 0;
			return -1;
		}
	}
	return 0;
}

#define LOCKED_CONNS_FILE "ferry-locked-conns"

int
ferry_net_lock_conns_save(int dirfd, const struct ferry_tcp_conn *c, size_t n, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return ferry_error_sys(err, "open_memstream");
	for (size_t i = 0; i < n; i++) {
		char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
		ferry_ipaddr_format_addr(&c[i].local, l, sizeof(l));
		ferry_ipaddr_format_addr(&c[i].peer, r, sizeof(r));
		fprintf(f, "%s/%u %u %s/%u %u\n", l, max_prefix(c[i].local.family), c[i].lport, r,
			max_prefix(c[i].peer.family), c[i].pport);
	}
	fclose(f);
	return ferry_write_file_atomic_at(dirfd, LOCKED_CONNS_FILE, text, len, 0600, err);
}

int
ferry_net_lock_conns_undo_saved(int dirfd, ferry_error_t *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct ferry_tcp_conn *c = NULL;
	size_t len = 0, n = 0;
	char *save = NULL;

	if (ferry_read_file_at(dirfd, LOCKED_CONNS_FILE, 1u << 20, &text, &len, err) < 0) {
		if (err->errno_ != ENOENT)
			return -1;
		ferry_error_clear(err);
		return 0;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char l[80], r[80];
		unsigned int lp, pp;
		struct ferry_tcp_conn one = { 0 };

		if (sscanf(line, "%79s %u %79s %u", l, &lp, r, &pp) != 4 || lp > 65535 || pp > 65535 ||
		    ferry_ipaddr_parse(l, &one.local, err) < 0 || ferry_ipaddr_parse(r, &one.peer, err) < 0)
			return ferry_error_prefix(err, "%s: a line it cannot read", LOCKED_CONNS_FILE);
		one.lport = (uint16_t) lp;
		one.pport = (uint16_t) pp;
		c = xrealloc(c, (n + 1) * sizeof(*c));
		c[n++] = one;
	}
	if (n && ferry_net_lock_conns(NULL, 0, c, n, false, err) < 0)
		return -1;
	unlinkat(dirfd, LOCKED_CONNS_FILE, 0);
	return (int) n;
}
