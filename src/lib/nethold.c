/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Holding packets to the service addresses in an nfnetlink queue (nethold.h
 * says why).  Raw netlink, as netmove.c does for addresses: three message
 * kinds (bind a queue, read packet ids, one batch verdict) are less than a
 * library's worth, and every request is acked with the kernel's errno.
 *
 * Only the packets' metadata is copied to us (NFQNL_COPY_META): the kernel
 * keeps the packets, we keep the highest id, and one NFQNL_MSG_VERDICT_BATCH
 * lets through every packet up to it, in the order they came.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "hold: "
#include "log.h"
#include "nethold.h"
#include "util.h"

#define HOLD_COMMENT "ferry-hold"
/* Queue numbers tried: a range away from the low numbers people use by
 * hand, and a start that differs between agents. */
#define QUEUE_BASE 0xf000u
#define QUEUE_SPAN 0x0f00u
#define QUEUE_TRIES 64
/* Packets the kernel may hold at once: beyond this it drops them (as the
 * lock would have).  A busy service gets ~10 packets per ms. */
#define QUEUE_MAXLEN 16384
#define RCVBUF (8 << 20)

struct nl_req {
	struct nlmsghdr h;
	struct nfgenmsg g;
	char attrs[64];
};

static void
put_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *) ((char *) r + NLMSG_ALIGN(r->h.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (unsigned short) (NLA_HDRLEN + len);
	memcpy((char *) a + NLA_HDRLEN, data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void
req_init(struct nl_req *r, uint16_t msg, uint16_t queue, bool ack)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg));
	r->h.nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | msg;
	r->h.nlmsg_flags = NLM_F_REQUEST | (ack ? NLM_F_ACK : 0);
	r->g.nfgen_family = AF_UNSPEC;
	r->g.version = NFNETLINK_V0;
	r->g.res_id = htons(queue);
}

/* One netlink message: a packet (counted) or the ack awaited. */
static void
parse_one(struct ferry_hold *h, const struct nlmsghdr *m, uint32_t seq, bool *acked, int *ack_errno)
{
	const struct nlattr *a;
	size_t left;

	if (m->nlmsg_type == NLMSG_ERROR && seq && m->nlmsg_seq == seq) {
		const struct nlmsgerr *e = NLMSG_DATA(m);
		*acked = true;
		*ack_errno = m->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) ? EPROTO : -e->error;
		return;
	}
	if (m->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) ||
	    m->nlmsg_len < NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg))))
		return;
	a = (const struct nlattr *) ((const char *) NLMSG_DATA(m) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
	left = m->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(struct nfgenmsg)));
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
		size_t step = NLA_ALIGN(a->nla_len);
		if ((a->nla_type & NLA_TYPE_MASK) == NFQA_PACKET_HDR &&
		    a->nla_len >= NLA_HDRLEN + sizeof(struct nfqnl_msg_packet_hdr)) {
			struct nfqnl_msg_packet_hdr ph;
			memcpy(&ph, (const char *) a + NLA_HDRLEN, sizeof(ph));
			h->max_id = ntohl(ph.packet_id);
			h->any = true;
			h->held++;
		}
		if (step >= left)
			break;
		left -= step;
		a = (const struct nlattr *) ((const char *) a + step);
	}
}

/*
 * Goes through what one recv() brought: packet messages raise the count
 * and the highest id; the ack of request seq (0: none awaited) sets *acked
 * and *ack_errno.  A bind is acked before any packet comes, but a verdict
 * may cross new ones.
 */
static void
parse(struct ferry_hold *h, const char *buf, size_t len, uint32_t seq, bool *acked, int *ack_errno)
{
	size_t off = 0;

	while (len - off >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *m = (const struct nlmsghdr *) (buf + off);
		if (m->nlmsg_len < sizeof(*m) || m->nlmsg_len > len - off)
			break;
		parse_one(h, m, seq, acked, ack_errno);
		off += NLMSG_ALIGN(m->nlmsg_len);
		if (off > len)
			break;
	}
}

