/* Unit tests: the net module — MAC derivation (spec §5.5), interface and
 * tap names, the netlink builder and parsers on crafted buffers, and taps,
 * bridges and counters against the kernel inside a private network
 * namespace (root only; skipped otherwise).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include <cmocka.h>

#include "albatross/net.h"
#include "netlink.h"
#include "test_child.h"

/* ---- MAC addresses -------------------------------------------------------- */

static struct alb_str str(const char *s)
{
	return (struct alb_str){s, strlen(s)};
}

static void check_derive(const char *netif, const char *name, const char *want)
{
	uint8_t mac[ALB_MAC_LEN];
	char txt[ALB_MAC_STR_SIZE];
	assert_int_equal(alb_mac_derive(str(netif), name, mac, NULL), 0);
	alb_mac_print(mac, txt);
	assert_string_equal(txt, want);
}

static void test_mac_derive(void **state)
{
	(void)state;
	/* the spec's example, MD5("defaultfoo:bar") = 9a6f39... */
	check_derive("default", "foo:bar", "00:80:41:9a:6f:39");
	/* MD5("service:hello") = cd8aeb... */
	check_derive("service", ":hello", "00:80:41:cd:8a:eb");
	/* the separator-less concatenation, not the stale "default.foo.bar"
	 * (which would give 1b:11:78): the split point does not matter */
	check_derive("defaultfoo", ":bar", "00:80:41:9a:6f:39");
	/* MD5("") = d41d8c... */
	check_derive("", "", "00:80:41:d4:1d:8c");

	/* the netif is bytes: a NUL inside it is hashed too */
	uint8_t a[ALB_MAC_LEN], b[ALB_MAC_LEN];
	struct alb_str nul = {"a\0b", 3};
	assert_int_equal(alb_mac_derive(nul, "x", a, NULL), 0);
	assert_int_equal(alb_mac_derive(str("a"), "x", b, NULL), 0);
	assert_memory_not_equal(a, b, ALB_MAC_LEN);

	struct alb_error err;
	struct alb_str bad = {NULL, 3};
	assert_int_equal(alb_mac_derive(bad, "x", a, &err), ALB_EINVAL);
	assert_int_equal(alb_mac_derive(str("a"), NULL, a, &err), ALB_EINVAL);
}

static void test_mac_print_parse(void **state)
{
	(void)state;
	const uint8_t m[ALB_MAC_LEN] = {0x00, 0x80, 0x41, 0xab, 0xcd, 0xef};
	char txt[ALB_MAC_STR_SIZE];
	alb_mac_print(m, txt);
	assert_string_equal(txt, "00:80:41:ab:cd:ef");

	uint8_t got[ALB_MAC_LEN];
	assert_int_equal(alb_mac_parse(txt, strlen(txt), got, NULL), 0);
	assert_memory_equal(got, m, ALB_MAC_LEN);
	assert_int_equal(alb_mac_parse("00:80:41:AB:CD:EF", 17, got, NULL), 0);
	assert_memory_equal(got, m, ALB_MAC_LEN);
	const uint8_t ff[ALB_MAC_LEN] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	assert_int_equal(alb_mac_parse("aa:bb:cc:dd:ee:ff", 17, got, NULL), 0);
	assert_memory_equal(got, ff, ALB_MAC_LEN);

	/* a length of exactly ALB_MAC_STR_SIZE - 1 only: one short, one past */
	const char *bad[] = {"aa:bb:cc:dd:ee:f", "aa:bb:cc:dd:ee:ff:",
			     "aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:fg",
			     "aa:bb:cc:dd:eeeff", " a:bb:cc:dd:ee:ff",
			     "aabbccddeeff00000", ""};
	struct alb_error err;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(got, m, sizeof(got));
		assert_int_equal(alb_mac_parse(bad[i], strlen(bad[i]), got, &err),
				 ALB_EPARSE);
		assert_memory_equal(got, m, ALB_MAC_LEN); /* untouched */
	}
	assert_string_equal(err.msg, "invalid MAC address ");
	assert_int_equal(alb_mac_parse("aa:bb:cc:dd:ee:fg", 17, got, &err),
			 ALB_EPARSE);
	assert_string_equal(err.msg, "invalid MAC address aa:bb:cc:dd:ee:fg");
	/* the length decides, not a NUL */
	assert_int_equal(alb_mac_parse("aa:bb:cc:dd:ee:ffXX", 17, got, NULL), 0);
	assert_int_equal(alb_mac_parse(NULL, 17, got, NULL), ALB_EPARSE);
}

/* ---- names ------------------------------------------------------------------- */

static void test_ifname_valid(void **state)
{
	(void)state;
	assert_true(alb_ifname_valid("br0", 3));
	assert_true(alb_ifname_valid("vmmtap65535", 11));
	/* at the limit (15 bytes) and one past */
	assert_true(alb_ifname_valid("abcdefghijklmno", ALB_IFNAME_SIZE - 1));
	assert_false(alb_ifname_valid("abcdefghijklmnop", ALB_IFNAME_SIZE));
	assert_false(alb_ifname_valid("", 0));
	assert_false(alb_ifname_valid(NULL, 3));
	assert_false(alb_ifname_valid(".", 1));
	assert_false(alb_ifname_valid("..", 2));
	assert_true(alb_ifname_valid("...", 3));
	assert_true(alb_ifname_valid(".a", 2));
	assert_false(alb_ifname_valid("a/b", 3));
	assert_false(alb_ifname_valid("a:b", 3));
	assert_false(alb_ifname_valid("a b", 3));
	assert_false(alb_ifname_valid("a\tb", 3));
	assert_false(alb_ifname_valid("a\rb", 3));
	assert_false(alb_ifname_valid("a\0b", 3));
	assert_false(alb_ifname_valid("a\xa0", 2));
	assert_true(alb_ifname_valid("a\xa1", 2));
}

