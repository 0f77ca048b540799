/* Helpers of the fault-injection suite (tests/faults/): each test runs the
 * real daemons (albd, alb-consoled, alb-statsd binaries) and the fake
 * tender as root in a private network and mount namespace, /tmp a private
 * tmpfs, a bridge br0; it injects a fault (kill -9, a broken stream, a
 * missing tender, a second daemon) and checks what survives. Header-only:
 * each test is one binary. No cmocka: a failed check prints why and the
 * test exits 1.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_FAULTS_H
#define ALB_TEST_FAULTS_H

#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/mount.h>

#include "albd_harness.h"
#include "host_helpers.h"

#define F_BR "br0"
#define F_MIB ((size_t)1 << 20)

static int f_failures;

/* A check: prints the failure (file:line and a message) and counts it. */
#define F_CHECK(cond, ...)                                                    \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,\
				__LINE__, #cond);                             \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, "\n");                                \
			f_failures++;                                         \
		}                                                             \
	} while (0)

/* ---- the world ------------------------------------------------------------ */

/* Inside run_in_netns(): /tmp becomes a tmpfs of this mount namespace
 * (gone with it), br0 is made, and the harness's directories are set up
 * there. 0 or -1. */
static inline int f_world(struct harness *h, const char *tag)
{
	if (mount("tmpfs", "/tmp", "tmpfs", 0, "size=512m,mode=1777") != 0) {
		perror("mount tmpfs on /tmp");
		return -1;
	}
	struct alb_net *net = NULL;
	struct alb_error err = {0};
	if (alb_net_new(&net, &err) != 0 ||
	    alb_bridge_create(net, F_BR, &err) != 0) {
		fprintf(stderr, "bridge: %s\n", err.msg);
		alb_net_free(net);
		return -1;
	}
	alb_net_free(net);
	/* the tender of the daemons is the fake one, never one on PATH */
	setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
	return h_setup(h, tag);
}

/* Path of a program of the build (cli/<name>). */
static inline void f_exe(char *out, size_t size, const char *name)
{
	const char *build = getenv("ALB_BUILD_ROOT");
	snprintf(out, size, "%s/cli/%s", build ? build : ".", name);
}

/* Starts cli/<prog> --tmpdir=<tmpdir> [arg] with stderr to errfile (NULL:
 * ours); its pid. */
static inline pid_t f_spawn(const char *prog, const char *tmpdir,
			    const char *arg, const char *errfile)
{
	char exe[H_PATH], tmp[H_PATH + 16];
	f_exe(exe, sizeof(exe), prog);
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", tmpdir);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		if (errfile != NULL) {
			int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd >= 0)
				dup2(fd, 2);
		}
		execl(exe, exe, tmp, arg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits until the Unix socket path accepts connections. */
static inline bool f_wait_socket(const char *path, int timeout_ms)
{
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     h_now_us() < end; h_sleep_ms(5)) {
		struct alb_client *c = NULL;
		if (alb_client_connect(path, 1000, &c, NULL) == 0) {
			alb_client_close(c);
			return true;
		}
	}
	return false;
}

