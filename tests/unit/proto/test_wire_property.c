/* Property test of the wire codec: seeded random values of every command,
 * reply and data message, of state files and of certificate extensions.
 * For each value v: encode(v) decodes to a value equal to v (SET OF fields
 * compared as sets), and encoding that value again gives the same bytes.
 * The seed is printed; ALB_SEED=<n> replays a run.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "albatross/name.h"
#include "albatross/state.h"
#include "albatross/wire.h"
#include "asn1/der.h"
#include "base/internal.h"

/* Cases per run of each family (about 3 s in all under ASan). */
#define MSG_CASES 20000
#define STATE_CASES 1000
#define CERT_CASES 5000
/* The longest random string or byte string: 64 KiB, at most once a case. */
#define LONG_LEN (64 * 1024)
/* The most devices (blocks, bridges, interfaces) in one value. */
#define MAX_DEVICES 64
/* A long argument vector. */
#define LONG_ARGV 300
/* Most unikernels and policies in a random state file. */
#define MAX_STATE_ENTRIES 12
/* The range of a GeneralizedTime (4-digit years), in seconds since the
 * epoch: 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define TIME_MIN INT64_C(-62167219200)
#define TIME_MAX INT64_C(253402300799)

/* ---- random numbers (splitmix64) ------------------------------------- */

static uint64_t seed;
static uint64_t rng;

static uint64_t next(void)
{
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return n == 0 ? 0 : next() % n;
}

static bool chance(unsigned percent)
{
	return below(100) < percent;
}

/* Each family starts from its own stream so that a replay of one test
 * does not depend on the others. */
static void reseed(uint64_t family)
{
	rng = seed ^ (family * UINT64_C(0x2545f4914f6cdd1d));
}

/* ---- memory of generated values, freed after each case ---------------- */

static void **pool;
static size_t pool_n, pool_cap;
/* A 64 KiB string may be generated once per case. */
static bool long_left;

static void *gen_alloc(size_t n)
{
	if (pool_n == pool_cap) {
		pool_cap = pool_cap ? 2 * pool_cap : 256;
		pool = realloc(pool, pool_cap * sizeof(*pool));
		assert_non_null(pool);
	}
	void *p = calloc(1, n > 0 ? n : 1);
	assert_non_null(p);
	pool[pool_n++] = p;
	return p;
}

static void pool_reset(void)
{
	for (size_t i = 0; i < pool_n; i++)
		free(pool[i]);
	pool_n = 0;
	long_left = true;
}

static void pool_release(void)
{
	pool_reset();
	free(pool);
	pool = NULL;
	pool_cap = 0;
}

/* ---- scalars ----------------------------------------------------------- */

/* An OCaml int (63 bits): edges often, otherwise any width. */
static int64_t gen_int(void)
{
	static const int64_t edges[] = {
		0, 1, -1, 127, 128, -128, -129, 255, 256, 32767, 32768, -32768,
		-32769, INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1,
		ALB_DER_INT_MAX, ALB_DER_INT_MIN, ALB_DER_INT_MAX - 1,
		ALB_DER_INT_MIN + 1, (int64_t)1 << 55, -((int64_t)1 << 55) - 1};
	if (chance(30))
		return edges[below(ALB_ARRAY_LEN(edges))];
	unsigned bits = 1 + (unsigned)below(62);
	int64_t v = (int64_t)(next() >> (64 - bits));
	return chance(50) ? v : -v - 1;
}

static int64_t gen_int64(void)
{
	static const int64_t edges[] = {0, 1, -1, INT64_MAX, INT64_MIN,
					INT64_MAX - 1, INT64_MIN + 1, 0x0102030405060708};
	if (chance(30))
		return edges[below(ALB_ARRAY_LEN(edges))];
	return (int64_t)(next() >> below(64));
}

static int32_t gen_int32(void)
{
	static const int32_t edges[] = {0, 1, -1, INT32_MAX, INT32_MIN, 1500, 9000};
	if (chance(30))
		return edges[below(ALB_ARRAY_LEN(edges))];
	return (int32_t)(uint32_t)(next() >> below(33));
}

/* How many elements a list gets: often none or few, sometimes up to
 * MAX_DEVICES, sometimes exactly that many. */
static size_t gen_count(void)
{
	unsigned r = (unsigned)below(100);
	if (r < 25)
		return 0;
	if (r < 85)
		return 1 + below(4);
	if (r < 95)
		return 5 + below(MAX_DEVICES - 5);
	return MAX_DEVICES;
}

/* ---- strings ------------------------------------------------------------ */

static size_t gen_len(void)
{
	/* lengths where the DER length form changes */
	static const size_t edges[] = {127, 128, 255, 256};
	if (long_left && chance(2)) {
		long_left = false;
		return chance(50) ? LONG_LEN : LONG_LEN - 1 - below(300);
	}
	if (chance(4))
		return edges[below(ALB_ARRAY_LEN(edges))];
	return below(24);
}

static struct alb_bytes gen_bytes(void)
{
	size_t n = gen_len();
	uint8_t *p = gen_alloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next();
	return (struct alb_bytes){p, n};
}

/* A present string: ASCII, UTF-8 with multi-byte characters, arbitrary
 * bytes (NUL included, UTF8String is not validated) or empty. */
static struct alb_str gen_str(void)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "-", "=", "é", "ü", "Ω", "日本", "🐫", "\xe2\x80\x8b",
		"--ipv4=10.0.0.2/24", "ß"};
	size_t n = gen_len();
	char *s = gen_alloc(n + 1);
	unsigned mode = (unsigned)below(4);
	size_t i = 0;
	while (i < n) {
		if (mode == 0) {
			s[i++] = (char)(' ' + below(95));
		} else if (mode == 1) {
			const char *p = pieces[below(ALB_ARRAY_LEN(pieces))];
			size_t k = strlen(p);
			if (k > n - i)
				k = n - i;
			memcpy(s + i, p, k);
			i += k;
		} else {
			s[i++] = (char)next();
		}
	}
	s[n] = '\0';
	return (struct alb_str){s, n};
}

/* An optional string: absent (NULL), present and empty, or present. */
static struct alb_str gen_opt_str(void)
{
	if (chance(40))
		return (struct alb_str){NULL, 0};
	if (chance(10))
		return (struct alb_str){"", 0};
	return gen_str();
}

/* ---- names --------------------------------------------------------------- */

static void gen_label(char *out, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789.-";
	for (size_t i = 0; i < len; i++)
		out[i] = chars[below(i == 0 ? sizeof(chars) - 2 : sizeof(chars) - 1)];
}

enum name_want { NAME_ANY, NAME_PATH, NAME_LABELLED };

/* A canonical name of every shape: root ":", a path "a:b:", a root-level
 * name ":a", a name with a path "a:b:c", deep names, 63-byte labels, and
 * names exactly ALB_NAME_MAX bytes long. */