static void test_tap_name_index(void **state)
{
	(void)state;
	unsigned n = 12345;
	assert_true(alb_tap_name_index("vmmtap0", &n));
	assert_int_equal(n, 0);
	assert_true(alb_tap_name_index("vmmtap17", &n));
	assert_int_equal(n, 17);
	/* at the limit and one past */
	assert_true(alb_tap_name_index("vmmtap65535", &n));
	assert_int_equal(n, ALB_TAP_INDEX_MAX);
	n = 7;
	assert_false(alb_tap_name_index("vmmtap65536", &n));
	assert_int_equal(n, 7);
	assert_true(alb_tap_name_index("vmmtap3", NULL));
	const char *no[] = {"vmmtap", "vmmtap00", "vmmtap01", "vmmtap-1",
			    "vmmtap+1", "vmmtap1a", "vmmtap 1", "vmmta1",
			    "xvmmtap1", "VMMTAP1", "tap0",
			    "vmmtap99999999999999999999999999"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(alb_tap_name_index(no[i], &n));
	assert_false(alb_tap_name_index(NULL, &n));
}

/* ---- the netlink builder and parsers ------------------------------------ */

static void test_req_builder(void **state)
{
	(void)state;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = 7};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_GETLINK, 0, &ifi, sizeof(ifi));
	assert_false(r.overflow);
	assert_int_equal(r.hdr.nlmsg_len, NLMSG_SPACE(sizeof(ifi)));
	assert_int_equal(r.hdr.nlmsg_flags, NLM_F_REQUEST);
	alb_nla_put_str(&r, IFLA_IFNAME, "br0");
	size_t nest = alb_nla_nest_begin(&r, IFLA_LINKINFO);
	alb_nla_put_str(&r, IFLA_INFO_KIND, "bridge");
	alb_nla_nest_end(&r, nest);
	assert_false(r.overflow);
	/* 32 + "br0\0" (8) + nest header 4 + "bridge\0" (12) */
	assert_int_equal(r.hdr.nlmsg_len, 32 + 8 + 4 + 12);

	/* parse it back */
	const uint8_t *attrs = r.body + NLMSG_ALIGN(sizeof(ifi));
	struct alb_nla tb[IFLA_LINKINFO + 1];
	assert_int_equal(alb_nla_parse(attrs, r.hdr.nlmsg_len - 32, tb,
				       IFLA_LINKINFO + 1), 0);
	assert_string_equal(alb_nla_str(&tb[IFLA_IFNAME]), "br0");
	assert_int_equal(tb[IFLA_LINKINFO].len, 12);
	struct alb_nla info[IFLA_INFO_KIND + 1];
	assert_int_equal(alb_nla_parse(tb[IFLA_LINKINFO].data,
				       tb[IFLA_LINKINFO].len, info,
				       IFLA_INFO_KIND + 1), 0);
	assert_string_equal(alb_nla_str(&info[IFLA_INFO_KIND]), "bridge");
}

static void test_req_limit(void **state)
{
	(void)state;
	static uint8_t big[ALB_NL_REQ_SIZE];
	struct alb_nl_req r;
	/* header 16 + attribute header 4 + payload = ALB_NL_REQ_SIZE exactly */
	size_t fits = ALB_NL_REQ_SIZE - NLMSG_HDRLEN - RTA_LENGTH(0);
	alb_nl_req_init(&r, RTM_GETLINK, 0, NULL, 0);
	alb_nla_put(&r, 1, big, fits);
	assert_false(r.overflow);
	assert_int_equal(r.hdr.nlmsg_len, ALB_NL_REQ_SIZE);

	alb_nl_req_init(&r, RTM_GETLINK, 0, NULL, 0);
	alb_nla_put(&r, 1, big, fits + 1);
	assert_true(r.overflow);
	assert_int_equal(r.hdr.nlmsg_len, NLMSG_HDRLEN);
	/* once overflowed, nothing more is written and the request is refused */
	alb_nla_put_u32(&r, 2, 5);
	assert_int_equal(r.hdr.nlmsg_len, NLMSG_HDRLEN);
	struct alb_error err;
	assert_int_equal(alb_nl_talk(NULL, &r, NULL, NULL, "test", &err),
			 ALB_EINVAL);
	assert_string_equal(err.msg, "test: netlink request too large");

	/* a family header alone: at the limit and one past */
	alb_nl_req_init(&r, RTM_GETLINK, 0, big, ALB_NL_REQ_SIZE - NLMSG_HDRLEN);
	assert_false(r.overflow);
	assert_int_equal(r.hdr.nlmsg_len, ALB_NL_REQ_SIZE);
	alb_nl_req_init(&r, RTM_GETLINK, 0, big,
			ALB_NL_REQ_SIZE - NLMSG_HDRLEN + 1);
	assert_true(r.overflow);
}

/* A 4-byte aligned scratch buffer for crafted messages. */
struct craft {
	uint32_t words[256];
	size_t len;
};

static uint8_t *craft_bytes(struct craft *c)
{
	return (uint8_t *)c->words;
}

static void craft_raw(struct craft *c, const void *p, size_t n)
{
	assert_true(c->len + n <= sizeof(c->words));
	memcpy(craft_bytes(c) + c->len, p, n);
	c->len += n;
}

static void craft_attr(struct craft *c, uint16_t type, uint16_t rta_len,
		       const void *payload, size_t n)
{
	struct rtattr a = {.rta_len = rta_len, .rta_type = type};
	craft_raw(c, &a, sizeof(a));
	if (n > 0)
		craft_raw(c, payload, n);
	while (c->len % 4 != 0)
		craft_bytes(c)[c->len++] = 0;
}

static void test_nla_parse(void **state)
{
	(void)state;
	struct alb_nla tb[8];
	struct craft c = {0};
	uint32_t v = 0x01020304;
	craft_attr(&c, 1, 8, &v, 4);
	craft_attr(&c, 3 | NLA_F_NESTED, 6, "ab", 2); /* flag stripped */
	craft_attr(&c, 100, 4, NULL, 0);                /* unknown: ignored */
	craft_attr(&c, 1, 8, "\x05\0\0\0", 4);          /* repeated: last wins */
	assert_int_equal(alb_nla_parse(craft_bytes(&c), c.len, tb, 8), 0);
	uint32_t got;
	assert_int_equal(alb_nla_u32(&tb[1], &got), 0);
	assert_int_equal(got, 5);
	assert_non_null(tb[3].data);
	assert_int_equal(tb[3].len, 2);
	assert_null(tb[2].data);
	/* the last attribute without its padding (len 6, buffer ends at 6) */
	assert_int_equal(alb_nla_parse(craft_bytes(&c) + 8, 6, tb, 8), 0);
	assert_int_equal(tb[3].len, 2);
	/* empty input */
	assert_int_equal(alb_nla_parse(craft_bytes(&c), 0, tb, 8), 0);
	assert_null(tb[1].data);

	/* truncated attribute header */
	assert_int_equal(alb_nla_parse(craft_bytes(&c), 3, tb, 8), ALB_EPROTO);
	/* the length runs past the buffer */
	assert_int_equal(alb_nla_parse(craft_bytes(&c), 7, tb, 8), ALB_EPROTO);
	/* trailing bytes that are not a whole header */
	assert_int_equal(alb_nla_parse(craft_bytes(&c), 10, tb, 8), ALB_EPROTO);
	/* cut right after an unpadded attribute: fine */
	assert_int_equal(alb_nla_parse(craft_bytes(&c), 14, tb, 8), 0);
	/* a length below the header size, and a zero length (no endless loop) */
	struct craft d = {0};
	craft_attr(&d, 1, 3, NULL, 0);
	assert_int_equal(alb_nla_parse(craft_bytes(&d), d.len, tb, 8), ALB_EPROTO);
	d.len = 0;
	craft_attr(&d, 1, 0, NULL, 0);
	assert_int_equal(alb_nla_parse(craft_bytes(&d), d.len, tb, 8), ALB_EPROTO);
}

