/* Unit tests: the golden vectors made by the real Albatross, driven by
 * MANIFEST.tsv, the recorded transcripts, and spot checks of decoded
 * values against the .txt dumps.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "albatross/state.h"
#include "albatross/wire.h"
#include "vectors.h"

static const char *dir;

/* Decodes b as the given kind and, on success, re-encodes it. */
static int decode_encode(const char *kind, const uint8_t *b, size_t n,
			 struct alb_buf *out, struct alb_error *err)
{
	int rc;
	if (strcmp(kind, "state") == 0) {
		struct alb_state *s;
		rc = alb_state_decode(b, n, 0, &s, err);
		if (rc == 0) {
			rc = alb_state_encode(s, out, err);
			assert_int_equal(rc, 0);
			alb_state_free(s);
		}
	} else if (strcmp(kind, "cert") == 0) {
		struct alb_certext *c;
		rc = alb_certext_decode(b, n, 0, &c, err);
		if (rc == 0) {
			rc = alb_certext_encode(c, out, err);
			assert_int_equal(rc, 0);
			alb_certext_free(c);
		}
	} else {
		assert_string_equal(kind, "wire");
		struct alb_msg *m;
		rc = alb_msg_decode(b, n, 0, &m, err);
		if (rc == 0) {
			rc = alb_msg_encode(m, 0, out, err);
			assert_int_equal(rc, 0);
			alb_msg_free(m);
		}
	}
	return rc;
}

static void expect_same(const char *what, const uint8_t *got, size_t gn,
			const uint8_t *want, size_t wn)
{
	if (gn != wn || memcmp(got, want, wn) != 0) {
		size_t i = 0;
		while (i < gn && i < wn && got[i] == want[i])
			i++;
		fail_msg("%s: re-encoding differs at byte %zu (lengths %zu, %zu)", what,
			 i, gn, wn);
	}
}

/* The .txt beside a vector's .der. */
static char *read_txt(const char *file, size_t *len)
{
	char name[512];
	size_t l = strlen(file);
	assert_true(l > 4 && l < sizeof(name));
	memcpy(name, file, l - 4);
	strcpy(name + l - 4, ".txt");
	return (char *)vec_read_at(dir, name, len);
}

static void check_entry(const struct vec_entry *e)
{
	size_t n = 0, tl = 0;
	uint8_t *b = vec_read_at(dir, e->file, &n);
	if (b == NULL)
		fail_msg("%s: cannot read %s", e->name, e->file);
	char *txt = read_txt(e->file, &tl);
	assert_non_null(txt);
	struct alb_buf out = {0};
	struct alb_error err = {0};
	int rc = decode_encode(e->kind, b, n, &out, &err);
	if (strcmp(e->expect, "error") == 0) {
		if (rc == 0)
			fail_msg("%s: accepted, expected \"%s\"", e->name, e->text);
		assert_int_equal(rc, ALB_EPARSE);
		/* Albatross raises on these; we only need a clean refusal */
		if (strncmp(e->text, "EXCEPTION", 9) != 0 && strcmp(err.msg, e->text) != 0)
			fail_msg("%s: error \"%s\", expected \"%s\"", e->name, err.msg,
				 e->text);
	} else {
		if (rc != 0)
			fail_msg("%s: rejected: %s", e->name, err.msg);
		size_t rn;
		uint8_t *re = vec_txt_hex(txt, tl, "re-encoding by albatross", &rn);
		if (strcmp(e->expect, "ok-roundtrip") == 0 ||
		    (re == NULL && strcmp(e->expect, "ok-noncanonical") == 0)) {
			/* noncanonical inputs that albatross re-encodes
			 * identically say so instead of giving the hex */
			if (re == NULL && strcmp(e->expect, "ok-noncanonical") == 0)
				assert_non_null(strstr(txt, "re-encoding: identical bytes"));
			expect_same(e->name, out.data, out.len, b, n);
		} else if (re != NULL) {
			expect_same(e->name, out.data, out.len, re, rn);
		} else {
			/* ok-lossy without a given re-encoding: it differs from
			 * the input and is itself canonical */
			assert_string_equal(e->expect, "ok-lossy");
			assert_true(out.len != n || memcmp(out.data, b, n) != 0);
			struct alb_buf again = {0};
			assert_int_equal(decode_encode(e->kind, out.data, out.len, &again, NULL), 0);
			expect_same(e->name, again.data, again.len, out.data, out.len);
			alb_buf_free(&again);
		}
		free(re);
	}
	alb_buf_free(&out);
	free(txt);
	free(b);
}

