/* libalbatross — the vmmd daemon core (albatrossd's twin, spec §6): it
 * creates, supervises and destroys unikernels, keeps policies and block
 * devices, persists its state, and serves the wire protocol on
 * <tmpdir>/util/vmmd.sock.
 * SPDX-License-Identifier: ISC
 *
 * The core runs on a libuv loop that its caller owns: alb_vmmd_new() with
 * the loop, alb_vmmd_start() to restore the state and listen, then the
 * caller runs the loop; alb_vmmd_shutdown() stops every unikernel (SIGTERM
 * semantics, §6.11) and calls back once nothing is left, after which the
 * caller frees the core and may close its loop. Everything happens on the
 * loop's thread; slow kernel work (tap removal, state-file fsync, image
 * preparation, spawning) goes to the libuv threadpool.
 *
 * Where it differs from albatrossd (spec §12): a failed create undoes what
 * it made; every policy on the path is checked; destroy always wins over a
 * restart, and restarts of a unikernel that keeps failing fast are spaced
 * out; a change is appended to a journal beside the state file (fdatasync,
 * no whole-file rewrite per command) and answered only once durable: one
 * that cannot be made durable is refused and undone; a tender that ignores SIGTERM is killed after a timeout; the console
 * daemon may be absent (output then goes to <tmpdir>/<name>.log) and is
 * reconnected; frames and connections are limited (see the limits below:
 * idle connections cannot shut clients out, a frame's buffer grows as its
 * bytes arrive); after a crash of the daemon the surviving tenders are
 * adopted and leftovers cleaned up.
 *
 * The core never raises SIGPIPE, whatever the caller's disposition of it:
 * clients, the console daemon and the stats channel are written with
 * MSG_NOSIGNAL, and the library's log lines to a stderr whose reader went
 * away fail quietly; a peer that went away is a failed write that the core
 * handles (the console daemon's: output to <name>.log, reconnection). An
 * embedding program need not ignore SIGPIPE. Tenders start with SIGPIPE
 * ignored, as Albatross's do (tender.h). */
#ifndef ALBATROSS_VMMD_H
#define ALBATROSS_VMMD_H

#include "albatross/common.h"
#include "albatross/image.h"
#include "albatross/tender.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;

/** Default persistent directory of albatrossd on Linux (spec §0). */
#define ALB_DBDIR_DEFAULT "/var/lib/albatross"

/** Largest frame read from a client, in bytes: a create carries its image
 * inline, so an image of ALB_IMAGE_MAX plus 1 MiB for the rest. */
#define ALB_VMMD_FRAME_MAX (ALB_IMAGE_MAX + 1024u * 1024u)

/** Most client connections served at once. A new one beyond it replaces
 * the oldest connection that has not sent a complete command yet (so idle
 * connections cannot shut clients out); it is closed at accept only when
 * every connection is past its first command. */
#define ALB_VMMD_CONN_MAX 128

/** A client connection waiting for a command must complete it within this
 * many milliseconds, or it is closed. */
#define ALB_VMMD_COMMAND_TIMEOUT_MS 10000

/** Bytes of incomplete frames all client connections may hold together
 * (beyond the first 64 KiB of each frame, always granted): a frame's buffer
 * grows as its bytes arrive, and a connection that would go past this
 * waits until others complete or are closed. Memory held is at most twice
 * this (buffers double). */
#define ALB_VMMD_READ_BYTES_MAX (2u * ALB_VMMD_FRAME_MAX)

/** ... of which the connections of one peer user (the uid of the
 * connecting process) may hold at most this many, so that one local user
 * cannot starve alb-tlsd or others running as users of their own. */
#define ALB_VMMD_READ_UID_MAX ALB_VMMD_FRAME_MAX

/** Bytes of incomplete frames the peer daemons (the stats channel, once
 * its Stats_initial identified it) hold, apart from everything above. */
#define ALB_VMMD_READ_PEER_MAX (1024u * 1024u)

/** How long a tender may take to exit after SIGTERM before it gets
 * SIGKILL, in milliseconds. */
#define ALB_VMMD_KILL_TIMEOUT_MS 5000

/** Restart back-off: a unikernel that ran for less than this many
 * milliseconds before failing counts as failing fast. */
#define ALB_VMMD_RESTART_STABLE_MS 10000
/** The first restart after a fast failure waits this many milliseconds;
 * every further fast failure in a row doubles the wait ... */
#define ALB_VMMD_RESTART_DELAY_MIN_MS 100
/** ... up to this many milliseconds. */
#define ALB_VMMD_RESTART_DELAY_MAX_MS 5000