static void test_nla_getters(void **state)
{
	(void)state;
	uint32_t v = 9;
	struct alb_nla a = {(const uint8_t *)"\1\0\0\0\0", 5};
	assert_int_equal(alb_nla_u32(&a, &v), ALB_EPROTO);
	a.len = 3;
	assert_int_equal(alb_nla_u32(&a, &v), ALB_EPROTO);
	a.len = 4;
	assert_int_equal(alb_nla_u32(&a, &v), 0);
	assert_int_equal(v, 1);
	struct alb_nla absent = {NULL, 0};
	assert_int_equal(alb_nla_u32(&absent, &v), ALB_EPROTO);
	assert_null(alb_nla_str(&absent));
	struct alb_nla s = {(const uint8_t *)"abc", 3}; /* no NUL inside */
	assert_null(alb_nla_str(&s));
	s.len = 4;
	assert_string_equal(alb_nla_str(&s), "abc");
	struct alb_nla empty = {(const uint8_t *)"", 0};
	assert_null(alb_nla_str(&empty));
}

static void craft_hdr(struct craft *c, uint32_t len, uint16_t type,
		      uint16_t flags, uint32_t seq)
{
	struct nlmsghdr h = {.nlmsg_len = len, .nlmsg_type = type,
			     .nlmsg_flags = flags, .nlmsg_seq = seq};
	craft_raw(c, &h, sizeof(h));
}

static void test_nl_next(void **state)
{
	(void)state;
	struct craft c = {0};
	craft_hdr(&c, 20, RTM_NEWLINK, 0, 1);
	craft_raw(&c, "abcd", 4);
	craft_hdr(&c, 18, RTM_NEWLINK, 0, 2); /* unaligned length, last */
	craft_raw(&c, "xy", 2);
	const uint8_t *p = craft_bytes(&c);
	size_t len = c.len;
	bool bad;
	const struct nlmsghdr *h = alb_nl_next(&p, &len, &bad);
	assert_non_null(h);
	assert_int_equal(h->nlmsg_seq, 1);
	h = alb_nl_next(&p, &len, &bad);
	assert_non_null(h);
	assert_int_equal(h->nlmsg_seq, 2);
	assert_null(alb_nl_next(&p, &len, &bad));
	assert_false(bad);

	/* a partial header; a length past the end; a length below the header */
	p = craft_bytes(&c);
	len = 15;
	assert_null(alb_nl_next(&p, &len, &bad));
	assert_true(bad);
	p = craft_bytes(&c);
	len = 19;
	assert_null(alb_nl_next(&p, &len, &bad));
	assert_true(bad);
	struct craft d = {0};
	craft_hdr(&d, 15, RTM_NEWLINK, 0, 1);
	p = craft_bytes(&d);
	len = d.len;
	assert_null(alb_nl_next(&p, &len, &bad));
	assert_true(bad);
	assert_int_equal(len, d.len); /* the cursor did not move */
}

static void craft_put(struct craft *c, uint16_t type, const void *p, size_t n)
{
	craft_attr(c, type, (uint16_t)RTA_LENGTH(n), p, n);
}

static void craft_str(struct craft *c, uint16_t type, const char *str0)
{
	craft_put(c, type, str0, strlen(str0) + 1);
}

static void craft_u32(struct craft *c, uint16_t type, uint32_t v)
{
	craft_put(c, type, &v, sizeof(v));
}

static size_t craft_nest(struct craft *c, uint16_t type)
{
	size_t off = c->len;
	craft_attr(c, (uint16_t)(type | NLA_F_NESTED), RTA_LENGTH(0), NULL, 0);
	return off;
}

static void craft_nest_end(struct craft *c, size_t off)
{
	uint16_t len = (uint16_t)(c->len - off);
	memcpy(craft_bytes(c) + off, &len, sizeof(len));
}

/* An RTM_NEWLINK crafted by hand: craft_link() starts it, craft_end() sets
 * its length and returns it. */
static void craft_link(struct craft *c, int ifindex, const char *name)
{
	c->len = 0;
	craft_hdr(c, 0, RTM_NEWLINK, 0, 1);
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex,
				.ifi_flags = IFF_UP | IFF_BROADCAST};
	craft_raw(c, &ifi, sizeof(ifi));
	if (name != NULL)
		craft_str(c, IFLA_IFNAME, name);
}

static struct nlmsghdr *craft_end(struct craft *c)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)c->words;
	h->nlmsg_len = (uint32_t)c->len;
	return h;
}

