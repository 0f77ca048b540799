/* bench-remote_upload — a create over TLS on the loopback, as a tenant
 * runs it: `alb-deploy create NAME IMAGE -d 127.0.0.1 --compression-level
 * 0` (the image does not fit a certificate, so it streams after the
 * handshake) to alb-tlsd, which hands the create to
 *   sink: a stand-in vmmd that answers at once (client + TLS + alb-tlsd), or
 *   albd: the real albd with the fake tender (everything, to the reply),
 * each in two ways: alb-tlsd keeping the image until it is whole, then
 * sending the whole create (as albatrossd needs it: "sink", "albd"), and
 * alb-tlsd --stream-images passing the stream on as it comes ("+s" rows),
 * which albd writes to disk while it arrives; for images of 16 and 64 MiB
 * (random bytes behind a tiny Solo5 image).
 * Prints, median of RUNS runs: the wall time from starting alb-deploy to
 * its exit and the MB/s it makes of the image size, the client's peak RSS
 * (its VmHWM, read while it runs) and alb-tlsd's (VmHWM, a fresh alb-tlsd
 * per run), next to the targets: >= 300 MB/s and peak RSS independent of
 * the size. After each whole create through albd, `alb-info get` fetches
 * that image back through alb-tlsd (the "get" rows): the same figures,
 * with the same target for the peak RSS (neither side holds it).
 * Beside albd's figure, its floor measured in the same run on albd's
 * dbdir: making the image durable (append + fdatasync, bench_floor.h),
 * which albd does before it answers, after the sink's time when alb-tlsd
 * waits for the whole image (the stream says its length only at its end),
 * or beside the streamed sink's time when it streams (the longer of the
 * two). albd's tmpdir is on /dev/shm, as /run is on a host
 * ($ALB_BENCH_TMPDIR_BASE moves it); before each run the bench waits for
 * albd to stop writing (the compaction a 64 MiB create starts) and syncs,
 * so that every run is one upload on a quiet disk.
 * Runs as root in a private network namespace; the PKI is made with
 * alb-ca. Build with --buildtype=release for figures that mean something.
 *   usage: bench-remote_upload [MiB...]      (default: 16 64)
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <dirent.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/resource.h>

#include "albd_harness.h"
#include "host_helpers.h"
#include "bench_floor.h"
#include "bench_paths.h"
#include "bench_stats.h"

#define RUNS 5
#define TARGET_MBS 300.0
/* Before a run: albd has written nothing for SETTLE_QUIET_MS (polled every
 * SETTLE_POLL_MS), or SETTLE_MAX_MS have passed. */
#define SETTLE_POLL_MS 50
#define SETTLE_QUIET_MS 300
#define SETTLE_MAX_MS 30000
#define PORT 1025

static int sizes[8];
static size_t n_sizes;
static char pki[H_PATH + 8];
static char sink_tmpdir[H_PATH + 16];
/* alb-tlsd runs with --stream-images */
static bool streaming;
/* albd, whose writes a run waits for (0: the sink) */
static pid_t albd_pid;
static const char *albd_dbdir;
/* median sink time per size, in us (the first half of albd's floor),
 * spooled [0] and streamed [1] */
static int64_t sink_us[2][8];

static const char *build_root(void)
{
	const char *b = getenv("ALB_BUILD_ROOT");
	return b != NULL ? b : ".";
}

static int64_t now_us(void)
{
	return h_now_us();
}

/* CPU time (user + system) of a finished child, in us. */
static int64_t cpu_us;

/* Whether pid runs program name now (its comm, at most 15 bytes). */
static bool execd(pid_t pid, const char *name)
{
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *f = fopen(path, "re");
	bool same = f != NULL && fgets(comm, sizeof(comm), f) != NULL;
	comm[strcspn(comm, "\n")] = '\0';
	same = same && strncmp(comm, name, 15) == 0;
	if (f != NULL)
		fclose(f);
	return same;
}

/* Runs a program of the build and waits; returns its exit status (-1 when
 * it did not exit), its peak RSS in KiB and its wall time in us (its CPU
 * time in cpu_us). The peak is the program's VmHWM read every 2 ms while
 * it runs: wait4's ru_maxrss would also count this bench's own memory,
 * which a child holds from the fork until its exec. */
