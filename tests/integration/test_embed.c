/* Runs examples/embed_vmmd (an orchestrator embedding albd's core in its
 * own libuv loop) against the fake tender in a private network namespace
 * and scratch directories: it must deploy, see the unikernel in info,
 * destroy it, shut the core down and close its loop with nothing left.
 * Root only (skips with 77 otherwise).
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "albd_harness.h"
#include "host_helpers.h"

static void test_embed(void **state)
{
	(void)state;
	const char *exe = getenv("ALB_EMBED_VMMD");
	assert_non_null(exe);
	struct harness h;
	assert_int_equal(h_setup(&h, "embed"), 0);
	size_t len;
	uint8_t *img = h_image(1, NULL, NULL, 0, 7, &len);
	char image[H_PATH + 16], out[H_PATH + 16];
	assert_int_equal(H_FMT(image, "%s/hello.hvt", h.root), 0);
	assert_int_equal(H_FMT(out, "%s/out.txt", h.root), 0);
	assert_int_equal(h_write_file(image, img, len), 0);
	free(img);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		/* the fake tender runs until the destroy's SIGTERM */
		execl(exe, exe, h.tmpdir, h.dbdir, image, "--sleep-ms=60000",
		      (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	char *text = h_read_file(out, NULL);
	assert_non_null(text);
	fputs(text, stdout);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_non_null(strstr(text, "client: unikernel create -> "));
	assert_non_null(strstr(text, "client: unikernel info -> "));
	assert_non_null(strstr(text, "- name: :hello"));
	assert_non_null(strstr(text, "destroyed unikernel"));
	assert_non_null(strstr(text, "deployment done"));
	assert_non_null(strstr(text, "loop closed (nothing left), exit 0"));
	free(text);
	assert_int_equal(h_tenders(&h, NULL, 0), 0);
	struct stat sb;
	assert_int_equal(lstat(h.sock, &sb), -1);
	h_teardown(&h);
}

static int body(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_embed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(body);
}
