/* alb-oci — the lifecycle: create (prepare the image, devices, network and
 * the parked process), start, state, kill, delete and ps, each a separate
 * call of alb-oci that finds the container in <root>/<id>.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alb_oci.h"
#include "alb_oci_json.h"

#define NETNS_NEW "new" /* state: the tap lives in the process's own netns */
/* Most guest arguments alb-oci adds before the user's (--ipv4=, ...). */
#define NET_ARGS_MAX 2
/* How often a killed process is looked at. */
#define KILL_POLL_MS 10

/* Everything create prepares, freed by prep_free(). */
struct prep {
	struct oci_config cfg;
	struct alb_solo5_info info;
	bool has_notes;
	enum alb_tender_kind kind;
	char tender[ALB_TENDER_PATH_MAX];
	char name[ALB_NAME_BUF];
	char dir[OCI_PATH_MAX]; /* <root>/<id> */
	int64_t mem_mb;
	enum alb_qemu_accel accel;
	/* network */
	bool want_net, coupled;
	char netif[ALB_MFT_NAME_MAX + 1];
	struct oci_ipv4 ip;
	char tap[ALB_IFNAME_SIZE];
	struct alb_tender_net tnet;
	struct alb_net_dev ndev;
	/* block devices */
	size_t n_blocks;
	struct alb_block_dev bdev[OCI_BLOCKS_MAX];
	char blabel[OCI_BLOCKS_MAX][24];
	/* guest arguments: ours, then the user's */
	size_t n_argv;
	struct alb_str argv[NET_ARGS_MAX + OCI_ARGS_MAX];
	char net_args[NET_ARGS_MAX][64];
	char *cmdline; /* the split annotation, when it is used */
};

static void prep_free(struct prep *p)
{
	oci_config_free(&p->cfg);
	free(p->cmdline);
}

static void now_rfc3339(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%.19s.%09dZ", base, (int)(ts.tv_nsec % 1000000000));
}

/* Opens path inside the rootfs rootfd as if rootfd were "/" (symlinks and
 * ".." cannot leave it), as urunc's chroot does. */
static int open_in_root(int rootfd, const char *path, int flags,
			struct alb_error *err)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd < 0)
		oci_seterr(err, errno == ENOENT ? ALB_ENOENT : ALB_ESYS,
			   "cannot open %s in the rootfs: %s", path,
			   strerror(errno));
	return fd;
}

static int read_image(int fd, const char *path, struct alb_buf *out,
		      struct alb_error *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return oci_seterr(err, ALB_EINVAL, "%s is not a regular file", path);
	if ((uint64_t)st.st_size > ALB_IMAGE_MAX)
		return oci_seterr(err, ALB_ETOOBIG,
				  "%s is larger than %u bytes", path, ALB_IMAGE_MAX);
	uint8_t *b = malloc((size_t)st.st_size + 1);
	if (b == NULL)
		return oci_seterr(err, ALB_ENOMEM, "out of memory");
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, b + n, (size_t)st.st_size + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || (n += (size_t)r) > (size_t)st.st_size)
			break;
	}
	if (n != (size_t)st.st_size) {
		free(b);
		return oci_seterr(err, ALB_ESYS, "cannot read %s", path);
	}
	out->data = out->base_ = b;
	out->len = n;
	return 0;
}

/* The unikernel's file, its notes and what runs it; its bytes go to
 * <dir>/unikernel.img. */
