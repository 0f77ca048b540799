/* alb-oci — what a bundle says: config.json (process, resources, network
 * namespace, mounts, annotations) and the rootfs's urunc.json.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alb_oci.h"
#include "alb_oci_json.h"

bool oci_id_valid(const char *id)
{
	size_t n = strnlen(id, OCI_ID_MAX + 1);
	if (n == 0 || n > OCI_ID_MAX || strcmp(id, ".") == 0 ||
	    strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '+' ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

static char *dup_str(const struct oj_node *n)
{
	char *s = malloc(n->len + 1);
	if (s != NULL)
		memcpy(s, n->str, n->len + 1);
	return s;
}

static int want(const struct oj_node *n, enum oj_type t, const char *what,
		struct alb_error *err)
{
	static const char *const names[] = {"null", "a boolean", "a boolean",
					    "a number", "a string", "an array",
					    "an object"};
	if (n != NULL && n->type == t)
		return 0;
	if (t == OJ_TRUE && n != NULL && n->type == OJ_FALSE)
		return 0;
	return oci_seterr(err, ALB_EPARSE, "config.json: %s must be %s", what,
			    names[t]);
}

int oci_cpuset_parse(const char *s, int64_t *cpus, size_t *n,
		     struct alb_error *err)
{
	size_t k = 0;
	const char *p = s;
	while (*p != '\0') {
		char *end;
		errno = 0;
		long a = strtol(p, &end, 10), b;
		if (end == p || errno != 0 || a < 0 || *p == '+' || *p == '-')
			goto bad;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || errno != 0 || *p == '+' || *p == '-' || b < a)
				goto bad;
		}
		if (b >= ALB_TENDER_CPU_MAX)
			return oci_seterr(err, ALB_ETOOBIG,
					    "cpuset %s: CPU %ld is not below %d",
					    s, b, ALB_TENDER_CPU_MAX);
		for (long c = a; c <= b; c++) {
			bool dup = false;
			for (size_t i = 0; i < k; i++)
				dup = dup || cpus[i] == c;
			if (!dup)
				cpus[k++] = c; /* k < ALB_TENDER_CPU_MAX: ids are */
		}
		if (*end == ',' && end[1] != '\0')
			end++;
		else if (*end != '\0')
			goto bad;
		p = end;
	}
	*n = k;
	return 0;
bad:
	return oci_seterr(err, ALB_EPARSE, "invalid cpuset \"%s\"", s);
}

static int add_annotation(struct oci_config *c, const char *key, size_t klen,
			  const char *value, size_t vlen, struct alb_error *err)
{
	if (c->n_ann >= OCI_ANNOTATIONS_MAX)
		return oci_seterr(err, ALB_ETOOBIG,
				    "more than %d annotations", OCI_ANNOTATIONS_MAX);
	if (klen == 0 || klen > OCI_ANNOTATION_KEY_MAX)
		return oci_seterr(err, ALB_ETOOBIG,
				    "annotation key of %zu bytes (1..%d)", klen,
				    OCI_ANNOTATION_KEY_MAX);
	if (vlen > OCI_ANNOTATION_VALUE_MAX)
		return oci_seterr(err, ALB_ETOOBIG,
				    "annotation %s: value longer than %d bytes",
				    key, OCI_ANNOTATION_VALUE_MAX);
	char *k = strndup(key, klen), *v = strndup(value, vlen);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return oci_seterr(err, ALB_ENOMEM, "out of memory");
	}
	c->ann_key[c->n_ann] = k;
	c->ann_value[c->n_ann++] = v;
	return 0;
}

const char *oci_annotation(const struct oci_config *c, const char *key)
{
	for (size_t i = 0; i < c->n_ann; i++)
		if (strcmp(c->ann_key[i], key) == 0)
			return c->ann_value[i];
	return NULL;
}

static int parse_process(const struct oj_doc *d, const struct oj_node *proc,
			 struct oci_config *c, struct alb_error *err)
{
	if (proc == NULL)
		return 0;
	int rc = want(proc, OJ_OBJECT, "process", err);
	const struct oj_node *t = oj_get(d, proc, "terminal");
	if (rc == 0 && t != NULL && (rc = want(t, OJ_TRUE, "process.terminal", err)) == 0)
		c->terminal = t->type == OJ_TRUE;
	const struct oj_node *args = oj_get(d, proc, "args");
	if (rc != 0 || args == NULL)
		return rc;
	if ((rc = want(args, OJ_ARRAY, "process.args", err)) != 0)
		return rc;
	if (args->count > OCI_ARGS_MAX)
		return oci_seterr(err, ALB_ETOOBIG,
				    "config.json: more than %d process.args",
				    OCI_ARGS_MAX);
	for (const struct oj_node *a = oj_first(d, args); a != NULL;
	     a = oj_next(d, a)) {
		if ((rc = want(a, OJ_STRING, "process.args[]", err)) != 0)
			return rc;
		if ((c->args[c->n_args] = dup_str(a)) == NULL)
			return oci_seterr(err, ALB_ENOMEM, "out of memory");
		c->n_args++;
	}
	return 0;
}

