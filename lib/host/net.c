/* libalbatross — taps, bridges and interface counters through /dev/net/tun
 * and rtnetlink (spec §6.3 step 3, §6.5, §4.7, §8.3).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "base/internal.h"
#include "host/tap.h"
#include "netlink.h"

#define TUN_DEVICE "/dev/net/tun"

_Static_assert(ALB_IFNAME_SIZE == IFNAMSIZ, "interface names are IFNAMSIZ");

/* Room for an error context naming two interfaces. */
#define WHAT_SIZE 96

bool alb_ifname_valid(const char *s, size_t len)
{
	if (s == NULL || len == 0 || len >= ALB_IFNAME_SIZE)
		return false;
	if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* the kernel's isspace() also counts Latin-1 NBSP (0xa0) */
		if (c == 0 || c == '/' || c == ':' || c == ' ' ||
		    (c >= '\t' && c <= '\r') || c == 0xa0)
			return false;
	}
	return true;
}

static bool cname_valid(const char *s)
{
	return s != NULL && alb_ifname_valid(s, strnlen(s, ALB_IFNAME_SIZE));
}

bool alb_tap_name_index(const char *name, unsigned *index)
{
	const size_t plen = sizeof(ALB_TAP_PREFIX) - 1;
	if (name == NULL || strncmp(name, ALB_TAP_PREFIX, plen) != 0)
		return false;
	const char *d = name + plen;
	if (d[0] == '\0' || (d[0] == '0' && d[1] != '\0'))
		return false;
	unsigned long v = 0;
	for (; *d != '\0'; d++) {
		if (*d < '0' || *d > '9')
			return false;
		v = v * 10 + (unsigned long)(*d - '0');
		if (v > ALB_TAP_INDEX_MAX)
			return false;
	}
	if (index != NULL)
		*index = (unsigned)v;
	return true;
}

static int no_such_interface(struct alb_error *err, const char *name)
{
	return alb_fail(err, ALB_ENOENT, "interface %s does not exist",
			name != NULL ? name : "(null)");
}

/* ---- link queries ------------------------------------------------------ */

enum link_kind { KIND_OTHER, KIND_BRIDGE, KIND_TAP };

/* What one RTM_GETLINK learnt, copied out of the receive buffer (which the
 * closing ACK overwrites). */
struct link_snap {
	bool found;
	int ifindex;
	enum link_kind kind;
	struct alb_ifdata data;
};

static enum link_kind link_kind(const struct alb_link *l)
{
	if (l->kind == NULL)
		return KIND_OTHER;
	if (strcmp(l->kind, "bridge") == 0)
		return KIND_BRIDGE;
	/* a tun device in L3 mode is no tap; old kernels do not say */
	if (strcmp(l->kind, "tun") == 0 &&
	    (l->tun_type == 0 || l->tun_type == IFF_TAP))
		return KIND_TAP;
	return KIND_OTHER;
}

