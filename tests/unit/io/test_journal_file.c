/* Unit tests: the journal beside the state file (doc/journal.md): CRC-32C,
 * the record codec, segments on disk (append, replay, torn and corrupt
 * records, injected failures and crashes at each step, removal).
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "albatross/policy.h"
#include "base/crc32c.h"
#include "io/background.h"
#include "io/journal_file.h"
#include "io/state_file.h"
#include "proto/journal_codec.h"
#include "proto/state_codec.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/alb-journal-XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static void rm_entries(const char *d)
{
	DIR *dd = opendir(d);
	assert_non_null(dd);
	struct dirent *e;
	while ((e = readdir(dd)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		if (unlink(p) != 0)
			assert_int_equal(rmdir(p), 0);
	}
	closedir(dd);
}

static int teardown(void **state)
{
	(void)state;
	alb_state_file_set_hook(NULL, NULL);
	rm_entries(dir);
	assert_int_equal(rmdir(dir), 0);
	return 0;
}

/* ---- CRC-32C ------------------------------------------------------------ */

static void test_crc32c(void **state)
{
	(void)state;
	/* the check value of CRC-32C, and RFC 3720's examples */
	assert_int_equal(alb_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(alb_crc32c_portable(0, "123456789", 9), 0xe3069283u);
	uint8_t zeros[32] = {0}, ones[32];
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(alb_crc32c(0, zeros, 32), 0x8a9136aau);
	assert_int_equal(alb_crc32c(0, ones, 32), 0x62a8ab43u);
	assert_int_equal(alb_crc32c(0, NULL, 0), 0);
	/* every length and alignment: instruction and tables agree, and a
	 * CRC continued over pieces is the CRC of the whole */
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; off + len <= sizeof(buf); len += 7) {
			uint32_t a = alb_crc32c(0, buf + off, len);
			assert_int_equal(a, alb_crc32c_portable(0, buf + off, len));
			size_t cut = len / 3;
			assert_int_equal(a, alb_crc32c(alb_crc32c(0, buf + off, cut),
						       buf + off + cut, len - cut));
		}
	}
}

/* ---- records --------------------------------------------------------------- */

static uint8_t image[5000];
static int64_t cpus[2] = {0, 3};
static struct alb_net_dev nets[1] = {
	{.netif = {"service", 7}, .bridge = {"br0", 3}},
};
static struct alb_str argv1[2] = {{"--hello", 7}, {"", 0}};

static void config_of(struct alb_unikernel_config *c, size_t image_len)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (uint8_t)(i ^ 0x5a);
	c->typ = ALB_TYP_SOLO5;
	c->image = (struct alb_bytes){image, image_len};
	c->has_startup = true;
	c->startup = 7;
	c->add_name = true;
	c->n_cpuids = 2;
	c->cpuids = cpus;
	c->memory = 64;
	c->n_bridges = 1;
	c->bridges = nets;
	c->has_argv = true;
	c->n_argv = 2;
	c->argv = argv1;
	c->numcpus = 1;
}

static int64_t pol_cpus[1] = {1};
static struct alb_str pol_bridges[2] = {{"br0", 3}, {"br1", 3}};

static void policy_of(struct alb_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->unikernels = 5;
	p->n_cpuids = 1;
	p->cpuids = pol_cpus;
	p->memory = 512;
	p->has_block = true;
	p->block = 100;
	p->n_bridges = 2;
	p->bridges = pol_bridges;
}

/* One record's bytes, the way the daemon writes it: the frame around the
 * body pieces, sealed. */
struct rec {
	struct alb_journal_frame f;
	struct alb_state_entry entry;
	struct alb_buf body;
	struct iovec iov[5];
	size_t n;
	size_t len;
};

