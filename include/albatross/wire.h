/* libalbatross — Albatross wire protocol version 5 (spec §1).
 * SPDX-License-Identifier: ISC
 *
 * Typed C values for every command, reply and data message, and their DER
 * encoding and decoding. The layouts of these structs are the protocol's and
 * are public. A decoded value owns its memory (one arena per decode): every
 * pointer inside it stays valid until the matching *_free(). A value built by
 * a caller for encoding may point anywhere; the encoder only reads it.
 *
 * Optional fields: a `has_x` flag, or a NULL pointer for an optional string.
 * Lists are (n_x, x) pairs. Encoders never modify their input; SET OF
 * fields are emitted in DER order whatever their order in memory.
 *
 * Every struct here but alb_time and alb_timeval ends in reserved words
 * (ALB_RESERVED, common.h) that must be zero: zero a value before filling
 * it (`= {0}`); decoders zero them. */
#ifndef ALBATROSS_WIRE_H
#define ALBATROSS_WIRE_H

#include "albatross/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Length of a MAC address on the wire. */
#define ALB_MAC_LEN 6

/** A point in time, UTC. GeneralizedTime carries milliseconds; nsec keeps
 * finer values so that encoding can reproduce Albatross's ".000" quirk.
 * Complete as it is: no reserved tail (see common.h), like alb_timeval. */
struct alb_time {
	int64_t sec; /* seconds since the Unix epoch */
	uint32_t nsec;
};

/** struct timeval on the wire: SEQUENCE { int64 seconds, INTEGER usec }. */
struct alb_timeval {
	int64_t sec;
	int64_t usec;
};

/* ---- unikernel configuration (spec §1.5) ---------------------------- */

enum alb_typ { ALB_TYP_SOLO5 = 0, ALB_TYP_BHYVE = 1 };

/** Fail behaviour: quit, or restart on the listed exit codes (none listed
 * = every code except the never-restart ones, spec §6.7). */
struct alb_fail {
	bool restart;
	size_t n_exit_codes;
	int64_t *exit_codes;
	ALB_RESERVED(2);
};

struct alb_block_dev {
	struct alb_str name;   /* device name inside the unikernel */
	struct alb_str device; /* host block device label; ptr NULL = same as name */
	bool has_sector_size;
	int64_t sector_size;
	ALB_RESERVED(2);
};

struct alb_net_dev {
	struct alb_str netif;  /* device name inside the unikernel */
	struct alb_str bridge; /* host bridge; ptr NULL = same as netif */
	bool has_mac;
	uint8_t mac[ALB_MAC_LEN];
	ALB_RESERVED(2);
};

/** A unikernel configuration (current form [20]/[21]/state [6]). Legacy
 * forms decode into it with Albatross's defaults (spec §1.5.5). Restart
 * arguments (spec §1.5.6) use the same struct: typ, compressed and image are
 * then ignored. */
struct alb_unikernel_config {
	enum alb_typ typ;
	bool compressed;
	struct alb_bytes image;
	bool has_startup;
	int64_t startup;
	bool add_name;
	struct alb_fail fail;
	size_t n_cpuids;
	int64_t *cpuids;
	int64_t memory; /* MB */
	size_t n_blocks;
	struct alb_block_dev *blocks;
	size_t n_bridges;
	struct alb_net_dev *bridges;
	bool has_argv; /* an empty argv that is present differs from none */
	size_t n_argv;
	struct alb_str *argv;
	int64_t numcpus;                     /* absent on the wire decodes as 1 */
	struct alb_str linux_boot_partition; /* optional */
	ALB_RESERVED(8);
};

/* ---- policies (spec §1.5.1) ------------------------------------------ */

struct alb_policy {
	int64_t unikernels;
	size_t n_cpuids;
	int64_t *cpuids; /* a set: ascending, no duplicates after decode */
	int64_t memory;  /* MB */
	bool has_block;
	int64_t block; /* MB */
	size_t n_bridges;
	struct alb_str *bridges; /* a set: byte order, no duplicates after decode */
	ALB_RESERVED(4);
};

