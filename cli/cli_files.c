/* alb-deploy and alb-info — what a command writes to files: where
 * albatross-client puts a download, an image reply written out, and a
 * block dump streamed into a file (see cli_common.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"

void cli_default_output(const char *name, char *out, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
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

int cli_image_reply(struct cli_args *a, const struct alb_msg *m)
{
	const struct alb_reply *r = &m->u.success;
	if (r->kind != ALB_REPLY_UNIKERNEL_IMAGE)
		return cli_print_msg(a, m, a->json ? ALB_PRINT_JSON : 0);
	char path[4096];
	if (a->output != NULL)
		snprintf(path, sizeof(path), "%s", a->output);
	else
		cli_default_output(m->header.name, path, sizeof(path));
	struct alb_error err = {0};
	struct alb_buf plain = {0};
	const struct alb_bytes *img = &r->u.image.data;
	const uint8_t *data = img->ptr;
	size_t len = img->len;
	if (r->u.image.compressed) {
		if (alb_zlib_inflate(img->ptr, img->len, ALB_IMAGE_MAX, &plain,
				     &err) < 0) {
			cli_error(a, "failed to uncompress image: %s", err.msg);
			return CLI_EXIT_COMM;
		}
		data = plain.data;
		len = plain.len;
	}
	int status = cli_write_file(a, path, data, len);
	alb_buf_free(&plain);
	if (status == CLI_EXIT_OK && a->json)
		status = cli_print_msg(a, m, ALB_PRINT_JSON);
	else if (status == CLI_EXIT_OK)
		printf("%s: dumped image to %s\n", m->header.name, path);
	return status;
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
		/* Half a device is worse than none. */
		unlink(path);
		return status;
	}
	printf("%s: dumped to %s\n", name, path);
	return status;
}
