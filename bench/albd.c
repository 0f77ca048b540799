/* bench-albd — what a deployment costs with albd (the fake tender standing
 * in for solo5-hvt; albd from the build tree, dbdir under /tmp on disk,
 * tmpdir on the tmpfs /dev/shm as /run is on a host). Runs as root in a
 * private network namespace with a bridge of its own. Three modes:
 *
 *   bench-albd [N...]        fleets of N tiny-image unikernels (default 100
 *                            1000): create latency (median, p99; settled
 *                            and back to back, see below), info of
 *                            all, albd's RSS, shutdown time; once without
 *                            NIC and, up to 1,000 (a bridge's port limit is
 *                            1,024), with one NIC and one block device each
 *   bench-albd --images [N]  N creates (default 100) of a 4 MB and of a
 *                            146 KB image (ELF with Solo5 notes, the rest
 *                            pseudo-random), each encoded beforehand and
 *                            timed from its first byte sent to the reply:
 *                            latency of the 1st, 10th, 50th, Nth create
 *                            against the durable-write floor measured on the
 *                            same directory right before each create (the
 *                            same bytes appended and fdatasync'ed), the
 *                            first touch of as much new memory, the least
 *                            a create costs here without albd
 *                            (bench_least.h), state-file and journal bytes
 *                            written per create
 *   bench-albd --taps [N]    N taps (default 1,000) on a bridge removed one
 *                            at a time and in one batch (alb_taps_destroy)
 *
 * Every unikernel is pinned to the same CPU, and a tender's own start
 * (exec, loader, its first steps) takes that CPU for 1-4 ms on a small
 * virtual machine. A create sent while the previous tender still starts
 * waits for the CPU before its tender can exec. So creates alternate: one
 * sent once the previous tenders have started (each has written its last
 * report line and sleeps: "settled", albd's own latency, the figure the
 * targets are about), the next right after the previous reply ("back to
 * back", what a burst of creates on one CPU sees). Both are printed.
 *
 * The fake tender and albd are taken from $ALB_FAKE_TENDER and
 * $ALB_BUILD_ROOT, else from the build tree this program belongs to.
 * $ALB_BENCH_TMPDIR_BASE and $ALB_BENCH_DBDIR_BASE move tmpdir and dbdir;
 * $ALB_BENCH_CPU pins the unikernels to another CPU than 0;
 * $ALB_BENCH_ALBD_FLAG replaces albd's -q (e.g. -vv for its step log).
 * SPDX-License-Identifier: ISC */
#include <limits.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "albd_harness.h"
#include "host_helpers.h"
#include "bench_floor.h"
#include "bench_least.h"
#include "bench_paths.h"
#include "bench_stats.h"

#define BR "bench0"
/* Runs of info over all unikernels, for its median. */
#define INFO_RUNS 21
/* Bridge ports: the kernel's BR_MAX_PORTS is 1,024. */
#define NIC_MAX 1000
/* Samples of each durable-write floor. */
#define FLOOR_RUNS 15
#define MAX_COUNTS 8
/* How long a tender may take to start before the bench gives up. */
#define SETTLE_MS_MAX 5000

static int ns_count[MAX_COUNTS];
static size_t n_counts;
static enum { FLEETS, IMAGES, TAPS } mode = FLEETS;

/* Percentile p of v[0..n) in microseconds (sorts v). */
static double pct(int64_t *v, size_t n, double p)
{
	bench_sort_i64(v, n);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return (double)v[i];
}

static long read_long(const char *path)
{
	char *t = h_read_file(path, NULL);
	long v = t != NULL ? atol(t) : -1;
	free(t);
	return v;
}

/* The albd running now: a failure stops it (and so its tenders). */
static struct harness *running;

static void die(const char *what)
{
	fprintf(stderr, "bench-albd: %s\n", what);
	if (running != NULL && running->pid > 0)
		h_stop(running, SIGTERM);
	exit(1);
}

