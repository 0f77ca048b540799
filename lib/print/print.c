/* libalbatross — the printer's walk over messages, certificate extensions
 * and state files, shared by the text and JSON forms, and the public entry
 * points.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <string.h>

#include "albatross/image.h"
#include "albatross/net.h"
#include "base/internal.h"
#include "print_internal.h"

/* ---- helpers shared by both forms ------------------------------------ */

size_t alb_print_utf8(const uint8_t *p, size_t len, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t n;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1fu, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0fu, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool alb_print_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* The two-character escape of code point cp under the flags of
 * alb_print_escape(), or NULL when it has none. */
static const char *short_escape(uint32_t cp, unsigned flags)
{
	bool named = (flags & ALB_PRINT_ESCAPE_NAMED) != 0;
	switch (cp) {
	case '\\': return "\\\\";
	case '"': return (flags & ALB_PRINT_ESCAPE_QUOTE) ? "\\\"" : NULL;
	case '\n': return named ? "\\n" : NULL;
	case '\r': return named ? "\\r" : NULL;
	case '\t': return named ? "\\t" : NULL;
	}
	return NULL;
}

size_t alb_print_escape(FILE *out, const char *s, size_t len, unsigned flags)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, width = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = alb_print_utf8(p + i, len - i, &cp);
		const char *esc = n == 0 ? NULL : short_escape(cp, flags);
		if (esc != NULL) {
			if (out != NULL)
				fputs(esc, out);
			width += 2;
		} else if (n == 0 || alb_print_is_control(cp)) {
			/* Byte by byte, so that a C1 character shows its
			 * UTF-8 encoding just like an invalid byte would. */
			n = n == 0 ? 1 : n;
			for (size_t k = 0; out != NULL && k < n; k++)
				fprintf(out, "\\x%02x", p[i + k]);
			width += 4 * n;
		} else {
			if (out != NULL)
				fwrite(p + i, 1, n, out);
			width++;
		}
		i += n;
	}
	return width;
}

void alb_print_format_time(const struct alb_time *t, char *buf)
{
	/* Civil date from days since the epoch (proleptic Gregorian, eras of
	 * 400 years); sec / 86400 keeps every intermediate far from int64
	 * overflow, so any value is safe. */
	int64_t days = t->sec / 86400, rem = t->sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t day = doy - (153 * mp + 2) / 5 + 1;
	int64_t month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

	if (year < 0 || year > 9999 || t->nsec >= 1000000000u) {
		snprintf(buf, ALB_PRINT_TIME_BUF, "@%" PRId64 "s+%" PRIu32 "ns",
			 t->sec, t->nsec);
		return;
	}
	int n = snprintf(buf, ALB_PRINT_TIME_BUF,
			 "%04d-%02d-%02dT%02d:%02d:%02d", (int)year, (int)month,
			 (int)day, (int)(rem / 3600), (int)(rem / 60 % 60),
			 (int)(rem % 60));
	if (t->nsec != 0)
		n += snprintf(buf + n, (size_t)(ALB_PRINT_TIME_BUF - n), ".%03u",
			      (unsigned)(t->nsec / 1000000u));
	snprintf(buf + n, (size_t)(ALB_PRINT_TIME_BUF - n), "Z");
}

void alb_print_hex(FILE *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		fputc(digits[p[i] >> 4], out);
		fputc(digits[p[i] & 0xf], out);
	}
}


/* ---- names of kinds (stable identifiers, also the JSON values) ------- */

