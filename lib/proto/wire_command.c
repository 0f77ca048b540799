/* libalbatross — commands (spec §1.4): console, stats, unikernel, policy
 * and block commands, with the legacy forms that still decode.
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include "base/internal.h"
#include "wire_internal.h"

/* Wraps the element written since mark in EXPLICIT [n]. */
static void wrap(struct alb_derw *w, unsigned n, size_t mark)
{
	alb_derw_close(w, ALB_DER_EXPLICIT(n), mark);
}

/* ---- console [0] ---------------------------------------------------- */

static int dec_console(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd)
{
	unsigned n = 0, k = 0;
	struct alb_der in, in2;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(2) | ALB_ALT(3), &n, &in,
				    NULL, d->err);
	if (rc < 0)
		return rc;
	switch (n) {
	case 0:
		cmd->kind = ALB_CMD_CONSOLE_ADD;
		return alb_der_get_int(&in, &cmd->u.console_add, NULL, d->err);
	case 2:
		cmd->kind = ALB_CMD_CONSOLE_SUBSCRIBE;
		rc = alb_der_get_choice(&in, ALB_ALT(0) | ALB_ALT(1), &k, &in2, NULL, d->err);
		if (rc < 0)
			return rc;
		cmd->u.subscribe.since = k == 0;
		if (k == 0)
			return alb_der_get_time(&in2, &cmd->u.subscribe.time, NULL, d->err);
		return alb_der_get_int(&in2, &cmd->u.subscribe.count, NULL, d->err);
	default:
		cmd->kind = ALB_CMD_CONSOLE_LIST_INACTIVE;
		return alb_der_get_null(&in, NULL, d->err);
	}
}

/* ---- stats [1] ------------------------------------------------------ */

static int dec_stats_add(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd)
{
	struct alb_der s, body;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &cmd->u.stats_add.vmmdev, "vmmdev");
	if (rc == 0)
		rc = alb_der_get_int(&s, &cmd->u.stats_add.pid, "pid", d->err);
	if (rc == 0)
		rc = alb_dec_list(d, &s, ALB_DER_SEQUENCE, &body,
				  &cmd->u.stats_add.n_taps, "network");
	if (rc < 0)
		return rc;
	struct alb_stats_tap *t = alb_dec_array(d, cmd->u.stats_add.n_taps, sizeof(*t));
	if (t == NULL)
		return alb_dec_nomem(d);
	cmd->u.stats_add.taps = t;
	for (size_t i = 0; i < cmd->u.stats_add.n_taps && rc == 0; i++) {
		struct alb_der e;
		rc = alb_der_get(&body, ALB_DER_SEQUENCE, &e, NULL, d->err);
		if (rc == 0)
			rc = alb_dec_str(d, &e, &t[i].netif, "bridge");
		if (rc == 0)
			rc = alb_dec_str(d, &e, &t[i].tap, "tap");
		if (rc == 0)
			rc = alb_der_end(&e, d->err);
	}
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_stats(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd)
{
	static const enum alb_cmd_kind kinds[] = {
		ALB_CMD_STATS_ADD, ALB_CMD_STATS_REMOVE, ALB_CMD_STATS_SUBSCRIBE,
		ALB_CMD_STATS_INITIAL};
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(1) | ALB_ALT(2) | ALB_ALT(3),
				    &n, &in, NULL, d->err);
	if (rc < 0)
		return rc;
	cmd->kind = kinds[n];
	if (n == 0)
		return dec_stats_add(d, &in, cmd);
	return alb_der_get_null(&in, NULL, d->err);
}

/* ---- unikernel [3] -------------------------------------------------- */

static int dec_restart(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd)
{
	static const enum alb_cfg_form forms[] = {ALB_ARGS_V0, ALB_ARGS_V0, ALB_ARGS_V1,
						  ALB_ARGS_CURRENT};
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(1) | ALB_ALT(2) | ALB_ALT(3),
				    &n, &in, NULL, d->err);
	if (rc < 0)
		return rc;
	if (n == 0)
		return alb_der_get_null(&in, NULL, d->err);
	cmd->u.restart.has_args = true;
	return alb_dec_config(d, &in, forms[n], &cmd->u.restart.args, NULL);
}

