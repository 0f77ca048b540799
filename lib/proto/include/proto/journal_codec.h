/* libalbatross — the journal's records (private; doc/journal.md): one
 * change of the persisted state as a self-delimiting DER value with a
 * CRC-32C, so that a reader finds where each record ends, and whether it
 * is whole, without any other index.
 *
 *   Record ::= SEQUENCE {
 *     change CHOICE {
 *       unikernel      [0] SEQUENCE { name UTF8String, value UnikernelConfig },
 *       unikernel-gone [1] UTF8String,   -- a unikernel name
 *       policy         [2] SEQUENCE { name UTF8String, value Policy },
 *       policy-gone    [3] UTF8String,   -- a path name
 *       unikernel-file [4] SEQUENCE { name UTF8String,
 *                                     value UnikernelConfig, -- image ""
 *                                     image ImageFile } },
 *     crc OCTET STRING (SIZE (4)) }
 *   ImageFile ::= SEQUENCE { file UTF8String, -- 32 hex digits
 *                            length INTEGER,
 *                            sha256 OCTET STRING (SIZE (32)) }
 *
 * [0] and [2] hold exactly the entries of the state file's tries (spec
 * §1.9), so a unikernel's record reuses its state entry (state_codec.h).
 * crc is the CRC-32C (big-endian) of every byte of the record before the
 * crc field. [4] is a unikernel whose image was streamed to albd: the
 * image is the file <dbdir>/images/<file>, written and made durable
 * before the record, which names its length and digest.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_PROTO_JOURNAL_CODEC_H
#define ALB_PROTO_JOURNAL_CODEC_H

#include <sys/uio.h>

#include "albatross/image.h"
#include "albatross/state.h"

/** Largest record read or written, in bytes: an image of ALB_IMAGE_MAX and
 * 1 MiB for the rest of its configuration (as the largest create frame). */
#define ALB_JOURNAL_RECORD_MAX ((size_t)ALB_IMAGE_MAX + 1024u * 1024u)
/** Bytes of the crc field: OCTET STRING, length 4, 4 bytes. */
#define ALB_JOURNAL_CRC_LEN 6
/** Most bytes of a record's head (the two headers in front of the body). */
#define ALB_JOURNAL_HEAD_MAX 20
/** Fewest bytes that hold the outer header of any record. */
#define ALB_JOURNAL_HEADER_MAX 10

/** The kinds of change, the CHOICE numbers of the record. */
enum alb_journal_kind {
	ALB_JOURNAL_UNIKERNEL = 0,
	ALB_JOURNAL_UNIKERNEL_GONE = 1,
	ALB_JOURNAL_POLICY = 2,
	ALB_JOURNAL_POLICY_GONE = 3,
	ALB_JOURNAL_UNIKERNEL_FILE = 4,
};

/** Characters of an image file's name: lowercase hexadecimal digits. */
#define ALB_JOURNAL_FILE_NAME_LEN 32

/** The image file of an ALB_JOURNAL_UNIKERNEL_FILE record. */
struct alb_journal_image_file {
	char name[ALB_JOURNAL_FILE_NAME_LEN + 1];
	uint64_t len; /* at most ALB_IMAGE_MAX */
	uint8_t sha256[ALB_SHA256_LEN];
};

/** A record around a body the caller keeps: head[0..head_len), then the
 * body, then crc[0..ALB_JOURNAL_CRC_LEN), whose last 4 bytes
 * alb_journal_seal() fills. */
struct alb_journal_frame {
	uint8_t head[ALB_JOURNAL_HEAD_MAX];
	size_t head_len;
	uint8_t crc[ALB_JOURNAL_CRC_LEN];
};

/** The frame of a record of kind with a body of body_len bytes: for
 * ALB_JOURNAL_UNIKERNEL the state entry (SEQUENCE {name, config}), for
 * ALB_JOURNAL_POLICY the policy entry (alb_journal_policy_body()), for the
 * other two the UTF8String (alb_journal_name_body()). ALB_ETOOBIG past
 * ALB_JOURNAL_RECORD_MAX, ALB_EINVAL for an unknown kind. */
int alb_journal_frame_init(struct alb_journal_frame *f,
			   enum alb_journal_kind kind, size_t body_len,
			   struct alb_error *err);

/** Fills the checksum of the record whose body is the concatenation of
 * body[0..n) (body_len bytes in all, as given to the frame): the CRC-32C
 * of the head and the body. */
void alb_journal_seal(struct alb_journal_frame *f, const struct iovec *body,
		      size_t n);

/** The body of a "gone" record: name as a UTF8String. out must be empty;
 * free with alb_buf_free(). ALB_EINVAL for an invalid name. */
int alb_journal_name_body(const char *name, struct alb_buf *out,
			  struct alb_error *err);

/** The body of an ALB_JOURNAL_UNIKERNEL_FILE record: name, cfg with its
 * image left out (whatever cfg->image holds), and f. ALB_EINVAL for a
 * file name that is not ALB_JOURNAL_FILE_NAME_LEN lowercase hex digits. */
int alb_journal_file_body(const char *name,
			  const struct alb_unikernel_config *cfg,
			  const struct alb_journal_image_file *f,
			  struct alb_buf *out, struct alb_error *err);

/** True when s is the name of an image file (ALB_JOURNAL_FILE_NAME_LEN
 * lowercase hexadecimal digits, nothing else). */
bool alb_journal_file_name_ok(const char *s);

/** The body of a policy record: the state file's entry of path. */
int alb_journal_policy_body(const char *path, const struct alb_policy *p,
			    struct alb_buf *out, struct alb_error *err);

/** The length of the record that starts at p[0..avail): 0 and *len, or
 * ALB_EAGAIN when avail does not hold its header yet, or ALB_EPARSE when
 * it is not the header of a record (not a SEQUENCE, a length that is not
 * DER or more than ALB_JOURNAL_RECORD_MAX). */
int alb_journal_record_len(const uint8_t *p, size_t avail, size_t *len,
			   struct alb_error *err);

/** A decoded record; owns its memory. */
struct alb_journal_change {
	enum alb_journal_kind kind;
	const char *name; /* unikernel name, or policy path */
	struct alb_unikernel_config config; /* ..._UNIKERNEL and _FILE */
	struct alb_journal_image_file file; /* ALB_JOURNAL_UNIKERNEL_FILE */
	struct alb_policy policy;           /* ALB_JOURNAL_POLICY */
	struct alb_arena *arena_;           /* private */
};

/** Checks that buf[0..len) is exactly one record whose checksum is right:
 * 0, or ALB_EPARSE ("checksum mismatch", "not whole", ...): what a torn
 * or damaged record fails. */
int alb_journal_check(const uint8_t *buf, size_t len, struct alb_error *err);

/** Decodes the record buf[0..len), which alb_journal_check() accepted:
 * ALB_EPARSE when its change is not one of the grammar. flags: 0 or
 * ALB_DECODE_BORROW (the image then points into buf). Free *out with
 * alb_journal_change_free(). */
int alb_journal_decode(const uint8_t *buf, size_t len, unsigned flags,
		       struct alb_journal_change **out, struct alb_error *err);
void alb_journal_change_free(struct alb_journal_change *c);

#endif