static void test_link_parse(void **state)
{
	(void)state;
	struct craft c = {0};
	struct nlmsghdr *h;
	struct alb_link l;
	craft_link(&c, 5, "vmmtap0");
	craft_u32(&c, IFLA_MTU, 1500);
	craft_u32(&c, IFLA_MASTER, 3);
	size_t nest = craft_nest(&c, IFLA_LINKINFO);
	craft_str(&c, IFLA_INFO_KIND, "tun");
	size_t data = craft_nest(&c, IFLA_INFO_DATA);
	uint8_t tap = IFF_TAP;
	craft_put(&c, IFLA_TUN_TYPE, &tap, 1);
	craft_nest_end(&c, data);
	craft_nest_end(&c, nest);
	struct rtnl_link_stats64 st = {.rx_packets = 3, .tx_bytes = 99,
				       .collisions = 4};
	craft_put(&c, IFLA_STATS64, &st, sizeof(st));
	assert_int_equal(alb_link_parse(craft_end(&c), &l), 0);
	assert_int_equal(l.ifindex, 5);
	assert_string_equal(l.name, "vmmtap0");
	assert_int_equal(l.mtu, 1500);
	assert_int_equal(l.master, 3);
	assert_int_equal(l.flags, IFF_UP | IFF_BROADCAST);
	assert_string_equal(l.kind, "tun");
	assert_int_equal(l.tun_type, IFF_TAP);
	assert_true(l.has_stats);
	assert_int_equal(l.stats.rx_packets, 3);
	assert_int_equal(l.stats.tx_bytes, 99);
	assert_int_equal(l.stats.collisions, 4);

	/* the shortest statistics accepted end with collisions (80 bytes) */
	const size_t need = offsetof(struct rtnl_link_stats64, collisions) + 8;
	craft_link(&c, 5, "a");
	craft_put(&c, IFLA_STATS64, &st, need);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), 0);
	assert_int_equal(l.stats.collisions, 4);
	craft_link(&c, 5, "a");
	craft_put(&c, IFLA_STATS64, &st, need - 1);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	/* longer (a newer kernel): the known part is read */
	uint8_t longer[sizeof(st) + 16] = {0};
	memcpy(longer, &st, sizeof(st));
	craft_link(&c, 5, "a");
	craft_put(&c, IFLA_STATS64, longer, sizeof(longer));
	assert_int_equal(alb_link_parse(craft_end(&c), &l), 0);
	assert_int_equal(l.stats.rx_packets, 3);

	/* minimal: a name only */
	craft_link(&c, 1, "lo");
	assert_int_equal(alb_link_parse(craft_end(&c), &l), 0);
	assert_null(l.kind);
	assert_false(l.has_stats);
	assert_int_equal(l.master, 0);

	/* names: missing, unterminated, 15 bytes (limit), 16 bytes */
	craft_link(&c, 1, NULL);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	craft_link(&c, 1, NULL);
	craft_put(&c, IFLA_IFNAME, "abc", 3);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	craft_link(&c, 1, "abcdefghijklmno");
	assert_int_equal(alb_link_parse(craft_end(&c), &l), 0);
	craft_link(&c, 1, "abcdefghijklmnop");
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);

	/* bad integer sizes, bad kind, bad nest, bad tun type */
	craft_link(&c, 1, "a");
	craft_put(&c, IFLA_MTU, "\1\2", 2);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	craft_link(&c, 1, "a");
	craft_put(&c, IFLA_MASTER, "\1\2\3\4\5\6\7\0", 8);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	craft_link(&c, 1, "a");
	nest = craft_nest(&c, IFLA_LINKINFO);
	craft_put(&c, IFLA_INFO_KIND, "bridge", 6);
	craft_nest_end(&c, nest);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	craft_link(&c, 1, "a");
	craft_put(&c, IFLA_LINKINFO, "\xff\0\1\0", 4);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	craft_link(&c, 1, "a");
	nest = craft_nest(&c, IFLA_LINKINFO);
	craft_str(&c, IFLA_INFO_KIND, "tun");
	data = craft_nest(&c, IFLA_INFO_DATA);
	craft_put(&c, IFLA_TUN_TYPE, "\2\0", 2);
	craft_nest_end(&c, data);
	craft_nest_end(&c, nest);
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);

	/* the header: index 0, wrong type, too short for an ifinfomsg */
	craft_link(&c, 0, "a");
	assert_int_equal(alb_link_parse(craft_end(&c), &l), ALB_EPROTO);
	craft_link(&c, 1, "a");
	h = craft_end(&c);
	h->nlmsg_type = RTM_DELLINK;
	assert_int_equal(alb_link_parse(h, &l), ALB_EPROTO);
	craft_link(&c, 1, NULL);
	h = craft_end(&c);
	h->nlmsg_len = NLMSG_HDRLEN + sizeof(struct ifinfomsg) - 1;
	assert_int_equal(alb_link_parse(h, &l), ALB_EPROTO);
	/* an attribute area cut inside an attribute */
	craft_link(&c, 1, "abcdef");
	h = craft_end(&c);
	h->nlmsg_len -= 2;
	assert_int_equal(alb_link_parse(h, &l), ALB_EPROTO);
}

/* ---- feeding crafted replies into an exchange ----------------------------- */

struct seen {
	int calls;
	int fail_with;
};

static int count_cb(void *ctx, const struct nlmsghdr *h, struct alb_error *err)
{
	(void)h;
	(void)err;
	struct seen *s = ctx;
	s->calls++;
	return s->fail_with;
}

static void craft_error(struct craft *c, uint32_t seq, int error,
			const char *extack)
{
	size_t start = c->len;
	craft_hdr(c, 0, NLMSG_ERROR, extack ? NLM_F_CAPPED | NLM_F_ACK_TLVS : 0,
		  seq);
	struct nlmsgerr e = {.error = error};
	craft_raw(c, &e, sizeof(e));
	if (extack != NULL)
		craft_attr(c, NLMSGERR_ATTR_MSG,
			   (uint16_t)RTA_LENGTH(strlen(extack) + 1), extack,
			   strlen(extack) + 1);
	uint32_t len = (uint32_t)(c->len - start);
	memcpy(craft_bytes(c) + start, &len, sizeof(len));
}

static void test_feed(void **state)
{
	(void)state;
	struct seen s = {0};
	struct alb_error err;
	struct alb_nl_exchange x = {.seq = 7, .cb = count_cb, .ctx = &s,
				    .what = "probe"};
	/* one datagram: a stale reply, two data messages; then the ACK */
	struct craft c = {0};
	craft_hdr(&c, 16, RTM_NEWLINK, 0, 6);
	craft_hdr(&c, 16, RTM_NEWLINK, 0, 7);
	craft_hdr(&c, 16, NLMSG_NOOP, 0, 7);
	craft_hdr(&c, 16, RTM_NEWLINK, 0, 7);
	alb_nl_feed(&x, craft_bytes(&c), c.len, &err);
	assert_false(x.done);
	assert_int_equal(s.calls, 2);
	c.len = 0;
	craft_error(&c, 7, 0, NULL);
	alb_nl_feed(&x, craft_bytes(&c), c.len, &err);
	assert_true(x.done);
	assert_int_equal(x.rc, 0);

	/* a kernel error with its explanation */
	struct alb_nl_exchange y = {.seq = 8, .what = "cannot attach tap"};
	c.len = 0;
	craft_error(&c, 8, -EBUSY, "Device is busy here");
	alb_nl_feed(&y, craft_bytes(&c), c.len, &err);
	assert_true(y.done);
	assert_int_equal(y.rc, ALB_ESYS);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(err.sys_errno, EBUSY);
	char want[ALB_ERROR_MSG_MAX];
	snprintf(want, sizeof(want), "cannot attach tap: %s (Device is busy here)",
		 strerror(EBUSY));
	assert_string_equal(err.msg, want);

	/* a malformed explanation is ignored, the error stays */
	struct alb_nl_exchange y2 = {.seq = 8, .what = "w"};
	c.len = 0;
	craft_error(&c, 8, -ENODEV, "x");
	uint16_t broken = 200;
	memcpy(craft_bytes(&c) + 36, &broken, sizeof(broken));
	alb_nl_feed(&y2, craft_bytes(&c), c.len, &err);
	assert_int_equal(y2.rc, ALB_ESYS);
	assert_int_equal(err.sys_errno, ENODEV);

	/* a dump's end carrying an error */
	struct alb_nl_exchange z = {.seq = 9, .what = "dump"};
	c.len = 0;
	craft_hdr(&c, 20, NLMSG_DONE, NLM_F_MULTI, 9);
	int e = -EINTR;
	craft_raw(&c, &e, sizeof(e));
	alb_nl_feed(&z, craft_bytes(&c), c.len, &err);
	assert_true(z.done);
	assert_int_equal(z.rc, ALB_ESYS);
	assert_int_equal(err.sys_errno, EINTR);
	/* and a clean end */
	struct alb_nl_exchange z2 = {.seq = 9, .what = "dump"};
	c.len = 0;
	craft_hdr(&c, 20, NLMSG_DONE, NLM_F_MULTI, 9);
	e = 0;
	craft_raw(&c, &e, sizeof(e));
	alb_nl_feed(&z2, craft_bytes(&c), c.len, &err);
	assert_true(z2.done);
	assert_int_equal(z2.rc, 0);
}

