/* Helpers of the host-layer integration tests (test_net_tender.c,
 * test_qemu_boot.c, test_solo5.c, and the daemons' tests): a private
 * network namespace, scratch directories and files, the kernel's view of
 * an interface, a console FIFO. Header-only: each test is one binary.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_HOST_HELPERS_H
#define ALB_TEST_HOST_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "test_child.h"

/* Exit status meson reads as "skipped". */
#define SKIP_STATUS 77

/* Runs body() in a child in a network namespace of its own, with /sys
 * remounted in a private mount namespace so that /sys/class/net shows that
 * namespace. Returns the status to exit with: the child's, or SKIP_STATUS
 * with a printed reason when this cannot be done here. */
static inline int run_in_netns(int (*body)(void))
{
	if (geteuid() != 0) {
		printf("skipped: needs root for a private network namespace\n");
		return SKIP_STATUS;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
			printf("skipped: unshare(CLONE_NEWNET|CLONE_NEWNS): %s\n",
			       strerror(errno));
			test_child_exit(SKIP_STATUS);
		}
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
			printf("skipped: cannot remount /sys: %s\n", strerror(errno));
			test_child_exit(SKIP_STATUS);
		}
		fflush(stdout);
		/* the child is the test: it ends as a process does (coverage
		 * data written, leaks checked) */
		exit(body());
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	printf("test child died by signal %d\n", WTERMSIG(st));
	return 1;
}

/* /sys/class/net/<ifname>/<attr> without its newline into out; false when
 * there is no such file. */
static inline bool sysfs_read(const char *ifname, const char *attr, char *out,
			      size_t size)
{
	char path[256];
	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return false;
	bool ok = fgets(out, (int)size, f) != NULL;
	fclose(f);
	if (ok)
		out[strcspn(out, "\n")] = '\0';
	return ok;
}

/* The bridge ifname is enslaved to, per the kernel ("" for none). */
static inline void sysfs_master(const char *ifname, char *out, size_t size)
{
	char path[256], link[256];
	snprintf(path, sizeof(path), "/sys/class/net/%s/master", ifname);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	out[0] = '\0';
	if (n <= 0)
		return;
	link[n] = '\0';
	const char *base = strrchr(link, '/');
	base = base ? base + 1 : link;
	size_t l = strlen(base);
	if (l >= size)
		return;
	memcpy(out, base, l + 1);
}

/* True when lo is the only interface in the namespace (everything a test
 * made is gone). */
static inline bool only_loopback(void)
{
	FILE *f = fopen("/proc/net/dev", "re");
	if (f == NULL)
		return false;
	char line[512];
	int n = 0;
	bool only_lo = true;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		char *name = line + strspn(line, " ");
		n++;
		if (strcmp(name, "lo") != 0)
			only_lo = false;
	}
	fclose(f);
	return n == 1 && only_lo;
}

/* Makes the scratch directory dir (a mkdtemp() template, filled in) with
 * <dir>/run and <dir>/db, the tmpdir and dbdir of a test, whose paths go to
 * tmpdir and dbdir (size bytes each). False when it cannot. */
static inline bool make_test_dirs(char *dir, char *tmpdir, char *dbdir,
				  size_t size)
{
	if (mkdtemp(dir) == NULL)
		return false;
	snprintf(tmpdir, size, "%s/run", dir);
	snprintf(dbdir, size, "%s/db", dir);
	return mkdir(tmpdir, 0755) == 0 && mkdir(dbdir, 0755) == 0;
}

static inline int remove_entry(const char *path, const struct stat *st,
			       int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything below it. */
static inline void remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The contents of a regular file of 1 to max bytes in a malloc'd buffer,
 * its size in *len; NULL (and *len 0) when it cannot be read whole. */
static inline uint8_t *load_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*len = 0;
	if (fd < 0)
		return NULL;
	struct stat st;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= max &&
	    (buf = malloc((size_t)st.st_size)) != NULL &&
	    read(fd, buf, (size_t)st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = buf ? (size_t)st.st_size : 0;
	return buf;
}

/* Writes p[0..len) as the whole of path (mode 0644); false on failure. */
static inline bool store_file(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	bool ok = write(fd, p, len) == (ssize_t)len;
	return close(fd) == 0 && ok;
}

/* A console FIFO as albatrossd makes it; the read end (blocking) in *rd
 * and the write end (O_WRONLY|O_APPEND, the tender's stdio) in *wr. */
static inline bool console_fifo(const char *path, int *rd, int *wr)
{
	if (mkfifo(path, 0640) != 0)
		return false;
	*rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (*rd < 0)
		return false;
	*wr = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	return *wr >= 0 && fcntl(*rd, F_SETFL, 0) == 0;
}

/* Reads fd to EOF into a NUL-terminated malloc'd string (NULL on error). */
static inline char *read_to_eof(int fd)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	while (buf != NULL) {
		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf != NULL)
		buf[len] = '\0';
	return buf;
}

/* True when a whole line of out equals line. */
static inline bool output_has_line(const char *out, const char *line)
{
	size_t l = strlen(line);
	for (const char *p = out; (p = strstr(p, line)) != NULL; p++)
		if ((p == out || p[-1] == '\n') && (p[l] == '\n' || p[l] == '\0'))
			return true;
	return false;
}

/* Cpus_allowed_list of a running process into out ("" when gone). */
static inline void proc_cpus_allowed(pid_t pid, char *out, size_t size)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	out[0] = '\0';
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Cpus_allowed_list:", 18) == 0) {
			char *v = line + 18 + strspn(line + 18, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, size, "%s", v);
			break;
		}
	fclose(f);
}

static inline int64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#endif