static int64_t clamp64(uint64_t v)
{
	return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Spec §8.3: the fields albatross-stats fills on Linux; the rest are 0. */
static void ifdata_from_link(const struct alb_link *l, struct alb_ifdata *d)
{
	struct alb_str keep = d->bridge;
	memset(d, 0, sizeof(*d));
	d->bridge = keep;
	d->flags = (int32_t)(l->flags & INT32_MAX);
	d->mtu = (int32_t)(l->mtu > INT32_MAX ? INT32_MAX : l->mtu);
	const struct rtnl_link_stats64 *s = &l->stats;
	d->input_packets = clamp64(s->rx_packets);
	d->input_errors = clamp64(s->rx_errors);
	d->output_packets = clamp64(s->tx_packets);
	d->output_errors = clamp64(s->tx_errors);
	d->collisions = clamp64(s->collisions);
	d->input_bytes = clamp64(s->rx_bytes);
	d->output_bytes = clamp64(s->tx_bytes);
	d->input_mcast = clamp64(s->multicast);
	d->input_dropped = clamp64(s->rx_dropped);
	d->output_dropped = clamp64(s->tx_dropped);
}

static int parse_or_fail(const struct nlmsghdr *h, struct alb_link *l,
			 struct alb_error *err)
{
	if (alb_link_parse(h, l) != 0)
		return alb_fail(err, ALB_EPROTO, "malformed netlink link message");
	return 0;
}

static int snap_cb(void *ctx, const struct nlmsghdr *h, struct alb_error *err)
{
	struct link_snap *snap = ctx;
	struct alb_link l;
	int rc = parse_or_fail(h, &l, err);
	if (rc != 0)
		return rc;
	snap->found = true;
	snap->ifindex = l.ifindex;
	snap->kind = link_kind(&l);
	ifdata_from_link(&l, &snap->data);
	return 0;
}

/* One RTM_GETLINK by name (ifindex 0) or by index; without statistics
 * unless asked. A missing interface is ALB_ENOENT with Albatross's text. */
static int get_link(struct alb_net *net, const char *name, int ifindex,
		    bool stats, struct link_snap *snap, struct alb_error *err)
{
	char label[ALB_IFNAME_SIZE + 16];
	if (name != NULL)
		snprintf(label, sizeof(label), "%s", name);
	else
		snprintf(label, sizeof(label), "#%d", ifindex);
	char what[WHAT_SIZE];
	snprintf(what, sizeof(what), "cannot read interface %s", label);

	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	if (name != NULL)
		alb_nla_put_str(&r, IFLA_IFNAME, name);
	if (!stats)
		alb_nla_put_u32(&r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(snap, 0, sizeof(*snap));
	int rc = alb_nl_talk(net, &r, snap_cb, snap, what, err);
	if (rc == ALB_ESYS && errno == ENODEV)
		return no_such_interface(err, label);
	if (rc == 0 && !snap->found)
		return alb_fail(err, ALB_EPROTO, "%s: no answer", what);
	return rc;
}

/* Starts a dump of all links (optionally only those of one kind). */
static void dump_req(struct alb_nl_req *r, bool stats, const char *kind)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
	alb_nl_req_init(r, RTM_GETLINK, NLM_F_DUMP, &ifi, sizeof(ifi));
	if (!stats)
		alb_nla_put_u32(r, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	if (kind != NULL) {
		/* a kernel-side filter (Linux >= 4.20); callers filter too */
		size_t nest = alb_nla_nest_begin(r, IFLA_LINKINFO);
		alb_nla_put_str(r, IFLA_INFO_KIND, kind);
		alb_nla_nest_end(r, nest);
	}
}

static int del_link(struct alb_net *net, const char *name, int ifindex,
		    const char *what, struct alb_error *err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
	if (name != NULL)
		alb_nla_put_str(&r, IFLA_IFNAME, name);
	return alb_nl_talk(net, &r, NULL, NULL, what, err);
}

/* ---- taps -------------------------------------------------------------- */

/* By an ioctl on the netlink socket (any socket answers SIOCGIFINDEX):
 * much cheaper than an RTM_GETLINK, whose answer is the link's whole
 * description. */
int alb_nl_ifindex(struct alb_net *net, const char *name, int *index,
		   struct alb_error *err)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(net->fd, SIOCGIFINDEX, &ifr) < 0) {
		if (errno == ENODEV)
			return no_such_interface(err, name);
		return alb_fail_sys(err, "cannot look up interface %s", name);
	}
	*index = ifr.ifr_ifindex;
	return 0;
}

/* Where the search for a free vmmtapN starts, so that a host with a
 * thousand taps does not pay a thousand probes per tap: a process-wide
 * cache (documented in net.h), one number per network namespace, keyed
 * by the (dev, ino) of /proc/thread-self/ns/net, for the last
 * ALB_TAP_HINT_NETNS_MAX namespaces used (the least recently used one is
 * forgotten; a namespace without an entry searches from 0). Every N below
 * `next` was taken when last looked at in that namespace: a create raises
 * it past the name it took, a deletion of a vmmtapN made here lowers it.
 * Only a name freed behind our back (another program deleting a tap)
 * stays unseen until a name below it is freed here, or every name from
 * `next` up is taken, which starts the search over from 0. The lock also
 * makes the probes of concurrent creates one after the other. */
