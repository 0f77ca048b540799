/* libalbatross — vmmd: the images streamed to albd (doc/journal.md), each
 * the file <dbdir>/images/<32 hex digits> that a journal record names
 * instead of holding the image. A file is mapped, not read, and counted:
 * the configurations whose image it is hold it, and so does every record
 * in a segment that no compaction has removed yet; the last release
 * unlinks it, its blocks freed in the threadpool (never while the store
 * is kept: a core that stops without its final compaction leaves its
 * files to the next start). Open files are found by name in a trie, as
 * are the links that pin mapped files (vmmd_imgmap.c). A start removes
 * every file that no replayed record names (an upload or a create that a
 * crash cut short) and every link no mapping holds.
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
	size_t refs;      /* the owner's and one per file */
	int dirfd;
	bool keep;        /* releases unlink nothing */
	struct alb_trie *byname; /* the open files (struct imgfile) */
	struct alb_vmmd *v; /* files are freed in its threadpool, or NULL */
};

/* A file's key in the trie: its name as a root-level label. Every name
 * given is a valid file name (alb_journal_file_name_ok()), of exactly
 * ALB_JOURNAL_FILE_NAME_LEN characters, or a pin's link (vmmd_imgmap.c),
 * shorter. */
struct key {
	char s[ALB_JOURNAL_FILE_NAME_LEN + 2];
};

static struct key key_of(const char *name)
{
	struct key k;
	snprintf(k.s, sizeof(k.s), ":%.*s", (int)ALB_JOURNAL_FILE_NAME_LEN, name);
	return k;
}

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
	if (s == NULL || (s->byname = alb_trie_new()) == NULL) {
		free(s);
		close(fd);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	s->refs = 1;
	s->dirfd = fd;
	*out = s;
	return 0;
}

static void store_release(struct imgstore *s)
{
	if (--s->refs == 0) {
		close(s->dirfd);
		alb_trie_free(s->byname, NULL);
		free(s);
	}
}

void imgstore_close(struct imgstore *s)
{
	if (s != NULL)
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

struct imgstore *imgstore_retain(struct imgstore *s)
{
	s->refs++;
	return s;
}

void *imgstore_find(const struct imgstore *s, const char *name)
{
	return alb_trie_find(s->byname, key_of(name).s);
}

int imgstore_register(struct imgstore *s, const char *name, void *value)
{
	if (value == NULL) {
		alb_trie_remove(s->byname, key_of(name).s);
		return 0;
	}
	return alb_trie_insert(s->byname, key_of(name).s, value, NULL, NULL) == 0
		       ? 0
		       : ALB_ENOMEM;
}

int imgstore_unlink(struct imgstore *s, const char *name)
{
	return vmmd_unlink(s->v, s->dirfd, name);
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

static bool not_open(const char *name, void *ctx)
{
	const struct imgstore *s = ctx;
	bool pin = strncmp(name, VMMD_PIN_PREFIX, strlen(VMMD_PIN_PREFIX)) == 0 &&
		   strlen(name) <= ALB_JOURNAL_FILE_NAME_LEN;
	return (!pin && !alb_journal_file_name_ok(name)) ||
	       alb_trie_find(s->byname, key_of(name).s) == NULL;
}

size_t imgstore_sweep(struct imgstore *s)
{
	return dir_remove_if(s->dirfd, not_open, s);
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
	if (f == NULL ||
	    alb_trie_insert(s->byname, key_of(id->name).s, f, NULL, NULL) != 0) {
		free(f);
		munmap(map, id->len);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	f->store = s;
	s->refs++;
	f->refs = 1;
	f->id = *id;
	f->map = map;
	*out = f;
	return 0;
}

int imgfile_open(struct imgstore *s, const struct alb_journal_image_file *id,
		 struct imgfile **out, struct alb_error *err)
{
	struct imgfile *f = alb_trie_find(s->byname, key_of(id->name).s);
	if (f != NULL) {
		if (f->id.len != id->len ||
		    memcmp(f->id.sha256, id->sha256, ALB_SHA256_LEN) != 0)
			return alb_fail(err, ALB_EPARSE, "image file %s named "
					"twice, differently", id->name);
		*out = imgfile_retain(f);
		return 0;
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

void imgfile_release(struct imgfile *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	struct imgstore *s = f->store;
	alb_trie_remove(s->byname, key_of(f->id.name).s);
	int e = s->keep ? 0 : vmmd_unlink(s->v, s->dirfd, f->id.name);
	if (e != 0 && e != ENOENT)
		alb_log_warn("vmmd: cannot remove image file %s: %s", f->id.name,
			     strerror(e));
	/* after the unlink: the mapping is not the file's last reference */
	munmap((void *)(uintptr_t)f->map, f->id.len);
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