static inline void f_kill(pid_t pid, int sig)
{
	if (pid <= 0)
		return;
	kill(pid, sig);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Every tender of the harness killed (after a failed test). */
static inline void f_kill_tenders(const struct harness *h)
{
	pid_t pids[256];
	int n = h_tenders(h, pids, 256);
	for (int i = 0; i < n && i < 256; i++)
		kill(pids[i], SIGKILL);
}

/* ---- the helper daemons and alb-info ------------------------------------------ */

/* Starts cli/<prog> [arg] for h's tmpdir and waits until it listens on
 * <tmpdir>/util/<sock> (a failure is counted); its pid. */
static inline pid_t f_start_helper(const struct harness *h, const char *prog,
				   const char *arg, const char *sock)
{
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/util/%s", h->tmpdir, sock);
	pid_t pid = f_spawn(prog, h->tmpdir, arg, NULL);
	if (!f_wait_socket(path, 10000)) {
		fprintf(stderr, "%s did not start\n", prog);
		f_failures++;
	}
	return pid;
}

/* Runs `alb-info <args...> --tmpdir=<tmpdir>` until a line containing
 * want (and, when min_tick > 0, a tick line numbered above min_tick) is
 * printed or timeout_ms passed; the line (or "") into line. */
static inline bool f_info_shows(const struct harness *h,
				const char *const *args, int nargs,
				const char *want, long min_tick, int timeout_ms,
				char *line, size_t size)
{
	char exe[H_PATH], tmp[H_PATH + 16];
	f_exe(exe, sizeof(exe), "alb-info");
	snprintf(tmp, sizeof(tmp), "--tmpdir=%s", h->tmpdir);
	const char *argv[16] = {exe};
	int k = 1;
	for (int i = 0; i < nargs && k < 14; i++)
		argv[k++] = args[i];
	argv[k++] = tmp;
	argv[k] = NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		execv(exe, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	char buf[65536];
	size_t len = 0;
	bool found = false;
	line[0] = '\0';
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;
	     !found && h_now_us() < end;) {
		struct pollfd pf = {.fd = p[0], .events = POLLIN};
		if (poll(&pf, 1, 50) <= 0)
			continue;
		ssize_t n = read(p[0], buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		char *nl;
		while (!found && (nl = strchr(buf, '\n')) != NULL) {
			*nl = '\0';
			const char *t = strstr(buf, "fake-tender: tick ");
			if (strstr(buf, want) != NULL &&
			    (min_tick <= 0 || (t != NULL && atol(t + 18) > min_tick))) {
				snprintf(line, size, "%.400s", buf);
				found = true;
			}
			size_t used = (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, len - used + 1);
			len -= used;
		}
		if (len == sizeof(buf) - 1)
			len = 0;
	}
	close(p[0]);
	f_kill(pid, SIGKILL);
	return found;
}

/* The highest tick of the fake tender in <tmpdir>/<name>.log, 0 when none. */
static inline long f_log_tick(const struct harness *h, const char *name)
{
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/%s.log", h->tmpdir, name);
	char *text = h_read_file(path, NULL);
	long max = 0;
	for (char *q = text; q != NULL && (q = strstr(q, "fake-tender: tick ")) != NULL;
	     q++) {
		long t = atol(q + 18);
		if (t > max)
			max = t;
	}
	free(text);
	return max;
}

/* ---- unikernels ---------------------------------------------------------- */

/* A create (or force-create) command for the fake tender (albd_harness.h's
 * h_uk: 32 MB on CPU 0, --name added), with a NIC "service" on bridge and
 * a block "storage" on device where not NULL (both kept by reference),
 * restart on failure when restart, its image made with salt; arguments
 * with h_uk_arg(), freed with h_uk_free(). */
static inline void f_uk_init(struct h_uk *u, bool force, const char *bridge,
			     const char *device, uint32_t salt, bool restart)
{
	h_uk_init(u, force);
	if (bridge != NULL)
		h_uk_net(u, "service", bridge);
	if (device != NULL)
		h_uk_block(u, "storage", device);
	u->cmd.u.create.fail.restart = restart;
	u->salt = salt;
	if (h_uk_image(u) != 0)
		fprintf(stderr, "cannot make the fake tender's image\n");
}

/* The names of the running unikernels (info of ":") into a malloc'd
 * array of n strings (free each and it); -1 when albd does not answer. */
static inline int f_running(const struct harness *h, char ***names)
{
	struct alb_command c = {.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_msg *m = h_call(h, ":", &c);
	*names = NULL;
	if (m == NULL || m->kind != ALB_PAYLOAD_SUCCESS ||
	    m->u.success.kind != ALB_REPLY_UNIKERNEL_INFO) {
		alb_msg_free(m);
		return -1;
	}
	size_t n = m->u.success.u.infos.n;
	*names = calloc(n ? n : 1, sizeof(**names));
	for (size_t i = 0; i < n; i++) {
		(*names)[i] = strdup(m->u.success.u.infos.v[i].name);
	}
	alb_msg_free(m);
	return (int)n;
}

static inline void f_names_free(char **names, int n)
{
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- the host's view -------------------------------------------------------- */

struct f_taps {
	char name[64][ALB_IFNAME_SIZE];
	int n;
};

static inline int f_taps_cb(void *ctx, int ifindex, const char *ifname,
			    const struct alb_ifdata *d)
{
	(void)ifindex;
	(void)d;
	struct f_taps *t = ctx;
	if (alb_tap_name_index(ifname, NULL) && t->n < 64)
		snprintf(t->name[t->n++], ALB_IFNAME_SIZE, "%s", ifname);
	return 0;
}

/* The vmmtapN of this namespace. */
static inline void f_list_taps(struct f_taps *t)
{
	t->n = 0;
	alb_ifdata_dump(NULL, f_taps_cb, t, NULL);
}

/* SHA-256 of a file as hex (65 bytes), "" when it cannot be read. */
static inline void f_file_hash(const char *path, char out[2 * ALB_SHA256_LEN + 1])
{
	size_t len = 0;
	char *data = h_read_file(path, &len);
	uint8_t d[ALB_SHA256_LEN];
	out[0] = '\0';
	if (data != NULL && alb_image_digest((const uint8_t *)data, len, d, NULL) == 0)
		for (int i = 0; i < ALB_SHA256_LEN; i++)
			snprintf(out + 2 * i, 3, "%02x", d[i]);
	free(data);
}

/* A simple seeded generator (xorshift64*), one per thread. */
static inline uint64_t f_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

#endif