/* Sends r and, for an acked request, reads until its ack. */
static int
transact(struct ferry_hold *h, struct nl_req *r, ferry_error_t *err)
{
	static uint32_t seq;
	char buf[16384];
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	bool acked = false;
	int e = 0;

	r->h.nlmsg_seq = ++seq;
	if (sendto(h->fd, r, r->h.nlmsg_len, 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0)
		return ferry_error_sys(err, "nfnetlink_queue: send");
	if (!(r->h.nlmsg_flags & NLM_F_ACK))
		return 0;
	while (!acked) {
		ssize_t n = recv(h->fd, buf, sizeof(buf), 0);
		if (n < 0 && (errno == EINTR || errno == ENOBUFS))
			continue;
		if (n < 0)
			return ferry_error_sys(err, "nfnetlink_queue: receive");
		parse(h, buf, (size_t) n, r->h.nlmsg_seq, &acked, &e);
	}
	if (e) {
		errno = e;
		return ferry_error_sys(err, "nfnetlink_queue");
	}
	return 0;
}

/* Reads, without waiting, what is queued for us. */
static int
hold_read(struct ferry_hold *h, ferry_error_t *err)
{
	char buf[16384];
	bool acked = false;
	int e = 0;

	for (;;) {
		ssize_t n = recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == ENOBUFS))
			continue; /* ENOBUFS: some were dropped; the kernel still holds the rest */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return ferry_error_sys(err, "nfnetlink_queue: receive");
		parse(h, buf, (size_t) n, 0, &acked, &e);
	}
}

static int
open_socket(ferry_error_t *err)
{
	struct sockaddr_nl local = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	int one = 1, size = RCVBUF;

	if (fd < 0)
		return ferry_error_sys(err, "nfnetlink socket");
	if (bind(fd, (struct sockaddr *) &local, sizeof(local)) < 0) {
		close(fd);
		return ferry_error_sys(err, "nfnetlink bind");
	}
	/* Forced past rmem_max: a full buffer would drop packets we hold. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	(void) setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	return fd;
}

static int
config_cmd(struct ferry_hold *h, uint16_t queue, uint8_t cmd, ferry_error_t *err)
{
	struct nl_req r;
	struct nfqnl_msg_config_cmd c = { .command = cmd, .pf = htons(AF_UNSPEC) };

	req_init(&r, NFQNL_MSG_CONFIG, queue, true);
	put_attr(&r, NFQA_CFG_CMD, &c, sizeof(c));
	return transact(h, &r, err);
}

/* Binds the first free queue number from a start of this process's. */
static int
bind_queue(struct ferry_hold *h, ferry_error_t *err)
{
	uint16_t start = (uint16_t) (QUEUE_BASE + ((unsigned) getpid() % QUEUE_SPAN));

	for (unsigned i = 0; i < QUEUE_TRIES; i++) {
		uint16_t q = (uint16_t) (QUEUE_BASE + (start - QUEUE_BASE + i) % QUEUE_SPAN);
		struct nl_req r;
		struct nfqnl_msg_config_params p = { .copy_range = 0, .copy_mode = NFQNL_COPY_META };
		uint32_t maxlen = htonl(QUEUE_MAXLEN);

		ferry_error_clear(err);
		if (config_cmd(h, q, NFQNL_CFG_CMD_BIND, err) < 0) {
			if (err->errno_ == EBUSY)
				continue; /* another process has it */
			return -1;
		}
		h->queue = q;
		req_init(&r, NFQNL_MSG_CONFIG, q, true);
		put_attr(&r, NFQA_CFG_PARAMS, &p, sizeof(p));
		put_attr(&r, NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof(maxlen));
		if (transact(h, &r, err) < 0) {
			_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
			config_cmd(h, q, NFQNL_CFG_CMD_UNBIND, &e);
			return -1;
		}
		return 0;
	}
	return ferry_error_set(err, EBUSY, "no free nfnetlink queue in %u-%u", QUEUE_BASE, QUEUE_BASE + QUEUE_SPAN - 1);
}

bool
ferry_hold_available(void)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	struct ferry_hold h = FERRY_HOLD_INIT;
	bool ok;

	if (!ferry_net_lock_available(AF_INET) || !ferry_net_lock_available(AF_INET6))
		return false;
	h.fd = open_socket(&e);
	if (h.fd < 0)
		return false;
	ok = bind_queue(&h, &e) == 0;
	if (ok)
		config_cmd(&h, h.queue, NFQNL_CFG_CMD_UNBIND, &e);
	close(h.fd);
	return ok;
}