struct alb_named_policy {
	const char *name; /* canonical path name */
	struct alb_policy policy;
	ALB_RESERVED(1);
};

/* ---- unikernel info (spec §1.5.7) ------------------------------------ */

struct alb_info_block {
	struct alb_str unikernel_device;
	struct alb_str host_device;
	int64_t sector_size;
	int64_t size; /* MB */
	ALB_RESERVED(2);
};

struct alb_info_net {
	struct alb_str unikernel_device;
	struct alb_str host_device;
	uint8_t mac[ALB_MAC_LEN];
	ALB_RESERVED(2);
};

struct alb_unikernel_info {
	enum alb_typ typ;
	bool has_startup;
	int64_t startup;
	struct alb_fail fail;
	size_t n_cpuids;
	int64_t *cpuids;
	int64_t memory;
	struct alb_bytes digest;
	size_t n_blocks;
	struct alb_info_block *blocks;
	size_t n_bridges;
	struct alb_info_net *bridges;
	bool has_argv;
	size_t n_argv;
	struct alb_str *argv;
	struct alb_time started; /* absent on the wire decodes as the epoch */
	int64_t numcpus;         /* absent decodes as 1 */
	struct alb_str linux_boot_partition;
	ALB_RESERVED(8);
};

struct alb_named_info {
	const char *name;
	struct alb_unikernel_info info;
	ALB_RESERVED(1);
};

/* ---- statistics (spec §1.8, §8) -------------------------------------- */

struct alb_rusage {
	struct alb_timeval utime, stime;
	int64_t maxrss, ixrss, idrss, isrss, minflt, majflt, nswap, inblock,
	    oublock, msgsnd, msgrcv, nsignals, nvcsw, nivcsw;
	ALB_RESERVED(2);
};

struct alb_kinfo_mem {
	int64_t vsize, rss, tsize, dsize, ssize, runtime;
	int64_t cow;
	struct alb_timeval start;
	ALB_RESERVED(2);
};

struct alb_ifdata {
	struct alb_str bridge; /* the unikernel-side device name */
	int32_t flags, send_length, max_send_length, send_drops, mtu;
	int64_t baudrate, input_packets, input_errors, output_packets,
	    output_errors, collisions, input_bytes, output_bytes, input_mcast,
	    output_mcast, input_dropped, output_dropped;
	ALB_RESERVED(2);
};

struct alb_vmm_stat {
	struct alb_str key;
	int64_t value;
	ALB_RESERVED(1);
};

struct alb_stats {
	struct alb_rusage rusage;
	size_t n_ifdata;
	struct alb_ifdata *ifdata;
	bool has_vmm;
	size_t n_vmm;
	struct alb_vmm_stat *vmm;
	bool has_kinfo_mem;
	struct alb_kinfo_mem kinfo_mem;
	ALB_RESERVED(4);
};

struct alb_stats_tap {
	struct alb_str netif; /* "bridge" on the wire: the unikernel-side name */
	struct alb_str tap;
	ALB_RESERVED(1);
};

/* ---- commands (spec §1.4) -------------------------------------------- */