static int parse_linux(const struct oj_doc *d, const struct oj_node *lx,
		       struct oci_config *c, struct alb_error *err)
{
	if (lx == NULL)
		return 0;
	int rc = want(lx, OJ_OBJECT, "linux", err);
	const struct oj_node *res = oj_get(d, lx, "resources");
	const struct oj_node *mem = oj_get(d, res, "memory");
	const struct oj_node *lim = oj_get(d, mem, "limit");
	if (rc == 0 && lim != NULL && lim->type != OJ_NULL) {
		if (!oj_int(lim, INT64_MIN, INT64_MAX, &c->mem_limit))
			return oci_seterr(err, ALB_EPARSE,
					    "config.json: linux.resources.memory.limit "
					    "must be an integer");
		/* -1 and 0 are "no limit" to runc */
		c->has_mem_limit = c->mem_limit > 0;
	}
	const struct oj_node *cpus = oj_get(d, oj_get(d, res, "cpu"), "cpus");
	if (rc == 0 && cpus != NULL) {
		if ((rc = want(cpus, OJ_STRING, "linux.resources.cpu.cpus", err)) != 0)
			return rc;
		if ((rc = oci_cpuset_parse(cpus->str, c->cpus, &c->n_cpus, err)) != 0)
			return rc;
	}
	const struct oj_node *nss = oj_get(d, lx, "namespaces");
	if (rc == 0 && nss != NULL) {
		if ((rc = want(nss, OJ_ARRAY, "linux.namespaces", err)) != 0)
			return rc;
		for (const struct oj_node *ns = oj_first(d, nss); ns != NULL;
		     ns = oj_next(d, ns)) {
			const struct oj_node *t = oj_get(d, ns, "type");
			const struct oj_node *p = oj_get(d, ns, "path");
			if ((rc = want(t, OJ_STRING, "linux.namespaces[].type", err)) != 0)
				return rc;
			if (strcmp(t->str, "network") != 0)
				continue;
			c->netns = OCI_NETNS_NEW;
			if (p == NULL || (p->type == OJ_STRING && p->len == 0))
				continue;
			if ((rc = want(p, OJ_STRING, "linux.namespaces[].path", err)) != 0)
				return rc;
			if (p->len >= sizeof(c->netns_path) || p->str[0] != '/')
				return oci_seterr(err, ALB_EINVAL,
						    "config.json: network namespace path "
						    "must be absolute and shorter than %zu",
						    sizeof(c->netns_path));
			memcpy(c->netns_path, p->str, p->len + 1);
			c->netns = OCI_NETNS_PATH;
		}
	}
	return rc;
}

static int parse_mounts(const struct oj_doc *d, const struct oj_node *ms,
			struct oci_config *c, struct alb_error *err)
{
	if (ms == NULL)
		return 0;
	int rc = want(ms, OJ_ARRAY, "mounts", err);
	if (rc != 0 || ms->count == 0)
		return rc;
	c->mount_dst = calloc(ms->count, sizeof(char *));
	c->mount_src = calloc(ms->count, sizeof(char *));
	if (c->mount_dst == NULL || c->mount_src == NULL)
		return oci_seterr(err, ALB_ENOMEM, "out of memory");
	for (const struct oj_node *m = oj_first(d, ms); m != NULL;
	     m = oj_next(d, m)) {
		const struct oj_node *dst = oj_get(d, m, "destination");
		const struct oj_node *src = oj_get(d, m, "source");
		if ((rc = want(dst, OJ_STRING, "mounts[].destination", err)) != 0)
			return rc;
		if (src == NULL)
			continue;
		if ((rc = want(src, OJ_STRING, "mounts[].source", err)) != 0)
			return rc;
		char *ds = dup_str(dst), *ss = dup_str(src);
		if (ds == NULL || ss == NULL) {
			free(ds);
			free(ss);
			return oci_seterr(err, ALB_ENOMEM, "out of memory");
		}
		c->mount_dst[c->n_mounts] = ds;
		c->mount_src[c->n_mounts++] = ss;
	}
	return 0;
}

static int parse_annotations(const struct oj_doc *d, const struct oj_node *a,
			     struct oci_config *c, struct alb_error *err)
{
	if (a == NULL)
		return 0;
	int rc = want(a, OJ_OBJECT, "annotations", err);
	for (const struct oj_node *m = oj_first(d, a); rc == 0 && m != NULL;
	     m = oj_next(d, m)) {
		if ((rc = want(m, OJ_STRING, "an annotation", err)) == 0)
			rc = add_annotation(c, m->key, m->key_len, m->str,
					    m->len, err);
	}
	return rc;
}