/* One command on a new connection, timed from send to reply (us). */
static int64_t timed_call(struct harness *h, const char *name,
			  const struct alb_command *cmd, const char *expect,
			  struct alb_msg **out)
{
	struct alb_client *c = NULL;
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	if (alb_client_connect(h->sock, 60000, &c, &err) != 0)
		die(err.msg);
	int64_t t0 = h_now_us();
	if (alb_client_send(c, name, cmd, NULL, NULL, &err) != 0 ||
	    alb_client_recv(c, &m, &err) != 0) {
		fprintf(stderr, "bench-albd: %s: %s\n", name, err.msg);
		die("call failed");
	}
	int64_t us = h_now_us() - t0;
	alb_client_close(c);
	if (expect != NULL && strcmp(h_text(m), expect) != 0) {
		fprintf(stderr, "bench-albd: %s: %s\n", name, h_text(m));
		die("unexpected reply");
	}
	if (out != NULL)
		*out = m;
	else
		alb_msg_free(m);
	return us;
}

static const char *tmp_base = "/dev/shm";
static const char *db_base = NULL;

static void start(struct harness *h)
{
	const char *flag = getenv("ALB_BENCH_ALBD_FLAG");
	if (h_setup_in(h, "bench", tmp_base) != 0)
		die("cannot make the directories");
	if (db_base != NULL) {
		/* dbdir elsewhere: the same layout, the tender linked again */
		char db[H_PATH];
		if (H_FMT(db, "%s/alb-bench-db-XXXXXX", db_base) != 0 ||
		    mkdtemp(db) == NULL || unlink(h->tender) != 0 ||
		    rmdir(h->dbdir) != 0 || symlink(db, h->dbdir) != 0 ||
		    symlink(getenv("ALB_FAKE_TENDER"), h->tender) != 0)
			die("cannot use $ALB_BENCH_DBDIR_BASE");
	}
	running = h;
	if (h_start_albd(h, flag != NULL ? flag : "-q") != 0)
		die("cannot start albd");
}

static void teardown(struct harness *h)
{
	running = NULL;
	char target[H_PATH];
	ssize_t n = readlink(h->dbdir, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		h_rm_rf(target);
	}
	h_teardown(h);
}

/* Whether create i is timed once the previous tenders have started (odd
 * i) or right after the previous reply (even i; the first has no
 * previous). */
static bool settled_turn(size_t i)
{
	return i % 2 == 1;
}

/* Waits until the fake tender of name has started: its console log (no
 * console daemon runs here) holds its last report line, after which it
 * sleeps. */
static void tender_settled(const struct harness *h, const char *name)
{
	char path[H_PATH + 64];
	snprintf(path, sizeof(path), "%s/%s.log", h->tmpdir, name);
	for (int64_t t0 = h_now_us(); h_now_us() - t0 < SETTLE_MS_MAX * 1000;) {
		char *t = h_read_file(path, NULL);
		bool up = t != NULL && strstr(t, "fake-tender: cmdline ") != NULL;
		free(t);
		if (up)
			return;
		usleep(50);
	}
	die("a tender did not start");
}

/* Before create i (named prefix<i>): waits for the tenders of the two
 * creates before it, the last one settled and the one back to back. */
static void tenders_settled(const struct harness *h, const char *prefix,
			    size_t i)
{
	for (size_t k = i >= 2 ? i - 2 : 0; k < i; k++) {
		char name[32];
		snprintf(name, sizeof(name), "%s%zu", prefix, k);
		tender_settled(h, name);
	}
}

/* Splits lat[0..n) into its settled and back-to-back samples. */
static void split_turns(const int64_t *lat, size_t n, int64_t *settled,
			size_t *ns, int64_t *b2b, size_t *nb)
{
	*ns = *nb = 0;
	for (size_t i = 0; i < n; i++) {
		if (settled_turn(i))
			settled[(*ns)++] = lat[i];
		else
			b2b[(*nb)++] = lat[i];
	}
}