static void test_feed_hostile(void **state)
{
	(void)state;
	struct alb_error err;
	struct craft c = {0};

	/* the callback fails: no more calls, the rest is drained to the end */
	struct seen s = {.fail_with = ALB_ENOMEM};
	struct alb_nl_exchange x = {.seq = 1, .cb = count_cb, .ctx = &s,
				    .what = "w"};
	craft_hdr(&c, 16, RTM_NEWLINK, NLM_F_MULTI, 1);
	craft_hdr(&c, 16, RTM_NEWLINK, NLM_F_MULTI, 1);
	alb_nl_feed(&x, craft_bytes(&c), c.len, &err);
	assert_int_equal(s.calls, 1);
	assert_false(x.done);
	c.len = 0;
	craft_hdr(&c, 16, NLMSG_DONE, NLM_F_MULTI, 1);
	alb_nl_feed(&x, craft_bytes(&c), c.len, &err);
	assert_true(x.done);
	assert_int_equal(x.rc, ALB_ENOMEM);

	/* truncated datagram */
	struct alb_nl_exchange t = {.seq = 2, .what = "w"};
	c.len = 0;
	craft_hdr(&c, 64, RTM_NEWLINK, 0, 2);
	alb_nl_feed(&t, craft_bytes(&c), c.len, &err);
	assert_true(t.done);
	assert_int_equal(t.rc, ALB_EPROTO);
	assert_string_equal(err.msg, "w: malformed netlink reply");

	/* an error message too short to hold its code */
	struct alb_nl_exchange u = {.seq = 3, .what = "w"};
	c.len = 0;
	craft_hdr(&c, 18, NLMSG_ERROR, 0, 3);
	craft_raw(&c, "\0\0\0\0", 4);
	alb_nl_feed(&u, craft_bytes(&c), c.len, &err);
	assert_int_equal(u.rc, ALB_EPROTO);

	/* an error code that is no errno */
	struct alb_nl_exchange v = {.seq = 4, .what = "w"};
	c.len = 0;
	craft_error(&c, 4, 5, NULL);
	alb_nl_feed(&v, craft_bytes(&c), c.len, &err);
	assert_int_equal(v.rc, ALB_EPROTO);
	struct alb_nl_exchange v2 = {.seq = 4, .what = "w"};
	c.len = 0;
	craft_error(&c, 4, INT_MIN, NULL);
	alb_nl_feed(&v2, craft_bytes(&c), c.len, &err);
	assert_int_equal(v2.rc, ALB_EPROTO);

	/* an overrun control message */
	struct alb_nl_exchange w = {.seq = 5, .what = "w"};
	c.len = 0;
	craft_hdr(&c, 16, NLMSG_OVERRUN, 0, 5);
	alb_nl_feed(&w, craft_bytes(&c), c.len, &err);
	assert_int_equal(w.rc, ALB_EPROTO);

	/* nothing after the end is looked at */
	struct seen s2 = {0};
	struct alb_nl_exchange d = {.seq = 6, .cb = count_cb, .ctx = &s2,
				    .what = "w"};
	c.len = 0;
	craft_error(&c, 6, 0, NULL);
	craft_hdr(&c, 16, RTM_NEWLINK, 0, 6);
	craft_hdr(&c, 99, RTM_NEWLINK, 0, 6);
	alb_nl_feed(&d, craft_bytes(&c), c.len, &err);
	assert_true(d.done);
	assert_int_equal(d.rc, 0);
	assert_int_equal(s2.calls, 0);
}

/* ---- against the kernel, in a private network namespace ------------------ */

#define NS_SKIP 77

/* Checks in the forked child: report and leave with status 1. */
#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                           \
			test_child_exit(1);                                           \
		}                                                           \
	} while (0)
#define CHECK_RC(expr, want)                                                \
	do {                                                                \
		int rc_ = (expr);                                           \
		if (rc_ != (want)) {                                        \
			fprintf(stderr, "%s:%d: %s = %d (want %d): %s\n",   \
				__FILE__, __LINE__, #expr, rc_, (want),     \
				err.msg);                                   \
			test_child_exit(1);                                           \
		}                                                           \
	} while (0)

/* Reads /sys/class/net/<ifname>/<file> (the namespace's own sysfs). */
static bool sys_read(const char *ifname, const char *file, char *buf,
		     size_t size)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, file);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	bool ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

static long sys_num(const char *ifname, const char *file)
{
	char buf[64];
	CHECK(sys_read(ifname, file, buf, sizeof(buf)));
	return strtol(buf, NULL, 0);
}

static bool sys_exists(const char *ifname)
{
	char path[128];
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	return access(path, F_OK) == 0;
}

static int sys_count_links(void)
{
	char buf[64];
	int n = 0;
	for (int i = 1; i < 4096; i++)
		if (if_indextoname((unsigned)i, buf) != NULL)
			n++;
	return n;
}

/* The tap as the kernel sees it: up, a persistent tap, enslaved to br. */
static void check_tap(const char *tap, const char *br)
{
	CHECK(sys_num(tap, "flags") & IFF_UP);
	CHECK(sys_num(tap, "tun_flags") == (IFF_TAP | IFF_NO_PI | IFF_PERSIST));
	CHECK(sys_num(tap, "master/ifindex") == (long)if_nametoindex(br));
	CHECK(sys_num(tap, "owner") == -1);
}

/* Opens the tap by name as Solo5 does and sends count frames of len
 * bytes through it (the kernel counts them as the tap's input). */
static void send_frames(const char *tap, int count, size_t len)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	CHECK(ioctl(fd, TUNSETIFF, &ifr) == 0);
	uint8_t frame[1514];
	CHECK(len <= sizeof(frame));
	memset(frame, 0, sizeof(frame));
	memset(frame, 0xff, 6);                                   /* broadcast */
	memcpy(frame + 6, "\x00\x80\x41\x01\x02\x03", 6);           /* source */
	frame[12] = 0x88;                                           /* local */
	frame[13] = 0xb5;                                           /* ethertype */
	for (int i = 0; i < count; i++)
		CHECK(write(fd, frame, len) == (ssize_t)len);
	close(fd);
}

struct found {
	const char *name;
	int seen, links;
	struct alb_ifdata d;
};

