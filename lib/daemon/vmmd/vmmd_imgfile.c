/* libalbatross — vmmd: the images streamed to albd (doc/journal.md), each
 * the file <dbdir>/images/<32 hex digits> that a journal record names
 * instead of holding the image. A file is mapped, not read, and counted:
 * the configurations whose image it is hold it, and so does every record
 * in a segment that no compaction has removed yet; the last release
 * unlinks it (never while the store is kept: a core that stops without
 * its final compaction leaves its files to the next start). A start
 * removes every file that no replayed record names (an upload or a
 * create that a crash cut short).
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "vmmd_internal.h"

struct imgstore {
	size_t refs;      /* the owner's, one per file, one per removal */
	int dirfd;
	bool keep;        /* releases unlink nothing */
	struct vlist files;
	struct alb_vmmd *v; /* removals run in its threadpool, or NULL */
};

/* A file's removal in the threadpool: freeing a large file's blocks and
 * pages takes tens of ms, which the loop does not wait for. */
struct removal {
	uv_work_t work;
	struct imgstore *s;
	char name[ALB_JOURNAL_FILE_NAME_LEN + 1];
	int err;
};

int imgstore_open(const char *dbdir, struct imgstore **out,
		  struct alb_error *err)
{
	*out = NULL;
	int dfd = open(dbdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return alb_fail_sys(err, "cannot open %s", dbdir);
	if (mkdirat(dfd, VMMD_IMAGES_DIR, 0700) != 0 && errno != EEXIST) {
		int rc = alb_fail_sys(err, "cannot make %s/" VMMD_IMAGES_DIR,
				      dbdir);
		close(dfd);
		return rc;
	}
	int fd = openat(dfd, VMMD_IMAGES_DIR,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return alb_fail_sys(err, "cannot open %s/" VMMD_IMAGES_DIR, dbdir);
	struct imgstore *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(fd);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	s->refs = 1;
	s->dirfd = fd;
	vlist_init(&s->files);
	*out = s;
	return 0;
}

static void store_release(struct imgstore *s)
{
	if (--s->refs == 0) {
		close(s->dirfd);
		free(s);
	}
}

void imgstore_close(struct imgstore *s, bool keep)
{
	if (s == NULL)
		return;
	s->keep = s->keep || keep;
	store_release(s);
}

void imgstore_run_on(struct imgstore *s, struct alb_vmmd *v)
{
	s->v = v;
}

void imgstore_keep(struct imgstore *s)
{
	if (s != NULL)
		s->keep = true;
}

int imgstore_dirfd(const struct imgstore *s)
{
	return s->dirfd;
}

static bool live(const struct imgstore *s, const char *name)
{
	for (struct vlist *e = s->files.next; e != &s->files; e = e->next)
		if (strcmp(vlist_entry(e, struct imgfile, link)->id.name, name) == 0)
			return true;
	return false;
}

size_t dir_remove_if(int dirfd, bool (*doomed)(const char *name, void *ctx),
		     void *ctx)
{
	int fd = dup(dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		alb_log_warn("vmmd: cannot list a directory: %s", strerror(errno));
		return 0;
	}
	rewinddir(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    !doomed(e->d_name, ctx))
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			n++;
		else
			alb_log_warn("vmmd: cannot remove %s: %s", e->d_name,
				     strerror(errno));
	}
	closedir(d);
	return n;
}

static bool not_live(const char *name, void *ctx)
{
	return !live(ctx, name);
}

size_t imgstore_sweep(struct imgstore *s)
{
	return dir_remove_if(s->dirfd, not_live, s);
}

/* ---- files ----------------------------------------------------------------- */

int imgfile_new(struct imgstore *s, const struct alb_journal_image_file *id,
		int fd, bool verify, struct imgfile **out, struct alb_error *err)
{
	*out = NULL;
	struct stat sb;
	if (fstat(fd, &sb) != 0)
		return alb_fail_sys(err, "image file %s: fstat", id->name);
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != id->len)
		return alb_fail(err, ALB_EPARSE, "image file %s: %lld bytes, the "
				"journal says %llu", id->name,
				(long long)sb.st_size, (unsigned long long)id->len);
	void *map = mmap(NULL, id->len, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return alb_fail_sys(err, "image file %s: mmap", id->name);
	if (verify) {
		uint8_t sha[ALB_SHA256_LEN];
		unsigned n = 0;
		if (EVP_Digest(map, id->len, sha, &n, EVP_sha256(), NULL) != 1 ||
		    memcmp(sha, id->sha256, sizeof(sha)) != 0) {
			munmap(map, id->len);
			return alb_fail(err, ALB_EPARSE, "image file %s: its "
					"SHA-256 is not the journal's", id->name);
		}
	}
	struct imgfile *f = calloc(1, sizeof(*f));
	if (f == NULL) {
		munmap(map, id->len);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	f->store = s;
	s->refs++;
	f->refs = 1;
	f->id = *id;
	f->map = map;
	vlist_push(&s->files, &f->link);
	*out = f;
	return 0;
}

int imgfile_open(struct imgstore *s, const struct alb_journal_image_file *id,
		 struct imgfile **out, struct alb_error *err)
{
	for (struct vlist *e = s->files.next; e != &s->files; e = e->next) {
		struct imgfile *f = vlist_entry(e, struct imgfile, link);
		if (strcmp(f->id.name, id->name) == 0) {
			if (f->id.len != id->len ||
			    memcmp(f->id.sha256, id->sha256, ALB_SHA256_LEN) != 0)
				return alb_fail(err, ALB_EPARSE, "image file %s "
						"named twice, differently",
						id->name);
			*out = imgfile_retain(f);
			return 0;
		}
	}
	int fd = openat(s->dirfd, id->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT
			       ? alb_fail(err, ALB_EPARSE, "image file %s is "
					  "missing", id->name)
			       : alb_fail_sys(err, "image file %s", id->name);
	int rc = imgfile_new(s, id, fd, true, out, err);
	close(fd);
	return rc;
}

struct imgfile *imgfile_retain(struct imgfile *f)
{
	f->refs++;
	return f;
}

static void remove_work(uv_work_t *w)
{
	struct removal *r = w->data;
	r->err = unlinkat(r->s->dirfd, r->name, 0) == 0 ? 0 : errno;
}

static void remove_after(uv_work_t *w, int status)
{
	(void)status;
	struct removal *r = w->data;
	if (r->err != 0 && r->err != ENOENT)
		alb_log_warn("vmmd: cannot remove image file %s: %s", r->name,
			     strerror(r->err));
	vmmd_job_end(r->s->v);
	store_release(r->s);
	free(r);
}

static void remove_file(struct imgstore *s, const char *name)
{
	struct removal *r = s->v != NULL ? calloc(1, sizeof(*r)) : NULL;
	if (r == NULL) {
		if (unlinkat(s->dirfd, name, 0) != 0 && errno != ENOENT)
			alb_log_warn("vmmd: cannot remove image file %s: %s",
				     name, strerror(errno));
		return;
	}
	r->s = s;
	s->refs++;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->work.data = r;
	vmmd_job_begin(s->v);
	uv_queue_work(s->v->loop, &r->work, remove_work, remove_after);
}

void imgfile_release(struct imgfile *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	struct imgstore *s = f->store;
	munmap((void *)(uintptr_t)f->map, f->id.len);
	vlist_del(&f->link);
	if (!s->keep)
		remove_file(s, f->id.name);
	free(f);
	store_release(s);
}

/* ---- the records that name files ----------------------------------------------- */

int filerefs_add(struct vlist *refs, uint64_t seg, struct imgfile *f)
{
	struct fileref *r = malloc(sizeof(*r));
	if (r == NULL)
		return ALB_ENOMEM;
	r->seg = seg;
	r->file = imgfile_retain(f);
	vlist_push(refs, &r->link);
	return 0;
}

void filerefs_drop(struct vlist *refs, uint64_t upto)
{
	struct vlist *e = refs->next;
	while (e != refs) {
		struct vlist *next = e->next;
		struct fileref *r = vlist_entry(e, struct fileref, link);
		if (r->seg <= upto) {
			vlist_del(e);
			imgfile_release(r->file);
			free(r);
		}
		e = next;
	}
}