static int64_t cpu0;
static struct alb_str sleep_arg[1] = {{"--sleep-ms=100000000", 20}};

static void config_init(struct alb_unikernel_config *c, uint8_t *img,
			size_t len)
{
	memset(c, 0, sizeof(*c));
	c->typ = ALB_TYP_SOLO5;
	c->image = (struct alb_bytes){img, len};
	c->add_name = true;
	c->n_cpuids = 1;
	c->cpuids = &cpu0;
	c->memory = 16; /* thousands of them fit the memory of a small host */
	c->has_argv = true;
	c->n_argv = 1;
	c->argv = sleep_arg;
	c->numcpus = 1;
}

/* ---- fleets ---------------------------------------------------------------- */

static void fleet(size_t n, bool nic)
{
	struct harness h;
	start(&h);
	const char *names[2] = {"service", "storage"};
	unsigned types[2] = {H_NET, H_BLOCK};
	size_t len = 0;
	uint8_t *img = h_image(1, names, types, nic ? 2 : 0, 0, &len);
	if (img == NULL)
		die("cannot make an image");
	struct alb_net_dev net = {.netif = {"service", 7}, .bridge = {BR, strlen(BR)}};
	struct alb_block_dev blk = {.name = {"storage", 7}};
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	struct alb_unikernel_config *c = &cmd.u.create;
	config_init(c, img, len);
	/* the root policy's memory is the host's: 10,000 of 16 MB do not fit
	 * a small host (the fake tender uses none of it) */
	if (n > NIC_MAX)
		c->memory = 1;
	if (nic) {
		c->n_bridges = 1;
		c->bridges = &net;
		c->n_blocks = 1;
		c->blocks = &blk;
	}
	int64_t *lat = calloc(n, sizeof(*lat));
	long rss0 = h_proc_value(h.pid, "status", "VmRSS:");
	for (size_t i = 0; i < n; i++) {
		char name[32], bname[32];
		snprintf(name, sizeof(name), ":u%zu", i);
		if (nic) {
			struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
			snprintf(bname, sizeof(bname), ":storage%zu", i);
			add.u.block_size = 1;
			timed_call(&h, bname, &add, "added block device", NULL);
			blk.device = (struct alb_str){bname + 1, strlen(bname + 1)};
		}
		if (settled_turn(i))
			tenders_settled(&h, ":u", i);
		lat[i] = timed_call(&h, name, &cmd, "created unikernel", NULL);
	}
	int64_t info[INFO_RUNS];
	struct alb_command inf = {.kind = ALB_CMD_UNIKERNEL_INFO};
	for (int i = 0; i < INFO_RUNS; i++) {
		struct alb_msg *m = NULL;
		info[i] = timed_call(&h, ":", &inf, NULL, &m);
		if (m->kind != ALB_PAYLOAD_SUCCESS || m->u.success.u.infos.n != n) {
			fprintf(stderr, "bench-albd: info lists %zu of %zu\n",
				m->u.success.u.infos.n, n);
			die("info incomplete");
		}
		alb_msg_free(m);
	}
	long rss = (long)h_proc_value(h.pid, "status", "VmRSS:");
	int tenders = h_tenders(&h, NULL, 0);
	int64_t *s = calloc(n, sizeof(*s)), *b = calloc(n, sizeof(*b));
	size_t ns, nb;
	split_turns(lat, n, s, &ns, b, &nb);
	printf("N=%-5zu %-16s create: median %.3f ms, p99 %.3f ms (settled); "
	       "back to back: median %.3f ms, p99 %.3f ms | info of all: "
	       "median %.3f ms | albd RSS %.1f MiB (%.1f MiB at start) | %d "
	       "tenders | albd open-file limit %ld\n",
	       n, nic ? "1 NIC + 1 block" : "no NIC", pct(s, ns, 0.5) / 1000.0,
	       pct(s, ns, 0.99) / 1000.0, pct(b, nb, 0.5) / 1000.0,
	       pct(b, nb, 0.99) / 1000.0, pct(info, INFO_RUNS, 0.5) / 1000.0,
	       (double)rss / 1024.0, (double)rss0 / 1024.0, tenders,
	       (long)h_proc_value(h.pid, "limits", "Max open files"));
	free(s);
	free(b);
	fflush(stdout);
	int64_t t0 = h_now_us();
	int st = h_stop(&h, SIGTERM);
	printf("        shutdown of %zu%s: %.1f ms (status %d)\n", n,
	       nic ? " with one tap each, removed in batches" : "",
	       (double)(h_now_us() - t0) / 1000.0, st);
	fflush(stdout);
	teardown(&h);
	free(lat);
	free(img);
}

