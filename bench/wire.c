/* bench-wire: encode and decode rates of the wire codec, on one core, for
 * (a) the info request, (b) an info reply listing 1,000 unikernels and
 * (c) a create command carrying a 16 MiB image; and how many times the
 * image bytes of (c) are copied.
 *
 * Rates are the best of ROUNDS rounds of at least ROUND_SECONDS each (the
 * least disturbed by other processes). Copies are measured, not assumed:
 * this program defines memcpy, so every memcpy call of the library comes
 * here and is counted while a measurement is open.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "albatross/wire.h"

#define ROUNDS 5
#define ROUND_SECONDS 0.2
#define INFO_UNIKERNELS 1000
#define IMAGE_BYTES (16u << 20)
/* The decode rate the info request should reach on one core. */
#define TARGET_DECODES_PER_S 5e6

/* ---- counting memcpy ------------------------------------------------------- */

static bool counting;
static uint64_t copied;
/* libc's memmove does the copying; called through a volatile pointer so
 * that the compiler cannot turn it back into a call of memcpy. */
static void *(*volatile real_move)(void *, const void *, size_t) = memmove;

void *memcpy(void *dst, const void *src, size_t n)
{
	if (counting)
		copied += n;
	return real_move(dst, src, n);
}

static void count_start(void)
{
	copied = 0;
	counting = true;
}

static uint64_t count_stop(void)
{
	counting = false;
	return copied;
}

/* ---- timing ------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const struct alb_error *err)
{
	fprintf(stderr, "bench-wire: %s: %s\n", what, err->msg);
	exit(1);
}

enum op { OP_ENCODE, OP_DECODE, OP_DECODE_BORROW };

static void run_once(enum op op, const struct alb_msg *m, const struct alb_buf *der)
{
	struct alb_error err;
	if (op == OP_ENCODE) {
		struct alb_buf out = {0};
		if (alb_msg_encode(m, 0, &out, &err) != 0)
			die("encode", &err);
		alb_buf_free(&out);
	} else {
		struct alb_msg *d;
		unsigned flags = op == OP_DECODE_BORROW ? ALB_DECODE_BORROW : 0;
		if (alb_msg_decode(der->data, der->len, flags, &d, &err) != 0)
			die("decode", &err);
		alb_msg_free(d);
	}
}

/* Operations per second: the best of ROUNDS rounds. */
static double rate(enum op op, const struct alb_msg *m, const struct alb_buf *der)
{
	double best = 0;
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t n = 0, batch = 1;
		double t0 = now(), t;
		do {
			for (uint64_t i = 0; i < batch; i++)
				run_once(op, m, der);
			n += batch;
			batch *= 2;
			t = now() - t0;
		} while (t < ROUND_SECONDS);
		if (n / t > best)
			best = (double)n / t;
	}
	return best;
}

static void report(const char *name, const struct alb_msg *m, bool borrow)
{
	struct alb_buf der = {0};
	struct alb_error err;
	if (alb_msg_encode(m, 0, &der, &err) != 0)
		die("encode", &err);
	double mb = (double)der.len / 1e6;
	printf("%s (%zu bytes)\n", name, der.len);
	double e = rate(OP_ENCODE, m, &der);
	printf("  encode          %12.0f msg/s  %9.1f MB/s\n", e, e * mb);
	double d = rate(OP_DECODE, m, &der);
	printf("  decode          %12.0f msg/s  %9.1f MB/s\n", d, d * mb);
	if (borrow) {
		double b = rate(OP_DECODE_BORROW, m, &der);
		printf("  decode, borrow  %12.0f msg/s  %9.1f MB/s\n", b, b * mb);
	}
	alb_buf_free(&der);
}

/* ---- the messages ------------------------------------------------------------------ */

static struct alb_msg message(const char *name, enum alb_payload_kind kind)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.name = name;
	m.kind = kind;
	return m;
}

#define STR(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

/* An info reply as albd sends it for a tenant running n unikernels, each
 * with a block device, two networks and three arguments. */
