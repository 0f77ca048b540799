/* alb-deploy and alb-info — the values of options: integers, block and
 * network devices, names and paths, --since, files, and the create,
 * restart and policy values built from them (see cli_common.h).
 * SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"

/* ---- values ------------------------------------------------------------ */

int cli_parse_int(const char *s, int64_t *out, struct alb_error *err)
{
	const char *p = s;
	bool neg = false;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	/* strtoull alone would accept spaces and a second sign. */
	bool digits = *p != '\0';
	for (const char *q = p; *q != '\0'; q++)
		if (base == 10 ? (*q < '0' || *q > '9') : !strchr("0123456789abcdefABCDEF", *q))
			digits = false;
	errno = 0;
	unsigned long long v = digits ? strtoull(p, NULL, base) : 0;
	uint64_t lim = neg ? (uint64_t)CLI_INT_MAX + 1 : (uint64_t)CLI_INT_MAX;
	if (!digits || errno == ERANGE || v > lim)
		return cli_fail(err, ALB_EPARSE,
				"invalid value '%s', expected an integer", s);
	*out = neg ? (int64_t)(0 - (uint64_t)v) : (int64_t)v;
	return 0;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

/* "name" or "name:device" (albatross-client's colon_separated). */
static int parse_colon(struct cli_args *a, const char *s, size_t len,
		       struct alb_str *first, struct alb_str *second,
		       struct alb_error *err)
{
	const char *colon = memchr(s, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon + 1 - s)))
		return cli_fail(err, ALB_EPARSE,
				"format is 'name' or 'name:device-name'");
	size_t l1 = colon == NULL ? len : (size_t)(colon - s);
	first->ptr = cli_own(a, strndup(s, l1));
	first->len = l1;
	second->ptr = NULL;
	second->len = 0;
	if (first->ptr == NULL)
		return cli_fail(err, ALB_ENOMEM, "out of memory");
	if (colon != NULL) {
		size_t l2 = len - l1 - 1;
		second->ptr = cli_own(a, strndup(colon + 1, l2));
		second->len = l2;
		if (second->ptr == NULL)
			return cli_fail(err, ALB_ENOMEM, "out of memory");
	}
	return 0;
}

int cli_parse_block(struct cli_args *a, const char *s,
		    struct alb_block_dev *out, struct alb_error *err)
{
	struct alb_block_dev b;
	memset(&b, 0, sizeof(b));
	size_t n_at = count_char(s, '@');
	if (n_at > 1)
		return cli_fail(err, ALB_EPARSE,
				"format is 'name[@sector-size]' or 'name:device-name[@sector-size]'");
	size_t len = strlen(s);
	if (n_at == 1) {
		const char *at = strchr(s, '@');
		int64_t sector;
		if (cli_parse_int(at + 1, &sector, NULL) < 0)
			return cli_fail(err, ALB_EPARSE,
					"sector size must be an integer");
		if (sector < CLI_SECTOR_MIN || (sector & (sector - 1)) != 0)
			return cli_fail(err, ALB_EPARSE,
					"sector size must be a power of two greater than or equal 512");
		b.has_sector_size = true;
		b.sector_size = sector;
		len = (size_t)(at - s);
	}
	int rc = parse_colon(a, s, len, &b.name, &b.device, err);
	if (rc == 0)
		*out = b;
	return rc;
}

int cli_parse_net(struct cli_args *a, const char *s, struct alb_net_dev *out,
		  struct alb_error *err)
{
	struct alb_net_dev d;
	memset(&d, 0, sizeof(d));
	size_t n_at = count_char(s, '@');
	if (n_at > 1)
		return cli_fail(err, ALB_EPARSE, "format is [name:]bridge[@mac]");
	size_t len = strlen(s);
	if (n_at == 1) {
		const char *at = strchr(s, '@');
		int rc = alb_mac_parse(at + 1, strlen(at + 1), d.mac, err);
		if (rc < 0)
			return rc;
		d.has_mac = true;
		len = (size_t)(at - s);
	}
	int rc = parse_colon(a, s, len, &d.netif, &d.bridge, err);
	if (rc == 0)
		*out = d;
	return rc;
}

/* ---- --since ----------------------------------------------------------- */

/* n decimal digits at *p (advanced past them); false when absent. */
static bool digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

static bool expect_char(const char **p, const char *set)
{
	if (**p == '\0' || strchr(set, **p) == NULL)
		return false;
	(*p)++;
	return true;
}

