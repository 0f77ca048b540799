/* libalbatross — private parts of the vmmd core, shared by its files:
 *   vmmd.c          lifecycle (new, start, shutdown, free), paths, dispatch
 *   vmmd_conn.c     client connections: framing, replies, streams
 *   vmmd_uk.c       the table of unikernels and per-name operation queues
 *   vmmd_config.c   deep copies of configurations
 *   vmmd_unikernel.c create, force-create, restart, destroy commands
 *   vmmd_create.c   the create procedure (spec §6.3) with rollback
 *   vmmd_exit.c     exits (pidfd), stopping, restart-on-failure
 *   vmmd_taps.c     taps removed in batches
 *   vmmd_info.c     info and get replies
 *   vmmd_block.c    block device commands and discovery
 *   vmmd_policy.c   policy commands and root policy discovery
 *   vmmd_peers.c    the console daemon connection and the stats channel
 *   vmmd_journal.c  the journal: records appended in batches, durability
 *   vmmd_durable.c  the durable state (state file + journal), its loading
 *                   and the state file written from it
 *   vmmd_persist.c  compaction and its triggers, startup and restore
 *   vmmd_record.c   runtime records, written before what they name exists
 *   vmmd_adopt.c    adoption after a crash (/proc and records), leftovers
 *   vmmd_spawning.c tender spawns a previous daemon left before their exec
 *   vmmd_keep.c     albd's own reader of each console FIFO
 *   vmmd_lock.c     one daemon per tmpdir, dbdir and network namespace
 *   vmmd_metrics.c  the daemon's own metrics (spec §8.6) and counters
 *   vmmd_privilege.c tender uids (the pool, files given to a tender and
 *                   taken back), the checks of albd's directories
 * Everything runs on the loop thread except the bodies of threadpool jobs.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_VMMD_INTERNAL_H
#define ALB_VMMD_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <uv.h>

#include "albatross/client.h"
#include "albatross/frame.h"
#include "albatross/image.h"
#include "albatross/log.h"
#include "albatross/name.h"
#include "albatross/net.h"
#include "albatross/policy.h"
#include "albatross/state.h"
#include "albatross/stream.h"
#include "albatross/tender.h"
#include "albatross/vmmd.h"
#include "albatross/wire.h"
#include "base/internal.h"
#include "dcommon/conn.h"
#include "dcommon/metrics.h"
#include "policy/trie.h"
#include "proto/journal_codec.h"

/** Backlog of the listening socket (albatrossd uses 1, which makes
 * concurrent clients wait in connect()). */
#define VMMD_LISTEN_BACKLOG 64
/** A block dump stops producing chunks while this many bytes wait to be
 * written to the client, and goes on once the socket has drained. */
#define VMMD_DUMP_QUEUE_MAX (256u * 1024u)
/** Bytes of block device data per uncompressed dump chunk (Albatross's). */
#define VMMD_DUMP_CHUNK 4096
/** Largest frame read from the console daemon (its replies are small);
 * a larger one drops the connection. */
#define VMMD_CONSOLE_FRAME_MAX 65536
/** Largest device the legacy Old_block_dump sends inline, in bytes: its
 * reply must fit a client's default frame limit. */
#define VMMD_OLD_DUMP_MAX ((uint64_t)ALB_FRAME_MAX_DEFAULT - (1u << 20))
/** Delay between attempts to reach the console daemon again while our
 * readers drain the FIFOs of running unikernels (vmmd_keep.c). */
#define VMMD_CONSOLE_RETRY_MS 500
/** Size of a buffer holding any file path built by the core. */
#define VMMD_PATH_MAX PATH_MAX

/* ---- a doubly-linked intrusive list ----------------------------------- */

struct vlist {
	struct vlist *prev, *next;
};

static inline void vlist_init(struct vlist *l)
{
	l->prev = l->next = l;
}

static inline bool vlist_empty(const struct vlist *l)
{
	return l->next == l;
}

static inline void vlist_push(struct vlist *l, struct vlist *e)
{
	e->prev = l->prev;
	e->next = l;
	l->prev->next = e;
	l->prev = e;
}

static inline void vlist_del(struct vlist *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = e;
}

#define vlist_entry(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* ---- connections (vmmd_conn.c) ---------------------------------------- */

enum conn_mode {
	CONN_COMMAND,   /* reading the next command */
	CONN_BUSY,      /* a command is being processed; not reading */
	CONN_STREAM_IN, /* reading the chunks of a Block_set stream */
	CONN_STATS,     /* the stats channel: reading replies to our commands */
	CONN_CLOSING    /* closing once the queued writes are done */
};

struct conn;

/** Receives each chunk of an incoming stream (CONN_STREAM_IN); an empty
 * chunk (len 0, data NULL) is the end marker. A negative rc with err set
 * means the connection failed before the end. */
typedef void (*conn_chunk_fn)(struct conn *c, const uint8_t *data, size_t len,
			      int rc, const struct alb_error *err);

/** Called when a connection's write queue has drained below
 * VMMD_DUMP_QUEUE_MAX, or with failed = true when the connection broke. */
typedef void (*conn_drain_fn)(struct conn *c, bool failed);

struct conn {
	struct alb_vmmd *v;
	struct dc_conn *dc;
	enum conn_mode mode;
	bool broken;        /* a read or write failed; replies are dropped */
	conn_chunk_fn on_chunk;
	conn_drain_fn on_drain;
	void *ctx;          /* of the command being processed */
	/* the frame of the command being dispatched, which its message
	 * borrows; a command may take it (config_adopt()) */
	struct alb_buf *frame;
	int64_t stats_expect; /* stats channel: sequence of the next reply */
};

/** Bytes queued for c and not yet sent. */
static inline size_t conn_queued(const struct conn *c)
{
	return dc_conn_pending(c->dc);
}

/** The request header a reply echoes, copied out of the request. */
struct hdr {
	int64_t version;
	int64_t sequence;
	char name[ALB_NAME_BUF];
};

void hdr_copy(struct hdr *dst, const struct alb_header *src);
void hdr_make(struct hdr *dst, int64_t sequence, const char *name);

int vmmd_listen(struct alb_vmmd *v, struct alb_error *err);
void vmmd_listen_close(struct alb_vmmd *v);
/** Closes every connection that is not processing a command; the others
 * close when they are done. */
void conns_close_idle(struct alb_vmmd *v);

void conn_reply(struct conn *c, const struct hdr *h, const struct alb_reply *r);
struct alb_info_der;
/* The Unikernel_info reply listing v[0..n), whose infos are DER already. */
void conn_reply_info_der(struct conn *c, const struct hdr *h,
			 const struct alb_info_der *v, size_t n);
/* The Unikernel_image reply of get with cfg's image as stored: the image
 * is sent from cfg (kept by a reference until it is), not copied. */
