/* libalbatross — host networking: taps, bridges, interface counters and
 * MAC derivation (spec §5.5, §6.5, §8.3). Linux only: everything goes
 * through /dev/net/tun ioctls and rtnetlink; no program is ever run.
 * SPDX-License-Identifier: ISC
 *
 * Functions that talk to the kernel take a struct alb_net handle (one
 * rtnetlink socket and its receive buffer). A handle must be used by one
 * thread at a time. Passing NULL instead opens a private socket for that
 * one call, which makes the call thread-safe: a daemon can run
 * alb_tap_destroy(NULL, ...) (≈20 ms in the kernel) on a worker thread,
 * e.g. the libuv threadpool, off its deploy path. The only state kept
 * between calls is the locked cache of tap-name hints (alb_tap_create()).
 * Every call blocks until the kernel has answered.
 *
 * Interface names are NUL-terminated C strings; use alb_ifname_valid() to
 * check a name taken from the wire (which may hold NUL bytes) first. */
#ifndef ALBATROSS_NET_H
#define ALBATROSS_NET_H

#include "albatross/common.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of a buffer holding any interface name with its NUL (IFNAMSIZ). */
#define ALB_IFNAME_SIZE 16
/** Prefix of the taps created here, as Albatross names them. */
#define ALB_TAP_PREFIX "vmmtap"
/** Largest N of a tap vmmtapN that alb_tap_create() hands out. */
#define ALB_TAP_INDEX_MAX 65535u
/** Network namespaces whose tap-name hint alb_tap_create() remembers (the
 * least recently used one is forgotten). */
#define ALB_TAP_HINT_NETNS_MAX 8
/** Size of a buffer holding a printed MAC address with its NUL. */
#define ALB_MAC_STR_SIZE 18

/** An rtnetlink handle (opaque). */
struct alb_net;

/** An interface name with its NUL, as an array element. Complete as it
 * is: no reserved tail (see common.h). */
struct alb_ifname {
	char name[ALB_IFNAME_SIZE];
};

/** Opens an rtnetlink socket into *out. Returns 0 or ALB_ESYS/ALB_ENOMEM.
 * The caller frees it with alb_net_free(). */
ALB_EXPORT int alb_net_new(struct alb_net **out, struct alb_error *err);

/** Closes and frees a handle; NULL is a no-op. */
ALB_EXPORT void alb_net_free(struct alb_net *net);

/** True when s[0..len) is a name the kernel accepts for an interface:
 * 1..15 bytes, not "." or "..", no '/', ':', NUL or white space. */
ALB_EXPORT bool alb_ifname_valid(const char *s, size_t len);

/** True when name is "vmmtap" followed by the canonical decimal form of a
 * number N <= ALB_TAP_INDEX_MAX (no sign, no leading zero); stores N in
 * *index (which may be NULL). */
ALB_EXPORT bool alb_tap_name_index(const char *name, unsigned *index);

/** Creates a persistent tap vmmtapN with the lowest N not used by any
 * interface, brings it up and attaches it to the existing interface
 * bridge (left unattached when bridge is NULL, e.g. for
 * alb_redirect_add()), all or nothing: on failure nothing is left behind.
 * The search starts at a hint past the names it found taken, lowered when
 * a vmmtapN is deleted through this library; a name that another program
 * frees below it is used again once a lower one is freed here or every
 * name above is taken. The hints are a process-wide cache behind a lock,
 * one per network namespace (of the calling thread) for the last
 * ALB_TAP_HINT_NETNS_MAX namespaces used: the only state this module
 * keeps between calls, and it only makes the search shorter. The tap has
 * no owner (any process that can open /dev/net/tun may open it by name,
 * as Solo5 does; see alb_tap_create_owned()). Writes the name to tap. Returns 0; ALB_ENOENT with
 * "interface <bridge> does not exist" when the bridge is missing;
 * ALB_ETOOBIG when every N up to ALB_TAP_INDEX_MAX is taken; ALB_ESYS. */
ALB_EXPORT int alb_tap_create(struct alb_net *net, const char *bridge,
			      char tap[ALB_IFNAME_SIZE], struct alb_error *err);

/** alb_tap_create() for a tap owned by uid owner (TUNSETOWNER, set while
 * the new tap is still held, before anyone else could open it): a
 * process whose effective uid is owner may open it by name (TUNSETIFF)
 * without CAP_NET_ADMIN, as a tender under a uid of its own does; no
 * other process may without CAP_NET_ADMIN (a tap without an owner may be
 * opened by anyone who can open /dev/net/tun). owner -1: no owner, as
 * alb_tap_create(). ALB_EINVAL for an owner outside -1..2^32-2. */
ALB_EXPORT int alb_tap_create_owned(struct alb_net *net, const char *bridge,
				    int64_t owner, char tap[ALB_IFNAME_SIZE],
				    struct alb_error *err);

/** Couples the interface from to the interface to: every frame arriving
 * on from is sent out of to (tc: an ingress qdisc on from, with a u32
 * filter that matches every frame and a mirred egress-redirect action),
 * the way urunc couples a unikernel's tap and a container's veth; call it
 * both ways for a two-way coupling. from must have no ingress qdisc yet
 * (ALB_EEXIST, "interface <from> already has an ingress qdisc"); on failure
 * nothing is left on from. Returns 0; ALB_ENOENT ("interface <x> does not
 * exist"); ALB_ESYS (e.g. a kernel without sch_ingress, cls_u32 or
 * act_mirred). */