/** Most uids a tender uid range holds (alb_vmmd_config.tender_uid_count). */
#define ALB_VMMD_TENDER_UIDS_MAX 65536u
/** Highest uid a tender uid range may reach ((uid_t)-1 means "none" to the
 * kernel). */
#define ALB_VMMD_TENDER_UID_MAX 4294967294u

/** How the core is set up. Fill with alb_vmmd_config_init() first, then
 * change what differs; strings are copied by alb_vmmd_new(). */
struct alb_vmmd_config {
	/** Runtime directory (sockets, FIFOs, images); NULL: ALB_TMPDIR_DEFAULT.
	 * <tmpdir>/util and <tmpdir>/fifo are created when missing. */
	const char *tmpdir;
	/** Persistent directory (state, block devices, tenders); NULL:
	 * ALB_DBDIR_DEFAULT. It and <dbdir>/block are created when missing. */
	const char *dbdir;
	/** A listening Unix socket to serve (systemd socket activation, see
	 * alb_vmmd_systemd_fd()), or -1 to bind <tmpdir>/util/vmmd.sock. The
	 * core takes it over and closes it. */
	int listen_fd;
	/** Pass the full name instead of the label as --name= (--no-drop-path). */
	bool no_drop_path;
	/** The accelerator of QEMU, which runs virtio images. */
	enum alb_qemu_accel qemu_accel;
	/** Canonical path whose unikernels may use /dev/zvol block devices
	 * (--allow-zvol-for), or NULL. */
	const char *zvol_path;
	/** Largest frame read from a client; 0: ALB_VMMD_FRAME_MAX. */
	size_t frame_max;
	/** Most client connections at once; 0: ALB_VMMD_CONN_MAX. */
	unsigned conn_max;
	/** SIGTERM-to-SIGKILL delay; 0: ALB_VMMD_KILL_TIMEOUT_MS. */
	unsigned kill_timeout_ms;
	/** Group of the socket bound at <tmpdir>/util/vmmd.sock (mode 0660,
	 * whatever the umask), or -1 (alb_vmmd_config_init()) to leave the
	 * process's group. */
	int64_t socket_gid;
	/** 0: ALB_VMMD_COMMAND_TIMEOUT_MS. */
	unsigned command_timeout_ms;
	/** 0: ALB_VMMD_READ_BYTES_MAX. */
	size_t read_bytes_max;
	/** "HOST[:PORT]" (numeric, port ALB_METRICS_INFLUX_PORT_DEFAULT) to
	 * push the daemon's own metrics to (--influx, spec §8.6), or NULL. */
	const char *influx;
	/** "ADDR:PORT" to serve them on, GET /metrics (--prometheus), or
	 * NULL. albatross/metrics.h lists both outputs. */
	const char *prometheus;
	/** Tenders without root (doc/privilege.md): each running tender takes
	 * a uid of its own from tender_uid_first .. tender_uid_first +
	 * tender_uid_count - 1 (also its gid), the group of /dev/kvm, no
	 * capability and no_new_privs; its taps are made for that uid, its
	 * image and block files are given to it while it runs. A uid is free
	 * again once its tender has been reaped. The first uid must be at
	 * least 1, the count at most ALB_VMMD_TENDER_UIDS_MAX and the last
	 * uid at most ALB_VMMD_TENDER_UID_MAX. Count 0: tenders run with the
	 * core's own credentials, as Albatross's do. */
	uint32_t tender_uid_first;
	uint32_t tender_uid_count;
	ALB_RESERVED(8);
};

/** Fills c with the defaults (directories NULL, listen_fd and socket_gid
 * -1, limits 0). */
ALB_EXPORT void alb_vmmd_config_init(struct alb_vmmd_config *c);

/** The socket systemd passed (--systemd-socket-activation): requires
 * LISTEN_PID to be our pid and LISTEN_FDS to be 1, as albatrossd does,
 * and returns fd 3 in *fd (the variables are left set). ALB_ENOENT with a
 * message otherwise. */
ALB_EXPORT int alb_vmmd_systemd_fd(int *fd, struct alb_error *err);

/** The core (opaque). */
struct alb_vmmd;

/** Makes a core on loop (a uv_loop_t) with config c. Nothing is touched
 * on the host yet. Returns 0 and *out (free with alb_vmmd_free()),
 * ALB_EINVAL for a bad config (e.g. a zvol path that is not a path name,
 * a tender uid range out of its limits),
 * ALB_ETOOBIG for directories whose paths are too long, ALB_ENOMEM. */
ALB_EXPORT int alb_vmmd_new(struct uv_loop_s *loop,
			    const struct alb_vmmd_config *c,
			    struct alb_vmmd **out, struct alb_error *err);

