/* alb-oci — an OCI runtime (runc's command line, as containerd's
 * io.containerd.runc.v2 shim calls it) that runs Solo5 and QEMU
 * unikernels through libalbatross. What its files hold:
 *   alb_oci.c         the command line: global options, commands, logging
 *   alb_oci_json.c    the strict bounded JSON reader (alb_oci_json.h)
 *   alb_oci_config.c  bundle/config.json, annotations and urunc.json
 *   alb_oci_state.c   the container's directory and state file under --root
 *   alb_oci_net.c     the network namespace: veth, tap, redirect, cleanup
 *   alb_oci_stdio.c   the console socket (pty) and the --log file
 *   alb_oci_launch.c  the parked process: wait for start, pin, exec
 *   alb_oci_run.c     the lifecycle: create, start, state, kill, delete, ps
 * SPDX-License-Identifier: ISC */
#ifndef ALB_OCI_H
#define ALB_OCI_H

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "albatross/albatross.h"

/* ---- limits ------------------------------------------------------------- */

/* Largest config.json read (Kubernetes' are a few tens of KiB). */
#define OCI_CONFIG_MAX (1024 * 1024)
/* Largest urunc.json read from a rootfs. */
#define OCI_URUNC_JSON_MAX (64 * 1024)
/* Largest state file read back. */
#define OCI_STATE_MAX (64 * 1024)
/* Longest container id (a directory name under --root); its characters
 * are runc's: letters, digits, '_', '+', '-', '.'. */
#define OCI_ID_MAX 255
/* Most annotations kept from config.json (Kubernetes sets about ten). */
#define OCI_ANNOTATIONS_MAX 256
/* Longest annotation key and value, in bytes (a value is at most a guest
 * command line). */
#define OCI_ANNOTATION_KEY_MAX 255
#define OCI_ANNOTATION_VALUE_MAX ALB_TENDER_CMDLINE_MAX
/* Most process arguments taken from config.json. */
#define OCI_ARGS_MAX 256
/* Most block devices of one unikernel. */
#define OCI_BLOCKS_MAX 16
/* Longest path handled (bundle, rootfs, files). */
#define OCI_PATH_MAX PATH_MAX
/* Memory of a unikernel without a memory limit, in MB. */
#define OCI_MEM_DEFAULT_MB 64
/* How long `start` waits for the parked process, in milliseconds. */
#define OCI_START_TIMEOUT_MS 10000
/* How long `delete --force` waits for a killed process to go. */
#define OCI_KILL_TIMEOUT_MS 5000

/* Default directory searched for tenders before PATH (albd's dbdir);
 * $ALB_OCI_DBDIR overrides it. */
#define OCI_DBDIR_DEFAULT "/var/lib/albatross"

/* Annotations of our own (urunc's com.urunc.unikernel.* are read too). */
#define OCI_ANN_URUNC "com.urunc.unikernel."
#define OCI_ANN_BLOCK "com.albatross.block." /* + device: mount destination */
#define OCI_ANN_NETIF "com.albatross.net.interface" /* the veth's name */
#define OCI_ANN_ACCEL "com.albatross.qemu.accel"    /* tcg or kvm */

/* The name given to every unikernel inside its own directory. */
#define OCI_UK_NAME "unikernel"

/* Exit status of a failed command. */
#define OCI_EXIT_FAIL 1

