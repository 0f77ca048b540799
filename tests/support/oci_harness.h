/* Helpers of the alb-oci integration test and benchmark (test_oci.c,
 * bench/oci.c): Debian's containerd started with a private root, state,
 * socket and runc root, `ctr` against it, image archives made with
 * examples/oci-image.py, and shell commands with their output.
 * Header-only: each test is one binary. Functions return status codes.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_OCI_HARNESS_H
#define ALB_TEST_OCI_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "test_child.h"

#define OH_PATH 512
/* Largest output of one command kept. */
#define OH_OUT_MAX 65536
/* How long containerd may take to answer. */
#define OH_START_TIMEOUT_MS 10000

struct oci_harness {
	char dir[OH_PATH / 2]; /* everything lives below */
	char sock[OH_PATH];  /* containerd's socket */
	char alb_oci[OH_PATH];
	char runc_root[OH_PATH];
	char dbdir[OH_PATH]; /* $ALB_OCI_DBDIR: solo5-hvt is the fake tender */
	pid_t containerd;
};

static inline int64_t oh_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline void oh_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Runs `sh -c cmd` with its stdout and stderr into out (NUL-terminated,
 * size bytes at most; may be NULL). Returns the exit status, or 128+N for
 * a signal, -1 when it cannot run. */
static inline int oh_sh(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int oh_sh(char *out, size_t size, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	char full[4200];
	snprintf(full, sizeof(full), "(%s) 2>&1", cmd);
	FILE *f = popen(full, "r");
	if (f == NULL)
		return -1;
	size_t o = 0;
	char buf[4096];
	size_t r;
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (out != NULL && o + 1 < size) {
			size_t k = r < size - 1 - o ? r : size - 1 - o;
			memcpy(out + o, buf, k);
			o += k;
		}
	}
	if (out != NULL && size > 0)
		out[o] = '\0';
	int st = pclose(f);
	if (st < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Whether containerd, ctr and python3 are installed. */
static inline bool oh_have_containerd(void)
{
	return oh_sh(NULL, 0, "command -v containerd && command -v ctr && "
			      "command -v python3") == 0;
}

/* Starts containerd under dir (made here) with its own root, state,
 * sockets and config; $ALB_OCI_DBDIR is set for alb-oci. */
static inline int oh_start(struct oci_harness *h, const char *tag)
{
	memset(h, 0, sizeof(*h));
	const char *build = getenv("ALB_BUILD_ROOT");
	const char *fake = getenv("ALB_FAKE_TENDER");
	if (build == NULL)
		return -1;
	snprintf(h->dir, sizeof(h->dir), "/tmp/alb-%s-XXXXXX", tag);
	if (mkdtemp(h->dir) == NULL)
		return -1;
	snprintf(h->sock, sizeof(h->sock), "%s/c.sock", h->dir);
	snprintf(h->alb_oci, sizeof(h->alb_oci), "%s/cli/alb-oci", build);
	snprintf(h->runc_root, sizeof(h->runc_root), "%s/runc", h->dir);
	snprintf(h->dbdir, sizeof(h->dbdir), "%s/db", h->dir);
	char path[OH_PATH + 32];
	snprintf(path, sizeof(path), "%s/solo5-hvt", h->dbdir);
	if (mkdir(h->dbdir, 0755) != 0 ||
	    (fake != NULL && symlink(fake, path) != 0))
		return -1;
	setenv("ALB_OCI_DBDIR", h->dbdir, 1);
	char cfg[OH_PATH + 16];
	snprintf(cfg, sizeof(cfg), "%s/config.toml", h->dir);
	FILE *f = fopen(cfg, "we");
	if (f == NULL)
		return -1;
	fprintf(f,
		"version = 2\nroot = \"%s/root\"\nstate = \"%s/state\"\n"
		"disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
		"[grpc]\n  address = \"%s\"\n"
		"[ttrpc]\n  address = \"%s.ttrpc\"\n"
		"[debug]\n  address = \"%s/debug.sock\"\n"
		"[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"%s/opt\"\n",
		h->dir, h->dir, h->sock, h->sock, h->dir, h->dir);
	fclose(f);
	char log[OH_PATH + 16];
	snprintf(log, sizeof(log), "%s/containerd.log", h->dir);
	h->containerd = fork();
	if (h->containerd < 0)
		return -1;
	if (h->containerd == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("containerd", "containerd", "--config", cfg, (char *)NULL);
		test_child_exit(127);
	}
	for (int64_t end = oh_now_us() + OH_START_TIMEOUT_MS * 1000;
	     oh_now_us() < end; oh_sleep_ms(20)) {
		if (oh_sh(NULL, 0, "ctr -a %s version", h->sock) == 0)
			return 0;
		if (waitpid(h->containerd, NULL, WNOHANG) == h->containerd) {
			h->containerd = 0;
			return -1;
		}
	}
	return -1;
}

/* Stops containerd and removes everything under dir. */
static inline void oh_stop(struct oci_harness *h)
{
	if (h->containerd > 0) {
		kill(h->containerd, SIGTERM);
		waitpid(h->containerd, NULL, 0);
		h->containerd = 0;
	}
	if (h->dir[0] != '\0')
		oh_sh(NULL, 0, "rm -rf %s", h->dir);
}

/* Builds an image archive with examples/oci-image.py (args are its
 * options) and imports it. */
static inline int oh_image(struct oci_harness *h, const char *name,
			   const char *args)
{
	const char *src = getenv("ALB_SOURCE_ROOT");
	char out[OH_OUT_MAX];
	if (src == NULL)
		return -1;
	int rc = oh_sh(out, sizeof(out),
		       "python3 %s/examples/oci-image.py -o %s/img.tar --name %s %s"
		       " && ctr -a %s images import %s/img.tar",
		       src, h->dir, name, args, h->sock, h->dir);
	if (rc != 0)
		printf("image %s: %s\n", name, out);
	return rc;
}

/* Number of entries in the runc root of containerd's namespace "default"
 * (alb-oci's containers). */
static inline int oh_containers_left(const struct oci_harness *h)
{
	char out[256];
	if (oh_sh(out, sizeof(out), "ls -A %s/default 2>/dev/null | wc -l",
		  h->runc_root) != 0)
		return -1;
	return atoi(out);
}

#endif