void conn_reply_image(struct conn *c, const struct hdr *h,
		      struct alb_unikernel_config *cfg);
void conn_reply_string(struct conn *c, const struct hdr *h, const char *s);
void conn_reply_failure(struct conn *c, const struct hdr *h, const char *msg);
void conn_send_data(struct conn *c, const struct hdr *h,
		    const struct alb_data *d);
void conn_send_command(struct conn *c, const struct hdr *h,
		       const struct alb_command *cmd);
/** The command is done: close once the replies are written. */
void conn_done(struct conn *c);
/** The command is done: read the next one (Policy_add, §2.3). */
void conn_next(struct conn *c);
/** Reads the chunks of a stream into fn (Block_set, §2.4). */
void conn_stream_in(struct conn *c, conn_chunk_fn fn);
/** Makes c the stats channel (Stats_initial, §6.14). */
void conn_become_stats(struct conn *c);
/** Closes c now (queued writes are dropped by libuv's close). */
void conn_abort(struct conn *c);

/** Decodes and serves one command of a client (vmmd.c). */
void vmmd_dispatch(struct conn *c, const struct alb_msg *m);

/* ---- unikernels (vmmd_uk.c) ------------------------------------------- */

enum uk_state {
	UK_IDLE,         /* nothing runs; the record only holds operations */
	UK_STARTING,     /* resources reserved, being started */
	UK_RUNNING,
	UK_STOPPING,     /* signalled, waiting for the exit */
	UK_RESTART_WAIT  /* exited; restart pending on the timer */
};

struct op;
struct uk;

/** The block files given to a tender uid, open, to be taken back. */
struct given {
	int *fds;
	size_t n;
};

/** Called when a stopped tender has exited and the resources of its
 * unikernel are released (taps may still be on their way out). */
typedef void (*uk_exit_fn)(struct uk *u, void *ctx);

struct uk {
	struct alb_vmmd *v;
	struct vlist link;  /* in v->all, for cheap iteration */
	char name[ALB_NAME_BUF];
	enum uk_state state;
	/* the configuration that runs (or will be restarted); owned */
	struct alb_unikernel_config *cfg;
	uint8_t digest[ALB_SHA256_LEN];
	enum alb_tender_kind kind;
	/* the tender */
	pid_t pid;
	struct watch *watch; /* its pidfd, polled for the exit */
	bool adopted;       /* not our child: its exit status is unknown */
	bool log_output;    /* console output goes to <tmpdir>/<name>.log */
	uint64_t rec_id;    /* its runtime record <name>@<id>, 0: none */
	struct keeper *keep; /* our reader of its console FIFO, or NULL */
	uint64_t console_gen; /* the console connection that took its FIFO */
	uint32_t uid;       /* its tender uid, 0: none (vmmd_privilege.c) */
	struct given given; /* its block files, given to uid */
	size_t n_taps;
	struct alb_ifname *taps;
	uint8_t (*macs)[ALB_MAC_LEN];
	struct alb_time started;
	uint64_t started_ms; /* loop time of the start, for the back-off */
	/* kill timeout while stopping; restart delay while waiting */
	uv_timer_t timer;
	unsigned fast_failures;
	bool restart_without_name;
	/* who waits for the exit of a stopping tender */
	uk_exit_fn on_exit;
	void *on_exit_ctx;
	bool on_exit_taps; /* ... once the taps are gone too */
	/* its info as DER (vmmd_info.c), made from info_cfg, info_started
	 * and, when it has block devices, the block table of info_gen */
	struct alb_buf info_der;
	const struct alb_unikernel_config *info_cfg;
	struct alb_time info_started;
	uint64_t info_gen;
	/* the operation owning the name, and those waiting for it */
	struct op *op;
	struct vlist waitq;
	unsigned handles;   /* open libuv handles (the timer) */
	bool freeing;
};

/** An operation on one name; operations on a name run one at a time. */
struct op {
	struct vlist link;
	struct uk *uk;
	struct conn *conn; /* the client to answer, or NULL */
	struct hdr hdr;
	void (*start)(struct op *o);
	void (*cancel)(struct op *o); /* frees a queued operation at shutdown */
};

/** The record of name, made (UK_IDLE) when missing; NULL when out of
 * memory. */
struct uk *uk_get(struct alb_vmmd *v, const char *name);
struct uk *uk_find(const struct alb_vmmd *v, const char *name);
/** Frees what u owns (its configuration, taps, MACs, info) and u. */
void uk_release(struct uk *u);
/** Runs o on its name now, or once the operation before it is done. */
void uk_op_submit(struct uk *u, struct op *o);
/** The running operation is done (and freed by its owner): the next one
 * starts, or an idle record without operations goes away. */
void uk_op_done(struct uk *u);
/** Frees an idle record that nothing refers to any more. */
void uk_maybe_free(struct uk *u);
/** Drops the configuration (the unikernel is gone for good). */
void uk_forget_config(struct uk *u);
/** True when u appears in info and get (a tender runs). */
bool uk_visible(const struct uk *u);
/** Cancels every queued operation (shutdown). */
void uks_cancel_queued(struct alb_vmmd *v);
/** Calls fn for every record (in no particular order); fn may free
 * records. */
int uks_each(struct alb_vmmd *v, int (*fn)(struct uk *u, void *ctx), void *ctx);

/* ---- configurations (vmmd_config.c) ----------------------------------- */

/** A deep copy of c in one allocation with a reference count of 1 (release
 * with config_free()); NULL when out of memory or too large. image: the
 * image to store instead of c's (NULL keeps c's). */
struct alb_unikernel_config *config_copy(const struct alb_unikernel_config *c,
					 const struct alb_bytes *image);
/** config_copy(c, NULL), but when c's image lies in frame (the message c
 * was decoded from, borrowing it) the image stays there: the copy takes
 * the frame's memory (frame is left empty) and frees it with itself. A
 * create's image is then never copied in memory. */
struct alb_unikernel_config *config_adopt(const struct alb_unikernel_config *c,
					  struct alb_buf *frame);
/** Another reference to a copy (loop thread only); returns c. */
struct alb_unikernel_config *config_retain(struct alb_unikernel_config *c);
/** Drops a reference, freeing the copy with the last; NULL is a no-op. */
void config_free(struct alb_unikernel_config *c);
struct alb_state_entry;
/** The state file entry of unikernel name whose configuration is the copy
 * c (a copy belongs to one name), encoded at the first call and kept with
 * c until its last reference goes. For the journal and the state writer
 * only (see vmmd_config.c for who may encode). NULL when out of memory. */
const struct alb_state_entry *config_state_entry(struct alb_unikernel_config *c,
						 const char *name,
						 struct alb_error *err);