ALB_EXPORT int alb_redirect_add(struct alb_net *net, const char *from,
				const char *to, struct alb_error *err);

/** Removes the ingress qdisc of ifname, and with it every redirect that
 * alb_redirect_add() put there. Returns 0; ALB_ENOENT when there is no
 * such interface or it has no ingress qdisc; ALB_ESYS. */
ALB_EXPORT int alb_redirect_remove(struct alb_net *net, const char *ifname,
				   struct alb_error *err);

/** Deletes the tap interface tap (which must be a tun/tap device, so that a
 * wrong name never removes a bridge or an uplink). Blocks while the kernel
 * unregisters it (≈20 ms). Returns 0; ALB_ENOENT ("interface <tap> does not
 * exist"); ALB_EINVAL when it is not a tap; ALB_ESYS. */
ALB_EXPORT int alb_tap_destroy(struct alb_net *net, const char *tap,
			       struct alb_error *err);

/** Deletes the taps taps[0..n) together: each (which must be a tun/tap
 * device; a missing one is skipped) is put in a device group that no other
 * interface of the network namespace has, and one RTM_DELLINK of that
 * group makes the kernel unregister them all in one batch, which costs
 * about what one tap costs alone instead of n times it. Where the kernel
 * refuses to delete a group, they are deleted one at a time. Returns 0;
 * ALB_EINVAL when a name is not a tap (that one is left, the others are
 * deleted); ALB_ESYS. */
ALB_EXPORT int alb_taps_destroy(struct alb_net *net,
				const struct alb_ifname *taps, size_t n,
				struct alb_error *err);

/** Checks that the interface bridge exists, as Albatross does before
 * creating taps (spec §6.3). Returns 0, or ALB_ENOENT with
 * "interface <bridge> does not exist"; ALB_ESYS. */
ALB_EXPORT int alb_bridge_check(struct alb_net *net, const char *bridge,
				struct alb_error *err);

/** Lists the host's bridges (interfaces of kind "bridge"; spec §4.7) in
 * the kernel's order (interface index order) into a malloc'd array *names of *n names, which the
 * caller frees with free() (NULL when there is none). Returns 0 or an
 * ALB_E* code. */
ALB_EXPORT int alb_bridge_list(struct alb_net *net,
			       struct alb_ifname **names, size_t *n,
			       struct alb_error *err);

/** Creates the bridge name and brings it up. Returns 0; ALB_EEXIST
 * ("interface <name> already exists"); ALB_EINVAL for an invalid name;
 * ALB_ESYS. */
ALB_EXPORT int alb_bridge_create(struct alb_net *net, const char *name,
				 struct alb_error *err);

/** Deletes the bridge name (its ports are released, not deleted). Returns
 * 0; ALB_ENOENT; ALB_EINVAL when name is not a bridge; ALB_ESYS. */
ALB_EXPORT int alb_bridge_delete(struct alb_net *net, const char *name,
				 struct alb_error *err);

/** Reads the counters of the interface ifname in one netlink round trip
 * into *out as albatross-stats reports them (spec §8.3): flags, mtu and
 * the 64-bit counters; the fields Linux has no source for are 0. On a tap,
 * input is what the unikernel sent. out->bridge is left as it was (it is
 * the caller's unikernel-side name). Returns 0, ALB_ENOENT, ALB_ESYS. */
ALB_EXPORT int alb_ifdata_get(struct alb_net *net, const char *ifname,
			      struct alb_ifdata *out, struct alb_error *err);

/** Like alb_ifdata_get() for the interface with index ifindex (> 0). */
ALB_EXPORT int alb_ifdata_get_index(struct alb_net *net, int ifindex,
				    struct alb_ifdata *out,
				    struct alb_error *err);

/** Called by alb_ifdata_dump() for each interface; ifname and d are valid
 * during the call only (d->bridge is empty). Return 0 to go on, or a
 * negative ALB_E* code to stop the dump with that code. */
typedef int (*alb_ifdata_cb)(void *ctx, int ifindex, const char *ifname,
			     const struct alb_ifdata *d);

/** Reads the counters of every interface in one netlink dump and calls
 * cb for each, for a stats collector sampling many taps at once. Returns
 * 0, the callback's code, or an ALB_E* code. */
ALB_EXPORT int alb_ifdata_dump(struct alb_net *net, alb_ifdata_cb cb,
			       void *ctx, struct alb_error *err);

/** Derives the MAC address Albatross gives a network device without one
 * (spec §5.5): 00:80:41 followed by the first three bytes of
 * MD5(netif ++ name), netif being the unikernel-side device name and name
 * the canonical name string ("foo:bar"). Returns 0 or ALB_ESYS when the
 * crypto library has no MD5. */
ALB_EXPORT int alb_mac_derive(struct alb_str netif, const char *name,
			      uint8_t mac[ALB_MAC_LEN], struct alb_error *err);

/** Prints mac as lowercase colon-separated hex ("00:80:41:9a:6f:39"). */
ALB_EXPORT void alb_mac_print(const uint8_t mac[ALB_MAC_LEN],
			      char out[ALB_MAC_STR_SIZE]);

/** Parses s[0..len), six two-digit hex bytes separated by ':' (either case),
 * into mac. Returns 0 or ALB_EPARSE ("invalid MAC address <s>"); mac is
 * written only on success. */
ALB_EXPORT int alb_mac_parse(const char *s, size_t len,
			     uint8_t mac[ALB_MAC_LEN], struct alb_error *err);

#ifdef __cplusplus
}
#endif
#endif
