/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Privilege separation: message framing and the dropping of privileges
 * (privsep.h says what the format is and why).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privsep.h"
#include "util.h"

#define ABSENT UINT32_MAX

void
ferry_ps_init(struct ferry_ps_msg *m, uint32_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	for (size_t i = 0; i < FERRY_PS_MAX_FDS; i++)
		m->fds[i] = -1;
}

void
ferry_ps_free(struct ferry_ps_msg *m)
{
	free(m->p);
	m->p = NULL;
	m->len = m->cap = m->off = 0;
	for (size_t i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0) {
			close(m->fds[i]);
			m->fds[i] = -1;
		}
	m->nfds = 0;
}

/* ---------------------------------------------------------------- writing */

static void
put(struct ferry_ps_msg *m, const void *p, size_t len)
{
	if (m->bad)
		return;
	if (len > FERRY_PS_MAX_PAYLOAD - m->len) {
		m->bad = true;
		return;
	}
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap : 256;
		while (cap < m->len + len)
			cap *= 2;
		m->p = xrealloc(m->p, cap);
		m->cap = cap;
	}
	memcpy(m->p + m->len, p, len);
	m->len += len;
}

void
ferry_ps_put_u32(struct ferry_ps_msg *m, uint32_t v)
{
	unsigned char b[4] = { (unsigned char) v, (unsigned char) (v >> 8), (unsigned char) (v >> 16),
			       (unsigned char) (v >> 24) };
	put(m, b, sizeof(b));
}

void
ferry_ps_put_u64(struct ferry_ps_msg *m, uint64_t v)
{
	ferry_ps_put_u32(m, (uint32_t) v);
	ferry_ps_put_u32(m, (uint32_t) (v >> 32));
}

void
ferry_ps_put_bytes(struct ferry_ps_msg *m, const void *p, size_t len)
{
	if (len >= ABSENT) {
		m->bad = true;
		return;
	}
	ferry_ps_put_u32(m, (uint32_t) len);
	put(m, p, len);
}

void
ferry_ps_put_str(struct ferry_ps_msg *m, const char *s)
{
	if (s == NULL)
		ferry_ps_put_u32(m, ABSENT);
	else
		ferry_ps_put_bytes(m, s, strlen(s));
}

/* ---------------------------------------------------------------- reading */

static const unsigned char *
get(struct ferry_ps_msg *m, size_t len)
{
	const unsigned char *p;

	if (m->bad || len > m->len - m->off) {
		m->bad = true;
		return NULL;
	}
	p = m->p + m->off;
	m->off += len;
	return p;
}