/** The state file entry of name with configuration c in three pieces (the
 * entry's bytes before the image, the image from c itself, the rest), for
 * writev; *len is their total. 0 or an error (out of memory). */
int config_entry_pieces(struct alb_unikernel_config *c, const char *name,
			struct iovec piece[3], size_t *len,
			struct alb_error *err);
/** A copy of c (another configuration, as config_copy()) whose image is
 * c's, shared and not copied: a restart's. NULL when out of memory. */
struct alb_unikernel_config *config_share(struct alb_unikernel_config *c);
/** Restart arguments applied to a running configuration (spec §6.9): the
 * old typ, compressed and image (shared with old) with every other field
 * from args. */
struct alb_unikernel_config *config_merge(struct alb_unikernel_config *old,
					  const struct alb_unikernel_config *args);

/** The image file c's image lies in (its own or the one it shares), or
 * NULL when c's image is in memory only. */
struct imgfile *config_image_file(struct alb_unikernel_config *c);
/** A copy of c (config_copy()) whose image is f's mapping; the copy holds
 * a reference to f. NULL when out of memory. */
struct alb_unikernel_config *config_with_file(const struct alb_unikernel_config *c,
					      struct imgfile *f);

/** Notes where the record just made durable holds c's image: byte off
 * of segment seg (loop thread). */
void config_locate(struct alb_unikernel_config *c, uint64_t seg,
		   uint64_t off);
/** Where c's image lies in a segment, when it lies in the frame it came
 * in and config_locate() said where its record holds it: false
 * otherwise. */
bool config_located(struct alb_unikernel_config *c, uint64_t *seg,
		    uint64_t *off);
struct imgmap;
/** A copy of c (config_copy()) whose image is the len bytes at image,
 * which lie in map's mapping; the copy holds a reference to map. NULL
 * when out of memory. */
struct alb_unikernel_config *config_mapped(const struct alb_unikernel_config *c,
					   struct imgmap *map,
					   const uint8_t *image);

/* ---- files images are mapped from (vmmd_imgmap.c) -------------------------- */

/** Images of at least this many bytes are mapped from their journal
 * record once durable, their frame freed; smaller ones stay in theirs
 * (doc/journal.md, "Images mapped from files"). */
#define VMMD_IMAGE_MAP_MIN (64u * 1024u)
/** Name prefix of the links in images/ that keep a mapped file whole
 * (followed by the file's inode number in hex); a start removes those a
 * crash left. */
#define VMMD_PIN_PREFIX "held-"

struct imgstore;
/** Maps len bytes from offset off of the file open as fd, read-only, and
 * pins the file while the mapping lives: a link to it in s's directory,
 * shared by every mapping of the file, so that no removal of its other
 * names shortens it (alb_io_free_gradually() leaves a file with a name
 * alone). Loop thread, as every function here. NULL with err set. */
struct imgmap *imgmap_new(struct imgstore *s, int fd, uint64_t off,
			  size_t len, struct alb_error *err);
/** The first of the len bytes mapped. */
const uint8_t *imgmap_data(const struct imgmap *m);
struct imgmap *imgmap_retain(struct imgmap *m);
/** Drops a reference; the last unmaps, and the last mapping of its file
 * unlinks the pin (the file's blocks then freed in the threadpool when it
 * has no other name). NULL is a no-op. */
void imgmap_release(struct imgmap *m);

/* ---- image files (vmmd_imgfile.c) ---------------------------------------- */

/** The directory of the image files, below dbdir. */
#define VMMD_IMAGES_DIR "images"

struct imgstore;
/** One image file, mapped; counted (loop thread only). */
struct imgfile {
	struct imgstore *store;
	size_t refs;
	struct alb_journal_image_file id;
	const uint8_t *map; /* id.len bytes */
};
/** A record in segment seg that names file (vmmd_durable.c's list). */
struct fileref {
	struct vlist link;
	uint64_t seg;
	struct imgfile *file;
};

/** Opens <dbdir>/images, made if missing (mode 0700). */
int imgstore_open(const char *dbdir, struct imgstore **out,
		  struct alb_error *err);
/** Drops the owner's reference (the files hold theirs). NULL is a no-op. */
void imgstore_close(struct imgstore *s);
/** From now on no release unlinks a file. NULL is a no-op. */
void imgstore_keep(struct imgstore *s);
/** Files are freed in v's threadpool from now on (vmmd_unlink()). */
void imgstore_run_on(struct imgstore *s, struct alb_vmmd *v);
int imgstore_dirfd(const struct imgstore *s);
/** Another reference to s (dropped with imgstore_close()). */
struct imgstore *imgstore_retain(struct imgstore *s);
/** The value registered under the entry name of s's directory, or NULL.
 * Registered entries are spared by imgstore_sweep(). */
void *imgstore_find(const struct imgstore *s, const char *name);
/** Registers value under name (at most ALB_JOURNAL_FILE_NAME_LEN
 * characters), or removes it (value NULL). 0 or ALB_ENOMEM. */
int imgstore_register(struct imgstore *s, const char *name, void *value);
/** Unlinks the entry name as vmmd_unlink() does, kept store or not. 0 or
 * the unlink's errno. */
int imgstore_unlink(struct imgstore *s, const char *name);
/** Removes every entry of the directory that is not an open file; returns
 * how many. */
size_t imgstore_sweep(struct imgstore *s);
/** Unlinks the entries of dirfd (not . and ..) for which doomed holds;
 * returns how many went. */
size_t dir_remove_if(int dirfd, bool (*doomed)(const char *name, void *ctx),
		     void *ctx);
/** The file id, from fd (open on it, left open): its size must be id's
 * length and, with verify, its SHA-256 id's digest (else ALB_EPARSE). */
int imgfile_new(struct imgstore *s, const struct alb_journal_image_file *id,
		int fd, bool verify, struct imgfile **out, struct alb_error *err);
/** The file id: the open one, or opened and checked (imgfile_new()); a
 * missing or different file is ALB_EPARSE. */
int imgfile_open(struct imgstore *s, const struct alb_journal_image_file *id,
		 struct imgfile **out, struct alb_error *err);
struct imgfile *imgfile_retain(struct imgfile *f);
/** Drops a reference; the last unmaps the file and unlinks it (unless the
 * store is kept). NULL is a no-op. */
void imgfile_release(struct imgfile *f);
/** Adds the record of segment seg that names f (a reference is taken). */
int filerefs_add(struct vlist *refs, uint64_t seg, struct imgfile *f);
/** Drops the records of segments up to upto (a compaction removed them). */
void filerefs_drop(struct vlist *refs, uint64_t upto);

/* ---- streamed creates (vmmd_upload.c) --------------------------------------- */

/** Bytes written to an upload's file between the fdatasyncs that catch
 * up with it beside the stream, so that the last one, at the stream's
 * end, finds little. */
