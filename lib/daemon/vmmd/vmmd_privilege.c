/* libalbatross — vmmd: tenders without root and albd's directories.
 *
 * With a tender uid range (alb_vmmd_config.tender_uid_first/count), each
 * tender takes a uid of its own from a pool, is given the group of
 * /dev/kvm and no capability (alb_spawn_creds); its taps are made for
 * that uid, its image is written for it, and each of its block files is
 * given to it (owner uid, mode 0600) while it runs and taken back once it
 * has been reaped: a tender can open nothing of another unikernel. After
 * a crash of albd the adopted tenders keep their uids, and block files
 * that a tender uid still holds without a tender are taken back.
 *
 * Directories: albd refuses a tmpdir or dbdir (or a directory it uses in
 * them) that is not its own or that its group or others may write.
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmmd_internal.h"

#define KVM_DEVICE "/dev/kvm"
#define TUN_DEVICE "/dev/net/tun"

/* ---- the pool ----------------------------------------------------------- */

int uids_init(struct alb_vmmd *v, uint32_t first, uint32_t count,
	      struct alb_error *err)
{
	struct uid_pool *p = &v->uids;
	if (count == 0)
		return 0;
	if (first == 0)
		return alb_fail(err, ALB_EINVAL,
				"tender uids %lu:%lu: the first uid may not be 0 "
				"(root)", (unsigned long)first,
				(unsigned long)count);
	if (count > ALB_VMMD_TENDER_UIDS_MAX)
		return alb_fail(err, ALB_EINVAL,
				"tender uids %lu:%lu: at most %u uids",
				(unsigned long)first, (unsigned long)count,
				ALB_VMMD_TENDER_UIDS_MAX);
	if ((uint64_t)first + count - 1 > ALB_VMMD_TENDER_UID_MAX)
		return alb_fail(err, ALB_EINVAL,
				"tender uids %lu:%lu: the last uid may be at most "
				"%lu", (unsigned long)first, (unsigned long)count,
				(unsigned long)ALB_VMMD_TENDER_UID_MAX);
	p->bits = calloc((count + 63) / 64, sizeof(*p->bits));
	if (p->bits == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	p->first = first;
	p->count = count;
	return 0;
}

void uids_free(struct alb_vmmd *v)
{
	free(v->uids.bits);
	v->uids.bits = NULL;
}

bool uid_in_range(const struct alb_vmmd *v, uint32_t uid)
{
	const struct uid_pool *p = &v->uids;
	return p->count > 0 && uid >= p->first && uid - p->first < p->count;
}

static bool uid_used(const struct uid_pool *p, uint32_t i)
{
	return (p->bits[i / 64] >> (i % 64)) & 1;
}

int uid_take(struct alb_vmmd *v, uint32_t *uid, struct alb_error *err)
{
	struct uid_pool *p = &v->uids;
	*uid = 0;
	if (p->count == 0)
		return 0;
	if (p->used == p->count)
		return alb_fail(err, ALB_EBUSY,
				"no free tender uid: all %lu of %lu..%lu run a "
				"tender", (unsigned long)p->count,
				(unsigned long)p->first,
				(unsigned long)(p->first + p->count - 1));
	/* round-robin from the last one taken: a uid just freed is reused
	 * last, so that whatever the kernel still holds of a reaped tender
	 * has gone */
	for (uint32_t k = 0; k < p->count; k++) {
		uint32_t i = (p->next + k) % p->count;
		if (!uid_used(p, i)) {
			p->bits[i / 64] |= (uint64_t)1 << (i % 64);
			p->used++;
			p->next = (i + 1) % p->count;
			*uid = p->first + i;
			return 0;
		}
	}
	return alb_fail(err, ALB_EBUSY, "no free tender uid");
}

bool uid_mark(struct alb_vmmd *v, uint32_t uid)
{
	struct uid_pool *p = &v->uids;
	if (!uid_in_range(v, uid) || uid_used(p, uid - p->first))
		return false;
	uint32_t i = uid - p->first;
	p->bits[i / 64] |= (uint64_t)1 << (i % 64);
	p->used++;
	return true;
}

void uid_put(struct alb_vmmd *v, uint32_t uid)
{
	struct uid_pool *p = &v->uids;
	if (!uid_in_range(v, uid) || !uid_used(p, uid - p->first))
		return;
	uint32_t i = uid - p->first;
	p->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
	p->used--;
}

void uid_creds(const struct alb_vmmd *v, uint32_t uid,
	       struct alb_spawn_creds *c)
{
	memset(c, 0, sizeof(*c));
	c->uid = uid;
	c->gid = uid;
	c->n_groups = v->kvm_gid != 0 ? 1 : 0;
	c->groups = &v->kvm_gid;
}

/* ---- block files ------------------------------------------------------- */

/* The file name of block device d of unikernel name: <path>:<device or
 * name>, as the tender's command line names it. */
static int block_name(const char *name, const struct alb_block_dev *d,
		      char out[ALB_NAME_BUF], struct alb_error *err)
{
	const struct alb_str *dev = d->device.ptr != NULL ? &d->device : &d->name;
	char label[ALB_LABEL_MAX + 1];
	if (dev->ptr == NULL || !alb_label_valid(dev->ptr, dev->len))
		return alb_fail(err, ALB_EINVAL, "invalid block device name");
	memcpy(label, dev->ptr, dev->len);
	label[dev->len] = '\0';
	char path[ALB_NAME_BUF];
	alb_name_path(name, path);
	return alb_name_make(path, label, out, err);
}

/* chmod of the file that the O_PATH descriptor fd refers to (fchmod
 * refuses O_PATH descriptors; the magic link is the file itself). */
static int chmod_path_fd(int fd, mode_t mode)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return chmod(path, mode);
}