static const char *const cmd_kinds[] = {
	[ALB_CMD_CONSOLE_ADD] = "console_add",
	[ALB_CMD_CONSOLE_SUBSCRIBE] = "console_subscribe",
	[ALB_CMD_CONSOLE_LIST_INACTIVE] = "console_list_inactive",
	[ALB_CMD_STATS_ADD] = "stats_add",
	[ALB_CMD_STATS_REMOVE] = "stats_remove",
	[ALB_CMD_STATS_SUBSCRIBE] = "stats_subscribe",
	[ALB_CMD_STATS_INITIAL] = "stats_initial",
	[ALB_CMD_UNIKERNEL_INFO] = "unikernel_info",
	[ALB_CMD_UNIKERNEL_CREATE] = "unikernel_create",
	[ALB_CMD_UNIKERNEL_FORCE_CREATE] = "unikernel_force_create",
	[ALB_CMD_UNIKERNEL_DESTROY] = "unikernel_destroy",
	[ALB_CMD_UNIKERNEL_GET] = "unikernel_get",
	[ALB_CMD_UNIKERNEL_RESTART] = "unikernel_restart",
	[ALB_CMD_OLD_UNIKERNEL_INFO4] = "old_unikernel_info4",
	[ALB_CMD_OLD_UNIKERNEL_INFO5] = "old_unikernel_info5",
	[ALB_CMD_POLICY_INFO] = "policy_info",
	[ALB_CMD_POLICY_ADD] = "policy_add",
	[ALB_CMD_POLICY_REMOVE] = "policy_remove",
	[ALB_CMD_BLOCK_INFO] = "block_info",
	[ALB_CMD_BLOCK_ADD] = "block_add",
	[ALB_CMD_BLOCK_REMOVE] = "block_remove",
	[ALB_CMD_BLOCK_SET] = "block_set",
	[ALB_CMD_BLOCK_DUMP] = "block_dump",
	[ALB_CMD_OLD_BLOCK_ADD] = "old_block_add",
	[ALB_CMD_OLD_BLOCK_SET] = "old_block_set",
	[ALB_CMD_OLD_BLOCK_DUMP] = "old_block_dump",
};

static const char *const reply_kinds[] = {
	[ALB_REPLY_EMPTY] = "empty",
	[ALB_REPLY_STRING] = "string",
	[ALB_REPLY_POLICIES] = "policies",
	[ALB_REPLY_BLOCK_DEVICES] = "block_devices",
	[ALB_REPLY_UNIKERNEL_IMAGE] = "unikernel_image",
	[ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE] = "old_block_device_image",
	[ALB_REPLY_OLD_UNIKERNEL_INFO4] = "old_unikernel_info4",
	[ALB_REPLY_BLOCK_DEVICE_IMAGE] = "block_device_image",
	[ALB_REPLY_OLD_UNIKERNEL_INFO5] = "old_unikernel_info5",
	[ALB_REPLY_CONSOLES] = "consoles",
	[ALB_REPLY_UNIKERNEL_INFO] = "unikernel_info",
};

static const char *const data_kinds[] = {
	[ALB_DATA_STATS] = "stats",
	[ALB_DATA_CONSOLE] = "console",
	[ALB_DATA_BLOCK] = "block",
};

static const char *const typ_names[] = {
	[ALB_TYP_SOLO5] = "solo5",
	[ALB_TYP_BHYVE] = "bhyve",
};

/* ---- the walk ---------------------------------------------------------- */

/* Records that the value is not one the printer can show; the walk skips
 * the offending part and the call fails with ALB_EINVAL. */
static bool invalid(struct alb_emit *e)
{
	if (e->err == 0)
		e->err = ALB_EINVAL;
	return false;
}

/* A list of n elements must have storage when n > 0. */
static bool list_ok(struct alb_emit *e, size_t n, const void *v)
{
	return n == 0 || v != NULL ? true : invalid(e);
}

/* Emits table[k] as key, or fails for a kind out of range. */
static bool put_kind(struct alb_emit *e, const char *key,
		     const char *const *table, size_t n, unsigned k)
{
	if (k >= n || table[k] == NULL)
		return invalid(e);
	e->ops->word(e, key, table[k]);
	return true;
}

#define PUT_KIND(e, key, table, k) \
	put_kind(e, key, table, ALB_ARRAY_LEN(table), (unsigned)(k))

static void put_str(struct alb_emit *e, const char *key,
		    const struct alb_str *s)
{
	if (s->ptr == NULL && s->len > 0) {
		invalid(e);
		return;
	}
	e->ops->str(e, key, s->ptr != NULL ? s->ptr : "", s->len);
}

