/* libalbatross — tenders: the command lines of solo5-hvt, solo5-spt and
 * QEMU, tender lookup and ABI check, spawning with CPU pinning, exit
 * statuses and restart decisions (spec §6.4–6.7).
 * SPDX-License-Identifier: ISC */
#ifndef ALBATROSS_TENDER_H
#define ALBATROSS_TENDER_H

#include <sys/types.h>

#include "albatross/common.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What runs an image. The values are Solo5's ABI target numbers (hvt 1,
 * spt 2, virtio 3); a virtio image is run by QEMU. */
enum alb_tender_kind {
	ALB_TENDER_HVT = 1,
	ALB_TENDER_SPT = 2,
	ALB_TENDER_QEMU = 3
};

/** QEMU accelerator. ALB_QEMU_ACCEL_DEFAULT is TCG (see tender_argv.c for
 * the measurements behind that choice). */
enum alb_qemu_accel {
	ALB_QEMU_ACCEL_DEFAULT = 0,
	ALB_QEMU_ACCEL_TCG = 1,
	ALB_QEMU_ACCEL_KVM = 2
};

/** Most bytes of a whole argv (every string with its NUL). */
#define ALB_TENDER_ARGV_MAX 131072
/** Longest guest command line a Solo5 tender accepts (the arguments after
 * the image joined by single spaces), in bytes without the NUL. */
#define ALB_TENDER_CMDLINE_MAX 8191
/** CPU ids must be below this (the size of a cpu_set_t). */
#define ALB_TENDER_CPU_MAX 1024
/** Size of a buffer for a tender path, with its NUL. */
#define ALB_TENDER_PATH_MAX 4096
/** Most bytes of `<tender> --version` output that are read. */
#define ALB_TENDER_VERSION_OUTPUT_MAX 4096
/** How long `<tender> --version` may take, in milliseconds. */
#define ALB_TENDER_VERSION_TIMEOUT_MS 5000
/** Number of tenders whose ABI check is remembered (alb_tender_check_abi()). */
#define ALB_TENDER_ABI_CACHE_MAX 8

/** A network device as decided by the caller: the host tap given to the
 * tender and the MAC the unikernel uses (configured, or derived, spec §5.5). */
struct alb_tender_net {
	const char *tap;
	uint8_t mac[ALB_MAC_LEN];
	ALB_RESERVED(1);
};

/** Everything a tender command line is built from. */
struct alb_tender_cmd {
	enum alb_tender_kind kind;
	/** argv[0]: the tender (hvt/spt) or the QEMU binary. */
	const char *tender;
	/** Canonical name of the unikernel (see name.h). */
	const char *name;
	const struct alb_unikernel_config *config;
	/** config->n_bridges entries, in the order of config->bridges. */
	const struct alb_tender_net *nets;
	const char *tmpdir;
	const char *dbdir;
	/** `--name=` carries the full name instead of the label (Albatross's
	 * --no-drop-path). */
	bool full_name;
	/** QEMU only. */
	enum alb_qemu_accel accel;
	ALB_RESERVED(4);
};

/** An argument vector: argv[0..argc) are NUL-terminated strings and
 * argv[argc] is NULL. Owned by the struct; free with alb_argv_free().
 * Complete as it is: no reserved tail (see common.h). */
struct alb_argv {
	size_t argc;
	char **argv;
};

/** Builds the command line of a unikernel: for hvt/spt exactly
 * Albatross's (spec §6.6, without taskset: pinning is done by
 * alb_tender_spawn()); for QEMU an equivalent QEMU command line for a
 * multiboot virtio image. On success out (zeroed by the caller or freshly
 * freed) owns the vector. ALB_EINVAL for a string with a NUL byte, a block
 * device whose host name is not a label, a missing input; ALB_ETOOBIG past
 * ALB_TENDER_CMDLINE_MAX (hvt/spt) or ALB_TENDER_ARGV_MAX. */
