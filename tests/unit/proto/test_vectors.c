/* Unit tests: the golden vectors made by the real Albatross
 * ($ALB_VECTORS_DIR, by default ../shared/vectors) and our own
 * (tests/vectors: GeneralizedTime forms), driven by their MANIFEST.tsv and
 * directory listing (tests/support/vec_check.h), and the decoded values
 * compared field by field with what the .txt files say Albatross decoded.
 * No count or file name of a particular vector set is written here.
 * SPDX-License-Identifier: ISC */
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
#include "vec_check.h"

static const char *dir;

/* ---- MANIFEST and transcripts ----------------------------------------- */

static void expect_clean(const char *where, const struct vec_report *r)
{
	if (r->failures != 0)
		fail_msg("%s: %zu failures, the first: %s", where, r->failures,
			 r->first_failure);
}

static void test_manifest(void **state)
{
	(void)state;
	struct vec_report r;
	vec_check_manifest(dir, &r);
	vec_check_listing(dir, &r);
	printf("%s: %zu MANIFEST rows: %zu ok-roundtrip, %zu ok-lossy, %zu ok-noncanonical, "
	       "%zu error\n",
	       dir, r.rows, r.per_expect[VEC_OK_ROUNDTRIP], r.per_expect[VEC_OK_LOSSY],
	       r.per_expect[VEC_OK_NONCANONICAL], r.per_expect[VEC_ERROR]);
	expect_clean(dir, &r);
	assert_true(r.rows > 0);
	assert_int_equal(r.per_expect[VEC_EXPECT_OTHER], 0);
}

static void test_transcripts(void **state)
{
	(void)state;
	struct vec_report r;
	memset(&r, 0, sizeof(r));
	vec_check_transcripts(dir, &r);
	printf("%s: %zu transcript frames in %zu sessions round-trip\n", dir, r.frames,
	       r.sessions);
	expect_clean("transcripts", &r);
	/* a session holds at least its request */
	assert_true(r.frames >= r.sessions);
}

/* Our own vectors (tests/vectors), of the same layout. */
static void test_own_vectors(void **state)
{
	(void)state;
	char own[4096];
	const char *root = getenv("ALB_SOURCE_ROOT");
	snprintf(own, sizeof(own), "%s/tests/vectors", root != NULL ? root : ".");
	struct vec_report r;
	vec_check_dir(own, &r);
	expect_clean(own, &r);
	assert_true(r.rows > 0);
	assert_int_equal(r.per_expect[VEC_EXPECT_OTHER], 0);
}

/* ---- decoded values against the .txt ----------------------------------- */

/* A comparison of decoded fields with the value a .txt shows. */
struct vc {
	const char *txt;
	const char *name;
	size_t compared;
	char path[1024];
};