static const int families[] = { AF_INET, AF_INET6 };

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The rules of one family, -I or -D; NULL when it has no address. */
static char *
rules_text(const struct ferry_hold *h, int family, bool on)
{
	char *text = NULL;
	size_t len = 0, count = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < h->n_ips; i++) {
		char a[INET6_ADDRSTRLEN];
		if (h->ips[i].family != family)
			continue;
		ferry_ipaddr_format_addr(&h->ips[i], a, sizeof(a));
		fprintf(f,
			"%s INPUT -d %s/%u -m comment --comment " HOLD_COMMENT
			" -j NFQUEUE --queue-num %u --queue-bypass\n",
			on ? "-I" : "-D", a, family == AF_INET ? 32u : 128u, (unsigned) h->queue);
		count++;
	}
	fclose(f);
	if (count == 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int
rules(struct ferry_hold *h, bool on, ferry_error_t *err)
{
	for (size_t k = 0; k < ARRAY_SIZE(families); k++) {
		_cleanup_free_ char *text = rules_text(h, families[k], on);
		if (text && ferry_net_iptables_batch(families[k], text, err) < 0)
			return ferry_error_prefix(err, "%s the hold rules", on ? "add" : "remove");
	}
	return 0;
}

int
ferry_hold_start(struct ferry_hold *h, const struct ferry_ipaddr *ips, size_t n_ips, ferry_error_t *err)
{
	if (n_ips > ARRAY_SIZE(h->ips))
		return ferry_error_set(err, E2BIG, "hold: %zu addresses, at most %zu", n_ips, ARRAY_SIZE(h->ips));
	*h = (struct ferry_hold) FERRY_HOLD_INIT;
	memcpy(h->ips, ips, n_ips * sizeof(*ips));
	h->n_ips = n_ips;
	h->fd = open_socket(err);
	if (h->fd < 0)
		return -1;
	if (bind_queue(h, err) < 0 || rules(h, true, err) < 0) {
		close(h->fd);
		h->fd = -1;
		return -1;
	}
	h->rules_in = true;
	/* The tools that will take the rules out, started now: at the
	 * release they only read their input (no exec while packets wait). */
	for (size_t k = 0; k < ARRAY_SIZE(families); k++) {
		_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
		_cleanup_free_ char *text = rules_text(h, families[k], false);
		if (text && ferry_net_lock_prep_start(families[k], &h->remover[k], &e) < 0)
			pr_debug("%s", e.msg); /* the release runs it then */
	}
	pr_debug("holding packets to %zu address(es) in queue %u", n_ips, (unsigned) h->queue);
	return 0;
}

static int
accept_held(struct ferry_hold *h, ferry_error_t *err)
{
	struct nl_req r;
	struct nfqnl_msg_verdict_hdr v;

	if (hold_read(h, err) < 0)
		return -1;
	if (!h->any || h->released == h->held)
		return 0;
	v.verdict = htonl(NF_ACCEPT);
	v.id = htonl(h->max_id);
	req_init(&r, NFQNL_MSG_VERDICT_BATCH, h->queue, false);
	put_attr(&r, NFQA_VERDICT_HDR, &v, sizeof(v));
	if (transact(h, &r, err) < 0)
		return -1;
	h->released = h->held;
	return 0;
}

/*
 * Takes the rules out while letting packets through: until the tools have
 * committed the removal new packets still come to the queue, and each is
 * let through as it comes (a dropped one would cost its sender a
 * retransmission: a SYN 1 s, the ACK that ends a handshake the SYN-ACK's
 * 1 s).  Only then is the queue given up, empty.
 */
static int
removal_start(struct ferry_hold *h, ferry_error_t *err)
{
	for (size_t k = 0; k < ARRAY_SIZE(families); k++) {
		struct ferry_net_lock_prep *p = &h->remover[k];
		_cleanup_free_ char *body = rules_text(h, families[k], false);
		_cleanup_free_ char *text = NULL;

		if (body == NULL)
			continue;
		if (p->pid <= 0 && ferry_net_lock_prep_start(families[k], p, err) < 0)
			return -1;
		text = xasprintf("*filter\n%sCOMMIT\n", body);
		if (ferry_write_all(p->in_fd, text, strlen(text)) < 0) {
			ferry_net_lock_prep_cancel(p);
			return ferry_error_sys(err, "remove the hold rules: write to iptables-restore");
		}
		close(p->in_fd);
		p->in_fd = -1;
	}
	h->removing = true;
	return 0;
}

/* Until the tools have committed the removal, lets through each packet as
 * it comes. */
static int
removal_wait(struct ferry_hold *h, ferry_error_t *err)
{
	int failed = 0;
	double t0 = mono_s();

	for (;;) {
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };
		bool running = false;

		for (size_t k = 0; k < ARRAY_SIZE(families); k++) {
			int st;
			pid_t r;
			if (h->remover[k].pid <= 0)
				continue;
			r = waitpid(h->remover[k].pid, &st, WNOHANG);
			if (r == 0) {
				running = true;
				continue;
			}
			if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
				failed = 1;
			h->remover[k].pid = -1;
		}
		if (h->fd >= 0 && accept_held(h, err) < 0)
			failed = 2;
		if (!running || failed == 2)
			break;
		if (mono_s() - t0 > 5.0) {
			failed = 1;
			break;
		}
		if (h->fd >= 0)
			(void) poll(&pfd, 1, 1);
		else
			usleep(1000);
	}
	for (size_t k = 0; k < ARRAY_SIZE(families); k++)
		if (h->remover[k].pid > 0) {
			kill(h->remover[k].pid, SIGKILL);
			ferry_net_lock_prep_cancel(&h->remover[k]);
		}
	h->removing = false;
	if (failed == 2)
		return -1;
	if (failed)
		return ferry_error_set(err, 0, "iptables-restore did not remove the hold rules");
	h->rules_in = false;
	return 0;
}