int oci_config_parse(const char *text, size_t len, const char *bundle,
		     struct oci_config *c, struct alb_error *err)
{
	memset(c, 0, sizeof(*c));
	if (len > OCI_CONFIG_MAX)
		return oci_seterr(err, ALB_ETOOBIG,
				    "config.json is larger than %d bytes",
				    OCI_CONFIG_MAX);
	struct oj_doc d;
	int rc = oj_parse(text, len, "config.json", &d, err);
	if (rc != 0)
		return rc;
	const struct oj_node *r = oj_root(&d);
	const struct oj_node *root = oj_get(&d, r, "root");
	const struct oj_node *path = oj_get(&d, root, "path");
	rc = want(r, OJ_OBJECT, "the document", err);
	if (rc == 0)
		rc = want(path, OJ_STRING, "root.path", err);
	if (rc == 0) {
		int n = path->str[0] == '/'
			    ? snprintf(c->rootfs, sizeof(c->rootfs), "%s", path->str)
			    : snprintf(c->rootfs, sizeof(c->rootfs), "%s/%s",
				       bundle, path->str);
		if (n < 0 || (size_t)n >= sizeof(c->rootfs))
			rc = oci_seterr(err, ALB_ETOOBIG,
					  "config.json: rootfs path too long");
	}
	if (rc == 0)
		rc = parse_process(&d, oj_get(&d, r, "process"), c, err);
	if (rc == 0)
		rc = parse_linux(&d, oj_get(&d, r, "linux"), c, err);
	if (rc == 0)
		rc = parse_mounts(&d, oj_get(&d, r, "mounts"), c, err);
	if (rc == 0)
		rc = parse_annotations(&d, oj_get(&d, r, "annotations"), c, err);
	oj_free(&d);
	if (rc != 0)
		oci_config_free(c);
	return rc;
}

int oci_config_load(const char *bundle, struct oci_config *c,
		    struct alb_error *err)
{
	memset(c, 0, sizeof(*c));
	int dirfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open bundle %s: %s",
				    bundle, strerror(errno));
	char *text;
	size_t len;
	int rc = oci_read_file(dirfd, "config.json", OCI_CONFIG_MAX, &text,
			       &len, err);
	close(dirfd);
	if (rc != 0)
		return rc;
	rc = oci_config_parse(text, len, bundle, c, err);
	free(text);
	return rc;
}

static int b64_digit(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Strict base64 (padded, canonical) of s into out (size bytes, NUL
 * added); false when s is not that or decodes to anything but printable
 * ASCII. */
static bool b64_text(const char *s, char *out, size_t size)
{
	size_t n = strlen(s), o = 0;
	if (n == 0 || n % 4 != 0 || n / 4 * 3 >= size)
		return false;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			if (s[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64_digit(s[i + k])) < 0)
				return false;
		}
		uint32_t w = (uint32_t)(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
		/* canonical: the bits under the padding are zero */
		if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
			return false;
		out[o++] = (char)(w >> 16);
		if (pad < 2)
			out[o++] = (char)(w >> 8);
		if (pad < 1)
			out[o++] = (char)w;
	}
	for (size_t i = 0; i < o; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			return false;
	out[o] = '\0';
	return true;
}

int oci_urunc_value(const struct oci_config *c, const char *name, char *out,
		    size_t size, struct alb_error *err)
{
	char key[OCI_ANNOTATION_KEY_MAX + 1];
	snprintf(key, sizeof(key), OCI_ANN_URUNC "%s", name);
	const char *v = oci_annotation(c, key);
	out[0] = '\0';
	if (v == NULL)
		return ALB_ENOENT;
	if (b64_text(v, out, size))
		return 0;
	size_t n = strlen(v);
	if (n >= size)
		return oci_seterr(err, ALB_ETOOBIG, "annotation %s is too long",
				    key);
	memcpy(out, v, n + 1);
	return 0;
}

int oci_config_urunc_json(const char *text, size_t len, struct oci_config *c,
			  struct alb_error *err)
{
	if (len > OCI_URUNC_JSON_MAX)
		return oci_seterr(err, ALB_ETOOBIG,
				    "urunc.json is larger than %d bytes",
				    OCI_URUNC_JSON_MAX);
	struct oj_doc d;
	int rc = oj_parse(text, len, "urunc.json", &d, err);
	if (rc != 0)
		return rc;
	const struct oj_node *r = oj_root(&d);
	if (r->type != OJ_OBJECT)
		rc = oci_seterr(err, ALB_EPARSE, "urunc.json must be an object");
	for (const struct oj_node *m = oj_first(&d, r); rc == 0 && m != NULL;
	     m = oj_next(&d, m)) {
		if (m->type != OJ_STRING)
			rc = oci_seterr(err, ALB_EPARSE,
					  "urunc.json: %s must be a string", m->key);
		else if (strncmp(m->key, OCI_ANN_URUNC, strlen(OCI_ANN_URUNC)) == 0 &&
			 oci_annotation(c, m->key) == NULL)
			rc = add_annotation(c, m->key, m->key_len, m->str, m->len,
					    err);
	}
	oj_free(&d);
	return rc;
}

void oci_config_free(struct oci_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_args; i++)
		free(c->args[i]);
	for (size_t i = 0; i < c->n_ann; i++) {
		free(c->ann_key[i]);
		free(c->ann_value[i]);
	}
	for (size_t i = 0; i < c->n_mounts; i++) {
		free(c->mount_dst[i]);
		free(c->mount_src[i]);
	}
	free(c->mount_dst);
	free(c->mount_src);
	memset(c, 0, sizeof(*c));
}