static int find_cb(void *ctx, int ifindex, const char *ifname,
		   const struct alb_ifdata *d)
{
	struct found *f = ctx;
	f->links++;
	if (ifindex > 0 && strcmp(ifname, f->name) == 0) {
		f->seen++;
		f->d = *d;
	}
	return 0;
}

static int stop_cb(void *ctx, int ifindex, const char *ifname,
		   const struct alb_ifdata *d)
{
	(void)ifindex;
	(void)ifname;
	(void)d;
	(*(int *)ctx)++;
	return ALB_EBUSY;
}

static void *destroy_thread(void *arg)
{
	/* NULL handle: each call opens its own socket, so threads may race */
	return (void *)(intptr_t)alb_tap_destroy(NULL, arg, NULL);
}

/* Deletes a persistent tap as another program would, behind the
 * library's back: attach to it and make it non-persistent. */
static bool tap_unpersist(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI);
	bool ok = fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) == 0 &&
		  ioctl(fd, TUNSETPERSIST, 0) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Creates a tap on bridge and checks its name. */
static void tap_is(struct alb_net *net, const char *bridge, const char *want)
{
	char tap[ALB_IFNAME_SIZE];
	struct alb_error err = {0};
	CHECK_RC(alb_tap_create(net, bridge, tap, &err), 0);
	if (strcmp(tap, want) != 0)
		printf("tap %s, expected %s\n", tap, want);
	CHECK(strcmp(tap, want) == 0);
}

/* A thread that makes n fresh network namespaces one after the other and
 * creates a bridge and a tap in each: every one gets vmmtap0, whatever the
 * hint of the namespace the thread started in. */
static void *namespaces_thread(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	for (size_t i = 0; i < n; i++) {
		char tap[ALB_IFNAME_SIZE];
		if (unshare(CLONE_NEWNET) != 0 ||
		    alb_bridge_create(NULL, "albbr9", NULL) != 0 ||
		    alb_tap_create(NULL, "albbr9", tap, NULL) != 0 ||
		    strcmp(tap, "vmmtap0") != 0)
			return (void *)1;
	}
	return NULL;
}

static bool other_namespaces(size_t n)
{
	pthread_t t;
	void *ret = (void *)1;
	if (pthread_create(&t, NULL, namespaces_thread, (void *)(uintptr_t)n) != 0 ||
	    pthread_join(t, &ret) != 0)
		return false;
	return ret == NULL;
}

/* The search for a free name starts at a hint: past the names taken, back
 * down at a name freed here, its own in another network namespace. */
static void hint_scenario(struct alb_net *net)
{
	struct alb_error err = {0};
	tap_is(net, "albbr1", "vmmtap0");
	tap_is(NULL, "albbr1", "vmmtap1");
	tap_is(net, "albbr1", "vmmtap2");
	/* freed behind our back: below the hint, not seen yet */
	CHECK(tap_unpersist("vmmtap1"));
	CHECK(!sys_exists("vmmtap1"));
	tap_is(net, "albbr1", "vmmtap3");
	/* freed here: the search starts there again, and finds 1 too */
	CHECK_RC(alb_tap_destroy(NULL, "vmmtap0", &err), 0);
	tap_is(net, "albbr1", "vmmtap0");
	tap_is(net, "albbr1", "vmmtap1");
	tap_is(net, "albbr1", "vmmtap4");

	/* Other network namespaces have hints of their own, and ours is
	 * remembered while fewer than ALB_TAP_HINT_NETNS_MAX namespaces were
	 * used since: with vmmtap1 freed behind our back, a create that
	 * starts at our hint takes vmmtap5, one that starts from 0 vmmtap1. */
	CHECK(tap_unpersist("vmmtap1"));
	CHECK(other_namespaces(ALB_TAP_HINT_NETNS_MAX - 1));
	tap_is(net, "albbr1", "vmmtap5");
	CHECK(other_namespaces(ALB_TAP_HINT_NETNS_MAX));
	tap_is(net, "albbr1", "vmmtap1");

	static const char *const all[] = {"vmmtap0", "vmmtap1", "vmmtap2",
					  "vmmtap3", "vmmtap4", "vmmtap5"};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		CHECK_RC(alb_tap_destroy(net, all[i], &err), 0);
	tap_is(net, "albbr1", "vmmtap0");
	CHECK_RC(alb_tap_destroy(net, "vmmtap0", &err), 0);
}

/* Taps deleted in one batch: the taps go, a bridge named in the list
 * stays (EINVAL), a missing name is skipped, an interface already in the
 * first group of the batch range keeps its group and its life. */
static void batch_scenario(struct alb_net *net)
{
	struct alb_error err = {0};
	CHECK_RC(alb_bridge_create(net, "albbr5", &err), 0);
	CHECK_RC(alb_bridge_create(net, "albgrp", &err), 0);
	const uint32_t group = 0x616c6200u;
	struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC,
				.ifi_index = (int)if_nametoindex("albgrp")};
	struct alb_nl_req r;
	alb_nl_req_init(&r, RTM_NEWLINK, 0, &ifi, sizeof(ifi));
	alb_nla_put_u32(&r, IFLA_GROUP, group);
	CHECK_RC(alb_nl_talk(net, &r, NULL, NULL, "set group", &err), 0);
	CHECK(sys_num("albgrp", "netdev_group") == (long)group);
	enum { TAPS = 38 };
	struct alb_ifname list[TAPS + 2];
	for (int i = 0; i < TAPS; i++)
		CHECK_RC(alb_tap_create(net, "albbr5", list[i].name, &err), 0);
	snprintf(list[TAPS].name, sizeof(list[TAPS].name), "albbr5");
	snprintf(list[TAPS + 1].name, sizeof(list[TAPS + 1].name), "vmmtap99");
	int before = sys_count_links();
	CHECK_RC(alb_taps_destroy(net, list, TAPS + 2, &err), ALB_EINVAL);
	CHECK(strcmp(err.msg, "interface albbr5 is not a tap") == 0);
	CHECK(sys_count_links() == before - TAPS);
	for (int i = 0; i < TAPS; i++)
		CHECK(!sys_exists(list[i].name));
	CHECK(sys_exists("albbr5") && sys_exists("albgrp"));
	CHECK(sys_num("albgrp", "netdev_group") == (long)group);
	/* one tap alone, none at all; the names are free again from 0 */
	CHECK_RC(alb_tap_create(net, "albbr5", list[0].name, &err), 0);
	CHECK(strcmp(list[0].name, "vmmtap0") == 0);
	CHECK_RC(alb_taps_destroy(NULL, list, 1, &err), 0);
	CHECK(!sys_exists("vmmtap0"));
	CHECK_RC(alb_taps_destroy(net, NULL, 0, &err), 0);
	tap_is(net, "albbr5", "vmmtap0");
	CHECK_RC(alb_tap_destroy(net, "vmmtap0", &err), 0);
	CHECK_RC(alb_bridge_delete(net, "albbr5", &err), 0);
	CHECK_RC(alb_bridge_delete(net, "albgrp", &err), 0);
}

