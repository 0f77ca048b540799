/* alb-deploy and alb-info — what a command writes to files: where
 * albatross-client puts a download, an image reply written out, and a
 * block dump streamed into a file (see cli_common.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"

const char *cli_default_output_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	return tmp == NULL || tmp[0] == '\0' ? "/tmp" : tmp;
}

void cli_default_output(const char *name, char *out, size_t size)
{
	const char *tmp = cli_default_output_dir();
	time_t now = time(NULL);
	struct tm tm;
	char ts[64] = "";
	if (gmtime_r(&now, &tm) != NULL)
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S-00:00", &tm);
	snprintf(out, size, "%s/%s.%s", tmp, name, ts);
}

int cli_write_file(struct cli_args *a, const char *path, const uint8_t *p,
		   size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		cli_error(a, "cannot write '%s': %s", path, strerror(errno));
		return CLI_EXIT_CLI;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			cli_error(a, "cannot write '%s': %s", path, strerror(errno));
			close(fd);
			return CLI_EXIT_CLI;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) < 0) {
		cli_error(a, "cannot write '%s': %s", path, strerror(errno));
		return CLI_EXIT_CLI;
	}
	return CLI_EXIT_OK;
}

/* The directory of path ("." when it has none) into dir. */
static void dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, size, ".");
	else if (slash == path)
		snprintf(dir, size, "/");
	else
		snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* True when path exists and is not a regular file (a pipe, /dev/null):
 * written as it is, never replaced nor removed. */
static bool is_special(const char *path)
{
	struct stat st;
	return path != NULL && stat(path, &st) == 0 && !S_ISREG(st.st_mode);
}

int cli_image_open(struct cli_args *a, struct cli_image_out *o)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
	if (is_special(a->output)) {
		o->direct = true;
		o->fd = open(a->output, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (o->fd >= 0)
			return CLI_EXIT_OK;
		cli_error(a, "cannot write '%s': %s", a->output, strerror(errno));
		return CLI_EXIT_CLI;
	}
	char dir[4096];
	if (a->output != NULL)
		dir_of(a->output, dir, sizeof(dir));
	else
		snprintf(dir, sizeof(dir), "%s", cli_default_output_dir());
	int n = snprintf(o->tmp, sizeof(o->tmp), "%s/.alb-image.XXXXXX", dir);
	if (n < 0 || (size_t)n >= sizeof(o->tmp)) {
		o->tmp[0] = '\0';
		errno = ENAMETOOLONG;
	}
	mode_t mask = umask(0);
	umask(mask);
	o->fd = o->tmp[0] != '\0' ? mkostemp(o->tmp, O_CLOEXEC) : -1;
	if (o->fd < 0 || fchmod(o->fd, 0644 & ~mask) < 0) {
		cli_error(a, "cannot write in '%s': %s", dir, strerror(errno));
		if (o->fd < 0)
			o->tmp[0] = '\0'; /* not ours */
		cli_image_discard(o);
		return CLI_EXIT_CLI;
	}
	return CLI_EXIT_OK;
}

void cli_image_discard(struct cli_image_out *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0] != '\0')
		unlink(o->tmp);
	o->tmp[0] = '\0';
}

int cli_image_reply(struct cli_args *a, struct cli_image_out *o,
		    const struct alb_msg *m)
{
	char path[4096];
	if (a->output != NULL)
		snprintf(path, sizeof(path), "%s", a->output);
	else
		cli_default_output(m->header.name, path, sizeof(path));
	int fd = o->fd;
	o->fd = -1;
	if (close(fd) < 0 || (!o->direct && rename(o->tmp, path) < 0)) {
		cli_error(a, "cannot write '%s': %s", path, strerror(errno));
		cli_image_discard(o);
		return CLI_EXIT_CLI;
	}
	o->tmp[0] = '\0';
	if (!a->json) {
		printf("%s: dumped image to %s\n", m->header.name, path);
		return CLI_EXIT_OK;
	}
	struct alb_error err = {0};
	if (alb_msg_print_received(stdout, m, &o->got, ALB_PRINT_JSON, &err) < 0) {
		cli_error(a, "printing the reply: %s", err.msg);
		return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

/* The Block_device_image header of a dump: the data follows. */
static int dump_header(struct cli_args *a, const struct alb_msg *m)
{
	if (m->u.success.kind != ALB_REPLY_BLOCK_DEVICE_IMAGE)
		return cli_print_msg(a, m, a->json ? ALB_PRINT_JSON : 0);
	return CLI_EXIT_OK;
}

int cli_dump(struct cli_args *a, const char *name, struct cli_request *r,
	     struct alb_client *c)
{
	if (r->on_reply == NULL)
		r->on_reply = dump_header;
	bool hex = a->socket != NULL && strcmp(a->socket, "-") == 0;
	bool file = !hex && !a->csr && !(a->remote && strcmp(a->host, "-") == 0);
	char path[4096];
	if (a->output != NULL)
		snprintf(path, sizeof(path), "%s", a->output);
	else
		cli_default_output(name, path, sizeof(path));
	bool special = file && is_special(path);
	if (file) {
		r->dump_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (r->dump_fd < 0) {
			cli_error(a, "cannot write '%s': %s", path, strerror(errno));
			alb_client_close(c);
			return CLI_EXIT_CLI;
		}
	}
	int status = c != NULL ? cli_run_connected(a, r, c) : cli_execute(a, r);
	if (r->dump_fd >= 0 && close(r->dump_fd) < 0 && status == CLI_EXIT_OK) {
		cli_error(a, "cannot write '%s': %s", path, strerror(errno));
		status = CLI_EXIT_CLI;
	}
	r->dump_fd = -1;
	if (!file)
		return status;
	if (status != CLI_EXIT_OK) {
		/* Half a device is worse than none; a pipe or a device node
		 * given as output is not ours to remove. */
		if (!special)
			unlink(path);
		return status;
	}
	printf("%s: dumped to %s\n", name, path);
	return status;
}