/* ---- real-size images -------------------------------------------------------- */

/* A Solo5 hvt image of len bytes: the notes, then pseudo-random bytes. */
static uint8_t *big_image(size_t len, uint32_t salt)
{
	size_t small;
	uint8_t *img = h_image(1, NULL, NULL, 0, salt, &small);
	if (img == NULL || len < small)
		die("cannot make an image");
	uint8_t *b = realloc(img, len);
	if (b == NULL)
		die("out of memory");
	uint64_t x = 0x9e3779b97f4a7c15ull ^ salt;
	for (size_t i = small; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (uint8_t)x;
	}
	return b;
}

/* Median of FLOOR_RUNS of: append len bytes to one file + fdatasync. */
static double floor_append(const char *dir, const uint8_t *p, size_t len)
{
	double ms = bench_floor_append(dir, p, len, FLOOR_RUNS);
	if (ms < 0)
		die("floor: cannot append to a file in dbdir");
	return ms;
}

/* Median of FLOOR_RUNS of: write len bytes to a new file + fsync + rename
 * + fsync of the directory (a whole-file replacement, or a
 * content-addressed image file). */
static double floor_replace(const char *dir, const uint8_t *p, size_t len)
{
	char tmp[H_PATH + 32], path[H_PATH + 32];
	snprintf(tmp, sizeof(tmp), "%s/floor.tmp", dir);
	snprintf(path, sizeof(path), "%s/floor", dir);
	int64_t v[FLOOR_RUNS];
	for (int i = 0; i < FLOOR_RUNS; i++) {
		int64_t t0 = h_now_us();
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || d < 0 || write(fd, p, len) != (ssize_t)len ||
		    fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0 ||
		    fsync(d) != 0)
			die("floor: replace");
		close(d);
		v[i] = h_now_us() - t0;
	}
	unlink(path);
	return pct(v, FLOOR_RUNS, 0.5) / 1000.0;
}

/* Median of FLOOR_RUNS of writing len bytes to a new file in dir (no
 * sync): the tender's copy of the image in tmpdir. */
static double copy_cost(const char *dir, const uint8_t *p, size_t len)
{
	char path[H_PATH + 32];
	snprintf(path, sizeof(path), "%s/copy-floor", dir);
	int64_t v[FLOOR_RUNS];
	for (int i = 0; i < FLOOR_RUNS; i++) {
		int64_t t0 = h_now_us();
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, p, len) != (ssize_t)len)
			die("copy: write");
		close(fd);
		unlink(path);
		v[i] = h_now_us() - t0;
	}
	return pct(v, FLOOR_RUNS, 0.5) / 1000.0;
}

/* Median of FLOOR_RUNS of the first touch of len bytes of new anonymous
 * memory, in 4 KiB pages: what a create's receive buffer costs before its
 * bytes arrive. On a VM whose host backs a page only once it is touched
 * (and takes back what the guest frees), this is most of the difference
 * between a large create and its floor. */