enum alb_cmd_kind {
	ALB_CMD_CONSOLE_ADD = 0,
	ALB_CMD_CONSOLE_SUBSCRIBE = 1,
	ALB_CMD_CONSOLE_LIST_INACTIVE = 2,
	ALB_CMD_STATS_ADD = 3,
	ALB_CMD_STATS_REMOVE = 4,
	ALB_CMD_STATS_SUBSCRIBE = 5,
	ALB_CMD_STATS_INITIAL = 6,
	ALB_CMD_UNIKERNEL_INFO = 7,
	ALB_CMD_UNIKERNEL_CREATE = 8,
	ALB_CMD_UNIKERNEL_FORCE_CREATE = 9,
	ALB_CMD_UNIKERNEL_DESTROY = 10,
	ALB_CMD_UNIKERNEL_GET = 11,
	ALB_CMD_UNIKERNEL_RESTART = 12,
	ALB_CMD_OLD_UNIKERNEL_INFO4 = 13,
	ALB_CMD_OLD_UNIKERNEL_INFO5 = 14,
	ALB_CMD_POLICY_INFO = 15,
	ALB_CMD_POLICY_ADD = 16,
	ALB_CMD_POLICY_REMOVE = 17,
	ALB_CMD_BLOCK_INFO = 18,
	ALB_CMD_BLOCK_ADD = 19,
	ALB_CMD_BLOCK_REMOVE = 20,
	ALB_CMD_BLOCK_SET = 21,
	ALB_CMD_BLOCK_DUMP = 22,
	ALB_CMD_OLD_BLOCK_ADD = 23,
	ALB_CMD_OLD_BLOCK_SET = 24,
	ALB_CMD_OLD_BLOCK_DUMP = 25
};

struct alb_command {
	enum alb_cmd_kind kind;
	union {
		int64_t console_add; /* number of rings allowed for the path */
		struct {
			bool since; /* true: since time; false: count */
			struct alb_time time;
			int64_t count;
		} subscribe;
		struct {
			struct alb_str vmmdev;
			int64_t pid;
			size_t n_taps;
			struct alb_stats_tap *taps;
		} stats_add;
		struct alb_unikernel_config create; /* create and force-create */
		int64_t level; /* get, block dump, old block dump */
		struct {
			bool has_args;
			struct alb_unikernel_config args;
		} restart;
		struct alb_policy policy; /* policy add */
		int64_t block_size;       /* block add, MB */
		bool block_compressed;    /* block set */
		struct {
			int64_t size;
			bool compressed;
			bool has_data;
			struct alb_bytes data;
		} old_block_add;
		struct {
			bool compressed;
			struct alb_bytes data;
		} old_block_set;
	} u;
	ALB_RESERVED(2);
};

/* ---- success replies (spec §1.6) ------------------------------------- */

enum alb_reply_kind {
	ALB_REPLY_EMPTY = 0,
	ALB_REPLY_STRING = 1,
	ALB_REPLY_POLICIES = 2,
	ALB_REPLY_BLOCK_DEVICES = 3,
	ALB_REPLY_UNIKERNEL_IMAGE = 4,
	ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE = 5,
	ALB_REPLY_OLD_UNIKERNEL_INFO4 = 6,
	ALB_REPLY_BLOCK_DEVICE_IMAGE = 7,
	ALB_REPLY_OLD_UNIKERNEL_INFO5 = 8,
	ALB_REPLY_CONSOLES = 9,
	ALB_REPLY_UNIKERNEL_INFO = 10
};

struct alb_block_info {
	const char *name;
	int64_t size; /* MB */
	bool active;
	ALB_RESERVED(1);
};

struct alb_reply {
	enum alb_reply_kind kind;
	union {
		struct alb_str string;
		struct {
			size_t n;
			struct alb_named_policy *v;
		} policies;
		struct {
			size_t n;
			struct alb_block_info *v;
		} blocks;
		struct {
			bool compressed;
			struct alb_bytes data;
		} image; /* unikernel image, old block device image */
		bool block_compressed; /* block device image (stream header) */
		struct {
			size_t n;
			const char **v;
		} consoles;
		struct {
			size_t n;
			struct alb_named_info *v;
		} infos; /* info, old info4, old info5 */
	} u;
	ALB_RESERVED(2);
};

/* ---- data (spec §1.8) ------------------------------------------------ */

enum alb_data_kind { ALB_DATA_STATS = 0, ALB_DATA_CONSOLE = 1, ALB_DATA_BLOCK = 2 };

