/* libalbatross — vmmd: the unikernel commands that change what runs
 * (spec §6.9): create, force-create, restart (with and without new
 * arguments) and destroy. Each becomes an operation on its name; the
 * create procedure itself is in vmmd_create.c.
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmmd_internal.h"

/* Answers o's client with o->rc / o->err.msg and ends the operation. */
static void end(void *ctx)
{
	struct uop *o = ctx;
	struct uk *u = o->op.uk;
	if (o->op.conn != NULL) {
		if (o->rc == 0)
			conn_reply_string(o->op.conn, &o->op.hdr, o->err.msg);
		else
			conn_reply_failure(o->op.conn, &o->op.hdr, o->err.msg);
		conn_done(o->op.conn);
	}
	uop_free(o);
	uk_op_done(u);
}

static void end_text(struct uop *o, int rc, const char *text)
{
	o->rc = rc;
	snprintf(o->err.msg, sizeof(o->err.msg), "%s", text);
	end(o);
}

static void destroyed(struct uk *u, void *ctx)
{
	uk_forget_config(u);
	metrics_destroyed(u->v);
	end_text(ctx, 0, "destroyed unikernel");
}

/* The removal is durable (or refused: the unikernel keeps running, and a
 * restart restores it, as the client is told). */
static void destroy_persisted(void *ctx, int rc, const struct alb_error *err)
{
	struct uop *o = ctx;
	struct uk *u = o->op.uk;
	if (rc != 0) {
		char msg[ALB_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "could not destroy unikernel, its "
			 "state was not written: %.400s", err->msg);
		end_text(o, rc, msg);
		return;
	}
	switch (u->state) {
	case UK_RUNNING:
	case UK_STOPPING:
		/* no restart follows: the exit goes to `destroyed` */
		alb_log_info("vmmd: %s: destroying (pid %d)", u->name, (int)u->pid);
		uk_stop(u, true, destroyed, o);
		return;
	case UK_RESTART_WAIT:
		uk_cancel_restart(u);
		uk_forget_config(u);
		metrics_destroyed(u->v);
		end_text(o, 0, "destroyed: removed from restarting");
		return;
	case UK_IDLE:
	case UK_STARTING:
		/* it ended for good while the removal was written */
		break;
	}
	metrics_destroyed(u->v);
	end_text(o, 0, "destroyed unikernel");
}

/* The removal is made durable first, then the unikernel stopped: a
 * destroy that cannot be persisted is refused and changes nothing. */
static void start_destroy(struct op *op)
{
	struct uop *o = (struct uop *)op;
	struct uk *u = op->uk;
	switch (u->state) {
	case UK_RUNNING:
	case UK_RESTART_WAIT:
		persist_unikernel(u->v, u->name, NULL, destroy_persisted, o);
		return;
	case UK_IDLE:
	case UK_STARTING:
	case UK_STOPPING:
		break;
	}
	end_text(o, ALB_ENOENT, "destroy: not found");
}

static void start_restart(struct op *op)
{
	struct uop *o = (struct uop *)op;
	struct uk *u = op->uk;
	if ((u->state != UK_RUNNING && u->state != UK_RESTART_WAIT) ||
	    u->cfg == NULL) {
		/* Albatross answers a restart of what does not run as destroy
		 * would (spec §6.9) */
		end_text(o, ALB_ENOENT, "destroy: not found");
		return;
	}
	o->cfg = o->args != NULL ? config_merge(u->cfg, o->args)
				 : config_share(u->cfg);
	if (o->cfg == NULL) {
		end_text(o, ALB_ENOMEM, "out of memory");
		return;
	}
	/* a unikernel waiting for its restart-on-failure restarts now */
	o->mode = u->state == UK_RUNNING ? CREATE_REPLACE : CREATE_NEW;
	o->needs_dump = true;
	create_begin(o);
}

void vmmd_unikernel_cmd(struct conn *c, const struct alb_msg *m)
{
	struct alb_vmmd *v = c->v;
	const struct alb_command *cmd = &m->u.command;
	struct hdr h;
	hdr_copy(&h, &m->header);
	if (alb_name_is_path(h.name)) {
		conn_reply_failure(c, &h, "a unikernel name needs a label");
		conn_done(c);
		return;
	}
	if ((cmd->kind == ALB_CMD_UNIKERNEL_CREATE ||
	     cmd->kind == ALB_CMD_UNIKERNEL_FORCE_CREATE) &&
	    cmd->u.create.image.len == 0) {
		vmmd_upload_create(c, &h, cmd);
		return;
	}
	struct uk *u = uk_get(v, h.name);
	struct uop *o = u != NULL ? uop_new(c, &h) : NULL;
	if (o == NULL) {
		conn_reply_failure(c, &h, "out of memory");
		conn_done(c);
		if (u != NULL)
			uk_maybe_free(u);
		return;
	}
	o->cmd = cmd->kind;
	bool nomem = false;
	switch (cmd->kind) {
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		/* the message borrows its frame, which the config takes
		 * with the image: nothing of the image is copied */
		create_of_command(o, config_adopt(&cmd->u.create, c->frame));
		nomem = o->cfg == NULL;
		break;
	case ALB_CMD_UNIKERNEL_RESTART:
		if (cmd->u.restart.has_args) {
			o->args = config_copy(&cmd->u.restart.args, NULL);
			nomem = o->args == NULL;
		}
		o->op.start = start_restart;
		break;
	default:
		o->op.start = start_destroy;
		break;
	}
	if (nomem) {
		uop_free(o);
		conn_reply_failure(c, &h, "out of memory");
		conn_done(c);
		uk_maybe_free(u);
		return;
	}
	uk_op_submit(u, &o->op);
}