/* Fills err (when not NULL) like the library does and returns code. */
static inline int oci_seterr(struct alb_error *err, int code,
			     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int oci_seterr(struct alb_error *err, int code,
			     const char *fmt, ...)
{
	if (err != NULL) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		err->sys_errno = 0;
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- global options and logging (alb_oci.c) ---------------------------- */

struct oci_global {
	const char *root;
	const char *log;
	bool log_json;
};

/* Reports a failure on stderr and in the --log file (a JSON line with
 * --log-format json, which the shim reads back); returns OCI_EXIT_FAIL. */
int oci_fail(const struct oci_global *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same for a struct alb_error: "<what>: <message>". */
int oci_fail_err(const struct oci_global *g, const char *what,
		 const struct alb_error *err);

/* ---- config.json (alb_oci_config.c) ------------------------------------ */

struct oci_block {
	char name[ALB_MFT_NAME_MAX + 1]; /* the unikernel's device */
	char path[OCI_PATH_MAX];         /* the host file */
};

/* What alb-oci takes from a bundle: config.json's process, resources,
 * network namespace and mounts, and the unikernel's description from the
 * annotations or the rootfs's urunc.json. Strings are copies. */
struct oci_config {
	char rootfs[OCI_PATH_MAX];
	bool terminal;
	size_t n_args;
	char *args[OCI_ARGS_MAX]; /* process.args, owned */
	bool has_mem_limit;
	int64_t mem_limit; /* bytes */
	size_t n_cpus;
	int64_t cpus[ALB_TENDER_CPU_MAX];
	/* linux.namespaces: network with a path, a new one, or none (the
	 * host's) */
	enum { OCI_NETNS_HOST = 0, OCI_NETNS_NEW = 1, OCI_NETNS_PATH = 2 } netns;
	char netns_path[OCI_PATH_MAX];
	/* annotations: config.json's, then urunc.json's where absent */
	size_t n_ann;
	char *ann_key[OCI_ANNOTATIONS_MAX], *ann_value[OCI_ANNOTATIONS_MAX];
	/* mounts: destination -> source, for block devices */
	size_t n_mounts;
	char **mount_dst, **mount_src;
};

/* Reads <bundle>/config.json into *c (freed with oci_config_free()).
 * Returns 0 or an ALB_E* code with the reason in err. */
int oci_config_load(const char *bundle, struct oci_config *c,
		    struct alb_error *err);
/* Parses a config.json held in memory (the rootfs path is taken relative
 * to bundle). */
int oci_config_parse(const char *text, size_t len, const char *bundle,
		     struct oci_config *c, struct alb_error *err);
/* Adds the annotations of a urunc.json (values base64) that *c lacks. */
int oci_config_urunc_json(const char *text, size_t len, struct oci_config *c,
			  struct alb_error *err);
void oci_config_free(struct oci_config *c);
/* The value of annotation key, or NULL. */
const char *oci_annotation(const struct oci_config *c, const char *key);
/* The value of urunc's com.urunc.unikernel.<name>, decoded from base64
 * when it is base64 of printable text (urunc's encoding), else as is. */
int oci_urunc_value(const struct oci_config *c, const char *name, char *out,
		    size_t size, struct alb_error *err);
/* Parses a cpuset list ("0-3,7") into cpus (at most ALB_TENDER_CPU_MAX
 * ids, each below it). */
int oci_cpuset_parse(const char *s, int64_t *cpus, size_t *n,
		     struct alb_error *err);
/* True when id is a valid container id. */
bool oci_id_valid(const char *id);

/* ---- the container's directory and state (alb_oci_state.c) ------------ */

enum oci_status {
	OCI_CREATED = 0, /* parked, waiting for start */
	OCI_RUNNING = 1,
	OCI_STOPPED = 2
};

/* What is kept of a container between two calls of alb-oci. */
struct oci_state {
	char id[OCI_ID_MAX + 1];
	char bundle[OCI_PATH_MAX];
	char created[40]; /* RFC 3339 */
	pid_t pid;
	int64_t pid_start; /* /proc/<pid>/stat starttime, against pid reuse */
	bool started;
	enum alb_tender_kind kind;
	char tap[ALB_IFNAME_SIZE];    /* "" for none */
	char veth[ALB_IFNAME_SIZE];   /* redirected to the tap; "" for none */
	char netns[OCI_PATH_MAX];     /* the namespace of tap; "" for none */
	size_t n_ann;
	char *ann_key[OCI_ANNOTATIONS_MAX], *ann_value[OCI_ANNOTATIONS_MAX];
};

/* Opens (making it, 0700, when missing) the --root directory. */
int oci_root_open(const char *root, int *fd, struct alb_error *err);
/* Makes <root>/<id> (ALB_EEXIST when it exists) and opens it. */
int oci_dir_make(int rootfd, const char *id, int *fd, struct alb_error *err);
/* Opens <root>/<id> (ALB_ENOENT when missing). */
int oci_dir_open(int rootfd, const char *id, int *fd, struct alb_error *err);
/* Removes <root>/<id> and what it holds (missing is fine). */
int oci_dir_remove(int rootfd, const char *id, struct alb_error *err);
/* Writes the state file of the container in dirfd atomically. */
int oci_state_write(int dirfd, const struct oci_state *s,
		    struct alb_error *err);
/* Reads it back (ALB_ENOENT when there is none). */
int oci_state_read(int dirfd, struct oci_state *s, struct alb_error *err);
int oci_state_parse(const char *text, size_t len, struct oci_state *s,
		    struct alb_error *err);
void oci_state_free(struct oci_state *s);
/* The status of the container now, from its process. */
enum oci_status oci_state_status(const struct oci_state *s);
const char *oci_status_name(enum oci_status st);
/* The start time of process pid (field 22 of /proc/<pid>/stat), -1 when
 * there is no such process. */
int64_t oci_pid_start(pid_t pid);
/* Writes bytes to name in dirfd atomically: a new file (O_EXCL, 0600,
 * O_NOFOLLOW) renamed over name. */
int oci_write_file(int dirfd, const char *name, const void *data, size_t len,
		   struct alb_error *err);
/* Reads the regular file name in dirfd (O_NOFOLLOW), at most max bytes,
 * into a malloc'd buffer with a NUL after it. ALB_ETOOBIG past max. */
int oci_read_file(int dirfd, const char *name, size_t max, char **out,
		  size_t *len, struct alb_error *err);

/* ---- networking (alb_oci_net.c) ----------------------------------------- */

/* The IPv4 configuration of a veth, handed to the unikernel. */
struct oci_ipv4 {
	char ifname[ALB_IFNAME_SIZE];
	uint8_t mac[ALB_MAC_LEN];
	char addr[16];
	unsigned prefix;
	char gateway[16]; /* "" for none */
};

/* Enters the network namespace at path (setns). */
int oci_netns_enter(const char *path, struct alb_error *err);
/* Finds the veth to couple the unikernel to: the interface named
 * `wanted` (when not NULL), else eth0, else the only one with an IPv4
 * address besides lo. ALB_ENOENT when there is none. */
int oci_veth_find(const char *wanted, struct oci_ipv4 *out,
		  struct alb_error *err);
/* Makes a tap, brings it up and couples it both ways to veth (veth may
 * be NULL: a tap alone). Nothing is left on failure. */
int oci_tap_setup(const char *veth, char tap[ALB_IFNAME_SIZE],
		  struct alb_error *err);
/* Undoes oci_tap_setup (what is already gone is fine). */
int oci_tap_teardown(const char *tap, const char *veth, struct alb_error *err);

/* ---- stdio (alb_oci_stdio.c) -------------------------------------------- */

/* Makes a pty, sends its master to the console socket at path (as runc
 * does, SCM_RIGHTS) and returns the slave's fd. */
int oci_console_setup(const char *socket_path, int *slave,
		      struct alb_error *err);
/* Makes fd the controlling terminal and stdin/stdout/stderr (in the
 * parked process, after setsid()). */
int oci_console_attach(int fd);

/* ---- the parked process (alb_oci_launch.c) ------------------------------ */

struct oci_launch {
	int dirfd;              /* the container's directory */
	int console;            /* pty slave, -1 for the inherited stdio */
	enum alb_tender_kind kind;
	const struct alb_argv *argv;
	size_t n_cpus;
	const int64_t *cpus;
};

/* The name of the FIFO the parked process waits on. */
#define OCI_START_FIFO "start.fifo"

/* In the child of create: waits on the start FIFO, then becomes the
 * tender (hvt, spt: exec; QEMU: a parent that decodes QEMU's exit status
 * as albd does, see alb_tender_exit_decode()). Never returns. */
__attribute__((noreturn)) void oci_launch_run(const struct oci_launch *l);
/* Pins the calling process to cpus, restores default signal handling
 * and executes argv; returns only on failure (errno set). */
int oci_exec_tender(const struct alb_argv *argv, size_t n_cpus,
		    const int64_t *cpus);
/* In start: releases the parked process of dirfd, checking that pid is
 * still there. */
int oci_launch_release(int dirfd, pid_t pid, struct alb_error *err);

/* ---- commands (alb_oci_run.c) ------------------------------------------- */

struct oci_create_opts {
	const char *bundle;
	const char *pid_file;
	const char *console_socket;
};

int oci_cmd_create(const struct oci_global *g, const char *id,
		   const struct oci_create_opts *o);
int oci_cmd_start(const struct oci_global *g, const char *id);
int oci_cmd_state(const struct oci_global *g, const char *id);
int oci_cmd_kill(const struct oci_global *g, const char *id, int sig);
int oci_cmd_delete(const struct oci_global *g, const char *id, bool force);
int oci_cmd_ps(const struct oci_global *g, const char *id, bool json);

#endif
