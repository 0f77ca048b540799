/* alb-oci — the container's directory <root>/<id> and its state file,
 * kept between two calls of alb-oci. Files are opened relative to the
 * directory's fd with O_NOFOLLOW, written to a new file (O_EXCL, 0600)
 * and renamed into place, so a reader sees the old state or the new one.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alb_oci.h"
#include "alb_oci_json.h"

#define STATE_FILE "state.json"
/* Deepest directory under <root>/<id> that removal descends into (the
 * block/ directory is one level down). */
#define REMOVE_DEPTH_MAX 2

/* "<verb> <arg>: <strerror(errno)>" */
static int sys_fail(struct alb_error *err, const char *verb, const char *arg)
{
	int e = errno;
	oci_seterr(err, ALB_ESYS, "%s %s: %s", verb, arg, strerror(e));
	if (err != NULL)
		err->sys_errno = e;
	errno = e;
	return ALB_ESYS;
}

int oci_root_open(const char *root, int *fd, struct alb_error *err)
{
	/* like runc, make the root (and what leads to it) when missing */
	char path[OCI_PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", root) >= (int)sizeof(path))
		return oci_seterr(err, ALB_ETOOBIG, "--root is too long");
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0711) != 0 && errno != EEXIST)
			return sys_fail(err, "cannot make", path);
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return sys_fail(err, "cannot make", path);
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd < 0)
		return sys_fail(err, "cannot open", path);
	return 0;
}

int oci_dir_make(int rootfd, const char *id, int *fd, struct alb_error *err)
{
	if (mkdirat(rootfd, id, 0700) != 0) {
		if (errno == EEXIST)
			return oci_seterr(err, ALB_EEXIST,
					  "container with id exists: %s", id);
		return sys_fail(err, "cannot make the directory of", id);
	}
	return oci_dir_open(rootfd, id, fd, err);
}

int oci_dir_open(int rootfd, const char *id, int *fd, struct alb_error *err)
{
	*fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd >= 0)
		return 0;
	if (errno == ENOENT)
		return oci_seterr(err, ALB_ENOENT, "container does not exist: %s",
				  id);
	return sys_fail(err, "cannot open the directory of", id);
}

/* Removes everything in the directory dirfd (which is closed). */
static int empty_dir(int dirfd, int depth, struct alb_error *err)
{
	DIR *d = fdopendir(dirfd);
	if (d == NULL) {
		close(dirfd);
		return sys_fail(err, "cannot list", "a container directory");
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR || depth >= REMOVE_DEPTH_MAX) {
			rc = sys_fail(err, "cannot remove", e->d_name);
			break;
		}
		int sub = openat(dirfd, e->d_name,
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			rc = sys_fail(err, "cannot open", e->d_name);
		else if ((rc = empty_dir(sub, depth + 1, err)) == 0 &&
			 unlinkat(dirfd, e->d_name, AT_REMOVEDIR) != 0)
			rc = sys_fail(err, "cannot remove", e->d_name);
	}
	closedir(d);
	return rc;
}

int oci_dir_remove(int rootfd, const char *id, struct alb_error *err)
{
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : sys_fail(err, "cannot open", id);
	int rc = empty_dir(fd, 1, err);
	if (rc == 0 && unlinkat(rootfd, id, AT_REMOVEDIR) != 0 && errno != ENOENT)
		rc = sys_fail(err, "cannot remove", id);
	return rc;
}

int oci_write_file(int dirfd, const char *name, const void *data, size_t len,
		   struct alb_error *err)
{
	char tmp[NAME_MAX + 1];
	if (snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", name, (long)getpid()) >=
	    (int)sizeof(tmp))
		return oci_seterr(err, ALB_ETOOBIG, "file name %s too long", name);
	int fd = openat(dirfd, tmp,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sys_fail(err, "cannot create", tmp);
	const char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int rc = sys_fail(err, "cannot write", tmp);
			close(fd);
			unlinkat(dirfd, tmp, 0);
			return rc;
		}
		p += n;
		left -= (size_t)n;
	}
	if (close(fd) != 0 || renameat(dirfd, tmp, dirfd, name) != 0) {
		int rc = sys_fail(err, "cannot write", name);
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	return 0;
}