static int dec_unikernel(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd)
{
	static const enum alb_cmd_kind kinds[] = {
		[3] = ALB_CMD_UNIKERNEL_DESTROY,
		[9] = ALB_CMD_UNIKERNEL_CREATE,
		[10] = ALB_CMD_UNIKERNEL_FORCE_CREATE,
		[11] = ALB_CMD_UNIKERNEL_GET,
		[14] = ALB_CMD_UNIKERNEL_RESTART,
		[15] = ALB_CMD_OLD_UNIKERNEL_INFO4,
		[16] = ALB_CMD_UNIKERNEL_CREATE,
		[17] = ALB_CMD_UNIKERNEL_FORCE_CREATE,
		[18] = ALB_CMD_OLD_UNIKERNEL_INFO5,
		[19] = ALB_CMD_UNIKERNEL_INFO,
		[20] = ALB_CMD_UNIKERNEL_CREATE,
		[21] = ALB_CMD_UNIKERNEL_FORCE_CREATE,
	};
	const uint32_t alts = ALB_ALT(3) | ALB_ALT(9) | ALB_ALT(10) | ALB_ALT(11) |
			      ALB_ALT(14) | ALB_ALT(15) | ALB_ALT(16) | ALB_ALT(17) |
			      ALB_ALT(18) | ALB_ALT(19) | ALB_ALT(20) | ALB_ALT(21);
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, alts, &n, &in, NULL, d->err);
	if (rc < 0)
		return rc;
	cmd->kind = kinds[n];
	switch (n) {
	case 3:
	case 15:
	case 18:
	case 19:
		return alb_der_get_null(&in, NULL, d->err);
	case 11:
		return alb_der_get_int(&in, &cmd->u.level, NULL, d->err);
	case 14:
		return dec_restart(d, &in, cmd);
	default:
		break;
	}
	/* creates: [9]/[10] v3, [16]/[17] v4, [20]/[21] current */
	enum alb_cfg_form f = n <= 10 ? ALB_CFG_V3 : n <= 17 ? ALB_CFG_V4 : ALB_CFG_CURRENT;
	return alb_dec_config(d, &in, f, &cmd->u.create, NULL);
}

/* ---- policy [4] ----------------------------------------------------- */

static int dec_policy_cmd(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd)
{
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(1) | ALB_ALT(2), &n, &in,
				    NULL, d->err);
	if (rc < 0)
		return rc;
	if (n == 1) {
		cmd->kind = ALB_CMD_POLICY_ADD;
		return alb_dec_policy(d, &in, &cmd->u.policy, NULL);
	}
	cmd->kind = n == 0 ? ALB_CMD_POLICY_INFO : ALB_CMD_POLICY_REMOVE;
	return alb_der_get_null(&in, NULL, d->err);
}

/* ---- block [5] ------------------------------------------------------ */

static int dec_old_block_add(struct alb_dec *d, struct alb_der *c,
			     struct alb_command *cmd)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_der_get_int(&s, &cmd->u.old_block_add.size, "size", d->err);
	if (rc == 0)
		rc = alb_der_get_bool(&s, &cmd->u.old_block_add.compressed, "compress",
				      d->err);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_OCTET_STRING)) {
		cmd->u.old_block_add.has_data = true;
		rc = alb_dec_bytes(d, &s, &cmd->u.old_block_add.data, "data");
	}
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_old_block_set(struct alb_dec *d, struct alb_der *c,
			     struct alb_command *cmd)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_der_get_bool(&s, &cmd->u.old_block_set.compressed, "compress",
				      d->err);
	if (rc == 0)
		rc = alb_dec_bytes(d, &s, &cmd->u.old_block_set.data, "data");
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_block(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd)
{
	static const enum alb_cmd_kind kinds[] = {
		ALB_CMD_BLOCK_INFO,    ALB_CMD_BLOCK_ADD,     ALB_CMD_BLOCK_REMOVE,
		ALB_CMD_OLD_BLOCK_ADD, ALB_CMD_OLD_BLOCK_SET, ALB_CMD_OLD_BLOCK_DUMP,
		ALB_CMD_BLOCK_DUMP,    ALB_CMD_BLOCK_SET};
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, 0xffu, &n, &in, NULL, d->err);
	if (rc < 0)
		return rc;
	cmd->kind = kinds[n];
	switch (n) {
	case 0:
	case 2:
		return alb_der_get_null(&in, NULL, d->err);
	case 1:
		return alb_der_get_int(&in, &cmd->u.block_size, NULL, d->err);
	case 3:
		return dec_old_block_add(d, &in, cmd);
	case 4:
		return dec_old_block_set(d, &in, cmd);
	case 5:
	case 6:
		return alb_der_get_int(&in, &cmd->u.level, NULL, d->err);
	default:
		return alb_der_get_bool(&in, &cmd->u.block_compressed, NULL, d->err);
	}
}

