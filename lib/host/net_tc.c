/* libalbatross — traffic redirects between two interfaces (tc: an ingress
 * qdisc, a u32 filter matching every frame, a mirred egress redirect), the
 * way urunc couples a unikernel's tap to a container's veth.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>

#include "base/internal.h"
#include "netlink.h"

#define WHAT_SIZE 96
/* Priority of the redirect filter (any will do: it is the only one). */
#define REDIRECT_PRIO 1

static int ingress_qdisc(struct alb_net *net, int ifindex, uint16_t type,
			 const char *what, struct alb_error *err)
{
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex,
			   .tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0),
			   .tcm_parent = TC_H_INGRESS};
	struct alb_nl_req r;
	alb_nl_req_init(&r, type,
			type == RTM_NEWQDISC ? NLM_F_CREATE | NLM_F_EXCL : 0,
			&tc, sizeof(tc));
	if (type == RTM_NEWQDISC)
		alb_nla_put_str(&r, TCA_KIND, "ingress");
	return alb_nl_talk(net, &r, NULL, NULL, what, err);
}

static int redirect_filter(struct alb_net *net, int from, int to,
			   const char *what, struct alb_error *err)
{
	struct tcmsg tc = {.tcm_family = AF_UNSPEC, .tcm_ifindex = from,
			   .tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0),
			   .tcm_info = TC_H_MAKE(REDIRECT_PRIO << 16,
						 htons(ETH_P_ALL))};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, &tc,
			sizeof(tc));
	alb_nla_put_str(&r, TCA_KIND, "u32");
	size_t opts = alb_nla_nest_begin(&r, TCA_OPTIONS);
	/* one key whose mask is 0 matches every frame; with an action the
	 * selector is terminal */
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} sel;
	memset(&sel, 0, sizeof(sel));
	sel.sel.flags = TC_U32_TERMINAL;
	sel.sel.nkeys = 1;
	alb_nla_put(&r, TCA_U32_SEL, &sel, sizeof(sel));
	size_t acts = alb_nla_nest_begin(&r, TCA_U32_ACT);
	size_t act = alb_nla_nest_begin(&r, 1);
	alb_nla_put_str(&r, TCA_ACT_KIND, "mirred");
	size_t aopts = alb_nla_nest_begin(&r, TCA_ACT_OPTIONS);
	struct tc_mirred m;
	memset(&m, 0, sizeof(m));
	m.action = TC_ACT_STOLEN;
	m.eaction = TCA_EGRESS_REDIR;
	m.ifindex = (uint32_t)to;
	alb_nla_put(&r, TCA_MIRRED_PARMS, &m, sizeof(m));
	alb_nla_nest_end(&r, aopts);
	alb_nla_nest_end(&r, act);
	alb_nla_nest_end(&r, acts);
	alb_nla_nest_end(&r, opts);
	return alb_nl_talk(net, &r, NULL, NULL, what, err);
}

static int redirect_add(struct alb_net *net, const char *from, const char *to,
			struct alb_error *err)
{
	int ifrom, ito;
	int rc = alb_nl_ifindex(net, from, &ifrom, err);
	if (rc == 0)
		rc = alb_nl_ifindex(net, to, &ito, err);
	if (rc != 0)
		return rc;
	char what[WHAT_SIZE];
	snprintf(what, sizeof(what), "cannot add an ingress qdisc to %s", from);
	rc = ingress_qdisc(net, ifrom, RTM_NEWQDISC, what, err);
	if (rc == ALB_ESYS && errno == EEXIST)
		return alb_fail(err, ALB_EEXIST,
				"interface %s already has an ingress qdisc", from);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "cannot redirect %s to %s", from, to);
	rc = redirect_filter(net, ifrom, ito, what, err);
	if (rc != 0) {
		int saved = errno;
		snprintf(what, sizeof(what), "cannot remove the ingress qdisc of %s",
			 from);
		ingress_qdisc(net, ifrom, RTM_DELQDISC, what, NULL);
		errno = saved;
	}
	return rc;
}

static bool name_ok(const char *s)
{
	return s != NULL && alb_ifname_valid(s, strnlen(s, ALB_IFNAME_SIZE));
}

static int no_such_interface(struct alb_error *err, const char *name)
{
	return alb_fail(err, ALB_ENOENT, "interface %s does not exist",
			name != NULL ? name : "(null)");
}

int alb_redirect_add(struct alb_net *net, const char *from, const char *to,
		     struct alb_error *err)
{
	if (!name_ok(from))
		return no_such_interface(err, from);
	if (!name_ok(to))
		return no_such_interface(err, to);
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc == 0)
		rc = redirect_add(net, from, to, err);
	alb_net_free(owned);
	return rc;
}

int alb_redirect_remove(struct alb_net *net, const char *ifname,
			struct alb_error *err)
{
	if (!name_ok(ifname))
		return no_such_interface(err, ifname);
	struct alb_net *owned;
	int rc = alb_net_acquire(&net, &owned, err);
	if (rc != 0)
		return rc;
	int index;
	rc = alb_nl_ifindex(net, ifname, &index, err);
	if (rc == 0) {
		char what[WHAT_SIZE];
		snprintf(what, sizeof(what),
			 "cannot remove the ingress qdisc of %s", ifname);
		rc = ingress_qdisc(net, index, RTM_DELQDISC, what, err);
		/* the kernel says EINVAL or ENOENT when there is none */
		if (rc == ALB_ESYS && (errno == EINVAL || errno == ENOENT))
			rc = alb_fail(err, ALB_ENOENT,
				      "interface %s has no ingress qdisc", ifname);
	}
	alb_net_free(owned);
	return rc;
}
