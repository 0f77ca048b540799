/* embed_vmmd — an orchestrator that embeds albd's core (albatross/vmmd.h)
 * in its own libuv loop, beside handles of its own: a timer that reports
 * how long the loop has run and a signal handle for SIGINT/SIGTERM. It
 * deploys a unikernel through the core's own socket with the blocking
 * client API (on the libuv threadpool, so that the loop keeps serving the
 * core), prints what it sees (the create reply, then info), destroys it,
 * and shuts the core down cleanly.
 *
 *   embed_vmmd TMPDIR DBDIR IMAGE [ARGUMENT]...
 *
 * IMAGE is a Solo5 hvt executable, started with the ARGUMENTs; the tender is looked up as albd does
 * (<DBDIR>/solo5-hvt, then PATH). The core never raises SIGPIPE (its
 * clients and the console daemon are written with MSG_NOSIGNAL), so
 * nothing here deals with SIGPIPE: it keeps its default disposition.
 * SPDX-License-Identifier: ISC */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "albatross/albatross.h"

#define NAME "hello"
#define TICK_MS 50

struct orchestrator {
	uv_loop_t loop;
	uv_timer_t tick;
	uv_signal_t sigint, sigterm;
	uv_work_t work;
	struct alb_vmmd *core;
	char sock[ALB_SOCKET_PATH_BUF];
	const char *tmpdir;
	uint8_t *image;
	size_t image_len;
	char **args;    /* the unikernel's arguments */
	size_t n_args;
	unsigned ticks;
	int status;      /* the program's exit status */
	bool shutting_down;
};

/* ---- the client side (threadpool) ------------------------------------------ */

/* One command on a new connection; prints the first reply. Returns 0 when
 * it is a success. */
static int call(struct orchestrator *o, const struct alb_command *cmd)
{
	struct alb_client *c = NULL;
	struct alb_msg *m = NULL;
	struct alb_error err = {0};
	int rc = alb_client_connect(o->sock, 10000, &c, &err);
	if (rc == 0)
		rc = alb_client_send(c, NAME, cmd, NULL, NULL, &err);
	if (rc == 0)
		rc = alb_client_recv(c, &m, &err);
	if (rc != 0) {
		printf("client: %s: %s\n", alb_cmd_kind_name(cmd->kind), err.msg);
	} else {
		printf("client: %s -> ", alb_cmd_kind_name(cmd->kind));
		alb_msg_print(stdout, m, 0, NULL);
		printf("\n");
		rc = m->kind == ALB_PAYLOAD_SUCCESS ? 0 : ALB_EPROTO;
	}
	fflush(stdout);
	alb_msg_free(m);
	alb_client_close(c);
	return rc;
}

static void deploy(uv_work_t *w)
{
	struct orchestrator *o = w->data;
	int64_t cpu = 0;
	struct alb_command create = {.kind = ALB_CMD_UNIKERNEL_CREATE};
	struct alb_unikernel_config *u = &create.u.create;
	u->typ = ALB_TYP_SOLO5;
	u->memory = 32;
	u->numcpus = 1;
	u->n_cpuids = 1;
	u->cpuids = &cpu;
	u->image = (struct alb_bytes){o->image, o->image_len};
	struct alb_str argv[16];
	for (size_t i = 0; i < o->n_args && i < 16; i++)
		argv[i] = (struct alb_str){o->args[i], strlen(o->args[i])};
	u->has_argv = o->n_args > 0;
	u->argv = argv;
	u->n_argv = o->n_args < 16 ? o->n_args : 16;
	struct alb_command info = {.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_command destroy = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
	int rc = call(o, &create);
	if (rc == 0)
		rc = call(o, &info);
	if (rc == 0)
		rc = call(o, &destroy);
	o->status = rc == 0 ? 0 : 1;
}

/* ---- the loop side ---------------------------------------------------------- */

static void core_done(struct alb_vmmd *core, void *ctx)
{
	(void)core;
	struct orchestrator *o = ctx;
	printf("orchestrator: core shut down after %u ticks; closing our handles\n",
	       o->ticks);
	uv_close((uv_handle_t *)&o->tick, NULL);
	uv_close((uv_handle_t *)&o->sigint, NULL);
	uv_close((uv_handle_t *)&o->sigterm, NULL);
}

static void shut_down(struct orchestrator *o)
{
	if (o->shutting_down)
		return;
	o->shutting_down = true;
	alb_vmmd_shutdown(o->core, core_done, o);
}

static void deployed(uv_work_t *w, int status)
{
	struct orchestrator *o = w->data;
	(void)status;
	printf("orchestrator: deployment %s; shutting the core down\n",
	       o->status == 0 ? "done" : "failed");
	shut_down(o);
}

static void on_tick(uv_timer_t *t)
{
	struct orchestrator *o = t->data;
	o->ticks++;
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct orchestrator *o = s->data;
	printf("orchestrator: signal %d\n", signum);
	o->status = 1;
	shut_down(o);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	uint8_t *b = NULL;
	long n = -1;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n)) != NULL &&
	    fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s TMPDIR DBDIR IMAGE [ARGUMENT]...\n",
			argv[0]);
		return 2;
	}
	static struct orchestrator o;
	o.tmpdir = argv[1];
	o.args = argv + 4;
	o.n_args = (size_t)(argc - 4);
	o.image = read_file(argv[3], &o.image_len);
	struct alb_error err = {0};
	if (o.image == NULL ||
	    alb_endpoint_socket_path(o.tmpdir, ALB_ENDPOINT_VMMD, o.sock, &err) != 0) {
		fprintf(stderr, "%s: cannot read %s or socket path: %s\n", argv[0],
			argv[3], err.msg);
		return 1;
	}
	uv_loop_init(&o.loop);

	/* the core: the same lifecycle as every daemon core */
	struct alb_vmmd_config cfg;
	alb_vmmd_config_init(&cfg);
	cfg.tmpdir = argv[1];
	cfg.dbdir = argv[2];
	if (alb_vmmd_new(&o.loop, &cfg, &o.core, &err) != 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err.msg);
		return 1;
	}
	if (alb_vmmd_start(o.core, &err) != 0) {
		fprintf(stderr, "%s: %s\n", argv[0], err.msg);
		alb_vmmd_free(o.core);
		uv_loop_close(&o.loop);
		return 1;
	}
	printf("orchestrator: core listening on %s\n", o.sock);

	/* our own handles beside it */
	uv_timer_init(&o.loop, &o.tick);
	o.tick.data = &o;
	uv_timer_start(&o.tick, on_tick, TICK_MS, TICK_MS);
	uv_signal_init(&o.loop, &o.sigint);
	uv_signal_init(&o.loop, &o.sigterm);
	o.sigint.data = o.sigterm.data = &o;
	uv_signal_start(&o.sigint, on_signal, SIGINT);
	uv_signal_start(&o.sigterm, on_signal, SIGTERM);
	o.work.data = &o;
	uv_queue_work(&o.loop, &o.work, deploy, deployed);

	uv_run(&o.loop, UV_RUN_DEFAULT);
	alb_vmmd_free(o.core);
	int rc = uv_loop_close(&o.loop);
	printf("orchestrator: loop closed (%s), exit %d\n",
	       rc == 0 ? "nothing left" : uv_strerror(rc), o.status);
	free(o.image);
	return rc == 0 ? o.status : 1;
}