static void ns_scenario(void)
{
	struct alb_error err = {0};
	struct alb_net *net = NULL;
	char tap[ALB_IFNAME_SIZE];
	CHECK_RC(alb_net_new(&net, &err), 0);

	/* bridges */
	CHECK_RC(alb_bridge_create(net, "albbr0", &err), 0);
	CHECK_RC(alb_bridge_create(net, "albbr0", &err), ALB_EEXIST);
	CHECK(strcmp(err.msg, "interface albbr0 already exists") == 0);
	CHECK_RC(alb_bridge_create(NULL, "albbr1", &err), 0);
	CHECK_RC(alb_bridge_create(net, "bad/name", &err), ALB_EINVAL);
	CHECK(sys_num("albbr0", "flags") & IFF_UP);
	CHECK_RC(alb_bridge_check(net, "albbr0", &err), 0);
	CHECK_RC(alb_bridge_check(net, "lo", &err), 0); /* existence only */
	CHECK_RC(alb_bridge_check(net, "nobr0", &err), ALB_ENOENT);
	CHECK(strcmp(err.msg, "interface nobr0 does not exist") == 0);
	CHECK_RC(alb_bridge_check(net, "a/b", &err), ALB_ENOENT);
	CHECK(strcmp(err.msg, "interface a/b does not exist") == 0);

	/* taps: lowest free N, up, enslaved */
	CHECK_RC(alb_tap_create(net, "albbr0", tap, &err), 0);
	CHECK(strcmp(tap, "vmmtap0") == 0);
	CHECK_RC(alb_tap_create(NULL, "albbr1", tap, &err), 0);
	CHECK(strcmp(tap, "vmmtap1") == 0);
	check_tap("vmmtap0", "albbr0");
	check_tap("vmmtap1", "albbr1");

	/* missing bridge: Albatross's text, nothing created */
	int before = sys_count_links();
	CHECK_RC(alb_tap_create(net, "nobr0", tap, &err), ALB_ENOENT);
	CHECK(strcmp(err.msg, "interface nobr0 does not exist") == 0);
	/* a master that cannot take ports: the new tap is rolled back */
	CHECK_RC(alb_tap_create(net, "lo", tap, &err), ALB_ESYS);
	CHECK(strncmp(err.msg, "cannot attach tap vmmtap2 to lo: ", 33) == 0);
	CHECK(!sys_exists("vmmtap2"));
	CHECK(sys_count_links() == before);

	/* bridges listed: exactly the two */
	struct alb_ifname *names = NULL;
	size_t n = 0;
	CHECK_RC(alb_bridge_list(net, &names, &n, &err), 0);
	CHECK(n == 2);
	CHECK(strcmp(names[0].name, "albbr0") == 0);
	CHECK(strcmp(names[1].name, "albbr1") == 0);
	free(names);

	/* counters: frames written by the "unikernel" are the tap's input */
	send_frames("vmmtap0", 3, 60);
	struct alb_ifdata d;
	memset(&d, 0x5a, sizeof(d));
	d.bridge = (struct alb_str){"service", 7};
	CHECK_RC(alb_ifdata_get(net, "vmmtap0", &d, &err), 0);
	CHECK(d.input_packets == 3 && d.input_bytes == 180);
	CHECK(d.input_errors == 0 && d.input_dropped == 0);
	CHECK(d.mtu == 1500 && (d.flags & IFF_UP));
	CHECK(d.send_length == 0 && d.max_send_length == 0 && d.baudrate == 0);
	CHECK(d.output_mcast == 0 && d.send_drops == 0);
	CHECK(d.bridge.ptr != NULL && strcmp(d.bridge.ptr, "service") == 0);
	struct alb_ifdata e = {.bridge = {NULL, 0}};
	CHECK_RC(alb_ifdata_get_index(NULL, (int)if_nametoindex("vmmtap0"), &e,
				      &err), 0);
	CHECK(e.input_packets == 3 && e.input_bytes == 180);
	CHECK_RC(alb_ifdata_get(net, "vmmtap9", &e, &err), ALB_ENOENT);
	CHECK(strcmp(err.msg, "interface vmmtap9 does not exist") == 0);
	CHECK_RC(alb_ifdata_get_index(net, 4000, &e, &err), ALB_ENOENT);
	struct found f = {.name = "vmmtap0"};
	CHECK_RC(alb_ifdata_dump(net, find_cb, &f, &err), 0);
	CHECK(f.seen == 1 && f.links == sys_count_links());
	CHECK(f.d.input_packets == 3 && f.d.bridge.ptr == NULL);
	/* a callback stopping the dump; the handle still works afterwards */
	int calls = 0;
	CHECK_RC(alb_ifdata_dump(net, stop_cb, &calls, &err), ALB_EBUSY);
	CHECK(calls == 1);
	f = (struct found){.name = "albbr1"};
	CHECK_RC(alb_ifdata_dump(net, find_cb, &f, &err), 0);
	CHECK(f.seen == 1);

	/* N counts any interface named vmmtapN, not only taps */
	CHECK_RC(alb_bridge_create(net, "vmmtap2", &err), 0);
	CHECK_RC(alb_tap_create(net, "albbr0", tap, &err), 0);
	CHECK(strcmp(tap, "vmmtap3") == 0);
	CHECK_RC(alb_tap_destroy(net, "vmmtap2", &err), ALB_EINVAL);
	CHECK(strcmp(err.msg, "interface vmmtap2 is not a tap") == 0);
	CHECK(sys_exists("vmmtap2"));
	CHECK_RC(alb_bridge_delete(net, "vmmtap3", &err), ALB_EINVAL);
	CHECK(strcmp(err.msg, "interface vmmtap3 is not a bridge") == 0);
	CHECK_RC(alb_bridge_delete(net, "vmmtap2", &err), 0);

	/* a freed N is handed out again */
	CHECK_RC(alb_tap_destroy(net, "vmmtap0", &err), 0);
	CHECK(!sys_exists("vmmtap0"));
	CHECK_RC(alb_tap_destroy(net, "vmmtap0", &err), ALB_ENOENT);
	CHECK(strcmp(err.msg, "interface vmmtap0 does not exist") == 0);
	CHECK_RC(alb_tap_create(net, "albbr1", tap, &err), 0);
	CHECK(strcmp(tap, "vmmtap0") == 0);
	check_tap("vmmtap0", "albbr1");

	/* destroying on worker threads, concurrently */
	static const char *const taps[] = {"vmmtap0", "vmmtap1", "vmmtap3"};
	pthread_t th[3];
	for (size_t i = 0; i < 3; i++)
		CHECK(pthread_create(&th[i], NULL, destroy_thread,
				     (void *)taps[i]) == 0);
	for (size_t i = 0; i < 3; i++) {
		void *ret;
		CHECK(pthread_join(th[i], &ret) == 0);
		CHECK((intptr_t)ret == 0);
		CHECK(!sys_exists(taps[i]));
	}

	hint_scenario(net);
	batch_scenario(net);

	/* deleting a bridge frees its ports but keeps them */
	CHECK_RC(alb_tap_create(net, "albbr0", tap, &err), 0);
	CHECK_RC(alb_bridge_delete(net, "albbr0", &err), 0);
	CHECK(sys_exists(tap));
	char master[8];
	CHECK(!sys_read(tap, "master/ifindex", master, sizeof(master)));
	CHECK_RC(alb_tap_destroy(net, tap, &err), 0);
	CHECK_RC(alb_bridge_delete(NULL, "albbr1", &err), 0);
	CHECK_RC(alb_bridge_delete(net, "albbr1", &err), ALB_ENOENT);

	/* nothing is left but lo */
	names = NULL;
	CHECK_RC(alb_bridge_list(net, &names, &n, &err), 0);
	CHECK(n == 0 && names == NULL);
	CHECK(sys_count_links() == 1 && sys_exists("lo"));
	alb_net_free(net);
	alb_net_free(NULL);
}

