/* Integration: Albatross's own albatross-client works against albd and
 * alb-consoled unchanged. The traffic recorded between the real
 * albatross-client and albatrossd/albatross-console
 * (<vectors>/transcripts/NN-name/) is replayed byte for byte, as root in a
 * private network namespace, to the socket each recorded COMMAND named, and
 * every reply is compared with the recorded one: byte for byte first, then
 * structurally where a value legitimately depends on the host (the root
 * policy's CPUs, memory and block space, timestamps, the digest of an image
 * we made ourselves). One summary line per transcript says which.
 *
 * The transcripts are replayed in the order of their folder names, as the
 * listing gives them. Transcripts 10-13 (creating tenant:hello and
 * tenant:spt from real images) were left out of the recording; before the
 * first one after them the test creates those unikernels itself with the
 * configurations 14-info shows, from tiny images and the fake tender. In the recording tenant:hello printed lines, then its console
 * ended while it kept running (20-inactive-consoles lists it, yet
 * 21-restart finds it running); its tender here does the same through a
 * wrapper script around the fake tender.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include <cmocka.h>

#include "vectors.h"
#include "albd_harness.h"
#include "host_helpers.h"

/* How long a reply may take before the replay gives up on it. */
#define REPLY_TIMEOUT_S 30
/* How long the daemons get to reach a state the next step relies on. */
#define SETTLE_MS 10000
/* How long a connection Albatross keeps open must stay open. */
#define OPEN_CHECK_MS 300
/* A transcript frame file: "CC-NNN-c2s.der"; a transcript folder name. */
#define FRAME_FILE_MAX 64
#define FRAME_FILE_MAX_DIR 256
/* The unrecorded transcripts: the unikernels they created are made by the
 * test before the first transcript numbered above UNRECORDED_LAST. */
#define UNRECORDED_LAST 13
/* Most console lines a recorded `console --count=N` may ask for here. */
#define CONSOLE_COUNT_MAX 16
/* Host-dependent timestamps must lie within this many seconds of now. */
#define TIME_SLACK_S 3600

static struct harness H;
static pid_t consoled_pid;
static char transcripts[H_PATH];
static char console_sock[H_PATH * 2];
/* The transcript of `albatross-client console NAME --count=N` (empty when
 * the set has none), and N. */
static char console_transcript[FRAME_FILE_MAX_DIR];
static size_t console_count;

/* ---- transcripts ------------------------------------------------------ */

struct frame {
	bool c2s; /* client to server, else server to client */
	char file[FRAME_FILE_MAX];
	uint8_t *data;
	size_t len;
};

struct transcript {
	char name[FRAME_FILE_MAX];
	bool console; /* recorded against console.sock, else vmmd.sock */
	size_t n;
	struct frame *f;
};

static int frame_file(const struct dirent *e)
{
	size_t l = strlen(e->d_name);
	return l > 8 && l < FRAME_FILE_MAX &&
	       (strcmp(e->d_name + l - 8, "-c2s.der") == 0 ||
		strcmp(e->d_name + l - 8, "-s2c.der") == 0);
}

static void transcript_load(const char *name, struct transcript *t)
{
	char dir[H_PATH * 2];
	snprintf(dir, sizeof(dir), "%s/%s", transcripts, name);
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	size_t len;
	uint8_t *cmd = vec_read_at(dir, "COMMAND", &len);
	if (cmd == NULL)
		fail_msg("%s: no COMMAND", dir);
	char *text = calloc(1, len + 1);
	assert_non_null(text);
	memcpy(text, cmd, len);
	t->console = strstr(text, "console.sock") != NULL;
	if (!t->console && strstr(text, "vmmd.sock") == NULL)
		fail_msg("%s: COMMAND names neither vmmd.sock nor console.sock", name);
	free(text);
	free(cmd);
	struct dirent **list;
	int n = scandir(dir, &list, frame_file, alphasort);
	if (n <= 0) {
		fail_msg("%s: no frames", dir);
		return;
	}
	t->f = calloc((size_t)n, sizeof(*t->f));
	assert_non_null(t->f);
	for (int i = 0; i < n; i++) {
		struct frame *f = &t->f[t->n++];
		if (H_FMT(f->file, "%s", list[i]->d_name) != 0)
			fail_msg("%s: file name too long", list[i]->d_name);
		f->c2s = strstr(f->file, "-c2s.der") != NULL;
		f->data = vec_read_at(dir, f->file, &f->len);
		if (f->data == NULL)
			fail_msg("%s/%s: cannot read", dir, f->file);
		free(list[i]);
	}
	free(list);
}

static void transcript_free(struct transcript *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->f[i].data);
	free(t->f);
}

/* The recorded message of a frame, decoded. */
static struct alb_msg *recorded(const struct transcript *t, size_t i)
{
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	if (alb_msg_decode(t->f[i].data, t->f[i].len, 0, &m, &err) != 0)
		fail_msg("%s/%s: %s", t->name, t->f[i].file, err.msg);
	return m;
}