/* Gives the block file of the O_PATH descriptor fd to uid (and gid uid),
 * or with uid 0 takes it back for albd. The mode is set while albd owns
 * the file, so that CAP_CHOWN is enough (no CAP_FOWNER). */
static int chown_block(int fd, uint32_t uid, const char *file,
		       struct alb_error *err)
{
	uid_t o = uid != 0 ? (uid_t)uid : geteuid();
	gid_t g = uid != 0 ? (gid_t)uid : getegid();
	if (uid == 0 && fchownat(fd, "", o, g, AT_EMPTY_PATH) != 0)
		return alb_fail_sys(err, "block device %s: cannot take it back",
				    file);
	if (chmod_path_fd(fd, 0600) != 0)
		return alb_fail_sys(err, "block device %s: chmod", file);
	if (uid != 0 && fchownat(fd, "", o, g, AT_EMPTY_PATH) != 0)
		return alb_fail_sys(err, "block device %s: cannot give it to "
				    "uid %lu", file, (unsigned long)uid);
	return 0;
}

/* Opens block file `file` of the block directory as an O_PATH descriptor
 * (albd may not read a file a tender uid owns, and needs not): a regular
 * file, not followed if it is a link. */
static int open_block(int dirfd, const char *file, struct alb_error *err)
{
	int fd = openat(dirfd, file, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return alb_fail_sys(err, "block device %s", file);
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return alb_fail(err, ALB_EINVAL,
				"block device %s is not a regular file", file);
	}
	return fd;
}