static void put_opt_str(struct alb_emit *e, const char *key,
			const struct alb_str *s)
{
	if (s->ptr == NULL)
		e->ops->absent(e, key);
	else
		put_str(e, key, s);
}

static void put_name(struct alb_emit *e, const char *key, const char *name)
{
	if (name == NULL)
		e->ops->absent(e, key);
	else
		e->ops->word(e, key, name);
}

static void put_bytes(struct alb_emit *e, const char *key,
		      const struct alb_bytes *b)
{
	if (b->ptr == NULL && b->len > 0) {
		invalid(e);
		return;
	}
	struct alb_print_bytes pb = {.len = b->len, .head = b->ptr};
	if (alb_image_digest(b->ptr, b->len, pb.sha256, NULL) != 0) {
		if (e->err == 0)
			e->err = ALB_ENOMEM;
		return;
	}
	e->ops->bytes(e, key, &pb);
}

/* The image of a reply: written out and described by e->image, or here. */
static void put_image(struct alb_emit *e, const char *key,
		      const struct alb_bytes *b)
{
	const struct alb_image_received *img = e->image;
	if (img == NULL) {
		put_bytes(e, key, b);
		return;
	}
	struct alb_print_bytes pb = {.len = img->length, .head = img->head};
	memcpy(pb.sha256, img->sha256, sizeof(pb.sha256));
	e->ops->bytes(e, key, &pb);
}

static void put_opt_int(struct alb_emit *e, const char *key, bool has,
			int64_t v)
{
	if (has)
		e->ops->integer(e, key, v);
	else
		e->ops->absent(e, key);
}

static void put_ints(struct alb_emit *e, const char *key, size_t n,
		     const int64_t *v)
{
	if (list_ok(e, n, v))
		e->ops->ints(e, key, n, v);
}

static void put_time(struct alb_emit *e, const char *key,
		     const struct alb_time *t)
{
	char buf[ALB_PRINT_TIME_BUF];
	alb_print_format_time(t, buf);
	e->ops->word(e, key, buf);
}

static void put_mac(struct alb_emit *e, const char *key, const uint8_t *mac)
{
	char buf[ALB_MAC_STR_SIZE];
	alb_mac_print(mac, buf);
	e->ops->word(e, key, buf);
}

static void put_timeval(struct alb_emit *e, const char *key,
			const struct alb_timeval *tv)
{
	e->ops->begin_obj(e, key);
	e->ops->integer(e, "sec", tv->sec);
	e->ops->integer(e, "usec", tv->usec);
	e->ops->end_obj(e);
}

static void put_fail(struct alb_emit *e, const struct alb_fail *f)
{
	if (f->restart && !list_ok(e, f->n_exit_codes, f->exit_codes))
		return;
	e->ops->fail(e, "fail", f);
}

static void put_strs(struct alb_emit *e, const char *key, size_t n,
		     const struct alb_str *v)
{
	if (!list_ok(e, n, v))
		return;
	e->ops->begin_list(e, key, n);
	for (size_t i = 0; i < n; i++)
		put_str(e, NULL, &v[i]);
	e->ops->end_list(e, n);
}

static void put_argv(struct alb_emit *e, bool has, size_t n,
		     const struct alb_str *v)
{
	if (has)
		put_strs(e, "argv", n, v);
	else
		e->ops->absent(e, "argv");
}