#define VMMD_UPLOAD_STEP_BYTES (2u * 1024u * 1024u)
/** Name prefix of an upload's copy for the tender in tmpdir ('#' is in no
 * unikernel name); a start removes those a crash left. */
#define VMMD_UPLOAD_STAGE_PREFIX "#upload-"
/** Bytes of the name of such a copy, its NUL included. */
#define VMMD_UPLOAD_STAGE_BUF \
	(sizeof(VMMD_UPLOAD_STAGE_PREFIX) + ALB_JOURNAL_FILE_NAME_LEN)
/** A create or force-create whose image is empty: the image follows as a
 * chunk stream (spec §2.4), into an image file, then the create runs with
 * it. */
void vmmd_upload_create(struct conn *c, const struct hdr *h,
			const struct alb_command *cmd);
/** Removes the tender copies of uploads that a crash cut short. */
void uploads_sweep(struct alb_vmmd *v);

/* ---- commands ---------------------------------------------------------- */

void vmmd_unikernel_cmd(struct conn *c, const struct alb_msg *m);
void vmmd_info_cmd(struct conn *c, const struct alb_msg *m);
void vmmd_get_cmd(struct conn *c, const struct alb_msg *m);
void vmmd_block_cmd(struct conn *c, const struct alb_msg *m);
/** Answers c with in[0..len) (taken over) inflated, or deflated at level,
 * as a reply of kind (an image reply), computed in the threadpool. */
void zlib_reply(struct conn *c, const struct hdr *h, uint8_t *in, size_t len,
		bool inflate, int level, enum alb_reply_kind kind);
void vmmd_policy_cmd(struct conn *c, const struct alb_msg *m);

/* ---- unikernel operations (vmmd_unikernel.c, vmmd_create.c) ------------- */

enum create_mode {
	CREATE_NEW,     /* client create; a running one is refused */
	CREATE_REPLACE, /* force-create or restart: a running one is replaced */
	CREATE_RESTORE, /* at startup, from the state file */
	CREATE_AUTO     /* restart on failure */
};

/** Called when a create without a client is done (rc 0: running). */
typedef void (*create_done_fn)(struct alb_vmmd *v, const char *name, int rc,
			       void *ctx);

/** An operation on a unikernel name: a client's create, force-create,
 * restart or destroy, or a restore or restart-on-failure. */
struct uop {
	struct op op; /* first: an op is a uop */
	enum alb_cmd_kind cmd;
	enum create_mode mode;
	bool needs_dump;
	struct alb_unikernel_config *cfg;  /* what to start; owned */
	struct alb_unikernel_config *args; /* restart arguments; owned */
	create_done_fn done;
	void *done_ctx;
	/* the create procedure's state */
	struct alb_image img;
	enum alb_tender_kind kind;
	char tender[ALB_TENDER_PATH_MAX];
	struct alb_argv argv;
	bool reserved, fifo_made, image_written, use_log, ok;
	uint64_t rec_id;   /* the runtime record of this start */
	struct record *rec;
	int keep_fd;       /* our reader of the console FIFO, or -1 */
	/* a streamed image's copy for the tender, made during the upload
	 * (vmmd_upload.c): in tmpdir as stage, or -1 */
	int stage_fd;
	char stage[VMMD_UPLOAD_STAGE_BUF];
	uint64_t console_gen; /* the connection that answered Console_add */
	uint32_t uid;       /* the tender uid taken, 0: none */
	struct given given; /* block files given to uid */
	/* its journal record: waited for (a client's create), settled, the
	 * result; finish() waits for it */
	bool p_wait, p_done, finishing, replace_waits;
	int p_rc;
	char p_msg[ALB_ERROR_MSG_MAX];
	int console_rc;
	size_t n_taps;
	struct alb_ifname *taps;
	uint8_t (*macs)[ALB_MAC_LEN];
	pid_t pid;
	int pidfd;
	unsigned pending;
	int rc;
	struct alb_error err;
	uv_work_t work;
	uint64_t t0;       /* uv_hrtime() when the command arrived */
};

/** A new operation for conn (may be NULL) and header h; NULL when out of
 * memory. */
struct uop *uop_new(struct conn *conn, const struct hdr *h);
/** Frees an operation that never ran (with its configurations). */
void uop_free(struct uop *o);
/** Starts the create procedure (spec §6.3) as o's work on its name: o->cfg,
 * o->mode, o->needs_dump are set. Ends with a reply to o's client (if
 * any), o->done, uk_op_done() and o freed. */
void create_begin(struct uop *o);
/** A client's create or force-create (o->cmd) of cfg (taken over): its
 * mode, and a record to append. */
void create_of_command(struct uop *o, struct alb_unikernel_config *cfg);
/** Submits a create for name without a client (restore, restart); cfg is
 * taken over. 0 or ALB_ENOMEM (cfg freed). */
int create_internal(struct alb_vmmd *v, const char *name,
		    struct alb_unikernel_config *cfg, enum create_mode mode,
		    bool needs_dump, create_done_fn done, void *ctx);

/* ---- exits (vmmd_exit.c) ----------------------------------------------- */

/** Watches the tender u->pid through its pidfd (which uk_watch owns from
 * now on, also on failure). */
int uk_watch(struct uk *u, int pidfd, struct alb_error *err);
/** Sends a signal to u's tender through its pidfd. */
int uk_signal(const struct uk *u, int sig);
/** Sends SIGTERM to u's tender (SIGKILL after the kill timeout) and calls
 * fn once it has exited and its resources are released, its taps too when
 * wait_taps (destroy answers only then; a replacement need not wait the
 * ≈20 ms per tap). */
void uk_stop(struct uk *u, bool wait_taps, uk_exit_fn fn, void *ctx);
/** Cancels a pending restart of u (state UK_RESTART_WAIT -> UK_IDLE,
 * configuration kept for the caller). */
void uk_cancel_restart(struct uk *u);
/** Restart back-off: the failures in a row after a run of ran_ms (a run
 * of ALB_VMMD_RESTART_STABLE_MS or more starts a new count) ... */
unsigned restart_failures(unsigned prev, uint64_t ran_ms);
/** ... and the delay before the next restart: none for the first failure
 * in a row (as Albatross), then ALB_VMMD_RESTART_DELAY_MIN_MS doubling up to
 * ALB_VMMD_RESTART_DELAY_MAX_MS. */
uint64_t restart_delay_ms(unsigned failures);
/** Restarts u now if it waits for a restart whose timer fired while an
 * operation held the name. */
void uk_restart_resume(struct uk *u);
/** Removes taps[0..n) (taken over) in the threadpool, with those released
 * meanwhile in one batch (vmmd_taps.c), then the runtime record
 * name@rec_id (name NULL or rec_id 0: none) that names them; done (may be
 * NULL) runs once they are gone (at once when n is 0). */