static int prepare_image(struct prep *p, int dirfd, struct alb_error *err)
{
	char binary[OCI_PATH_MAX], hyp[16];
	int rc = oci_urunc_value(&p->cfg, "binary", binary, sizeof(binary), err);
	if (rc == ALB_ENOENT)
		return oci_seterr(err, ALB_EINVAL,
				  "not a unikernel: no " OCI_ANN_URUNC "binary "
				  "annotation and no /urunc.json naming one");
	if (rc != 0)
		return rc;
	int rootfd = open(p->cfg.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open rootfs %s: %s",
				  p->cfg.rootfs, strerror(errno));
	int fd = open_in_root(rootfd, binary, O_RDONLY, err);
	close(rootfd);
	if (fd < 0)
		return err != NULL ? err->code : ALB_ESYS;
	struct alb_buf img = {0};
	rc = read_image(fd, binary, &img, err);
	close(fd);
	if (rc != 0)
		return rc;
	struct alb_error perr;
	p->has_notes = alb_solo5_parse(img.data, img.len, &p->info, &perr) == 0;
	rc = oci_urunc_value(&p->cfg, "hypervisor", hyp, sizeof(hyp), err);
	if (rc == 0) {
		if (strcmp(hyp, "hvt") == 0)
			p->kind = ALB_TENDER_HVT;
		else if (strcmp(hyp, "spt") == 0)
			p->kind = ALB_TENDER_SPT;
		else if (strcmp(hyp, "qemu") == 0)
			p->kind = ALB_TENDER_QEMU;
		else
			rc = oci_seterr(err, ALB_EUNSUPPORTED,
					"hypervisor %s is not supported (hvt, spt, "
					"qemu)", hyp);
		if (rc == 0 && p->has_notes &&
		    (unsigned)p->info.target !=
			(p->kind == ALB_TENDER_QEMU ? ALB_SOLO5_VIRTIO
						    : (unsigned)p->kind))
			rc = oci_seterr(err, ALB_EINVAL,
					"hypervisor %s does not run a Solo5 %s "
					"image", hyp,
					alb_solo5_target_name(p->info.target));
	} else if (rc == ALB_ENOENT) {
		rc = 0;
		if (!p->has_notes)
			rc = oci_seterr(err, ALB_EINVAL,
					"%s: no hypervisor annotation and %s",
					binary, perr.msg);
		else
			p->kind = p->info.target == ALB_SOLO5_VIRTIO
				      ? ALB_TENDER_QEMU
				      : (enum alb_tender_kind)p->info.target;
	}
	if (rc == 0 && p->kind != ALB_TENDER_QEMU && !p->has_notes)
		rc = oci_seterr(err, ALB_EINVAL, "%s: %s", binary, perr.msg);
	/* where alb_tender_argv() has the tender look: <tmpdir>/<name>.img */
	char file[ALB_NAME_BUF + 8];
	snprintf(file, sizeof(file), "%s.img", p->name);
	if (rc == 0)
		rc = oci_write_file(dirfd, file, img.data, img.len, err);
	free(img.base_);
	return rc;
}

static int prepare_resources(struct prep *p, struct alb_error *err)
{
	p->mem_mb = OCI_MEM_DEFAULT_MB;
	if (p->cfg.has_mem_limit) {
		p->mem_mb = p->cfg.mem_limit / (1024 * 1024);
		if (p->mem_mb < 1)
			return oci_seterr(err, ALB_EINVAL,
					  "memory limit of %lld bytes is below 1 MiB",
					  (long long)p->cfg.mem_limit);
	}
	const char *accel = oci_annotation(&p->cfg, OCI_ANN_ACCEL);
	if (accel != NULL && strcmp(accel, "kvm") == 0)
		p->accel = ALB_QEMU_ACCEL_KVM;
	else if (accel != NULL && strcmp(accel, "tcg") != 0)
		return oci_seterr(err, ALB_EINVAL, OCI_ANN_ACCEL " must be tcg or kvm");
	return 0;
}

/* The network devices of the manifest (one at most); QEMU images without
 * notes get one when there is a veth to couple it to. */
