/* SPDX-License-Identifier: GPL-2.0-or-later */
#define LOG_PREFIX "terminal: "
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

int
ferry_fd_send(int sock, int fd, const char *payload, ferry_error_t *err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	const char *p = payload && *payload ? payload : "ferry";
	struct iovec iov = { .iov_base = (void *) p, .iov_len = strlen(p) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return ferry_error_sys(err, "send file descriptor");
	}
	return 0;
}

int
ferry_fd_recv(int sock, int *fd, char *buf, size_t len, ferry_error_t *err)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char dummy[256];
	struct iovec iov = { .iov_base = buf ? buf : dummy, .iov_len = buf ? len - 1 : sizeof(dummy) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ferry_error_sys(err, "receive file descriptor");
	if (buf)
		buf[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return ferry_error_set(err, EBADMSG, "receive file descriptor: none in the message");
	memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

int
ferry_console_socket_connect(const char *path, ferry_error_t *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return ferry_error_set(err, ENAMETOOLONG, "console socket %s: path too long", path);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return ferry_error_sys(err, "console socket %s", path);
	if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0) {
		ferry_error_sys(err, "connect to console socket %s", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
ferry_pty_open(int *master, char **slave_path, unsigned int rows, unsigned int cols, ferry_error_t *err)
{
	_cleanup_close_ int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[128];

	if (m < 0)
		return ferry_error_sys(err, "open /dev/ptmx");
	if (unlockpt(m) < 0)
		return ferry_error_sys(err, "unlock pty");
	if (ptsname_r(m, name, sizeof(name)) != 0)
		return ferry_error_sys(err, "pty name");
	if (rows && cols) {
		struct winsize ws = { .ws_row = rows, .ws_col = cols };
		ioctl(m, TIOCSWINSZ, &ws);
	}
	*slave_path = xstrdup(name);
	*master = steal_fd(&m);
	return 0;
}

int
ferry_pty_setup_slave(const char *slave_path, bool bind_console, ferry_error_t *err)
{
	_cleanup_close_ int s = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (s < 0)
		return ferry_error_sys(err, "open pty %s", slave_path);
	if (setsid() < 0 && errno != EPERM)
		return ferry_error_sys(err, "setsid");
	if (ioctl(s, TIOCSCTTY, 0) < 0)
		return ferry_error_sys(err, "make %s the controlling terminal", slave_path);
	for (int i = 0; i < 3; i++)
		if (dup2(s, i) < 0)
			return ferry_error_sys(err, "dup pty to fd %d", i);
	/* /dev/console is what programs open to talk to "the" terminal. */
	if (bind_console && stat("/dev/console", &st) == 0 &&
	    mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0)
		return ferry_error_sys(err, "bind %s on /dev/console", slave_path);
	return 0;
}

void
ferry_pty_copy_winsize(int from_fd, int master)
{
	struct winsize ws;

	if (ioctl(from_fd, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
}