ALB_EXPORT int alb_tender_argv(const struct alb_tender_cmd *cmd,
			       struct alb_argv *out, struct alb_error *err);

/** Frees the strings of an argv and resets it to empty; NULL is a no-op. */
ALB_EXPORT void alb_argv_free(struct alb_argv *a);

/** Finds the tender for a Solo5 target and ABI version (spec §6.4), first
 * match wins: `<dbdir>/solo5-<t>.<V>`, `solo5-<t>.<V>` in PATH,
 * `<dbdir>/solo5-<t>`, `solo5-<t>` in PATH; for QEMU
 * `<dbdir>/qemu-system-x86_64`, then PATH. Writes the path to execute
 * (ALB_TENDER_PATH_MAX bytes) to out. ALB_ENOENT with Albatross's
 * "tender does not exist, looked for ..." text when none is found. */
ALB_EXPORT int alb_tender_lookup(enum alb_tender_kind kind,
				 unsigned abi_version, const char *dbdir,
				 char *out, struct alb_error *err);

/** Runs `<tender> --version` (stdout and stderr merged) and requires exit
 * status 0 and a line that is exactly `ABI version <abi_version>`; else
 * ALB_EPROTO with Albatross's "unexpected solo5 tender --version output,
 * expected one line with 'ABI version V', got <output>". A success is
 * remembered for the same file (path, device, inode, size, mtime) and
 * version, so a tender is checked once: a process-wide cache of the last
 * ALB_TENDER_ABI_CACHE_MAX successes behind a lock, the only state this
 * module keeps between calls (a replaced tender file misses it). Thread-
 * safe. */
ALB_EXPORT int alb_tender_check_abi(const char *tender, unsigned abi_version,
				    struct alb_error *err);

/** alb_tender_lookup() followed, for hvt/spt, by alb_tender_check_abi(). */
ALB_EXPORT int alb_tender_find(enum alb_tender_kind kind, unsigned abi_version,
			       const char *dbdir, char *out,
			       struct alb_error *err);

/** Most supplementary groups a tender is given (struct alb_spawn_creds). */
#define ALB_SPAWN_GROUPS_MAX 32

/** The credentials a tender takes before its exec: none of the ids may
 * be 0 (root). */
struct alb_spawn_creds {
	uint32_t uid;
	uint32_t gid;
	/** Supplementary groups (e.g. the group of /dev/kvm): n_groups ids,
	 * at most ALB_SPAWN_GROUPS_MAX; groups may be NULL when n_groups is
	 * 0 (no supplementary group). */
	size_t n_groups;
	const uint32_t *groups;
	ALB_RESERVED(2);
};

/** How to start a tender. */
struct alb_spawn {
	/** NULL-terminated; argv[0] is executed: as a path when it holds a
	 * '/', else searched in PATH. */
	const char *const *argv;
	/** NULL-terminated environment; NULL for the caller's. */
	const char *const *envp;
	/** Becomes stdin, stdout and stderr of the child (the console FIFO,
	 * opened write-only). The caller keeps and closes its own copy. */
	int console_fd;
	/** CPU affinity of the child; n_cpus == 0 inherits the caller's. */
	size_t n_cpus;
	const int64_t *cpus;
	/** NULL: the child keeps the caller's credentials. Otherwise the
	 * child takes these groups, gid and uid, empties its capability sets
	 * (the bounding set too: the caller needs CAP_SETPCAP besides
	 * CAP_SETUID and CAP_SETGID) and sets no_new_privs before the exec. */
	const struct alb_spawn_creds *creds;
	ALB_RESERVED(4);
};

/** A started tender. pidfd refers to the process for good (it cannot
 * come to name another process the way a reused pid can): watch it
 * (poll() says readable once the process has ended), signal it
 * (pidfd_send_signal) and reap it (waitid(P_PIDFD, ...)) through it. */