int blocks_give(struct alb_vmmd *v, const char *name,
		const struct alb_unikernel_config *cfg, uint32_t uid,
		struct given *g, struct alb_error *err)
{
	memset(g, 0, sizeof(*g));
	if (uid == 0 || cfg->n_blocks == 0)
		return 0;
	g->fds = malloc(cfg->n_blocks * sizeof(*g->fds));
	if (g->fds == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	int dirfd = v->block_fd;
	int rc = 0;
	for (size_t i = 0; i < cfg->n_blocks && rc == 0; i++) {
		char file[ALB_NAME_BUF];
		rc = block_name(name, &cfg->blocks[i], file, err);
		int fd = rc == 0 ? open_block(dirfd, file, err) : rc;
		if (fd < 0) {
			rc = fd;
			break;
		}
		rc = chown_block(fd, uid, file, err);
		if (rc != 0) {
			close(fd);
			break;
		}
		g->fds[g->n++] = fd;
	}
	if (rc != 0)
		blocks_take_back(g);
	return rc;
}

void blocks_take_back(struct given *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct alb_error err = {0};
		if (chown_block(g->fds[i], 0, "(in use)", &err) != 0)
			alb_log_error("vmmd: %s", err.msg);
		close(g->fds[i]);
	}
	free(g->fds);
	memset(g, 0, sizeof(*g));
}

