/* libalbatross — the wire codec's shared pieces (private).
 * SPDX-License-Identifier: ISC
 *
 * Decoders take a struct alb_dec (arena, flags, error) and a DER cursor
 * positioned at the element to read; they consume exactly that element.
 * Encoders write one complete element with the reverse builder, so their
 * bodies emit fields last to first. */
#ifndef ALB_WIRE_INTERNAL_H
#define ALB_WIRE_INTERNAL_H

#include "albatross/state.h"
#include "albatross/wire.h"
#include "asn1/der.h"
#include "base/arena.h"
#include "base/sort.h"

/** Decoded memory per input byte, at most (the worst case is a list of
 * 2-byte elements each becoming a struct of up to 48 bytes), plus a fixed
 * allowance. */
#define ALB_DECODE_MEM_FACTOR 32
#define ALB_DECODE_MEM_SLACK 4096

/** Bit set of the alternatives [n] of a CHOICE. */
#define ALB_ALT(n) (1u << (n))

struct alb_dec {
	struct alb_arena *arena;
	unsigned flags;
	struct alb_error *err;
};

/** Decodes all of buf[0..len) into a new value that owns its memory (a
 * struct alb_msg, alb_certext or alb_state: its head): creates the arena
 * with a zeroed head of head_size bytes, stores the arena at byte
 * arena_offset of the head, runs body on a cursor over the input, refuses
 * trailing bytes ("trailing bytes") and frees everything on failure.
 * Returns the head, or NULL with *rc the error (0 on success). */
void *alb_dec_whole(const uint8_t *buf, size_t len, unsigned flags,
		    size_t head_size, size_t arena_offset,
		    int (*body)(struct alb_dec *d, struct alb_der *c, void *head),
		    int *rc, struct alb_error *err);

/** 0 for ALB_WIRE_VERSION, else "unknown version number 0xN". */
int alb_check_version(int64_t v, struct alb_error *err);

/** Fails with ALB_ENOMEM. */
int alb_dec_nomem(struct alb_dec *d);

/** Arena array of n elements, zeroed (NULL: out of memory). */
void *alb_dec_array(struct alb_dec *d, size_t n, size_t size);

/** Reads a SEQUENCE OF (tag 0x30) or SET OF (0x31): *body is the cursor
 * over the elements, *n their number. */
int alb_dec_list(struct alb_dec *d, struct alb_der *c, unsigned tag,
		 struct alb_der *body, size_t *n, const char *label);

/** UTF8String copied NUL-terminated. */
int alb_dec_str(struct alb_dec *d, struct alb_der *c, struct alb_str *out,
		const char *label);
/** OPTIONAL UTF8String: out->ptr stays NULL when absent. */
int alb_dec_opt_str(struct alb_dec *d, struct alb_der *c, struct alb_str *out,
		    const char *label);
/** OCTET STRING copied, or borrowed with ALB_DECODE_BORROW. */
int alb_dec_bytes(struct alb_dec *d, struct alb_der *c, struct alb_bytes *out,
		  const char *label);
/** A name (UTF8String, Name.of_string) in canonical form. */
int alb_dec_name(struct alb_dec *d, struct alb_der *c, const char **out,
		 const char *label);
/** A SEQUENCE OF UTF8String into an arena array. */
int alb_dec_str_list(struct alb_dec *d, struct alb_der *c, size_t *n,
		     struct alb_str **out, const char *label);
/** A MAC address: OCTET STRING of exactly 6 bytes. */
int alb_dec_mac(struct alb_dec *d, struct alb_der *c, uint8_t mac[ALB_MAC_LEN],
		const char *label);

/* ---- shared types (wire_config.c) ---- */

