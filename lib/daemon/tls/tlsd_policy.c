/* libalbatross — the TLS endpoint installs a chain's policies into vmmd
 * (spec §9.2 step 5), all or nothing.
 *
 * As Albatross, one Policy_add per delegation, deepest first, on one
 * connection, and a refusal ends the connection with "expected success
 * when adding policy, got: ...". Unlike Albatross, a refusal leaves
 * nothing of the chain installed: the delegations nest (alb_cert_map
 * checked each against its parent in the chain), so only vmmd's checks
 * against what it holds can refuse one, and when that happens after a
 * deeper one went in, what went in is put back as it was. For that, a
 * chain with more than one delegation first reads the policies vmmd has
 * at the chain's paths (one Policy_info for the topmost path: the subtree,
 * names relative to it); the restore runs shallowest first, each
 * step the inverse of one install (Policy_add of the old policy, or
 * Policy_remove where there was none), each on a connection of its own
 * (vmmd closes one after a Policy_remove or a refusal). A chain with one
 * delegation needs none of this: its refusal installs nothing.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "albatross/log.h"
#include "albatross/policy.h"
#include "base/internal.h"
#include "tlsd_internal.h"

/* ---- installing ----------------------------------------------------------- */

/* Installs the next delegation, deepest first, for the path itself. */
static void install_next(struct tconn *k)
{
	const struct alb_cert_delegation *del =
	    &k->auth->delegations[--k->next_policy];
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = ALB_CMD_POLICY_ADD;
	cmd.u.policy = *del->policy;
	alb_log_debug("adding policy for %s", del->path);
	if (tlsd_dm_command(k, del->path, &cmd, "failed to write policy") == 0)
		k->state = T_POLICY;
}

static void install(struct tconn *k)
{
	k->next_policy = k->auth->n_delegations;
	install_next(k);
}

void tlsd_policies_install(struct tconn *k)
{
	size_t n = k->auth->n_delegations;
	if (n == 1) {
		install(k);
		return;
	}
	k->old = calloc(n, sizeof(*k->old));
	if (k->old == NULL) {
		tlsd_finish_failure(k, "out of memory");
		return;
	}
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = ALB_CMD_POLICY_INFO;
	if (tlsd_dm_command(k, k->auth->delegations[0].path, &cmd,
			    "failed to read policies") == 0)
		k->state = T_SNAPSHOT;
}

/* Keeps the policies vmmd has at the chain's paths, from the Policy_info
 * of the topmost one (names relative to it, the path itself ":"). */
static int keep_old(struct tconn *k, const struct alb_msg *m)
{
	if (m->kind != ALB_PAYLOAD_SUCCESS ||
	    m->u.success.kind != ALB_REPLY_POLICIES)
		return ALB_EPROTO;
	const char *top = k->auth->delegations[0].path;
	size_t top_len = strlen(top);
	for (size_t j = 0; j < k->auth->n_delegations; j++) {
		const char *path = k->auth->delegations[j].path;
		const char *rel = j == 0 ? ":" : path + top_len;
		for (size_t i = 0; i < m->u.success.u.policies.n; i++) {
			const struct alb_named_policy *np =
			    &m->u.success.u.policies.v[i];
			if (strcmp(np->name, rel) != 0)
				continue;
			int rc = alb_policy_copy(&np->policy, &k->old[j], NULL);
			if (rc != 0)
				return rc;
			break;
		}
	}
	return 0;
}

/* ---- putting back ---------------------------------------------------------- */

static void restore_next(struct tconn *k);

/* Every installed delegation is as it was: the refusal goes out. */
static void restored(struct tconn *k)
{
	char *text = k->refusal;
	k->refusal = NULL;
	tlsd_finish_failure(k, text != NULL ? text : "failed to write policy");
	free(text);
}

/* Puts back delegation k->rollback (installed: the policy its path had
 * before, or none), on a connection of its own. */