/** Starts the core (spec §6.2): first waits (up to 1 s, logged) for
 * processes that a tender spawn made and that have not exec'd yet (named
 * "alb-spawn"; a daemon killed during a spawn leaves one, which holds its
 * locks and cannot be told from it in /proc until its exec), then takes
 * the locks that make it the
 * only core of its network namespace, tmpdir and dbdir (flock on
 * <tmpdir>/vmmd.lock and <dbdir>/vmmd.lock, the abstract socket
 * @albatross-vmmd; ALB_EBUSY "... refusing to start", nothing touched,
 * when another process holds one; released when the core is freed or the
 * process dies), creates missing directories, registers the
 * block devices found in <dbdir>/block, discovers the root policy (CPUs,
 * memory, the block filesystem, the host's bridges), reads the state file
 * and copies it to state.started, restores the policies (one that does
 * not fit under its parent is logged and dropped: the parent still
 * applies), starts listening, adopts the tenders that survived a crash of
 * a previous daemon, found in /proc by their image and recognised by their
 * runtime records (they keep running; as they are not our children, how
 * they end is unknown, which restarts them only when they restart on any
 * exit code), stops the other tenders of the tmpdir (and kills a spawn of
 * this tmpdir that did not exec during the wait), removes the taps that
 * the records of tenders not adopted name (never another vmmtapN) and the
 * FIFOs and images that no unikernel owns any more, and then restores the
 * remaining unikernels in startup-priority order in the background (one
 * that fails to start, e.g. for an image that is not a Solo5 executable,
 * is logged and left out of the next state file; one that restarts on
 * failure is tried again with the restart back-off). The console daemon
 * is connected to when a unikernel starts, and again after it went away
 * (doc/faults.md). With c->influx or c->prometheus, the daemon's own
 * metrics are pushed and served (albatross/metrics.h) once it listens; a
 * bad address is ALB_EINVAL before anything is touched, one that cannot be
 * bound ALB_ESYS. Returns 0, or an error that makes the daemon unusable:
 * a lock held by another process, an unreadable state file, a socket that
 * cannot be bound (or on which another daemon listens), a root policy that
 * cannot be computed. Call once; after a failure, shut down
 * (alb_vmmd_shutdown) and free. */
ALB_EXPORT int alb_vmmd_start(struct alb_vmmd *v, struct alb_error *err);

/** Called once the core has shut down. */
typedef void (*alb_vmmd_done_fn)(struct alb_vmmd *v, void *ctx);

/** Shuts down as albatrossd does on SIGTERM (spec §6.11): stops listening,
 * closes every client connection, sends SIGTERM to every unikernel (SIGKILL
 * after the kill timeout) and waits for each to exit and for its taps,
 * FIFO and image to be removed; the state file is left as it is, so that
 * the next start restores the same unikernels. done(v, ctx) is called on
 * the loop once nothing of the core is active any more (it may be called
 * before this function returns when nothing runs). A second call only
 * replaces done. Returns 0, or ALB_EINVAL for a NULL core. */
ALB_EXPORT int alb_vmmd_shutdown(struct alb_vmmd *v, alb_vmmd_done_fn done,
				 void *ctx);

/** Compacts the state now (albd does it on SIGHUP): the state file is
 * rewritten from the state the journal has made durable, in the
 * threadpool, atomically, and the journal segments it covers are removed,
 * so that an albatrossd started on the dbdir sees every acknowledged
 * change. The core also compacts when the journal grows as large as the
 * state file (and at least 64 MiB), 10 minutes after the first change
 * since the last compaction, and at the end of a shutdown. Returns 0, or
 * ALB_EINVAL for a core that is not started. */
ALB_EXPORT int alb_vmmd_compact(struct alb_vmmd *v);

/** Compacts the state of dbdir (NULL: ALB_DBDIR_DEFAULT) offline, with no
 * daemon running on it (albd --compact-state): reads the state file,
 * replays the journal, writes the state file as the daemon's compaction
 * does, and removes the journal. Returns 0, ALB_ENOENT when the dbdir has
 * neither a state file nor a journal, ALB_EPARSE for a corrupt state file
 * or journal record (both files are then kept as they are), or the error
 * of a write. */
ALB_EXPORT int alb_vmmd_compact_state(const char *dbdir, struct alb_error *err);

/** Frees the core: call it from or after the done callback of
 * alb_vmmd_shutdown(), or instead of starting it; NULL is a no-op. */
ALB_EXPORT void alb_vmmd_free(struct alb_vmmd *v);

#ifdef __cplusplus
}
#endif
#endif