static void walk_config(struct alb_emit *e,
			const struct alb_unikernel_config *c, bool with_image)
{
	/* Restart arguments share the struct but carry no image. */
	if (with_image) {
		PUT_KIND(e, "typ", typ_names, c->typ);
		e->ops->boolean(e, "compressed", c->compressed);
		put_bytes(e, "image", &c->image);
	}
	put_opt_int(e, "startup", c->has_startup, c->startup);
	e->ops->boolean(e, "add_name", c->add_name);
	put_fail(e, &c->fail);
	put_ints(e, "cpuids", c->n_cpuids, c->cpuids);
	e->ops->integer(e, "memory_mb", c->memory);

	if (list_ok(e, c->n_blocks, c->blocks)) {
		e->ops->begin_list(e, "block_devices", c->n_blocks);
		for (size_t i = 0; i < c->n_blocks; i++) {
			const struct alb_block_dev *b = &c->blocks[i];
			e->ops->begin_obj(e, NULL);
			put_str(e, "name", &b->name);
			put_opt_str(e, "device", &b->device);
			put_opt_int(e, "sector_size", b->has_sector_size,
				    b->sector_size);
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, c->n_blocks);
	}
	if (list_ok(e, c->n_bridges, c->bridges)) {
		e->ops->begin_list(e, "bridges", c->n_bridges);
		for (size_t i = 0; i < c->n_bridges; i++) {
			const struct alb_net_dev *b = &c->bridges[i];
			e->ops->begin_obj(e, NULL);
			put_str(e, "netif", &b->netif);
			put_opt_str(e, "bridge", &b->bridge);
			if (b->has_mac)
				put_mac(e, "mac", b->mac);
			else
				e->ops->absent(e, "mac");
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, c->n_bridges);
	}
	put_argv(e, c->has_argv, c->n_argv, c->argv);
	e->ops->integer(e, "numcpus", c->numcpus);
	put_opt_str(e, "linux_boot_partition", &c->linux_boot_partition);
}

static void walk_policy(struct alb_emit *e, const struct alb_policy *p)
{
	e->ops->integer(e, "unikernels", p->unikernels);
	put_ints(e, "cpuids", p->n_cpuids, p->cpuids);
	e->ops->integer(e, "memory_mb", p->memory);
	put_opt_int(e, "block_mb", p->has_block, p->block);
	put_strs(e, "bridges", p->n_bridges, p->bridges);
}

/* A list of {name, fields of the policy}. */
static void walk_named_policies(struct alb_emit *e, size_t n,
				const struct alb_named_policy *v)
{
	if (!list_ok(e, n, v))
		return;
	e->ops->begin_list(e, "policies", n);
	for (size_t i = 0; i < n; i++) {
		e->ops->begin_obj(e, NULL);
		put_name(e, "name", v[i].name);
		walk_policy(e, &v[i].policy);
		e->ops->end_obj(e);
	}
	e->ops->end_list(e, n);
}

static void walk_info(struct alb_emit *e, const struct alb_unikernel_info *u)
{
	PUT_KIND(e, "typ", typ_names, u->typ);
	put_opt_int(e, "startup", u->has_startup, u->startup);
	put_fail(e, &u->fail);
	put_ints(e, "cpuids", u->n_cpuids, u->cpuids);
	e->ops->integer(e, "memory_mb", u->memory);
	put_bytes(e, "digest", &u->digest);

	if (list_ok(e, u->n_blocks, u->blocks)) {
		e->ops->begin_list(e, "block_devices", u->n_blocks);
		for (size_t i = 0; i < u->n_blocks; i++) {
			const struct alb_info_block *b = &u->blocks[i];
			e->ops->begin_obj(e, NULL);
			put_str(e, "unikernel_device", &b->unikernel_device);
			put_str(e, "host_device", &b->host_device);
			e->ops->integer(e, "sector_size", b->sector_size);
			e->ops->integer(e, "size_mb", b->size);
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, u->n_blocks);
	}
	if (list_ok(e, u->n_bridges, u->bridges)) {
		e->ops->begin_list(e, "bridges", u->n_bridges);
		for (size_t i = 0; i < u->n_bridges; i++) {
			const struct alb_info_net *b = &u->bridges[i];
			e->ops->begin_obj(e, NULL);
			put_str(e, "unikernel_device", &b->unikernel_device);
			put_str(e, "host_device", &b->host_device);
			put_mac(e, "mac", b->mac);
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, u->n_bridges);
	}
	put_argv(e, u->has_argv, u->n_argv, u->argv);
	put_time(e, "started", &u->started);
	e->ops->integer(e, "numcpus", u->numcpus);
	put_opt_str(e, "linux_boot_partition", &u->linux_boot_partition);
}