static int run(char *const *argv, long *rss_kib, int64_t *us)
{
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/%s", build_root(), argv[0]);
	int64_t t0 = now_us();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		execv(exe, argv);
		_exit(127);
	}
	int st;
	struct rusage ru;
	long peak = 0;
	for (;;) {
		pid_t r = wait4(pid, &st, rss_kib != NULL ? WNOHANG : 0, &ru);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0) {
			/* once exec'd: before, the child's memory is ours */
			long k = execd(pid, argv[0]) ? (long)h_proc_value(pid, "status", "VmHWM:") : 0;
			peak = k > peak ? k : peak;
			h_sleep_ms(2);
		}
	}
	if (us != NULL)
		*us = now_us() - t0;
	if (rss_kib != NULL)
		*rss_kib = peak;
	cpu_us = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
		 ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static pid_t spawn(char *const *argv)
{
	char exe[512];
	snprintf(exe, sizeof(exe), "%s/cli/%s", build_root(), argv[0]);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(exe, argv);
		_exit(127);
	}
	return pid;
}

/* CPU time of a running process so far, in us: the time on a CPU of each
 * of its threads (/proc/PID/task/TID/schedstat, in ns; a clock tick is too
 * coarse for a run of a few hundred ms). */
static int64_t proc_cpu_us(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	unsigned long long ns = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char f[sizeof(path) + sizeof(e->d_name) + 16];
		snprintf(f, sizeof(f), "/proc/%d/task/%s/schedstat", (int)pid,
			 e->d_name);
		FILE *fp = fopen(f, "re");
		unsigned long long t = 0;
		if (fp != NULL && fscanf(fp, "%llu", &t) == 1)
			ns += t;
		if (fp != NULL)
			fclose(fp);
	}
	closedir(d);
	return (int64_t)(ns / 1000);
}

static bool port_open(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(PORT)};
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	bool ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(s);
	return ok;
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* ---- the stand-in vmmd ---------------------------------------------------- */

/* Answers every command with a success, as vmmd answers Policy_add and
 * create; reads frames up to the protocol's limit. */
static void *sink_main(void *arg)
{
	int ls = *(int *)arg;
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			return NULL;
		for (;;) {
			struct alb_buf in = {0};
			if (alb_frame_read_fd(c, ALB_FRAME_MAX_LIMIT, &in, NULL) != 0)
				break;
			struct alb_msg *m = NULL;
			int rc = alb_msg_decode(in.data, in.len, ALB_DECODE_BORROW, &m, NULL);
			if (rc == 0 && m->kind == ALB_PAYLOAD_COMMAND &&
			    m->u.command.kind == ALB_CMD_UNIKERNEL_FORCE_CREATE &&
			    m->u.command.u.create.image.len == 0) {
				/* a streamed image: read to its end */
				struct alb_buf chunk = {0};
				while (alb_frame_read_fd(c, ALB_FRAME_MAX_LIMIT, &chunk,
							 NULL) == 0)
					alb_buf_free(&chunk);
			}
			if (rc == 0) {
				struct alb_msg r;
				memset(&r, 0, sizeof(r));
				r.header = m->header;
				r.kind = ALB_PAYLOAD_SUCCESS;
				r.u.success.kind = ALB_REPLY_STRING;
				r.u.success.u.string.ptr = "created unikernel";
				r.u.success.u.string.len = strlen("created unikernel");
				struct alb_buf out = {0};
				if (alb_msg_encode(&r, 0, &out, NULL) == 0)
					alb_frame_write_fd(c, out.data, out.len, NULL);
				alb_buf_free(&out);
				alb_msg_free(m);
			}
			alb_buf_free(&in);
			if (rc != 0)
				break;
		}
		close(c);
	}
}