/* ---- verdicts ----------------------------------------------------------- */

enum verdict { IDENTICAL, EQUIVALENT, DIFFERENT };

struct result {
	enum verdict v;
	char why[ALB_ERROR_MSG_MAX];  /* the first real difference */
	char host[ALB_ERROR_MSG_MAX]; /* the host-dependent fields that differ */
	const char *file;             /* the frame being compared */
	unsigned events;              /* differences and host notes so far */
};

static void differ(struct result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void differ(struct result *r, const char *fmt, ...)
{
	r->events++;
	if (r->v == DIFFERENT)
		return;
	r->v = DIFFERENT;
	int o = snprintf(r->why, sizeof(r->why), "%s: ", r->file ? r->file : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->why + o, sizeof(r->why) - (size_t)o, fmt, ap);
	va_end(ap);
}

/* A field whose value depends on the host: noted once, and it makes an
 * otherwise identical transcript only equivalent. */
static void host_dependent(struct result *r, const char *what)
{
	r->events++;
	if (r->v == IDENTICAL)
		r->v = EQUIVALENT;
	if (strstr(r->host, what) != NULL)
		return;
	size_t o = strlen(r->host);
	snprintf(r->host + o, sizeof(r->host) - o, "%s%s", o ? ", " : "", what);
}

static int differences;

static void summary(const char *name, const struct result *r)
{
	if (r->v == IDENTICAL)
		printf("%s: identical\n", name);
	else if (r->v == EQUIVALENT)
		printf("%s: equivalent (host-dependent fields: %s)\n", name, r->host);
	else
		printf("%s: DIFFERENT: %s\n", name, r->why);
	fflush(stdout);
	if (r->v == DIFFERENT)
		differences++;
}

/* ---- structural comparison -------------------------------------------------- */

static bool str_eq(struct alb_str a, struct alb_str b)
{
	if (a.ptr == NULL || b.ptr == NULL)
		return a.ptr == b.ptr;
	return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

static bool ints_eq(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static bool strs_eq(const struct alb_str *a, size_t na, const struct alb_str *b,
		    size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return false;
	return true;
}

static bool policy_eq(const struct alb_policy *a, const struct alb_policy *b)
{
	return a->unikernels == b->unikernels &&
	       ints_eq(a->cpuids, a->n_cpuids, b->cpuids, b->n_cpuids) &&
	       a->memory == b->memory && a->has_block == b->has_block &&
	       (!a->has_block || a->block == b->block) &&
	       strs_eq(a->bridges, a->n_bridges, b->bridges, b->n_bridges);
}

/* The root policy is what albd discovered on this host (spec §4.7): its
 * CPUs, memory and block space are the host's; the number of unikernels
 * (max_int) is not, nor are the bridges (none: the namespace is private,
 * as the recording host had none either). */
static void root_policy(struct result *r, const struct alb_policy *got,
			const struct alb_policy *want)
{
	if (got->unikernels != want->unikernels)
		differ(r, "root policy allows %lld unikernels, recorded %lld",
		       (long long)got->unikernels, (long long)want->unikernels);
	else if (!strs_eq(got->bridges, got->n_bridges, want->bridges,
			  want->n_bridges))
		differ(r, "root policy bridges differ");
	else if (got->n_cpuids == 0 || got->memory <= 0 ||
		 got->has_block != want->has_block ||
		 (got->has_block && got->block <= 0))
		differ(r, "root policy not well-formed (%zu CPUs, %lld MB memory)",
		       got->n_cpuids, (long long)got->memory);
	else if (!policy_eq(got, want))
		host_dependent(r, "root policy CPUs/memory/block");
}

static void policies(struct result *r, const char *path,
		     const struct alb_named_policy *got, size_t ng,
		     const struct alb_named_policy *want, size_t nw)
{
	if (ng != nw) {
		differ(r, "%zu policies, recorded %zu", ng, nw);
		return;
	}
	for (size_t i = 0; i < ng; i++) {
		if (strcmp(got[i].name, want[i].name) != 0)
			differ(r, "policy %zu is \"%s\", recorded \"%s\"", i,
			       got[i].name, want[i].name);
		else if (strcmp(path, ":") == 0 && strcmp(got[i].name, ":") == 0)
			root_policy(r, &got[i].policy, &want[i].policy);
		else if (!policy_eq(&got[i].policy, &want[i].policy))
			differ(r, "policy \"%s\" differs", got[i].name);
	}
}

static bool plausible_time(const struct alb_time *t)
{
	int64_t now = (int64_t)time(NULL);
	return t->sec > now - TIME_SLACK_S && t->sec < now + TIME_SLACK_S &&
	       t->nsec < 1000000000u;
}

static bool fail_eq(const struct alb_fail *a, const struct alb_fail *b)
{
	return a->restart == b->restart &&
	       ints_eq(a->exit_codes, a->n_exit_codes, b->exit_codes,
		       b->n_exit_codes);
}

static const char *info_diff(const struct alb_unikernel_info *a,
			     const struct alb_unikernel_info *b)
{
	if (a->typ != b->typ)
		return "typ";
	if (a->has_startup != b->has_startup ||
	    (a->has_startup && a->startup != b->startup))
		return "startup";
	if (!fail_eq(&a->fail, &b->fail))
		return "fail behaviour";
	if (!ints_eq(a->cpuids, a->n_cpuids, b->cpuids, b->n_cpuids))
		return "CPU ids";
	if (a->memory != b->memory)
		return "memory";
	if (a->n_blocks != b->n_blocks)
		return "number of block devices";
	for (size_t i = 0; i < a->n_blocks; i++) {
		const struct alb_info_block *x = &a->blocks[i], *y = &b->blocks[i];
		if (!str_eq(x->unikernel_device, y->unikernel_device) ||
		    !str_eq(x->host_device, y->host_device) ||
		    x->sector_size != y->sector_size || x->size != y->size)
			return "block device";
	}
	if (a->n_bridges != b->n_bridges)
		return "number of network devices";
	for (size_t i = 0; i < a->n_bridges; i++) {
		const struct alb_info_net *x = &a->bridges[i], *y = &b->bridges[i];
		if (!str_eq(x->unikernel_device, y->unikernel_device) ||
		    !str_eq(x->host_device, y->host_device) ||
		    memcmp(x->mac, y->mac, ALB_MAC_LEN) != 0)
			return "network device";
	}
	if (a->has_argv != b->has_argv ||
	    !strs_eq(a->argv, a->n_argv, b->argv, b->n_argv))
		return "argv";
	if (a->numcpus != b->numcpus)
		return "numcpus";
	if (!str_eq(a->linux_boot_partition, b->linux_boot_partition))
		return "linux boot partition";
	return NULL;
}

/* The image is ours, not the recording's, so its digest differs (a
 * SHA-256 nonetheless), and so does the start time (a recent one). */
static void infos(struct result *r, const struct alb_named_info *got, size_t ng,
		  const struct alb_named_info *want, size_t nw)
{
	if (ng != nw) {
		differ(r, "%zu unikernels, recorded %zu", ng, nw);
		return;
	}
	for (size_t i = 0; i < ng; i++) {
		const struct alb_unikernel_info *a = &got[i].info, *b = &want[i].info;
		const char *what = info_diff(a, b);
		if (strcmp(got[i].name, want[i].name) != 0)
			differ(r, "unikernel %zu is \"%s\", recorded \"%s\"", i,
			       got[i].name, want[i].name);
		else if (what != NULL)
			differ(r, "%s: %s differs", got[i].name, what);
		else if (a->digest.len != b->digest.len)
			differ(r, "%s: digest of %zu bytes, recorded %zu",
			       got[i].name, a->digest.len, b->digest.len);
		else if (!plausible_time(&a->started))
			differ(r, "%s: start time %lld is not now", got[i].name,
			       (long long)a->started.sec);
		if (a->digest.len == b->digest.len &&
		    memcmp(a->digest.ptr, b->digest.ptr, a->digest.len) != 0)
			host_dependent(r, "image digest");
		if (a->started.sec != b->started.sec ||
		    a->started.nsec != b->started.nsec)
			host_dependent(r, "start time");
	}
}

static void success(struct result *r, const char *path, const struct alb_reply *a,
		    const struct alb_reply *b)
{
	if (a->kind != b->kind) {
		differ(r, "success of kind %d, recorded %d", (int)a->kind,
		       (int)b->kind);
		return;
	}
	switch (a->kind) {
	case ALB_REPLY_EMPTY:
		break;
	case ALB_REPLY_STRING:
		if (!str_eq(a->u.string, b->u.string))
			differ(r, "\"%.*s\", recorded \"%.*s\"", (int)a->u.string.len,
			       a->u.string.ptr, (int)b->u.string.len, b->u.string.ptr);
		break;
	case ALB_REPLY_POLICIES:
		policies(r, path, a->u.policies.v, a->u.policies.n, b->u.policies.v,
			 b->u.policies.n);
		break;
	case ALB_REPLY_BLOCK_DEVICES:
		if (a->u.blocks.n != b->u.blocks.n) {
			differ(r, "%zu block devices, recorded %zu", a->u.blocks.n,
			       b->u.blocks.n);
			break;
		}
		for (size_t i = 0; i < a->u.blocks.n; i++) {
			const struct alb_block_info *x = &a->u.blocks.v[i],
						    *y = &b->u.blocks.v[i];
			if (strcmp(x->name, y->name) != 0 || x->size != y->size ||
			    x->active != y->active)
				differ(r, "block device %zu is %s %lld MB %s, recorded "
				       "%s %lld MB %s", i, x->name, (long long)x->size,
				       x->active ? "active" : "inactive", y->name,
				       (long long)y->size, y->active ? "active" : "inactive");
		}
		break;
	case ALB_REPLY_BLOCK_DEVICE_IMAGE:
		if (a->u.block_compressed != b->u.block_compressed)
			differ(r, "block device image compressed flag differs");
		break;
	case ALB_REPLY_CONSOLES:
		if (a->u.consoles.n != b->u.consoles.n) {
			differ(r, "%zu consoles, recorded %zu", a->u.consoles.n,
			       b->u.consoles.n);
			break;
		}
		for (size_t i = 0; i < a->u.consoles.n; i++)
			if (strcmp(a->u.consoles.v[i], b->u.consoles.v[i]) != 0)
				differ(r, "console %zu is \"%s\", recorded \"%s\"", i,
				       a->u.consoles.v[i], b->u.consoles.v[i]);
		break;
	case ALB_REPLY_UNIKERNEL_INFO:
		infos(r, a->u.infos.v, a->u.infos.n, b->u.infos.v, b->u.infos.n);
		break;
	default:
		/* no transcript records these: equal bytes were required */
		differ(r, "reply of kind %d differs", (int)a->kind);
		break;
	}
}

static void data(struct result *r, const struct alb_data *a, const struct alb_data *b)
{
	if (a->kind != b->kind) {
		differ(r, "data of kind %d, recorded %d", (int)a->kind, (int)b->kind);
		return;
	}
	if (a->kind == ALB_DATA_CONSOLE) {
		if (!str_eq(a->u.console.line, b->u.console.line))
			differ(r, "console line \"%.*s\", recorded \"%.*s\"",
			       (int)a->u.console.line.len, a->u.console.line.ptr,
			       (int)b->u.console.line.len, b->u.console.line.ptr);
		else if (!plausible_time(&a->u.console.time))
			differ(r, "console time %lld is not now",
			       (long long)a->u.console.time.sec);
		else
			host_dependent(r, "console timestamps");
	} else if (a->kind == ALB_DATA_BLOCK) {
		if (a->u.block.has_data != b->u.block.has_data ||
		    a->u.block.data.len != b->u.block.data.len ||
		    (a->u.block.data.len > 0 &&
		     memcmp(a->u.block.data.ptr, b->u.block.data.ptr,
			    a->u.block.data.len) != 0))
			differ(r, "block data differs");
	} else {
		differ(r, "statistics data differ");
	}
}

/* Compares a reply with the recorded one: equal bytes, or else the same
 * message where only host-dependent fields differ. */
static void compare(struct result *r, const struct alb_buf *got,
		    const struct frame *want)
{
	r->file = want->file;
	if (got->len == want->len && memcmp(got->data, want->data, got->len) == 0)
		return;
	struct alb_msg *a = NULL, *b = NULL;
	struct alb_error err = {0};
	if (alb_msg_decode(got->data, got->len, 0, &a, &err) != 0) {
		differ(r, "reply does not decode: %s", err.msg);
		return;
	}
	assert_int_equal(alb_msg_decode(want->data, want->len, 0, &b, &err), 0);
	unsigned before = r->events;
	if (a->header.version != b->header.version ||
	    a->header.sequence != b->header.sequence ||
	    strcmp(a->header.name, b->header.name) != 0)
		differ(r, "header (%lld, %lld, \"%s\"), recorded (%lld, %lld, \"%s\")",
		       (long long)a->header.version, (long long)a->header.sequence,
		       a->header.name, (long long)b->header.version,
		       (long long)b->header.sequence, b->header.name);
	else if (a->kind != b->kind)
		differ(r, "payload kind %d, recorded %d%s%.*s", (int)a->kind,
		       (int)b->kind, a->kind == ALB_PAYLOAD_FAILURE ? ": " : "",
		       a->kind == ALB_PAYLOAD_FAILURE ? (int)a->u.failure.len : 0,
		       a->kind == ALB_PAYLOAD_FAILURE ? a->u.failure.ptr : "");
	else if (a->kind == ALB_PAYLOAD_FAILURE && !str_eq(a->u.failure, b->u.failure))
		differ(r, "failure \"%.*s\", recorded \"%.*s\"", (int)a->u.failure.len,
		       a->u.failure.ptr, (int)b->u.failure.len, b->u.failure.ptr);
	else if (a->kind == ALB_PAYLOAD_SUCCESS)
		success(r, b->header.name, &a->u.success, &b->u.success);
	else if (a->kind == ALB_PAYLOAD_DATA)
		data(r, &a->u.data, &b->u.data);
	else if (a->kind == ALB_PAYLOAD_COMMAND)
		differ(r, "a command instead of a reply");
	/* nothing but the bytes differ: a different encoding of one value */
	if (r->events == before)
		differ(r, "same value, other encoding (%zu bytes, recorded %zu)",
		       got->len, want->len);
	alb_msg_free(a);
	alb_msg_free(b);
}

/* ---- replaying ------------------------------------------------------------ */

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail_msg("connect %s: %s", path, strerror(errno));
	/* a daemon that does not answer fails the test instead of hanging it */
	struct timeval tv = {REPLY_TIMEOUT_S, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Whether the daemon keeps reading after its reply to the transcript's
 * command: albatrossd does after Policy_add (spec §2.3: the TLS endpoint
 * sends its real command on the same connection), else it closes. */
static bool keeps_reading(const struct transcript *t)
{
	for (size_t i = 0; i < t->n; i++) {
		if (!t->f[i].c2s)
			continue;
		struct alb_msg *m = recorded(t, i);
		bool keep = m->kind == ALB_PAYLOAD_COMMAND &&
			    m->u.command.kind == ALB_CMD_POLICY_ADD;
		alb_msg_free(m);
		return keep;
	}
	return false;
}

/* After the last recorded reply: nothing more, and the connection closed
 * (or, where Albatross keeps reading, still open after a while). */
static void after_reply(struct result *r, int fd, bool keep)
{
	r->file = "after the last reply";
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int ready = poll(&p, 1, keep ? OPEN_CHECK_MS : REPLY_TIMEOUT_S * 1000);
	if (keep && ready == 0)
		return;
	if (ready <= 0) {
		differ(r, "the connection was not closed");
		return;
	}
	struct alb_buf more = {0};
	struct alb_error err = {0};
	int rc = alb_frame_read_fd(fd, 0, &more, &err);
	if (rc == 0)
		differ(r, "an extra frame of %zu bytes", more.len);
	else if (rc != ALB_EEOF)
		differ(r, "the connection failed: %s", err.msg);
	else if (keep)
		differ(r, "closed, where Albatross keeps reading");
	alb_buf_free(&more);
}

/* Sends the recorded client frames of a transcript verbatim (each with its
 * 4-byte length: wire messages, raw Block_set chunks and the empty end of
 * a stream alike) to the socket its COMMAND named, and compares the
 * replies with the recorded ones. s2c_max limits how many replies are
 * read (0: all, and then the daemon must close the connection, as
 * Albatross's do). */
static enum verdict replay(const char *name, size_t s2c_max)
{
	struct transcript t;
	transcript_load(name, &t);
	struct result r = {.v = IDENTICAL};
	int fd = connect_unix(t.console ? console_sock : H.sock);
	struct alb_error err = {0};
	for (size_t i = 0; i < t.n; i++)
		if (t.f[i].c2s && alb_frame_write_fd(fd, t.f[i].data, t.f[i].len,
						     &err) != 0)
			fail_msg("%s/%s: %s", name, t.f[i].file, err.msg);
	size_t seen = 0;
	for (size_t i = 0; i < t.n && r.v != DIFFERENT; i++) {
		if (t.f[i].c2s)
			continue;
		if (s2c_max != 0 && seen == s2c_max)
			break;
		seen++;
		struct alb_buf got = {0};
		r.file = t.f[i].file;
		if (alb_frame_read_fd(fd, 0, &got, &err) != 0)
			differ(&r, "no reply: %s", err.msg);
		else
			compare(&r, &got, &t.f[i]);
		alb_buf_free(&got);
	}
	if (s2c_max == 0 && r.v != DIFFERENT)
		after_reply(&r, fd, keeps_reading(&t));
	close(fd);
	transcript_free(&t);
	summary(name, &r);
	return r.v;
}

/* A transcript albd answers differently ON PURPOSE: its request is sent
 * verbatim and albd's reply must be exactly the Failure `failure` with the
 * request's header echoed. */
static void replay_deliberate(const char *name, const char *failure,
			      const char *why)
{
	struct transcript t;
	transcript_load(name, &t);
	int fd = connect_unix(t.console ? console_sock : H.sock);
	struct alb_error err = {0};
	struct alb_msg *req = NULL, *reply = NULL;
	for (size_t i = 0; i < t.n; i++) {
		if (!t.f[i].c2s)
			continue;
		assert_int_equal(alb_frame_write_fd(fd, t.f[i].data, t.f[i].len, &err), 0);
		if (req == NULL)
			assert_int_equal(alb_msg_decode(t.f[i].data, t.f[i].len, 0, &req, &err), 0);
	}
	assert_non_null(req);
	struct alb_buf got = {0};
	assert_int_equal(alb_frame_read_fd(fd, 0, &got, &err), 0);
	assert_int_equal(alb_msg_decode(got.data, got.len, 0, &reply, &err), 0);
	assert_int_equal(reply->kind, ALB_PAYLOAD_FAILURE);
	assert_string_equal(reply->u.failure.ptr, failure);
	assert_int_equal(reply->header.version, req->header.version);
	assert_int_equal(reply->header.sequence, req->header.sequence);
	assert_string_equal(reply->header.name, req->header.name);
	printf("%s: deliberately different: \"%s\" (%s)\n", name, failure, why);
	fflush(stdout);
	alb_msg_free(reply);
	alb_msg_free(req);
	alb_buf_free(&got);
	close(fd);
	transcript_free(&t);
}

/* ---- the daemons and the unikernels -------------------------------------- */

/* solo5-hvt for tenant:hello: the fake tender's checks and report, the
 * console lines of the console transcript (printed by printf '%s\n' and
 * the lines as arguments), then the fake tender again, running until
 * SIGTERM with its console closed. */
static const char hvt_script_head[] =
	"#!/bin/sh\n"
	"case \"$1\" in --version|--help) exec '%s' \"$@\";; esac\n"
	"'%s' \"$@\" || exit $?\n"
	"printf '%%s\\n'";
static const char hvt_script_tail[] =
	"\nexec '%s' \"$@\" --sleep-ms=3600000 </dev/null >/dev/null 2>&1\n";

/* The lines tenant:hello's console handed to the console transcript; how
 * many. */
static size_t recorded_lines(char lines[][ALB_CONSOLE_STORED_MAX + 1])
{
	if (console_transcript[0] == '\0')
		return 0;
	struct transcript t;
	transcript_load(console_transcript, &t);
	size_t k = 0;
	for (size_t i = 0; i < t.n && k < console_count; i++) {
		if (t.f[i].c2s)
			continue;
		struct alb_msg *m = recorded(&t, i);
		if (m->kind == ALB_PAYLOAD_DATA && m->u.data.kind == ALB_DATA_CONSOLE) {
			struct alb_str l = m->u.data.u.console.line;
			assert_true(l.len <= ALB_CONSOLE_STORED_MAX);
			/* they go between single quotes in the script */
			assert_null(memchr(l.ptr, '\'', l.len));
			memcpy(lines[k], l.ptr, l.len);
			lines[k++][l.len] = '\0';
		}
		alb_msg_free(m);
	}
	assert_int_equal(k, console_count);
	transcript_free(&t);
	return k;
}

static int install_tenders(void)
{
	const char *fake = getenv("ALB_FAKE_TENDER");
	static char lines[CONSOLE_COUNT_MAX][ALB_CONSOLE_STORED_MAX + 1];
	size_t n = recorded_lines(lines);
	size_t cap = sizeof(hvt_script_head) + sizeof(hvt_script_tail) + 3 * strlen(fake) +
		     n * (ALB_CONSOLE_STORED_MAX + 3) + 8;
	char *script = malloc(cap);
	char spt[H_PATH * 2];
	if (script == NULL || strchr(fake, '\'') != NULL)
		return -1;
	size_t o = (size_t)snprintf(script, cap, hvt_script_head, fake, fake);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(script + o, cap - o, " '%s'", lines[i]);
	if (n == 0)
		o += (size_t)snprintf(script + o, cap - o, " ''");
	snprintf(script + o, cap - o, hvt_script_tail, fake);
	snprintf(spt, sizeof(spt), "%s/solo5-spt", H.dbdir);
	unlink(H.tender);
	int rc = h_write_file(H.tender, script, strlen(script)) != 0 ||
			 chmod(H.tender, 0755) != 0 || symlink(fake, spt) != 0
		 ? -1
		 : 0;
	free(script);
	return rc;
}

static int start_consoled(void)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	char exe[H_PATH], tmparg[H_PATH + 16], util[H_PATH * 2];
	if (H_FMT(exe, "%s/cli/alb-consoled", build ? build : ".") != 0 ||
	    H_FMT(tmparg, "--tmpdir=%s", H.tmpdir) != 0 ||
	    H_FMT(util, "%s/util", H.tmpdir) != 0 ||
	    H_FMT(console_sock, "%s/console.sock", util) != 0 ||
	    access(exe, X_OK) != 0)
		return -1;
	mkdir(util, 0755);
	fflush(stdout);
	fflush(stderr);
	consoled_pid = fork();
	if (consoled_pid < 0)
		return -1;
	if (consoled_pid == 0) {
		execl(exe, exe, tmparg, (char *)NULL);
		test_child_exit(127);
	}
	for (int64_t end = h_now_us() + (int64_t)SETTLE_MS * 1000; h_now_us() < end;
	     h_sleep_ms(10)) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		memcpy(sa.sun_path, console_sock, strlen(console_sock) + 1);
		bool up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (up)
			return 0;
	}
	return -1;
}

static int setup(void **state)
{
	(void)state;
	if (h_setup(&H, "replay") != 0 || install_tenders() != 0 ||
	    start_consoled() != 0)
		return -1;
	return h_start_albd(&H, NULL);
}

static int teardown(void **state)
{
	(void)state;
	int st = h_stop(&H, SIGTERM);
	if (consoled_pid > 0) {
		kill(consoled_pid, SIGTERM);
		waitpid(consoled_pid, NULL, 0);
	}
	h_teardown(&H);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

#define S(lit) ((struct alb_str){(lit), sizeof(lit) - 1})

/* Creates a unikernel of tenant: as albatross-client create does by
 * default (32 MB on CPU 0, quit on exit, --name added), from a tiny image
 * of target (1 hvt, 2 spt) with the given block devices and argv. */
static void create(const char *name, uint32_t target, struct alb_block_dev *blocks,
		   size_t n_blocks, struct alb_str *argv, size_t n_argv)
{
	const char *names[4];
	unsigned types[4];
	assert_true(n_blocks <= 4);
	for (size_t i = 0; i < n_blocks; i++) {
		names[i] = blocks[i].name.ptr;
		types[i] = H_BLOCK;
	}
	size_t len;
	uint8_t *image = h_image(target, names, types, n_blocks, target, &len);
	assert_non_null(image);
	int64_t cpu0 = 0;
	struct alb_command c = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	struct alb_unikernel_config *u = &c.u.create;
	u->typ = ALB_TYP_SOLO5;
	u->image = (struct alb_bytes){image, len};
	u->add_name = true;
	u->n_cpuids = 1;
	u->cpuids = &cpu0;
	u->memory = 32;
	u->n_blocks = n_blocks;
	u->blocks = blocks;
	u->has_argv = n_argv > 0;
	u->n_argv = n_argv;
	u->argv = argv;
	u->numcpus = 1;
	assert_true(h_call_is(&H, name, &c, "created unikernel"));
	free(image);
}

/* The number of unikernels info lists for name. */
static size_t running(const char *name)
{
	struct alb_command c = {.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_msg *m = h_call(&H, name, &c);
	assert_non_null(m);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	size_t n = m->u.success.u.infos.n;
	alb_msg_free(m);
	return n;
}

/* Whether alb-consoled lists n inactive consoles under path. */
static bool inactive_consoles(const char *path, size_t n)
{
	struct alb_client *cl = NULL;
	struct alb_msg *m = NULL;
	struct alb_command c = {.kind = ALB_CMD_CONSOLE_LIST_INACTIVE};
	bool ok = alb_client_connect(console_sock, REPLY_TIMEOUT_S * 1000, &cl,
				     NULL) == 0 &&
		  alb_client_send(cl, path, &c, NULL, NULL, NULL) == 0 &&
		  alb_client_recv(cl, &m, NULL) == 0 &&
		  m->kind == ALB_PAYLOAD_SUCCESS &&
		  m->u.success.kind == ALB_REPLY_CONSOLES &&
		  m->u.success.u.consoles.n == n;
	alb_msg_free(m);
	alb_client_close(cl);
	return ok;
}

/* ---- the transcripts, in the recorded order ---------------------------------- */

static void expect_no_difference(int before)
{
	assert_int_equal(differences, before);
}

/* The unrecorded transcripts 10-13: the unikernels 14-info shows. */
static void create_unrecorded(void)
{
	struct alb_block_dev storage = {.name = S("storage"), .device = S("disk2")};
	struct alb_str forced = S("Forced");
	create("tenant:hello", 1, &storage, 1, &forced, 1);
	create("tenant:spt", 2, NULL, 0, NULL, 0);
	/* spt exits at once, hello's console ends: wait for both */
	bool settled = false;
	for (int64_t end = h_now_us() + (int64_t)SETTLE_MS * 1000;
	     !settled && h_now_us() < end; h_sleep_ms(20))
		settled = running(":") == 1 && inactive_consoles("tenant:", 2);
	assert_true(settled);
}

/* Transcript folders ("NN-name"), not the files beside them. */
static int transcript_dir(const struct dirent *e)
{
	return e->d_name[0] != '.' && strchr(e->d_name, '.') == NULL;
}

static void test_transcripts(void **state)
{
	(void)state;
	int before = differences;
	struct dirent **list;
	int n = scandir(transcripts, &list, transcript_dir, alphasort);
	assert_true(n >= 0);
	bool created = false;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (!created && atoi(name) > UNRECORDED_LAST) {
			create_unrecorded();
			created = true;
		}
		if (strcmp(name, "25-destroy-again") == 0)
			/* albatrossd's exit waiter puts a destroyed unikernel's
			 * name into its "restarting" set even for destroy's own
			 * waiter (a leak, spec §6.3 step 10), so a second destroy
			 * "succeeds" with "destroyed: removed from restarting";
			 * albd keeps no such leftover and reports that the
			 * unikernel is not there, as a destroy of any unknown
			 * name does */
			replay_deliberate(name, "destroy: not found",
					  "albatrossd answers from a leaked restarting entry");
		else if (strcmp(name, console_transcript) == 0)
			/* the subscription's history; the recorded live lines
			 * came from the recording host's unikernel and the
			 * client was stopped by hand */
			replay(name, 1 + console_count);
		else
			/* 08-dump-block: disk2's data was never set in the
			 * recording (05's set-block could not connect), so the
			 * dump is 1 MiB of zeros here too */
			replay(name, 0);
		free(list[i]);
	}
	free(list);
	printf("%d transcripts replayed\n", n);
	expect_no_difference(before);
}

/* albd's state file against albatrossd's final one: the same policies
 * (the root one's host-dependent fields aside) and the same unikernels
 * with the same configurations, their image bytes aside. */
static void state_compare(struct result *r, struct alb_state *got,
			  struct alb_state *want)
{
	policies(r, ":", got->policies, got->n_policies, want->policies,
		 want->n_policies);
	if (got->n_unikernels != want->n_unikernels) {
		differ(r, "%zu unikernels, recorded %zu", got->n_unikernels,
		       want->n_unikernels);
		return;
	}
	for (size_t i = 0; i < got->n_unikernels; i++) {
		if (strcmp(got->unikernels[i].name, want->unikernels[i].name) != 0)
			differ(r, "unikernel %zu is \"%s\", recorded \"%s\"", i,
			       got->unikernels[i].name, want->unikernels[i].name);
		got->unikernels[i].config.image = (struct alb_bytes){NULL, 0};
		want->unikernels[i].config.image = (struct alb_bytes){NULL, 0};
	}
	/* the configurations compared through their encoding, policies apart */
	struct alb_state a = *got, b = *want;
	a.n_policies = b.n_policies = 0;
	struct alb_buf ea = {0}, eb = {0};
	assert_int_equal(alb_state_encode(&a, &ea, NULL), 0);
	assert_int_equal(alb_state_encode(&b, &eb, NULL), 0);
	if (ea.len != eb.len || memcmp(ea.data, eb.data, ea.len) != 0)
		differ(r, "unikernel configurations differ");
	alb_buf_free(&ea);
	alb_buf_free(&eb);
}

/* One comparison of albd's state file with the recorded one. */
static void final_state_once(struct result *r, const uint8_t *raw, size_t len)
{
	struct alb_state *want = NULL;
	assert_int_equal(alb_state_decode(raw, len, 0, &want, NULL), 0);
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/state", H.dbdir);
	*r = (struct result){.v = IDENTICAL, .file = "state"};
	size_t n = 0;
	uint8_t *ours = (uint8_t *)h_read_file(path, &n);
	if (ours == NULL) {
		differ(r, "albd wrote no state file");
	} else if (n != len || memcmp(ours, raw, len) != 0) {
		struct alb_state *got = NULL;
		struct alb_error err = {0};
		if (alb_state_decode(ours, n, 0, &got, &err) != 0)
			differ(r, "does not decode: %s", err.msg);
		else
			state_compare(r, got, want);
		alb_state_free(got);
	}
	free(ours);
	alb_state_free(want);
}

static void test_final_state(void **state)
{
	(void)state;
	size_t len;
	uint8_t *raw = vec_read_at(transcripts, "final-state.der", &len);
	assert_non_null(raw);
	struct result r;
	/* albd compacts its journal into the state file on SIGHUP (it may
	 * still be appending the last change) */
	kill(H.pid, SIGHUP);
	h_sleep_ms(50);
	final_state_once(&r, raw, len);
	for (int64_t end = h_now_us() + (int64_t)SETTLE_MS * 1000;
	     r.v == DIFFERENT && h_now_us() < end; h_sleep_ms(50)) {
		kill(H.pid, SIGHUP);
		h_sleep_ms(50);
		final_state_once(&r, raw, len);
	}
	free(raw);
	int before = differences;
	summary("final-state", &r);
	expect_no_difference(before);
}

/* The transcript whose COMMAND is `albatross-client console ... --count=N`. */
static void find_console_transcript(void)
{
	struct dirent **list;
	int n = scandir(transcripts, &list, transcript_dir, alphasort);
	for (int i = 0; i < n; i++) {
		char dir[H_PATH * 2];
		size_t len;
		snprintf(dir, sizeof(dir), "%s/%s", transcripts, list[i]->d_name);
		char *cmd = (char *)vec_read_at(dir, "COMMAND", &len);
		char *c = cmd != NULL ? realloc(cmd, len + 1) : NULL;
		if (c != NULL) {
			c[len] = '\0';
			const char *count = strstr(c, " --count=");
			if (strncmp(c, "albatross-client console ", 25) == 0 && count != NULL &&
			    console_transcript[0] == '\0') {
				console_count = strtoul(count + 9, NULL, 10);
				if (console_count <= CONSOLE_COUNT_MAX)
					snprintf(console_transcript, sizeof(console_transcript),
						 "%s", list[i]->d_name);
			}
		}
		free(c != NULL ? c : cmd);
		free(list[i]);
	}
	if (n > 0)
		free(list);
}

static int tests(void)
{
	const struct CMUnitTest list[] = {
		cmocka_unit_test(test_transcripts),
		cmocka_unit_test(test_final_state),
	};
	return cmocka_run_group_tests(list, setup, teardown);
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	const char *dir = vec_dir();
	if (!vec_present(dir))
		return SKIP_STATUS;
	struct stat st;
	if (H_FMT(transcripts, "%s/transcripts", dir) != 0 || stat(transcripts, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("skipped: no transcripts in %s\n", dir);
		return SKIP_STATUS;
	}
	find_console_transcript();
	return run_in_netns(tests);
}