int alb_dec_command(struct alb_dec *d, struct alb_der *c, struct alb_command *cmd,
		    const char *label)
{
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, 0x3fu, &n, &in, label, d->err);
	if (rc < 0)
		return rc;
	switch (n) {
	case 0: return dec_console(d, &in, cmd);
	case 1: return dec_stats(d, &in, cmd);
	case 2:
		rc = alb_der_get_null(&in, NULL, d->err);
		return rc < 0 ? rc : alb_fail(d->err, ALB_EPARSE, "support for log dropped");
	case 3: return dec_unikernel(d, &in, cmd);
	case 4: return dec_policy_cmd(d, &in, cmd);
	default: return dec_block(d, &in, cmd);
	}
}

/* ---- encoding --------------------------------------------------------- */

static void enc_console(struct alb_derw *w, const struct alb_command *cmd)
{
	size_t m = alb_derw_len(w);
	switch (cmd->kind) {
	case ALB_CMD_CONSOLE_ADD:
		alb_derw_int(w, cmd->u.console_add);
		wrap(w, 0, m);
		break;
	case ALB_CMD_CONSOLE_SUBSCRIBE:
		if (cmd->u.subscribe.since) {
			alb_derw_time(w, &cmd->u.subscribe.time);
			wrap(w, 0, m);
		} else {
			alb_derw_int(w, cmd->u.subscribe.count);
			wrap(w, 1, m);
		}
		wrap(w, 2, m);
		break;
	default:
		alb_derw_null(w);
		wrap(w, 3, m);
	}
	wrap(w, 0, m);
}

static void enc_stats(struct alb_derw *w, const struct alb_command *cmd)
{
	size_t m = alb_derw_len(w);
	if (cmd->kind == ALB_CMD_STATS_ADD) {
		size_t l = alb_derw_len(w);
		for (size_t i = cmd->u.stats_add.n_taps; i-- > 0;) {
			size_t e = alb_derw_len(w);
			alb_enc_str(w, &cmd->u.stats_add.taps[i].tap);
			alb_enc_str(w, &cmd->u.stats_add.taps[i].netif);
			alb_derw_close(w, ALB_DER_SEQUENCE, e);
		}
		alb_derw_close(w, ALB_DER_SEQUENCE, l);
		alb_derw_int(w, cmd->u.stats_add.pid);
		alb_enc_str(w, &cmd->u.stats_add.vmmdev);
		alb_derw_close(w, ALB_DER_SEQUENCE, m);
		wrap(w, 0, m);
	} else {
		alb_derw_null(w);
		wrap(w, cmd->kind == ALB_CMD_STATS_REMOVE      ? 1
			: cmd->kind == ALB_CMD_STATS_SUBSCRIBE ? 2
							       : 3,
		     m);
	}
	wrap(w, 1, m);
}

static void enc_unikernel(struct alb_derw *w, const struct alb_command *cmd)
{
	size_t m = alb_derw_len(w);
	unsigned n;
	switch (cmd->kind) {
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		/* legacy creates are re-encoded in the current form */
		alb_enc_config(w, &cmd->u.create, false);
		n = cmd->kind == ALB_CMD_UNIKERNEL_CREATE ? 20 : 21;
		break;
	case ALB_CMD_UNIKERNEL_GET:
		alb_derw_int(w, cmd->u.level);
		n = 11;
		break;
	case ALB_CMD_UNIKERNEL_RESTART:
		if (cmd->u.restart.has_args) {
			alb_enc_config(w, &cmd->u.restart.args, true);
			wrap(w, 3, m);
		} else {
			alb_derw_null(w);
			wrap(w, 0, m);
		}
		n = 14;
		break;
	default:
		alb_derw_null(w);
		n = cmd->kind == ALB_CMD_UNIKERNEL_DESTROY      ? 3
		    : cmd->kind == ALB_CMD_OLD_UNIKERNEL_INFO4 ? 15
		    : cmd->kind == ALB_CMD_OLD_UNIKERNEL_INFO5 ? 18
							       : 19;
	}
	wrap(w, n, m);
	wrap(w, 3, m);
}

static void enc_policy_cmd(struct alb_derw *w, const struct alb_command *cmd)
{
	size_t m = alb_derw_len(w);
	if (cmd->kind == ALB_CMD_POLICY_ADD) {
		alb_enc_policy(w, &cmd->u.policy);
		wrap(w, 1, m);
	} else {
		alb_derw_null(w);
		wrap(w, cmd->kind == ALB_CMD_POLICY_INFO ? 0 : 2, m);
	}
	wrap(w, 4, m);
}