static int sink_start(pthread_t *t, int *ls)
{
	char path[H_PATH + 64];
	snprintf(path, sizeof(path), "%s/util", sink_tmpdir);
	if (mkdir(sink_tmpdir, 0755) != 0 || mkdir(path, 0755) != 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/vmmd.sock", path) >=
	    (int)sizeof(sa.sun_path))
		return -1;
	*ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (bind(*ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(*ls, 8) != 0)
		return -1;
	return pthread_create(t, NULL, sink_main, ls);
}

/* ---- the runs ---------------------------------------------------------------- */

static int make_image(const char *path, size_t mib)
{
	size_t len;
	uint8_t *img = h_image(1, NULL, NULL, 0, 0, &len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int r = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	bool ok = img != NULL && fd >= 0 && r >= 0 && write(fd, img, len) == (ssize_t)len;
	uint8_t buf[65536];
	for (size_t left = mib << 20; ok && left > 0;) {
		size_t n = left < sizeof(buf) ? left : sizeof(buf);
		ok = read(r, buf, n) == (ssize_t)n && write(fd, buf, n) == (ssize_t)n;
		left -= n;
	}
	free(img);
	if (r >= 0)
		close(r);
	if (fd >= 0 && close(fd) != 0)
		ok = false;
	return ok ? 0 : -1;
}

/* Waits (at most SETTLE_MAX_MS) until albd has written nothing for
 * SETTLE_QUIET_MS, then syncs: the compaction a create starts is over
 * before the next run. */
static void settle(void)
{
	if (albd_pid <= 0)
		return;
	long long last = h_proc_value(albd_pid, "io", "write_bytes:");
	for (int quiet = 0, i = 0;
	     quiet < SETTLE_QUIET_MS / SETTLE_POLL_MS &&
	     i < SETTLE_MAX_MS / SETTLE_POLL_MS;
	     i++) {
		h_sleep_ms(SETTLE_POLL_MS);
		long long now = h_proc_value(albd_pid, "io", "write_bytes:");
		quiet = now == last ? quiet + 1 : 0;
		last = now;
	}
	sync();
}

/* Median ms of making mib MiB durable on albd's dbdir (3 runs). */
static double durable_ms(size_t mib)
{
	size_t len = mib << 20;
	uint8_t *p = malloc(len);
	if (p == NULL)
		return -1;
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 2654435761u >> 24);
	settle();
	double ms = bench_floor_append(albd_dbdir, p, len, 3);
	free(p);
	return ms;
}

/* RUNS runs of a client command through a fresh alb-tlsd in front of
 * tmpdir's daemon: wall time, CPU and peak RSS of both, per run. */
struct samples {
	int64_t us[RUNS], crss[RUNS], trss[RUNS], ccpu[RUNS], tcpu[RUNS];
	int64_t acpu[RUNS]; /* albd's, during the client's run (0: the sink) */
};

static int sample(const char *tmpdir, char *const *client, struct samples *s)
{
	for (int i = 0; i < RUNS; i++) {
		char *tlsd[] = {"alb-tlsd", "-q", "--ip", "127.0.0.1", "--tmpdir",
				(char *)tmpdir, "cacert.pem", "server.pem", "server.key",
				streaming ? "--stream-images" : NULL, NULL};
		pid_t t = spawn(tlsd);
		for (int w = 0; w < 500 && !port_open(); w++)
			h_sleep_ms(10);
		settle();
		long rss = 0;
		int64_t a0 = albd_pid != 0 ? proc_cpu_us(albd_pid) : 0;
		int st = run(client, &rss, &s->us[i]);
		s->acpu[i] = albd_pid != 0 ? proc_cpu_us(albd_pid) - a0 : 0;
		s->crss[i] = rss;
		s->ccpu[i] = cpu_us;
		s->trss[i] = h_proc_value(t, "status", "VmHWM:");
		s->tcpu[i] = proc_cpu_us(t);
		stop(t);
		if (st != 0) {
			fprintf(stderr, "%s %s exited %d\n", client[0], client[1], st);
			return -1;
		}
	}
	return 0;
}

/* Prints the medians of s for mib MiB; returns the median wall time. */
static int64_t report(const char *what, size_t mib, struct samples *s)
{
	int64_t m = bench_median_i64(s->us, RUNS);
	double bytes = (double)(mib << 20);
	char albd[32] = "";
	if (albd_pid != 0)
		snprintf(albd, sizeof(albd), " albd %6.1f",
			 (double)bench_median_i64(s->acpu, RUNS) / 1e3);
	printf("  %-6s %3zu MiB  %7.1f ms %7.1f MB/s | CPU ms: client %6.1f alb-tlsd %6.1f%s "
	       "| peak RSS KiB: client %6ld alb-tlsd %7ld\n",
	       what, mib, (double)m / 1e3, bytes / 1e6 / ((double)m / 1e6),
	       (double)bench_median_i64(s->ccpu, RUNS) / 1e3,
	       (double)bench_median_i64(s->tcpu, RUNS) / 1e3, albd,
	       (long)bench_median_i64(s->crss, RUNS), (long)bench_median_i64(s->trss, RUNS));
	return m;
}

static int measure(const char *what, const char *tmpdir, size_t mib, size_t k)
{
	char img[64];
	snprintf(img, sizeof(img), "image-%zu.img", mib);
	if (make_image(img, mib) != 0)
		return -1;
	char *deploy[] = {"alb-deploy", "create", "-f", "bench", img,
			  "--compression-level", "0", "-q", "-d", "127.0.0.1",
			  "--arg=--sleep-ms=600000", NULL};
	struct samples s;
	if (sample(tmpdir, deploy, &s) != 0)
		return -1;
	int64_t m = report(what, mib, &s);
	double bytes = (double)(mib << 20);
	int64_t *sink = &sink_us[streaming][k];
	if (albd_pid <= 0) {
		*sink = m;
	} else {
		double d = durable_ms(mib), t = (double)*sink / 1e3;
		double f = streaming ? (t > d ? t : d) : t + d;
		printf("        floor: %s %.1f ms %s durable write of %zu MiB on "
		       "albd's dbdir %.1f ms = %.1f ms, %.1f MB/s; albd at %.0f%% of it\n",
		       streaming ? "the longer of sink+s" : "sink",
		       t, streaming ? "and the" : "+", mib, d, f,
		       bytes / 1e6 / (f / 1e3), 100.0 * f / ((double)m / 1e3));
	}
	unlink(img);
	return 0;
}

/* `alb-info get` of the unikernel the last create left, mib MiB, into a
 * file beside the PKI (on tmpfs): it must come back whole. */
static int measure_get(const char *tmpdir, size_t mib)
{
	char *get[] = {"alb-info", "get", "bench", "-o", "got.img",
		       "--compression-level", "0", "-q", "-d", "127.0.0.1", NULL};
	struct samples s;
	struct stat st;
	if (sample(tmpdir, get, &s) != 0 || stat("got.img", &st) != 0 ||
	    (size_t)st.st_size < (mib << 20)) {
		fprintf(stderr, "alb-info get did not bring the image back\n");
		return -1;
	}
	report("get", mib, &s);
	unlink("got.img");
	return 0;
}

static double loadavg(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "re");
	if (f != NULL && fscanf(f, "%lf", &l) != 1)
		l = -1;
	if (f != NULL)
		fclose(f);
	return l;
}