static void test_manifest(void **state)
{
	(void)state;
	struct vec_entry *v;
	size_t n = vec_manifest(dir, &v);
	assert_true(n >= 140);
	size_t errors = 0;
	for (size_t i = 0; i < n; i++) {
		check_entry(&v[i]);
		errors += strcmp(v[i].expect, "error") == 0;
	}
	assert_int_equal(errors, 32);
	free(v);
}

/* Every DER frame of the recorded sessions decodes and re-encodes to the
 * same bytes (raw block data frames are not DER; their .txt says so). */
static void test_transcripts(void **state)
{
	(void)state;
	char tdir[4096];
	snprintf(tdir, sizeof(tdir), "%s/transcripts", dir);
	DIR *top = opendir(tdir);
	assert_non_null(top);
	size_t frames = 0;
	struct dirent *sess;
	while ((sess = readdir(top)) != NULL) {
		if (sess->d_name[0] == '.')
			continue;
		char sdir[4096 + 256];
		snprintf(sdir, sizeof(sdir), "%s/%s", tdir, sess->d_name);
		DIR *sd = opendir(sdir);
		if (sd == NULL)
			continue;
		struct dirent *f;
		while ((f = readdir(sd)) != NULL) {
			size_t l = strlen(f->d_name);
			if (l < 5 || strcmp(f->d_name + l - 4, ".der") != 0)
				continue;
			char rel[1024];
			snprintf(rel, sizeof(rel), "transcripts/%s/%s", sess->d_name,
				 f->d_name);
			size_t n = 0, tl = 0;
			uint8_t *b = vec_read_at(dir, rel, &n);
			char *txt = read_txt(rel, &tl);
			assert_non_null(b);
			assert_non_null(txt);
			if (tl >= 6 && memcmp(txt, "ERROR:", 6) == 0) {
				free(b);
				free(txt);
				continue;
			}
			struct alb_buf out = {0};
			struct alb_error err = {0};
			if (decode_encode("wire", b, n, &out, &err) != 0)
				fail_msg("%s: %s", rel, err.msg);
			expect_same(rel, out.data, out.len, b, n);
			alb_buf_free(&out);
			free(b);
			free(txt);
			frames++;
		}
		closedir(sd);
	}
	closedir(top);
	assert_true(frames >= 300);
	/* the daemon's state file at the end of the session */
	size_t n = 0;
	uint8_t *b = vec_read_at(dir, "transcripts/final-state.der", &n);
	assert_non_null(b);
	struct alb_buf out = {0};
	assert_int_equal(decode_encode("state", b, n, &out, NULL), 0);
	expect_same("final-state", out.data, out.len, b, n);
	alb_buf_free(&out);
	free(b);
}

static struct alb_msg *decode_file(const char *file, unsigned flags, uint8_t **bytes)
{
	size_t n = 0;
	uint8_t *b = vec_read_at(dir, file, &n);
	assert_non_null(b);
	struct alb_msg *m;
	struct alb_error err;
	if (alb_msg_decode(b, n, flags, &m, &err) != 0)
		fail_msg("%s: %s", file, err.msg);
	*bytes = b;
	return m;
}

static void assert_str(const struct alb_str *s, const char *want)
{
	assert_non_null(s->ptr);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(s->ptr, want, s->len);
}