/* The release's second half, in a thread of its own: the caller goes on
 * with its session while packets keep being let through. */
static void *
release_main(void *arg)
{
	struct ferry_hold *h = arg;
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (h->removing && removal_wait(h, &e) < 0) {
		pr_warn("%s", e.msg);
		ferry_error_clear(&e);
	}
	if (accept_held(h, &e) < 0)
		h->thread_failed = true;
	ferry_error_clear(&e);
	config_cmd(h, h->queue, NFQNL_CFG_CMD_UNBIND, &e);
	close(h->fd);
	h->fd = -1;
	return NULL;
}

int
ferry_hold_release(struct ferry_hold *h, ferry_error_t *err)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;
	int r;

	if (h->fd < 0)
		return 0;
	/* What waited so far goes first. */
	if (accept_held(h, err) < 0) {
		ferry_hold_drop(h);
		return -1;
	}
	if (h->rules_in && removal_start(h, &e) < 0) {
		/* They let packets through once the queue is gone (bypass);
		 * the session's end removes them. */
		pr_warn("%s", e.msg);
	}
	h->waited = h->released;
	r = pthread_create(&h->thread, NULL, release_main, h);
	if (r != 0) {
		release_main(h); /* then here */
		return 0;
	}
	h->thread_running = true;
	return 0;
}

int
ferry_hold_finish(struct ferry_hold *h, ferry_error_t *err)
{
	if (h->thread_running) {
		pthread_join(h->thread, NULL);
		h->thread_running = false;
	}
	if (h->thread_failed)
		return ferry_error_set(err, EIO, "hold: letting the last packets through failed");
	pr_debug("let %" PRIu64 " held packet(s) through", h->released);
	return 0;
}

int
ferry_hold_remove_rules(struct ferry_hold *h, ferry_error_t *err)
{
	if (!h->rules_in)
		return 0;
	if (rules(h, false, err) < 0)
		return -1;
	h->rules_in = false;
	return 0;
}

void
ferry_hold_drop(struct ferry_hold *h)
{
	_cleanup_error_ ferry_error_t e = FERRY_ERROR_INIT;

	if (h->thread_running) {
		/* released: its thread ends within the removal's bound */
		pthread_join(h->thread, NULL);
		h->thread_running = false;
	}
	if (h->fd >= 0) {
		close(h->fd); /* the kernel drops what the queue held */
		h->fd = -1;
	}
	if (h->removing) {
		if (removal_wait(h, &e) < 0)
			pr_warn("%s", e.msg);
		ferry_error_clear(&e);
	}
	for (size_t k = 0; k < ARRAY_SIZE(families); k++)
		ferry_net_lock_prep_cancel(&h->remover[k]);
	if (ferry_hold_remove_rules(h, &e) < 0)
		pr_warn("%s", e.msg);
}

bool
ferry_hold_is_rule(char **tok, size_t n, const char *addr)
{
	bool comment = false, queue = false, match_addr = false;

	if (n < 2 || strcmp(tok[0], "-A") != 0 || strcmp(tok[1], "INPUT") != 0)
		return false;
	for (size_t i = 2; i + 1 < n; i++) {
		if (!strcmp(tok[i], "--comment") && !strcmp(tok[i + 1], HOLD_COMMENT))
			comment = true;
		if (!strcmp(tok[i], "-j") && !strcmp(tok[i + 1], "NFQUEUE"))
			queue = true;
		if (!strcmp(tok[i], "-d") && !strcmp(tok[i + 1], addr))
			match_addr = true;
	}
	return comment && queue && match_addr;
}
