/* libalbatross — rtnetlink plumbing: the socket handle, requests, reply
 * and attribute parsing, one request/reply exchange.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/internal.h"
#include "netlink.h"

/* Older kernel headers lack these; the values are ABI. */
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif

/* Linux errno values are below 4096 (MAX_ERRNO). */
#define ALB_NL_ERRNO_MAX 4095

static int open_socket(struct alb_error *err)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		alb_fail_sys(err, "cannot open a netlink socket");
		return -1;
	}
	/* Both are optional comforts (kernel error text, short error
	 * replies); kernels without them still work. */
	int one = 1;
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return fd;
}

int alb_net_new(struct alb_net **out, struct alb_error *err)
{
	if (out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_net_new: out is NULL");
	*out = NULL;
	struct alb_net *net = calloc(1, sizeof(*net));
	uint8_t *rbuf = malloc(ALB_NL_RECV_SIZE);
	if (net == NULL || rbuf == NULL) {
		free(net);
		free(rbuf);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	net->fd = open_socket(err);
	if (net->fd < 0) {
		free(net);
		free(rbuf);
		return ALB_ESYS;
	}
	net->rbuf = rbuf;
	*out = net;
	return 0;
}

void alb_net_free(struct alb_net *net)
{
	if (net == NULL)
		return;
	close(net->fd);
	free(net->rbuf);
	free(net);
}

int alb_net_acquire(struct alb_net **net, struct alb_net **owned,
		    struct alb_error *err)
{
	*owned = NULL;
	if (*net != NULL)
		return 0;
	int rc = alb_net_new(owned, err);
	if (rc == 0)
		*net = *owned;
	return rc;
}

/* After a broken exchange the kernel may still hold the rest of a dump for
 * this socket (and refuse a new dump meanwhile): start afresh. */
static void reset_socket(struct alb_net *net)
{
	int fd = open_socket(NULL);
	if (fd < 0)
		return; /* keep the old one; the next call reports any failure */
	close(net->fd);
	net->fd = fd;
}

/* ---- requests ------------------------------------------------------- */

/* Bytes of the body written so far. */
static size_t body_len(const struct alb_nl_req *r)
{
	return r->hdr.nlmsg_len - NLMSG_HDRLEN;
}

void alb_nl_req_init(struct alb_nl_req *r, uint16_t type, uint16_t flags,
		     const void *fam, size_t fam_len)
{
	memset(r, 0, sizeof(*r));
	r->hdr.nlmsg_len = NLMSG_HDRLEN;
	r->hdr.nlmsg_type = type;
	r->hdr.nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST);
	if (NLMSG_ALIGN(fam_len) > sizeof(r->body)) {
		r->overflow = true;
		return;
	}
	if (fam_len > 0)
		memcpy(r->body, fam, fam_len);
	r->hdr.nlmsg_len = (uint32_t)NLMSG_SPACE(fam_len);
}

void alb_nla_put(struct alb_nl_req *r, uint16_t type, const void *data,
		 size_t len)
{
	size_t off = body_len(r);
	size_t room = sizeof(r->body) - off;
	if (r->overflow || len > room || RTA_SPACE(len) > room) {
		r->overflow = true;
		return;
	}
	struct rtattr a = {.rta_len = (unsigned short)RTA_LENGTH(len),
			   .rta_type = type};
	memcpy(r->body + off, &a, sizeof(a));
	if (len > 0)
		memcpy(r->body + off + RTA_LENGTH(0), data, len);
	/* padding is already zero: the request was zeroed at init */
	r->hdr.nlmsg_len = (uint32_t)(NLMSG_HDRLEN + off + RTA_SPACE(len));
}

void alb_nla_put_u32(struct alb_nl_req *r, uint16_t type, uint32_t v)
{
	alb_nla_put(r, type, &v, sizeof(v));
}

void alb_nla_put_str(struct alb_nl_req *r, uint16_t type, const char *s)
{
	alb_nla_put(r, type, s, strlen(s) + 1);
}

size_t alb_nla_nest_begin(struct alb_nl_req *r, uint16_t type)
{
	size_t off = body_len(r);
	alb_nla_put(r, (uint16_t)(type | NLA_F_NESTED), NULL, 0);
	return off;
}

void alb_nla_nest_end(struct alb_nl_req *r, size_t off)
{
	if (r->overflow)
		return;
	unsigned short len = (unsigned short)(body_len(r) - off);
	memcpy(r->body + off + offsetof(struct rtattr, rta_len), &len,
	       sizeof(len));
}

/* ---- parsing -------------------------------------------------------- */

int alb_nla_parse(const uint8_t *p, size_t len, struct alb_nla *tb,
		  size_t tb_n)
{
	memset(tb, 0, tb_n * sizeof(*tb));
	while (len > 0) {
		struct rtattr a;
		if (len < sizeof(a))
			return ALB_EPROTO;
		memcpy(&a, p, sizeof(a));
		if (a.rta_len < sizeof(a) || a.rta_len > len)
			return ALB_EPROTO;
		size_t type = a.rta_type & NLA_TYPE_MASK;
		if (type < tb_n) {
			tb[type].data = p + RTA_LENGTH(0);
			tb[type].len = a.rta_len - RTA_LENGTH(0);
		}
		/* the last attribute may go without its padding */
		size_t step = RTA_ALIGN(a.rta_len);
		if (step > len)
			step = len;
		p += step;
		len -= step;
	}
	return 0;
}

int alb_nla_u32(const struct alb_nla *a, uint32_t *v)
{
	if (a->data == NULL || a->len != sizeof(*v))
		return ALB_EPROTO;
	memcpy(v, a->data, sizeof(*v));
	return 0;
}

const char *alb_nla_str(const struct alb_nla *a)
{
	if (a->data == NULL || a->len == 0 || memchr(a->data, 0, a->len) == NULL)
		return NULL;
	return (const char *)a->data;
}

const struct nlmsghdr *alb_nl_next(const uint8_t **p, size_t *len, bool *bad)
{
	*bad = false;
	if (*len == 0)
		return NULL;
	/* *p stays 4-byte aligned: buffers start aligned and steps are
	 * NLMSG_ALIGNed, except the last one, after which nothing is read */
	const struct nlmsghdr *h = (const struct nlmsghdr *)(const void *)*p;
	if (*len < sizeof(*h) || h->nlmsg_len < sizeof(*h) ||
	    h->nlmsg_len > *len) {
		*bad = true;
		return NULL;
	}
	size_t step = NLMSG_ALIGN(h->nlmsg_len);
	if (step > *len)
		step = *len;
	*p += step;
	*len -= step;
	return h;
}

/* IFLA_TUN_TYPE inside a tun device's IFLA_INFO_DATA (Linux >= 4.15). */
static int parse_tun_type(const struct alb_nla *data, uint8_t *type)
{
	if (data->data == NULL)
		return 0;
	struct alb_nla tb[IFLA_TUN_TYPE + 1];
	if (alb_nla_parse(data->data, data->len, tb, ALB_ARRAY_LEN(tb)) != 0)
		return ALB_EPROTO;
	if (tb[IFLA_TUN_TYPE].data == NULL)
		return 0;
	if (tb[IFLA_TUN_TYPE].len != 1)
		return ALB_EPROTO;
	*type = tb[IFLA_TUN_TYPE].data[0];
	return 0;
}

int alb_link_parse(const struct nlmsghdr *h, struct alb_link *out)
{
	memset(out, 0, sizeof(*out));
	const size_t fam = NLMSG_ALIGN(sizeof(struct ifinfomsg));
	if (h->nlmsg_type != RTM_NEWLINK ||
	    h->nlmsg_len < NLMSG_HDRLEN + sizeof(struct ifinfomsg))
		return ALB_EPROTO;
	const uint8_t *body = (const uint8_t *)h + NLMSG_HDRLEN;
	struct ifinfomsg ifi;
	memcpy(&ifi, body, sizeof(ifi));
	if (ifi.ifi_index <= 0)
		return ALB_EPROTO;
	size_t alen = h->nlmsg_len >= NLMSG_HDRLEN + fam
			  ? h->nlmsg_len - NLMSG_HDRLEN - fam : 0;
	/* the attributes read here, the highest being IFLA_GROUP */
	_Static_assert(IFLA_GROUP > IFLA_STATS64, "IFLA_GROUP is the highest");
	struct alb_nla tb[IFLA_GROUP + 1];
	if (alb_nla_parse(body + fam, alen, tb, ALB_ARRAY_LEN(tb)) != 0)
		return ALB_EPROTO;

	out->ifindex = ifi.ifi_index;
	out->flags = ifi.ifi_flags;
	out->name = alb_nla_str(&tb[IFLA_IFNAME]);
	if (out->name == NULL || strlen(out->name) >= ALB_IFNAME_SIZE)
		return ALB_EPROTO;
	if (tb[IFLA_MTU].data != NULL && alb_nla_u32(&tb[IFLA_MTU], &out->mtu))
		return ALB_EPROTO;
	if (tb[IFLA_MASTER].data != NULL &&
	    alb_nla_u32(&tb[IFLA_MASTER], &out->master))
		return ALB_EPROTO;
	if (tb[IFLA_GROUP].data != NULL &&
	    alb_nla_u32(&tb[IFLA_GROUP], &out->group))
		return ALB_EPROTO;
	if (tb[IFLA_LINKINFO].data != NULL) {
		struct alb_nla info[IFLA_INFO_DATA + 1];
		if (alb_nla_parse(tb[IFLA_LINKINFO].data, tb[IFLA_LINKINFO].len,
				  info, ALB_ARRAY_LEN(info)) != 0)
			return ALB_EPROTO;
		if (info[IFLA_INFO_KIND].data != NULL) {
			out->kind = alb_nla_str(&info[IFLA_INFO_KIND]);
			if (out->kind == NULL)
				return ALB_EPROTO;
		}
		if (out->kind != NULL && strcmp(out->kind, "tun") == 0 &&
		    parse_tun_type(&info[IFLA_INFO_DATA], &out->tun_type) != 0)
			return ALB_EPROTO;
	}
	if (tb[IFLA_STATS64].data != NULL) {
		/* The struct has grown over kernel versions; the counters used
		 * here are its first ten fields, present in every version. */
		const size_t need = offsetof(struct rtnl_link_stats64, collisions) +
				    sizeof(out->stats.collisions);
		size_t n = tb[IFLA_STATS64].len;
		if (n < need)
			return ALB_EPROTO;
		if (n > sizeof(out->stats))
			n = sizeof(out->stats);
		memcpy(&out->stats, tb[IFLA_STATS64].data, n);
		out->has_stats = true;
	}
	return 0;
}

/* ---- one exchange ---------------------------------------------------- */

static void fail_proto(struct alb_nl_exchange *x, struct alb_error *err,
		       const char *why)
{
	if (x->rc == 0)
		x->rc = alb_fail(err, ALB_EPROTO, "%s: %s", x->what, why);
	x->done = true;
}

/* The kernel's own explanation (extended ACK), when it sent one. */
static const char *extack_msg(const struct nlmsghdr *h)
{
	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	size_t off = NLMSG_HDRLEN + sizeof(struct nlmsgerr);
	if (!(h->nlmsg_flags & NLM_F_CAPPED)) {
		struct nlmsghdr orig;
		memcpy(&orig, (const uint8_t *)h + NLMSG_HDRLEN +
		       offsetof(struct nlmsgerr, msg), sizeof(orig));
		if (orig.nlmsg_len < NLMSG_HDRLEN)
			return NULL;
		off += NLMSG_ALIGN(orig.nlmsg_len - NLMSG_HDRLEN);
	}
	if (off > h->nlmsg_len)
		return NULL;
	struct alb_nla tb[NLMSGERR_ATTR_MSG + 1];
	if (alb_nla_parse((const uint8_t *)h + off, h->nlmsg_len - off, tb,
			  ALB_ARRAY_LEN(tb)) != 0)
		return NULL;
	return alb_nla_str(&tb[NLMSGERR_ATTR_MSG]);
}

static void on_error(struct alb_nl_exchange *x, const struct nlmsghdr *h,
		     struct alb_error *err)
{
	int e;
	if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(struct nlmsgerr)) {
		fail_proto(x, err, "short netlink error message");
		return;
	}
	memcpy(&e, (const uint8_t *)h + NLMSG_HDRLEN, sizeof(e));
	x->done = true;
	if (e == 0 || x->rc != 0)
		return; /* an ACK, or the callback already failed */
	if (e > 0 || e < -ALB_NL_ERRNO_MAX) {
		fail_proto(x, err, "bad netlink error code");
		return;
	}
	errno = -e;
	x->rc = alb_fail_sys(err, "%s", x->what);
	const char *ext = extack_msg(h);
	if (err != NULL && ext != NULL) {
		size_t used = strlen(err->msg);
		snprintf(err->msg + used, sizeof(err->msg) - used, " (%s)", ext);
	}
	errno = -e;
}