/* A path of the .txt value, formatted into v->path. */
static const char *vc_path(struct vc *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static const char *vc_path(struct vc *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(v->path, sizeof(v->path), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(v->path));
	return v->path;
}

static void vc_get(struct vc *v, const char *path, char *got, size_t n)
{
	if (!vec_txt_get(v->txt, path, got, n))
		fail_msg("%s: the .txt has no %s", v->name, path);
	v->compared++;
}

/* The .txt value at path must be exactly the formatted text. */
static void vc_eq(struct vc *v, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void vc_eq(struct vc *v, const char *path, const char *fmt, ...)
{
	char want[4096], got[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	vc_get(v, path, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("%s: %s is \"%s\" in the .txt, decoded \"%s\"", v->name, path, got,
			 want);
}

/* The .txt value at path must start with the formatted text (numbers are
 * followed by their hex, images by their digest). */
static void vc_prefix(struct vc *v, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void vc_prefix(struct vc *v, const char *path, const char *fmt, ...)
{
	char want[4096], got[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	vc_get(v, path, got, sizeof(got));
	if (strncmp(got, want, strlen(want)) != 0)
		fail_msg("%s: %s is \"%s\" in the .txt, decoded \"%s...\"", v->name, path, got,
			 want);
}

/* path must not be in the .txt (one past the last element of a list). */
static void vc_absent(struct vc *v, const char *path)
{
	char got[64];
	if (vec_txt_get(v->txt, path, got, sizeof(got)))
		fail_msg("%s: the .txt has %s, which was not decoded", v->name, path);
}

static void vc_int(struct vc *v, const char *path, long long x)
{
	char want[32];
	snprintf(want, sizeof(want), "%lld", x);
	char got[4096];
	vc_get(v, path, got, sizeof(got));
	got[strcspn(got, " ")] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("%s: %s is %s in the .txt, decoded %s", v->name, path, got, want);
}

static const char *yes_no(bool b)
{
	return b ? "true" : "false";
}

/* OCaml's option of an int / a string as the .txt prints them. */
static char *opt_int(char *buf, size_t n, bool has, long long x)
{
	if (has)
		snprintf(buf, n, "Some %lld", x);
	else
		snprintf(buf, n, "None");
	return buf;
}

static char *opt_str(char *buf, size_t n, struct alb_str s)
{
	if (s.ptr != NULL)
		snprintf(buf, n, "Some \"%.*s\"", (int)s.len, s.ptr);
	else
		snprintf(buf, n, "None");
	return buf;
}

/* A set of integers: "{1, 3, 200}". */
static char *int_set(char *buf, size_t n, const int64_t *x, size_t k)
{
	size_t o = (size_t)snprintf(buf, n, "{");
	for (size_t i = 0; i < k && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)x[i]);
	if (o < n)
		snprintf(buf + o, n - o, "}");
	return buf;
}

static char *mac_text(char *buf, size_t n, const uint8_t *m)
{
	snprintf(buf, n, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static void check_fail(struct vc *v, const char *base, const struct alb_fail *f)
{
	char set[1024];
	const char *path = vc_path(v, "%s/fail_behaviour", base);
	if (!f->restart)
		vc_eq(v, path, "quit");
	else if (f->n_exit_codes == 0)
		vc_eq(v, path, "restart (any exit code: None)");
	else
		vc_eq(v, path, "restart on exit codes %s",
		      int_set(set, sizeof(set), f->exit_codes, f->n_exit_codes));
}

static void check_argv(struct vc *v, const char *base, bool has, const struct alb_str *a,
		       size_t n)
{
	const char *path = vc_path(v, "%s/argv", base);
	if (!has)
		vc_eq(v, path, "None");
	else if (n == 0)
		vc_eq(v, path, "Some (0 elements): {}");
	else
		vc_eq(v, path, "Some (%zu elements):", n);
	for (size_t i = 0; has && i < n; i++) {
		vc_eq(v, vc_path(v, "%s/argv/%zu", base, i), "\"%.*s\"", (int)a[i].len, a[i].ptr);
	}
}

/* A unikernel configuration at base (image fields unless restart args). */
static void check_config(struct vc *v, const char *base,
			 const struct alb_unikernel_config *c)
{
	char buf[1024];
#define P(field) vc_path(v, "%s/%s", base, field)
	vc_eq(v, P("typ"), "%s", c->typ == ALB_TYP_SOLO5 ? "solo5" : "bhyve");
	vc_eq(v, P("compressed"), "%s", yes_no(c->compressed));
	vc_prefix(v, P("image"), "%zu bytes ", c->image.len);
	check_fail(v, base, &c->fail);
	vc_eq(v, P("startup"), "%s", opt_int(buf, sizeof(buf), c->has_startup, c->startup));
	vc_eq(v, P("add_name"), "%s", yes_no(c->add_name));
	vc_eq(v, P("cpuids"), "%s", int_set(buf, sizeof(buf), c->cpuids, c->n_cpuids));
	vc_int(v, P("memory (MB)"), c->memory);
	for (size_t i = 0; i < c->n_blocks; i++) {
		const struct alb_block_dev *b = &c->blocks[i];
#define S(field) vc_path(v, "%s/%s/%zu/%s", base, list, i, field)
		const char *list = "block_devices";
		vc_eq(v, S("name"), "\"%.*s\"", (int)b->name.len, b->name.ptr);
		vc_eq(v, S("host device"), "%s", opt_str(buf, sizeof(buf), b->device));
		vc_eq(v, S("sector size"), "%s",
		      opt_int(buf, sizeof(buf), b->has_sector_size, b->sector_size));
	}
	vc_absent(v, vc_path(v, "%s/block_devices/%zu", base, c->n_blocks));
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct alb_net_dev *b = &c->bridges[i];
		char mac[32];
		const char *list = "bridges";
		vc_eq(v, S("netif"), "\"%.*s\"", (int)b->netif.len, b->netif.ptr);
		vc_eq(v, S("bridge"), "%s", opt_str(buf, sizeof(buf), b->bridge));
		if (b->has_mac)
			vc_eq(v, S("mac"), "Some %s", mac_text(mac, sizeof(mac), b->mac));
		else
			vc_eq(v, S("mac"), "None");
	}
#undef S
	vc_absent(v, vc_path(v, "%s/bridges/%zu", base, c->n_bridges));
	check_argv(v, base, c->has_argv, c->argv, c->n_argv);
	vc_int(v, P("numcpus"), c->numcpus);
	vc_eq(v, P("linux_boot_partition"), "%s",
	      opt_str(buf, sizeof(buf), c->linux_boot_partition));
#undef P
}

static void check_info(struct vc *v, const char *base, const struct alb_unikernel_info *in)
{
	char buf[1024];
#define P(field) vc_path(v, "%s/%s", base, field)
	vc_eq(v, P("typ"), "%s", in->typ == ALB_TYP_SOLO5 ? "solo5" : "bhyve");
	check_fail(v, base, &in->fail);
	vc_eq(v, P("startup"), "%s", opt_int(buf, sizeof(buf), in->has_startup, in->startup));
	vc_eq(v, P("cpuids"), "%s", int_set(buf, sizeof(buf), in->cpuids, in->n_cpuids));
	vc_int(v, P("memory (MB)"), in->memory);
	for (size_t i = 0; i < in->n_blocks; i++) {
		const struct alb_info_block *b = &in->blocks[i];
#define S(field) vc_path(v, "%s/block_devices/%zu/%s", base, i, field)
		vc_eq(v, S("unikernel_device"), "\"%.*s\"", (int)b->unikernel_device.len,
		      b->unikernel_device.ptr);
		vc_eq(v, S("host_device"), "\"%.*s\"", (int)b->host_device.len,
		      b->host_device.ptr);
		vc_int(v, S("sector_size"), b->sector_size);
		vc_int(v, S("size"), b->size);
#undef S
	}
	for (size_t i = 0; i < in->n_bridges; i++) {
		const struct alb_info_net *b = &in->bridges[i];
		char mac[32];
#define S(field) vc_path(v, "%s/bridges/%zu/%s", base, i, field)
		vc_eq(v, S("unikernel_device"), "\"%.*s\"", (int)b->unikernel_device.len,
		      b->unikernel_device.ptr);
		vc_eq(v, S("host_device"), "\"%.*s\"", (int)b->host_device.len,
		      b->host_device.ptr);
		vc_eq(v, S("mac"), "%s", mac_text(mac, sizeof(mac), b->mac));
#undef S
	}
	check_argv(v, base, in->has_argv, in->argv, in->n_argv);
	vc_prefix(v, P("digest"), "%zu bytes ", in->digest.len);
	vc_int(v, P("numcpus"), in->numcpus);
	vc_eq(v, P("linux_boot_partition"), "%s",
	      opt_str(buf, sizeof(buf), in->linux_boot_partition));
#undef P
}

static void check_policy(struct vc *v, const char *base, const struct alb_policy *p)
{
	char buf[1024];
#define P(field) vc_path(v, "%s/%s", base, field)
	vc_int(v, P("unikernels"), p->unikernels);
	vc_eq(v, P("cpuids"), "%s", int_set(buf, sizeof(buf), p->cpuids, p->n_cpuids));
	vc_int(v, P("memory (MB)"), p->memory);
	vc_eq(v, P("block (MB)"), "%s", opt_int(buf, sizeof(buf), p->has_block, p->block));
	size_t o = (size_t)snprintf(buf, sizeof(buf), "{");
	for (size_t i = 0; i < p->n_bridges && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%.*s\"", i ? ", " : "",
				      (int)p->bridges[i].len, p->bridges[i].ptr);
	if (o < sizeof(buf))
		snprintf(buf + o, sizeof(buf) - o, "}");
	vc_eq(v, P("bridges"), "%s", buf);
#undef P
}

static void check_stats(struct vc *v, const char *base, const struct alb_stats *s)
{
#define P(field) vc_path(v, "%s/%s", base, field)
	const struct alb_rusage *r = &s->rusage;
	vc_eq(v, P("rusage/utime"), "%lld s %lld us", (long long)r->utime.sec,
	      (long long)r->utime.usec);
	vc_eq(v, P("rusage/stime"), "%lld s %lld us", (long long)r->stime.sec,
	      (long long)r->stime.usec);
	const int64_t ru[] = {r->maxrss, r->ixrss,  r->idrss,   r->isrss,   r->minflt,
			      r->majflt, r->nswap,  r->inblock, r->oublock, r->msgsnd,
			      r->msgrcv, r->nsignals, r->nvcsw, r->nivcsw};
	static const char *const ru_names[] = {
		"maxrss",  "ixrss",  "idrss",  "isrss",    "minflt", "majflt", "nswap",
		"inblock", "outblock", "msgsnd", "msgrcv", "nsignals", "nvcsw", "nivcsw"};
	for (size_t i = 0; i < sizeof(ru) / sizeof(*ru); i++) {
		vc_int(v, vc_path(v, "%s/rusage/%s", base, ru_names[i]), ru[i]);
	}
	if (s->has_kinfo_mem) {
		vc_eq(v, P("kinfo_mem"), "Some:");
		vc_int(v, P("kinfo_mem/vsize"), s->kinfo_mem.vsize);
		vc_int(v, P("kinfo_mem/runtime"), s->kinfo_mem.runtime);
		vc_int(v, P("kinfo_mem/cow"), s->kinfo_mem.cow);
		vc_eq(v, P("kinfo_mem/start"), "%lld s %lld us",
		      (long long)s->kinfo_mem.start.sec, (long long)s->kinfo_mem.start.usec);
	}
	for (size_t i = 0; s->has_vmm && i < s->n_vmm; i++) {
		vc_int(v,
		       vc_path(v, "%s/vmm/\"%.*s\"", base, (int)s->vmm[i].key.len,
			       s->vmm[i].key.ptr),
		       s->vmm[i].value);
	}
	for (size_t i = 0; i < s->n_ifdata; i++) {
		const struct alb_ifdata *f = &s->ifdata[i];
#define S(field) vc_path(v, "%s/ifdata/%zu/%s", base, i, field)
		vc_eq(v, S("bridge"), "\"%.*s\"", (int)f->bridge.len, f->bridge.ptr);
		vc_int(v, S("flags"), f->flags);
		vc_int(v, S("mtu"), f->mtu);
		vc_int(v, S("baudrate"), f->baudrate);
		vc_int(v, S("input_bytes"), f->input_bytes);
		vc_int(v, S("output_dropped"), f->output_dropped);
#undef S
	}
	vc_absent(v, vc_path(v, "%s/ifdata/%zu", base, s->n_ifdata));
#undef P
}

/* The fields of a decoded wire message this test knows, against the .txt. */
static void check_msg(struct vc *v, const struct alb_msg *m)
{
	char buf[512];
	vc_prefix(v, "header/name", "\"%s\"", m->header.name);
	if (m->kind == ALB_PAYLOAD_COMMAND &&
	    (m->u.command.kind == ALB_CMD_UNIKERNEL_CREATE ||
	     m->u.command.kind == ALB_CMD_UNIKERNEL_FORCE_CREATE)) {
		snprintf(buf, sizeof(buf), "payload/unikernel_cmd/%s",
			 m->u.command.kind == ALB_CMD_UNIKERNEL_CREATE
				 ? "Unikernel_create"
				 : "Unikernel_force_create");
		check_config(v, buf, &m->u.command.u.create);
	}
	if (m->kind == ALB_PAYLOAD_SUCCESS && m->u.success.kind == ALB_REPLY_UNIKERNEL_INFO) {
		for (size_t i = 0; i < m->u.success.u.infos.n; i++) {
			snprintf(buf, sizeof(buf), "payload/Unikernel_info/%zu/name", i);
			vc_prefix(v, buf, "\"%s\"", m->u.success.u.infos.v[i].name);
			snprintf(buf, sizeof(buf), "payload/Unikernel_info/%zu/info", i);
			check_info(v, buf, &m->u.success.u.infos.v[i].info);
		}
	}
	if (m->kind == ALB_PAYLOAD_DATA && m->u.data.kind == ALB_DATA_STATS)
		check_stats(v, "payload/Stats_data", &m->u.data.u.stats);
}

static void check_state(struct vc *v, const struct alb_state *s)
{
	char buf[512];
	for (size_t i = 0; i < s->n_unikernels; i++) {
		snprintf(buf, sizeof(buf), "unikernels/%zu/name", i);
		vc_prefix(v, buf, "\"%s\"", s->unikernels[i].name);
		snprintf(buf, sizeof(buf), "unikernels/%zu/config", i);
		check_config(v, buf, &s->unikernels[i].config);
	}
	snprintf(buf, sizeof(buf), "unikernels/%zu", s->n_unikernels);
	vc_absent(v, buf);
	for (size_t i = 0; i < s->n_policies; i++) {
		snprintf(buf, sizeof(buf), "policies/%zu/name", i);
		vc_prefix(v, buf, "\"%s\"", s->policies[i].name);
		snprintf(buf, sizeof(buf), "policies/%zu/policy", i);
		check_policy(v, buf, &s->policies[i].policy);
	}
	snprintf(buf, sizeof(buf), "policies/%zu", s->n_policies);
	vc_absent(v, buf);
}

/* Every vector Albatross accepted: the unikernel configurations, infos,
 * statistics, state files and policies it holds, field by field against
 * the value its .txt shows. */
static void test_values(void **state)
{
	(void)state;
	struct vec_entry *e;
	size_t n = vec_manifest(dir, &e);
	size_t values = 0, fields = 0;
	for (size_t i = 0; i < n; i++) {
		if (vec_expect_of(e[i].expect) == VEC_ERROR)
			continue;
		size_t len = 0, tl = 0;
		uint8_t *b = vec_read_at(dir, e[i].file, &len);
		char *txt = vec_read_txt(dir, e[i].file, &tl);
		assert_non_null(b);
		assert_non_null(txt);
		struct vc v = {txt, e[i].name, 0, ""};
		if (strcmp(e[i].kind, "wire") == 0) {
			struct alb_msg *m;
			assert_int_equal(alb_msg_decode(b, len, 0, &m, NULL), 0);
			check_msg(&v, m);
			alb_msg_free(m);
		} else if (strcmp(e[i].kind, "state") == 0) {
			struct alb_state *s;
			assert_int_equal(alb_state_decode(b, len, 0, &s, NULL), 0);
			check_state(&v, s);
			alb_state_free(s);
		} else if (strcmp(e[i].kind, "cert") == 0) {
			struct alb_certext *c;
			assert_int_equal(alb_certext_decode(b, len, 0, &c, NULL), 0);
			if (c->command.kind == ALB_CMD_UNIKERNEL_CREATE)
				check_config(&v, "command/unikernel_cmd/Unikernel_create",
					     &c->command.u.create);
			alb_certext_free(c);
		}
		values += v.compared > 0;
		fields += v.compared;
		free(txt);
		free(b);
	}
	free(e);
	printf("%zu fields of %zu decoded values agree with their .txt\n", fields, values);
}

/* A decoded value borrows its byte strings from the input on request. */
static void test_borrow(void **state)
{
	(void)state;
	struct vec_entry *e;
	size_t n = vec_manifest(dir, &e);
	size_t borrowed = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].kind, "wire") != 0 || vec_expect_of(e[i].expect) == VEC_ERROR)
			continue;
		size_t len = 0;
		uint8_t *b = vec_read_at(dir, e[i].file, &len);
		struct alb_msg *m;
		assert_int_equal(alb_msg_decode(b, len, ALB_DECODE_BORROW, &m, NULL), 0);
		const struct alb_bytes *bytes = NULL;
		if (m->kind == ALB_PAYLOAD_SUCCESS &&
		    m->u.success.kind == ALB_REPLY_UNIKERNEL_INFO && m->u.success.u.infos.n > 0)
			bytes = &m->u.success.u.infos.v[0].info.digest;
		if (m->kind == ALB_PAYLOAD_COMMAND &&
		    m->u.command.kind == ALB_CMD_UNIKERNEL_CREATE)
			bytes = &m->u.command.u.create.image;
		if (bytes != NULL && bytes->len > 0) {
			assert_true(bytes->ptr >= b && bytes->ptr + bytes->len <= b + len);
			borrowed++;
		}
		alb_msg_free(m);
		free(b);
	}
	free(e);
	printf("%zu decoded values borrow their bytes from the input\n", borrowed);
}

int main(void)
{
	dir = vec_dir();
	if (!vec_present(dir))
		return VEC_SKIP;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_transcripts),
		cmocka_unit_test(test_own_vectors),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_borrow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