static void rec_make(struct rec *r, enum alb_journal_kind kind,
		     const char *name, const struct alb_unikernel_config *c,
		     const struct alb_policy *p)
{
	memset(r, 0, sizeof(*r));
	struct iovec body[3];
	size_t nb = 0, blen = 0;
	switch (kind) {
	case ALB_JOURNAL_UNIKERNEL:
		assert_int_equal(alb_state_entry_encode(name, c, &r->entry, NULL), 0);
		body[nb++] = (struct iovec){r->entry.bytes, r->entry.cut};
		body[nb++] = (struct iovec){(void *)c->image.ptr, r->entry.image};
		body[nb++] = (struct iovec){r->entry.bytes + r->entry.cut,
					    r->entry.len - r->entry.cut};
		blen = r->entry.len + r->entry.image;
		break;
	case ALB_JOURNAL_POLICY:
		assert_int_equal(alb_journal_policy_body(name, p, &r->body, NULL), 0);
		body[nb++] = (struct iovec){r->body.data, r->body.len};
		blen = r->body.len;
		break;
	default:
		assert_int_equal(alb_journal_name_body(name, &r->body, NULL), 0);
		body[nb++] = (struct iovec){r->body.data, r->body.len};
		blen = r->body.len;
		break;
	}
	assert_int_equal(alb_journal_frame_init(&r->f, kind, blen, NULL), 0);
	alb_journal_seal(&r->f, body, nb);
	r->iov[r->n++] = (struct iovec){r->f.head, r->f.head_len};
	for (size_t i = 0; i < nb; i++)
		r->iov[r->n++] = body[i];
	r->iov[r->n++] = (struct iovec){r->f.crc, ALB_JOURNAL_CRC_LEN};
	r->len = r->f.head_len + blen + ALB_JOURNAL_CRC_LEN;
}

static void rec_free(struct rec *r)
{
	alb_state_entry_free(&r->entry);
	alb_buf_free(&r->body);
}

/* The record in one buffer (free()). */
static uint8_t *rec_flat(const struct rec *r)
{
	uint8_t *b = malloc(r->len), *p = b;
	assert_non_null(b);
	for (size_t i = 0; i < r->n; i++) {
		memcpy(p, r->iov[i].iov_base, r->iov[i].iov_len);
		p += r->iov[i].iov_len;
	}
	return b;
}

static struct alb_journal_change *decode_ok(const uint8_t *b, size_t len)
{
	struct alb_journal_change *c = NULL;
	assert_int_equal(alb_journal_check(b, len, NULL), 0);
	assert_int_equal(alb_journal_decode(b, len, 0, &c, NULL), 0);
	return c;
}