void alb_nl_feed(struct alb_nl_exchange *x, const uint8_t *buf, size_t len,
		 struct alb_error *err)
{
	const struct nlmsghdr *h;
	bool bad = false;
	while (!x->done && (h = alb_nl_next(&buf, &len, &bad)) != NULL) {
		if (h->nlmsg_seq != x->seq || h->nlmsg_type == NLMSG_NOOP)
			continue; /* a late reply to an earlier, broken exchange */
		if (h->nlmsg_type == NLMSG_ERROR) {
			on_error(x, h, err);
		} else if (h->nlmsg_type == NLMSG_DONE) {
			/* a dump's end may carry the dump's error code */
			int e = 0;
			if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof(e))
				memcpy(&e, (const uint8_t *)h + NLMSG_HDRLEN,
				       sizeof(e));
			if (e < 0 && e >= -ALB_NL_ERRNO_MAX && x->rc == 0) {
				errno = -e;
				x->rc = alb_fail_sys(err, "%s", x->what);
			}
			x->done = true;
		} else if (h->nlmsg_type < NLMSG_MIN_TYPE) {
			fail_proto(x, err, "unexpected netlink control message");
		} else if (x->rc == 0 && x->cb != NULL) {
			x->rc = x->cb(x->ctx, h, err);
		}
	}
	if (bad)
		fail_proto(x, err, "malformed netlink reply");
}