struct tap_hint_entry {
	dev_t dev;
	ino_t ino;
	unsigned next;
	uint64_t used; /* tap_hints.clock at the last use; 0: empty slot */
};

static struct {
	pthread_mutex_t lock;
	uint64_t clock;
	struct tap_hint_entry e[ALB_TAP_HINT_NETNS_MAX];
} tap_hints = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The calling thread's network namespace; false when /proc cannot say
 * (then no hint is used). */
static bool netns_id(dev_t *dev, ino_t *ino)
{
	struct stat st;
	if (stat("/proc/thread-self/ns/net", &st) != 0)
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

/* The entry of namespace (dev, ino), or NULL; under tap_hints.lock. */
static struct tap_hint_entry *tap_hint_find(dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < ALB_TAP_HINT_NETNS_MAX; i++) {
		struct tap_hint_entry *e = &tap_hints.e[i];
		if (e->used != 0 && e->dev == dev && e->ino == ino) {
			e->used = ++tap_hints.clock;
			return e;
		}
	}
	return NULL;
}

/* Records `next` for namespace (dev, ino), taking the least recently used
 * slot when it has none; under tap_hints.lock. */
static void tap_hint_set(dev_t dev, ino_t ino, unsigned next)
{
	struct tap_hint_entry *e = tap_hint_find(dev, ino);
	if (e == NULL) {
		e = &tap_hints.e[0];
		for (size_t i = 1; i < ALB_TAP_HINT_NETNS_MAX; i++)
			if (tap_hints.e[i].used < e->used)
				e = &tap_hints.e[i];
		e->dev = dev;
		e->ino = ino;
		e->used = ++tap_hints.clock;
	}
	e->next = next;
}

/* The name vmmtapN may be free now: the next search in this namespace
 * starts at N at the latest. */
static void tap_hint_lower(const char *name)
{
	unsigned n;
	dev_t dev = 0;
	ino_t ino = 0;
	if (!alb_tap_name_index(name, &n) || !netns_id(&dev, &ino))
		return;
	pthread_mutex_lock(&tap_hints.lock);
	struct tap_hint_entry *e = tap_hint_find(dev, ino);
	if (e != NULL && n < e->next)
		e->next = n;
	pthread_mutex_unlock(&tap_hints.lock);
}

/* Attaches fd to a new tap vmmtapN with the lowest N from `from` up that
 * no interface is named after, and writes its name (or ALB_ETOOBIG). The
 * tap is not persistent yet: it vanishes with fd. Each attempt is atomic:
 * with IFF_TUN_EXCL, TUNSETIFF fails (EBUSY) when any interface has the
 * name, instead of attaching to someone else's tap. A taken name costs one
 * failed ioctl (≈0.7 µs), far less than listing the links. */
static int tun_probe(int fd, unsigned from, char name[ALB_IFNAME_SIZE],
		     struct alb_error *err)
{
	for (unsigned n = from;; n++) {
		if (n > ALB_TAP_INDEX_MAX)
			return alb_fail(err, ALB_ETOOBIG,
					"no free tap name up to " ALB_TAP_PREFIX "%u",
					ALB_TAP_INDEX_MAX);
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), ALB_TAP_PREFIX "%u", n);
		ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
		if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
			memcpy(name, ifr.ifr_name, ALB_IFNAME_SIZE);
			return 0;
		}
		if (errno != EBUSY)
			return alb_fail_sys(err, "cannot create tap %s", ifr.ifr_name);
	}
}

/* The lowest free vmmtapN, searched from the hint (see tap_hints), made
 * persistent once claim (if any) has accepted its name: until then the
 * tap exists only as long as this process does. Before that it is given
 * to owner (unless -1) while our fd holds it: a tap without an owner may
 * be opened by any process that can open TUN_DEVICE, and between our close
 * and a later TUNSETOWNER another one could take it. */
