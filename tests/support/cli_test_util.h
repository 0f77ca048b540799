/* Helpers shared by test_cli_args.c and test_client.c: running the CLI
 * programs, temporary files, the golden vectors (through vectors.h),
 * parsing the `--socket -` hexdump.
 * SPDX-License-Identifier: ISC */
#ifndef CLI_TEST_UTIL_H
#define CLI_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vectors.h"
#include "test_child.h"

/* What a program run produced. */
struct run {
	int status; /* exit status, or 128 + signal */
	char *out;  /* stdout, NUL-terminated */
	char *err;  /* stderr, NUL-terminated */
};

static inline void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Reads a whole file into a NUL-terminated buffer; NULL if it cannot. */
static inline uint8_t *slurp(const char *path, size_t *len)
{
	if (len != NULL)
		*len = 0;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap + 1);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			b = realloc(b, cap + 1);
		}
		size_t r = fread(b + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	b[n] = 0;
	if (len != NULL)
		*len = n;
	return b;
}

/* A new temporary file holding p[0..len): its path (free() it, unlink()
 * the file), or NULL when it cannot be written. */
static inline char *temp_file(const uint8_t *p, size_t len)
{
	char *path = strdup("/tmp/alb-test-file-XXXXXX");
	int fd = path != NULL ? mkstemp(path) : -1;
	if (fd < 0) {
		free(path);
		return NULL;
	}
	bool ok = write(fd, p, len) == (ssize_t)len;
	if (close(fd) != 0 || !ok) {
		unlink(path);
		free(path);
		return NULL;
	}
	return path;
}

/* Path of a built CLI program, or NULL when the build root is unknown or
 * the program is missing. */
static inline const char *cli_prog_path(const char *prog, char *buf, size_t size)
{
	const char *root = getenv("ALB_BUILD_ROOT");
	if (root == NULL)
		return NULL;
	int n = snprintf(buf, size, "%s/cli/%s", root, prog);
	if (n < 0 || (size_t)n >= size)
		return NULL;
	return access(buf, X_OK) == 0 ? buf : NULL;
}

/* Runs argv (argv[0] a path, NULL-terminated) with stdout and stderr
 * captured through temporary files. */
static inline int run_argv(char *const *argv, struct run *r)
{
	memset(r, 0, sizeof(*r));
	char out_path[] = "/tmp/alb-cli-out-XXXXXX";
	char err_path[] = "/tmp/alb-cli-err-XXXXXX";
	int fo = mkstemp(out_path), fe = mkstemp(err_path);
	if (fo < 0 || fe < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		execv(argv[0], argv);
		test_child_exit(127);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	close(fo);
	close(fe);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = (char *)slurp(out_path, NULL);
	r->err = (char *)slurp(err_path, NULL);
	unlink(out_path);
	unlink(err_path);
	return r->out != NULL && r->err != NULL ? 0 : -1;
}

/* The bytes of a `--socket -` hexdump ("out:" then lines of "OFFSET  xx xx
 * ...  |ascii|"); returns the count, or -1 when the text is not one. */
static inline long parse_hexdump(const char *text, uint8_t *out, size_t cap)
{
	if (strncmp(text, "out:\n", 5) != 0)
		return -1;
	const char *p = text + 5;
	size_t n = 0;
	while (*p != '\0') {
		const char *eol = strchr(p, '\n');
		const char *bar = strstr(p, "  |");
		if (eol == NULL || bar == NULL || bar > eol)
			return -1;
		const char *q = p + 8; /* skip the offset */
		while (q < bar) {
			while (q < bar && *q == ' ')
				q++;
			if (q >= bar)
				break;
			unsigned v;
			if (sscanf(q, "%2x", &v) != 1 || n == cap)
				return -1;
			out[n++] = (uint8_t)v;
			q += 2;
		}
		p = eol + 1;
	}
	return (long)n;
}

/* The directory of the golden vectors, or NULL (the test then skips). */
static inline const char *vectors_dir(void)
{
	struct stat st;
	const char *d = vec_dir();
	return stat(d, &st) == 0 && S_ISDIR(st.st_mode) ? d : NULL;
}

/* Reads <vectors>/<rel>; NULL when absent. */
static inline uint8_t *read_vector(const char *rel, size_t *len)
{
	const char *d = vectors_dir();
	*len = 0;
	return d != NULL ? vec_read_at(d, rel, len) : NULL;
}

/* In a cmocka test: skips it when the vectors are absent. */
#define NEED_VECTORS()                                                         \
	do {                                                                   \
		if (vectors_dir() == NULL) {                                   \
			print_message("SKIP: vectors directory not found\n");  \
			skip();                                                \
		}                                                              \
	} while (0)

/* Whether the vector set has every transcript session named (NULL-ended);
 * says which one it lacks. */
static inline bool vectors_have_sessions(const char *first, ...)
{
	const char *d = vectors_dir();
	if (d == NULL)
		return false;
	va_list ap;
	va_start(ap, first);
	bool ok = true;
	for (const char *s = first; s != NULL && ok; s = va_arg(ap, const char *)) {
		char path[4096];
		struct stat st;
		int n = snprintf(path, sizeof(path), "%s/transcripts/%.256s", d, s);
		if (n < 0 || (size_t)n >= sizeof(path) || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
			print_message("SKIP: transcript %s is not in this vector set\n", s);
			ok = false;
		}
	}
	va_end(ap);
	return ok;
}

/* In a cmocka test: skips it (before it allocates anything) unless the
 * vector set has the transcript sessions named. */
#define NEED_TRANSCRIPTS(...)                                                  \
	do {                                                                   \
		NEED_VECTORS();                                                \
		if (!vectors_have_sessions(__VA_ARGS__, NULL))                 \
			skip();                                                \
	} while (0)

/* In a cmocka test: declares path, the built program prog, or skips the
 * test when it is not built. */
#define SKIP_WITHOUT(path, prog)                                                 \
	char path##_buf[4096];                                                    \
	const char *path = cli_prog_path(prog, path##_buf, sizeof(path##_buf));    \
	if (path == NULL) {                                                       \
		print_message("SKIP: %s not built (ALB_BUILD_ROOT unset?)\n", prog); \
		skip();                                                           \
	}

#endif