void taps_release(struct alb_vmmd *v, const char *name, uint64_t rec_id,
		  struct alb_ifname *taps, size_t n, void (*done)(void *ctx),
		  void *ctx);
/** Frees taps still queued (a core freed while they wait). */
void taps_free(struct alb_vmmd *v);
/** Removes u's image and FIFO files. */
void uk_remove_files(struct uk *u);
/** Registers a started tender: state, resources are already reserved. */
void uk_started(struct uk *u);
/** A restart of u (a restart-on-failure, or the restore of a unikernel
 * that restarts on failure) failed with msg: u stays configured and
 * waits in the restart back-off for the next attempt. */
void uk_restart_retry(struct uk *u, const char *msg);

/* ---- peers (vmmd_peers.c) ---------------------------------------------- */

/** The console daemon's answer to a Console_add: 0, or failed. */
typedef void (*console_fn)(void *ctx, int rc);

/** Sends Console_add for name with the path's ring count (§6.3 step 4,
 * §7.3), connecting first if needed. Returns 0 when sent (fn is called
 * later, exactly once), or ALB_ENOENT when no console daemon listens
 * (logged; the caller sends the output to a log file). */
int console_add(struct alb_vmmd *v, const char *name, console_fn fn,
		void *ctx);
void console_close(struct alb_vmmd *v);
/** Sends Console_add again for every running unikernel whose console is
 * a FIFO (after the console daemon came back, or after an adoption);
 * while no console daemon takes them, our readers drain the FIFOs. */
void console_readd_all(struct alb_vmmd *v);
void stats_initial(struct conn *c, const struct hdr *h);
void stats_add(struct alb_vmmd *v, const struct uk *u);
void stats_remove(struct alb_vmmd *v, const char *name);
/** The stats connection closed or broke. */
void stats_lost(struct alb_vmmd *v, struct conn *c);
/** A message read on the stats channel (a reply to Stats_add/remove). */
void stats_reply(struct conn *c, const struct alb_msg *m);

/* ---- persistence (vmmd_journal.c, vmmd_persist.c) ------------------------ */

/** Called once a change is durable (rc 0), or when it could not be made
 * durable (rc < 0, err says why): its effect must then be undone, so that
 * what runs and what a restart restores agree. */
typedef void (*persist_fn)(void *ctx, int rc, const struct alb_error *err);

/** Records that unikernel name runs (or waits for its restart) with cfg
 * (retained), or with cfg NULL that it is gone for good: a journal record
 * appended and fdatasync'ed in the threadpool, several records per append
 * when changes come faster than the disk. fn(ctx, ...) (may be NULL: the
 * record is then retried after a failure) is called once it is durable or
 * refused; a change that the durable state holds already costs nothing
 * and fn is called before this returns. Records made while one append
 * runs go into the next; after a failed append every waited record queued
 * behind it is refused too (it may depend on the refused one). */
void persist_unikernel(struct alb_vmmd *v, const char *name,
		       struct alb_unikernel_config *cfg, persist_fn fn,
		       void *ctx);
/** The same for the policy at path (copied), NULL when it was removed. */
void persist_policy(struct alb_vmmd *v, const char *path,
		    const struct alb_policy *p, persist_fn fn, void *ctx);
/** When *cfg, the configuration of unikernel name, is durable as it is,
 * its image in the frame it came in and at least VMMD_IMAGE_MAP_MIN bytes
 * long, and its record in the segment appended to: replaces *cfg, here
 * and in the durable state, by a copy whose image is mapped from the
 * record, so that the frame is freed (with *cfg's last reference), and
 * returns true. Otherwise, or when that fails, leaves *cfg as it is. */
bool persist_map_image(struct alb_vmmd *v, const char *name,
		       struct alb_unikernel_config **cfg);
/** The configuration of name in the durable state (borrowed), or NULL. */
struct alb_unikernel_config *persist_config(const struct alb_vmmd *v,
					    const char *name);
/** The policy at path in the durable state (borrowed), or NULL. */
const struct alb_policy *persist_policy_of(const struct alb_vmmd *v,
					   const char *path);
/** Reads the state file and replays the journal (refusing a corrupt
 * record), keeps the result as the durable state, copies the state file
 * to state.started, and returns it as *out for the startup: unikernels
 * and policies (the configurations borrowed from the durable state). */
int persist_load(struct alb_vmmd *v, struct alb_state **out,
		 struct alb_error *err);
/** After the policies are restored: the durable state's policies are the
 * ones in force (the host's root policy, a dropped one left out), as the
 * next compaction writes them. */
void persist_policies_restored(struct alb_vmmd *v);
/** Starts restoring the unikernels of st (kept until done) that are not
 * running already, in startup-priority order, one after the other. */
void persist_restore(struct alb_vmmd *v, struct alb_state *st);
/** Foreground writes: begun and ended on the loop around each journal
 * append and each step of a streamed image; a compaction's writer gives
 * way to them (fg_writes_busy, its alb_io_yield, from its thread). */
void fg_write_begin(struct alb_vmmd *v);
void fg_write_end(struct alb_vmmd *v);
bool fg_writes_busy(void *v);

/** Starts a compaction (the state file rewritten from the durable state,
 * the journal segments it covers removed) unless one runs. */
void persist_compact(struct alb_vmmd *v);
/** Shutdown begins: a compaction starts (the tenders stop meanwhile; a
 * change made after it gets another at the end). */
void persist_shutdown(struct alb_vmmd *v);
/** Shutdown: the last records appended, the final compaction, the timers
 * closed. True once nothing of the persistence is active. */
bool persist_close(struct alb_vmmd *v);
/** Frees what persistence holds (the durable state). */
void persist_free(struct alb_vmmd *v);

/** Compaction thresholds: a compaction starts once the journal holds at
 * least VMMD_COMPACT_BYTES_MIN bytes and at least as many as the state
 * file (so compaction writes at most one byte per journal byte), or
 * VMMD_COMPACT_AGE_MS after the first record since the last compaction. */
#define VMMD_COMPACT_BYTES_MIN (64u * 1024u * 1024u)
#define VMMD_COMPACT_AGE_MS (10u * 60u * 1000u)
/** After a failed append, records nobody waits for are retried after this
 * many milliseconds (or with the next change). */
#define VMMD_JOURNAL_RETRY_MS 1000u
/** Whether a journal of journal_bytes (appended since the last compaction)
 * beside a state file of state_bytes calls for a compaction. */
bool compact_due(uint64_t journal_bytes, uint64_t state_bytes);

/* ---- policies and blocks ----------------------------------------------- */

/** Discovers the root policy and restores the stored policies (§6.2 steps
 * 4, 7, 8). */
