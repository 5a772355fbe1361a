/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * recvtty SOCKET [INPUT]: the other end of --console-socket for tests.
 * Accepts one connection, receives the pty master (SCM_RIGHTS), writes
 * INPUT to it when given, and copies everything the container writes to
 * stdout until the pty closes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char cbuf[CMSG_SPACE(sizeof(int))], name[256];
	struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int ls, cs, master;
	ssize_t n;

	if (argc < 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: recvtty SOCKET [INPUT]\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(argv[1]);
	if (ls < 0 || bind(ls, (struct sockaddr *) &addr, sizeof(addr)) < 0 || listen(ls, 1) < 0) {
		perror("recvtty: listen");
		return 1;
	}
	/* tell the test we are listening */
	printf("listening\n");
	fflush(stdout);
	cs = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
	if (cs < 0) {
		perror("recvtty: accept");
		return 1;
	}
	n = recvmsg(cs, &msg, MSG_CMSG_CLOEXEC);
	c = CMSG_FIRSTHDR(&msg);
	if (n < 0 || c == NULL || c->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "recvtty: no fd received\n");
		return 1;
	}
	name[n] = '\0';
	memcpy(&master, CMSG_DATA(c), sizeof(int));
	printf("pty %s\n", name);
	fflush(stdout);
	if (argc > 2)
		write(master, argv[2], strlen(argv[2]));
	for (;;) {
		char buf[4096];
		ssize_t r = read(master, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		fwrite(buf, 1, r, stdout);
		fflush(stdout);
	}
	return 0;
}