static void restore_next(struct tconn *k)
{
	if (k->rollback >= k->auth->n_delegations) {
		restored(k);
		return;
	}
	size_t j = k->rollback++;
	const char *path = k->auth->delegations[j].path;
	if (tlsd_dm_open(k) != 0) {
		alb_log_error("cannot put back the policy of %s: vmmd is "
			      "unreachable", path);
		restore_next(k);
		return;
	}
	struct alb_command cmd;
	memset(&cmd, 0, sizeof(cmd));
	if (k->old[j] != NULL) {
		cmd.kind = ALB_CMD_POLICY_ADD;
		cmd.u.policy = *k->old[j];
	} else {
		cmd.kind = ALB_CMD_POLICY_REMOVE;
	}
	alb_log_info("putting back the policy of %s (%s)", path,
		     k->old[j] != NULL ? "the one it had" : "none");
	if (tlsd_dm_command(k, path, &cmd, "failed to write policy") == 0)
		k->state = T_ROLLBACK;
}

/* vmmd refused a delegation with text: those from `first` on went in and
 * are put back before the refusal is sent. */
static void refused(struct tconn *k, const char *text, size_t first)
{
	alb_log_warn("error while applying policies %s", text);
	if (first >= k->auth->n_delegations || k->old == NULL) {
		tlsd_finish_failure(k, text);
		return;
	}
	k->refusal = strdup(text);
	k->rollback = first;
	alb_log_warn("putting back the %zu policies of the chain installed "
		     "before", k->auth->n_delegations - first);
	restore_next(k);
}

/* ---- vmmd's answers ----------------------------------------------------------- */

void tlsd_policy_answer(struct tconn *k, const struct alb_msg *m)
{
	switch (k->state) {
	case T_SNAPSHOT: {
		int rc = keep_old(k, m);
		/* vmmd closes a connection after Policy_info: a new one */
		if (rc == 0 && tlsd_dm_open(k) != 0) {
			tlsd_finish_failure(k, "couldn't reach service");
			return;
		}
		if (rc != 0) {
			tlsd_finish_failure(k, rc == ALB_ENOMEM
					       ? "out of memory"
					       : "failed to read policies");
			return;
		}
		install(k);
		return;
	}
	case T_ROLLBACK:
		if (m->kind != ALB_PAYLOAD_SUCCESS)
			alb_log_error("cannot put back the policy of %s: %.*s",
				      k->auth->delegations[k->rollback - 1].path,
				      m->kind == ALB_PAYLOAD_FAILURE
					  ? (int)m->u.failure.len
					  : 0,
				      m->kind == ALB_PAYLOAD_FAILURE
					  ? m->u.failure.ptr
					  : "");
		restore_next(k);
		return;
	default:
		break;
	}
	if (m->kind != ALB_PAYLOAD_SUCCESS) {
		char text[ALB_ERROR_MSG_MAX];
		if (m->kind == ALB_PAYLOAD_FAILURE)
			snprintf(text, sizeof(text), "expected success when adding "
				 "policy, got: failure %.*s",
				 (int)(m->u.failure.len > 400 ? 400 : m->u.failure.len),
				 m->u.failure.ptr);
		else
			snprintf(text, sizeof(text), "expected success when adding "
				 "policy, got: %s",
				 m->kind == ALB_PAYLOAD_DATA ? "data" : "command");
		/* this one did not go in; the deeper ones did */
		refused(k, text, k->next_policy + 1);
		return;
	}
	if (k->next_policy > 0)
		install_next(k);
	else
		tlsd_send_command(k);
}

void tlsd_policy_lost(struct tconn *k)
{
	switch (k->state) {
	case T_SNAPSHOT:
		tlsd_finish_failure(k, "failed to read policies");
		break;
	case T_ROLLBACK:
		alb_log_error("cannot put back the policy of %s: vmmd went away",
			      k->auth->delegations[k->rollback - 1].path);
		restore_next(k);
		break;
	default:
		/* as Albatross; what went in before is put back first, and
		 * the one without an answer too (putting back what it
		 * replaced changes nothing if it did not go in) */
		refused(k, "read error after writing policy", k->next_policy);
		break;
	}
}

void tlsd_policies_free(struct tconn *k)
{
	for (size_t j = 0; k->old != NULL && j < k->auth->n_delegations; j++)
		alb_policy_free(k->old[j]);
	free(k->old);
	k->old = NULL;
	free(k->refusal);
	k->refusal = NULL;
}