static double fresh_memory_cost(size_t len)
{
	int64_t v[FLOOR_RUNS];
	for (int i = 0; i < FLOOR_RUNS; i++) {
		int64_t t0 = h_now_us();
		uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			die("fresh memory: mmap");
		(void)madvise(m, len, MADV_NOHUGEPAGE);
		for (size_t k = 0; k < len; k += 4096)
			((volatile uint8_t *)m)[k] = 1;
		munmap(m, len);
		v[i] = h_now_us() - t0;
	}
	return pct(v, FLOOR_RUNS, 0.5) / 1000.0;
}

/* What albd wrote to dbdir: the journal (the largest size each segment
 * reached) and the state file (each new one's size). */
struct written {
	uint64_t seg_max[1024];
	uint64_t state_ino;
	uint64_t state_bytes;
};

static uint64_t journal_bytes(const struct written *w)
{
	uint64_t t = 0;
	for (size_t i = 0; i < 1024; i++)
		t += w->seg_max[i];
	return t;
}

static void observe(const char *dbdir, struct written *w)
{
	DIR *d = opendir(dbdir);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		char path[H_PATH * 2];
		struct stat st;
		unsigned long id;
		snprintf(path, sizeof(path), "%s/%s", dbdir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (sscanf(e->d_name, "journal.%lu", &id) == 1 && id < 1024 &&
		    (uint64_t)st.st_size > w->seg_max[id])
			w->seg_max[id] = (uint64_t)st.st_size;
		if (strcmp(e->d_name, "state") == 0 &&
		    (uint64_t)st.st_ino != w->state_ino) {
			w->state_ino = (uint64_t)st.st_ino;
			w->state_bytes += (uint64_t)st.st_size;
		}
	}
	if (d != NULL)
		closedir(d);
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write to albd");
		p += n;
		len -= (size_t)n;
	}
}

static void read_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("read from albd");
		p += n;
		len -= (size_t)n;
	}
}

/* A create encoded beforehand (the client's encoding is not albd's
 * cost): the time from its first byte sent to the last byte of the reply
 * read, in microseconds. */
static int64_t raw_create(const struct harness *h, const char *name,
			  const struct alb_command *cmd)
{
	struct alb_buf frame = {0};
	struct alb_error err = {0};
	if (alb_client_encode_command(name, cmd, ALB_ENCODE_FRAMED, &frame,
				      &err) != 0)
		die(err.msg);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(h->sock) >= sizeof(sa.sun_path))
		die("socket path too long");
	memcpy(sa.sun_path, h->sock, strlen(h->sock) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("cannot connect to albd");
	int64_t t0 = h_now_us();
	write_all(fd, frame.data, frame.len);
	uint8_t hdr[ALB_FRAME_HEADER_LEN], body[4096];
	read_all(fd, hdr, sizeof(hdr));
	size_t len = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
		     (size_t)hdr[2] << 8 | hdr[3];
	if (len > sizeof(body))
		die("reply too long");
	read_all(fd, body, len);
	int64_t us = h_now_us() - t0;
	close(fd);
	alb_buf_free(&frame);
	struct alb_msg *m = NULL;
	if (alb_msg_decode(body, len, 0, &m, &err) != 0)
		die(err.msg);
	if (strcmp(h_text(m), "created unikernel") != 0) {
		fprintf(stderr, "bench-albd: %s: %s\n", name, h_text(m));
		die("unexpected reply");
	}
	alb_msg_free(m);
	return us;
}

/* One append of len bytes to fd + fdatasync, in microseconds. */
static int64_t append_once(int fd, const uint8_t *p, size_t len)
{
	int64_t t0 = h_now_us();
	if (write(fd, p, len) != (ssize_t)len || fdatasync(fd) != 0)
		die("floor: write");
	return h_now_us() - t0;
}

/* The longest a start may take to restore the unikernels of --images. */
#define RESTORE_MS_MAX 60000

/* Whether info lists n unikernels within ms milliseconds. */
static bool all_listed(struct harness *h, size_t n, int ms)
{
	struct alb_command inf = {.kind = ALB_CMD_UNIKERNEL_INFO};
	for (int waited = 0; waited < ms; waited += 10) {
		struct alb_msg *m = NULL;
		timed_call(h, ":", &inf, NULL, &m);
		bool all = m->kind == ALB_PAYLOAD_SUCCESS &&
			   m->u.success.u.infos.n == n;
		alb_msg_free(m);
		if (all)
			return true;
		h_sleep_ms(10);
	}
	return false;
}