int alb_nl_talk(struct alb_net *net, struct alb_nl_req *r, alb_nl_cb cb,
		void *ctx, const char *what, struct alb_error *err)
{
	if (r->overflow)
		return alb_fail(err, ALB_EINVAL, "%s: netlink request too large",
				what);
	if ((r->hdr.nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		r->hdr.nlmsg_flags |= NLM_F_ACK;
	r->hdr.nlmsg_seq = ++net->seq;

	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct iovec out[2] = {{.iov_base = &r->hdr, .iov_len = NLMSG_HDRLEN},
			       {.iov_base = r->body, .iov_len = body_len(r)}};
	struct msghdr sm = {.msg_name = &kernel, .msg_namelen = sizeof(kernel),
			    .msg_iov = out, .msg_iovlen = 2};
	ssize_t n;
	do {
		n = sendmsg(net->fd, &sm, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return alb_fail_sys(err, "%s: netlink send", what);
	if ((size_t)n != r->hdr.nlmsg_len)
		return alb_fail(err, ALB_ESYS, "%s: short netlink send", what);

	struct alb_nl_exchange x = {.seq = r->hdr.nlmsg_seq, .cb = cb,
				    .ctx = ctx, .what = what};
	while (!x.done) {
		struct sockaddr_nl from;
		struct iovec iov = {.iov_base = net->rbuf,
				    .iov_len = ALB_NL_RECV_SIZE};
		struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof(from),
				   .msg_iov = &iov, .msg_iovlen = 1};
		n = recvmsg(net->fd, &m, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = alb_fail_sys(err, "%s: netlink receive", what);
			int saved = errno;
			reset_socket(net);
			errno = saved;
			return rc;
		}
		if (m.msg_flags & MSG_TRUNC) {
			reset_socket(net);
			return alb_fail(err, ALB_EPROTO,
					"%s: netlink reply truncated", what);
		}
		/* only the kernel (port 0) speaks for itself here */
		if (m.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue;
		alb_nl_feed(&x, net->rbuf, (size_t)n, err);
	}
	if (x.rc == ALB_EPROTO)
		reset_socket(net);
	return x.rc;
}