static void test_record_round_trip(void **state)
{
	(void)state;
	struct alb_unikernel_config cfg;
	config_of(&cfg, sizeof(image));
	struct rec r;
	rec_make(&r, ALB_JOURNAL_UNIKERNEL, "foo:bar", &cfg, NULL);
	uint8_t *b = rec_flat(&r);
	size_t len;
	assert_int_equal(alb_journal_record_len(b, r.len, &len, NULL), 0);
	assert_int_equal(len, r.len);
	struct alb_journal_change *c = decode_ok(b, r.len);
	assert_int_equal(c->kind, ALB_JOURNAL_UNIKERNEL);
	assert_string_equal(c->name, "foo:bar");
	assert_int_equal(c->config.image.len, sizeof(image));
	assert_memory_equal(c->config.image.ptr, image, sizeof(image));
	assert_int_equal(c->config.startup, 7);
	assert_int_equal(c->config.n_cpuids, 2);
	assert_int_equal(c->config.cpuids[1], 3);
	assert_int_equal(c->config.memory, 64);
	assert_string_equal(c->config.bridges[0].bridge.ptr, "br0");
	assert_int_equal(c->config.n_argv, 2);
	/* the body is the state file's entry: it encodes back to the same */
	struct alb_state_entry e2;
	assert_int_equal(alb_state_entry_encode(c->name, &c->config, &e2, NULL), 0);
	assert_int_equal(e2.len, r.entry.len);
	assert_memory_equal(e2.bytes, r.entry.bytes, e2.len);
	alb_state_entry_free(&e2);
	alb_journal_change_free(c);
	free(b);
	rec_free(&r);

	struct alb_policy pol;
	policy_of(&pol);
	rec_make(&r, ALB_JOURNAL_POLICY, "foo:", NULL, &pol);
	b = rec_flat(&r);
	c = decode_ok(b, r.len);
	assert_int_equal(c->kind, ALB_JOURNAL_POLICY);
	assert_string_equal(c->name, "foo:");
	assert_true(alb_policy_equal(&c->policy, &pol));
	alb_journal_change_free(c);
	free(b);
	rec_free(&r);

	const enum alb_journal_kind gone[2] = {ALB_JOURNAL_UNIKERNEL_GONE,
					       ALB_JOURNAL_POLICY_GONE};
	const char *names[2] = {":hello", "a:b:"};
	for (int i = 0; i < 2; i++) {
		rec_make(&r, gone[i], names[i], NULL, NULL);
		b = rec_flat(&r);
		c = decode_ok(b, r.len);
		assert_int_equal(c->kind, gone[i]);
		assert_string_equal(c->name, names[i]);
		alb_journal_change_free(c);
		/* any single flipped bit fails the checksum */
		for (size_t k = 0; k < r.len; k++) {
			b[k] ^= 0x10;
			assert_int_equal(alb_journal_check(b, r.len, NULL), ALB_EPARSE);
			b[k] ^= 0x10;
		}
		free(b);
		rec_free(&r);
	}
	struct alb_buf bad = {0};
	assert_int_equal(alb_journal_name_body("not a name!", &bad, NULL), ALB_EINVAL);
}

/* A record of kind ALB_JOURNAL_UNIKERNEL_FILE around body, flat. */
static uint8_t *file_record(const struct alb_buf *body, size_t *len)
{
	struct alb_journal_frame f;
	struct iovec iov = {body->data, body->len};
	assert_int_equal(alb_journal_frame_init(&f, ALB_JOURNAL_UNIKERNEL_FILE,
						body->len, NULL), 0);
	alb_journal_seal(&f, &iov, 1);
	*len = f.head_len + body->len + ALB_JOURNAL_CRC_LEN;
	uint8_t *b = malloc(*len);
	assert_non_null(b);
	memcpy(b, f.head, f.head_len);
	memcpy(b + f.head_len, body->data, body->len);
	memcpy(b + f.head_len + body->len, f.crc, ALB_JOURNAL_CRC_LEN);
	return b;
}

/* A unikernel whose image is a file in <dbdir>/images: the record names
 * it, its length and digest, and holds the configuration without the
 * image; a file name that could leave the directory is refused on both
 * sides. */
static void test_record_file(void **state)
{
	(void)state;
	struct alb_unikernel_config cfg;
	config_of(&cfg, sizeof(image));
	struct alb_journal_image_file f = {.len = 123456789};
	memcpy(f.name, "0123456789abcdef0123456789abcdef", 33);
	for (int i = 0; i < ALB_SHA256_LEN; i++)
		f.sha256[i] = (uint8_t)(0xa0 + i);
	struct alb_buf body = {0};
	assert_int_equal(alb_journal_file_body("foo:bar", &cfg, &f, &body, NULL), 0);
	/* the image is not in it */
	assert_true(body.len < 200);
	size_t len;
	uint8_t *b = file_record(&body, &len);
	struct alb_journal_change *c = decode_ok(b, len);
	assert_int_equal(c->kind, ALB_JOURNAL_UNIKERNEL_FILE);
	assert_string_equal(c->name, "foo:bar");
	assert_int_equal(c->config.image.len, 0);
	assert_int_equal(c->config.memory, 64);
	assert_int_equal(c->config.startup, 7);
	assert_string_equal(c->file.name, f.name);
	assert_int_equal(c->file.len, f.len);
	assert_memory_equal(c->file.sha256, f.sha256, ALB_SHA256_LEN);
	alb_journal_change_free(c);
	free(b);

	/* a name with a character past the hex digits, in a record whose
	 * checksum is right: not decoded */
	uint8_t *at = memmem(body.data, body.len, f.name, 32);
	assert_non_null(at);
	at[5] = '/';
	b = file_record(&body, &len);
	assert_int_equal(alb_journal_check(b, len, NULL), 0);
	c = NULL;
	assert_int_equal(alb_journal_decode(b, len, 0, &c, NULL), ALB_EPARSE);
	free(b);
	alb_buf_free(&body);

	/* and not encoded: too short, too long, upper case, a path */
	assert_false(alb_journal_file_name_ok("0123456789abcdef0123456789abcdef0"));
	const char *bad[3] = {"0123", "0123456789ABCDEF0123456789abcdef",
			      "../456789abcdef0123456789abcdef"};
	for (int i = 0; i < 3; i++) {
		snprintf(f.name, sizeof(f.name), "%s", bad[i]);
		assert_false(alb_journal_file_name_ok(bad[i]));
		assert_int_equal(alb_journal_file_body("foo:bar", &cfg, &f, &body,
						       NULL), ALB_EINVAL);
	}
	assert_true(alb_journal_file_name_ok("0123456789abcdef0123456789abcdef"));
}