static const char *gen_name(enum name_want want)
{
	bool path = want == NAME_PATH || (want == NAME_ANY && chance(40));
	size_t depth, lens[ALB_NAME_MAX / 2];
	unsigned shape = (unsigned)below(100);
	if (shape < 5) {
		/* exactly ALB_NAME_MAX: 15 labels of 63 bytes and a last one */
		depth = 16;
		for (size_t i = 0; i < 15; i++)
			lens[i] = ALB_LABEL_MAX;
		lens[15] = path ? ALB_LABEL_MAX - 1 : ALB_LABEL_MAX;
	} else {
		depth = shape < 15 ? 4 + below(12) : below(4);
		if (!path && depth == 0)
			depth = 1;
		for (size_t i = 0; i < depth; i++)
			lens[i] = chance(15) ? ALB_LABEL_MAX : 1 + below(12);
	}
	char *s = gen_alloc(ALB_NAME_BUF + ALB_LABEL_MAX + 2);
	size_t n = 0;
	if (depth == 0) {
		s[n++] = ':';
	} else if (!path && depth == 1) {
		s[n++] = ':';
		gen_label(s + n, lens[0]);
		n += lens[0];
	} else {
		for (size_t i = 0; i < depth; i++) {
			/* drop labels that would pass the length limit */
			if (n + (i > 0) + lens[i] + path > ALB_NAME_MAX)
				break;
			if (i > 0)
				s[n++] = ':';
			gen_label(s + n, lens[i]);
			n += lens[i];
		}
		if (path)
			s[n++] = ':';
	}
	s[n] = '\0';
	/* the generator makes canonical names only */
	char canon[ALB_NAME_BUF];
	if (alb_name_parse(s, n, canon, NULL) != 0 || strcmp(canon, s) != 0)
		fail_msg("generated name %s is not canonical", s);
	return s;
}

/* ---- structured values ------------------------------------------------------ */

static struct alb_time gen_time(void)
{
	static const int64_t edges[] = {0, -1, TIME_MIN, TIME_MAX, 951782400,
					1709209696};
	struct alb_time t;
	t.sec = chance(20) ? edges[below(ALB_ARRAY_LEN(edges))]
			   : TIME_MIN + (int64_t)below((uint64_t)(TIME_MAX - TIME_MIN + 1));
	/* milliseconds only: finer fractions are lossy by design */
	t.nsec = chance(50) ? 0 : (uint32_t)below(1000) * 1000000u;
	return t;
}

static int64_t *gen_ints(size_t n, bool small)
{
	int64_t *v = gen_alloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i] = small && chance(70) ? (int64_t)below(300) - 2 : gen_int();
		/* duplicates collapse in sets */
		if (i > 0 && chance(10))
			v[i] = v[below(i)];
	}
	return v;
}

