/* libalbatross — vmmd: policies (spec §4): the root policy discovered at
 * startup (§4.7, bridges from the kernel), the restore of the stored
 * policies (§6.2 steps 4, 7, 8) and the policy commands (§6.12, §4.4).
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmmd_internal.h"

static int discover_root(struct alb_vmmd *v, struct alb_policy **out,
			 struct alb_error *err)
{
	struct alb_ifname *names = NULL;
	size_t n = 0;
	int rc = alb_bridge_list(NULL, &names, &n, err);
	if (rc != 0)
		return rc;
	struct alb_str *strs = calloc(n ? n : 1, sizeof(*strs));
	if (strs == NULL) {
		free(names);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		strs[i] = (struct alb_str){names[i].name, strlen(names[i].name)};
	rc = alb_policy_root_discover(v->block_dir, strs, n, out, err);
	free(strs);
	free(names);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	const struct alb_named_policy *x = a, *y = b;
	return alb_name_cmp(x->name, y->name);
}

int policies_restore(struct alb_vmmd *v, const struct alb_state *st,
		     struct alb_error *err)
{
	struct alb_policy *root = NULL;
	int rc = discover_root(v, &root, err);
	if (rc != 0)
		return rc;
	size_t n = st != NULL ? st->n_policies : 0;
	struct alb_named_policy *pols = calloc(n ? n : 1, sizeof(*pols));
	if (pols == NULL) {
		alb_policy_free(root);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	if (n > 0)
		memcpy(pols, st->policies, n * sizeof(*pols));
	/* parents before children, as the trie's pre-order */
	qsort(pols, n, sizeof(*pols), by_name);
	rc = alb_resources_policy_insert(v->res, ":", root, NULL, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char path[ALB_NAME_BUF];
		alb_name_path(pols[i].name, path);
		if (alb_name_is_root(path)) {
			if (!alb_policy_equal(&pols[i].policy, root))
				alb_log_warn("vmmd: the stored root policy differs "
					     "from this host's; using the host's");
			continue;
		}
		/* Albatross gives up here; a policy that does not fit under
		 * its parent is dropped instead: the policies above it still
		 * apply to its path (every policy on the path is checked), so
		 * nothing is allowed that the parent does not allow. This runs
		 * before any unikernel is adopted, so usage cannot fail it. */
		struct alb_error e = {0};
		if (alb_resources_policy_insert(v->res, path, &pols[i].policy,
						NULL, &e) != 0)
			alb_log_error("vmmd: policy restore error: couldn't insert "
				      "policy for %s: %s; it is dropped", path,
				      e.msg);
	}
	free(pols);
	alb_policy_free(root);
	return rc;
}

/* ---- commands ----------------------------------------------------------- */

struct preply {
	struct conn *c;
	struct hdr h;
	const char *text;
	const char *what; /* "add" or "remove" */
	bool keep; /* Policy_add: the connection reads on (spec §2.3) */
	char path[ALB_NAME_BUF];
};

/* Makes the policy at path what the durable state holds again (a change
 * that could not be persisted is undone). */
static void policy_undo(struct alb_vmmd *v, const char *path)
{
	const struct alb_policy *d = persist_policy_of(v, path);
	struct alb_error err = {0};
	int rc = d != NULL ? alb_resources_policy_insert(v->res, path, d, NULL, &err)
			   : alb_resources_policy_remove(v->res, path, &err);
	if (rc != 0)
		alb_log_error("vmmd: policy of %s could not be restored to what "
			      "the state holds: %s", path, err.msg);
}

static void policy_persisted(void *ctx, int rc, const struct alb_error *err)
{
	struct preply *p = ctx;
	if (rc == 0) {
		conn_reply_string(p->c, &p->h, p->text);
		if (p->keep)
			conn_next(p->c);
		else
			conn_done(p->c);
	} else {
		policy_undo(p->c->v, p->path);
		char msg[ALB_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg), "could not %s policy, the state was "
			 "not written: %.400s", p->what, err->msg);
		conn_reply_failure(p->c, &p->h, msg);
		conn_done(p->c);
	}
	free(p);
}

/* Answers once the policy change is durable, or undoes it. */
static void persist_then_reply(struct conn *c, const struct hdr *h,
			       const char *path, const char *text, bool keep)
{
	struct alb_vmmd *v = c->v;
	struct preply *p = malloc(sizeof(*p));
	if (p == NULL) {
		policy_undo(v, path);
		conn_reply_failure(c, h, "out of memory");
		conn_done(c);
		return;
	}
	*p = (struct preply){c, *h, text, keep ? "add" : "remove", keep, ""};
	snprintf(p->path, sizeof(p->path), "%s", path);
	persist_policy(v, path, alb_resources_policy_find(v->res, path),
		       policy_persisted, p);
}

void vmmd_policy_cmd(struct conn *c, const struct alb_msg *m)
{
	struct alb_vmmd *v = c->v;
	const struct alb_command *cmd = &m->u.command;
	struct hdr h;
	hdr_copy(&h, &m->header);
	char path[ALB_NAME_BUF];
	alb_name_path(h.name, path);
	if (!alb_name_is_path(h.name))
		alb_log_warn("vmmd: policy command with a name part in %s", h.name);
	struct alb_error err = {0};
	int rc;
	switch (cmd->kind) {
	case ALB_CMD_POLICY_INFO: {
		struct alb_named_policy *list = NULL;
		size_t n = 0;
		rc = alb_resources_policy_list(v->res, path, &list, &n, &err);
		if (rc != 0) {
			conn_reply_failure(c, &h, err.msg);
		} else {
			struct alb_reply r = {.kind = ALB_REPLY_POLICIES};
			r.u.policies.n = n;
			r.u.policies.v = list;
			conn_reply(c, &h, &r);
		}
		alb_named_policies_free(list);
		conn_done(c);
		return;
	}
	case ALB_CMD_POLICY_ADD: {
		bool unchanged = false;
		rc = alb_resources_policy_insert(v->res, path, &cmd->u.policy,
						 &unchanged, &err);
		if (rc != 0) {
			conn_reply_failure(c, &h, err.msg);
			conn_done(c);
		} else if (unchanged) {
			conn_reply_string(c, &h, "no modification of policy");
			conn_next(c);
		} else {
			alb_log_info("vmmd: policy of %s added", path);
			persist_then_reply(c, &h, path, "added policy", true);
		}
		return;
	}
	default:
		rc = alb_resources_policy_remove(v->res, path, &err);
		if (rc != 0) {
			conn_reply_failure(c, &h, err.msg);
			conn_done(c);
			return;
		}
		alb_log_info("vmmd: policy of %s removed", path);
		persist_then_reply(c, &h, path, "removed policy", false);
		return;
	}
}
