/* bench-oci — alb-oci beside Debian's runc, in one run:
 *  1. `ctr run --rm` of an image to its first console line (median of
 *     RUNS), for the fake tender's Solo5 image under alb-oci (and the demo
 *     unikernel under QEMU when it is built) and for a plain static
 *     process under runc;
 *  2. create -> start -> delete --force per container, 50 in a row, calling
 *     each runtime directly with a bundle (alb-oci: the fake tender's
 *     image; runc: the plain process).
 * Both go through `sh -c` (the same cost on both sides). Needs root and
 * Debian's containerd, ctr and runc; everything runs in a private network
 * and mount namespace with a private containerd.
 *   bench-oci [N]   (N containers in part 2, default 50)
 * SPDX-License-Identifier: ISC */
#include <limits.h>
#include <sched.h>
#include <sys/mount.h>

#include "albd_harness.h"
#include "oci_harness.h"
#include "bench_stats.h"

#define RUNS 9
#define N_DEFAULT 50
#define N_MAX 1000

static struct oci_harness H;

/* Microseconds from starting cmd to its first line of output containing
 * want; -1 when it never comes. */
static int64_t first_line_us(const char *cmd, const char *want)
{
	int64_t t0 = oh_now_us(), got = -1;
	FILE *f = popen(cmd, "r");
	if (f == NULL)
		return -1;
	char line[4096];
	while (fgets(line, sizeof(line), f) != NULL)
		if (got < 0 && strstr(line, want) != NULL)
			got = oh_now_us() - t0;
	pclose(f);
	return got;
}

static void row_first_line(const char *what, const char *image,
			   const char *runtime_opts, const char *args,
			   const char *want)
{
	int64_t t[RUNS];
	for (int i = 0; i < RUNS; i++) {
		char cmd[4096];
		snprintf(cmd, sizeof(cmd),
			 "ctr -a %s run --rm %s %s b%d %s 2>&1", H.sock,
			 runtime_opts, image, i, args);
		t[i] = first_line_us(cmd, want);
		if (t[i] < 0) {
			printf("%-34s failed (%s)\n", what, cmd);
			return;
		}
	}
	bench_sort_i64(t, RUNS);
	printf("%-34s %8.1f ms (min %.1f, max %.1f)\n", what,
	       t[RUNS / 2] / 1000.0, t[0] / 1000.0, t[RUNS - 1] / 1000.0);
}

/* create, start, delete --force of n containers in a row with the
 * runtime at `bin` (global options gopts) and the bundle; per container. */
static void row_lifecycle(const char *what, const char *bin, const char *gopts,
			  const char *bundle, int n)
{
	int64_t t0 = oh_now_us(), create = 0, start = 0, del = 0;
	for (int i = 0; i < n; i++) {
		int64_t a = oh_now_us();
		int rc = oh_sh(NULL, 0,
			       "%s %s create --bundle %s c%d </dev/null >/dev/null 2>&1",
			       bin, gopts, bundle, i);
		int64_t b = oh_now_us();
		if (rc == 0)
			rc = oh_sh(NULL, 0, "%s %s start c%d", bin, gopts, i);
		int64_t c = oh_now_us();
		if (rc == 0)
			rc = oh_sh(NULL, 0, "%s %s delete --force c%d", bin, gopts, i);
		int64_t d = oh_now_us();
		if (rc != 0) {
			printf("%-34s failed at container %d\n", what, i);
			return;
		}
		create += b - a;
		start += c - b;
		del += d - c;
	}
	double total = (double)(oh_now_us() - t0) / n / 1000.0;
	printf("%-34s %8.2f ms per container (create %.2f, start %.2f, "
	       "delete %.2f)\n",
	       what, total, create / 1000.0 / n, start / 1000.0 / n,
	       del / 1000.0 / n);
}