static void test_record_limits(void **state)
{
	(void)state;
	struct alb_journal_frame f;
	struct alb_error err;
	/* the largest body, and one byte more: with its two 6-byte headers
	 * and the crc the whole record may not pass the limit */
	assert_int_equal(alb_journal_frame_init(&f, ALB_JOURNAL_UNIKERNEL,
						ALB_JOURNAL_RECORD_MAX - 18, NULL),
			 0);
	assert_int_equal(f.head_len, 12);
	assert_int_equal(alb_journal_frame_init(&f, ALB_JOURNAL_UNIKERNEL,
						ALB_JOURNAL_RECORD_MAX - 17, &err),
			 ALB_ETOOBIG);
	assert_int_equal(alb_journal_frame_init(&f, ALB_JOURNAL_UNIKERNEL,
						ALB_JOURNAL_RECORD_MAX + 1, &err),
			 ALB_ETOOBIG);
	assert_int_equal(alb_journal_frame_init(&f, (enum alb_journal_kind)5, 1,
						&err),
			 ALB_EINVAL);
	/* the reader's side of the limit */
	size_t max = ALB_JOURNAL_RECORD_MAX, len;
	uint8_t h[6] = {0x30, 0x84};
	size_t body = max - 6;
	for (int i = 0; i < 4; i++)
		h[2 + i] = (uint8_t)(body >> (24 - 8 * i));
	assert_int_equal(alb_journal_record_len(h, 6, &len, NULL), 0);
	assert_int_equal(len, max);
	body++;
	for (int i = 0; i < 4; i++)
		h[2 + i] = (uint8_t)(body >> (24 - 8 * i));
	assert_int_equal(alb_journal_record_len(h, 6, &len, &err), ALB_EPARSE);
	/* incomplete headers want more; malformed ones are refused */
	assert_int_equal(alb_journal_record_len(h, 1, &len, NULL), ALB_EAGAIN);
	assert_int_equal(alb_journal_record_len(h, 4, &len, NULL), ALB_EAGAIN);
	const uint8_t bad[][4] = {
		{0x31, 0x02, 0, 0},    /* not a SEQUENCE */
		{0x30, 0x80, 0, 0},    /* indefinite length */
		{0x30, 0x81, 0x10, 0}, /* long form for a short length */
		{0x30, 0x82, 0x00, 0x90}, /* leading zero octet */
		{0x30, 0x85, 1, 1},    /* more than 4 length octets */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(alb_journal_record_len(bad[i], 4, &len, &err),
				 ALB_EPARSE);
	/* a record whose checksum is right but whose change is not one of
	 * the grammar ([4]) */
	uint8_t odd[] = {0x30, 0x0a, 0xa4, 0x02, 0x05, 0x00,
			 0x04, 0x04, 0, 0, 0, 0};
	uint32_t crc = alb_crc32c(0, odd, 6);
	for (int i = 0; i < 4; i++)
		odd[8 + i] = (uint8_t)(crc >> (24 - 8 * i));
	assert_int_equal(alb_journal_check(odd, sizeof(odd), NULL), 0);
	struct alb_journal_change *c = NULL;
	assert_int_equal(alb_journal_decode(odd, sizeof(odd), 0, &c, &err), ALB_EPARSE);
	assert_null(c);
}

/* ---- segments ------------------------------------------------------------- */

struct seen {
	int n;
	char names[16][64];
	int kinds[16];
};

static int collect(void *ctx, const struct alb_journal_change *c,
		   struct alb_error *err)
{
	(void)err;
	struct seen *s = ctx;
	if (s->n < 16) {
		snprintf(s->names[s->n], 64, "%s", c->name);
		s->kinds[s->n] = (int)c->kind;
	}
	s->n++;
	return 0;
}

static void seg_path(char *p, size_t len, uint64_t id)
{
	snprintf(p, len, "%s/journal.%llu", dir, (unsigned long long)id);
}

/* Appends gone-records for names[0..n) to segment id (created if fd < 0);
 * returns the fd. */
static int append_names(int fd, uint64_t id, uint64_t *size,
			const char *const *names, size_t n)
{
	if (fd < 0) {
		fd = alb_journal_create(dir, id, NULL);
		assert_true(fd >= 0);
		*size = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct rec r;
		rec_make(&r, ALB_JOURNAL_UNIKERNEL_GONE, names[i], NULL, NULL);
		assert_int_equal(alb_journal_append(fd, r.iov, r.n, size, NULL), 0);
		rec_free(&r);
	}
	return fd;
}

static int replay(uint64_t id, struct seen *s, struct alb_journal_replay_stats *st,
		  struct alb_error *err)
{
	memset(s, 0, sizeof(*s));
	return alb_journal_replay(dir, id, collect, s, st, err);
}

static off_t file_size(uint64_t id)
{
	char p[512];
	struct stat sb;
	seg_path(p, sizeof(p), id);
	assert_int_equal(stat(p, &sb), 0);
	return sb.st_size;
}

static void test_segments(void **state)
{
	(void)state;
	const char *names[3] = {":a", ":b", "x:c"};
	uint64_t size;
	int fd = append_names(-1, 1, &size, names, 3);
	assert_int_equal((off_t)size, file_size(1));
	struct stat sb;
	char p[512];
	seg_path(p, sizeof(p), 1);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	/* a segment is never created twice */
	struct alb_error err;
	assert_int_equal(alb_journal_create(dir, 1, &err), ALB_EEXIST);
	close(fd);
	struct seen s;
	struct alb_journal_replay_stats st;
	assert_int_equal(replay(1, &s, &st, NULL), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[2], "x:c");
	assert_int_equal(st.records, 3);
	assert_int_equal(st.bytes, size);
	assert_false(st.torn);
	/* listing: numeric order, other files ignored */
	close(append_names(-1, 10, &size, names, 1));
	close(append_names(-1, 2, &size, names, 1));
	snprintf(p, sizeof(p), "%s/state", dir);
	close(open(p, O_CREAT | O_WRONLY, 0644));
	uint64_t *ids;
	size_t n;
	assert_int_equal(alb_journal_list(dir, &ids, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 10);
	free(ids);
	/* removal of what a compaction covers */
	assert_int_equal(alb_journal_remove(dir, 2, NULL, NULL), 0);
	assert_int_equal(alb_journal_list(dir, &ids, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 10);
	free(ids);
	/* a segment made ahead and never used goes; a missing one is no
	 * error, the others stay */
	fd = alb_journal_create(dir, 11, NULL);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(alb_journal_discard(dir, 11, NULL), 0);
	assert_int_equal(alb_journal_discard(dir, 12, NULL), 0);
	assert_int_equal(alb_journal_list(dir, &ids, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], 10);
	free(ids);
	/* names that look like segments but are not are refused */
	const char *odd[3] = {"journal.01", "journal.x", "journal.0"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, odd[i]);
		close(open(p, O_CREAT | O_WRONLY, 0600));
		assert_int_equal(alb_journal_list(dir, &ids, &n, &err), ALB_EPARSE);
		assert_non_null(strstr(err.msg, odd[i]));
		unlink(p);
	}
	seg_path(p, sizeof(p), 5);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(alb_journal_list(dir, &ids, &n, &err), ALB_EPARSE);
	assert_non_null(strstr(err.msg, "not a regular file"));
	rmdir(p);
	/* a symbolic link is not followed */
	seg_path(p, sizeof(p), 6);
	assert_int_equal(symlink("journal.10", p), 0);
	assert_int_equal(alb_journal_list(dir, &ids, &n, &err), ALB_EPARSE);
	assert_int_not_equal(alb_journal_replay(dir, 6, collect, &s, &st, &err), 0);
	unlink(p);
}

static void test_segments_limit(void **state)
{
	(void)state;
	char p[512];
	for (uint64_t i = 1; i <= ALB_JOURNAL_SEGMENTS_MAX; i++) {
		seg_path(p, sizeof(p), i);
		int fd = open(p, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	uint64_t *ids;
	size_t n;
	assert_int_equal(alb_journal_list(dir, &ids, &n, NULL), 0);
	assert_int_equal(n, ALB_JOURNAL_SEGMENTS_MAX);
	assert_int_equal(ids[n - 1], ALB_JOURNAL_SEGMENTS_MAX);
	free(ids);
	seg_path(p, sizeof(p), ALB_JOURNAL_SEGMENTS_MAX + 1);
	close(open(p, O_CREAT | O_WRONLY, 0600));
	struct alb_error err;
	assert_int_equal(alb_journal_list(dir, &ids, &n, &err), ALB_ETOOBIG);
	assert_int_equal(alb_journal_remove(dir, UINT64_MAX, NULL, &err), ALB_ETOOBIG);
	rm_entries(dir);
}

/* A last record cut anywhere, zero-filled or damaged is a torn append:
 * ignored, the records before it replayed. */
static void test_torn_tail(void **state)
{
	(void)state;
	const char *names[3] = {":a", ":b", ":c"};
	uint64_t size2;
	close(append_names(-1, 1, &size2, names, 2));
	struct rec r;
	struct alb_unikernel_config cfg;
	config_of(&cfg, 300);
	rec_make(&r, ALB_JOURNAL_UNIKERNEL, ":big", &cfg, NULL);
	uint8_t *whole = rec_flat(&r);
	char p[512];
	seg_path(p, sizeof(p), 1);
	struct seen s;
	struct alb_journal_replay_stats st;
	for (size_t cut = 1; cut < r.len; cut += 13) {
		assert_int_equal(truncate(p, (off_t)size2), 0);
		int fd = open(p, O_WRONLY | O_APPEND);
		assert_int_equal(write(fd, whole, cut), (ssize_t)cut);
		close(fd);
		assert_int_equal(replay(1, &s, &st, NULL), 0);
		assert_int_equal(s.n, 2);
		assert_true(st.torn);
		assert_int_equal(st.torn_at, size2);
	}
	/* the file grew but the data never came: zeros, after the record's
	 * head or instead of it */
	assert_int_equal(truncate(p, (off_t)size2 + 4096), 0);
	assert_int_equal(replay(1, &s, &st, NULL), 0);
	assert_int_equal(s.n, 2);
	assert_true(st.torn);
	assert_int_equal(truncate(p, (off_t)size2), 0);
	assert_int_equal(truncate(p, (off_t)size2 + 4096), 0);
	assert_int_equal(replay(1, &s, &st, NULL), 0);
	assert_int_equal(s.n, 2);
	assert_true(st.torn);
	/* whole length, a bit flipped in its image: still the last one */
	assert_int_equal(truncate(p, (off_t)size2), 0);
	whole[r.len / 2] ^= 1;
	int fd = open(p, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, whole, r.len), (ssize_t)r.len);
	close(fd);
	assert_int_equal(replay(1, &s, &st, NULL), 0);
	assert_int_equal(s.n, 2);
	assert_true(st.torn);
	free(whole);
	rec_free(&r);
}

/* Damage with records after it is not a torn append: the replay stops
 * with a message that names the file and the offset. */
static void test_corrupt_middle(void **state)
{
	(void)state;
	const char *names[3] = {":a", ":b", ":c"};
	uint64_t size;
	close(append_names(-1, 1, &size, names, 3));
	char p[512];
	seg_path(p, sizeof(p), 1);
	size_t len;
	int fd = open(p, O_RDWR);
	uint8_t *b = malloc((size_t)size);
	assert_int_equal(read(fd, b, (size_t)size), (ssize_t)size);
	assert_int_equal(alb_journal_record_len(b, (size_t)size, &len, NULL), 0);
	/* the second record's last name byte */
	size_t at = len + len - ALB_JOURNAL_CRC_LEN - 1;
	b[at] ^= 0x20;
	assert_int_equal(pwrite(fd, b + at, 1, (off_t)at), 1);
	struct seen s;
	struct alb_journal_replay_stats st;
	struct alb_error err;
	assert_int_equal(replay(1, &s, &st, &err), ALB_EPARSE);
	assert_int_equal(s.n, 1);
	char want[64];
	snprintf(want, sizeof(want), "corrupt record at offset %zu", len);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "journal.1"));
	/* a damaged header in the middle too */
	b[at] ^= 0x20;
	b[len] = 0x31;
	assert_int_equal(pwrite(fd, b + at, 1, (off_t)at), 1);
	assert_int_equal(pwrite(fd, b + len, 1, (off_t)len), 1);
	assert_int_equal(replay(1, &s, &st, &err), ALB_EPARSE);
	assert_non_null(strstr(err.msg, want));
	/* the files are untouched by a replay */
	assert_int_equal(file_size(1), (off_t)size);
	close(fd);
	free(b);
}

static int fail_at(enum alb_state_step s, void *ctx)
{
	return (int)s == *(const int *)ctx ? -1 : 0;
}

/* A failed append (injected at each step, or a real write error) leaves
 * the segment as it was, and reports the reason. */
static void test_append_failure(void **state)
{
	(void)state;
	const char *names[2] = {":a", ":b"};
	uint64_t size;
	int fd = append_names(-1, 1, &size, names, 2);
	uint64_t before = size;
	const int steps[2] = {ALB_STATE_STEP_JOURNAL_WRITTEN,
			      ALB_STATE_STEP_JOURNAL_SYNCED};
	for (int i = 0; i < 2; i++) {
		struct rec r;
		rec_make(&r, ALB_JOURNAL_UNIKERNEL_GONE, ":c", NULL, NULL);
		alb_state_file_set_hook(fail_at, (void *)&steps[i]);
		struct alb_error err;
		assert_int_equal(alb_journal_append(fd, r.iov, r.n, &size, &err),
				 ALB_ESYS);
		assert_non_null(strstr(err.msg, "injected fault"));
		alb_state_file_set_hook(NULL, NULL);
		assert_int_equal(size, before);
		assert_int_equal(file_size(1), (off_t)before);
		rec_free(&r);
	}
	/* a real failure: the descriptor cannot write */
	int ro = open("/dev/null", O_RDONLY);
	struct rec r;
	rec_make(&r, ALB_JOURNAL_UNIKERNEL_GONE, ":c", NULL, NULL);
	struct alb_error err;
	uint64_t zero = 0;
	assert_int_equal(alb_journal_append(ro, r.iov, r.n, &zero, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, EBADF);
	close(ro);
	rec_free(&r);
	/* creating a segment: a failure at its directory sync leaves none */
	int k = ALB_STATE_STEP_JOURNAL_CREATED;
	alb_state_file_set_hook(fail_at, &k);
	assert_int_equal(alb_journal_create(dir, 2, &err), ALB_ESYS);
	alb_state_file_set_hook(NULL, NULL);
	char p[512];
	seg_path(p, sizeof(p), 2);
	assert_int_not_equal(access(p, F_OK), 0);
	close(fd);
	struct seen s;
	struct alb_journal_replay_stats st;
	assert_int_equal(replay(1, &s, &st, NULL), 0);
	assert_int_equal(s.n, 2);
	assert_false(st.torn);
}

static int crash_hook(enum alb_state_step s, void *ctx)
{
	if ((int)s == *(const int *)ctx)
		_exit(0);
	return 0;
}

/* A crash at each step of an append leaves a segment that replays: the
 * records before, with or without the new one, never an error. */
/* A compaction's removal of segments frees a segment's blocks a step at a
 * time (ALB_IO_FREE_STEP) by shortening it, but never one that has
 * another name: vmmd links the files that images are mapped from into
 * images/, so that their mappings read on. */
static void test_remove_linked(void **state)
{
	(void)state;
	const size_t size = 2 * (size_t)ALB_IO_FREE_STEP + 4096;
	int fds[2];
	for (int i = 0; i < 2; i++) {
		fds[i] = alb_journal_create(dir, (uint64_t)i + 1, NULL);
		assert_true(fds[i] >= 0);
		/* opened for appending: the byte goes at the end */
		assert_int_equal(ftruncate(fds[i], (off_t)size - 1), 0);
		assert_int_equal(write(fds[i], "z", 1), 1);
	}
	char seg[300], held[300];
	snprintf(seg, sizeof(seg), "%s/journal.1", dir);
	snprintf(held, sizeof(held), "%s/held", dir);
	assert_int_equal(link(seg, held), 0);
	uint8_t *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fds[0], 0);
	assert_true(map != MAP_FAILED);
	const struct alb_io_yield steps = {NULL, NULL};
	assert_int_equal(alb_journal_remove(dir, 2, &steps, NULL), 0);
	uint64_t *ids;
	size_t n;
	assert_int_equal(alb_journal_list(dir, &ids, &n, NULL), 0);
	assert_int_equal(n, 0);
	free(ids);
	struct stat sb;
	assert_int_equal(fstat(fds[0], &sb), 0);
	assert_int_equal(sb.st_nlink, 1);
	assert_int_equal((size_t)sb.st_size, size);
	assert_int_equal(map[size - 1], 'z');
	assert_int_equal(fstat(fds[1], &sb), 0);
	assert_int_equal(sb.st_nlink, 0);
	assert_true((size_t)sb.st_size <= ALB_IO_FREE_STEP);
	munmap(map, size);
	assert_int_equal(unlink(held), 0);
	close(fds[0]);
	close(fds[1]);
}

static void test_crash_each_step(void **state)
{
	(void)state;
	const char *names[2] = {":a", ":b"};
	for (int k = ALB_STATE_STEP_JOURNAL_WRITTEN;
	     k <= ALB_STATE_STEP_JOURNAL_SYNCED; k++) {
		uint64_t size;
		close(append_names(-1, 1, &size, names, 2));
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alb_state_file_set_hook(crash_hook, &k);
			char p[512];
			seg_path(p, sizeof(p), 1);
			int fd = open(p, O_WRONLY | O_APPEND);
			const char *more[1] = {":new"};
			append_names(fd, 1, &size, more, 1);
			_exit(3);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
		struct seen s;
		struct alb_journal_replay_stats st;
		assert_int_equal(replay(1, &s, &st, NULL), 0);
		assert_true(s.n == 2 || s.n == 3);
		rm_entries(dir);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_limits),
		cmocka_unit_test(test_record_file),
		cmocka_unit_test_setup_teardown(test_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_segments_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_middle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_each_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_linked, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