static void test_spot_create_full(void **state)
{
	(void)state;
	uint8_t *b;
	struct alb_msg *m = decode_file("cmd_unikernel_create_full.der", 0, &b);
	assert_string_equal(m->header.name, "a:b:c");
	assert_int_equal(m->kind, ALB_PAYLOAD_COMMAND);
	assert_int_equal(m->u.command.kind, ALB_CMD_UNIKERNEL_CREATE);
	const struct alb_unikernel_config *c = &m->u.command.u.create;
	assert_true(c->compressed);
	assert_int_equal(c->image.len, 300);
	assert_true(c->has_startup);
	assert_int_equal(c->startup, 10);
	assert_false(c->add_name);
	assert_true(c->fail.restart);
	assert_int_equal(c->fail.n_exit_codes, 4);
	assert_int_equal(c->fail.exit_codes[0], -1);
	assert_int_equal(c->fail.exit_codes[3], 255);
	assert_int_equal(c->n_cpuids, 3);
	assert_int_equal(c->cpuids[2], 200);
	assert_int_equal(c->memory, 512);
	/* the devices come out in DER order: data, storage / management, service */
	assert_int_equal(c->n_blocks, 2);
	assert_str(&c->blocks[0].name, "data");
	assert_null(c->blocks[0].device.ptr);
	assert_false(c->blocks[0].has_sector_size);
	assert_str(&c->blocks[1].name, "storage");
	assert_str(&c->blocks[1].device, "disk1");
	assert_int_equal(c->blocks[1].sector_size, 4096);
	assert_int_equal(c->n_bridges, 2);
	assert_str(&c->bridges[0].netif, "management");
	assert_false(c->bridges[0].has_mac);
	assert_str(&c->bridges[1].netif, "service");
	assert_str(&c->bridges[1].bridge, "br0");
	assert_true(c->bridges[1].has_mac);
	assert_memory_equal(c->bridges[1].mac, "\x02\x00\x00\x00\x00\x01", 6);
	assert_true(c->has_argv);
	assert_int_equal(c->n_argv, 3);
	assert_str(&c->argv[2], "");
	assert_int_equal(c->numcpus, 2);
	assert_str(&c->linux_boot_partition, "(hd0,gpt2)");
	alb_msg_free(m);
	free(b);
}

static void test_spot_stats_full(void **state)
{
	(void)state;
	uint8_t *b;
	struct alb_msg *m = decode_file("data_stats_full.der", 0, &b);
	assert_int_equal(m->kind, ALB_PAYLOAD_DATA);
	const struct alb_stats *s = &m->u.data.u.stats;
	assert_int_equal(s->rusage.utime.sec, 1);
	assert_int_equal(s->rusage.utime.usec, 250000);
	assert_int_equal(s->rusage.stime.usec, 999999);
	assert_int_equal(s->rusage.idrss, -1);
	assert_true(s->rusage.isrss == INT64_MAX);
	assert_true(s->rusage.minflt == INT64_MIN);
	assert_int_equal(s->rusage.nvcsw, 4242);
	assert_true(s->has_kinfo_mem);
	assert_int_equal(s->kinfo_mem.vsize, 1073741824);
	assert_int_equal(s->kinfo_mem.runtime, 123456789);
	assert_int_equal(s->kinfo_mem.cow, 7);
	assert_int_equal(s->kinfo_mem.start.sec, 1700000000);
	assert_int_equal(s->kinfo_mem.start.usec, 42);
	assert_true(s->has_vmm);
	assert_int_equal(s->n_vmm, 3);
	assert_str(&s->vmm[1].key, "vmentry");
	assert_int_equal(s->vmm[1].value, -5);
	assert_str(&s->vmm[2].key, "");
	assert_int_equal(s->n_ifdata, 2);
	assert_str(&s->ifdata[1].bridge, "admin");
	assert_int_equal(s->ifdata[1].flags, INT32_MIN);
	assert_int_equal(s->ifdata[1].mtu, INT32_MAX);
	assert_true(s->ifdata[1].input_bytes == INT64_MAX);
	assert_int_equal(s->ifdata[1].output_dropped, -1);
	assert_int_equal(s->ifdata[0].baudrate, 10000000000);
	alb_msg_free(m);
	free(b);
}

