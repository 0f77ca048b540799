/* libalbatross — vmmd: the mappings images are read from instead of
 * albd's memory (doc/journal.md, "Images mapped from files"): a create's
 * image, once durable, from its journal record; the images of the state
 * file read at a start. A file mapped from is pinned: a link to it in
 * images/ (VMMD_PIN_PREFIX and its inode number), one per file, held by
 * its mappings. While it lives, every other name of the file may go — a
 * compaction removes segments and old state files — without the file
 * being shortened: alb_io_free_gradually(), which frees a large file
 * without a name by shortening it (and a read of a mapping past the end
 * would fault), leaves a file that has a name alone. The last mapping of
 * a file unlinks its pin; its blocks are then freed in the threadpool
 * when it has no other name. A start's sweep of images/ removes the links
 * a crash left. Loop thread only.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmmd_internal.h"

/* "held-" and 16 hex digits */
#define PIN_NAME_BUF 32

struct pin {
	struct imgstore *store;
	char name[PIN_NAME_BUF];
	size_t refs;
};

struct imgmap {
	size_t refs;
	void *addr;
	size_t len;
	size_t lead; /* bytes mapped before the first one asked for */
	struct pin *pin;
};

/* The pin of the file open as fd: the one that exists, or a new link. */
static struct pin *pin_get(struct imgstore *s, int fd, struct alb_error *err)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		alb_fail_sys(err, "fstat");
		return NULL;
	}
	char name[PIN_NAME_BUF];
	snprintf(name, sizeof(name), VMMD_PIN_PREFIX "%llx",
		 (unsigned long long)sb.st_ino);
	struct pin *p = imgstore_find(s, name);
	if (p != NULL) {
		p->refs++;
		return p;
	}
	/* the open file itself, whatever its names are now; a link a crash
	 * left under the name (another file, the inode number reused) goes */
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	int dirfd = imgstore_dirfd(s);
	unlinkat(dirfd, name, 0);
	if (linkat(AT_FDCWD, self, dirfd, name, AT_SYMLINK_FOLLOW) != 0) {
		alb_fail_sys(err, "cannot link %s into " VMMD_IMAGES_DIR, self);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL || imgstore_register(s, name, p) != 0) {
		free(p);
		unlinkat(dirfd, name, 0);
		alb_fail(err, ALB_ENOMEM, "out of memory");
		return NULL;
	}
	p->store = imgstore_retain(s);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->refs = 1;
	return p;
}

static void pin_release(struct pin *p)
{
	if (--p->refs > 0)
		return;
	imgstore_register(p->store, p->name, NULL);
	int e = imgstore_unlink(p->store, p->name);
	if (e != 0 && e != ENOENT)
		alb_log_warn("vmmd: cannot remove " VMMD_IMAGES_DIR "/%s: %s",
			     p->name, strerror(e));
	imgstore_close(p->store);
	free(p);
}

struct imgmap *imgmap_new(struct imgstore *s, int fd, uint64_t off,
			  size_t len, struct alb_error *err)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t lead = (size_t)(off % page);
	if (len == 0 || len > SIZE_MAX - lead) {
		alb_fail(err, ALB_EINVAL, "nothing to map");
		return NULL;
	}
	struct imgmap *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		alb_fail(err, ALB_ENOMEM, "out of memory");
		return NULL;
	}
	m->refs = 1;
	m->lead = lead;
	m->len = lead + len;
	m->addr = mmap(NULL, m->len, PROT_READ, MAP_SHARED, fd,
		       (off_t)(off - lead));
	if (m->addr == MAP_FAILED) {
		alb_fail_sys(err, "mmap");
		free(m);
		return NULL;
	}
	m->pin = pin_get(s, fd, err);
	if (m->pin == NULL) {
		munmap(m->addr, m->len);
		free(m);
		return NULL;
	}
	return m;
}

const uint8_t *imgmap_data(const struct imgmap *m)
{
	return (const uint8_t *)m->addr + m->lead;
}

struct imgmap *imgmap_retain(struct imgmap *m)
{
	m->refs++;
	return m;
}

void imgmap_release(struct imgmap *m)
{
	if (m == NULL || --m->refs > 0)
		return;
	/* before the pin: the mapping is not the file's last reference */
	munmap(m->addr, m->len);
	pin_release(m->pin);
	free(m);
}