/* cli_parse_since() without the message: false when s is no time. */
static bool parse_time(const char *s, struct alb_time *out)
{
	const char *p = s;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int y, mo, d, h = 0, mi = 0, sec = 0, off = 0;
	uint32_t nsec = 0;
	if (!digits(&p, 4, &y) || !expect_char(&p, "-") || !digits(&p, 2, &mo) ||
	    !expect_char(&p, "-") || !digits(&p, 2, &d))
		return false;
	if (*p != '\0') {
		if (!expect_char(&p, "Tt ") || !digits(&p, 2, &h) ||
		    !expect_char(&p, ":") || !digits(&p, 2, &mi) ||
		    !expect_char(&p, ":") || !digits(&p, 2, &sec))
			return false;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return false;
			/* Digits past nanoseconds are dropped. */
			uint32_t scale = 100000000;
			for (; isdigit((unsigned char)*p); p++, scale /= 10)
				nsec += (uint32_t)(*p - '0') * scale;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;
			if (!digits(&p, 2, &oh) || !expect_char(&p, ":") ||
			    !digits(&p, 2, &om) || oh > 23 || om > 59)
				return false;
			off = sign * (oh * 3600 + om * 60);
		} else {
			return false;
		}
		if (*p != '\0')
			return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	/* timegm normalises a 31st of a short month: such dates are wrong. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return false;
	out->sec = (int64_t)t - off;
	out->nsec = nsec;
	return true;
}

int cli_parse_since(const char *s, struct alb_time *out, struct alb_error *err)
{
	if (!parse_time(s, out))
		return cli_fail(err, ALB_EPARSE,
				"invalid value '%s', expected an RFC 3339 "
				"timestamp or YYYY-MM-DD", s);
	return 0;
}

int cli_prefix_fail(struct alb_error *err, int code, const char *prefix)
{
	if (err == NULL)
		return code;
	char msg[ALB_ERROR_MSG_MAX];
	memcpy(msg, err->msg, sizeof(msg));
	msg[sizeof(msg) - 1] = '\0';
	return cli_fail(err, code, "%s: %s", prefix, msg);
}

int cli_name(const char *what, const char *s, char *out, struct alb_error *err)
{
	int rc = alb_name_parse(s, strlen(s), out, err);
	return rc < 0 ? cli_prefix_fail(err, rc, what) : 0;
}

int cli_path(const char *what, const char *s, char *out, struct alb_error *err)
{
	int rc = alb_path_parse(s, strlen(s), out, err);
	return rc < 0 ? cli_prefix_fail(err, rc, what) : 0;
}

int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
		  struct alb_error *err)
{
	*data = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return cli_fail(err, ALB_ESYS, "cannot read '%s': %s", path,
				strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cli_fail(err, ALB_EINVAL, "cannot read '%s': not a regular file",
				path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return cli_fail(err, ALB_ETOOBIG, "'%s' is larger than %zu bytes",
				path, max);
	}
	/* One byte more than the size tells a file that grew meanwhile. */
	size_t cap = (size_t)st.st_size + 1, n = 0;
	uint8_t *buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return cli_fail(err, ALB_ENOMEM, "out of memory");
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return cli_fail(err, ALB_ESYS, "cannot read '%s': %s", path,
					strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			free(buf);
			close(fd);
			return cli_fail(err, ALB_EINVAL,
					"cannot read '%s': it changed while being read",
					path);
		}
	}
	close(fd);
	*data = buf;
	*len = n;
	return 0;
}

/* ---- create/restart and policy values ---------------------------------- */

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

/* Sorts and removes duplicates; returns the new count. */
static size_t int_set(int64_t *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_i64);
	size_t k = 1;
	for (size_t i = 1; i < n; i++)
		if (v[i] != v[k - 1])
			v[k++] = v[i];
	return k;
}

static bool str_eq(const struct alb_str *x, const struct alb_str *y)
{
	return x->len == y->len && memcmp(x->ptr, y->ptr, x->len) == 0;
}