static int prepare_net(struct prep *p, struct alb_error *err)
{
	size_t n = 0;
	for (size_t i = 0; p->has_notes && i < p->info.n_devices; i++)
		if (p->info.devices[i].type == ALB_MFT_NET_BASIC) {
			if (n++ == 0)
				snprintf(p->netif, sizeof(p->netif), "%s",
					 p->info.devices[i].name);
		}
	if (n > 1)
		return oci_seterr(err, ALB_EUNSUPPORTED,
				  "the manifest declares %zu network devices; "
				  "alb-oci gives a unikernel one", n);
	p->want_net = n == 1;
	if (p->cfg.netns == OCI_NETNS_NEW && unshare(CLONE_NEWNET) != 0)
		return oci_seterr(err, ALB_ESYS, "unshare(CLONE_NEWNET): %s",
				  strerror(errno));
	int rc = 0;
	if (p->cfg.netns == OCI_NETNS_PATH) {
		if ((rc = oci_netns_enter(p->cfg.netns_path, err)) != 0)
			return rc;
		struct alb_error verr;
		const char *wanted = oci_annotation(&p->cfg, OCI_ANN_NETIF);
		rc = oci_veth_find(wanted, &p->ip, &verr);
		if (rc == 0)
			p->coupled = true;
		else if (rc != ALB_ENOENT || wanted != NULL)
			return oci_seterr(err, rc, "%s", verr.msg);
		rc = 0;
		if (p->coupled && !p->has_notes)
			p->want_net = true;
	}
	if (!p->want_net)
		return 0;
	if (p->netif[0] == '\0')
		snprintf(p->netif, sizeof(p->netif), "service");
	rc = oci_tap_setup(p->coupled ? p->ip.ifname : NULL, p->tap, err);
	if (rc != 0)
		return rc;
	p->tnet.tap = p->tap;
	p->ndev.netif = (struct alb_str){p->netif, strlen(p->netif)};
	if (p->coupled) {
		memcpy(p->tnet.mac, p->ip.mac, ALB_MAC_LEN);
		snprintf(p->net_args[0], sizeof(p->net_args[0]), "--ipv4=%s/%u",
			 p->ip.addr, p->ip.prefix);
		p->argv[p->n_argv].ptr = p->net_args[0];
		p->argv[p->n_argv].len = strlen(p->net_args[0]);
		p->n_argv++;
		if (p->ip.gateway[0] != '\0') {
			snprintf(p->net_args[1], sizeof(p->net_args[1]),
				 "--ipv4-gateway=%s", p->ip.gateway);
			p->argv[p->n_argv].ptr = p->net_args[1];
			p->argv[p->n_argv].len = strlen(p->net_args[1]);
			p->n_argv++;
		}
	} else {
		rc = alb_mac_derive(p->ndev.netif, p->name, p->tnet.mac, err);
	}
	return rc;
}

/* The host file of a block device: the source of the mount whose
 * destination the annotation com.albatross.block.<dev> names, or urunc's
 * block annotation (a file in the rootfs) for the only block device. */
static int block_source(struct prep *p, const char *dev, bool only,
			char *out, struct alb_error *err)
{
	char key[OCI_ANNOTATION_KEY_MAX + 1], rel[OCI_PATH_MAX];
	snprintf(key, sizeof(key), OCI_ANN_BLOCK "%s", dev);
	const char *dst = oci_annotation(&p->cfg, key);
	if (dst != NULL) {
		for (size_t i = 0; i < p->cfg.n_mounts; i++)
			if (strcmp(p->cfg.mount_dst[i], dst) == 0) {
				snprintf(out, OCI_PATH_MAX, "%s", p->cfg.mount_src[i]);
				return 0;
			}
		return oci_seterr(err, ALB_ENOENT,
				  "annotation %s: no mount at %s", key, dst);
	}
	if (!only || oci_urunc_value(&p->cfg, "block", rel, sizeof(rel), NULL) != 0)
		return oci_seterr(err, ALB_ENOENT,
				  "block device %s has no file (annotation %s "
				  "naming a mount)", dev, key);
	int rootfd = open(p->cfg.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open rootfs: %s",
				  strerror(errno));
	int fd = open_in_root(rootfd, rel, O_RDWR, err);
	close(rootfd);
	if (fd < 0)
		return err != NULL ? err->code : ALB_ESYS;
	/* the path the kernel resolved, which stays inside the rootfs */
	char link[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, OCI_PATH_MAX - 1);
	close(fd);
	if (n <= 0 || n >= OCI_PATH_MAX - 1)
		return oci_seterr(err, ALB_ESYS, "cannot resolve %s", rel);
	out[n] = '\0';
	return 0;
}