static int tun_make(char name[ALB_IFNAME_SIZE], int64_t owner,
		    alb_tap_claim_fn claim, void *ctx, struct alb_error *err)
{
	int fd = open(TUN_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return alb_fail_sys(err, "cannot open " TUN_DEVICE);
	dev_t dev = 0;
	ino_t ino = 0;
	bool known = netns_id(&dev, &ino);
	pthread_mutex_lock(&tap_hints.lock);
	struct tap_hint_entry *e = known ? tap_hint_find(dev, ino) : NULL;
	unsigned from = e != NULL ? e->next : 0;
	int rc = tun_probe(fd, from, name, err);
	/* names freed behind our back are below the hint: look there too
	 * before saying that none is left */
	if (rc == ALB_ETOOBIG && from > 0)
		rc = tun_probe(fd, 0, name, err);
	if (rc == 0 && known) {
		unsigned n = 0;
		alb_tap_name_index(name, &n);
		tap_hint_set(dev, ino, n + 1);
	}
	pthread_mutex_unlock(&tap_hints.lock);
	/* the name is ours while fd holds it: the claim runs unlocked */
	if (rc == 0 && claim != NULL)
		rc = claim(ctx, name, err);
	if (rc == 0 && owner != -1 &&
	    ioctl(fd, TUNSETOWNER, (unsigned long)(uint32_t)owner) != 0)
		rc = alb_fail_sys(err, "cannot give tap %s to uid %lld", name,
				  (long long)owner);
	/* without persistence the tap vanishes with fd: nothing to undo */
	if (rc == 0 && ioctl(fd, TUNSETPERSIST, 1) < 0)
		rc = alb_fail_sys(err, "cannot make tap %s persistent", name);
	int saved = errno;
	close(fd);
	if (rc != 0 && name[0] != '\0')
		tap_hint_lower(name);
	errno = saved;
	return rc;
}

static int tap_up_attach(struct alb_net *net, const char *tap, int bridge_index,
			 const char *bridge, struct alb_error *err)
{
	char what[WHAT_SIZE];
	if (bridge != NULL)
		snprintf(what, sizeof(what), "cannot attach tap %s to %s", tap,
			 bridge);
	else
		snprintf(what, sizeof(what), "cannot bring tap %s up", tap);
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP,
				.ifi_change = IFF_UP};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_SETLINK, 0, &ifi, sizeof(ifi));
	alb_nla_put_str(&r, IFLA_IFNAME, tap);
	if (bridge != NULL)
		alb_nla_put_u32(&r, IFLA_MASTER, (uint32_t)bridge_index);
	return alb_nl_talk(net, &r, NULL, NULL, what, err);
}

static int tap_create(struct alb_net *net, const char *bridge, int64_t owner,
		      alb_tap_claim_fn claim, void *ctx,
		      char tap[ALB_IFNAME_SIZE], struct alb_error *err)
{
	int bridge_index = 0;
	int rc = bridge != NULL
		     ? alb_nl_ifindex(net, bridge, &bridge_index, err)
		     : 0;
	if (rc != 0)
		return rc;
	char name[ALB_IFNAME_SIZE] = "";
	rc = tun_make(name, owner, claim, ctx, err);
	if (rc != 0)
		return rc;
	rc = tap_up_attach(net, name, bridge_index, bridge, err);
	if (rc != 0) {
		int saved = errno;
		struct alb_error undo;
		char what[WHAT_SIZE];
		snprintf(what, sizeof(what), "cannot delete tap %s", name);
		if (del_link(net, name, 0, what, &undo) == 0)
			tap_hint_lower(name);
		else if (err != NULL) {
			size_t used = strlen(err->msg);
			snprintf(err->msg + used, sizeof(err->msg) - used,
				 ", and also %s while cleaning resources",
				 undo.msg);
		}
		errno = saved;
		return rc;
	}
	memcpy(tap, name, sizeof(name));
	return 0;
}

int alb_tap_create_claimed(struct alb_net *net, const char *bridge,
			   int64_t owner, alb_tap_claim_fn claim, void *ctx,
			   char tap[ALB_IFNAME_SIZE], struct alb_error *err)
{
	if (tap == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_tap_create: tap is NULL");
	if (owner < -1 || owner >= (int64_t)UINT32_MAX)
		return alb_fail(err, ALB_EINVAL, "invalid tap owner %lld",
				(long long)owner);
	if (bridge != NULL && !cname_valid(bridge))
		return no_such_interface(err, bridge);
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc == 0)
		rc = tap_create(net, bridge, owner, claim, ctx, tap, err);
	alb_net_free(owned);
	return rc;
}

