/* libalbatross — tender command lines: solo5-hvt / solo5-spt exactly as
 * Albatross builds them (spec §6.6), and QEMU for virtio images.
 * SPDX-License-Identifier: ISC */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "albatross/name.h"
#include "albatross/net.h"
#include "albatross/tender.h"
#include "base/internal.h"

/* Appends strings to an argv, keeping count of its bytes; the first
 * failure sticks in rc and later appends do nothing, so builders can run
 * straight through and check once. */
struct builder {
	struct alb_argv *out;
	size_t cap;
	size_t bytes;
	int rc;
	struct alb_error *err;
};

static void add(struct builder *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct builder *b, const char *fmt, ...)
{
	if (b->rc != 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->rc = alb_fail(b->err, ALB_EINVAL, "cannot format an argument");
		return;
	}
	if ((size_t)n + 1 > ALB_TENDER_ARGV_MAX - b->bytes) {
		b->rc = alb_fail(b->err, ALB_ETOOBIG,
				 "command line longer than %d bytes",
				 ALB_TENDER_ARGV_MAX);
		return;
	}
	struct alb_argv *a = b->out;
	/* one slot more than argc for the terminating NULL */
	if (a->argc + 2 > b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 16;
		char **v = realloc(a->argv, cap * sizeof(*v));
		if (v == NULL) {
			b->rc = alb_fail(b->err, ALB_ENOMEM, "out of memory");
			return;
		}
		a->argv = v;
		b->cap = cap;
	}
	char *s = malloc((size_t)n + 1);
	if (s == NULL) {
		b->rc = alb_fail(b->err, ALB_ENOMEM, "out of memory");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	a->argv[a->argc++] = s;
	a->argv[a->argc] = NULL;
	b->bytes += (size_t)n + 1;
}

void alb_argv_free(struct alb_argv *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

/* A string handed to execve cannot hold a NUL byte; its length must also
 * fit the "%.*s" precision, which the argv limit guarantees. */
static int check_str(const struct alb_str *s, const char *what,
		     struct alb_error *err)
{
	if (s->len > 0 && s->ptr == NULL)
		return alb_fail(err, ALB_EINVAL, "%s: missing string", what);
	if (s->len >= ALB_TENDER_ARGV_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"command line longer than %d bytes",
				ALB_TENDER_ARGV_MAX);
	if (s->len > 0 && memchr(s->ptr, '\0', s->len) != NULL)
		return alb_fail(err, ALB_EINVAL, "%s contains a NUL byte", what);
	return 0;
}

static const char *sep_after(const char *dir)
{
	size_t n = strlen(dir);
	return (n > 0 && dir[n - 1] == '/') ? "" : "/";
}

/* The file of block device d: <dbdir>/block/<path of the unikernel>:<host
 * device or name>. Albatross uses the host device string unchecked; we
 * require a label, so that no configuration can name a file outside the
 * block directory. */
static int block_file_name(const char *name, const struct alb_block_dev *d,
			   char *out, struct alb_error *err)
{
	const struct alb_str *dev = d->device.ptr != NULL ? &d->device : &d->name;
	char label[ALB_LABEL_MAX + 1];
	if (dev->ptr == NULL || !alb_label_valid(dev->ptr, dev->len))
		return alb_fail(err, ALB_EINVAL, "invalid block device name %.*s",
				dev->ptr ? (int)(dev->len > 64 ? 64 : dev->len) : 0,
				dev->ptr ? dev->ptr : "");
	memcpy(label, dev->ptr, dev->len);
	label[dev->len] = '\0';
	char path[ALB_NAME_BUF];
	alb_name_path(name, path);
	int rc = alb_name_make(path, label, out, NULL);
	if (rc != 0)
		return alb_fail(err, rc, "invalid block device name %s", label);
	return 0;
}

static int check_cmd(const struct alb_tender_cmd *c, struct alb_error *err)
{
	if (c == NULL || c->tender == NULL || c->name == NULL ||
	    c->config == NULL || c->tmpdir == NULL || c->dbdir == NULL ||
	    (c->config->n_bridges > 0 && c->nets == NULL))
		return alb_fail(err, ALB_EINVAL, "tender command: missing input");
	bool reserved_zero = ALB_RESERVED_ZERO(c);
	for (size_t i = 0; i < c->config->n_bridges && reserved_zero; i++)
		reserved_zero = ALB_RESERVED_ZERO(&c->nets[i]);
	if (!reserved_zero)
		return alb_fail(err, ALB_EINVAL,
				"tender command: reserved fields must be zero");
	if (c->kind != ALB_TENDER_HVT && c->kind != ALB_TENDER_SPT &&
	    c->kind != ALB_TENDER_QEMU)
		return alb_fail(err, ALB_EINVAL, "unknown tender kind %d",
				(int)c->kind);
	/* the name lands in file names: only a canonical one will do */
	char canon[ALB_NAME_BUF];
	if (alb_name_parse(c->name, strlen(c->name), canon, NULL) != 0 ||
	    strcmp(canon, c->name) != 0)
		return alb_fail(err, ALB_EINVAL, "invalid unikernel name %s",
				c->name);
	const struct alb_unikernel_config *k = c->config;
	if (k->memory < 1)
		return alb_fail(err, ALB_EINVAL, "memory must be at least 1 MB");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < k->n_bridges; i++) {
		rc = check_str(&k->bridges[i].netif, "network device name", err);
		if (rc == 0 && c->nets[i].tap == NULL)
			rc = alb_fail(err, ALB_EINVAL, "network device %s has no tap",
				      k->bridges[i].netif.ptr);
	}
	for (size_t i = 0; rc == 0 && i < k->n_blocks; i++)
		rc = check_str(&k->blocks[i].name, "block device name", err);
	for (size_t i = 0; rc == 0 && i < k->n_argv; i++)
		rc = check_str(&k->argv[i], "argument", err);
	return rc;
}

/* The --name= argument's value: the label, or the whole name with
 * full_name (and for a name without a label, as Albatross does). */
static const char *name_arg(const struct alb_tender_cmd *c, size_t *len)
{
	const char *label;
	*len = alb_name_label(c->name, &label);
	if (c->full_name || *len == 0) {
		*len = strlen(c->name);
		return c->name;
	}
	return label;
}

/* The unikernel's own arguments: --name=... (with add_name) and the
 * user's, which Solo5 joins with single spaces into the guest command
 * line and which QEMU takes as one -append string. */
static size_t guest_cmdline_len(const struct alb_tender_cmd *c)
{
	const struct alb_unikernel_config *k = c->config;
	size_t len = 0, n = 0;
	if (k->add_name) {
		size_t l;
		name_arg(c, &l);
		len += strlen("--name=") + l;
		n++;
	}
	for (size_t i = 0; i < k->n_argv; i++, n++)
		len += k->argv[i].len;
	return len + (n > 0 ? n - 1 : 0);
}

static void solo5_argv(struct builder *b, const struct alb_tender_cmd *c)
{
	const struct alb_unikernel_config *k = c->config;
	add(b, "%s", c->tender);
	add(b, "--mem=%lld", (long long)k->memory);
	for (size_t i = 0; i < k->n_bridges; i++)
		add(b, "--net:%.*s=%s", (int)k->bridges[i].netif.len,
		    k->bridges[i].netif.ptr, c->nets[i].tap);
	for (size_t i = 0; i < k->n_bridges; i++) {
		char mac[ALB_MAC_STR_SIZE];
		alb_mac_print(c->nets[i].mac, mac);
		add(b, "--net-mac:%.*s=%s", (int)k->bridges[i].netif.len,
		    k->bridges[i].netif.ptr, mac);
	}
	for (size_t i = 0; i < k->n_blocks && b->rc == 0; i++) {
		char file[ALB_NAME_BUF];
		b->rc = block_file_name(c->name, &k->blocks[i], file, b->err);
		add(b, "--block:%.*s=%s%sblock/%s", (int)k->blocks[i].name.len,
		    k->blocks[i].name.ptr, c->dbdir, sep_after(c->dbdir), file);
	}
	for (size_t i = 0; i < k->n_blocks; i++)
		if (k->blocks[i].has_sector_size)
			add(b, "--block-sector-size:%.*s=%lld",
			    (int)k->blocks[i].name.len, k->blocks[i].name.ptr,
			    (long long)k->blocks[i].sector_size);
	add(b, "--");
	add(b, "%s%s%s.img", c->tmpdir, sep_after(c->tmpdir), c->name);
	if (k->add_name) {
		size_t len;
		const char *n = name_arg(c, &len);
		add(b, "--name=%.*s", (int)len, n);
	}
	for (size_t i = 0; i < k->n_argv; i++)
		add(b, "%.*s", (int)k->argv[i].len, k->argv[i].ptr);
}

/* QEMU splits option values at ',' unless doubled. */
static int qemu_escape(const char *s, char *out, size_t size)
{
	size_t o = 0;
	for (; *s != '\0'; s++) {
		size_t need = (*s == ',') ? 2 : 1;
		if (o + need >= size)
			return -1;
		out[o++] = *s;
		if (*s == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
	return 0;
}

/* The default accelerator is TCG. Measured on this host (2 cores, nested
 * KVM) with examples/hello-unikernel asked to exit at once, QEMU start to
 * exit: TCG ≈ 0.06 s, KVM ≈ 1.3 s (DESIGN.md recorded 0.1 s and 2.8 s on
 * a similar machine): under nested KVM, QEMU's firmware runs slowly, and a
 * unikernel's boot is dominated by it. KVM is the better choice for
 * long-running, compute-heavy guests on bare metal, hence a host setting
 * (tests/integration/test_qemu_boot.c prints both figures). */
static const char *accel_name(enum alb_qemu_accel a)
{
	return a == ALB_QEMU_ACCEL_KVM ? "kvm" : "tcg";
}

static void qemu_argv(struct builder *b, const struct alb_tender_cmd *c)
{
	const struct alb_unikernel_config *k = c->config;
	add(b, "%s", c->tender);
	add(b, "-kernel");
	add(b, "%s%s%s.img", c->tmpdir, sep_after(c->tmpdir), c->name);

	/* the guest command line, as Solo5's tenders would join it */
	size_t len = guest_cmdline_len(c);
	if (b->rc == 0 && len + 1 > ALB_TENDER_ARGV_MAX - b->bytes) {
		b->rc = alb_fail(b->err, ALB_ETOOBIG,
				 "command line longer than %d bytes",
				 ALB_TENDER_ARGV_MAX);
		return;
	}
	char *line = malloc(len + 1);
	if (line == NULL) {
		if (b->rc == 0)
			b->rc = alb_fail(b->err, ALB_ENOMEM, "out of memory");
		return;
	}
	size_t o = 0;
	if (k->add_name) {
		size_t l;
		const char *n = name_arg(c, &l);
		o += (size_t)sprintf(line, "--name=%.*s", (int)l, n);
	}
	for (size_t i = 0; i < k->n_argv; i++) {
		if (o > 0 || i > 0)
			line[o++] = ' ';
		memcpy(line + o, k->argv[i].ptr, k->argv[i].len);
		o += k->argv[i].len;
	}
	line[o] = '\0';
	add(b, "-append");
	add(b, "%s", line);
	free(line);

	add(b, "-m");
	add(b, "%lld", (long long)k->memory);
	add(b, "-smp");
	add(b, "1");
	add(b, "-nodefaults");
	add(b, "-no-reboot");
	add(b, "-display");
	add(b, "none");
	add(b, "-serial");
	add(b, "stdio");
	add(b, "-device");
	add(b, "isa-debug-exit,iobase=0xf4,iosize=0x04");
	for (size_t i = 0; i < k->n_bridges && b->rc == 0; i++) {
		if (strchr(c->nets[i].tap, ',') != NULL) {
			b->rc = alb_fail(b->err, ALB_EINVAL, "invalid tap name %s",
					 c->nets[i].tap);
			return;
		}
		char mac[ALB_MAC_STR_SIZE];
		alb_mac_print(c->nets[i].mac, mac);
		add(b, "-netdev");
		add(b, "tap,id=n%zu,ifname=%s,script=no,downscript=no", i,
		    c->nets[i].tap);
		add(b, "-device");
		add(b, "virtio-net-pci,netdev=n%zu,mac=%s", i, mac);
	}
	for (size_t i = 0; i < k->n_blocks && b->rc == 0; i++) {
		char file[ALB_NAME_BUF], path[ALB_TENDER_PATH_MAX];
		char esc[2 * ALB_TENDER_PATH_MAX];
		b->rc = block_file_name(c->name, &k->blocks[i], file, b->err);
		if (b->rc != 0)
			return;
		int n = snprintf(path, sizeof(path), "%s%sblock/%s", c->dbdir,
				 sep_after(c->dbdir), file);
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    qemu_escape(path, esc, sizeof(esc)) != 0) {
			b->rc = alb_fail(b->err, ALB_ETOOBIG,
					 "block device path longer than %d bytes",
					 ALB_TENDER_PATH_MAX - 1);
			return;
		}
		add(b, "-drive");
		add(b, "file=%s,if=none,id=b%zu,format=raw", esc, i);
		add(b, "-device");
		if (k->blocks[i].has_sector_size)
			add(b,
			    "virtio-blk-pci,drive=b%zu,logical_block_size=%lld,"
			    "physical_block_size=%lld",
			    i, (long long)k->blocks[i].sector_size,
			    (long long)k->blocks[i].sector_size);
		else
			add(b, "virtio-blk-pci,drive=b%zu", i);
	}
	add(b, "-accel");
	add(b, "%s", accel_name(c->accel));
}

int alb_tender_argv(const struct alb_tender_cmd *cmd, struct alb_argv *out,
		    struct alb_error *err)
{
	if (out == NULL)
		return alb_fail(err, ALB_EINVAL, "tender command: missing output");
	out->argc = 0;
	out->argv = NULL;
	int rc = check_cmd(cmd, err);
	if (rc != 0)
		return rc;
	if (cmd->kind != ALB_TENDER_QEMU) {
		size_t len = guest_cmdline_len(cmd);
		if (len > ALB_TENDER_CMDLINE_MAX)
			return alb_fail(err, ALB_ETOOBIG,
					"guest command line too long (%zu bytes, max %d)",
					len, ALB_TENDER_CMDLINE_MAX);
	}
	struct builder b = {.out = out, .err = err};
	if (cmd->kind == ALB_TENDER_QEMU)
		qemu_argv(&b, cmd);
	else
		solo5_argv(&b, cmd);
	if (b.rc != 0)
		alb_argv_free(out);
	return b.rc;
}