int oci_read_file(int dirfd, const char *name, size_t max, char **out,
		  size_t *len, struct alb_error *err)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return oci_seterr(err, ALB_ENOENT, "%s does not exist", name);
		return sys_fail(err, "cannot open", name);
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return oci_seterr(err, ALB_EINVAL, "%s is not a regular file", name);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return oci_seterr(err, ALB_ETOOBIG, "%s is larger than %zu bytes",
				  name, max);
	}
	char *buf = malloc(max + 1);
	if (buf == NULL) {
		close(fd);
		return oci_seterr(err, ALB_ENOMEM, "out of memory");
	}
	/* read up to one byte past max: a file that grew is refused too */
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = sys_fail(err, "cannot read", name);
			free(buf);
			close(fd);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(buf);
			close(fd);
			return oci_seterr(err, ALB_ETOOBIG,
					  "%s is larger than %zu bytes", name, max);
		}
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int64_t oci_pid_start(pid_t pid)
{
	char path[64], buf[1024];
	if (pid <= 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold anything: fields start after the last ')' */
	char *p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return -1;
	p += 2;
	if (*p == 'Z' || *p == 'X') /* ended, not yet reaped */
		return -1;
	/* p is field 3 (state); starttime is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return -1;
		p++;
	}
	char *end;
	long long v = strtoll(p, &end, 10);
	return (end == p || v < 0) ? -1 : v;
}

const char *oci_status_name(enum oci_status st)
{
	return st == OCI_CREATED ? "created" : st == OCI_RUNNING ? "running"
								 : "stopped";
}

enum oci_status oci_state_status(const struct oci_state *s)
{
	if (s->pid <= 0 || oci_pid_start(s->pid) != s->pid_start)
		return OCI_STOPPED;
	return s->started ? OCI_RUNNING : OCI_CREATED;
}

int oci_state_write(int dirfd, const struct oci_state *s,
		    struct alb_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL)
		return oci_seterr(err, ALB_ENOMEM, "out of memory");
	fputs("{\"id\":", f);
	oj_write_cstr(f, s->id);
	fputs(",\"bundle\":", f);
	oj_write_cstr(f, s->bundle);
	fputs(",\"created\":", f);
	oj_write_cstr(f, s->created);
	fprintf(f, ",\"pid\":%d,\"pid_start\":%lld,\"started\":%s,\"kind\":%d",
		(int)s->pid, (long long)s->pid_start,
		s->started ? "true" : "false", (int)s->kind);
	fputs(",\"tap\":", f);
	oj_write_cstr(f, s->tap);
	fputs(",\"veth\":", f);
	oj_write_cstr(f, s->veth);
	fputs(",\"netns\":", f);
	oj_write_cstr(f, s->netns);
	fputs(",\"annotations\":{", f);
	for (size_t i = 0; i < s->n_ann; i++) {
		if (i > 0)
			fputc(',', f);
		oj_write_cstr(f, s->ann_key[i]);
		fputc(':', f);
		oj_write_cstr(f, s->ann_value[i]);
	}
	fputs("}}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return oci_seterr(err, ALB_ENOMEM, "out of memory");
	}
	int rc = len > OCI_STATE_MAX
		     ? oci_seterr(err, ALB_ETOOBIG,
				  "state larger than %d bytes", OCI_STATE_MAX)
		     : oci_write_file(dirfd, STATE_FILE, buf, len, err);
	free(buf);
	return rc;
}

static int copy_field(const struct oj_doc *d, const struct oj_node *o,
		      const char *key, char *out, size_t size,
		      struct alb_error *err)
{
	const struct oj_node *n = oj_get(d, o, key);
	if (n == NULL || n->type != OJ_STRING || n->len >= size)
		return oci_seterr(err, ALB_EPARSE, "state file: bad %s", key);
	memcpy(out, n->str, n->len + 1);
	return 0;
}

int oci_state_parse(const char *text, size_t len, struct oci_state *s,
		    struct alb_error *err)
{
	memset(s, 0, sizeof(*s));
	if (len > OCI_STATE_MAX)
		return oci_seterr(err, ALB_ETOOBIG, "state file larger than %d bytes",
				  OCI_STATE_MAX);
	struct oj_doc d;
	int rc = oj_parse(text, len, "state file", &d, err);
	if (rc != 0)
		return rc;
	const struct oj_node *r = oj_root(&d);
	int64_t pid = 0, start = 0, kind = 0;
	const struct oj_node *started = oj_get(&d, r, "started");
	const struct oj_node *ann = oj_get(&d, r, "annotations");
	if (copy_field(&d, r, "id", s->id, sizeof(s->id), err) != 0 ||
	    copy_field(&d, r, "bundle", s->bundle, sizeof(s->bundle), err) != 0 ||
	    copy_field(&d, r, "created", s->created, sizeof(s->created), err) != 0 ||
	    copy_field(&d, r, "tap", s->tap, sizeof(s->tap), err) != 0 ||
	    copy_field(&d, r, "veth", s->veth, sizeof(s->veth), err) != 0 ||
	    copy_field(&d, r, "netns", s->netns, sizeof(s->netns), err) != 0)
		rc = ALB_EPARSE;
	else if (!oj_int(oj_get(&d, r, "pid"), 0, INT32_MAX, &pid) ||
		 !oj_int(oj_get(&d, r, "pid_start"), -1, INT64_MAX, &start) ||
		 !oj_int(oj_get(&d, r, "kind"), ALB_TENDER_HVT, ALB_TENDER_QEMU,
			 &kind) ||
		 started == NULL ||
		 (started->type != OJ_TRUE && started->type != OJ_FALSE) ||
		 ann == NULL || ann->type != OJ_OBJECT ||
		 ann->count > OCI_ANNOTATIONS_MAX)
		rc = oci_seterr(err, ALB_EPARSE, "state file: bad fields");
	if (rc == 0) {
		s->pid = (pid_t)pid;
		s->pid_start = start;
		s->kind = (enum alb_tender_kind)kind;
		s->started = started->type == OJ_TRUE;
		for (const struct oj_node *m = oj_first(&d, ann); m != NULL;
		     m = oj_next(&d, m)) {
			if (m->type != OJ_STRING) {
				rc = oci_seterr(err, ALB_EPARSE,
						"state file: bad annotation");
				break;
			}
			s->ann_key[s->n_ann] = strdup(m->key);
			s->ann_value[s->n_ann] = strdup(m->str);
			if (s->ann_key[s->n_ann] == NULL ||
			    s->ann_value[s->n_ann] == NULL) {
				free(s->ann_key[s->n_ann]);
				free(s->ann_value[s->n_ann]);
				rc = oci_seterr(err, ALB_ENOMEM, "out of memory");
				break;
			}
			s->n_ann++;
		}
	}
	oj_free(&d);
	if (rc != 0)
		oci_state_free(s);
	return rc;
}

int oci_state_read(int dirfd, struct oci_state *s, struct alb_error *err)
{
	char *text;
	size_t len;
	memset(s, 0, sizeof(*s));
	int rc = oci_read_file(dirfd, STATE_FILE, OCI_STATE_MAX, &text, &len, err);
	if (rc != 0)
		return rc;
	rc = oci_state_parse(text, len, s, err);
	free(text);
	return rc;
}

void oci_state_free(struct oci_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n_ann; i++) {
		free(s->ann_key[i]);
		free(s->ann_value[i]);
	}
	s->n_ann = 0;
}