/* Attaches to tap by name as a tender under uid would (the device is
 * opened first, as root: /dev/net/tun need not be open to everyone here;
 * TUNSETIFF checks the caller's credentials at the ioctl). Returns 0 on
 * success, else the errno of TUNSETIFF. */
static int attach_as(const char *tap, uid_t uid)
{
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0 || setresgid(uid, uid, uid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			test_child_exit(255);
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
		test_child_exit(ioctl(fd, TUNSETIFF, &ifr) == 0 ? 0 : errno);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 255);
	return WEXITSTATUS(status);
}

#define OWNER_A 3000000200u
#define OWNER_B 3000000201u

/* A tap made for a uid: its owner attaches by name without
 * CAP_NET_ADMIN, another uid may not (a tap without an owner is open to
 * anyone); the limits of the owner. */
static void owner_scenario(void)
{
	struct alb_error err = {0};
	char tap[ALB_IFNAME_SIZE], other[ALB_IFNAME_SIZE], free_tap[ALB_IFNAME_SIZE];
	CHECK_RC(alb_bridge_create(NULL, "albbr0", &err), 0);
	CHECK_RC(alb_tap_create_owned(NULL, "albbr0", OWNER_A, tap, &err), 0);
	CHECK_RC(alb_tap_create_owned(NULL, "albbr0", OWNER_B, other, &err), 0);
	CHECK_RC(alb_tap_create(NULL, "albbr0", free_tap, &err), 0);
	CHECK(sys_num(tap, "owner") == (long)OWNER_A);
	CHECK(sys_num(free_tap, "owner") == -1);
	/* up, on its bridge, persistent, as any tap */
	CHECK(sys_num(tap, "flags") & IFF_UP);
	CHECK(sys_num(tap, "tun_flags") == (IFF_TAP | IFF_NO_PI | IFF_PERSIST));
	CHECK(sys_num(tap, "master/ifindex") == (long)if_nametoindex("albbr0"));
	CHECK(attach_as(tap, OWNER_A) == 0);
	CHECK(attach_as(tap, OWNER_B) == EPERM);
	CHECK(attach_as(other, OWNER_A) == EPERM);
	CHECK(attach_as(other, OWNER_B) == 0);
	/* without an owner any uid may: the hole the owner closes */
	CHECK(attach_as(free_tap, OWNER_A) == 0);

	/* the highest uid there is, and one past it; below -1 */
	char t[ALB_IFNAME_SIZE];
	CHECK_RC(alb_tap_create_owned(NULL, "albbr0", (int64_t)UINT32_MAX - 1, t,
				      &err), 0);
	CHECK(sys_num(t, "owner") == (long)UINT32_MAX - 1);
	CHECK_RC(alb_tap_destroy(NULL, t, &err), 0);
	int before = sys_count_links();
	CHECK_RC(alb_tap_create_owned(NULL, "albbr0", (int64_t)UINT32_MAX, t, &err),
		 ALB_EINVAL);
	CHECK(strcmp(err.msg, "invalid tap owner 4294967295") == 0);
	CHECK_RC(alb_tap_create_owned(NULL, "albbr0", -2, t, &err), ALB_EINVAL);
	CHECK(sys_count_links() == before);

	CHECK_RC(alb_tap_destroy(NULL, tap, &err), 0);
	CHECK_RC(alb_tap_destroy(NULL, other, &err), 0);
	CHECK_RC(alb_tap_destroy(NULL, free_tap, &err), 0);
	CHECK_RC(alb_bridge_delete(NULL, "albbr0", &err), 0);
}

/* Runs fn in a child inside fresh network and mount namespaces (the
 * parent, and so the host's interfaces, are never touched). */
static void run_in_netns(void (*fn)(void))
{
	if (geteuid() != 0) {
		printf("SKIP: not root, no private network namespace\n");
		skip();
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
			printf("SKIP: unshare: %s\n", strerror(errno));
			fflush(stdout);
			test_child_exit(NS_SKIP);
		}
		/* this namespace's own sysfs, to look at its interfaces */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount("sysfs", "/sys", "sysfs", 0, NULL) != 0) {
			printf("SKIP: cannot mount sysfs: %s\n", strerror(errno));
			fflush(stdout);
			test_child_exit(NS_SKIP);
		}
		if (access("/dev/net/tun", R_OK | W_OK) != 0) {
			printf("SKIP: /dev/net/tun: %s\n", strerror(errno));
			fflush(stdout);
			test_child_exit(NS_SKIP);
		}
		fn();
		fflush(stdout);
		test_child_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == NS_SKIP)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_kernel(void **state)
{
	(void)state;
	run_in_netns(ns_scenario);
}

static void test_tap_owner(void **state)
{
	(void)state;
	run_in_netns(owner_scenario);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_derive),
		cmocka_unit_test(test_mac_print_parse),
		cmocka_unit_test(test_ifname_valid),
		cmocka_unit_test(test_tap_name_index),
		cmocka_unit_test(test_req_builder),
		cmocka_unit_test(test_req_limit),
		cmocka_unit_test(test_nla_parse),
		cmocka_unit_test(test_nla_getters),
		cmocka_unit_test(test_nl_next),
		cmocka_unit_test(test_link_parse),
		cmocka_unit_test(test_feed),
		cmocka_unit_test(test_feed_hostile),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_tap_owner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
