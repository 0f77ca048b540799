/* Fault injection: Block_set streams that must not damage the device —
 * data larger than the device (plain and compressed), a corrupt
 * compressed stream, one cut short, a client that disconnects mid-stream,
 * and albd killed in the middle of a stream. Each time the device keeps
 * its exact previous bytes (checked by SHA-256 of the file), the reply
 * (where there is a client to hear it) says why, no unfinished file is
 * left, and the device survives albd restarts (kill -9 and SIGTERM) with
 * the same bytes, as block info and a dump through albd show.
 * SPDX-License-Identifier: ISC */
#include <sys/socket.h>
#include <sys/un.h>

#include "faults.h"

static struct harness H;
static char dev[H_PATH * 2], tmp_dev[H_PATH * 2];

static uint8_t *random_bytes(size_t n, uint64_t seed)
{
	uint8_t *p = malloc(n);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(f_rand(&seed) >> 56);
	return p;
}

/* Block_set of :d with a raw stream of data (sent as it is, whatever
 * compressed says); the reply text into out. */
static const char *set(bool compressed, const uint8_t *data, size_t len,
		       char *out, size_t size)
{
	struct alb_command cmd = {.kind = ALB_CMD_BLOCK_SET};
	cmd.u.block_compressed = compressed;
	return h_call_stream(&H, ":d", &cmd, data, len, out, size);
}

/* Connects, sends Block_set of :d (not compressed) and len bytes of
 * stream chunks without the end marker; the socket (still open). */
static int set_partial(const uint8_t *data, size_t len)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(H.sock) >= sizeof(sa.sun_path)) {
		close(s);
		return -1;
	}
	memcpy(sa.sun_path, H.sock, strlen(H.sock) + 1);
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(s);
		return -1;
	}
	struct alb_msg m = {.kind = ALB_PAYLOAD_COMMAND};
	m.header = (struct alb_header){ALB_WIRE_VERSION, 1, ":d"};
	m.u.command.kind = ALB_CMD_BLOCK_SET;
	struct alb_buf b = {0};
	bool ok = alb_msg_encode(&m, ALB_ENCODE_FRAMED, &b, NULL) == 0 &&
		  write(s, b.data, b.len) == (ssize_t)b.len;
	alb_buf_free(&b);
	for (size_t o = 0; ok && o < len; o += 4096) {
		uint8_t hdr[ALB_FRAME_HEADER_LEN];
		size_t n = len - o < 4096 ? len - o : 4096;
		ok = alb_frame_header(hdr, n, NULL) == 0 &&
		     write(s, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) &&
		     write(s, data + o, n) == (ssize_t)n;
	}
	if (!ok) {
		close(s);
		return -1;
	}
	return s;
}

/* The device holds exactly want (hex SHA-256) and nothing unfinished is
 * beside it, within timeout_ms (albd notices a lost client at once, but
 * asynchronously). */
static bool device_is(const char *want, int timeout_ms)
{
	char got[2 * ALB_SHA256_LEN + 1];
	for (int64_t end = h_now_us() + (int64_t)timeout_ms * 1000;;
	     h_sleep_ms(10)) {
		f_file_hash(dev, got);
		if (strcmp(got, want) == 0 && access(tmp_dev, F_OK) != 0)
			return true;
		if (h_now_us() >= end)
			break;
	}
	fprintf(stderr, "device %s, expected %s; %s %s\n", got, want, tmp_dev,
		access(tmp_dev, F_OK) == 0 ? "left behind" : "absent");
	return false;
}

/* Block info and a dump through albd agree with the file. */
static void albd_sees(const char *want)
{
	struct alb_command bi = {.kind = ALB_CMD_BLOCK_INFO};
	struct alb_msg *m = h_call(&H, ":d", &bi);
	F_CHECK(m != NULL && m->kind == ALB_PAYLOAD_SUCCESS &&
		m->u.success.kind == ALB_REPLY_BLOCK_DEVICES &&
		m->u.success.u.blocks.n == 1 &&
		m->u.success.u.blocks.v[0].size == 1,
		"block info of :d after a restart: %s", h_text(m));
	alb_msg_free(m);
	struct alb_command dump = {.kind = ALB_CMD_BLOCK_DUMP};
	struct alb_client *c = NULL;
	m = h_call_keep(&H, ":d", &dump, &c);
	char path[H_PATH * 2], got[2 * ALB_SHA256_LEN + 1];
	snprintf(path, sizeof(path), "%s/download", H.root);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	F_CHECK(m != NULL && m->kind == ALB_PAYLOAD_SUCCESS &&
		alb_client_recv_dump(c, false, fd, NULL, NULL) == 0,
		"dump of :d: %s", h_text(m));
	close(fd);
	alb_msg_free(m);
	alb_client_close(c);
	f_file_hash(path, got);
	F_CHECK(strcmp(got, want) == 0, "dump of :d: %s, expected %s", got, want);
}