uint32_t
ferry_ps_get_u32(struct ferry_ps_msg *m)
{
	const unsigned char *b = get(m, 4);

	if (b == NULL)
		return 0;
	return (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
}

uint64_t
ferry_ps_get_u64(struct ferry_ps_msg *m)
{
	uint64_t lo = ferry_ps_get_u32(m);
	return lo | (uint64_t) ferry_ps_get_u32(m) << 32;
}

const void *
ferry_ps_get_bytes(struct ferry_ps_msg *m, size_t *len)
{
	uint32_t n = ferry_ps_get_u32(m);
	const unsigned char *p;

	*len = 0;
	if (n == ABSENT) {
		m->bad = true;
		return NULL;
	}
	p = get(m, n);
	if (p)
		*len = n;
	return p;
}

char *
ferry_ps_get_str(struct ferry_ps_msg *m)
{
	uint32_t n = ferry_ps_get_u32(m);
	const unsigned char *p;

	if (m->bad || n == ABSENT)
		return NULL;
	p = get(m, n);
	if (p == NULL)
		return NULL;
	if (memchr(p, '\0', n) != NULL) {
		m->bad = true;
		return NULL;
	}
	{
		char *s = xmalloc0((size_t) n + 1);
		memcpy(s, p, n);
		return s;
	}
}

int
ferry_ps_take_fd(struct ferry_ps_msg *m, size_t i)
{
	int fd;

	if (i >= m->nfds)
		return -1;
	fd = m->fds[i];
	m->fds[i] = -1;
	return fd;
}

bool
ferry_ps_done(const struct ferry_ps_msg *m)
{
	return !m->bad && m->off == m->len;
}

/* ---------------------------------------------------------------- manifests */

void
ferry_ps_put_manifest(struct ferry_ps_msg *m, const struct ferry_xfer_manifest *xm)
{
	if (xm->n > UINT32_MAX) {
		m->bad = true;
		return;
	}
	ferry_ps_put_u32(m, (uint32_t) xm->n);
	for (size_t i = 0; i < xm->n; i++) {
		const struct ferry_xfer_entry *e = &xm->v[i];
		ferry_ps_put_str(m, e->path);
		ferry_ps_put_u32(m, e->mode);
		ferry_ps_put_u32(m, e->uid);
		ferry_ps_put_u32(m, e->gid);
		ferry_ps_put_u64(m, e->size);
		ferry_ps_put_u64(m, (uint64_t) e->mtime_sec);
		ferry_ps_put_u32(m, e->mtime_nsec);
		ferry_ps_put_str(m, e->link);
	}
}

int
ferry_ps_get_manifest(struct ferry_ps_msg *m, struct ferry_xfer_manifest *xm, ferry_error_t *err)
{
	struct ferry_xfer_manifest out = { 0 };
	uint32_t n = ferry_ps_get_u32(m);

	memset(xm, 0, sizeof(*xm));
	/* The limit comes before an allocation sized by the sender; each
	 * entry takes at least 40 bytes of the payload. */
	if (m->bad || n == 0 || n > FERRY_XFER_MAX_ENTRIES || (size_t) n > (m->len - m->off) / 40)
		return ferry_error_set(err, EPROTO, "manifest: %u entries do not fit the message", n);
	out.v = xmalloc0(n * sizeof(*out.v));
	for (uint32_t i = 0; i < n && !m->bad; i++) {
		struct ferry_xfer_entry *e = &out.v[i];
		out.n = i + 1;
		e->path = ferry_ps_get_str(m);
		e->mode = ferry_ps_get_u32(m);
		e->uid = ferry_ps_get_u32(m);
		e->gid = ferry_ps_get_u32(m);
		e->size = ferry_ps_get_u64(m);
		e->mtime_sec = (int64_t) ferry_ps_get_u64(m);
		e->mtime_nsec = ferry_ps_get_u32(m);
		e->link = ferry_ps_get_str(m);
		if (e->path == NULL)
			m->bad = true;
	}
	if (m->bad) {
		ferry_xfer_manifest_free(&out);
		return ferry_error_set(err, EPROTO, "manifest: malformed");
	}
	if (ferry_xfer_manifest_check(&out, err) < 0) {
		ferry_xfer_manifest_free(&out);
		return -1;
	}
	*xm = out;
	return 0;
}

/* ---------------------------------------------------------------- transport */

int
ferry_ps_send(int sock, struct ferry_ps_msg *m, const int *fds, size_t nfds, ferry_error_t *err)
{
	unsigned char hdr[8];
	char cbuf[CMSG_SPACE(sizeof(int) * FERRY_PS_MAX_FDS)] = { 0 };
	struct iovec iov[2];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total, sent = 0;

	if (m->bad || m->len > FERRY_PS_MAX_PAYLOAD || nfds > FERRY_PS_MAX_FDS)
		return ferry_error_set(err, EMSGSIZE, "privsep: message %u too large", m->type);
	for (int i = 0; i < 4; i++) {
		hdr[i] = (unsigned char) (m->type >> (8 * i));
		hdr[4 + i] = (unsigned char) (m->len >> (8 * i));
	}
	iov[0] = (struct iovec) { .iov_base = hdr, .iov_len = sizeof(hdr) };
	iov[1] = (struct iovec) { .iov_base = m->p, .iov_len = m->len };
	if (nfds) {
		struct cmsghdr *c;
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	total = sizeof(hdr) + m->len;
	while (sent < total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ferry_error_sys(err, "privsep: send");
		}
		sent += (size_t) n;
		/* What is left goes without the descriptors. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen && (size_t) n >= mh.msg_iov[0].iov_len) {
			n -= (ssize_t) mh.msg_iov[0].iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov[0].iov_base = (char *) mh.msg_iov[0].iov_base + n;
			mh.msg_iov[0].iov_len -= (size_t) n;
		}
	}
	return 0;
}

int
ferry_ps_recv(int sock, struct ferry_ps_msg *m, ferry_error_t *err)
{
	unsigned char hdr[8];
	char cbuf[CMSG_SPACE(sizeof(int) * FERRY_PS_MAX_FDS)];
	size_t got = 0;
	uint32_t len;

	ferry_ps_init(m, 0);
	while (got < sizeof(hdr)) {
		struct iovec iov = { .iov_base = hdr + got, .iov_len = sizeof(hdr) - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		struct cmsghdr *c;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ferry_error_sys(err, "privsep: receive");
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t k;
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int fd;
				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (m->nfds < FERRY_PS_MAX_FDS)
					m->fds[m->nfds++] = fd;
				else
					close(fd);
			}
		}
		if (n == 0) {
			if (got == 0)
				return 1;
			return ferry_error_set(err, EPROTO, "privsep: torn message header");
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			ferry_ps_free(m);
			return ferry_error_set(err, EPROTO, "privsep: too many descriptors");
		}
		got += (size_t) n;
	}
	m->type = (uint32_t) hdr[0] | (uint32_t) hdr[1] << 8 | (uint32_t) hdr[2] << 16 | (uint32_t) hdr[3] << 24;
	len = (uint32_t) hdr[4] | (uint32_t) hdr[5] << 8 | (uint32_t) hdr[6] << 16 | (uint32_t) hdr[7] << 24;
	if (len > FERRY_PS_MAX_PAYLOAD) {
		ferry_ps_free(m);
		return ferry_error_set(err, EMSGSIZE, "privsep: message of %u bytes", len);
	}
	m->p = len ? malloc(len) : NULL;
	if (len && m->p == NULL) {
		ferry_ps_free(m);
		return ferry_error_set(err, ENOMEM, "privsep: out of memory");
	}
	m->len = m->cap = len;
	if (len && ferry_read_all(sock, m->p, len) != (ssize_t) len) {
		ferry_ps_free(m);
		return ferry_error_set(err, EPROTO, "privsep: torn message");
	}
	return 0;
}

/* ---------------------------------------------------------------- dropping */

int
ferry_ps_drop_privileges(const char *empty_dir, const int *keep, size_t nkeep, ferry_error_t *err)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	struct stat st;

	if (uid == 0 || gid == 0)
		return ferry_error_set(err, EPERM, "privsep: \"nobody\" is root here");
	if (ferry_close_fds_from(3, keep, nkeep) < 0)
		return ferry_error_sys(err, "privsep: close descriptors");
	/* The empty root must not be writable by the user we become. */
	if (stat(empty_dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 0022))
		return ferry_error_set(err, EPERM, "privsep: %s is not a root-owned directory nobody else can write",
				       empty_dir);
	if (chroot(empty_dir) < 0 || chdir("/") < 0)
		return ferry_error_sys(err, "privsep: chroot %s", empty_dir);
	/* The bounding set too (while we still have CAP_SETPCAP): nothing
	 * executed later could regain a capability. */
	for (int c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return ferry_error_sys(err, "privsep: drop capability %d from the bounding set", c);
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return ferry_error_sys(err, "privsep: become uid %u", (unsigned) uid);
	/* Going from root to another uid cleared the permitted and effective
	 * sets; the inheritable and ambient ones are cleared here. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return ferry_error_sys(err, "privsep: clear ambient capabilities");
	if (syscall(SYS_capset, &h, d) < 0)
		return ferry_error_sys(err, "privsep: drop capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return ferry_error_sys(err, "privsep: no_new_privs");
	/* Proof, not trust: it must be impossible to get root back. */
	if (setuid(0) == 0 || chroot("/") == 0)
		return ferry_error_set(err, EPERM, "privsep: privileges still there after dropping them");
	return 0;
}