static void enc_block(struct alb_derw *w, const struct alb_command *cmd)
{
	size_t m = alb_derw_len(w);
	unsigned n;
	switch (cmd->kind) {
	case ALB_CMD_BLOCK_INFO:
	case ALB_CMD_BLOCK_REMOVE:
		alb_derw_null(w);
		n = cmd->kind == ALB_CMD_BLOCK_INFO ? 0 : 2;
		break;
	case ALB_CMD_BLOCK_ADD:
		alb_derw_int(w, cmd->u.block_size);
		n = 1;
		break;
	case ALB_CMD_OLD_BLOCK_ADD:
		if (cmd->u.old_block_add.has_data)
			alb_derw_octets(w, cmd->u.old_block_add.data.ptr,
					cmd->u.old_block_add.data.len);
		alb_derw_bool(w, cmd->u.old_block_add.compressed);
		alb_derw_int(w, cmd->u.old_block_add.size);
		alb_derw_close(w, ALB_DER_SEQUENCE, m);
		n = 3;
		break;
	case ALB_CMD_OLD_BLOCK_SET:
		alb_derw_octets(w, cmd->u.old_block_set.data.ptr,
				cmd->u.old_block_set.data.len);
		alb_derw_bool(w, cmd->u.old_block_set.compressed);
		alb_derw_close(w, ALB_DER_SEQUENCE, m);
		n = 4;
		break;
	case ALB_CMD_OLD_BLOCK_DUMP:
	case ALB_CMD_BLOCK_DUMP:
		alb_derw_int(w, cmd->u.level);
		n = cmd->kind == ALB_CMD_OLD_BLOCK_DUMP ? 5 : 6;
		break;
	default:
		alb_derw_bool(w, cmd->u.block_compressed);
		n = 7;
	}
	wrap(w, n, m);
	wrap(w, 5, m);
}

void alb_enc_command(struct alb_derw *w, const struct alb_command *cmd)
{
	switch (cmd->kind) {
	case ALB_CMD_CONSOLE_ADD:
	case ALB_CMD_CONSOLE_SUBSCRIBE:
	case ALB_CMD_CONSOLE_LIST_INACTIVE:
		enc_console(w, cmd);
		return;
	case ALB_CMD_STATS_ADD:
	case ALB_CMD_STATS_REMOVE:
	case ALB_CMD_STATS_SUBSCRIBE:
	case ALB_CMD_STATS_INITIAL:
		enc_stats(w, cmd);
		return;
	case ALB_CMD_UNIKERNEL_INFO:
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
	case ALB_CMD_UNIKERNEL_DESTROY:
	case ALB_CMD_UNIKERNEL_GET:
	case ALB_CMD_UNIKERNEL_RESTART:
	case ALB_CMD_OLD_UNIKERNEL_INFO4:
	case ALB_CMD_OLD_UNIKERNEL_INFO5:
		enc_unikernel(w, cmd);
		return;
	case ALB_CMD_POLICY_INFO:
	case ALB_CMD_POLICY_ADD:
	case ALB_CMD_POLICY_REMOVE:
		enc_policy_cmd(w, cmd);
		return;
	case ALB_CMD_BLOCK_INFO:
	case ALB_CMD_BLOCK_ADD:
	case ALB_CMD_BLOCK_REMOVE:
	case ALB_CMD_BLOCK_SET:
	case ALB_CMD_BLOCK_DUMP:
	case ALB_CMD_OLD_BLOCK_ADD:
	case ALB_CMD_OLD_BLOCK_SET:
	case ALB_CMD_OLD_BLOCK_DUMP:
		enc_block(w, cmd);
		return;
	}
	alb_derw_fail(w, ALB_EINVAL, "unknown command kind");
}

size_t alb_command_bulk(const struct alb_command *cmd)
{
	switch (cmd->kind) {
	case ALB_CMD_UNIKERNEL_CREATE:
	case ALB_CMD_UNIKERNEL_FORCE_CREATE:
		return cmd->u.create.image.len;
	case ALB_CMD_OLD_BLOCK_ADD:
		return cmd->u.old_block_add.has_data ? cmd->u.old_block_add.data.len : 0;
	case ALB_CMD_OLD_BLOCK_SET:
		return cmd->u.old_block_set.data.len;
	default:
		return 0;
	}
}
