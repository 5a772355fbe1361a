/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Ptys and the --console-socket protocol (runc's: the pty master is sent
 * with SCM_RIGHTS over a unix socket, the payload naming the pty). */
#ifndef FERRY_TERMINAL_H
#define FERRY_TERMINAL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

int ferry_fd_send(int sock, int fd, const char *payload, ferry_error_t *err);
/* Receives one fd (and up to len-1 bytes of payload when buf != NULL). */
int ferry_fd_recv(int sock, int *fd, char *buf, size_t len, ferry_error_t *err);

int ferry_console_socket_connect(const char *path, ferry_error_t *err);

/* Opens a new pty in the current mount namespace's /dev/ptmx. */
int ferry_pty_open(int *master, char **slave_path, unsigned int rows, unsigned int cols, ferry_error_t *err);
/* In the container: new session, the slave as controlling terminal on fds
 * 0-2, and bound over /dev/console when that exists. */
int ferry_pty_setup_slave(const char *slave_path, bool bind_console, ferry_error_t *err);

/* Copies our terminal's size to fd (a pty master). */
void ferry_pty_copy_winsize(int from_fd, int master);

#endif