static int body(void)
{
	if (f_world(&H, "blockset") != 0 || h_start_albd(&H, "-q") != 0)
		return 1;
	snprintf(dev, sizeof(dev), "%s/block/:d", H.dbdir);
	snprintf(tmp_dev, sizeof(tmp_dev), "%s/block/#:d", H.dbdir);
	char out[512], want[2 * ALB_SHA256_LEN + 1];
	struct alb_command add = {.kind = ALB_CMD_BLOCK_ADD};
	add.u.block_size = 1;
	F_CHECK(h_call_is(&H, ":d", &add, "added block device"), "add");

	/* the contents to keep */
	uint8_t *good = random_bytes(F_MIB, 1);
	F_CHECK(strcmp(set(false, good, F_MIB, out, sizeof(out)),
		       "set block device") == 0, "a valid set: %s", out);
	char path[H_PATH * 2];
	snprintf(path, sizeof(path), "%s/good", H.root);
	h_write_file(path, good, F_MIB);
	f_file_hash(path, want);
	F_CHECK(device_is(want, 0), "after a valid set");

	/* one byte larger than the device, plain and compressed */
	uint8_t *big = random_bytes(F_MIB + 1, 2);
	F_CHECK(strcmp(set(false, big, F_MIB + 1, out, sizeof(out)),
		       "stream exceeds size") == 0, "too large: %s", out);
	F_CHECK(device_is(want, 0), "after a stream too large");
	struct alb_buf z = {0};
	alb_zlib_deflate(big, F_MIB + 1, 6, &z, NULL);
	F_CHECK(strcmp(set(true, z.data, z.len, out, sizeof(out)),
		       "stream exceeds size") == 0, "too large, compressed: %s", out);
	F_CHECK(device_is(want, 0), "after a compressed stream too large");

	/* a corrupt compressed stream, and a valid one cut short */
	uint8_t *junk = random_bytes(100000, 3);
	set(true, junk, 100000, out, sizeof(out));
	F_CHECK(strcmp(out, "set block device") != 0 && out[0] != '(',
		"a corrupt stream: %s", out);
	F_CHECK(device_is(want, 0), "after a corrupt stream (%s)", out);
	printf("corrupt compressed stream: %s\n", out);
	alb_buf_free(&z);
	uint8_t *other = random_bytes(F_MIB / 2, 4);
	alb_zlib_deflate(other, F_MIB / 2, 6, &z, NULL);
	set(true, z.data, z.len / 2, out, sizeof(out));
	F_CHECK(strcmp(out, "set block device") != 0 && out[0] != '(',
		"a stream cut short: %s", out);
	F_CHECK(device_is(want, 0), "after a stream cut short (%s)", out);
	printf("compressed stream cut short: %s\n", out);
	alb_buf_free(&z);

	/* a client that goes away in the middle of a stream */
	int s = set_partial(other, F_MIB / 2);
	F_CHECK(s >= 0, "partial stream");
	h_sleep_ms(50);
	close(s);
	F_CHECK(device_is(want, 2000), "after a client went away");
	/* the device is usable again (no longer busy) */
	F_CHECK(strcmp(set(false, good, F_MIB, out, sizeof(out)),
		       "set block device") == 0, "set after a lost client: %s", out);

	/* albd killed in the middle of a stream */
	s = set_partial(other, F_MIB / 2);
	h_sleep_ms(50);
	h_stop(&H, SIGKILL);
	close(s);
	F_CHECK(access(tmp_dev, F_OK) == 0, "no unfinished write to leave");
	F_CHECK(h_start_albd(&H, "-q") == 0, "albd restarts");
	F_CHECK(device_is(want, 0), "after albd died mid-stream");
	albd_sees(want);

	/* and a clean restart */
	h_stop(&H, SIGTERM);
	F_CHECK(h_start_albd(&H, "-q") == 0, "albd restarts");
	F_CHECK(device_is(want, 0), "after a restart");
	albd_sees(want);
	printf("block set: 7 broken streams, the device kept its %zu bytes "
	       "(sha256 %.16s...); %d failed checks\n", F_MIB, want, f_failures);
	fflush(stdout);
	free(good);
	free(big);
	free(junk);
	free(other);
	h_stop(&H, SIGTERM);
	return f_failures == 0 ? 0 : 1;
}

int main(void)
{
	if (getenv("ALB_FAKE_TENDER") == NULL) {
		printf("skipped: ALB_FAKE_TENDER is not set\n");
		return SKIP_STATUS;
	}
	return run_in_netns(body);
}