static int alb_ca(char *const *argv)
{
	return run(argv, NULL, NULL);
}

static int body(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	struct harness h;
	const char *tmp_base = getenv("ALB_BENCH_TMPDIR_BASE");
	if (h_setup_in(&h, "bench-remote", tmp_base != NULL ? tmp_base : "/dev/shm") != 0 ||
	    h_start_albd(&h, "-q") != 0) {
		fprintf(stderr, "cannot start albd (root? ALB_FAKE_TENDER?)\n");
		return 1;
	}
	snprintf(pki, sizeof(pki), "%s/pki", h.root);
	snprintf(sink_tmpdir, sizeof(sink_tmpdir), "%s/sink", h.root);
	pthread_t sink;
	int sink_fd;
	char *gen[] = {"alb-ca", "generate", "myca", "ca.db", NULL};
	char *pol[] = {"alb-ca", "add-policy-csr", "tenant", "1", "--mem", "64", "-q", NULL};
	char *sign[] = {"alb-ca", "sign", "cacert.pem", "ca.db", "myca.key", "tenant.req", NULL};
	if (mkdir(pki, 0700) != 0 || chdir(pki) != 0 || alb_ca(gen) != 0 ||
	    alb_ca(pol) != 0 || alb_ca(sign) != 0 || rename("tenant.pem", "ca.pem") != 0 ||
	    rename("tenant.key", "ca.key") != 0 || sink_start(&sink, &sink_fd) != 0) {
		fprintf(stderr, "cannot make the PKI or the stand-in vmmd\n");
		h_stop(&h, SIGTERM);
		h_teardown(&h);
		return 1;
	}
	printf("create over TLS, loopback, --compression-level 0 (streamed), median "
	       "of %d runs; target >= %.0f MB/s, peak RSS independent of the size\n"
	       "(wall time from exec to exit of alb-deploy; CPU ms of each process; "
	       "load average now %.2f)\n",
	       RUNS, TARGET_MBS, loadavg());
	int rc = 0;
	for (int st = 0; st < 2; st++) {
		streaming = st == 1;
		for (size_t i = 0; rc == 0 && i < n_sizes; i++)
			rc = measure(streaming ? "sink+s" : "sink", sink_tmpdir,
				     (size_t)sizes[i], i);
	}
	albd_pid = h.pid;
	albd_dbdir = h.dbdir;
	for (int st = 0; st < 2; st++) {
		streaming = st == 1;
		for (size_t i = 0; rc == 0 && i < n_sizes; i++) {
			rc = measure(streaming ? "albd+s" : "albd", h.tmpdir,
				     (size_t)sizes[i], i);
			if (rc == 0 && !streaming)
				rc = measure_get(h.tmpdir, (size_t)sizes[i]);
		}
	}
	h_stop(&h, SIGTERM);
	if (chdir("/") != 0)
		rc = 1;
	h_teardown(&h);
	return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc && n_sizes < 8; i++)
		sizes[n_sizes++] = atoi(argv[i]);
	if (n_sizes == 0) {
		sizes[n_sizes++] = 16;
		sizes[n_sizes++] = 64;
	}
	bench_default_paths();
	/* body() ends with _exit(): no buffered output may wait. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	return run_in_netns(body);
}