static int prepare_blocks(struct prep *p, int dirfd, struct alb_error *err)
{
	const char *names[OCI_BLOCKS_MAX];
	size_t n = 0;
	for (size_t i = 0; p->has_notes && i < p->info.n_devices; i++) {
		if (p->info.devices[i].type != ALB_MFT_BLOCK_BASIC)
			continue;
		if (n >= OCI_BLOCKS_MAX)
			return oci_seterr(err, ALB_ETOOBIG,
					  "more than %d block devices", OCI_BLOCKS_MAX);
		names[n++] = p->info.devices[i].name;
	}
	if (n == 0)
		return 0;
	if (mkdirat(dirfd, "block", 0700) != 0)
		return oci_seterr(err, ALB_ESYS, "cannot make block/: %s",
				  strerror(errno));
	int bfd = openat(dirfd, "block", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (bfd < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open block/: %s",
				  strerror(errno));
	char path[ALB_NAME_BUF], file[ALB_NAME_BUF], src[OCI_PATH_MAX];
	alb_name_path(p->name, path);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		snprintf(p->blabel[i], sizeof(p->blabel[i]), "b%zu", i);
		rc = block_source(p, names[i], n == 1, src, err);
		if (rc == 0)
			rc = alb_name_make(path, p->blabel[i], file, err);
		/* the tender opens <dir>/block/<file>: a link to the file */
		if (rc == 0 && symlinkat(src, bfd, file) != 0)
			rc = oci_seterr(err, ALB_ESYS, "cannot link block %s: %s",
					names[i], strerror(errno));
		p->bdev[i].name = (struct alb_str){names[i], strlen(names[i])};
		p->bdev[i].device = (struct alb_str){p->blabel[i],
						     strlen(p->blabel[i])};
	}
	close(bfd);
	p->n_blocks = n;
	return rc;
}

/* The user's arguments: process.args, or urunc's cmdline annotation split
 * at white space (as urunc does). */