static void walk_command(struct alb_emit *e, const struct alb_command *c)
{
	e->ops->begin_obj(e, "command");
	if (!PUT_KIND(e, "kind", cmd_kinds, c->kind)) {
		e->ops->end_obj(e);
		return;
	}
	switch (c->kind) {
	case ALB_CMD_CONSOLE_ADD:
		e->ops->integer(e, "max_rings", c->u.console_add);
		break;
	case ALB_CMD_CONSOLE_SUBSCRIBE:
		if (c->u.subscribe.since)
			put_time(e, "since", &c->u.subscribe.time);
		else
			e->ops->integer(e, "count", c->u.subscribe.count);
		break;
	case ALB_CMD_STATS_ADD:
		put_str(e, "vmmdev", &c->u.stats_add.vmmdev);
		e->ops->integer(e, "pid", c->u.stats_add.pid);
		if (list_ok(e, c->u.stats_add.n_taps, c->u.stats_add.taps)) {
			size_t n = c->u.stats_add.n_taps;
			e->ops->begin_list(e, "taps", n);
			for (size_t i = 0; i < n; i++) {
				e->ops->begin_obj(e, NULL);
				put_str(e, "netif", &c->u.stats_add.taps[i].netif);
				put_str(e, "tap", &c->u.stats_add.taps[i].tap);
				e->ops->end_obj(e);
			}
			e->ops->end_list(e, n);
		}
		break;
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		e->ops->begin_obj(e, "config");
		walk_config(e, &c->u.create, true);
		e->ops->end_obj(e);
		break;
	case ALB_CMD_UNIKERNEL_GET:
	case ALB_CMD_BLOCK_DUMP:
	case ALB_CMD_OLD_BLOCK_DUMP:
		e->ops->integer(e, "compression_level", c->u.level);
		break;
	case ALB_CMD_UNIKERNEL_RESTART:
		if (c->u.restart.has_args) {
			e->ops->begin_obj(e, "arguments");
			walk_config(e, &c->u.restart.args, false);
			e->ops->end_obj(e);
		} else {
			e->ops->absent(e, "arguments");
		}
		break;
	case ALB_CMD_POLICY_ADD:
		e->ops->begin_obj(e, "policy");
		walk_policy(e, &c->u.policy);
		e->ops->end_obj(e);
		break;
	case ALB_CMD_BLOCK_ADD:
		e->ops->integer(e, "size_mb", c->u.block_size);
		break;
	case ALB_CMD_BLOCK_SET:
		e->ops->boolean(e, "compressed", c->u.block_compressed);
		break;
	case ALB_CMD_OLD_BLOCK_ADD:
		e->ops->integer(e, "size_mb", c->u.old_block_add.size);
		e->ops->boolean(e, "compressed", c->u.old_block_add.compressed);
		if (c->u.old_block_add.has_data)
			put_bytes(e, "data", &c->u.old_block_add.data);
		else
			e->ops->absent(e, "data");
		break;
	case ALB_CMD_OLD_BLOCK_SET:
		e->ops->boolean(e, "compressed", c->u.old_block_set.compressed);
		put_bytes(e, "data", &c->u.old_block_set.data);
		break;
	case ALB_CMD_CONSOLE_LIST_INACTIVE:
	case ALB_CMD_STATS_REMOVE:
	case ALB_CMD_STATS_SUBSCRIBE:
	case ALB_CMD_STATS_INITIAL:
	case ALB_CMD_UNIKERNEL_INFO:
	case ALB_CMD_UNIKERNEL_DESTROY:
	case ALB_CMD_OLD_UNIKERNEL_INFO4:
	case ALB_CMD_OLD_UNIKERNEL_INFO5:
	case ALB_CMD_POLICY_INFO:
	case ALB_CMD_POLICY_REMOVE:
	case ALB_CMD_BLOCK_INFO:
	case ALB_CMD_BLOCK_REMOVE:
		/* These commands carry no argument. */
		break;
	}
	e->ops->end_obj(e);
}