int alb_tap_create(struct alb_net *net, const char *bridge,
		   char tap[ALB_IFNAME_SIZE], struct alb_error *err)
{
	return alb_tap_create_claimed(net, bridge, -1, NULL, NULL, tap, err);
}

int alb_tap_create_owned(struct alb_net *net, const char *bridge,
			 int64_t owner, char tap[ALB_IFNAME_SIZE],
			 struct alb_error *err)
{
	return alb_tap_create_claimed(net, bridge, owner, NULL, NULL, tap, err);
}

int alb_tap_destroy(struct alb_net *net, const char *tap,
		    struct alb_error *err)
{
	if (!cname_valid(tap))
		return no_such_interface(err, tap);
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	struct link_snap snap;
	rc = get_link(net, tap, 0, false, &snap, err);
	if (rc == 0 && snap.kind != KIND_TAP)
		rc = alb_fail(err, ALB_EINVAL, "interface %s is not a tap", tap);
	if (rc == 0) {
		char what[WHAT_SIZE];
		snprintf(what, sizeof(what), "cannot destroy tap %s", tap);
		/* by index: exactly the device just checked */
		rc = del_link(net, NULL, snap.ifindex, what, err);
	}
	if (rc == 0)
		tap_hint_lower(tap);
	alb_net_free(owned);
	return rc;
}

/* ---- taps in a batch ----------------------------------------------------- */

/* Device groups tried for a batch: a range no distribution assigns (group
 * 0 is every interface's default). */
#define TAP_GROUP_BASE 0x616c6200u /* "alb\0" */
#define TAP_GROUP_SPAN 0x100u

struct batch {
	const struct alb_ifname *taps;
	size_t n;
	size_t *order;     /* taps by name, for the lookups of the dump */
	int *index;        /* each tap's ifindex, 0 when not found */
	bool *not_tap;     /* found, but not a tap */
	bool used[TAP_GROUP_SPAN]; /* groups of the range in use */
};

static int by_tap_name(const void *a, const void *b, void *ctx)
{
	const struct alb_ifname *t = ctx;
	return strcmp(t[*(const size_t *)a].name, t[*(const size_t *)b].name);
}

static int batch_cb(void *ctx, const struct nlmsghdr *h, struct alb_error *err)
{
	struct batch *b = ctx;
	struct alb_link l;
	int rc = parse_or_fail(h, &l, err);
	if (rc != 0)
		return rc;
	if (l.group - TAP_GROUP_BASE < TAP_GROUP_SPAN)
		b->used[l.group - TAP_GROUP_BASE] = true;
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(b->taps[b->order[mid]].name, l.name);
		if (c == 0) {
			size_t i = b->order[mid];
			if (link_kind(&l) == KIND_TAP)
				b->index[i] = l.ifindex;
			else
				b->not_tap[i] = true;
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int set_group(struct alb_net *net, int ifindex, uint32_t group,
		     struct alb_error *err)
{
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	alb_nla_put_u32(&r, IFLA_GROUP, group);
	return alb_nl_talk(net, &r, NULL, NULL, "cannot group a tap", err);
}

/* The taps found, one at a time (a kernel that deletes no group). */
static int destroy_each(struct alb_net *net, const struct batch *b,
			struct alb_error *err)
{
	int rc = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->index[i] == 0)
			continue;
		char what[WHAT_SIZE];
		snprintf(what, sizeof(what), "cannot destroy tap %s", b->taps[i].name);
		int r = del_link(net, NULL, b->index[i], what, err);
		if (r != 0 && !(r == ALB_ESYS && errno == ENODEV) && rc == 0)
			rc = r;
	}
	return rc;
}