static struct alb_str *gen_strs(size_t n)
{
	struct alb_str *v = gen_alloc(n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = i > 0 && chance(5) ? v[below(i)] : gen_str();
	return v;
}

static struct alb_fail gen_fail(void)
{
	struct alb_fail f = {0};
	f.restart = chance(50);
	if (f.restart) {
		f.n_exit_codes = gen_count();
		f.exit_codes = gen_ints(f.n_exit_codes, true);
	}
	return f;
}

static void gen_argv(bool *has, size_t *n, struct alb_str **argv)
{
	unsigned r = (unsigned)below(100);
	*has = r >= 30;
	*n = r < 45 ? 0 : r < 95 ? 1 + below(8) : LONG_ARGV;
	*argv = gen_strs(*n);
}

static void gen_mac(uint8_t mac[ALB_MAC_LEN])
{
	for (size_t i = 0; i < ALB_MAC_LEN; i++)
		mac[i] = (uint8_t)next();
}

/* A configuration; for restart arguments typ, compressed and image are
 * not on the wire and stay at their defaults. */
static void gen_config(struct alb_unikernel_config *c, bool args)
{
	memset(c, 0, sizeof(*c));
	if (!args) {
		c->typ = chance(50) ? ALB_TYP_SOLO5 : ALB_TYP_BHYVE;
		c->compressed = chance(50);
		c->image = gen_bytes();
	}
	c->has_startup = chance(50);
	if (c->has_startup)
		c->startup = gen_int();
	c->add_name = chance(50);
	c->fail = gen_fail();
	c->n_cpuids = gen_count();
	c->cpuids = gen_ints(c->n_cpuids, true);
	c->memory = gen_int();
	c->n_blocks = gen_count();
	c->blocks = gen_alloc(c->n_blocks * sizeof(*c->blocks));
	for (size_t i = 0; i < c->n_blocks; i++) {
		struct alb_block_dev *b = &c->blocks[i];
		if (i > 0 && chance(5)) {
			*b = c->blocks[below(i)];
			continue;
		}
		b->name = gen_str();
		b->device = gen_opt_str();
		b->has_sector_size = chance(50);
		if (b->has_sector_size)
			b->sector_size = chance(50) ? 512 : gen_int();
	}
	c->n_bridges = gen_count();
	c->bridges = gen_alloc(c->n_bridges * sizeof(*c->bridges));
	for (size_t i = 0; i < c->n_bridges; i++) {
		struct alb_net_dev *b = &c->bridges[i];
		b->netif = gen_str();
		b->bridge = gen_opt_str();
		b->has_mac = chance(50);
		if (b->has_mac)
			gen_mac(b->mac);
	}
	gen_argv(&c->has_argv, &c->n_argv, &c->argv);
	c->numcpus = chance(50) ? 1 : gen_int();
	c->linux_boot_partition = gen_opt_str();
}

static struct alb_policy gen_policy(void)
{
	struct alb_policy p = {0};
	p.unikernels = gen_int();
	p.n_cpuids = gen_count();
	p.cpuids = gen_ints(p.n_cpuids, true);
	p.memory = gen_int();
	p.has_block = chance(50);
	if (p.has_block)
		p.block = gen_int();
	p.n_bridges = gen_count();
	p.bridges = gen_strs(p.n_bridges);
	return p;
}

/* Unikernel info in one of the reply grammars: the old ones hold one CPU
 * id, no CPU count and no boot partition, and [9] has no startup. */
static void gen_info(struct alb_unikernel_info *info, enum alb_reply_kind k)
{
	bool old = k != ALB_REPLY_UNIKERNEL_INFO;
	memset(info, 0, sizeof(*info));
	info->typ = chance(50) ? ALB_TYP_SOLO5 : ALB_TYP_BHYVE;
	info->has_startup = k != ALB_REPLY_OLD_UNIKERNEL_INFO4 && chance(50);
	if (info->has_startup)
		info->startup = gen_int();
	info->fail = gen_fail();
	info->n_cpuids = old ? 1 : gen_count();
	info->cpuids = gen_ints(info->n_cpuids, true);
	info->memory = gen_int();
	info->digest = gen_bytes();
	info->n_blocks = gen_count();
	info->blocks = gen_alloc(info->n_blocks * sizeof(*info->blocks));
	for (size_t i = 0; i < info->n_blocks; i++) {
		info->blocks[i].unikernel_device = gen_str();
		info->blocks[i].host_device = gen_str();
		info->blocks[i].sector_size = gen_int();
		info->blocks[i].size = gen_int();
	}
	info->n_bridges = gen_count();
	info->bridges = gen_alloc(info->n_bridges * sizeof(*info->bridges));
	for (size_t i = 0; i < info->n_bridges; i++) {
		info->bridges[i].unikernel_device = gen_str();
		info->bridges[i].host_device = gen_str();
		gen_mac(info->bridges[i].mac);
	}
	gen_argv(&info->has_argv, &info->n_argv, &info->argv);
	info->started = gen_time();
	info->numcpus = old || chance(50) ? 1 : gen_int();
	if (!old)
		info->linux_boot_partition = gen_opt_str();
}

static struct alb_timeval gen_timeval(void)
{
	return (struct alb_timeval){gen_int64(), gen_int()};
}

static void gen_stats(struct alb_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct alb_rusage *ru = &st->rusage;
	ru->utime = gen_timeval();
	ru->stime = gen_timeval();
	int64_t *f[] = {&ru->maxrss, &ru->ixrss, &ru->idrss, &ru->isrss,
			&ru->minflt, &ru->majflt, &ru->nswap, &ru->inblock,
			&ru->oublock, &ru->msgsnd, &ru->msgrcv, &ru->nsignals,
			&ru->nvcsw, &ru->nivcsw};
	for (size_t i = 0; i < ALB_ARRAY_LEN(f); i++)
		*f[i] = gen_int64();
	st->n_ifdata = gen_count();
	st->ifdata = gen_alloc(st->n_ifdata * sizeof(*st->ifdata));
	for (size_t i = 0; i < st->n_ifdata; i++) {
		struct alb_ifdata *d = &st->ifdata[i];
		d->bridge = gen_str();
		d->flags = gen_int32();
		d->send_length = gen_int32();
		d->max_send_length = gen_int32();
		d->send_drops = gen_int32();
		d->mtu = gen_int32();
		int64_t *g[] = {&d->baudrate, &d->input_packets, &d->input_errors,
				&d->output_packets, &d->output_errors, &d->collisions,
				&d->input_bytes, &d->output_bytes, &d->input_mcast,
				&d->output_mcast, &d->input_dropped, &d->output_dropped};
		for (size_t j = 0; j < ALB_ARRAY_LEN(g); j++)
			*g[j] = gen_int64();
	}
	st->has_vmm = chance(60);
	if (st->has_vmm) {
		st->n_vmm = gen_count();
		st->vmm = gen_alloc(st->n_vmm * sizeof(*st->vmm));
		for (size_t i = 0; i < st->n_vmm; i++)
			st->vmm[i] = (struct alb_vmm_stat){gen_str(), gen_int64()};
	}
	st->has_kinfo_mem = chance(60);
	if (st->has_kinfo_mem) {
		struct alb_kinfo_mem *k = &st->kinfo_mem;
		int64_t *g[] = {&k->vsize, &k->rss, &k->tsize, &k->dsize, &k->ssize,
				&k->runtime};
		for (size_t j = 0; j < ALB_ARRAY_LEN(g); j++)
			*g[j] = gen_int64();
		k->cow = gen_int();
		k->start = gen_timeval();
	}
}

/* Every command kind, with random contents. */
static void gen_command(struct alb_command *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = (enum alb_cmd_kind)below(ALB_CMD_OLD_BLOCK_DUMP + 1);
	switch (c->kind) {
	case ALB_CMD_CONSOLE_ADD:
		c->u.console_add = gen_int();
		break;
	case ALB_CMD_CONSOLE_SUBSCRIBE:
		c->u.subscribe.since = chance(50);
		if (c->u.subscribe.since)
			c->u.subscribe.time = gen_time();
		else
			c->u.subscribe.count = gen_int();
		break;
	case ALB_CMD_STATS_ADD:
		c->u.stats_add.vmmdev = gen_str();
		c->u.stats_add.pid = gen_int();
		c->u.stats_add.n_taps = gen_count();
		c->u.stats_add.taps = gen_alloc(c->u.stats_add.n_taps *
						sizeof(*c->u.stats_add.taps));
		for (size_t i = 0; i < c->u.stats_add.n_taps; i++)
			c->u.stats_add.taps[i] = (struct alb_stats_tap){gen_str(), gen_str()};
		break;
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		gen_config(&c->u.create, false);
		break;
	case ALB_CMD_UNIKERNEL_GET:
	case ALB_CMD_BLOCK_DUMP:
	case ALB_CMD_OLD_BLOCK_DUMP:
		c->u.level = gen_int();
		break;
	case ALB_CMD_UNIKERNEL_RESTART:
		c->u.restart.has_args = chance(70);
		if (c->u.restart.has_args)
			gen_config(&c->u.restart.args, true);
		break;
	case ALB_CMD_POLICY_ADD:
		c->u.policy = gen_policy();
		break;
	case ALB_CMD_BLOCK_ADD:
		c->u.block_size = gen_int();
		break;
	case ALB_CMD_BLOCK_SET:
		c->u.block_compressed = chance(50);
		break;
	case ALB_CMD_OLD_BLOCK_ADD:
		c->u.old_block_add.size = gen_int();
		c->u.old_block_add.compressed = chance(50);
		c->u.old_block_add.has_data = chance(50);
		if (c->u.old_block_add.has_data)
			c->u.old_block_add.data = gen_bytes();
		break;
	case ALB_CMD_OLD_BLOCK_SET:
		c->u.old_block_set.compressed = chance(50);
		c->u.old_block_set.data = gen_bytes();
		break;
	default:
		/* the kinds without contents */
		break;
	}
}

static void gen_reply(struct alb_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = (enum alb_reply_kind)below(ALB_REPLY_UNIKERNEL_INFO + 1);
	size_t n;
	switch (r->kind) {
	case ALB_REPLY_STRING:
		r->u.string = gen_str();
		break;
	case ALB_REPLY_POLICIES:
		n = r->u.policies.n = gen_count();
		r->u.policies.v = gen_alloc(n * sizeof(*r->u.policies.v));
		for (size_t i = 0; i < n; i++)
			r->u.policies.v[i] = (struct alb_named_policy){gen_name(NAME_PATH),
								       gen_policy()};
		break;
	case ALB_REPLY_BLOCK_DEVICES:
		n = r->u.blocks.n = gen_count();
		r->u.blocks.v = gen_alloc(n * sizeof(*r->u.blocks.v));
		for (size_t i = 0; i < n; i++)
			r->u.blocks.v[i] = (struct alb_block_info){
				gen_name(NAME_LABELLED), gen_int(), chance(50)};
		break;
	case ALB_REPLY_UNIKERNEL_IMAGE:
	case ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE:
		r->u.image.compressed = chance(50);
		r->u.image.data = gen_bytes();
		break;
	case ALB_REPLY_BLOCK_DEVICE_IMAGE:
		r->u.block_compressed = chance(50);
		break;
	case ALB_REPLY_CONSOLES:
		n = r->u.consoles.n = gen_count();
		r->u.consoles.v = gen_alloc(n * sizeof(*r->u.consoles.v));
		for (size_t i = 0; i < n; i++)
			r->u.consoles.v[i] = gen_name(NAME_ANY);
		break;
	case ALB_REPLY_OLD_UNIKERNEL_INFO4:
	case ALB_REPLY_OLD_UNIKERNEL_INFO5:
	case ALB_REPLY_UNIKERNEL_INFO:
		n = r->u.infos.n = gen_count() / 4;
		r->u.infos.v = gen_alloc(n * sizeof(*r->u.infos.v));
		for (size_t i = 0; i < n; i++) {
			r->u.infos.v[i].name = gen_name(NAME_ANY);
			gen_info(&r->u.infos.v[i].info, r->kind);
		}
		break;
	case ALB_REPLY_EMPTY:
		break;
	}
}

static void gen_data(struct alb_data *x)
{
	memset(x, 0, sizeof(*x));
	x->kind = (enum alb_data_kind)below(ALB_DATA_BLOCK + 1);
	switch (x->kind) {
	case ALB_DATA_STATS:
		gen_stats(&x->u.stats);
		break;
	case ALB_DATA_CONSOLE:
		x->u.console.time = gen_time();
		x->u.console.line = gen_str();
		break;
	case ALB_DATA_BLOCK:
		x->u.block.has_data = chance(80);
		if (x->u.block.has_data)
			x->u.block.data = gen_bytes();
		break;
	}
}

static void gen_msg(struct alb_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->header.version = ALB_WIRE_VERSION;
	m->header.sequence = gen_int64();
	m->header.name = gen_name(NAME_ANY);
	m->kind = (enum alb_payload_kind)below(ALB_PAYLOAD_DATA + 1);
	switch (m->kind) {
	case ALB_PAYLOAD_COMMAND:
		gen_command(&m->u.command);
		break;
	case ALB_PAYLOAD_SUCCESS:
		gen_reply(&m->u.success);
		break;
	case ALB_PAYLOAD_FAILURE:
		m->u.failure = gen_str();
		break;
	case ALB_PAYLOAD_DATA:
		gen_data(&m->u.data);
		break;
	}
}

/* ---- deep equality ------------------------------------------------------------
 * Each eq_* returns true when equal; on a difference `why` names the
 * innermost check that failed (its source line and expression). Callers
 * clear `why` before comparing. */

static const char *why;
static int why_line;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			if (why == NULL) {                                 \
				why = #cond;                               \
				why_line = __LINE__;                       \
			}                                                  \
			return false;                                      \
		}                                                          \
	} while (0)