static int prepare_args(struct prep *p, struct alb_error *err)
{
	if (p->cfg.n_args > 0) {
		for (size_t i = 0; i < p->cfg.n_args; i++, p->n_argv++)
			p->argv[p->n_argv] = (struct alb_str){p->cfg.args[i],
							      strlen(p->cfg.args[i])};
		return 0;
	}
	char line[OCI_ANNOTATION_VALUE_MAX + 1];
	int rc = oci_urunc_value(&p->cfg, "cmdline", line, sizeof(line), err);
	if (rc == ALB_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	if ((p->cmdline = strdup(line)) == NULL)
		return oci_seterr(err, ALB_ENOMEM, "out of memory");
	char *save = NULL;
	for (char *w = strtok_r(p->cmdline, " \t\n", &save); w != NULL;
	     w = strtok_r(NULL, " \t\n", &save)) {
		if (p->n_argv >= NET_ARGS_MAX + OCI_ARGS_MAX)
			return oci_seterr(err, ALB_ETOOBIG,
					  "more than %d words in the command line",
					  OCI_ARGS_MAX);
		p->argv[p->n_argv++] = (struct alb_str){w, strlen(w)};
	}
	return 0;
}

static int build_argv(struct prep *p, struct alb_argv *out,
		      struct alb_error *err)
{
	const char *dbdir = getenv("ALB_OCI_DBDIR");
	if (dbdir == NULL || dbdir[0] == '\0')
		dbdir = OCI_DBDIR_DEFAULT;
	int rc = alb_tender_find(p->kind, p->has_notes ? p->info.abi_version : 0,
				 dbdir, p->tender, err);
	if (rc != 0)
		return rc;
	struct alb_unikernel_config k;
	memset(&k, 0, sizeof(k));
	k.memory = p->mem_mb;
	k.n_bridges = p->want_net ? 1 : 0;
	k.bridges = &p->ndev;
	k.n_blocks = p->n_blocks;
	k.blocks = p->bdev;
	k.has_argv = p->n_argv > 0;
	k.n_argv = p->n_argv;
	k.argv = p->argv;
	k.numcpus = 1;
	struct alb_tender_cmd cmd;
	memset(&cmd, 0, sizeof(cmd));
	cmd.kind = p->kind;
	cmd.tender = p->tender;
	cmd.name = p->name;
	cmd.config = &k;
	cmd.nets = &p->tnet;
	cmd.tmpdir = p->dir;
	cmd.dbdir = p->dir;
	cmd.accel = p->accel;
	return alb_tender_argv(&cmd, out, err);
}

static int write_pid_file(const char *path, pid_t pid, struct alb_error *err)
{
	char dir[OCI_PATH_MAX], text[32];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return oci_seterr(err, ALB_ETOOBIG, "pid file path too long");
	char *slash = strrchr(dir, '/');
	const char *base = path;
	if (slash != NULL) {
		*slash = '\0';
		base = slash + 1;
		if (dir[0] == '\0')
			strcpy(dir, "/");
	} else {
		strcpy(dir, ".");
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open %s: %s", dir,
				  strerror(errno));
	int n = snprintf(text, sizeof(text), "%d", (int)pid);
	int rc = oci_write_file(fd, base, text, (size_t)n, err);
	close(fd);
	return rc;
}

static void state_from(struct oci_state *s, const char *id, const char *bundle,
		       const struct prep *p)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	snprintf(s->bundle, sizeof(s->bundle), "%s", bundle);
	now_rfc3339(s->created, sizeof(s->created));
	s->kind = p->kind;
	snprintf(s->tap, sizeof(s->tap), "%s", p->tap);
	if (p->coupled)
		snprintf(s->veth, sizeof(s->veth), "%s", p->ip.ifname);
	if (p->cfg.netns == OCI_NETNS_PATH)
		snprintf(s->netns, sizeof(s->netns), "%s", p->cfg.netns_path);
	else if (p->cfg.netns == OCI_NETNS_NEW)
		snprintf(s->netns, sizeof(s->netns), NETNS_NEW);
	/* borrowed from the configuration for the write */
	s->n_ann = p->cfg.n_ann;
	memcpy(s->ann_key, p->cfg.ann_key, p->cfg.n_ann * sizeof(char *));
	memcpy(s->ann_value, p->cfg.ann_value, p->cfg.n_ann * sizeof(char *));
}