int cli_vm_config(struct cli_args *a, bool restart,
		  struct alb_unikernel_config *cfg, struct alb_error *err)
{
	struct cli_vm *vm = &a->vm;
	for (size_t i = 0; i < vm->n_nets; i++)
		for (size_t j = i + 1; j < vm->n_nets; j++)
			if (str_eq(&vm->nets[i].netif, &vm->nets[j].netif))
				return cli_fail(err, ALB_EINVAL,
						"Bridge names must be a set");
	for (size_t i = 0; i < vm->n_blocks; i++)
		for (size_t j = i + 1; j < vm->n_blocks; j++)
			if (str_eq(&vm->blocks[i].name, &vm->blocks[j].name))
				return cli_fail(err, ALB_EINVAL,
						"Block devices must be a set");
	vm->n_cpuids = int_set(vm->cpuids, vm->n_cpuids);
	if (vm->n_cpuids == 0)
		return cli_fail(err, ALB_EINVAL, restart ? "CPUids cannot be empty"
							 : "CPUids may not be empty");
	memset(cfg, 0, sizeof(*cfg));
	cfg->typ = vm->typ;
	cfg->has_startup = vm->has_startup;
	cfg->startup = vm->startup;
	cfg->add_name = !vm->no_add_name;
	cfg->fail.restart = vm->restart_on_fail;
	if (vm->restart_on_fail) {
		vm->n_exit_codes = int_set(vm->exit_codes, vm->n_exit_codes);
		cfg->fail.n_exit_codes = vm->n_exit_codes;
		cfg->fail.exit_codes = vm->exit_codes;
	}
	cfg->n_cpuids = vm->n_cpuids;
	cfg->cpuids = vm->cpuids;
	cfg->memory = vm->has_mem ? vm->mem : 32;
	cfg->n_blocks = vm->n_blocks;
	cfg->blocks = vm->blocks;
	cfg->n_bridges = vm->n_nets;
	cfg->bridges = vm->nets;
	cfg->has_argv = vm->n_argv > 0;
	cfg->n_argv = vm->n_argv;
	cfg->argv = vm->argv;
	cfg->numcpus = vm->numcpus;
	if (vm->linux_boot != NULL) {
		cfg->linux_boot_partition.ptr = vm->linux_boot;
		cfg->linux_boot_partition.len = strlen(vm->linux_boot);
	}
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

int cli_policy(struct cli_args *a, int64_t unikernels, struct alb_policy *p,
	       struct alb_error *err)
{
	memset(p, 0, sizeof(*p));
	size_t n_cpus = a->vm.n_cpuids;
	a->vm.n_cpuids = int_set(a->vm.cpuids, n_cpus);
	if (a->vm.n_cpuids != n_cpus)
		cli_warn(a, "CPUids is not a set");
	size_t n_br = a->n_bridges, k = 0;
	if (n_br > 0) {
		qsort(a->bridges, n_br, sizeof(*a->bridges), cmp_str);
		k = 1;
		for (size_t i = 1; i < n_br; i++)
			if (strcmp(a->bridges[i], a->bridges[k - 1]) != 0)
				a->bridges[k++] = a->bridges[i];
		if (k != n_br)
			cli_warn(a, "Bridges is not a set");
		a->n_bridges = k;
		p->bridges = cli_own(a, calloc(k, sizeof(*p->bridges)));
		if (p->bridges == NULL)
			return cli_fail(err, ALB_ENOMEM, "out of memory");
		for (size_t i = 0; i < k; i++) {
			p->bridges[i].ptr = a->bridges[i];
			p->bridges[i].len = strlen(a->bridges[i]);
		}
	}
	p->n_bridges = k;
	p->unikernels = unikernels;
	p->n_cpuids = a->vm.n_cpuids;
	p->cpuids = a->vm.cpuids;
	p->memory = a->vm.has_mem ? a->vm.mem : 512;
	p->has_block = a->has_policy_block;
	p->block = a->policy_block;
	return 0;
}

/* ---- update and stats-add values ---------------------------------------- */

int cli_parse_http_host(struct cli_args *a, const char *s, struct alb_error *err)
{
	/* "http[s]://host" with an optional '/', as albatross-client's
	 * --http-host: no path, no empty host. */
	const char *h = strncmp(s, "https://", 8) == 0 ? s + 8
			: strncmp(s, "http://", 7) == 0 ? s + 7
							 : NULL;
	size_t len = strlen(s);
	if (h == NULL || *h == '\0' || *h == '/' ||
	    (strchr(h, '/') != NULL && strchr(h, '/') != s + len - 1))
		return cli_fail(err, ALB_EPARSE, "expected http[s]://hostname");
	char *v = cli_own(a, strndup(s, s[len - 1] == '/' ? len - 1 : len));
	if (v == NULL)
		return cli_fail(err, ALB_ENOMEM, "out of memory");
	a->http_host = v;
	return 0;
}

int cli_parse_tap(struct cli_args *a, const char *s, struct alb_stats_tap *out,
		  struct alb_error *err)
{
	const char *colon = strchr(s, ':');
	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		return cli_fail(err, ALB_EPARSE, "broken, format is bridge:tap");
	out->netif.ptr = cli_own(a, strndup(s, (size_t)(colon - s)));
	out->netif.len = (size_t)(colon - s);
	out->tap.ptr = colon + 1;
	out->tap.len = strlen(colon + 1);
	if (out->netif.ptr == NULL)
		return cli_fail(err, ALB_ENOMEM, "out of memory");
	return 0;
}