int policies_restore(struct alb_vmmd *v, const struct alb_state *st,
		     struct alb_error *err);
/** Registers the block devices found in <dbdir>/block (§6.2 step 2). */
void blocks_discover(struct alb_vmmd *v);

/* ---- runtime records (vmmd_record.c) and adoption (vmmd_adopt.c) ------ */

/** Largest runtime record read, in bytes (a few lines per tap). */
#define VMMD_RECORD_MAX 65536
/** Most taps a record lists (as many as a manifest can declare). */
#define VMMD_RECORD_TAPS_MAX (ALB_MFT_MAX_ENTRIES - 1)

/** How far a start had come when its record was written. */
enum record_stage {
	RECORD_TAPS = 1,   /* taps being made; no tender */
	RECORD_SPAWN = 2,  /* the tender may be starting; its pid is unknown */
	RECORD_RUNNING = 3 /* the tender runs: pid, starttime, started */
};

/** What a runtime record says. */
struct record {
	enum record_stage stage;
	int kind;                     /* enum alb_tender_kind */
	uint8_t fingerprint[ALB_SHA256_LEN];
	bool log_output;
	size_t n_taps;
	struct alb_ifname taps[VMMD_RECORD_TAPS_MAX];
	uint8_t macs[VMMD_RECORD_TAPS_MAX][ALB_MAC_LEN];
	/* stage running only */
	pid_t pid;
	unsigned long long starttime; /* field 22 of /proc/PID/stat */
	struct alb_time started;
};

/** Field 22 of /proc/PID/stat (clock ticks after boot); 0 when gone or
 * a zombie. */
unsigned long long proc_starttime(pid_t pid);
/** SHA-256 of name and c encoded as a state file entry, the image
 * replaced by its digest: which configuration a tender runs. */
int record_fingerprint(const char *name, const struct alb_unikernel_config *c,
		       const uint8_t digest[ALB_SHA256_LEN],
		       uint8_t out[ALB_SHA256_LEN]);
/** The text of r into out[0..cap): its length, 0 when it does not fit. */
size_t record_format(const struct record *r, char *out, size_t cap);
/** Parses the text of a runtime record: "stage", "kind" and "fingerprint"
 * once each, "log" at most once, up to VMMD_RECORD_TAPS_MAX "tap" lines,
 * and "pid", "starttime" and "started" once each exactly at stage
 * running; false for anything else, a NUL byte or more than
 * VMMD_RECORD_MAX bytes. */
bool record_parse(const char *text, size_t len, struct record *r);
/** The file name <name>@<id> of a record; false when it does not fit. */
bool record_file(char *out, size_t cap, const char *name, uint64_t id);
/** Splits a record's file name into a unikernel name and an id (> 0). */
bool record_file_parse(const char *file, char name[ALB_NAME_BUF], uint64_t *id);
/** Writes r as the record name@id in the directory dirfd, atomically
 * (#name@id made with O_EXCL, renamed into place) and, before stage
 * running, durably (fdatasync, directory fsync). Safe on a worker thread. */
int record_store_at(int dirfd, const char *name, uint64_t id,
		    const struct record *r, struct alb_error *err);
/** record_store_at() in the core's records directory. */
int record_store(const struct alb_vmmd *v, const char *name, uint64_t id,
		 const struct record *r, struct alb_error *err);
/** Removes the record name@id (id 0: none). */
void record_delete(const struct alb_vmmd *v, const char *name, uint64_t id);
/** Reads and parses the record file of dirfd; false when it is not one. */
bool record_read_at(int dirfd, const char *file, struct record *r);

/** A tap about to be made for record name@id: its MAC, and the record
 * that it joins before it becomes persistent. */
struct record_claim {
	const struct alb_vmmd *v;
	const char *name;
	uint64_t id;
	struct record *r;
	uint8_t mac[ALB_MAC_LEN];
	int64_t owner; /* the tender uid that alone may open it, or -1 */
};
/** Makes a tap on bridge, named in c->r (stored) before it can outlive
 * us. On a worker thread. */
int record_tap_create(struct record_claim *c, const char *bridge,
		      char tap[ALB_IFNAME_SIZE], struct alb_error *err);

/** True when one argument of the command line cmdline[0..len) (NUL
 * separated) is <tmpdir>/<name>.img for a unikernel name; the name goes
 * to name. */
bool proc_tender_of(const char *tmpdir, const char *cmdline, size_t len,
		    char name[ALB_NAME_BUF]);
/** Adopts the tenders of a previous daemon whose unikernels are in st,
 * stops every other tender of this tmpdir, removes the taps of the
 * records not adopted and the FIFOs and images that no adopted unikernel
 * owns, and sends Console_add for the adopted ones. */
void adopt_survivors(struct alb_vmmd *v, const struct alb_state *st);

/* ---- spawns that a previous daemon left before their exec -------------------
 * (vmmd_spawning.c) */

/** Longest wait at startup for the processes named ALB_SPAWN_COMM
 * (host/spawn.h: children of a tender spawn that have not exec'd yet) to
 * exec or exit, before the locks are taken and /proc is scanned. */
#define VMMD_SPAWN_SETTLE_MS 1000

/** A process named ALB_SPAWN_COMM, and its start time. */
struct spawning {
	pid_t pid;
	unsigned long long starttime;
	bool named; /* ALB_SPAWN_COMM when listed (else an exec under way) */
};

/** The processes (not zombies, not us) named ALB_SPAWN_COMM now, and those
 * whose exec is under way (renamed, arguments not set yet: such a spawn
 * has left its name but is not done): a malloc'd array of *n (free()),
 * NULL when none. */
struct spawning *spawning_list(size_t *n);
/** True while p has not exec'd (nor exited): its name is still
 * ALB_SPAWN_COMM, or its exec has not set its arguments yet. */
bool spawning_still(const struct spawning *p);
struct stat;
/** stat() of p's fd 0 (its console once the spawn has set it up); false
 * when p is gone. */
bool spawning_console(const struct spawning *p, struct stat *st);
/** Waits up to ms for every process spawning_list() lists to exec or exit
 * (logged when one is named ALB_SPAWN_COMM); how many did not. */
size_t spawns_settle(unsigned ms);

/* ---- our console FIFO readers (vmmd_keep.c) ------------------------------- */

struct keeper;
/** Opens our reader of name's console FIFO (O_RDONLY|O_NONBLOCK, before
 * the tender opens its side): the fd, or -1 (logged). Any thread. */
int keeper_open(const struct alb_vmmd *v, const char *name);
/** Watches fd (taken over) as u's keeper; drains it at once when no
 * console daemon takes u's console. */