static void walk_reply(struct alb_emit *e, const struct alb_reply *r)
{
	e->ops->begin_obj(e, "success");
	if (!PUT_KIND(e, "kind", reply_kinds, r->kind)) {
		e->ops->end_obj(e);
		return;
	}
	switch (r->kind) {
	case ALB_REPLY_EMPTY:
		break;
	case ALB_REPLY_STRING:
		put_str(e, "message", &r->u.string);
		break;
	case ALB_REPLY_POLICIES:
		walk_named_policies(e, r->u.policies.n, r->u.policies.v);
		break;
	case ALB_REPLY_BLOCK_DEVICES:
		if (!list_ok(e, r->u.blocks.n, r->u.blocks.v))
			break;
		e->ops->begin_list(e, "block_devices", r->u.blocks.n);
		for (size_t i = 0; i < r->u.blocks.n; i++) {
			const struct alb_block_info *b = &r->u.blocks.v[i];
			e->ops->begin_obj(e, NULL);
			put_name(e, "name", b->name);
			e->ops->integer(e, "size_mb", b->size);
			e->ops->boolean(e, "active", b->active);
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, r->u.blocks.n);
		break;
	case ALB_REPLY_UNIKERNEL_IMAGE:
	case ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE:
		e->ops->boolean(e, "compressed", r->u.image.compressed);
		put_image(e,
			  r->kind == ALB_REPLY_UNIKERNEL_IMAGE ? "image" : "data",
			  &r->u.image.data);
		break;
	case ALB_REPLY_BLOCK_DEVICE_IMAGE:
		e->ops->boolean(e, "compressed", r->u.block_compressed);
		break;
	case ALB_REPLY_CONSOLES:
		if (!list_ok(e, r->u.consoles.n, r->u.consoles.v))
			break;
		e->ops->begin_list(e, "consoles", r->u.consoles.n);
		for (size_t i = 0; i < r->u.consoles.n; i++)
			put_name(e, NULL, r->u.consoles.v[i]);
		e->ops->end_list(e, r->u.consoles.n);
		break;
	case ALB_REPLY_OLD_UNIKERNEL_INFO4:
	case ALB_REPLY_OLD_UNIKERNEL_INFO5:
	case ALB_REPLY_UNIKERNEL_INFO:
		if (!list_ok(e, r->u.infos.n, r->u.infos.v))
			break;
		e->ops->begin_list(e, "unikernels", r->u.infos.n);
		for (size_t i = 0; i < r->u.infos.n; i++) {
			e->ops->begin_obj(e, NULL);
			put_name(e, "name", r->u.infos.v[i].name);
			walk_info(e, &r->u.infos.v[i].info);
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, r->u.infos.n);
		break;
	}
	e->ops->end_obj(e);
}

static void walk_rusage(struct alb_emit *e, const struct alb_rusage *r)
{
	e->ops->begin_obj(e, "rusage");
	put_timeval(e, "utime", &r->utime);
	put_timeval(e, "stime", &r->stime);
	e->ops->integer(e, "maxrss", r->maxrss);
	e->ops->integer(e, "ixrss", r->ixrss);
	e->ops->integer(e, "idrss", r->idrss);
	e->ops->integer(e, "isrss", r->isrss);
	e->ops->integer(e, "minflt", r->minflt);
	e->ops->integer(e, "majflt", r->majflt);
	e->ops->integer(e, "nswap", r->nswap);
	e->ops->integer(e, "inblock", r->inblock);
	e->ops->integer(e, "oublock", r->oublock);
	e->ops->integer(e, "msgsnd", r->msgsnd);
	e->ops->integer(e, "msgrcv", r->msgrcv);
	e->ops->integer(e, "nsignals", r->nsignals);
	e->ops->integer(e, "nvcsw", r->nvcsw);
	e->ops->integer(e, "nivcsw", r->nivcsw);
	e->ops->end_obj(e);
}