struct alb_spawned {
	pid_t pid;
	/** A pidfd made by the clone that created the process (CLONE_PIDFD),
	 * close-on-exec; owned by the caller, who closes it. */
	int pidfd;
	ALB_RESERVED(3);
};

/** Starts a tender: clone and exec, in the child its CPU affinity set
 * (sched_setaffinity), console_fd as fds 0, 1 and 2 and no other open fd,
 * a process group of its own, default signal dispositions but SIGPIPE
 * ignored (as Albatross's tenders have it) and an empty signal mask, and
 * with creds its uid, gid and groups, no capability and no_new_privs
 * (checked: a child that could still become root, or holds a capability,
 * fails before exec with EPERM). Returns once the exec has happened, with
 * the pid and a pidfd in *out (see struct alb_spawned; the child is the
 * caller's to reap); a failure in the child before or at exec is returned
 * here (e.g. "exec /x failed: No such file or directory", ALB_ESYS with
 * sys_errno), the child then already reaped. ALB_ETOOBIG for a CPU id at
 * or past ALB_TENDER_CPU_MAX or more than ALB_SPAWN_GROUPS_MAX groups;
 * ALB_EINVAL for a missing argument, an id 0 or a non-zero reserved word
 * in *s or creds. Needs Linux 5.2 or later (CLONE_PIDFD). */
ALB_EXPORT int alb_tender_spawn(const struct alb_spawn *s,
				struct alb_spawned *out,
				struct alb_error *err);

enum alb_exit_kind {
	ALB_EXIT_CODE = 0,   /* exited; value = exit code */
	ALB_EXIT_SIGNAL = 1, /* killed; value = signal number */
	ALB_EXIT_STOPPED = 2 /* stopped; value = signal number */
};

/** How a tender ended, in the unikernel's terms. */
struct alb_exit_status {
	enum alb_exit_kind kind;
	int value;
	bool core; /* ALB_EXIT_SIGNAL: a core was dumped */
	ALB_RESERVED(2);
};

/** Decodes a waitpid() status of a tender of the given kind. For QEMU, an
 * odd exit status s >= 3 (isa-debug-exit: (code << 1) | 1) becomes code
 * s >> 1; QEMU's own failure status 1 stays 1 (a tender error, which a
 * guest writing 0 to isa-debug-exit cannot be told apart from), and 0 (the
 * guest powered off or reset) stays 0. ALB_EINVAL for a "continued"
 * status or an unknown kind. */
ALB_EXPORT int alb_tender_exit_decode(int wstatus, enum alb_tender_kind kind,
				      struct alb_exit_status *out);

/** Writes "exit code 3", "signal 9" (+ " (core dumped)") or
 * "stopped by signal 19" to buf (always NUL-terminated when size > 0). */
ALB_EXPORT void alb_tender_exit_format(const struct alb_exit_status *st,
				       char *buf, size_t size);

/** Albatross's should_restart (spec §6.7): false for a signal or a stop,
 * for exit codes 1 and 60..64 and for Quit; Restart with no codes restarts
 * on every other code, Restart with codes on the listed ones. */
ALB_EXPORT bool alb_tender_should_restart(const struct alb_fail *fail,
					  const struct alb_exit_status *st);

/** What to do when a tender has ended (spec §6.7, steps 2–4). */
enum alb_restart {
	ALB_RESTART_NO = 0,         /* the unikernel is gone */
	ALB_RESTART_SAME = 1,       /* create again with the same config */
	ALB_RESTART_WITHOUT_NAME = 2 /* create again with add_name = false */
};

/** The restart decision as a pure function: exit code 64 with add_name
 * set gives ALB_RESTART_WITHOUT_NAME (even for Quit: the unikernel did not
 * understand --name); otherwise alb_tender_should_restart() decides. The
 * caller checks first that the unikernel is still in its restarting set. */
ALB_EXPORT enum alb_restart
alb_tender_restart_decision(const struct alb_fail *fail, bool add_name,
			    const struct alb_exit_status *st);

#ifdef __cplusplus
}
#endif
#endif