/** The grammars of a unikernel configuration (spec §1.5.4–1.5.6). */
enum alb_cfg_form {
	ALB_CFG_V0,      /* state [1] */
	ALB_CFG_V1,      /* state [0] */
	ALB_CFG_V2,      /* state [2] */
	ALB_CFG_V3,      /* create [9]/[10], state [3] and [4] */
	ALB_CFG_V4,      /* create [16]/[17], state [5] */
	ALB_CFG_CURRENT, /* create [20]/[21], state [6] */
	ALB_ARGS_V0,     /* restart [14]/[1] */
	ALB_ARGS_V1,     /* restart [14]/[2] */
	ALB_ARGS_CURRENT /* restart [14]/[3] */
};

/** The grammars of unikernel info (spec §1.5.7). */
enum alb_info_form { ALB_INFO_OLD4, ALB_INFO_OLD5, ALB_INFO_CURRENT };

/* Pieces shared by configs and info (wire_config.c). */
int alb_dec_typ(struct alb_dec *d, struct alb_der *c, enum alb_typ *typ);
void alb_enc_typ(struct alb_derw *w, enum alb_typ typ);
int alb_dec_fail(struct alb_dec *d, struct alb_der *c, struct alb_fail *f);
void alb_enc_fail(struct alb_derw *w, const struct alb_fail *f);
/** cpuids: a SET OF INTEGER (sorted, unique), or one INTEGER when !set. */
int alb_dec_cpuids(struct alb_dec *d, struct alb_der *c, bool set, size_t *n,
		   int64_t **out);
/** A SET OF INTEGER without duplicates. */
void alb_enc_int_set(struct alb_derw *w, size_t n, const int64_t *v);
/** [2] arguments: a SEQUENCE OF UTF8String, present even when empty. */
int alb_dec_argv(struct alb_dec *d, struct alb_der *c, bool *has, size_t *n,
		 struct alb_str **argv);
void alb_enc_argv(struct alb_derw *w, bool has, size_t n, const struct alb_str *v);

int alb_dec_config(struct alb_dec *d, struct alb_der *c, enum alb_cfg_form f,
		   struct alb_unikernel_config *cfg, const char *label);
/** Writes the current config (or, with args, the current arguments). */
void alb_enc_config(struct alb_derw *w, const struct alb_unikernel_config *cfg,
		    bool args);
int alb_dec_policy(struct alb_dec *d, struct alb_der *c, struct alb_policy *p,
		   const char *label);
void alb_enc_policy(struct alb_derw *w, const struct alb_policy *p);
int alb_dec_info(struct alb_dec *d, struct alb_der *c, enum alb_info_form f,
		 struct alb_unikernel_info *info, const char *label);
void alb_enc_info(struct alb_derw *w, const struct alb_unikernel_info *info,
		  enum alb_info_form f);

/** Writes a name as its canonical UTF8String (ALB_EINVAL when invalid). */
void alb_enc_name(struct alb_derw *w, const char *name);
/** Writes a SEQUENCE OF UTF8String. */
void alb_enc_str_list(struct alb_derw *w, size_t n, const struct alb_str *v);
/** Writes a UTF8String of an alb_str (ptr NULL = empty). */
void alb_enc_str(struct alb_derw *w, const struct alb_str *s);

/* ---- commands, replies, data ---- */

int alb_dec_command(struct alb_dec *d, struct alb_der *c,
		    struct alb_command *cmd, const char *label);
void alb_enc_command(struct alb_derw *w, const struct alb_command *cmd);
/** Bytes of the large strings in cmd (a size hint for the builder). */
size_t alb_command_bulk(const struct alb_command *cmd);

int alb_dec_success(struct alb_dec *d, struct alb_der *c, struct alb_reply *r,
		    const char *label);
void alb_enc_success(struct alb_derw *w, const struct alb_reply *r);
size_t alb_reply_bulk(const struct alb_reply *r);

int alb_dec_data(struct alb_dec *d, struct alb_der *c, struct alb_data *x,
		 const char *label);
void alb_enc_data(struct alb_derw *w, const struct alb_data *x);
size_t alb_data_bulk(const struct alb_data *x);

/** Builder size for a message whose large strings total bulk bytes. */
size_t alb_enc_hint(size_t bulk);

#endif
