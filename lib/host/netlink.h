/* libalbatross — private rtnetlink plumbing of the net module: request
 * building, bounds-checked reply and attribute parsing, one request/reply
 * exchange. No libnl, no libmnl.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_NETLINK_H
#define ALB_NETLINK_H

#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "albatross/net.h"

/** Receive buffer: larger than any datagram the kernel sends us (dump
 * datagrams are capped at 32 KiB; a single link message is far smaller). */
#define ALB_NL_RECV_SIZE 65536
/** Request buffer: a header, an ifinfomsg and a few short attributes. */
#define ALB_NL_REQ_SIZE 256

struct alb_net {
	int fd;
	uint32_t seq;
	uint8_t *rbuf; /* ALB_NL_RECV_SIZE bytes */
};

/** A request being built. Building never fails loudly: an attribute that
 * does not fit sets overflow, and alb_nl_talk() refuses the request. */
struct alb_nl_req {
	struct nlmsghdr hdr; /* nlmsg_len counts the header and the body */
	uint8_t body[ALB_NL_REQ_SIZE - NLMSG_HDRLEN];
	bool overflow;
};

/** Starts a request of the given type and flags (NLM_F_REQUEST is added)
 * whose family header is fam[0..fam_len). */
void alb_nl_req_init(struct alb_nl_req *r, uint16_t type, uint16_t flags,
		     const void *fam, size_t fam_len);
/** Appends attribute type with payload data[0..len). */
void alb_nla_put(struct alb_nl_req *r, uint16_t type, const void *data,
		 size_t len);
void alb_nla_put_u32(struct alb_nl_req *r, uint16_t type, uint32_t v);
/** Appends a string attribute with its NUL. */
void alb_nla_put_str(struct alb_nl_req *r, uint16_t type, const char *s);
/** Opens a nested attribute; returns its offset for alb_nla_nest_end(). */
size_t alb_nla_nest_begin(struct alb_nl_req *r, uint16_t type);
void alb_nla_nest_end(struct alb_nl_req *r, size_t off);

/** One attribute of a parsed message: data == NULL means absent. */
struct alb_nla {
	const uint8_t *data;
	size_t len;
};

/** Parses the attributes in p[0..len) into tb[0..tb_n) (indexed by type,
 * flag bits stripped; unknown types ignored; a repeated type keeps the
 * last). Returns 0 or ALB_EPROTO when an attribute header is truncated or
 * its length is below the header or beyond the buffer. */
int alb_nla_parse(const uint8_t *p, size_t len, struct alb_nla *tb,
		  size_t tb_n);
/** Reads a u32 attribute (payload exactly 4 bytes). Returns 0 or ALB_EPROTO. */
int alb_nla_u32(const struct alb_nla *a, uint32_t *v);
/** The string of a present attribute whose payload holds a NUL, else NULL. */
const char *alb_nla_str(const struct alb_nla *a);

/** Takes the next message off the datagram *p[0..*len) (which starts
 * 4-byte aligned): returns it and advances, or returns NULL at the end. Sets *bad when what is left is not
 * a whole message (a header longer than the rest or shorter than itself). */
const struct nlmsghdr *alb_nl_next(const uint8_t **p, size_t *len, bool *bad);

/** The interesting parts of an RTM_NEWLINK message. Strings point into the
 * message. */
struct alb_link {
	int ifindex;
	uint32_t flags;  /* ifi_flags */
	uint32_t mtu;    /* 0 when absent */
	uint32_t master; /* ifindex of the master, 0 when none */
	uint32_t group;  /* device group, 0 when absent */
	const char *name;
	const char *kind; /* IFLA_INFO_KIND, NULL when none */
	uint8_t tun_type; /* of kind "tun": IFF_TUN or IFF_TAP; 0 when unsaid */
	bool has_stats;
	struct rtnl_link_stats64 stats; /* zero when absent */
};

/** Parses an RTM_NEWLINK message. Returns 0 or ALB_EPROTO (short header,
 * bad attributes, missing or unterminated name, short statistics). */
int alb_link_parse(const struct nlmsghdr *h, struct alb_link *out);

/** Called for each data message of a reply; returns 0 or an ALB_E* code,
 * after which the exchange drains the reply and returns that code. */
typedef int (*alb_nl_cb)(void *ctx, const struct nlmsghdr *h,
			 struct alb_error *err);

/** Where an exchange stands while its reply datagrams are fed in. */
struct alb_nl_exchange {
	uint32_t seq;
	alb_nl_cb cb;
	void *ctx;
	const char *what; /* context of an error message */
	bool done;
	int rc; /* first failure, kept while the rest is drained */
};

/** Feeds one reply datagram buf[0..len) from the kernel into x: messages of
 * another sequence number are skipped, data messages go to x->cb, an ACK,
 * an error or NLMSG_DONE ends the exchange (x->done). A kernel error sets
 * x->rc = ALB_ESYS, errno and err ("<what>: <strerror>[ (<extack>)]"); a
 * malformed datagram sets ALB_EPROTO and ends the exchange. */
void alb_nl_feed(struct alb_nl_exchange *x, const uint8_t *buf, size_t len,
		 struct alb_error *err);

/** Sends r (NLM_F_ACK is added unless it is a dump) and feeds replies to
 * cb until the exchange ends. Returns 0 or the first failure; after a
 * kernel error (ALB_ESYS) errno holds the kernel's error code. what is the
 * context printed in front of error messages. */
int alb_nl_talk(struct alb_net *net, struct alb_nl_req *r, alb_nl_cb cb,
		void *ctx, const char *what, struct alb_error *err);

/** The index of the interface name into *index. Returns 0, ALB_ENOENT
 * ("interface <name> does not exist") or ALB_ESYS. */
int alb_nl_ifindex(struct alb_net *net, const char *name, int *index,
		   struct alb_error *err);

/** Lets a public function take net == NULL: when *net is NULL, opens a
 * handle, stores it in *net and *owned (free *owned afterwards). */
int alb_net_acquire(struct alb_net **net, struct alb_net **owned,
		    struct alb_error *err);

#endif