static int write_text(const char *path, const char *text)
{
	return h_write_file(path, text, strlen(text));
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : N_DEFAULT;
	if (n < 1 || n > N_MAX) {
		fprintf(stderr, "usage: bench-oci [N], 1 <= N <= %d\n", N_MAX);
		return 2;
	}
	/* the build tree is the parent of this program's directory */
	char self[PATH_MAX], build[OH_PATH / 2], tool[OH_PATH];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return 1;
	self[len] = '\0';
	if (snprintf(build, sizeof(build), "%s", self) >= (int)sizeof(build)) {
		fprintf(stderr, "bench-oci: build directory path too long\n");
		return 1;
	}
	*strrchr(build, '/') = '\0';
	*strrchr(build, '/') = '\0';
	setenv("ALB_BUILD_ROOT", build, 0);
	setenv("ALB_SOURCE_ROOT", OCI_SOURCE_ROOT, 0);
	snprintf(tool, sizeof(tool), "%s/tests/tools/fake-tender", build);
	setenv("ALB_FAKE_TENDER", tool, 0);
	if (geteuid() != 0 || !oh_have_containerd() ||
	    oh_sh(NULL, 0, "command -v runc") != 0) {
		printf("bench-oci: needs root, containerd, ctr, runc and python3\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		perror("bench-oci: unshare");
		return 1;
	}
	if (oh_start(&H, "bench-oci") != 0) {
		printf("bench-oci: containerd did not start\n");
		oh_stop(&H);
		return 1;
	}
	/* the images: the fake tender's Solo5 image (no devices), a plain
	 * static process, and the demo unikernel when it is built */
	size_t ilen;
	uint8_t *img = h_image(ALB_SOLO5_HVT, NULL, NULL, 0, 0, &ilen);
	char path[OH_PATH], args[OH_PATH * 3], hello[OH_PATH];
	snprintf(path, sizeof(path), "%s/fake.hvt", H.dir);
	snprintf(hello, sizeof(hello), "%s/examples/hello-unikernel/hello.elf",
		 build);
	bool have_hello = access(hello, R_OK) == 0;
	snprintf(args, sizeof(args), "--unikernel %s", path);
	int rc = img == NULL || h_write_file(path, img, ilen) != 0 ||
		 oh_image(&H, "bench/fake:1", args) != 0;
	free(img);
	snprintf(args, sizeof(args), "--add %s/bench/bench-oci-hello:/hello "
		 "--entrypoint /hello", build);
	rc = rc || oh_image(&H, "bench/plain:1", args) != 0;
	if (have_hello) {
		snprintf(args, sizeof(args),
			 "--unikernel %s --hypervisor qemu --cmdline=--seconds=0",
			 hello);
		rc = rc || oh_image(&H, "bench/hello:1", args) != 0;
	}
	if (rc != 0) {
		oh_stop(&H);
		return 1;
	}
	char alb_opts[OH_PATH * 3], runc_opts[OH_PATH * 2];
	snprintf(alb_opts, sizeof(alb_opts), "--runc-binary %s --runc-root %s",
		 H.alb_oci, H.runc_root);
	snprintf(runc_opts, sizeof(runc_opts), "--runc-root %s/runc-plain", H.dir);
	printf("bench-oci: ctr run --rm -> first console line, median of %d\n",
	       RUNS);
	row_first_line("alb-oci, Solo5 image (fake tender)", "bench/fake:1",
		       alb_opts, "--lines=1", "fake-tender: line 1");
	if (have_hello)
		row_first_line("alb-oci, demo unikernel (QEMU/TCG)",
			       "bench/hello:1", alb_opts, "", "Hello from");
	row_first_line("runc, plain static process", "bench/plain:1", runc_opts,
		       "", "hello from a plain process");

	/* bundles for the runtimes called directly */
	char b1[OH_PATH], b2[OH_PATH], cfg[OH_PATH + 32], gopts[OH_PATH * 2];
	snprintf(b1, sizeof(b1), "%s/b-alb", H.dir);
	snprintf(b2, sizeof(b2), "%s/b-runc", H.dir);
	snprintf(cfg, sizeof(cfg), "%s/config.json", b1);
	rc = oh_sh(NULL, 0, "mkdir -p %s/rootfs %s/rootfs && cp %s %s/rootfs/k && "
			    "cp %s/bench/bench-oci-hello %s/rootfs/hello && "
			    "cd %s && runc spec && sed -i "
			    "'s/\"terminal\": true/\"terminal\": false/; "
			    "s/\"sh\"/\"\\/hello\"/' config.json",
		   b1, b2, path, b1, build, b2, b2);
	rc = rc || write_text(cfg, "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":"
				   "\"rootfs\"},\"process\":{\"args\":[\"--lines=1\"]},"
				   "\"linux\":{\"namespaces\":[{\"type\":\"network\"}]},"
				   "\"annotations\":{\"com.urunc.unikernel.binary\":"
				   "\"/k\"}}") != 0;
	if (rc != 0) {
		printf("bench-oci: cannot make the bundles\n");
		oh_stop(&H);
		return 1;
	}
	printf("bench-oci: create -> start -> delete --force, %d containers in "
	       "a row\n", n);
	snprintf(gopts, sizeof(gopts), "--root %s/direct-alb", H.dir);
	row_lifecycle("alb-oci, Solo5 image (fake tender)", H.alb_oci, gopts, b1, n);
	snprintf(gopts, sizeof(gopts), "--root %s/direct-runc", H.dir);
	row_lifecycle("runc, plain static process", "runc", gopts, b2, n);
	oh_stop(&H);
	return 0;
}