void blocks_take_back_stray(struct alb_vmmd *v)
{
	if (v->uids.count == 0)
		return;
	/* a descriptor of its own: closedir() closes it */
	int dirfd = openat(v->block_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dirfd >= 0 ? fdopendir(dirfd) : NULL;
	if (d == NULL) {
		if (dirfd >= 0)
			close(dirfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (e->d_name[0] == '.' ||
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || !uid_in_range(v, (uint32_t)st.st_uid) ||
		    uid_used(&v->uids, (uint32_t)st.st_uid - v->uids.first))
			continue;
		struct alb_error err = {0};
		int fd = open_block(dirfd, e->d_name, &err);
		if (fd >= 0) {
			if (chown_block(fd, 0, e->d_name, &err) == 0)
				alb_log_info("vmmd: block device %s taken back from "
					     "uid %lu, whose tender is gone",
					     e->d_name, (unsigned long)st.st_uid);
			close(fd);
		}
		if (err.msg[0] != '\0')
			alb_log_error("vmmd: %s", err.msg);
	}
	closedir(d);
}

uint32_t proc_uid(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	const char *l = strstr(buf, "\nUid:");
	if (l == NULL)
		return 0;
	char *end;
	unsigned long uid = strtoul(l + 5, &end, 10);
	return end != l + 5 && uid <= UINT32_MAX ? (uint32_t)uid : 0;
}

int blocks_adopt(struct alb_vmmd *v, struct uk *u, uint32_t uid)
{
	int rc = 0;
	if (!uid_mark(v, uid)) {
		/* outside the range (another configuration before the crash)
		 * or twice: it keeps its files, the pool does not count it */
		alb_log_warn("vmmd: %s: its tender runs under uid %lu, %s", u->name,
			     (unsigned long)uid,
			     uid_in_range(v, uid) ? "which another tender has"
						  : "outside the tender uid range");
		rc = ALB_EBUSY;
	} else {
		u->uid = uid;
	}
	/* the files it was given are its own still: reopened to be taken
	 * back at its exit */
	struct alb_error err = {0};
	memset(&u->given, 0, sizeof(u->given));
	const struct alb_unikernel_config *cfg = u->cfg;
	if (cfg == NULL || cfg->n_blocks == 0)
		return 0;
	u->given.fds = malloc(cfg->n_blocks * sizeof(int));
	int dirfd = v->block_fd;
	for (size_t i = 0; u->given.fds != NULL && i < cfg->n_blocks; i++) {
		char file[ALB_NAME_BUF];
		int fd = block_name(u->name, &cfg->blocks[i], file, &err) == 0
			     ? open_block(dirfd, file, &err)
			     : -1;
		if (fd >= 0)
			u->given.fds[u->given.n++] = fd;
	}
	return rc;
}

/* ---- at start ----------------------------------------------------------- */

/* The group that opens /dev/kvm: the device's own when its group may read
 * and write it, else the group named kvm; 0 when there is none. */
static uint32_t kvm_group(void)
{
	struct stat st;
	if (stat(KVM_DEVICE, &st) == 0 && st.st_gid != 0 &&
	    (st.st_mode & (S_IRGRP | S_IWGRP)) == (S_IRGRP | S_IWGRP))
		return (uint32_t)st.st_gid;
	char buf[4096];
	struct group gr, *res = NULL;
	if (getgrnam_r("kvm", &gr, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    res->gr_gid != 0)
		return (uint32_t)res->gr_gid;
	return 0;
}

/* What a tender uid cannot open on this host is said once at start. */
static void check_devices(struct alb_vmmd *v)
{
	struct stat st;
	if (stat(TUN_DEVICE, &st) == 0 &&
	    (st.st_mode & (S_IROTH | S_IWOTH)) != (S_IROTH | S_IWOTH))
		alb_log_warn("vmmd: tender uids: %s (mode %04o) is not open to "
			     "other users: tenders with network devices will "
			     "fail (chmod 0666 %s, the udev default)", TUN_DEVICE,
			     (unsigned)(st.st_mode & 07777), TUN_DEVICE);
	if (stat(KVM_DEVICE, &st) == 0 && v->kvm_gid == 0 &&
	    (st.st_mode & (S_IROTH | S_IWOTH)) != (S_IROTH | S_IWOTH))
		alb_log_warn("vmmd: tender uids: %s (mode %04o, group %lu) is not "
			     "open to a group: solo5-hvt and QEMU with KVM will "
			     "fail (chgrp kvm and chmod 0660 %s)", KVM_DEVICE,
			     (unsigned)(st.st_mode & 07777),
			     (unsigned long)st.st_gid, KVM_DEVICE);
}

/* Refuses path unless it is a directory of albd's own that neither its
 * group nor others may write; with tender uids, others get search
 * permission on it when `search` (a tender opens files in it by name). */
static int check_dir(const char *path, bool search, struct alb_error *err)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return alb_fail_sys(err, "open %s", path);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0)
		rc = alb_fail_sys(err, "stat %s", path);
	else if (st.st_uid != geteuid())
		rc = alb_fail(err, ALB_EPERM,
			      "refusing %s: owned by uid %lu, not by albd's "
			      "uid %lu (chown it)", path,
			      (unsigned long)st.st_uid,
			      (unsigned long)geteuid());
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		rc = alb_fail(err, ALB_EPERM,
			      "refusing %s: its group or others may write it "
			      "(mode %04o; chmod go-w %s)", path,
			      (unsigned)(st.st_mode & 07777), path);
	else if (search && !(st.st_mode & S_IXOTH)) {
		if (fchmod(fd, (st.st_mode & 07777) | S_IXOTH) != 0)
			rc = alb_fail_sys(err, "chmod o+x %s", path);
		else
			alb_log_info("vmmd: %s: search permission for others "
				     "(o+x), for the tender uids", path);
	}
	close(fd);
	return rc;
}

int dirs_check(struct alb_vmmd *v, struct alb_error *err)
{
	bool uids = v->uids.count > 0;
	struct {
		const char *path;
		bool search;
	} dirs[] = {{v->tmpdir, uids},  {v->util_dir, false},
		    {v->fifo_dir, false}, {v->run_dir, false},
		    {v->dbdir, uids},   {v->block_dir, uids}};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		int rc = check_dir(dirs[i].path, dirs[i].search, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void uids_start(struct alb_vmmd *v)
{
	if (v->uids.count == 0) {
		alb_log_warn("vmmd: tenders run as this daemon's user, with its "
			     "capabilities (no tender uid range configured)");
		return;
	}
	v->kvm_gid = kvm_group();
	alb_log_info("vmmd: tenders run under uids %lu..%lu, with group %lu for "
		     "%s", (unsigned long)v->uids.first,
		     (unsigned long)(v->uids.first + v->uids.count - 1),
		     (unsigned long)v->kvm_gid, KVM_DEVICE);
	check_devices(v);
}
