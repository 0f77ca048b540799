/* alb-deploy and alb-info — running a command against a daemon and
 * reporting its replies like albatross-client (see cli_common.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <string.h>

#include "cli_common.h"

/* "<name>: success: <text>" for string replies, like albatross-client. */
static int default_reply(struct cli_args *a, const struct alb_msg *m)
{
	(void)a;
	const struct alb_reply *r = &m->u.success;
	alb_print_escape(stdout, m->header.name, strlen(m->header.name), 0);
	if (r->kind == ALB_REPLY_STRING) {
		fputs(": success: ", stdout);
		alb_print_escape(stdout, r->u.string.ptr, r->u.string.len, 0);
		fputc('\n', stdout);
	} else if (r->kind == ALB_REPLY_EMPTY) {
		fputs(": success\n", stdout);
	} else {
		fputs(": success:\n", stdout);
		struct alb_error err = {0};
		if (alb_msg_print(stdout, m, 0, &err) < 0)
			return CLI_EXIT_INTERNAL;
	}
	return CLI_EXIT_OK;
}

void cli_note_reply(const struct alb_msg *m)
{
	if (m->kind != ALB_PAYLOAD_SUCCESS || m->u.success.kind != ALB_REPLY_STRING)
		return;
	alb_print_escape(stderr, m->header.name, strlen(m->header.name), 0);
	fputs(": ", stderr);
	alb_print_escape(stderr, m->u.success.u.string.ptr,
			 m->u.success.u.string.len, 0);
	fputc('\n', stderr);
}

int cli_report_failure(struct cli_args *a, const char *name, const char *text,
		       size_t len)
{
	fprintf(stderr, "%s: ", a->prog->name);
	alb_print_escape(stderr, name, strlen(name), 0);
	fputs(": command failed: ", stderr);
	alb_print_escape(stderr, text, len, 0);
	fputc('\n', stderr);
	return CLI_EXIT_REMOTE;
}

int cli_comm_failure(struct cli_args *a, struct alb_client *c, int rc,
		     const struct alb_error *err)
{
	cli_progress_end(a);
	const char *msg = err->msg[0] ? err->msg : alb_strerror(rc);
	if (alb_remote_failure(c) == ALB_REMOTE_LOCAL_AUTH) {
		/* TLS 1.3: a refused client certificate shows at the first read. */
		cli_error(a, "local authentication failure %s", msg);
		return CLI_EXIT_LOCAL_AUTH;
	}
	cli_error(a, "%s", msg);
	return rc == ALB_ENOMEM ? CLI_EXIT_INTERNAL : CLI_EXIT_COMM;
}

static int handle_reply(struct cli_args *a, const struct cli_request *r,
			const struct alb_msg *m)
{
	/* -vv shows every reply in full. */
	if (alb_log_get_level() >= ALB_LOG_DEBUG)
		alb_msg_print(stderr, m, 0, NULL);
	switch (m->kind) {
	case ALB_PAYLOAD_FAILURE:
		return cli_report_failure(a, m->header.name, m->u.failure.ptr,
				      m->u.failure.len);
	case ALB_PAYLOAD_SUCCESS:
		return r->on_reply != NULL ? r->on_reply(a, m) : default_reply(a, m);
	default:
		cli_error(a, "unexpected %s message from the daemon",
			  m->kind == ALB_PAYLOAD_DATA ? "data" : "command");
		return CLI_EXIT_COMM;
	}
}

struct read_ctx {
	struct cli_args *a;
	const struct cli_request *r;
};

static int on_stream_msg(void *ctx, const struct alb_msg *m)
{
	struct read_ctx *rc = ctx;
	/* Data messages of a read stream go to the caller as they are. */
	if (m->kind == ALB_PAYLOAD_DATA && rc->r->on_reply != NULL)
		return rc->r->on_reply(rc->a, m);
	return handle_reply(rc->a, rc->r, m);
}