static void test_spot_state(void **state)
{
	(void)state;
	size_t n = 0;
	uint8_t *b = vec_read_at(dir, "state_2u_2p.der", &n);
	assert_non_null(b);
	struct alb_state *s;
	assert_int_equal(alb_state_decode(b, n, 0, &s, NULL), 0);
	assert_int_equal(s->format, 6);
	assert_int_equal(s->n_unikernels, 2);
	assert_string_equal(s->unikernels[0].name, "a:b:c");
	assert_string_equal(s->unikernels[1].name, ":hello");
	assert_int_equal(s->unikernels[1].config.memory, 32);
	assert_false(s->unikernels[1].config.has_argv);
	assert_int_equal(s->unikernels[1].config.image.len, 22);
	assert_int_equal(s->n_policies, 2);
	assert_string_equal(s->policies[0].name, "a:");
	assert_int_equal(s->policies[0].policy.unikernels, 1);
	assert_false(s->policies[0].policy.has_block);
	assert_string_equal(s->policies[1].name, "a:b:");
	const struct alb_policy *p = &s->policies[1].policy;
	assert_int_equal(p->unikernels, 10);
	assert_int_equal(p->n_cpuids, 2);
	assert_int_equal(p->cpuids[1], 1);
	assert_true(p->has_block);
	assert_int_equal(p->block, 2048);
	assert_int_equal(p->n_bridges, 2);
	assert_str(&p->bridges[0], "br0");
	assert_str(&p->bridges[1], "service");
	alb_state_free(s);
	free(b);
	/* a v0 state file: defaults filled in (legacy/legacy_state_v0.txt) */
	b = vec_read_at(dir, "legacy/legacy_state_v0.der", &n);
	assert_non_null(b);
	assert_int_equal(alb_state_decode(b, n, 0, &s, NULL), 0);
	assert_int_equal(s->format, 1);
	assert_int_equal(s->n_unikernels, 1);
	const struct alb_unikernel_config *c = &s->unikernels[0].config;
	assert_true(c->compressed);
	assert_false(c->fail.restart);
	assert_true(c->add_name);
	assert_int_equal(c->n_cpuids, 1);
	assert_int_equal(c->cpuids[0], 1);
	assert_int_equal(c->memory, 64);
	assert_str(&c->blocks[0].name, "storage");
	assert_str(&c->bridges[0].netif, "service");
	assert_str(&c->argv[0], "--hello");
	assert_int_equal(c->numcpus, 1);
	alb_state_free(s);
	free(b);
}

static void test_spot_info_and_borrow(void **state)
{
	(void)state;
	uint8_t *b;
	struct alb_msg *m = decode_file("reply_unikernel_info.der", ALB_DECODE_BORROW, &b);
	assert_int_equal(m->u.success.kind, ALB_REPLY_UNIKERNEL_INFO);
	assert_int_equal(m->u.success.u.infos.n, 2);
	const struct alb_unikernel_info *i = &m->u.success.u.infos.v[0].info;
	assert_int_equal(i->n_cpuids, 2);
	assert_int_equal(i->started.sec, 1709210096);
	assert_int_equal(i->numcpus, 2);
	assert_int_equal(i->digest.len, 32);
	/* borrowed: the digest points into the input */
	assert_true(i->digest.ptr > b && i->digest.ptr < b + 4096);
	assert_str(&i->bridges[1].host_device, "vmmtap0");
	assert_memory_equal(i->bridges[1].mac, "\x00\x80\x41\x1b\x11\x78", 6);
	const struct alb_unikernel_info *j = &m->u.success.u.infos.v[1].info;
	assert_string_equal(m->u.success.u.infos.v[1].name, "a:b:d");
	assert_int_equal(j->started.sec, 0);
	assert_int_equal(j->numcpus, 1);
	assert_int_equal(j->digest.len, 0);
	alb_msg_free(m);
	free(b);
}

int main(void)
{
	dir = vec_dir();
	if (!vec_present(dir))
		return VEC_SKIP;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_transcripts),
		cmocka_unit_test(test_spot_create_full),
		cmocka_unit_test(test_spot_stats_full),
		cmocka_unit_test(test_spot_state),
		cmocka_unit_test(test_spot_info_and_borrow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