int alb_taps_destroy(struct alb_net *net, const struct alb_ifname *taps,
		     size_t n, struct alb_error *err)
{
	if (n == 0)
		return 0;
	if (taps == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_taps_destroy: no taps");
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	struct batch *b = calloc(1, sizeof(*b));
	if (b != NULL) {
		b->taps = taps;
		b->n = n;
		b->order = calloc(n, sizeof(*b->order));
		b->index = calloc(n, sizeof(*b->index));
		b->not_tap = calloc(n, sizeof(*b->not_tap));
	}
	if (b == NULL || b->order == NULL || b->index == NULL ||
	    b->not_tap == NULL) {
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		b->order[i] = i;
	qsort_r(b->order, n, sizeof(*b->order), by_tap_name, (void *)taps);
	/* one dump: which names are taps (and their indexes), which groups
	 * of the range are taken */
	struct alb_nl_req r;
	dump_req(&r, false, NULL);
	rc = alb_nl_talk(net, &r, batch_cb, b, "cannot list interfaces", err);
	if (rc != 0)
		goto out;
	uint32_t g = 0;
	for (uint32_t k = 0; k < TAP_GROUP_SPAN && g == 0; k++)
		if (!b->used[k])
			g = TAP_GROUP_BASE + k;
	size_t found = 0;
	for (size_t i = 0; i < n; i++)
		found += b->index[i] != 0;
	bool grouped = g != 0 && found > 1;
	for (size_t i = 0; grouped && i < n; i++) {
		if (b->index[i] == 0)
			continue;
		int sr = set_group(net, b->index[i], g, err);
		if (sr == ALB_ESYS && errno == ENODEV)
			b->index[i] = 0; /* gone meanwhile */
		else if (sr != 0)
			grouped = false;
	}
	if (grouped) {
		struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC};
		alb_nl_req_init(&r, RTM_DELLINK, 0, &ifi, sizeof(ifi));
		alb_nla_put_u32(&r, IFLA_GROUP, g);
		struct alb_error e = {0};
		if (alb_nl_talk(net, &r, NULL, NULL, "cannot destroy taps", &e) != 0)
			grouped = false;
	}
	/* what the group did not delete (or a kernel without group
	 * deletion): one at a time; the ones already gone are ENODEV */
	if (!grouped)
		rc = destroy_each(net, b, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (b->not_tap[i])
			rc = alb_fail(err, ALB_EINVAL, "interface %s is not a tap",
				      taps[i].name);
	}
	for (size_t i = 0; i < n; i++)
		if (b->index[i] != 0)
			tap_hint_lower(taps[i].name);
out:
	if (b != NULL) {
		free(b->order);
		free(b->index);
		free(b->not_tap);
	}
	free(b);
	alb_net_free(owned);
	return rc;
}

/* ---- bridges ----------------------------------------------------------- */

int alb_bridge_check(struct alb_net *net, const char *bridge,
		     struct alb_error *err)
{
	if (!cname_valid(bridge))
		return no_such_interface(err, bridge);
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	int index;
	rc = alb_nl_ifindex(net, bridge, &index, err);
	alb_net_free(owned);
	return rc;
}

struct bridge_list {
	struct alb_ifname *names;
	size_t n, cap;
};

static int list_cb(void *ctx, const struct nlmsghdr *h, struct alb_error *err)
{
	struct bridge_list *bl = ctx;
	struct alb_link l;
	int rc = parse_or_fail(h, &l, err);
	if (rc != 0 || link_kind(&l) != KIND_BRIDGE)
		return rc;
	/* grows with the host's bridges, which the kernel bounds */
	if (bl->n == bl->cap) {
		size_t cap = bl->cap == 0 ? 8 : bl->cap * 2;
		struct alb_ifname *p = realloc(bl->names, cap * sizeof(*p));
		if (p == NULL)
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		bl->names = p;
		bl->cap = cap;
	}
	snprintf(bl->names[bl->n].name, ALB_IFNAME_SIZE, "%s", l.name);
	bl->n++;
	return 0;
}

int alb_bridge_list(struct alb_net *net, struct alb_ifname **names, size_t *n,
		    struct alb_error *err)
{
	if (names == NULL || n == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_bridge_list: NULL output");
	*names = NULL;
	*n = 0;
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	struct bridge_list bl = {0};
	struct alb_nl_req r;
	dump_req(&r, false, "bridge");
	rc = alb_nl_talk(net, &r, list_cb, &bl, "cannot list bridges", err);
	alb_net_free(owned);
	if (rc != 0) {
		free(bl.names);
		return rc;
	}
	*names = bl.names;
	*n = bl.n;
	return 0;
}

int alb_bridge_create(struct alb_net *net, const char *name,
		      struct alb_error *err)
{
	if (!cname_valid(name))
		return alb_fail(err, ALB_EINVAL, "invalid interface name %s",
				name != NULL ? name : "(null)");
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	char what[WHAT_SIZE];
	snprintf(what, sizeof(what), "cannot create bridge %s", name);
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP,
				.ifi_change = IFF_UP};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi,
			sizeof(ifi));
	alb_nla_put_str(&r, IFLA_IFNAME, name);
	size_t nest = alb_nla_nest_begin(&r, IFLA_LINKINFO);
	alb_nla_put_str(&r, IFLA_INFO_KIND, "bridge");
	alb_nla_nest_end(&r, nest);
	rc = alb_nl_talk(net, &r, NULL, NULL, what, err);
	if (rc == ALB_ESYS && errno == EEXIST)
		rc = alb_fail(err, ALB_EEXIST, "interface %s already exists", name);
	alb_net_free(owned);
	return rc;
}