/* Reads urunc.json from the rootfs when there is one. */
static int read_urunc_json(struct oci_config *c, struct alb_error *err)
{
	int rootfd = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return oci_seterr(err, ALB_ESYS, "cannot open rootfs %s: %s",
				  c->rootfs, strerror(errno));
	char *text;
	size_t len;
	int rc = oci_read_file(rootfd, "urunc.json", OCI_URUNC_JSON_MAX, &text,
			       &len, err);
	close(rootfd);
	if (rc == ALB_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	rc = oci_config_urunc_json(text, len, c, err);
	free(text);
	return rc;
}

static int create(const struct oci_global *g, const char *id,
		  const struct oci_create_opts *o, int rootfd, int dirfd,
		  struct prep *p, struct alb_error *err)
{
	int rc = oci_config_load(o->bundle, &p->cfg, err);
	if (rc == 0)
		rc = read_urunc_json(&p->cfg, err);
	if (rc == 0 && snprintf(p->dir, sizeof(p->dir), "%s/%s", g->root, id) >=
			   (int)sizeof(p->dir))
		rc = oci_seterr(err, ALB_ETOOBIG, "--root is too long");
	if (rc == 0)
		rc = alb_name_parse(OCI_UK_NAME, strlen(OCI_UK_NAME), p->name, err);
	if (rc == 0)
		rc = prepare_image(p, dirfd, err);
	if (rc == 0)
		rc = prepare_resources(p, err);
	if (rc == 0 && p->cfg.terminal && o->console_socket == NULL)
		rc = oci_seterr(err, ALB_EINVAL,
				"process.terminal needs --console-socket");
	if (rc == 0)
		rc = prepare_net(p, err);
	struct oci_state s;
	state_from(&s, id, o->bundle, p);
	/* from here on a crash leaves a state that names the tap */
	if (rc == 0 && p->tap[0] != '\0')
		rc = oci_state_write(dirfd, &s, err);
	if (rc == 0)
		rc = prepare_blocks(p, dirfd, err);
	if (rc == 0)
		rc = prepare_args(p, err);
	struct alb_argv argv = {0};
	if (rc == 0)
		rc = build_argv(p, &argv, err);
	if (rc == 0 && mkfifoat(dirfd, OCI_START_FIFO, 0600) != 0)
		rc = oci_seterr(err, ALB_ESYS, "cannot make %s: %s",
				OCI_START_FIFO, strerror(errno));
	int console = -1;
	if (rc == 0 && p->cfg.terminal)
		rc = oci_console_setup(o->console_socket, &console, err);
	pid_t pid = -1;
	if (rc == 0) {
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			rc = oci_seterr(err, ALB_ESYS, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		struct oci_launch l = {.dirfd = dirfd, .console = console,
				       .kind = p->kind, .argv = &argv,
				       .n_cpus = p->cfg.n_cpus,
				       .cpus = p->cfg.cpus};
		close(rootfd);
		oci_launch_run(&l);
	}
	if (console >= 0)
		close(console);
	alb_argv_free(&argv);
	if (rc == 0) {
		s.pid = pid;
		s.pid_start = oci_pid_start(pid);
		if (s.pid_start < 0)
			rc = oci_seterr(err, ALB_ESYS,
					"the container's process ended at once");
	}
	if (rc == 0)
		rc = oci_state_write(dirfd, &s, err);
	if (rc == 0 && o->pid_file != NULL)
		rc = write_pid_file(o->pid_file, pid, err);
	if (rc != 0 && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return rc;
}

int oci_cmd_create(const struct oci_global *g, const char *id,
		   const struct oci_create_opts *o)
{
	struct alb_error err;
	if (!oci_id_valid(id))
		return oci_fail(g, "invalid container id \"%s\"", id);
	if (o->bundle == NULL)
		return oci_fail(g, "create: --bundle is required");
	int rootfd, dirfd;
	if (oci_root_open(g->root, &rootfd, &err) != 0)
		return oci_fail_err(g, "create", &err);
	if (oci_dir_make(rootfd, id, &dirfd, &err) != 0) {
		close(rootfd);
		return oci_fail_err(g, "create", &err);
	}
	struct prep p;
	memset(&p, 0, sizeof(p));
	int rc = create(g, id, o, rootfd, dirfd, &p, &err);
	if (rc != 0) {
		/* all or nothing: the tap (still in its namespace) and the
		 * directory go */
		if (p.tap[0] != '\0')
			oci_tap_teardown(p.tap, p.coupled ? p.ip.ifname : NULL, NULL);
		oci_dir_remove(rootfd, id, NULL);
	}
	prep_free(&p);
	close(dirfd);
	close(rootfd);
	return rc == 0 ? 0 : oci_fail_err(g, "create", &err);
}

/* Opens the container and reads its state. */
static int load(const struct oci_global *g, const char *id, int *rootfd,
		int *dirfd, struct oci_state *s, struct alb_error *err)
{
	*rootfd = *dirfd = -1;
	memset(s, 0, sizeof(*s));
	if (!oci_id_valid(id))
		return oci_seterr(err, ALB_EINVAL, "invalid container id \"%s\"", id);
	int rc = oci_root_open(g->root, rootfd, err);
	if (rc == 0)
		rc = oci_dir_open(*rootfd, id, dirfd, err);
	if (rc == 0)
		rc = oci_state_read(*dirfd, s, err);
	if (rc == ALB_ENOENT)
		oci_seterr(err, ALB_ENOENT, "container does not exist: %s", id);
	return rc;
}

static void unload(int rootfd, int dirfd, struct oci_state *s)
{
	if (dirfd >= 0)
		close(dirfd);
	if (rootfd >= 0)
		close(rootfd);
	oci_state_free(s);
}

int oci_cmd_start(const struct oci_global *g, const char *id)
{
	struct alb_error err;
	struct oci_state s;
	int rootfd, dirfd;
	int rc = load(g, id, &rootfd, &dirfd, &s, &err);
	if (rc == 0) {
		enum oci_status st = oci_state_status(&s);
		if (st != OCI_CREATED)
			rc = oci_seterr(&err, ALB_EINVAL,
					"cannot start a container that is %s",
					oci_status_name(st));
	}
	if (rc == 0)
		rc = oci_launch_release(dirfd, s.pid, &err);
	if (rc == 0) {
		s.started = true;
		rc = oci_state_write(dirfd, &s, &err);
	}
	unload(rootfd, dirfd, &s);
	return rc == 0 ? 0 : oci_fail_err(g, "start", &err);
}

int oci_cmd_state(const struct oci_global *g, const char *id)
{
	struct alb_error err;
	struct oci_state s;
	int rootfd, dirfd;
	int rc = load(g, id, &rootfd, &dirfd, &s, &err);
	if (rc == 0) {
		enum oci_status st = oci_state_status(&s);
		printf("{\"ociVersion\":\"1.0.2\",\"id\":");
		oj_write_cstr(stdout, s.id);
		printf(",\"pid\":%d,\"status\":\"%s\",\"bundle\":",
		       st == OCI_STOPPED ? 0 : (int)s.pid, oci_status_name(st));
		oj_write_cstr(stdout, s.bundle);
		printf(",\"rootfs\":");
		char rootfs[OCI_PATH_MAX + 8];
		snprintf(rootfs, sizeof(rootfs), "%s/rootfs", s.bundle);
		oj_write_cstr(stdout, rootfs);
		printf(",\"created\":");
		oj_write_cstr(stdout, s.created);
		printf(",\"owner\":\"\",\"annotations\":{");
		for (size_t i = 0; i < s.n_ann; i++) {
			printf(i > 0 ? "," : "");
			oj_write_cstr(stdout, s.ann_key[i]);
			putchar(':');
			oj_write_cstr(stdout, s.ann_value[i]);
		}
		printf("}}\n");
	}
	unload(rootfd, dirfd, &s);
	return rc == 0 ? 0 : oci_fail_err(g, "state", &err);
}

int oci_cmd_kill(const struct oci_global *g, const char *id, int sig)
{
	struct alb_error err;
	struct oci_state s;
	int rootfd, dirfd;
	int rc = load(g, id, &rootfd, &dirfd, &s, &err);
	if (rc == 0 && oci_state_status(&s) == OCI_STOPPED)
		rc = oci_seterr(&err, ALB_ENOENT, "container not running");
	if (rc == 0 && kill(s.pid, sig) != 0)
		rc = oci_seterr(&err, ALB_ESYS, errno == ESRCH
						    ? "container not running"
						    : "kill: %s",
				strerror(errno));
	unload(rootfd, dirfd, &s);
	return rc == 0 ? 0 : oci_fail_err(g, "kill", &err);
}

/* Kills the container's process and waits until it is gone (a zombie
 * that the shim has yet to reap counts as gone). */
static int kill_and_wait(const struct oci_state *s, struct alb_error *err)
{
	if (kill(s->pid, SIGKILL) != 0 && errno != ESRCH)
		return oci_seterr(err, ALB_ESYS, "kill: %s", strerror(errno));
	for (int waited = 0; oci_state_status(s) != OCI_STOPPED;
	     waited += KILL_POLL_MS) {
		if (waited >= OCI_KILL_TIMEOUT_MS)
			return oci_seterr(err, ALB_EBUSY,
					  "process %d did not die", (int)s->pid);
		struct timespec ts = {0, KILL_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	return 0;
}

static int cleanup_net(const struct oci_state *s, struct alb_error *err)
{
	if (s->tap[0] == '\0' || strcmp(s->netns, NETNS_NEW) == 0)
		return 0; /* a private namespace went with the process */
	if (s->netns[0] != '\0') {
		int rc = oci_netns_enter(s->netns, err);
		if (rc == ALB_ENOENT)
			return 0; /* gone, and the tap with it */
		if (rc != 0)
			return rc;
	}
	return oci_tap_teardown(s->tap, s->veth, err);
}

int oci_cmd_delete(const struct oci_global *g, const char *id, bool force)
{
	struct alb_error err;
	struct oci_state s;
	int rootfd, dirfd;
	int rc = load(g, id, &rootfd, &dirfd, &s, &err);
	if (rc != 0 && force && rootfd >= 0 &&
	    (rc == ALB_ENOENT || rc == ALB_EPARSE)) {
		/* like runc: --force removes what is left of a container that
		 * never got (or lost) its state */
		rc = oci_dir_remove(rootfd, id, &err);
		unload(rootfd, dirfd, &s);
		return rc == 0 ? 0 : oci_fail_err(g, "delete", &err);
	}
	if (rc == 0) {
		enum oci_status st = oci_state_status(&s);
		if (st == OCI_RUNNING && !force)
			rc = oci_seterr(&err, ALB_EBUSY,
					"cannot delete container %s that is not "
					"stopped: running", id);
		else if (st != OCI_STOPPED)
			rc = kill_and_wait(&s, &err);
	}
	if (rc == 0)
		rc = cleanup_net(&s, &err);
	if (rc == 0)
		rc = oci_dir_remove(rootfd, id, &err);
	unload(rootfd, dirfd, &s);
	return rc == 0 ? 0 : oci_fail_err(g, "delete", &err);
}

/* The children of pid (QEMU under its waiter). */
static size_t children(pid_t pid, pid_t *out, size_t max)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	FILE *f = fopen(path, "re");
	size_t n = 0;
	if (f == NULL)
		return 0;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		char *save = NULL;
		for (char *w = strtok_r(buf, " \n", &save); w != NULL && n < max;
		     w = strtok_r(NULL, " \n", &save))
			out[n++] = (pid_t)atoi(w);
	}
	fclose(f);
	return n;
}

int oci_cmd_ps(const struct oci_global *g, const char *id, bool json)
{
	struct alb_error err;
	struct oci_state s;
	int rootfd, dirfd;
	int rc = load(g, id, &rootfd, &dirfd, &s, &err);
	if (rc == 0) {
		pid_t pids[8];
		size_t n = 0;
		if (oci_state_status(&s) != OCI_STOPPED) {
			pids[n++] = s.pid;
			n += children(s.pid, pids + 1, 7);
		}
		if (json) {
			putchar('[');
			for (size_t i = 0; i < n; i++)
				printf("%s%d", i ? "," : "", (int)pids[i]);
			printf("]\n");
		} else {
			printf("PID\n");
			for (size_t i = 0; i < n; i++)
				printf("%d\n", (int)pids[i]);
		}
	}
	unload(rootfd, dirfd, &s);
	return rc == 0 ? 0 : oci_fail_err(g, "ps", &err);
}