struct alb_data {
	enum alb_data_kind kind;
	union {
		struct alb_stats stats;
		struct {
			struct alb_time time;
			struct alb_str line;
		} console;
		struct {
			bool has_data; /* false: end of the block stream */
			struct alb_bytes data;
		} block;
	} u;
	ALB_RESERVED(2);
};

/* ---- the message ------------------------------------------------------ */

struct alb_header {
	int64_t version; /* ALB_WIRE_VERSION */
	int64_t sequence;
	const char *name; /* canonical name (see name.h) */
	ALB_RESERVED(2);
};

enum alb_payload_kind {
	ALB_PAYLOAD_COMMAND = 0,
	ALB_PAYLOAD_SUCCESS = 1,
	ALB_PAYLOAD_FAILURE = 2,
	ALB_PAYLOAD_DATA = 3
};

struct alb_arena;

/** A wire message. Decoded messages own their memory through arena_. */
struct alb_msg {
	struct alb_header header;
	enum alb_payload_kind kind;
	union {
		struct alb_command command;
		struct alb_reply success;
		struct alb_str failure;
		struct alb_data data;
	} u;
	struct alb_arena *arena_; /* private */
	ALB_RESERVED(4);
};

/** Decode flag: byte strings (images, block data, digests) point into the
 * input buffer instead of being copied; the input must then outlive the
 * message. */
#define ALB_DECODE_BORROW 0x1u

/** Decodes one DER wire message (without the frame's length prefix) that
 * must span exactly buf[0..len). On success *out is a new message to free
 * with alb_msg_free(). On failure returns ALB_EPARSE (or ALB_ENOMEM) with
 * Albatross's error text in err where it has one ("trailing bytes",
 * "unknown version number 0x4", "invalid name", ...). Never reads outside
 * the buffer; allocates at most a small multiple of len. */
ALB_EXPORT int alb_msg_decode(const uint8_t *buf, size_t len, unsigned flags,
			      struct alb_msg **out, struct alb_error *err);

/** Frees a decoded message; NULL is a no-op. */
ALB_EXPORT void alb_msg_free(struct alb_msg *m);

/** Encode flag: prefix the DER bytes with the 4-byte big-endian frame
 * length, ready to be written to a socket. */
#define ALB_ENCODE_FRAMED 0x1u

/** Encodes a message exactly as Albatross does (canonical DER), appending
 * nothing: out must be empty (zeroed) and receives the bytes; free it with
 * alb_buf_free(). Large byte strings are copied exactly once.
 * ALB_EINVAL for values Albatross cannot encode (an old info reply with
 * other than one CPU id, a MAC of the wrong length, an invalid name). */
ALB_EXPORT int alb_msg_encode(const struct alb_msg *m, unsigned flags,
			      struct alb_buf *out, struct alb_error *err);

/* ---- the X.509 certificate extension payload (spec §1.10) ------------ */

/** OID of the albatross certificate extension. */
#define ALB_CERTEXT_OID "1.3.6.1.4.1.49836.42"

struct alb_certext {
	int64_t version;
	struct alb_command command;
	struct alb_arena *arena_; /* private */
	ALB_RESERVED(2);
};

/** Decodes the extnValue contents: SEQUENCE { version, command }. A
 * version other than 5 fails with "unknown version number 0xN". */
ALB_EXPORT int alb_certext_decode(const uint8_t *buf, size_t len,
				  unsigned flags, struct alb_certext **out,
				  struct alb_error *err);
ALB_EXPORT void alb_certext_free(struct alb_certext *c);
ALB_EXPORT int alb_certext_encode(const struct alb_certext *c,
				  struct alb_buf *out, struct alb_error *err);

/* ---- helpers ---------------------------------------------------------- */

/** Name of a command kind as albatross prints it ("unikernel create"). */
ALB_EXPORT const char *alb_cmd_kind_name(enum alb_cmd_kind k);

#ifdef __cplusplus
}
#endif
#endif