static struct alb_msg info_reply(size_t n, struct alb_named_info **keep)
{
	static int64_t cpus[4] = {0, 1, 2, 3};
	static uint8_t digest[32];
	static struct alb_info_block block = {STR("storage"), STR("tenant:db"), 512, 128};
	static struct alb_info_net nets[2] = {
		{STR("service"), STR("br0"), {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}},
		{STR("management"), STR("br1"), {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02}}};
	static struct alb_str argv[3] = {STR("--ipv4=10.0.0.2/24"),
					 STR("--ipv4-gateway=10.0.0.1"), STR("-l *:info")};
	memset(digest, 0xab, sizeof(digest));
	struct alb_named_info *v = calloc(n, sizeof(*v));
	char *names = calloc(n, 32);
	if (v == NULL || names == NULL) {
		fprintf(stderr, "bench-wire: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(names + 32 * i, 32, "tenant:uk%04zu", i);
		v[i].name = names + 32 * i;
		struct alb_unikernel_info *u = &v[i].info;
		u->typ = ALB_TYP_SOLO5;
		u->n_cpuids = 1;
		u->cpuids = &cpus[i % 4];
		u->memory = 64;
		u->digest = (struct alb_bytes){digest, sizeof(digest)};
		u->n_blocks = 1;
		u->blocks = &block;
		u->n_bridges = 2;
		u->bridges = nets;
		u->has_argv = true;
		u->n_argv = 3;
		u->argv = argv;
		u->started = (struct alb_time){1700000000 + (int64_t)i, 123000000};
		u->numcpus = 1;
	}
	struct alb_msg m = message("tenant:", ALB_PAYLOAD_SUCCESS);
	m.u.success.kind = ALB_REPLY_UNIKERNEL_INFO;
	m.u.success.u.infos.n = n;
	m.u.success.u.infos.v = v;
	*keep = v;
	return m;
}

/* ---- copies of the image ---------------------------------------------------------- */

static void copies(const struct alb_msg *m, size_t image)
{
	struct alb_buf der = {0};
	struct alb_error err;
	count_start();
	int rc = alb_msg_encode(m, ALB_ENCODE_FRAMED, &der, &err);
	uint64_t enc = count_stop();
	if (rc != 0)
		die("encode", &err);
	struct alb_msg *d;
	count_start();
	rc = alb_msg_decode(der.data + 4, der.len - 4, 0, &d, &err);
	uint64_t dec = count_stop();
	if (rc != 0)
		die("decode", &err);
	alb_msg_free(d);
	count_start();
	rc = alb_msg_decode(der.data + 4, der.len - 4, ALB_DECODE_BORROW, &d, &err);
	uint64_t bor = count_stop();
	if (rc != 0)
		die("decode", &err);
	/* with borrowing the image is the input's own bytes */
	const uint8_t *p = d->u.command.u.create.image.ptr;
	bool inside = p >= der.data && p + image <= der.data + der.len;
	alb_msg_free(d);
	printf("image copies (memcpy bytes / image bytes, framed encode):\n");
	printf("  encode          %.2f  (%" PRIu64 " bytes; builder allocated %zu bytes "
	       "for a %zu-byte frame)\n",
	       (double)enc / (double)image, enc, der.cap_, der.len);
	printf("  decode          %.2f  (%" PRIu64 " bytes)\n", (double)dec / (double)image,
	       dec);
	printf("  decode, borrow  %.2f  (%" PRIu64 " bytes; image %s the input)\n",
	       (double)bor / (double)image, bor, inside ? "points into" : "is outside");
	alb_buf_free(&der);
}

int main(void)
{
	struct alb_msg a = message("foo:bar", ALB_PAYLOAD_COMMAND);
	a.u.command.kind = ALB_CMD_UNIKERNEL_INFO;

	struct alb_named_info *infos;
	struct alb_msg b = info_reply(INFO_UNIKERNELS, &infos);

	uint8_t *image = malloc(IMAGE_BYTES);
	if (image == NULL) {
		fprintf(stderr, "bench-wire: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < IMAGE_BYTES; i++)
		image[i] = (uint8_t)(i * 131u >> 7);
	static int64_t cpu0;
	struct alb_msg c = message("tenant:hello", ALB_PAYLOAD_COMMAND);
	c.u.command.kind = ALB_CMD_UNIKERNEL_CREATE;
	c.u.command.u.create = (struct alb_unikernel_config){
		.image = {image, IMAGE_BYTES}, .add_name = true, .n_cpuids = 1,
		.cpuids = &cpu0, .memory = 512, .numcpus = 1};

	printf("bench-wire: one core, best of %d rounds of >= %.1f s\n", ROUNDS,
	       ROUND_SECONDS);
	report("(a) info request", &a, false);
	report("(b) info reply, 1000 unikernels", &b, false);
	report("(c) create with a 16 MiB image", &c, true);
	copies(&c, IMAGE_BYTES);

	struct alb_buf der = {0};
	struct alb_error err;
	if (alb_msg_encode(&a, 0, &der, &err) != 0)
		die("encode", &err);
	double d = rate(OP_DECODE, &a, &der);
	printf("target: >= %.0f decodes/s of (a) on one core: %s (%.0f)\n",
	       TARGET_DECODES_PER_S, d >= TARGET_DECODES_PER_S ? "met" : "MISSED", d);
	alb_buf_free(&der);
	free(image);
	free((void *)infos[0].name);
	free(infos);
	return 0;
}