static int run_connected(struct cli_args *a, const struct cli_request *r,
			 struct alb_client *c)
{
	struct alb_error err = {0};
	enum alb_reply_mode mode = alb_command_reply_mode(r->cmd->kind);
	/* A remote command is in the certificate: nothing more to send. */
	int rc = a->remote ? 0
			   : alb_client_send(c, r->name, r->cmd, cli_progress, a, &err);
	cli_progress_end(a);
	if (rc < 0)
		return cli_comm_failure(a, c, rc, &err);
	struct alb_error upload_err = {0};
	int upload_rc = 0;
	if (r->upload_fd >= 0)
		upload_rc = alb_client_send_stream(c, r->upload_fd, r->upload_level,
						   r->upload_size, cli_progress,
						   a, &upload_err);
	cli_progress_end(a);
	/* A daemon that refuses the upload (unknown device, device in use)
	 * answers and closes without reading it: its reply says why, where
	 * our write error would only say that the pipe broke. */
	if (upload_rc < 0 && !(upload_rc == ALB_ESYS &&
			       (upload_err.sys_errno == EPIPE ||
				upload_err.sys_errno == ECONNRESET)))
		return cli_comm_failure(a, c, upload_rc, &upload_err);
	if (mode == ALB_REPLY_MODE_READ) {
		struct read_ctx ctx = {a, r};
		rc = alb_client_read_stream(c, on_stream_msg, &ctx, &err);
		return rc < 0 ? cli_comm_failure(a, c, rc, &err) : rc;
	}
	/* What comes back may be large: an image, a block device. An image
	 * comes in one message; it goes to its file as it arrives. */
	alb_client_set_recv_progress(c, cli_progress_download, a);
	struct cli_image_out img = {.fd = -1};
	if (r->cmd->kind == ALB_CMD_UNIKERNEL_GET &&
	    (rc = cli_image_open(a, &img)) != CLI_EXIT_OK)
		return rc;
	struct alb_msg *m;
	rc = img.fd >= 0 ? alb_client_recv_image(c, img.fd, &m, &img.got, &err)
			 : alb_client_recv(c, &m, &err);
	if (rc < 0)
		cli_image_discard(&img);
	if (rc < 0 && upload_rc < 0 &&
	    alb_remote_failure(c) != ALB_REMOTE_LOCAL_AUTH)
		return cli_comm_failure(a, c, upload_rc, &upload_err);
	if (rc == ALB_EEOF) {
		/* albatross-client exits 0 here; a missing reply is a failure. */
		cli_error(a, "the daemon closed the connection without a reply");
		return CLI_EXIT_COMM;
	}
	cli_progress_end(a);
	if ((rc == ALB_EPARSE || rc == ALB_ETOOBIG) && img.got.compressed) {
		cli_error(a, "failed to uncompress image: %s", err.msg);
		return CLI_EXIT_COMM;
	}
	if (rc < 0)
		return cli_comm_failure(a, c, rc, &err);
	int status;
	if (img.fd >= 0 && m->kind == ALB_PAYLOAD_SUCCESS &&
	    m->u.success.kind == ALB_REPLY_UNIKERNEL_IMAGE) {
		if (alb_log_get_level() >= ALB_LOG_DEBUG)
			alb_msg_print_received(stderr, m, &img.got, 0, NULL);
		status = cli_image_reply(a, &img, m);
	} else {
		status = handle_reply(a, r, m);
	}
	cli_image_discard(&img);
	bool dump = status == CLI_EXIT_OK && mode == ALB_REPLY_MODE_DUMP &&
		    m->kind == ALB_PAYLOAD_SUCCESS &&
		    m->u.success.kind == ALB_REPLY_BLOCK_DEVICE_IMAGE;
	bool compressed = dump && m->u.success.u.block_compressed;
	char name[ALB_NAME_BUF];
	snprintf(name, sizeof(name), "%s", m->header.name);
	alb_msg_free(m);
	if (!dump) {
		if (status == CLI_EXIT_OK && mode == ALB_REPLY_MODE_DUMP) {
			cli_error(a, "unexpected reply to a block dump");
			return CLI_EXIT_COMM;
		}
		return status;
	}
	rc = alb_client_recv_dump(c, compressed, r->dump_fd, NULL, &err);
	cli_progress_end(a);
	if (rc == ALB_EPERM)
		return cli_report_failure(a, name, err.msg, strlen(err.msg));
	return rc < 0 ? cli_comm_failure(a, c, rc, &err) : CLI_EXIT_OK;
}

int cli_connect(struct cli_args *a, const char *name,
		const struct alb_command *cmd, struct alb_client **c)
{
	struct alb_error err = {0};
	*c = NULL;
	if (a->csr)
		return cli_write_csr(a, name, cmd);
	if (a->remote)
		return cli_remote_connect(a, name, cmd, c);
	if (a->socket != NULL && strcmp(a->socket, "-") == 0) {
		struct alb_buf b = {0};
		int rc = alb_client_encode_command(name, cmd, 0, &b, &err);
		if (rc < 0) {
			cli_error(a, "%s", err.msg);
			return CLI_EXIT_INTERNAL;
		}
		cli_hexdump(stdout, b.data, b.len);
		alb_buf_free(&b);
		return CLI_EXIT_COMM;
	}
	char path[ALB_SOCKET_PATH_BUF];
	const char *sock = a->socket;
	if (sock == NULL) {
		int rc = alb_endpoint_socket_path(
		    a->tmpdir, alb_command_endpoint(cmd->kind), path, &err);
		if (rc < 0) {
			cli_error(a, "%s", err.msg);
			return CLI_EXIT_CLI;
		}
		sock = path;
	}
	int rc = alb_client_connect(sock, a->timeout_ms, c, &err);
	if (rc < 0) {
		cli_error(a, "%s", err.msg);
		return rc == ALB_ESYS ? CLI_EXIT_CONNECT : CLI_EXIT_CLI;
	}
	alb_log_info("connected to %s, sending %s for %s", sock,
		     alb_cmd_kind_name(cmd->kind), name);
	return CLI_EXIT_OK;
}

int cli_run_connected(struct cli_args *a, const struct cli_request *r,
		      struct alb_client *c)
{
	int status = run_connected(a, r, c);
	alb_client_close(c);
	return status;
}

int cli_execute(struct cli_args *a, const struct cli_request *r)
{
	struct alb_client *c;
	int status = cli_connect(a, r->name, r->cmd, &c);
	if (status != CLI_EXIT_OK || c == NULL)
		return status;
	return cli_run_connected(a, r, c);
}