static void walk_ifdata(struct alb_emit *e, const struct alb_ifdata *d)
{
	e->ops->begin_obj(e, NULL);
	put_str(e, "bridge", &d->bridge);
	e->ops->integer(e, "flags", d->flags);
	e->ops->integer(e, "send_length", d->send_length);
	e->ops->integer(e, "max_send_length", d->max_send_length);
	e->ops->integer(e, "send_drops", d->send_drops);
	e->ops->integer(e, "mtu", d->mtu);
	e->ops->integer(e, "baudrate", d->baudrate);
	e->ops->integer(e, "input_packets", d->input_packets);
	e->ops->integer(e, "input_errors", d->input_errors);
	e->ops->integer(e, "output_packets", d->output_packets);
	e->ops->integer(e, "output_errors", d->output_errors);
	e->ops->integer(e, "collisions", d->collisions);
	e->ops->integer(e, "input_bytes", d->input_bytes);
	e->ops->integer(e, "output_bytes", d->output_bytes);
	e->ops->integer(e, "input_mcast", d->input_mcast);
	e->ops->integer(e, "output_mcast", d->output_mcast);
	e->ops->integer(e, "input_dropped", d->input_dropped);
	e->ops->integer(e, "output_dropped", d->output_dropped);
	e->ops->end_obj(e);
}

static void walk_stats(struct alb_emit *e, const struct alb_stats *s)
{
	walk_rusage(e, &s->rusage);
	if (list_ok(e, s->n_ifdata, s->ifdata)) {
		e->ops->begin_list(e, "ifdata", s->n_ifdata);
		for (size_t i = 0; i < s->n_ifdata; i++)
			walk_ifdata(e, &s->ifdata[i]);
		e->ops->end_list(e, s->n_ifdata);
	}
	if (!s->has_vmm) {
		e->ops->absent(e, "vmm");
	} else if (list_ok(e, s->n_vmm, s->vmm)) {
		e->ops->begin_list(e, "vmm", s->n_vmm);
		for (size_t i = 0; i < s->n_vmm; i++) {
			e->ops->begin_obj(e, NULL);
			put_str(e, "key", &s->vmm[i].key);
			e->ops->integer(e, "value", s->vmm[i].value);
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, s->n_vmm);
	}
	if (s->has_kinfo_mem) {
		const struct alb_kinfo_mem *k = &s->kinfo_mem;
		e->ops->begin_obj(e, "kinfo_mem");
		e->ops->integer(e, "vsize", k->vsize);
		e->ops->integer(e, "rss", k->rss);
		e->ops->integer(e, "tsize", k->tsize);
		e->ops->integer(e, "dsize", k->dsize);
		e->ops->integer(e, "ssize", k->ssize);
		e->ops->integer(e, "runtime", k->runtime);
		e->ops->integer(e, "cow", k->cow);
		put_timeval(e, "start", &k->start);
		e->ops->end_obj(e);
	} else {
		e->ops->absent(e, "kinfo_mem");
	}
}

static void walk_data(struct alb_emit *e, const struct alb_data *d)
{
	e->ops->begin_obj(e, "data");
	if (!PUT_KIND(e, "kind", data_kinds, d->kind)) {
		e->ops->end_obj(e);
		return;
	}
	switch (d->kind) {
	case ALB_DATA_STATS:
		walk_stats(e, &d->u.stats);
		break;
	case ALB_DATA_CONSOLE:
		put_time(e, "time", &d->u.console.time);
		put_str(e, "line", &d->u.console.line);
		break;
	case ALB_DATA_BLOCK:
		/* No data marks the end of a block stream. */
		if (d->u.block.has_data)
			put_bytes(e, "data", &d->u.block.data);
		else
			e->ops->absent(e, "data");
		break;
	}
	e->ops->end_obj(e);
}

