/* alb-oci — networking inside the container's network namespace, as urunc
 * does it: the unikernel's tap and the namespace's veth (made by the CNI
 * plugin) are coupled both ways by tc redirects (library: alb_tap_create,
 * alb_redirect_add), and the veth's IPv4 address, prefix and gateway are
 * handed to the unikernel on its command line; the unikernel takes the
 * veth's MAC, so nothing outside the namespace sees a change.
 * SPDX-License-Identifier: ISC */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alb_oci.h"

/* Longest line of /proc/net/route looked at. */
#define ROUTE_LINE_MAX 512

int oci_netns_enter(const char *path, struct alb_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return oci_seterr(err, errno == ENOENT ? ALB_ENOENT : ALB_ESYS,
				  "cannot open network namespace %s: %s", path,
				  strerror(errno));
	int rc = setns(fd, CLONE_NEWNET);
	int e = errno;
	close(fd);
	if (rc != 0)
		return oci_seterr(err, ALB_ESYS,
				  "cannot enter network namespace %s: %s", path,
				  strerror(e));
	return 0;
}

/* The default gateway through ifname, from /proc/net/route (this
 * process's network namespace). */
static void default_gateway(const char *ifname, char out[16])
{
	out[0] = '\0';
	FILE *f = fopen("/proc/net/route", "re");
	if (f == NULL)
		return;
	char line[ROUTE_LINE_MAX];
	while (fgets(line, sizeof(line), f) != NULL) {
		char dev[ALB_IFNAME_SIZE + 1];
		unsigned dst, gw, flags;
		if (sscanf(line, "%16s %x %x %x", dev, &dst, &gw, &flags) != 4 ||
		    strcmp(dev, ifname) != 0 || dst != 0 || gw == 0)
			continue;
		struct in_addr a = {.s_addr = gw}; /* already network order */
		inet_ntop(AF_INET, &a, out, 16);
		break;
	}
	fclose(f);
}

static int mac_of(const char *ifname, uint8_t mac[ALB_MAC_LEN],
		  struct alb_error *err)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return oci_seterr(err, ALB_ESYS, "socket: %s", strerror(errno));
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int rc = ioctl(s, SIOCGIFHWADDR, &ifr);
	int e = errno;
	close(s);
	if (rc != 0)
		return oci_seterr(err, ALB_ESYS, "cannot read the MAC of %s: %s",
				  ifname, strerror(e));
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ALB_MAC_LEN);
	return 0;
}

static unsigned prefix_len(uint32_t mask_net)
{
	uint32_t m = ntohl(mask_net);
	unsigned n = 0;
	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return n;
}

int oci_veth_find(const char *wanted, struct oci_ipv4 *out,
		  struct alb_error *err)
{
	struct ifaddrs *all;
	if (getifaddrs(&all) != 0)
		return oci_seterr(err, ALB_ESYS, "getifaddrs: %s", strerror(errno));
	const struct ifaddrs *pick = NULL;
	size_t candidates = 0;
	for (const struct ifaddrs *i = all; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
		    (i->ifa_flags & IFF_LOOPBACK) ||
		    alb_tap_name_index(i->ifa_name, NULL))
			continue;
		if (wanted != NULL) {
			if (strcmp(i->ifa_name, wanted) == 0 && pick == NULL)
				pick = i;
			continue;
		}
		if (strcmp(i->ifa_name, "eth0") == 0) {
			pick = i;
			candidates = 1;
			break;
		}
		candidates++;
		pick = i;
	}
	int rc = 0;
	if (pick == NULL || (wanted == NULL && candidates != 1)) {
		rc = oci_seterr(err, ALB_ENOENT,
				pick == NULL ? "no interface with an IPv4 address%s%s"
					     : "more than one interface with an IPv4 "
					       "address%s%s (say which with the "
					       OCI_ANN_NETIF " annotation)",
				wanted ? " named " : "", wanted ? wanted : "");
	} else {
		memset(out, 0, sizeof(*out));
		snprintf(out->ifname, sizeof(out->ifname), "%s", pick->ifa_name);
		const struct sockaddr_in *a = (const void *)pick->ifa_addr;
		const struct sockaddr_in *m = (const void *)pick->ifa_netmask;
		inet_ntop(AF_INET, &a->sin_addr, out->addr, sizeof(out->addr));
		out->prefix = m != NULL ? prefix_len(m->sin_addr.s_addr) : 32;
		default_gateway(out->ifname, out->gateway);
		rc = mac_of(out->ifname, out->mac, err);
	}
	freeifaddrs(all);
	return rc;
}

int oci_tap_setup(const char *veth, char tap[ALB_IFNAME_SIZE],
		  struct alb_error *err)
{
	struct alb_net *net;
	int rc = alb_net_new(&net, err);
	if (rc != 0)
		return rc;
	rc = alb_tap_create(net, NULL, tap, err);
	if (rc == 0 && veth != NULL) {
		rc = alb_redirect_add(net, tap, veth, err);
		if (rc == 0 && (rc = alb_redirect_add(net, veth, tap, err)) != 0)
			alb_redirect_remove(net, tap, NULL);
		if (rc != 0)
			alb_tap_destroy(net, tap, NULL);
	}
	alb_net_free(net);
	return rc;
}

int oci_tap_teardown(const char *tap, const char *veth, struct alb_error *err)
{
	struct alb_net *net;
	int rc = alb_net_new(&net, err);
	if (rc != 0)
		return rc;
	if (veth != NULL && veth[0] != '\0') {
		rc = alb_redirect_remove(net, veth, err);
		if (rc == ALB_ENOENT)
			rc = 0;
	}
	if (rc == 0 && tap != NULL && tap[0] != '\0') {
		/* the tap's own qdisc goes with it */
		rc = alb_tap_destroy(net, tap, err);
		if (rc == ALB_ENOENT)
			rc = 0;
	}
	alb_net_free(net);
	return rc;
}