static bool eq_str(const struct alb_str *a, const struct alb_str *b)
{
	CHECK((a->ptr == NULL) == (b->ptr == NULL));
	CHECK(a->len == b->len);
	CHECK(a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
	/* decoded strings are NUL-terminated for convenience */
	CHECK(b->ptr == NULL || b->ptr[b->len] == '\0');
	return true;
}

static bool eq_bytes(const struct alb_bytes *a, const struct alb_bytes *b)
{
	CHECK(a->len == b->len);
	CHECK(a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
	const struct alb_str *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n > 0 ? memcmp(x->ptr, y->ptr, n) : 0;
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sorts a copy of v and drops duplicates: the set v denotes. */
static size_t as_set(const void *v, size_t n, size_t size,
		     int (*cmp)(const void *, const void *), char *out)
{
	if (n == 0)
		return 0;
	memcpy(out, v, n * size);
	qsort(out, n, size, cmp);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (cmp(out + (k - 1) * size, out + i * size) != 0)
			memmove(out + k++ * size, out + i * size, size);
	return k;
}

/* Two lists denote the same set. */
static bool eq_set(const void *a, size_t na, const void *b, size_t nb, size_t size,
		   int (*cmp)(const void *, const void *))
{
	char *x = malloc(na * size + 1), *y = malloc(nb * size + 1);
	assert_true(x != NULL && y != NULL);
	size_t kx = as_set(a, na, size, cmp, x), ky = as_set(b, nb, size, cmp, y);
	bool eq = kx == ky;
	for (size_t i = 0; eq && i < kx; i++)
		eq = cmp(x + i * size, y + i * size) == 0;
	free(x);
	free(y);
	CHECK(eq);
	return true;
}

static bool eq_int_set(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
	return eq_set(a, na, b, nb, sizeof(*a), cmp_i64);
}

/* Two lists hold the same elements the same number of times, in any order
 * (a SET OF that keeps duplicates). */
static bool eq_multiset(const void *a, size_t na, const void *b, size_t nb,
			size_t size, bool (*eq)(const void *, const void *))
{
	CHECK(na == nb);
	bool *used = calloc(nb + 1, sizeof(*used));
	assert_non_null(used);
	bool ok = true;
	for (size_t i = 0; ok && i < na; i++) {
		ok = false;
		for (size_t j = 0; !ok && j < nb; j++) {
			if (used[j])
				continue;
			ok = eq((const char *)a + i * size, (const char *)b + j * size);
			used[j] = ok;
			/* a candidate that differs is no finding yet */
			if (!ok)
				why = NULL;
		}
	}
	free(used);
	CHECK(ok && "an element has no equal in the other set");
	return true;
}

static bool eq_str_list(const struct alb_str *a, size_t na, const struct alb_str *b,
			size_t nb)
{
	CHECK(na == nb);
	for (size_t i = 0; i < na; i++)
		if (!eq_str(&a[i], &b[i]))
			return false;
	return true;
}

static bool eq_fail(const struct alb_fail *a, const struct alb_fail *b)
{
	CHECK(a->restart == b->restart);
	return eq_int_set(a->exit_codes, a->n_exit_codes, b->exit_codes, b->n_exit_codes);
}

static bool eq_block_dev(const void *pa, const void *pb)
{
	const struct alb_block_dev *a = pa, *b = pb;
	CHECK(eq_str(&a->name, &b->name));
	CHECK(eq_str(&a->device, &b->device));
	CHECK(a->has_sector_size == b->has_sector_size);
	CHECK(!a->has_sector_size || a->sector_size == b->sector_size);
	return true;
}

static bool eq_net_dev(const void *pa, const void *pb)
{
	const struct alb_net_dev *a = pa, *b = pb;
	CHECK(eq_str(&a->netif, &b->netif));
	CHECK(eq_str(&a->bridge, &b->bridge));
	CHECK(a->has_mac == b->has_mac);
	CHECK(!a->has_mac || memcmp(a->mac, b->mac, ALB_MAC_LEN) == 0);
	return true;
}

static bool eq_argv(bool ha, size_t na, const struct alb_str *a, bool hb, size_t nb,
		    const struct alb_str *b)
{
	CHECK(ha == hb);
	/* argv None decodes without elements */
	return ha ? eq_str_list(a, na, b, nb) : nb == 0;
}

static bool eq_config(const struct alb_unikernel_config *a,
		      const struct alb_unikernel_config *b)
{
	CHECK(a->typ == b->typ);
	CHECK(a->compressed == b->compressed);
	CHECK(eq_bytes(&a->image, &b->image));
	CHECK(a->has_startup == b->has_startup);
	CHECK(!a->has_startup || a->startup == b->startup);
	CHECK(a->add_name == b->add_name);
	CHECK(eq_fail(&a->fail, &b->fail));
	CHECK(eq_int_set(a->cpuids, a->n_cpuids, b->cpuids, b->n_cpuids));
	CHECK(a->memory == b->memory);
	CHECK(eq_multiset(a->blocks, a->n_blocks, b->blocks, b->n_blocks,
			  sizeof(*a->blocks), eq_block_dev));
	CHECK(eq_multiset(a->bridges, a->n_bridges, b->bridges, b->n_bridges,
			  sizeof(*a->bridges), eq_net_dev));
	CHECK(eq_argv(a->has_argv, a->n_argv, a->argv, b->has_argv, b->n_argv, b->argv));
	CHECK(a->numcpus == b->numcpus);
	CHECK(eq_str(&a->linux_boot_partition, &b->linux_boot_partition));
	return true;
}

static bool eq_policy(const struct alb_policy *a, const struct alb_policy *b)
{
	CHECK(a->unikernels == b->unikernels);
	CHECK(eq_int_set(a->cpuids, a->n_cpuids, b->cpuids, b->n_cpuids));
	CHECK(a->memory == b->memory);
	CHECK(a->has_block == b->has_block);
	CHECK(!a->has_block || a->block == b->block);
	CHECK(eq_set(a->bridges, a->n_bridges, b->bridges, b->n_bridges,
		     sizeof(*a->bridges), cmp_str));
	/* a decoded policy holds its sets ascending, without duplicates */
	for (size_t i = 1; i < b->n_cpuids; i++)
		CHECK(b->cpuids[i - 1] < b->cpuids[i]);
	for (size_t i = 1; i < b->n_bridges; i++)
		CHECK(cmp_str(&b->bridges[i - 1], &b->bridges[i]) < 0);
	return true;
}

static bool eq_named_policy(const void *pa, const void *pb)
{
	const struct alb_named_policy *a = pa, *b = pb;
	CHECK(strcmp(a->name, b->name) == 0);
	return eq_policy(&a->policy, &b->policy);
}

static bool eq_time(const struct alb_time *a, const struct alb_time *b)
{
	CHECK(a->sec == b->sec);
	CHECK(a->nsec == b->nsec);
	return true;
}

static bool eq_info_block(const void *pa, const void *pb)
{
	const struct alb_info_block *a = pa, *b = pb;
	CHECK(eq_str(&a->unikernel_device, &b->unikernel_device));
	CHECK(eq_str(&a->host_device, &b->host_device));
	CHECK(a->sector_size == b->sector_size);
	CHECK(a->size == b->size);
	return true;
}

static bool eq_info_net(const void *pa, const void *pb)
{
	const struct alb_info_net *a = pa, *b = pb;
	CHECK(eq_str(&a->unikernel_device, &b->unikernel_device));
	CHECK(eq_str(&a->host_device, &b->host_device));
	CHECK(memcmp(a->mac, b->mac, ALB_MAC_LEN) == 0);
	return true;
}

static bool eq_info(const struct alb_unikernel_info *a,
		    const struct alb_unikernel_info *b)
{
	CHECK(a->typ == b->typ);
	CHECK(a->has_startup == b->has_startup);
	CHECK(!a->has_startup || a->startup == b->startup);
	CHECK(eq_fail(&a->fail, &b->fail));
	CHECK(eq_int_set(a->cpuids, a->n_cpuids, b->cpuids, b->n_cpuids));
	CHECK(a->memory == b->memory);
	CHECK(eq_bytes(&a->digest, &b->digest));
	CHECK(eq_multiset(a->blocks, a->n_blocks, b->blocks, b->n_blocks,
			  sizeof(*a->blocks), eq_info_block));
	CHECK(eq_multiset(a->bridges, a->n_bridges, b->bridges, b->n_bridges,
			  sizeof(*a->bridges), eq_info_net));
	CHECK(eq_argv(a->has_argv, a->n_argv, a->argv, b->has_argv, b->n_argv, b->argv));
	CHECK(eq_time(&a->started, &b->started));
	CHECK(a->numcpus == b->numcpus);
	CHECK(eq_str(&a->linux_boot_partition, &b->linux_boot_partition));
	return true;
}

static bool eq_timeval(const struct alb_timeval *a, const struct alb_timeval *b)
{
	CHECK(a->sec == b->sec);
	CHECK(a->usec == b->usec);
	return true;
}

static bool eq_ifdata(const struct alb_ifdata *a, const struct alb_ifdata *b)
{
	CHECK(eq_str(&a->bridge, &b->bridge));
	CHECK(a->flags == b->flags && a->send_length == b->send_length &&
	      a->max_send_length == b->max_send_length &&
	      a->send_drops == b->send_drops && a->mtu == b->mtu);
	CHECK(a->baudrate == b->baudrate && a->input_packets == b->input_packets &&
	      a->input_errors == b->input_errors &&
	      a->output_packets == b->output_packets &&
	      a->output_errors == b->output_errors && a->collisions == b->collisions);
	CHECK(a->input_bytes == b->input_bytes && a->output_bytes == b->output_bytes &&
	      a->input_mcast == b->input_mcast && a->output_mcast == b->output_mcast &&
	      a->input_dropped == b->input_dropped &&
	      a->output_dropped == b->output_dropped);
	return true;
}

static bool eq_stats(const struct alb_stats *a, const struct alb_stats *b)
{
	const struct alb_rusage *x = &a->rusage, *y = &b->rusage;
	CHECK(eq_timeval(&x->utime, &y->utime) && eq_timeval(&x->stime, &y->stime));
	CHECK(x->maxrss == y->maxrss && x->ixrss == y->ixrss && x->idrss == y->idrss &&
	      x->isrss == y->isrss && x->minflt == y->minflt && x->majflt == y->majflt &&
	      x->nswap == y->nswap);
	CHECK(x->inblock == y->inblock && x->oublock == y->oublock &&
	      x->msgsnd == y->msgsnd && x->msgrcv == y->msgrcv &&
	      x->nsignals == y->nsignals && x->nvcsw == y->nvcsw &&
	      x->nivcsw == y->nivcsw);
	CHECK(a->n_ifdata == b->n_ifdata);
	for (size_t i = 0; i < a->n_ifdata; i++)
		CHECK(eq_ifdata(&a->ifdata[i], &b->ifdata[i]));
	CHECK(a->has_vmm == b->has_vmm);
	CHECK(a->n_vmm == b->n_vmm);
	for (size_t i = 0; i < a->n_vmm; i++) {
		CHECK(eq_str(&a->vmm[i].key, &b->vmm[i].key));
		CHECK(a->vmm[i].value == b->vmm[i].value);
	}
	CHECK(a->has_kinfo_mem == b->has_kinfo_mem);
	if (a->has_kinfo_mem) {
		const struct alb_kinfo_mem *p = &a->kinfo_mem, *q = &b->kinfo_mem;
		CHECK(p->vsize == q->vsize && p->rss == q->rss && p->tsize == q->tsize &&
		      p->dsize == q->dsize && p->ssize == q->ssize &&
		      p->runtime == q->runtime && p->cow == q->cow);
		CHECK(eq_timeval(&p->start, &q->start));
	}
	return true;
}

static bool eq_command(const struct alb_command *a, const struct alb_command *b)
{
	CHECK(a->kind == b->kind);
	switch (a->kind) {
	case ALB_CMD_CONSOLE_ADD:
		CHECK(a->u.console_add == b->u.console_add);
		break;
	case ALB_CMD_CONSOLE_SUBSCRIBE:
		CHECK(a->u.subscribe.since == b->u.subscribe.since);
		if (a->u.subscribe.since)
			CHECK(eq_time(&a->u.subscribe.time, &b->u.subscribe.time));
		else
			CHECK(a->u.subscribe.count == b->u.subscribe.count);
		break;
	case ALB_CMD_STATS_ADD:
		CHECK(eq_str(&a->u.stats_add.vmmdev, &b->u.stats_add.vmmdev));
		CHECK(a->u.stats_add.pid == b->u.stats_add.pid);
		CHECK(a->u.stats_add.n_taps == b->u.stats_add.n_taps);
		for (size_t i = 0; i < a->u.stats_add.n_taps; i++) {
			CHECK(eq_str(&a->u.stats_add.taps[i].netif,
				     &b->u.stats_add.taps[i].netif));
			CHECK(eq_str(&a->u.stats_add.taps[i].tap, &b->u.stats_add.taps[i].tap));
		}
		break;
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		CHECK(eq_config(&a->u.create, &b->u.create));
		break;
	case ALB_CMD_UNIKERNEL_GET:
	case ALB_CMD_BLOCK_DUMP:
	case ALB_CMD_OLD_BLOCK_DUMP:
		CHECK(a->u.level == b->u.level);
		break;
	case ALB_CMD_UNIKERNEL_RESTART:
		CHECK(a->u.restart.has_args == b->u.restart.has_args);
		if (a->u.restart.has_args)
			CHECK(eq_config(&a->u.restart.args, &b->u.restart.args));
		break;
	case ALB_CMD_POLICY_ADD:
		CHECK(eq_policy(&a->u.policy, &b->u.policy));
		break;
	case ALB_CMD_BLOCK_ADD:
		CHECK(a->u.block_size == b->u.block_size);
		break;
	case ALB_CMD_BLOCK_SET:
		CHECK(a->u.block_compressed == b->u.block_compressed);
		break;
	case ALB_CMD_OLD_BLOCK_ADD:
		CHECK(a->u.old_block_add.size == b->u.old_block_add.size);
		CHECK(a->u.old_block_add.compressed == b->u.old_block_add.compressed);
		CHECK(a->u.old_block_add.has_data == b->u.old_block_add.has_data);
		CHECK(eq_bytes(&a->u.old_block_add.data, &b->u.old_block_add.data));
		break;
	case ALB_CMD_OLD_BLOCK_SET:
		CHECK(a->u.old_block_set.compressed == b->u.old_block_set.compressed);
		CHECK(eq_bytes(&a->u.old_block_set.data, &b->u.old_block_set.data));
		break;
	default:
		break;
	}
	return true;
}

static bool eq_reply(const struct alb_reply *a, const struct alb_reply *b)
{
	CHECK(a->kind == b->kind);
	switch (a->kind) {
	case ALB_REPLY_STRING:
		CHECK(eq_str(&a->u.string, &b->u.string));
		break;
	case ALB_REPLY_POLICIES:
		CHECK(a->u.policies.n == b->u.policies.n);
		for (size_t i = 0; i < a->u.policies.n; i++)
			CHECK(eq_named_policy(&a->u.policies.v[i], &b->u.policies.v[i]));
		break;
	case ALB_REPLY_BLOCK_DEVICES:
		CHECK(a->u.blocks.n == b->u.blocks.n);
		for (size_t i = 0; i < a->u.blocks.n; i++) {
			const struct alb_block_info *x = &a->u.blocks.v[i], *y = &b->u.blocks.v[i];
			CHECK(strcmp(x->name, y->name) == 0);
			CHECK(x->size == y->size && x->active == y->active);
		}
		break;
	case ALB_REPLY_UNIKERNEL_IMAGE:
	case ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE:
		CHECK(a->u.image.compressed == b->u.image.compressed);
		CHECK(eq_bytes(&a->u.image.data, &b->u.image.data));
		break;
	case ALB_REPLY_BLOCK_DEVICE_IMAGE:
		CHECK(a->u.block_compressed == b->u.block_compressed);
		break;
	case ALB_REPLY_CONSOLES:
		CHECK(a->u.consoles.n == b->u.consoles.n);
		for (size_t i = 0; i < a->u.consoles.n; i++)
			CHECK(strcmp(a->u.consoles.v[i], b->u.consoles.v[i]) == 0);
		break;
	case ALB_REPLY_OLD_UNIKERNEL_INFO4:
	case ALB_REPLY_OLD_UNIKERNEL_INFO5:
	case ALB_REPLY_UNIKERNEL_INFO:
		CHECK(a->u.infos.n == b->u.infos.n);
		for (size_t i = 0; i < a->u.infos.n; i++) {
			CHECK(strcmp(a->u.infos.v[i].name, b->u.infos.v[i].name) == 0);
			CHECK(eq_info(&a->u.infos.v[i].info, &b->u.infos.v[i].info));
		}
		break;
	case ALB_REPLY_EMPTY:
		break;
	}
	return true;
}

static bool eq_data(const struct alb_data *a, const struct alb_data *b)
{
	CHECK(a->kind == b->kind);
	switch (a->kind) {
	case ALB_DATA_STATS:
		CHECK(eq_stats(&a->u.stats, &b->u.stats));
		break;
	case ALB_DATA_CONSOLE:
		CHECK(eq_time(&a->u.console.time, &b->u.console.time));
		CHECK(eq_str(&a->u.console.line, &b->u.console.line));
		break;
	case ALB_DATA_BLOCK:
		CHECK(a->u.block.has_data == b->u.block.has_data);
		CHECK(eq_bytes(&a->u.block.data, &b->u.block.data));
		break;
	}
	return true;
}

static bool eq_msg(const struct alb_msg *a, const struct alb_msg *b)
{
	CHECK(a->header.version == b->header.version);
	CHECK(a->header.sequence == b->header.sequence);
	CHECK(strcmp(a->header.name, b->header.name) == 0);
	CHECK(a->kind == b->kind);
	switch (a->kind) {
	case ALB_PAYLOAD_COMMAND:
		return eq_command(&a->u.command, &b->u.command);
	case ALB_PAYLOAD_SUCCESS:
		return eq_reply(&a->u.success, &b->u.success);
	case ALB_PAYLOAD_FAILURE:
		return eq_str(&a->u.failure, &b->u.failure);
	case ALB_PAYLOAD_DATA:
		return eq_data(&a->u.data, &b->u.data);
	}
	return true;
}

static bool eq_state_unikernel(const void *pa, const void *pb)
{
	const struct alb_state_unikernel *a = pa, *b = pb;
	CHECK(strcmp(a->name, b->name) == 0);
	return eq_config(&a->config, &b->config);
}

static bool eq_state(const struct alb_state *a, const struct alb_state *b)
{
	CHECK(b->format == ALB_STATE_FORMAT_CURRENT);
	/* entries come back in trie order: equal as sets */
	CHECK(eq_multiset(a->unikernels, a->n_unikernels, b->unikernels, b->n_unikernels,
			  sizeof(*a->unikernels), eq_state_unikernel));
	CHECK(eq_multiset(a->policies, a->n_policies, b->policies, b->n_policies,
			  sizeof(*a->policies), eq_named_policy));
	for (size_t i = 1; i < b->n_unikernels; i++)
		CHECK(alb_name_cmp(b->unikernels[i - 1].name, b->unikernels[i].name) < 0);
	for (size_t i = 1; i < b->n_policies; i++)
		CHECK(alb_name_cmp(b->policies[i - 1].name, b->policies[i].name) < 0);
	return true;
}

/* ---- the properties ----------------------------------------------------------- */

static const char *payload_name(const struct alb_msg *m)
{
	static char buf[64];
	switch (m->kind) {
	case ALB_PAYLOAD_COMMAND:
		return alb_cmd_kind_name(m->u.command.kind);
	case ALB_PAYLOAD_SUCCESS:
		snprintf(buf, sizeof(buf), "reply kind %d", (int)m->u.success.kind);
		return buf;
	case ALB_PAYLOAD_FAILURE:
		return "failure";
	case ALB_PAYLOAD_DATA:
		snprintf(buf, sizeof(buf), "data kind %d", (int)m->u.data.kind);
		return buf;
	}
	return "?";
}

#define CASE_FAIL(no, what, ...)                                                  \
	fail_msg("case %u (seed %" PRIu64 ", replay with ALB_SEED=%" PRIu64 "): " what, \
		 (no), seed, seed, __VA_ARGS__)

/* Random flags: framed output, borrowed byte strings. */
static void check_msg(const struct alb_msg *m, unsigned no)
{
	unsigned eflags = chance(30) ? ALB_ENCODE_FRAMED : 0;
	unsigned dflags = chance(50) ? ALB_DECODE_BORROW : 0;
	struct alb_buf out = {0};
	struct alb_error err = {0};
	if (alb_msg_encode(m, eflags, &out, &err) != 0)
		CASE_FAIL(no, "%s: encode: %s", payload_name(m), err.msg);
	const uint8_t *der = out.data;
	size_t len = out.len;
	if (eflags & ALB_ENCODE_FRAMED) {
		assert_true(len >= 4);
		uint32_t fl = (uint32_t)der[0] << 24 | (uint32_t)der[1] << 16 |
			      (uint32_t)der[2] << 8 | der[3];
		assert_int_equal(fl, len - 4);
		der += 4;
		len -= 4;
	}
	struct alb_msg *d = NULL;
	if (alb_msg_decode(der, len, dflags, &d, &err) != 0)
		CASE_FAIL(no, "%s: decode: %s", payload_name(m), err.msg);
	why = NULL;
	if (!eq_msg(m, d))
		CASE_FAIL(no, "%s: decoded value differs: line %d: %s", payload_name(m),
			  why_line, why);
	struct alb_buf again = {0};
	if (alb_msg_encode(d, 0, &again, &err) != 0)
		CASE_FAIL(no, "%s: encode of the decoded value: %s", payload_name(m),
			  err.msg);
	if (again.len != len || memcmp(again.data, der, len) != 0)
		CASE_FAIL(no, "%s: re-encoding differs (%zu vs %zu bytes)", payload_name(m),
			  again.len, len);
	alb_buf_free(&again);
	alb_msg_free(d);
	alb_buf_free(&out);
}

static void test_messages(void **state)
{
	(void)state;
	reseed(1);
	unsigned kinds[ALB_CMD_OLD_BLOCK_DUMP + 1] = {0};
	unsigned replies[ALB_REPLY_UNIKERNEL_INFO + 1] = {0};
	for (unsigned i = 0; i < MSG_CASES; i++) {
		pool_reset();
		struct alb_msg m;
		gen_msg(&m);
		if (m.kind == ALB_PAYLOAD_COMMAND)
			kinds[m.u.command.kind]++;
		if (m.kind == ALB_PAYLOAD_SUCCESS)
			replies[m.u.success.kind]++;
		check_msg(&m, i);
	}
	pool_release();
	/* every kind came up, so no variant went untested */
	for (size_t k = 0; k < ALB_ARRAY_LEN(kinds); k++)
		assert_true(kinds[k] > 0);
	for (size_t k = 0; k < ALB_ARRAY_LEN(replies); k++)
		assert_true(replies[k] > 0);
}

/* Hand-picked edges the random cases reach only by luck: 64 of each
 * device, a 64 KiB argument, argv None / Some [] / long, the extreme
 * integers, a name of exactly ALB_NAME_MAX bytes. */
static void test_edges(void **state)
{
	(void)state;
	reseed(2);
	pool_reset();
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = ALB_WIRE_VERSION;
	m.header.sequence = INT64_MIN;
	m.kind = ALB_PAYLOAD_COMMAND;
	m.u.command.kind = ALB_CMD_UNIKERNEL_CREATE;
	struct alb_unikernel_config *c = &m.u.command.u.create;
	for (unsigned argv_shape = 0; argv_shape < 4; argv_shape++) {
		gen_config(c, false);
		c->n_blocks = c->n_bridges = MAX_DEVICES;
		c->blocks = gen_alloc(MAX_DEVICES * sizeof(*c->blocks));
		c->bridges = gen_alloc(MAX_DEVICES * sizeof(*c->bridges));
		for (size_t i = 0; i < MAX_DEVICES; i++) {
			c->blocks[i].name = gen_str();
			c->bridges[i].netif = gen_str();
			c->bridges[i].has_mac = true;
			gen_mac(c->bridges[i].mac);
		}
		c->has_argv = argv_shape > 0;
		c->n_argv = argv_shape == 2 ? 2 : argv_shape == 3 ? LONG_ARGV : 0;
		c->argv = gen_alloc((c->n_argv + 1) * sizeof(*c->argv));
		for (size_t i = 0; i < c->n_argv; i++)
			c->argv[i] = (struct alb_str){"--hello=🐫 wörld", strlen("--hello=🐫 wörld")};
		if (argv_shape == 2) {
			char *big = gen_alloc(LONG_LEN + 1);
			memset(big, 'x', LONG_LEN);
			c->argv[1] = (struct alb_str){big, LONG_LEN};
		}
		c->memory = argv_shape & 1 ? ALB_DER_INT_MAX : ALB_DER_INT_MIN;
		c->startup = argv_shape & 1 ? ALB_DER_INT_MIN : ALB_DER_INT_MAX;
		c->has_startup = true;
		do
			m.header.name = gen_name(NAME_LABELLED);
		while (strlen(m.header.name) != ALB_NAME_MAX);
		check_msg(&m, argv_shape);
	}
	/* stats with int64 extremes and 64 interfaces */
	m.kind = ALB_PAYLOAD_DATA;
	m.u.data.kind = ALB_DATA_STATS;
	struct alb_stats *st = &m.u.data.u.stats;
	gen_stats(st);
	st->n_ifdata = MAX_DEVICES;
	st->ifdata = gen_alloc(MAX_DEVICES * sizeof(*st->ifdata));
	for (size_t i = 0; i < MAX_DEVICES; i++) {
		st->ifdata[i].bridge = gen_str();
		st->ifdata[i].baudrate = i % 2 ? INT64_MAX : INT64_MIN;
		st->ifdata[i].mtu = i % 2 ? INT32_MAX : INT32_MIN;
	}
	st->rusage.maxrss = INT64_MIN;
	st->rusage.nivcsw = INT64_MAX;
	st->rusage.utime = (struct alb_timeval){INT64_MIN, ALB_DER_INT_MAX};
	m.header.name = ":";
	check_msg(&m, 100);
	pool_release();
}

static void test_state_files(void **state)
{
	(void)state;
	reseed(3);
	for (unsigned no = 0; no < STATE_CASES; no++) {
		pool_reset();
		struct alb_state s;
		memset(&s, 0, sizeof(s));
		s.n_unikernels = below(MAX_STATE_ENTRIES + 1);
		s.unikernels = gen_alloc(s.n_unikernels * sizeof(*s.unikernels));
		for (size_t i = 0; i < s.n_unikernels; i++) {
			struct alb_state_unikernel *u = &s.unikernels[i];
			/* names on distinct trie nodes: a duplicate is an error */
			bool dup;
			do {
				u->name = gen_name(NAME_LABELLED);
				dup = false;
				for (size_t j = 0; j < i; j++)
					dup = dup || alb_name_cmp(u->name, s.unikernels[j].name) == 0;
			} while (dup);
			gen_config(&u->config, false);
		}
		s.n_policies = below(MAX_STATE_ENTRIES + 1);
		s.policies = gen_alloc(s.n_policies * sizeof(*s.policies));
		for (size_t i = 0; i < s.n_policies; i++) {
			bool dup;
			do {
				s.policies[i].name = gen_name(NAME_PATH);
				dup = false;
				for (size_t j = 0; j < i; j++)
					dup = dup || alb_name_cmp(s.policies[i].name,
								  s.policies[j].name) == 0;
			} while (dup);
			s.policies[i].policy = gen_policy();
		}
		struct alb_buf out = {0};
		struct alb_error err = {0};
		if (alb_state_encode(&s, &out, &err) != 0)
			CASE_FAIL(no, "state encode: %s", err.msg);
		struct alb_state *d;
		unsigned dflags = chance(50) ? ALB_DECODE_BORROW : 0;
		if (alb_state_decode(out.data, out.len, dflags, &d, &err) != 0)
			CASE_FAIL(no, "state decode: %s", err.msg);
		why = NULL;
		if (!eq_state(&s, d))
			CASE_FAIL(no, "state differs: line %d: %s", why_line, why);
		struct alb_buf again = {0};
		if (alb_state_encode(d, &again, &err) != 0)
			CASE_FAIL(no, "state re-encode: %s", err.msg);
		if (again.len != out.len || memcmp(again.data, out.data, out.len) != 0)
			CASE_FAIL(no, "state re-encoding differs (%zu vs %zu bytes)",
				  again.len, out.len);
		alb_buf_free(&again);
		alb_state_free(d);
		alb_buf_free(&out);
	}
	pool_release();
}

static void test_cert_extensions(void **state)
{
	(void)state;
	reseed(4);
	for (unsigned no = 0; no < CERT_CASES; no++) {
		pool_reset();
		struct alb_certext ce;
		memset(&ce, 0, sizeof(ce));
		ce.version = ALB_WIRE_VERSION;
		gen_command(&ce.command);
		struct alb_buf out = {0};
		struct alb_error err = {0};
		if (alb_certext_encode(&ce, &out, &err) != 0)
			CASE_FAIL(no, "%s: certext encode: %s",
				  alb_cmd_kind_name(ce.command.kind), err.msg);
		struct alb_certext *d;
		unsigned dflags = chance(50) ? ALB_DECODE_BORROW : 0;
		if (alb_certext_decode(out.data, out.len, dflags, &d, &err) != 0)
			CASE_FAIL(no, "%s: certext decode: %s",
				  alb_cmd_kind_name(ce.command.kind), err.msg);
		assert_int_equal(d->version, ALB_WIRE_VERSION);
		why = NULL;
		if (!eq_command(&ce.command, &d->command))
			CASE_FAIL(no, "%s: certext differs: line %d: %s",
				  alb_cmd_kind_name(ce.command.kind), why_line, why);
		struct alb_buf again = {0};
		assert_int_equal(alb_certext_encode(d, &again, NULL), 0);
		assert_int_equal(again.len, out.len);
		assert_memory_equal(again.data, out.data, out.len);
		alb_buf_free(&again);
		alb_certext_free(d);
		alb_buf_free(&out);
	}
	pool_release();
}

int main(void)
{
	const char *s = getenv("ALB_SEED");
	seed = s != NULL && s[0] != '\0' ? strtoull(s, NULL, 0)
					 : (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
	printf("wire property test: seed %" PRIu64 " (replay with ALB_SEED=%" PRIu64 ")\n",
	       seed, seed);
	fflush(stdout);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_state_files),
		cmocka_unit_test(test_cert_extensions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
