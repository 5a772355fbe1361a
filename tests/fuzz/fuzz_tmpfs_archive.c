/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the tmpfs archive reader (src/lib/tmpfs_carry.c):
 * the archive arrives from the source host with the images, and the
 * destination's root extracts it into a fresh tmpfs before the restore.
 *
 * Each input is extracted into box/root of a fresh temporary directory.
 * Whatever the input, nothing may appear in box next to root (the reader
 * resolves every path beneath root, follows no symlink), a refusal must
 * say why, and an accepted archive, archived again and extracted into a
 * second root, must give an archive of the same length once more (the
 * reader and the writer agree).
 *
 *   ./fuzz_tmpfs_archive -max_total_time=30 tests/fuzz/corpus/tmpfs_archive
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmpfs_carry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
memfd_with(const void *p, size_t n)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t) n) || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

/* The names in dir, other than "." and "..": exactly want, or abort. */
static void
only(int dir, const char *want)
{
	DIR *d = fdopendir(dup(dir));
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		abort();
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (strcmp(e->d_name, want) != 0)
			abort(); /* something escaped root */
		n++;
	}
	closedir(d);
	if (n != 1)
		abort();
}

static int
archive_of(int root, void **buf, size_t *len)
{
	ferry_error_t err = FERRY_ERROR_INIT;
	int out = memfd_with(NULL, 0);
	struct stat st;

	if (ferry_tmpfs_archive(root, out, &err) < 0) {
		ferry_error_clear(&err);
		close(out);
		return -1;
	}
	if (fstat(out, &st) < 0)
		abort();
	*len = (size_t) st.st_size;
	*buf = malloc(*len + 1);
	if (*buf == NULL || pread(out, *buf, *len, 0) != (ssize_t) *len)
		abort();
	close(out);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char tmpl[] = "/tmp/ferry-fuzz-tmpfs.XXXXXX";
	ferry_error_t err = FERRY_ERROR_INIT;
	int box, root, in, r;

	if (mkdtemp(tmpl) == NULL)
		abort();
	box = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (box < 0 || mkdirat(box, "root", 0755) < 0)
		abort();
	root = openat(box, "root", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	in = memfd_with(data, size);
	r = ferry_tmpfs_extract(in, root, NULL, &err);
	close(in);
	only(box, "root");
	if (r < 0) {
		if (err.msg == NULL || err.msg[0] == '\0')
			abort();
		ferry_error_clear(&err);
	} else {
		/* Archived again, extracted again, archived again: stable. */
		void *a1 = NULL, *a2 = NULL;
		size_t l1 = 0, l2 = 0;
		if (archive_of(root, &a1, &l1) == 0) {
			int root2, in2;
			if (mkdirat(box, "again", 0755) < 0)
				abort();
			root2 = openat(box, "again", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			in2 = memfd_with(a1, l1);
			if (ferry_tmpfs_extract(in2, root2, NULL, &err) < 0)
				abort(); /* the writer wrote what the reader refuses */
			/* The same records, perhaps in another order (readdir's
			 * order follows creation on tmpfs): the same length. */
			if (archive_of(root2, &a2, &l2) < 0 || l1 != l2)
				abort();
			close(in2);
			close(root2);
		}
		free(a1);
		free(a2);
	}
	close(root);
	if (ferry_rm_rf_at(AT_FDCWD, tmpl, &err) < 0)
		abort();
	close(box);
	return 0;
}