static void walk_msg(struct alb_emit *e, const void *v)
{
	const struct alb_msg *m = v;

	e->ops->begin_obj(e, NULL);
	e->ops->begin_obj(e, "header");
	e->ops->integer(e, "version", m->header.version);
	e->ops->integer(e, "sequence", m->header.sequence);
	put_name(e, "name", m->header.name);
	e->ops->end_obj(e);
	switch (m->kind) {
	case ALB_PAYLOAD_COMMAND:
		walk_command(e, &m->u.command);
		break;
	case ALB_PAYLOAD_SUCCESS:
		walk_reply(e, &m->u.success);
		break;
	case ALB_PAYLOAD_FAILURE:
		put_str(e, "failure", &m->u.failure);
		break;
	case ALB_PAYLOAD_DATA:
		walk_data(e, &m->u.data);
		break;
	default:
		invalid(e);
		break;
	}
	e->ops->end_obj(e);
}

static void walk_certext(struct alb_emit *e, const void *v)
{
	const struct alb_certext *c = v;

	e->ops->begin_obj(e, NULL);
	e->ops->integer(e, "version", c->version);
	walk_command(e, &c->command);
	e->ops->end_obj(e);
}

static void walk_state(struct alb_emit *e, const void *v)
{
	const struct alb_state *s = v;

	e->ops->begin_obj(e, NULL);
	e->ops->integer(e, "format", s->format);
	if (list_ok(e, s->n_unikernels, s->unikernels)) {
		e->ops->begin_list(e, "unikernels", s->n_unikernels);
		for (size_t i = 0; i < s->n_unikernels; i++) {
			e->ops->begin_obj(e, NULL);
			put_name(e, "name", s->unikernels[i].name);
			walk_config(e, &s->unikernels[i].config, true);
			e->ops->end_obj(e);
		}
		e->ops->end_list(e, s->n_unikernels);
	}
	walk_named_policies(e, s->n_policies, s->policies);
	e->ops->end_obj(e);
}

/* ---- entry points ------------------------------------------------------ */

static int run(FILE *out, const void *v, unsigned flags,
	       void (*walk)(struct alb_emit *, const void *),
	       const struct alb_image_received *image, struct alb_error *err)
{
	if (out == NULL || v == NULL)
		return alb_fail(err, ALB_EINVAL, "print: NULL argument");
	if ((flags & ~ALB_PRINT_JSON) != 0)
		return alb_fail(err, ALB_EINVAL, "print: unknown flags 0x%x",
				flags);

	struct alb_emit e = {
		.ops = (flags & ALB_PRINT_JSON) ? &alb_print_json_ops
						: &alb_print_text_ops,
		.out = out,
		.image = image,
	};
	walk(&e, v);
	if (e.err == ALB_EINVAL)
		return alb_fail(err, ALB_EINVAL,
				"print: a kind is out of range or a list has "
				"elements but no storage");
	if (e.err != 0)
		return alb_fail(err, e.err, "print: cannot compute a SHA-256");
	/* Buffered write errors surface at the latest when flushing. */
	if (ferror(out) || fflush(out) != 0)
		return alb_fail(err, ALB_ESYS, "print: writing the output failed");
	return 0;
}

int alb_msg_print(FILE *out, const struct alb_msg *m, unsigned flags,
		  struct alb_error *err)
{
	return run(out, m, flags, walk_msg, NULL, err);
}

int alb_certext_print(FILE *out, const struct alb_certext *c, unsigned flags,
		      struct alb_error *err)
{
	return run(out, c, flags, walk_certext, NULL, err);
}

int alb_state_print(FILE *out, const struct alb_state *s, unsigned flags,
		    struct alb_error *err)
{
	return run(out, s, flags, walk_state, NULL, err);
}

int alb_msg_print_received(FILE *out, const struct alb_msg *m,
			   const struct alb_image_received *img, unsigned flags,
			   struct alb_error *err)
{
	if (m == NULL || img == NULL || m->kind != ALB_PAYLOAD_SUCCESS ||
	    m->u.success.kind != ALB_REPLY_UNIKERNEL_IMAGE)
		return alb_fail(err, ALB_EINVAL,
				"print: not an image reply with its image");
	return run(out, m, flags, walk_msg, img, err);
}