void keeper_attach(struct uk *u, int fd);
/** Closes u's keeper (its tender exited). */
void keeper_close(struct uk *u);
/** Starts (true) or stops (false) draining u's FIFO into its log file. */
void keeper_drain(struct uk *u, bool on);
/** Opens <tmpdir>/<name>.log to append (made 0600 when missing): not
 * followed if it is a link, refused unless a regular file of ours with
 * one name. The fd, or a negative ALB_E* code with err filled. */
int console_log_open(const struct alb_vmmd *v, const char *name,
		     struct alb_error *err);

/* ---- block device files (vmmd_blockfile.c) -------------------------------- */

/** A block device file being written as #<name> beside <name>. */
struct blockfile {
	int dirfd;      /* the block directory (borrowed) */
	int fd;
	uint64_t written;
	char name[ALB_NAME_BUF];
	char tmp[ALB_NAME_BUF + 1];
};

/** Starts writing name's new contents: #<name> in dirfd, made with
 * O_EXCL|O_NOFOLLOW, 0600 (a leftover of a crash is replaced). */
int blockfile_begin(struct blockfile *b, int dirfd, const char *name,
		    struct alb_error *err);
int blockfile_write(struct blockfile *b, const uint8_t *p, size_t len,
		    struct alb_error *err);
/** Sizes the new contents to bytes (ALB_ETOOBIG when more was written),
 * fsyncs them and renames them over name (replace), or to name only when
 * no file has it (ALB_EEXIST "file already exists"), then fsyncs the
 * directory. On failure the new contents are gone and name is as it was. */
int blockfile_commit(struct blockfile *b, uint64_t bytes, bool replace,
		     struct alb_error *err);
/** Drops the new contents; name is as it was. */
void blockfile_abort(struct blockfile *b);
/** Removes name from dirfd durably (the directory fsynced). */
int blockfile_remove(int dirfd, const char *name, struct alb_error *err);

/* ---- one daemon per host (vmmd_lock.c) ------------------------------------ */

/** The lock file in tmpdir and in dbdir. */
#define VMMD_LOCK_FILE "vmmd.lock"
/** The abstract Unix socket name that locks the network namespace. */
#define VMMD_NETNS_LOCK "albatross-vmmd"

/** Opens name in dirfd (dir for messages) with O_NOFOLLOW, made 0600 when
 * missing, and flocks it exclusively without waiting; our pid is written
 * in it. Returns the fd, or ALB_EBUSY "another albd (pid N) holds
 * <dir>/<name>: refusing to start", ALB_ESYS. */
int lock_file_take(int dirfd, const char *dir, const char *name,
		   struct alb_error *err);
/** Binds the abstract Unix socket @name: the fd, or ALB_EBUSY when
 * another process of this network namespace holds it. */
int lock_netns_take(const char *name, struct alb_error *err);
/** Takes the three locks of the core (namespace, tmpdir, dbdir; the two
 * directories are made when missing). */
int vmmd_lock(struct alb_vmmd *v, struct alb_error *err);
void vmmd_unlock(struct alb_vmmd *v);

/* ---- metrics (vmmd_metrics.c) ------------------------------------------ */

/** Causes of a restart (alb_unikernel_restarts_total{cause}). */
enum { CAUSE_COMMAND, CAUSE_FAILURE, N_CAUSES };
/** Commands of alb_unikernel_create_duration_seconds{command}. */
enum { DUR_CREATE, DUR_FORCE_CREATE, DUR_RESTART, N_DURS };

struct vmmd_metrics {
	struct dc_metrics *reg;
	struct dc_exporter *exp;
	char *influx, *prometheus; /* the configuration's, copied */
	struct dc_series *conn_active, *conn_opened;
	struct dc_series *creates, *create_failures, *destroys, *failures;
	struct dc_series *restores, *restore_failures;
	struct dc_series *restarts[N_CAUSES], *restart_failures[N_CAUSES];
	struct dc_series *duration[N_DURS];
	struct dc_metric *policy[3], *usage[5];
};

/** Makes the registry (alb_vmmd_new). */
int metrics_new(struct alb_vmmd *v, const struct alb_vmmd_config *c,
		struct alb_error *err);
/** Checks the exporter's addresses before the start touches anything. */
int metrics_check(const struct alb_vmmd *v, struct alb_error *err);
/** Serves and pushes the metrics, if asked (alb_vmmd_start). */
int metrics_start(struct alb_vmmd *v, struct alb_error *err);
/** Stops serving and pushing (shutdown counts it as a job). */
void metrics_close(struct alb_vmmd *v);
void metrics_free(struct alb_vmmd *v);
/** A start (create, force-create, restart, restore, restart on failure)
 * is done with o->rc. */
void metrics_start_done(const struct uop *o);
/** A destroy removed a unikernel. */
void metrics_destroyed(struct alb_vmmd *v);
/** A tender ended on its own (not stopped by us) with st (known: its
 * status could be read). */
void metrics_exited(struct alb_vmmd *v, const struct alb_exit_status *st,
		    bool known);

/* ---- tender uids and directories (vmmd_privilege.c) ------------------ */

/** The tender uids: first..first+count-1, a bit per uid taken. */
struct uid_pool {
	uint32_t first, count;
	uint32_t used;  /* bits set */
	uint32_t next;  /* where the next search starts */
	uint64_t *bits;
};

/** Checks the range (count 0: none) and makes the pool; ALB_EINVAL with
 * the reason, ALB_ENOMEM. */
int uids_init(struct alb_vmmd *v, uint32_t first, uint32_t count,
	      struct alb_error *err);
void uids_free(struct alb_vmmd *v);
/** At start: says once that tenders run as the daemon when there is no
 * range, else looks up the group of /dev/kvm and says what a tender uid
 * cannot open on this host. */
void uids_start(struct alb_vmmd *v);
bool uid_in_range(const struct alb_vmmd *v, uint32_t uid);
/** A free uid into *uid (0 without a range): ALB_EBUSY when every uid of
 * the range runs a tender. */
int uid_take(struct alb_vmmd *v, uint32_t *uid, struct alb_error *err);
/** Marks uid taken (an adopted tender's); false when it is not in the
 * range or taken already. */
bool uid_mark(struct alb_vmmd *v, uint32_t uid);
/** Frees uid (its tender has been reaped); 0 is a no-op. */
void uid_put(struct alb_vmmd *v, uint32_t uid);
/** The credentials of a tender under uid. */
void uid_creds(const struct alb_vmmd *v, uint32_t uid,
	       struct alb_spawn_creds *c);
/** Gives the block files of unikernel name (configuration cfg) to uid
 * (owner uid, mode 0600; uid 0: nothing), kept open in *g; all or
 * nothing. */
int blocks_give(struct alb_vmmd *v, const char *name,
		const struct alb_unikernel_config *cfg, uint32_t uid,
		struct given *g, struct alb_error *err);
