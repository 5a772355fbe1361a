/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef FERRY_UTIL_H
#define FERRY_UTIL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "error.h"

/* Cleanup attributes: every owned resource gets one (CONVENTIONS.md 3). */
static inline void
ferry_freep(void *p)
{
	free(*(void **) p);
}
static inline void
ferry_closep(int *fd)
{
	/* Never retry close() on EINTR: the fd is gone either way on Linux. */
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
static inline void
ferry_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
static inline void
ferry_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
void ferry_strvfreep(char ***v);

#define _cleanup_free_ __attribute__((cleanup(ferry_freep)))
#define _cleanup_close_ __attribute__((cleanup(ferry_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(ferry_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(ferry_closedirp)))
#define _cleanup_strv_ __attribute__((cleanup(ferry_strvfreep)))

/* Hand ownership on: returns the value and clears the variable.  The
 * typeof keeps the pointer's type, so a wrong destination does not compile. */
#define steal_pointer(pp) \
	({ \
		__typeof__(*(pp)) _p = *(pp); \
		*(pp) = NULL; \
		_p; \
	})
#define steal_fd(fdp) \
	({ \
		int _fd = *(fdp); \
		*(fdp) = -1; \
		_fd; \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc0(size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void ferry_strv_free(char **v);
size_t ferry_strv_len(char *const *v);
/* Appends a copy of s to the NULL-terminated vector *v. */
void ferry_strv_append(char ***v, const char *s);

/* Reads a whole file (at most max bytes; larger is an error naming the file). */
/* Run fn(arg) in a forked child (to change namespaces or cgroups without
 * touching the caller) and wait: its non-negative result, or -1 with its
 * error (or "WHAT: the helper died"). */
int ferry_in_child(int (*fn)(void *arg, ferry_error_t *err), void *arg, const char *what, ferry_error_t *err);
/* The same, with the child started by spawn(spawn_arg) (fork's contract)
 * instead of fork(). */
int ferry_in_child_spawned(pid_t (*spawn)(void *spawn_arg), void *spawn_arg, int (*fn)(void *arg, ferry_error_t *err),
			   void *arg, const char *what, ferry_error_t *err);
/* An executable NAME in one of PATH's directories (a default PATH if
 * unset or empty). */
bool ferry_in_path(const char *name);
/* Write VALUE to the sysctl KEY (dotted) through /proc/sys, which follows
 * the caller's namespaces. */
int ferry_sysctl_set(const char *key, const char *value, ferry_error_t *err);
int ferry_read_file_at(int dirfd, const char *path, size_t max, char **out, size_t *len, ferry_error_t *err);
int ferry_read_file(const char *path, size_t max, char **out, size_t *len, ferry_error_t *err);
/* Writes data to dir/name through a temporary file and rename(): readers
 * see the old or the new content, never a torn one, also after a power
 * failure (the data is on disk before the rename). */
int ferry_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
			       ferry_error_t *err);
/* The same without the fsync, for the runtime's state (state.json, the
 * config copy, pid files): it describes processes, which do not outlive a
 * reboot, and the state root is a tmpfs by default (where fsync is a no-op
 * anyway).  On a disk it costs a journal commit per file, 0.5 ms or more
 * per container on this project's test machines.  Readers still never see
 * a torn file; after a power failure the file may be empty, which readers
 * treat as missing. */
int ferry_write_file_replace_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
				ferry_error_t *err);
/* Writes a short string to an existing file (cgroup, /proc knobs). */
int ferry_write_file_at(int dirfd, const char *path, const char *data, ferry_error_t *err);
int ferry_write_file(const char *path, const char *data, ferry_error_t *err);
int ferry_mkdir_p(const char *path, mode_t mode, ferry_error_t *err);
/* Removes a directory tree without following symlinks; missing is fine. */
int ferry_rm_rf_at(int dirfd, const char *name, ferry_error_t *err);

int ferry_write_all(int fd, const void *buf, size_t len);
ssize_t ferry_read_all(int fd, void *buf, size_t len);

/* Parses an unsigned/signed decimal with full-string and range checks. */
int ferry_parse_u64(const char *s, uint64_t *out);
int ferry_parse_i64(const char *s, int64_t *out);

/* Monotonic clock in nanoseconds, and in seconds. */
uint64_t ferry_now_ns(void);
double ferry_now_s(void);

/* /proc/PID/stat: the state letter (field 3) and the start time in clock
 * ticks (field 22, which tells a pid apart from a later reuse). */
int ferry_proc_stat(pid_t pid, char *state, uint64_t *start_time);
/* The start time alone; 0 when the process is gone. */
uint64_t ferry_proc_start_time(pid_t pid);

/* Closes every fd >= from except those in keep[] (close_range where possible). */
int ferry_close_fds_from(int from, const int *keep, size_t nkeep);

/* A container id: [A-Za-z0-9][A-Za-z0-9_.+-]*, at most 1024 bytes (runc's rule). */
bool ferry_id_valid(const char *id);

/* Removes a bundle `ferry serve` made for a container it received (it
 * holds a .ferry-owned mark); any other bundle is the user's and stays. */
void ferry_remove_owned_bundle(const char *bundle);

#endif