/* Starts albd again and prints how long it took until the n unikernels
 * were listed, and its memory then. */
static void restart(struct harness *h, size_t n, const char *what)
{
	int64_t t0 = h_now_us();
	const char *flag = getenv("ALB_BENCH_ALBD_FLAG");
	if (h_start_albd(h, flag != NULL ? flag : "-q") != 0)
		die("cannot start albd again");
	if (!all_listed(h, n, RESTORE_MS_MAX))
		die("the unikernels were not restored");
	printf("  %s restored the %zu in %.1f ms: albd %.1f MiB of its own "
	       "memory (RssAnon), %.1f MiB of files mapped (RssFile)\n", what,
	       n, (double)(h_now_us() - t0) / 1000.0,
	       (double)h_proc_value(h->pid, "status", "RssAnon:") / 1024.0,
	       (double)h_proc_value(h->pid, "status", "RssFile:") / 1024.0);
	fflush(stdout);
}

static void images(const char *label, size_t len, size_t n)
{
	struct harness h;
	start(&h);
	uint8_t *img = big_image(len, 1);
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	config_init(&cmd.u.create, img, len);
	/* the durable-write floors of a create's bytes, on albd's dbdir */
	double fr = floor_replace(h.dbdir, img, len + 256);
	double fs = floor_append(h.dbdir, img, 64);
	double cp = copy_cost(h.tmpdir, img, len);
	double fm = fresh_memory_cost(len);
	double least[2];
	for (int after = 0; after < 2; after++) {
		least[after] = bench_least_create(h.dbdir, h.tmpdir,
						  getenv("ALB_FAKE_TENDER"),
						  cpu0, img, len, FLOOR_RUNS,
						  after);
		if (least[after] < 0)
			die("cannot measure the least create");
	}
	char fpath[H_PATH + 32];
	snprintf(fpath, sizeof(fpath), "%s/floor-append", h.dbdir);
	int ffd = open(fpath, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC,
		       0600);
	if (ffd < 0)
		die("cannot open the floor file");
	int64_t *lat = calloc(n, sizeof(*lat)), *flo = calloc(n, sizeof(*flo));
	struct written w = {0};
	uint64_t whole = 0, entries = 0;
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), ":img%zu", i);
		if (settled_turn(i))
			tenders_settled(&h, ":img", i);
		/* the floor right before each create, as the disk is now:
		 * the same bytes appended and fdatasync'ed */
		flo[i] = append_once(ffd, img, len + 256);
		/* the same size, other bytes: no two images alike */
		img[len - 1] = (uint8_t)i;
		img[len - 2] = (uint8_t)(i >> 8);
		uint64_t before = journal_bytes(&w);
		lat[i] = raw_create(&h, name, &cmd);
		observe(h.dbdir, &w);
		/* the whole-file writer rewrote every entry so far */
		entries += journal_bytes(&w) - before;
		whole += entries;
		if (getenv("ALB_BENCH_EACH") != NULL)
			printf("  create #%zu (%s): %.3f ms (floor %.3f ms), journal "
			       "%llu bytes, state %llu bytes so far\n", i + 1,
			       settled_turn(i) ? "settled" : "back to back",
			       (double)lat[i] / 1000.0, (double)flo[i] / 1000.0,
			       (unsigned long long)journal_bytes(&w),
			       (unsigned long long)w.state_bytes);
	}
	close(ffd);
	unlink(fpath);
	size_t met[2] = {0, 0};
	for (size_t i = 0; i < n; i++)
		met[settled_turn(i)] += lat[i] <= (int64_t)(1.5 * (double)flo[i]) + 500;
	printf("%s image (%zu bytes), %zu creates, dbdir %s:\n", label, len, n,
	       h.dbdir);
	printf("  the tender's copy in tmpdir (%s, no sync): %.3f ms, beside "
	       "the journal's fdatasync\n", h.tmpdir, cp);
	printf("  first touch of as much new memory (4 KiB pages; the kernel "
	       "takes that much for the journal's pages and again for the "
	       "tender's copy, and a frame as large when no spare frame buffer "
	       "holds it): %.3f ms\n", fm);
	printf("  content-addressed image file instead (write+fsync+rename+dir "
	       "fsync of the image, then a 64-byte append+fdatasync): %.3f + "
	       "%.3f ms\n", fr, fs);
	size_t at[4] = {0, 9, 49, n - 1}, shown = 0;
	for (int k = 0; k < 4; k++) {
		size_t i = at[k];
		if (i >= n || (k > 0 && i < shown))
			continue;
		shown = i + 1;
		double ms = (double)lat[i] / 1000.0, f = (double)flo[i] / 1000.0;
		printf("  create #%-4zu %8.3f ms %-14s| floor beside it: "
		       "append+fdatasync %.3f ms -> target 1.5 x floor + 0.5 = "
		       "%.3f ms: %s\n", i + 1, ms,
		       settled_turn(i) ? "(settled)" : "(back to back)", f,
		       1.5 * f + 0.5, ms <= 1.5 * f + 0.5 ? "met" : "missed");
	}
	int64_t *s = calloc(n, sizeof(*s)), *b = calloc(n, sizeof(*b));
	size_t ns, nb;
	split_turns(lat, n, s, &ns, b, &nb);
	printf("  %zu settled creates: median %.3f ms, p90 %.3f ms, max %.3f ms "
	       "| %zu within 1.5 x their floor + 0.5 ms\n", ns,
	       pct(s, ns, 0.5) / 1000.0, pct(s, ns, 0.9) / 1000.0,
	       pct(s, ns, 1.0) / 1000.0, met[1]);
	printf("  %zu back to back: median %.3f ms, p90 %.3f ms, max %.3f ms "
	       "| %zu within 1.5 x their floor + 0.5 ms\n", nb,
	       pct(b, nb, 0.5) / 1000.0, pct(b, nb, 0.9) / 1000.0,
	       pct(b, nb, 1.0) / 1000.0, met[0]);
	free(s);
	free(b);
	double fmed = pct(flo, n, 0.5) / 1000.0;
	printf("  floor: median %.3f ms, p90 %.3f ms; write+fsync+rename+dir "
	       "fsync %.3f ms\n", fmed, pct(flo, n, 0.9) / 1000.0, fr);
	printf("  the least a create costs here, without albd (the image "
	       "received into the spare frame buffer, its SHA-256, the tender's copy, its "
	       "append+fdatasync, the tender spawned pinned): median %.3f ms "
	       "with the spawn beside the fdatasync, %.3f ms after it; 1.5 x "
	       "the median floor + 0.5 = %.3f ms\n", least[0], least[1],
	       1.5 * fmed + 0.5);
	printf("  bytes written per create: journal %.0f, state file %.0f (by "
	       "compactions); the whole-file writer: %.0f\n",
	       (double)journal_bytes(&w) / (double)n,
	       (double)w.state_bytes / (double)n, (double)whole / (double)n);
	/* the images of the unikernels that run: albd's own memory, or
	 * page cache mapped from the journal (which the kernel may reclaim) */
	printf("  albd after %zu creates: %.1f MiB of its own memory (RssAnon), "
	       "%.1f MiB of files mapped (RssFile); the images: %.1f MiB\n", n,
	       (double)h_proc_value(h.pid, "status", "RssAnon:") / 1024.0,
	       (double)h_proc_value(h.pid, "status", "RssFile:") / 1024.0,
	       (double)(len * n) / 1048576.0);
	fflush(stdout);
	/* a crash: the next start replays the journal's records since the
	 * last compaction over the state file */
	h_stop(&h, SIGKILL);
	restart(&h, n, "after a crash (SIGKILL), a start");
	int64_t t0 = h_now_us();
	int st = h_stop(&h, SIGTERM);
	observe(h.dbdir, &w);
	printf("  shutdown of %zu (final compaction included): %.1f ms (status "
	       "%d); state file written in all %.1f MiB\n", n,
	       (double)(h_now_us() - t0) / 1000.0, st,
	       (double)w.state_bytes / 1048576.0);
	fflush(stdout);
	/* a start restores them from that state file */
	restart(&h, n, "a start");
	h_stop(&h, SIGTERM);
	free(flo);
	free(lat);
	free(img);
	teardown(&h);
}