int alb_bridge_delete(struct alb_net *net, const char *name,
		      struct alb_error *err)
{
	if (!cname_valid(name))
		return no_such_interface(err, name);
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	struct link_snap snap;
	rc = get_link(net, name, 0, false, &snap, err);
	if (rc == 0 && snap.kind != KIND_BRIDGE)
		rc = alb_fail(err, ALB_EINVAL, "interface %s is not a bridge",
			      name);
	if (rc == 0) {
		char what[WHAT_SIZE];
		snprintf(what, sizeof(what), "cannot delete bridge %s", name);
		rc = del_link(net, NULL, snap.ifindex, what, err);
	}
	/* a bridge may bear a tap's name (vmmtapN) */
	if (rc == 0)
		tap_hint_lower(name);
	alb_net_free(owned);
	return rc;
}

/* ---- counters ---------------------------------------------------------- */

static int ifdata_get(struct alb_net *net, const char *ifname, int ifindex,
		      struct alb_ifdata *out, struct alb_error *err)
{
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	struct link_snap snap;
	rc = get_link(net, ifname, ifindex, true, &snap, err);
	if (rc == 0) {
		struct alb_str keep = out->bridge;
		*out = snap.data;
		out->bridge = keep;
	}
	alb_net_free(owned);
	return rc;
}

int alb_ifdata_get(struct alb_net *net, const char *ifname,
		   struct alb_ifdata *out, struct alb_error *err)
{
	if (out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_ifdata_get: out is NULL");
	if (!cname_valid(ifname))
		return no_such_interface(err, ifname);
	return ifdata_get(net, ifname, 0, out, err);
}

int alb_ifdata_get_index(struct alb_net *net, int ifindex,
			 struct alb_ifdata *out, struct alb_error *err)
{
	if (out == NULL || ifindex <= 0)
		return alb_fail(err, ALB_EINVAL,
				"alb_ifdata_get_index: bad arguments");
	return ifdata_get(net, NULL, ifindex, out, err);
}

struct dump_ctx {
	alb_ifdata_cb cb;
	void *ctx;
};

static int dump_cb(void *ctx, const struct nlmsghdr *h, struct alb_error *err)
{
	struct dump_ctx *d = ctx;
	struct alb_link l;
	int rc = parse_or_fail(h, &l, err);
	if (rc != 0)
		return rc;
	struct alb_ifdata data = {.bridge = {NULL, 0}};
	ifdata_from_link(&l, &data);
	return d->cb(d->ctx, l.ifindex, l.name, &data);
}

int alb_ifdata_dump(struct alb_net *net, alb_ifdata_cb cb, void *ctx,
		    struct alb_error *err)
{
	if (cb == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_ifdata_dump: cb is NULL");
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	struct dump_ctx d = {cb, ctx};
	struct alb_nl_req r;
	dump_req(&r, true, NULL);
	rc = alb_nl_talk(net, &r, dump_cb, &d, "cannot read interface counters",
			 err);
	alb_net_free(owned);
	return rc;
}