/** Takes the files of g back (owner albd, mode 0600) and closes them. */
void blocks_take_back(struct given *g);
/** After an adoption: takes back every block file that a tender uid owns
 * whose tender is gone. */
void blocks_take_back_stray(struct alb_vmmd *v);
/** The real uid of process pid (its /proc/PID/status), 0 when unknown. */
uint32_t proc_uid(pid_t pid);
/** An adopted tender runs under uid: marks it taken and reopens the block
 * files given to it, to be taken back at its exit. ALB_EBUSY (logged)
 * when the uid is outside the range or taken already. */
int blocks_adopt(struct alb_vmmd *v, struct uk *u, uint32_t uid);
/** Refuses (ALB_EPERM, with the reason) a tmpdir, dbdir or directory in
 * them that is not albd's own or that its group or others may write; with
 * tender uids gives others search permission on tmpdir, dbdir and the
 * block directory. */
int dirs_check(struct alb_vmmd *v, struct alb_error *err);

/* ---- the core ------------------------------------------------------------ */

struct console_peer {
	struct dc_pool *pool; /* of the connection, made at the first one */
	struct dc_conn *dc;   /* the connection while connected */
	uv_timer_t retry;  /* reconnects while FIFOs are drained */
	bool retry_open;
	uint64_t gen;   /* connections made so far */
	bool connected;
	bool warned;    /* "not running" was logged since the last success */
	struct vlist pending; /* requests awaiting their reply, in order */
	int64_t seq;
};

struct jbatch;
/** A runtime record to remove once the taps it names are gone. */
struct taps_rec {
	uint64_t id;
	char name[ALB_NAME_BUF];
};
struct compaction;

/** What the state file and the journal hold: configurations (retained)
 * by unikernel name, policies (copies) by path. */
struct durable {
	struct alb_trie *uks;
	struct alb_trie *pols;
	struct imgstore *store; /* the image files */
	struct vlist filerefs;  /* records naming them (struct fileref) */
};

struct alb_vmmd {
	uv_loop_t *loop;
	/* changes whenever a block device comes or goes: the sizes an info
	 * shows (vmmd_info.c) */
	uint64_t blocks_gen;
	char tmpdir[VMMD_PATH_MAX];
	char dbdir[VMMD_PATH_MAX];
	char block_dir[VMMD_PATH_MAX];
	char fifo_dir[VMMD_PATH_MAX];
	char util_dir[VMMD_PATH_MAX];
	char run_dir[VMMD_PATH_MAX];
	int run_fd;           /* run_dir, for the runtime records */
	int tmp_fd, fifo_fd;  /* tmpdir and fifo_dir */
	int block_fd;         /* block_dir */
	uint64_t rec_next;    /* id of the next runtime record */
	int lock_ns, lock_tmp, lock_db;
	uint8_t *keep_buf;    /* the FIFO readers' buffer (vmmd_keep.c) */
	char sock_path[ALB_SOCKET_PATH_BUF];
	bool full_name;
	enum alb_qemu_accel accel;
	size_t frame_max;
	unsigned conn_max;
	unsigned kill_timeout_ms;
	struct uid_pool uids;
	uint32_t kvm_gid;     /* the tenders' group for /dev/kvm, 0: none */

	struct alb_resources *res;
	struct alb_trie *uks; /* name -> struct uk */
	struct vlist all;     /* every struct uk not being freed */
	size_t n_all;
	size_t n_uks;

	int listen_fd;        /* given by the caller until vmmd_listen() */
	int64_t socket_gid;
	unsigned command_timeout_ms;
	size_t read_bytes_max;
	struct dc_pool *pool; /* the clients of vmmd.sock */
	bool bound_path;      /* we bound sock_path (removed at shutdown) */

	struct console_peer console;
	struct conn *stats;
	int64_t stats_seq;
	struct vmmd_metrics metrics;

	/* persistence (vmmd_journal.c, vmmd_persist.c) */
	struct durable durable;
	struct vlist j_pending;  /* records not yet appended, in order */
	struct jbatch *j_batch;  /* the append in the threadpool, or NULL */
	int j_fd;                /* the segment appended to, or -1 */
	uint64_t j_seg;          /* its number, or the last one used */
	uint64_t j_size;         /* its length */
	uint64_t j_bytes;        /* appended since the last compaction began */
	bool j_backoff;          /* an append failed: retry on the timer */
	bool j_no_ahead;         /* making a segment ahead failed: no more
				  * until an append succeeds */
	bool j_uncompacted;      /* segments hold what the state file lacks */
	bool j_final_tried;      /* the last append was tried at shutdown */
	bool durable_broken;     /* a durable change could not be applied */
	bool persist_live;       /* started: compactions may run */
	bool copy_started_pending; /* state.started after the first one */
	uint64_t state_bytes;    /* of the state file last written */
	struct compaction *compacting;
	/* foreground writes in flight (journal appends, a streamed image's
	 * syncs), which a compaction's writer gives way to (fg_writes_busy) */
	atomic_uint fg_writes;
	bool compact_wanted;     /* another compaction once this one ends */
	bool compact_final_done;
	bool timers_open;
	unsigned timers_closing;
	uv_timer_t age_timer;    /* compaction by age */
	uv_timer_t retry_timer;  /* records to retry after a failure */

	struct alb_state *restoring; /* state whose unikernels are restored */
	size_t *restore_order;
	size_t restore_n, restore_next;
	bool restore_in_step, restore_advance;

	/* taps to remove (vmmd_taps.c): queued while a batch runs, with the
	 * runtime records that name them (removed after them) */
	struct {
		struct alb_ifname *v;
		size_t n, cap;
		struct taps_rec *recs;
		size_t n_recs, cap_recs;
		struct vlist waiters;
		bool running;
	} taps;

	unsigned jobs;        /* threadpool jobs and other pending work */
	bool freeing;         /* alb_vmmd_free() runs: no more threadpool */
	bool started;
	bool stopping;
	bool done_called;
	alb_vmmd_done_fn done;
	void *done_ctx;
};

/** Unlinks dirfd/name (a link planted there, not its target) with the
 * file held open, closed in v's threadpool: a large file's blocks and
 * pages, freed at that last close, take tens of ms that the loop does
 * not wait for (v NULL or being freed: closed at once). 0, or the
 * unlink's errno. */
int vmmd_unlink(struct alb_vmmd *v, int dirfd, const char *name);
/** Counts a piece of asynchronous work (shutdown waits for it). */
void vmmd_job_begin(struct alb_vmmd *v);
void vmmd_job_end(struct alb_vmmd *v);
/** Calls the shutdown callback once nothing is active any more. */
void vmmd_maybe_done(struct alb_vmmd *v);


/** Milliseconds of the loop's clock. */
static inline uint64_t vmmd_now_ms(const struct alb_vmmd *v)
{
	return uv_now(v->loop);
}

#endif