/* ---- taps ------------------------------------------------------------------------- */

static void make_taps(struct alb_ifname *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (alb_tap_create(NULL, BR, t[i].name, NULL) != 0)
			die("cannot make a tap");
}

static void taps(size_t n)
{
	struct alb_ifname *t = calloc(n, sizeof(*t));
	struct alb_error err;
	make_taps(t, n);
	int64_t t0 = h_now_us();
	for (size_t i = 0; i < n; i++)
		if (alb_tap_destroy(NULL, t[i].name, &err) != 0)
			die(err.msg);
	double one = (double)(h_now_us() - t0) / 1000.0;
	make_taps(t, n);
	t0 = h_now_us();
	if (alb_taps_destroy(NULL, t, n, &err) != 0)
		die(err.msg);
	double batch = (double)(h_now_us() - t0) / 1000.0;
	printf("%zu taps on a bridge removed one at a time: %.1f ms; in one "
	       "batch: %.1f ms (%.1fx)\n", n, one, batch, one / batch);
	free(t);
}

/* ---- main ----------------------------------------------------------------------------- */

static int body(void)
{
	struct alb_net *net;
	if (alb_net_new(&net, NULL) != 0 || alb_bridge_create(net, BR, NULL) != 0)
		die("cannot make a bridge");
	alb_net_free(net);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	printf("host: pid_max %ld, threads-max %ld, open files (hard) %llu\n",
	       read_long("/proc/sys/kernel/pid_max"),
	       read_long("/proc/sys/kernel/threads-max"),
	       (unsigned long long)rl.rlim_max);
	fflush(stdout);
	switch (mode) {
	case FLEETS:
		for (size_t i = 0; i < n_counts; i++) {
			fleet((size_t)ns_count[i], false);
			if (ns_count[i] <= NIC_MAX)
				fleet((size_t)ns_count[i], true);
		}
		break;
	case IMAGES: {
		size_t n = n_counts ? (size_t)ns_count[0] : 100;
		images("4 MB", 4u << 20, n);
		images("146 KB", 146u * 1024u, n);
		break;
	}
	case TAPS:
		taps(n_counts ? (size_t)ns_count[0] : 1000);
		break;
	}
	fflush(stdout); /* the caller ends with _exit() */
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--images") == 0)
			mode = IMAGES;
		else if (strcmp(argv[i], "--taps") == 0)
			mode = TAPS;
		else if (n_counts < MAX_COUNTS && atoi(argv[i]) > 1)
			ns_count[n_counts++] = atoi(argv[i]);
		else
			die("usage: bench-albd [--images | --taps] [N...] (N >= 2)");
	}
	if (mode == FLEETS && n_counts == 0) {
		ns_count[n_counts++] = 100;
		ns_count[n_counts++] = 1000;
	}
	bench_default_paths();
	if (getenv("ALB_BENCH_TMPDIR_BASE") != NULL)
		tmp_base = getenv("ALB_BENCH_TMPDIR_BASE");
	db_base = getenv("ALB_BENCH_DBDIR_BASE");
	cpu0 = getenv("ALB_BENCH_CPU") ? atoi(getenv("ALB_BENCH_CPU")) : 0;
	return run_in_netns(body);
}
