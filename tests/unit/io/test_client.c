/* Tests of the client module (lib/client.c) and of alb-deploy/alb-info
 * against a fake daemon: a thread behind a Unix socket in a temporary
 * directory that reads what the client sends and answers with reply frames
 * recorded from the real albatrossd (vectors/transcripts).
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <cmocka.h>

#include "albatross/albatross.h"
#include "cli_test_util.h"
#include "proto/wire_codec.h"

#define MAX_REPLIES 300

static const uint8_t zeros64k[65536];

/* What the fake daemon does on its one connection, and what it saw. */
struct fake {
	char dir[64];
	char path[128];
	int lfd;
	pthread_t thread;
	/* script */
	size_t n_replies;
	uint8_t *reply[MAX_REPLIES];
	size_t reply_len[MAX_REPLIES];
	bool read_stream;  /* frames after the command, up to a zero frame */
	bool hold;         /* send nothing, wait for the client to go */
	const uint8_t *raw; /* bytes sent as they are instead of replies */
	size_t raw_len;
	size_t zeros;       /* then as many zero bytes */
	/* record */
	struct alb_buf cmd;
	size_t n_chunks;
	size_t max_chunk;
	uint8_t *stream;
	size_t stream_len;
	bool got_end;
};

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (alb_frame_read_fd(fd, 0, &f->cmd, NULL) == 0 && f->read_stream) {
		for (;;) {
			struct alb_buf b = {0};
			int rc = alb_frame_read_fd(fd, 0, &b, NULL);
			if (rc == ALB_EEOF) {
				f->got_end = true;
				break;
			}
			if (rc < 0)
				break;
			f->n_chunks++;
			if (b.len > f->max_chunk)
				f->max_chunk = b.len;
			f->stream = realloc(f->stream, f->stream_len + b.len);
			memcpy(f->stream + f->stream_len, b.data, b.len);
			f->stream_len += b.len;
			alb_buf_free(&b);
		}
	}
	if (f->raw != NULL) {
		ssize_t w = write(fd, f->raw, f->raw_len);
		(void)w;
	}
	for (size_t left = f->zeros; left > 0;) {
		ssize_t w = write(fd, zeros64k, left < sizeof(zeros64k) ? left : sizeof(zeros64k));
		if (w <= 0)
			break;
		left -= (size_t)w;
	}
	for (size_t i = 0; i < f->n_replies; i++)
		if (alb_frame_write_fd(fd, f->reply[i], f->reply_len[i], NULL) < 0)
			break;
	if (f->hold) {
		char c;
		while (read(fd, &c, 1) > 0)
			;
	}
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/alb-fake-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/vmmd.sock", f->dir);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	assert_true(strlen(f->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, f->path, strlen(f->path));
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_cleanup(struct fake *f)
{
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	for (size_t i = 0; i < f->n_replies; i++)
		free(f->reply[i]);
	alb_buf_free(&f->cmd);
	free(f->stream);
}

static void fake_finish(struct fake *f)
{
	pthread_join(f->thread, NULL);
	fake_cleanup(f);
}

/* Adds a reply read from the vectors; false when they are missing. */
static bool fake_reply(struct fake *f, const char *rel)
{
	assert_true(f->n_replies < MAX_REPLIES);
	f->reply[f->n_replies] = read_vector(rel, &f->reply_len[f->n_replies]);
	if (f->reply[f->n_replies] == NULL)
		return false;
	f->n_replies++;
	return true;
}

static void fake_reply_bytes(struct fake *f, const uint8_t *p, size_t len)
{
	f->reply[f->n_replies] = malloc(len ? len : 1);
	memcpy(f->reply[f->n_replies], p, len);
	f->reply_len[f->n_replies++] = len;
}

/* ---- endpoints, paths, encoding ---------------------------------------- */

static void test_endpoints(void **state)
{
	(void)state;
	assert_int_equal(alb_command_endpoint(ALB_CMD_UNIKERNEL_CREATE), ALB_ENDPOINT_VMMD);
	assert_int_equal(alb_command_endpoint(ALB_CMD_POLICY_ADD), ALB_ENDPOINT_VMMD);
	assert_int_equal(alb_command_endpoint(ALB_CMD_BLOCK_DUMP), ALB_ENDPOINT_VMMD);
	assert_int_equal(alb_command_endpoint(ALB_CMD_CONSOLE_SUBSCRIBE), ALB_ENDPOINT_CONSOLE);
	assert_int_equal(alb_command_endpoint(ALB_CMD_CONSOLE_LIST_INACTIVE), ALB_ENDPOINT_CONSOLE);
	assert_int_equal(alb_command_endpoint(ALB_CMD_STATS_SUBSCRIBE), ALB_ENDPOINT_STATS);
	assert_int_equal(alb_command_endpoint(ALB_CMD_STATS_ADD), ALB_ENDPOINT_STATS);
	assert_int_equal(alb_command_endpoint(ALB_CMD_STATS_INITIAL), ALB_ENDPOINT_VMMD);
	assert_int_equal(alb_command_reply_mode(ALB_CMD_UNIKERNEL_INFO), ALB_REPLY_MODE_SINGLE);
	assert_int_equal(alb_command_reply_mode(ALB_CMD_BLOCK_DUMP), ALB_REPLY_MODE_DUMP);
	assert_int_equal(alb_command_reply_mode(ALB_CMD_OLD_BLOCK_DUMP), ALB_REPLY_MODE_SINGLE);
	assert_int_equal(alb_command_reply_mode(ALB_CMD_CONSOLE_SUBSCRIBE), ALB_REPLY_MODE_READ);
	assert_int_equal(alb_command_reply_mode(ALB_CMD_STATS_SUBSCRIBE), ALB_REPLY_MODE_READ);
	assert_int_equal(alb_command_reply_mode(ALB_CMD_CONSOLE_LIST_INACTIVE), ALB_REPLY_MODE_SINGLE);

	char path[ALB_SOCKET_PATH_BUF];
	struct alb_error err = {0};
	assert_int_equal(alb_endpoint_socket_path(NULL, ALB_ENDPOINT_VMMD, path, &err), 0);
	assert_string_equal(path, "/run/albatross/util/vmmd.sock");
	assert_int_equal(alb_endpoint_socket_path("/x", ALB_ENDPOINT_CONSOLE, path, &err), 0);
	assert_string_equal(path, "/x/util/console.sock");
	assert_int_equal(alb_endpoint_socket_path("/x", ALB_ENDPOINT_STATS, path, &err), 0);
	assert_string_equal(path, "/x/util/stat.sock");
	/* "<dir>/util/vmmd.sock" is 15 bytes longer than dir: at the limit of
	 * ALB_SOCKET_PATH_MAX, and one past. */
	char dir[ALB_SOCKET_PATH_BUF];
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	dir[ALB_SOCKET_PATH_MAX - 15] = '\0';
	assert_int_equal(alb_endpoint_socket_path(dir, ALB_ENDPOINT_VMMD, path, &err), 0);
	assert_int_equal(strlen(path), ALB_SOCKET_PATH_MAX);
	dir[ALB_SOCKET_PATH_MAX - 15] = 'd';
	dir[ALB_SOCKET_PATH_MAX - 14] = '\0';
	assert_int_equal(alb_endpoint_socket_path(dir, ALB_ENDPOINT_VMMD, path, &err),
			 ALB_ETOOBIG);
}

static void test_encode(void **state)
{
	(void)state;
	NEED_TRANSCRIPTS("14-info");
	size_t len;
	uint8_t *want = read_vector("transcripts/14-info/01-001-c2s.der", &len);
	assert_non_null(want);
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_buf b = {0};
	struct alb_error err = {0};
	assert_int_equal(alb_client_encode_command("tenant:hello", &cmd, 0, &b, &err), 0);
	assert_int_equal(b.len, len);
	assert_memory_equal(b.data, want, len);
	alb_buf_free(&b);
	assert_int_equal(alb_client_encode_command("tenant:hello", &cmd,
						   ALB_ENCODE_FRAMED, &b, &err),
			 0);
	assert_int_equal(b.len, len + 4);
	assert_int_equal(b.data[3], len);
	assert_memory_equal(b.data + 4, want, len);
	alb_buf_free(&b);
	free(want);
}

/* ---- connections ---------------------------------------------------------- */

static void test_connect_errors(void **state)
{
	(void)state;
	struct alb_client *c = NULL;
	struct alb_error err = {0};
	assert_int_equal(alb_client_connect("/nonexistent/vmmd.sock", 0, &c, &err),
			 ALB_ESYS);
	assert_null(c);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_string_equal(err.msg,
			    "couldn't connect to unix domain socket /nonexistent/vmmd.sock: No such file or directory");
	char p[ALB_SOCKET_PATH_BUF + 1];
	memset(p, 'p', sizeof(p));
	p[0] = '/';
	p[ALB_SOCKET_PATH_MAX] = '\0'; /* at the limit: tried, not found */
	assert_int_equal(alb_client_connect(p, 0, &c, &err), ALB_ESYS);
	p[ALB_SOCKET_PATH_MAX] = 'p';
	p[ALB_SOCKET_PATH_MAX + 1] = '\0'; /* one past */
	assert_int_equal(alb_client_connect(p, 0, &c, &err), ALB_ETOOBIG);
	assert_int_equal(alb_client_connect("/x", -1, &c, &err), ALB_EINVAL);
	alb_client_close(NULL);
}

static struct alb_client *connect_fake(struct fake *f, int timeout_ms)
{
	struct alb_client *c;
	struct alb_error err = {0};
	assert_int_equal(alb_client_connect(f->path, timeout_ms, &c, &err), 0);
	return c;
}

static void test_single_reply(void **state)
{
	(void)state;
	NEED_TRANSCRIPTS("14-info");
	struct fake f = {0};
	assert_true(fake_reply(&f, "transcripts/14-info/01-002-s2c.der"));
	fake_start(&f);
	struct alb_client *c = connect_fake(&f, 5000);
	struct alb_error err = {0};
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_INFO};
	assert_int_equal(alb_client_send(c, "tenant:hello", &cmd, NULL, NULL, &err), 0);
	struct alb_msg *m;
	assert_int_equal(alb_client_recv(c, &m, &err), 0);
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_UNIKERNEL_INFO);
	assert_int_equal(m->u.success.u.infos.n, 1);
	assert_string_equal(m->u.success.u.infos.v[0].name, "tenant:hello");
	assert_int_equal(m->u.success.u.infos.v[0].info.memory, 32);
	alb_msg_free(m);
	/* Then the daemon closes: end of stream, not an error. */
	assert_int_equal(alb_client_recv(c, &m, &err), ALB_EEOF);
	alb_client_close(c);
	fake_finish(&f);
}

static void test_sent_bytes(void **state)
{
	(void)state;
	NEED_TRANSCRIPTS("24-destroy");
	struct fake f = {0};
	assert_true(fake_reply(&f, "transcripts/24-destroy/01-002-s2c.der"));
	fake_start(&f);
	struct alb_client *c = connect_fake(&f, 5000);
	struct alb_error err = {0};
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
	assert_int_equal(alb_client_send(c, "tenant:hello", &cmd, NULL, NULL, &err), 0);
	struct alb_msg *m;
	assert_int_equal(alb_client_recv(c, &m, &err), 0);
	assert_int_equal(m->u.success.kind, ALB_REPLY_STRING);
	assert_string_equal(m->u.success.u.string.ptr, "destroyed unikernel");
	alb_msg_free(m);
	alb_client_close(c);
	pthread_join(f.thread, NULL);
	/* The daemon received exactly what albatross-client sent. */
	size_t len;
	uint8_t *want = read_vector("transcripts/24-destroy/01-001-c2s.der", &len);
	assert_int_equal(f.cmd.len, len);
	assert_memory_equal(f.cmd.data, want, len);
	free(want);
	fake_cleanup(&f);
}

static void test_eof_and_garbage(void **state)
{
	(void)state;
	struct alb_error err = {0};
	struct alb_msg *m;
	/* Closed without a reply. */
	struct fake f = {0};
	fake_start(&f);
	struct alb_client *c = connect_fake(&f, 5000);
	struct alb_command cmd = {.kind = ALB_CMD_POLICY_INFO};
	assert_int_equal(alb_client_send(c, ":", &cmd, NULL, NULL, &err), 0);
	assert_int_equal(alb_client_recv(c, &m, &err), ALB_EEOF);
	alb_client_close(c);
	fake_finish(&f);
	/* A frame that is not a wire message. */
	struct fake g = {0};
	fake_reply_bytes(&g, (const uint8_t *)"\x30\x03\x02\x01\x05", 5);
	fake_start(&g);
	c = connect_fake(&g, 5000);
	assert_int_equal(alb_client_send(c, ":", &cmd, NULL, NULL, &err), 0);
	assert_int_equal(alb_client_recv(c, &m, &err), ALB_EPARSE);
	alb_client_close(c);
	fake_finish(&g);
	/* Closed in the middle of a frame. */
	struct fake h = {0};
	h.raw = (const uint8_t *)"\x00\x00\x00\x10\x30\x0e";
	h.raw_len = 6;
	fake_start(&h);
	c = connect_fake(&h, 5000);
	assert_int_equal(alb_client_send(c, ":", &cmd, NULL, NULL, &err), 0);
	assert_int_equal(alb_client_recv(c, &m, &err), ALB_EPROTO);
	alb_client_close(c);
	fake_finish(&h);
}

static void test_frame_limit(void **state)
{
	(void)state;
	NEED_TRANSCRIPTS("24-destroy");
	size_t len;
	uint8_t *reply = read_vector("transcripts/24-destroy/01-002-s2c.der", &len);
	assert_non_null(reply);
	for (int past = 0; past <= 1; past++) {
		struct fake f = {0};
		fake_reply_bytes(&f, reply, len);
		fake_start(&f);
		struct alb_client *c = connect_fake(&f, 5000);
		struct alb_error err = {0};
		/* The reply exactly at the limit passes, one byte over fails
		 * before anything is allocated. */
		assert_int_equal(alb_client_set_frame_max(c, len - (size_t)past, &err), 0);
		struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_DESTROY};
		assert_int_equal(alb_client_send(c, "tenant:hello", &cmd, NULL, NULL, &err), 0);
		struct alb_msg *m = NULL;
		assert_int_equal(alb_client_recv(c, &m, &err), past ? ALB_ETOOBIG : 0);
		alb_msg_free(m);
		alb_client_close(c);
		fake_finish(&f);
	}
	free(reply);
	struct alb_error err = {0};
	struct fake f = {0};
	fake_start(&f);
	struct alb_client *c = connect_fake(&f, 0);
	assert_int_equal(alb_client_set_frame_max(c, ALB_FRAME_MAX_LIMIT, &err), 0);
	assert_int_equal(alb_client_set_frame_max(c, (size_t)ALB_FRAME_MAX_LIMIT + 1, &err),
			 ALB_EINVAL);
	alb_client_close(c);
	fake_finish(&f);
}

static void test_timeout(void **state)
{
	(void)state;
	struct fake f = {0};
	f.hold = true;
	fake_start(&f);
	struct alb_client *c = connect_fake(&f, 200);
	struct alb_error err = {0};
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_INFO};
	assert_int_equal(alb_client_send(c, ":", &cmd, NULL, NULL, &err), 0);
	struct alb_msg *m;
	assert_int_equal(alb_client_recv(c, &m, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, ETIMEDOUT);
	assert_non_null(strstr(err.msg, "no progress within 200 ms"));
	assert_int_equal(alb_client_set_timeout(c, -1, &err), ALB_EINVAL);
	alb_client_close(c);
	fake_finish(&f);
}

struct count_ctx {
	size_t n;
	size_t stop_at;
};

static int count_msgs(void *ctx, const struct alb_msg *m)
{
	struct count_ctx *cc = ctx;
	assert_non_null(m);
	cc->n++;
	return cc->n == cc->stop_at ? 7 : 0;
}

static void test_read_stream(void **state)
{
	(void)state;
	NEED_TRANSCRIPTS("18-console-count");
	for (int stop = 0; stop <= 1; stop++) {
		struct fake f = {0};
		assert_true(fake_reply(&f, "transcripts/18-console-count/01-002-s2c.der"));
		assert_true(fake_reply(&f, "transcripts/18-console-count/01-003-s2c.der"));
		assert_true(fake_reply(&f, "transcripts/18-console-count/01-004-s2c.der"));
		fake_start(&f);
		struct alb_client *c = connect_fake(&f, 5000);
		struct alb_error err = {0};
		struct alb_command cmd = {.kind = ALB_CMD_CONSOLE_SUBSCRIBE};
		cmd.u.subscribe.count = 2;
		assert_int_equal(alb_client_send(c, "tenant:hello", &cmd, NULL, NULL, &err), 0);
		struct count_ctx cc = {0, stop ? 2 : 0};
		int rc = alb_client_read_stream(c, count_msgs, &cc, &err);
		assert_int_equal(rc, stop ? 7 : 0);
		assert_int_equal(cc.n, stop ? 2 : 3);
		alb_client_close(c);
		fake_finish(&f);
	}
}

/* ---- streams ---------------------------------------------------------------- */

static void test_block_set_stream(void **state)
{
	(void)state;
	/* Sizes around the chunk limit, empty included. */
	static const size_t sizes[] = {0, 1, 65536, 65537, 300000};
	size_t max = 300000;
	uint8_t *data = malloc(max);
	uint32_t x = 12345;
	for (size_t i = 0; i < max; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(i % 7 == 0 ? x >> 16 : i); /* compresses, a bit */
	}
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int level = 0; level <= 9; level += 3) {
			char *path = temp_file(data, sizes[s]);
			assert_non_null(path);
			struct fake f = {0};
			f.read_stream = true;
			fake_start(&f);
			struct alb_client *c = connect_fake(&f, 5000);
			struct alb_error err = {0};
			struct alb_command cmd = {.kind = ALB_CMD_BLOCK_SET};
			cmd.u.block_compressed = level > 0;
			assert_int_equal(alb_client_send(c, "d", &cmd, NULL, NULL, &err), 0);
			int fd = open(path, O_RDONLY);
			assert_int_equal(alb_client_send_stream(c, fd, level, sizes[s], NULL,
								NULL, &err),
					 0);
			close(fd);
			alb_client_close(c);
			pthread_join(f.thread, NULL);
			assert_true(f.got_end);
			assert_true(f.max_chunk <= ALB_STREAM_CHUNK_MAX);
			if (level == 0) {
				assert_int_equal(f.stream_len, sizes[s]);
				if (sizes[s] > 0)
					assert_memory_equal(f.stream, data, sizes[s]);
				/* Raw data goes in as few chunks as possible. */
				assert_int_equal(f.n_chunks,
						 (sizes[s] + ALB_STREAM_CHUNK_MAX - 1) /
						     ALB_STREAM_CHUNK_MAX);
			} else {
				struct alb_buf plain = {0};
				assert_int_equal(alb_zlib_inflate(f.stream, f.stream_len,
								  max, &plain, &err),
						 0);
				assert_int_equal(plain.len, sizes[s]);
				if (sizes[s] > 0)
					assert_memory_equal(plain.data, data, sizes[s]);
				alb_buf_free(&plain);
			}
			fake_cleanup(&f);
			unlink(path);
			free(path);
		}
	}
	free(data);
	struct alb_error err = {0};
	assert_int_equal(alb_client_send_stream(NULL, 0, 0, 0, NULL, NULL, &err), ALB_EINVAL);
}

/* Builds a data message Block_data (Some chunk) or, chunk NULL, the end. */
static void block_data_msg(struct fake *f, const uint8_t *chunk, size_t len)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = 5;
	m.header.name = "d";
	m.kind = ALB_PAYLOAD_DATA;
	m.u.data.kind = ALB_DATA_BLOCK;
	m.u.data.u.block.has_data = chunk != NULL;
	m.u.data.u.block.data.ptr = chunk;
	m.u.data.u.block.data.len = len;
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &b, NULL), 0);
	fake_reply_bytes(f, b.data, b.len);
	alb_buf_free(&b);
}

static void reply_msg(struct fake *f, enum alb_payload_kind kind, bool compressed,
		      const char *failure)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = 5;
	m.header.name = "d";
	m.kind = kind;
	if (kind == ALB_PAYLOAD_SUCCESS) {
		m.u.success.kind = ALB_REPLY_BLOCK_DEVICE_IMAGE;
		m.u.success.u.block_compressed = compressed;
	} else {
		m.u.failure.ptr = failure;
		m.u.failure.len = strlen(failure);
	}
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &b, NULL), 0);
	fake_reply_bytes(f, b.data, b.len);
	alb_buf_free(&b);
}

/* Reads a dump from a fake daemon into a temporary file. */
static int dump_from(struct fake *f, bool compressed, uint8_t **out, size_t *out_len,
		     struct alb_error *err)
{
	fake_start(f);
	struct alb_client *c = connect_fake(f, 5000);
	struct alb_command cmd = {.kind = ALB_CMD_BLOCK_DUMP};
	assert_int_equal(alb_client_send(c, "d", &cmd, NULL, NULL, err), 0);
	struct alb_msg *m;
	assert_int_equal(alb_client_recv(c, &m, err), 0);
	alb_msg_free(m);
	char path[] = "/tmp/alb-client-dump-XXXXXX";
	int fd = mkstemp(path);
	uint64_t written;
	int rc = alb_client_recv_dump(c, compressed, fd, &written, err);
	close(fd);
	alb_client_close(c);
	fake_finish(f);
	*out = slurp(path, out_len);
	assert_int_equal(written, *out_len);
	unlink(path);
	return rc;
}

static void test_dump_stream(void **state)
{
	(void)state;
	NEED_TRANSCRIPTS("08-dump-block");
	/* The recorded dump of a 1 MiB device: a reply, 256 chunks, the end. */
	struct fake f = {0};
	char rel[128];
	for (int i = 2; i <= 259; i++) {
		snprintf(rel, sizeof(rel), "transcripts/08-dump-block/01-%03d-s2c.der", i);
		assert_true(fake_reply(&f, rel));
	}
	uint8_t *got;
	size_t len;
	struct alb_error err = {0};
	assert_int_equal(dump_from(&f, false, &got, &len, &err), 0);
	assert_int_equal(len, 1024 * 1024);
	/* The chunks concatenated, as recorded. */
	size_t off = 0;
	for (int i = 3; i <= 258; i++) {
		snprintf(rel, sizeof(rel), "transcripts/08-dump-block/01-%03d-s2c.der", i);
		size_t n;
		uint8_t *frame = read_vector(rel, &n);
		struct alb_msg *m;
		assert_int_equal(alb_msg_decode(frame, n, 0, &m, &err), 0);
		const struct alb_bytes *d = &m->u.data.u.block.data;
		assert_memory_equal(got + off, d->ptr, d->len);
		off += d->len;
		alb_msg_free(m);
		free(frame);
	}
	assert_int_equal(off, len);
	free(got);
}

static void test_dump_compressed_and_errors(void **state)
{
	(void)state;
	size_t n = 200000;
	uint8_t *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * i >> 5);
	struct alb_buf z = {0};
	struct alb_error err = {0};
	assert_int_equal(alb_zlib_deflate(data, n, 6, &z, &err), 0);
	/* A compressed dump cut into uneven chunks. */
	struct fake f = {0};
	reply_msg(&f, ALB_PAYLOAD_SUCCESS, true, NULL);
	for (size_t off = 0; off < z.len; off += 777)
		block_data_msg(&f, z.data + off, z.len - off < 777 ? z.len - off : 777);
	block_data_msg(&f, NULL, 0);
	uint8_t *got;
	size_t len;
	assert_int_equal(dump_from(&f, true, &got, &len, &err), 0);
	assert_int_equal(len, n);
	assert_memory_equal(got, data, n);
	free(got);

	/* A Failure after the end marker: the daemon's reading failed. */
	struct fake g = {0};
	reply_msg(&g, ALB_PAYLOAD_SUCCESS, false, NULL);
	block_data_msg(&g, data, 100);
	block_data_msg(&g, NULL, 0);
	reply_msg(&g, ALB_PAYLOAD_FAILURE, false, "error while reading stream");
	assert_int_equal(dump_from(&g, false, &got, &len, &err), ALB_EPERM);
	assert_string_equal(err.msg, "error while reading stream");
	free(got);

	/* Closed before the end marker. */
	struct fake h = {0};
	reply_msg(&h, ALB_PAYLOAD_SUCCESS, false, NULL);
	block_data_msg(&h, data, 100);
	assert_int_equal(dump_from(&h, false, &got, &len, &err), ALB_EPROTO);
	assert_int_equal(len, 100);
	free(got);

	/* A compressed stream cut short. */
	struct fake k = {0};
	reply_msg(&k, ALB_PAYLOAD_SUCCESS, true, NULL);
	block_data_msg(&k, z.data, z.len / 2);
	block_data_msg(&k, NULL, 0);
	assert_int_equal(dump_from(&k, true, &got, &len, &err), ALB_EPARSE);
	free(got);
	alb_buf_free(&z);
	free(data);
}

/* ---- the programs against the fake daemon ------------------------------- */

/* Runs prog args... --socket <fake> against a daemon answering with the
 * given transcript replies. */
static void run_against(struct fake *f, const char *const *args, struct run *r)
{
	fake_start(f);
	char *argv[32];
	int n = 0;
	for (; *args != NULL; args++)
		argv[n++] = (char *)*args;
	argv[n++] = "--socket";
	argv[n++] = f->path;
	argv[n] = NULL;
	assert_int_equal(run_argv(argv, r), 0);
	pthread_join(f->thread, NULL);
}

static void test_cli_info_table(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	NEED_TRANSCRIPTS("14-info");
	struct fake f = {0};
	assert_true(fake_reply(&f, "transcripts/14-info/01-002-s2c.der"));
	const char *args[] = {info, "info", "-n", "tenant:hello", NULL};
	struct run r;
	run_against(&f, args, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out,
			    "NAME          TYP    CPUS  MEMORY  STARTED               DEVICES                                     DIGEST\n"
			    "tenant:hello  solo5  0     32 MB   2026-11-22T05:18:22Z  block storage->disk2 (1 MB, 512 B sectors)  14dd23197803b3c6\n");
	assert_string_equal(r.err, "");
	run_free(&r);
	fake_cleanup(&f);
}

static void test_cli_json(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	NEED_TRANSCRIPTS("14-info", "01-policy-info", "06-block-info");
	static const char *const cases[][2] = {
		{"info", "transcripts/14-info/01-002-s2c.der"},
		{"policy", "transcripts/01-policy-info/01-002-s2c.der"},
		{"block", "transcripts/06-block-info/01-002-s2c.der"},
	};
	for (size_t i = 0; i < 3; i++) {
		struct fake f = {0};
		assert_true(fake_reply(&f, cases[i][1]));
		const char *args[] = {info, cases[i][0], "--json", NULL};
		struct run r;
		run_against(&f, args, &r);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.out[0], '{');
		/* Valid JSON, checked by Python's parser when there is one. */
		FILE *py = popen("python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null", "w");
		if (py != NULL) {
			fputs(r.out, py);
			int st = pclose(py);
			if (WIFEXITED(st) && WEXITSTATUS(st) != 127)
				assert_int_equal(WEXITSTATUS(st), 0);
		}
		run_free(&r);
		fake_cleanup(&f);
	}
}

static void test_cli_tables(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	NEED_TRANSCRIPTS("03-policy-info-tenant", "06-block-info");
	struct fake f = {0};
	assert_true(fake_reply(&f, "transcripts/03-policy-info-tenant/01-002-s2c.der"));
	const char *args[] = {info, "policy", "-p", "tenant", NULL};
	struct run r;
	run_against(&f, args, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "PATH  UNIKERNELS  CPUIDS  MEMORY   BLOCK   BRIDGES\n"
				   ":     4           0,1     1024 MB  100 MB  none\n");
	run_free(&r);
	fake_cleanup(&f);

	struct fake g = {0};
	assert_true(fake_reply(&g, "transcripts/06-block-info/01-002-s2c.der"));
	const char *bargs[] = {info, "block", "--name", "tenant:", NULL};
	run_against(&g, bargs, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "NAME    SIZE   ACTIVE\n"
				   ":disk2  1 MB   no\n"
				   ":disk   10 MB  no\n");
	run_free(&r);
	fake_cleanup(&g);
}

static void test_cli_success_and_failure(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	NEED_TRANSCRIPTS("24-destroy", "22-restart-not-running");
	struct fake f = {0};
	assert_true(fake_reply(&f, "transcripts/24-destroy/01-002-s2c.der"));
	const char *args[] = {deploy, "destroy", "tenant:hello", NULL};
	struct run r;
	run_against(&f, args, &r);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "tenant:hello: success: destroyed unikernel\n");
	run_free(&r);
	size_t len;
	uint8_t *want = read_vector("transcripts/24-destroy/01-001-c2s.der", &len);
	assert_int_equal(f.cmd.len, len);
	assert_memory_equal(f.cmd.data, want, len);
	free(want);
	fake_cleanup(&f);

	struct fake g = {0};
	assert_true(fake_reply(&g, "transcripts/22-restart-not-running/01-002-s2c.der"));
	const char *rargs[] = {deploy, "restart", "tenant:spt", NULL};
	run_against(&g, rargs, &r);
	assert_int_equal(r.status, 117);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "alb-deploy: tenant:spt: command failed: destroy: not found\n");
	run_free(&r);
	fake_cleanup(&g);

	/* No reply at all: a communication failure. */
	struct fake h = {0};
	run_against(&h, rargs, &r);
	assert_int_equal(r.status, 121);
	assert_string_equal(r.err,
			    "alb-deploy: the daemon closed the connection without a reply\n");
	run_free(&r);
	fake_cleanup(&h);
}

static void test_cli_set_block(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	NEED_TRANSCRIPTS("07-set-block");
	uint8_t data[100000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i >> 3);
	char *path = temp_file(data, sizeof(data));
	assert_non_null(path);
	for (int level = 0; level <= 9; level += 9) {
		struct fake f = {0};
		f.read_stream = true;
		assert_true(fake_reply(&f, "transcripts/07-set-block/01-004-s2c.der"));
		char lvl[4];
		snprintf(lvl, sizeof(lvl), "%d", level);
		const char *args[] = {deploy, "set-block", "tenant:disk", path,
				      "--compression-level", lvl, NULL};
		struct run r;
		run_against(&f, args, &r);
		assert_int_equal(r.status, 0);
		assert_string_equal(r.out, "tenant:disk: success: set block device\n");
		assert_true(f.got_end);
		assert_true(f.max_chunk <= ALB_STREAM_CHUNK_MAX);
		struct alb_msg *m;
		struct alb_error err = {0};
		assert_int_equal(alb_msg_decode(f.cmd.data, f.cmd.len, 0, &m, &err), 0);
		assert_int_equal(m->u.command.kind, ALB_CMD_BLOCK_SET);
		assert_int_equal(m->u.command.u.block_compressed, level > 0);
		alb_msg_free(m);
		if (level == 0) {
			assert_int_equal(f.stream_len, sizeof(data));
			assert_memory_equal(f.stream, data, sizeof(data));
		} else {
			struct alb_buf plain = {0};
			assert_int_equal(alb_zlib_inflate(f.stream, f.stream_len,
							  sizeof(data), &plain, &err),
					 0);
			assert_memory_equal(plain.data, data, sizeof(data));
			alb_buf_free(&plain);
		}
		run_free(&r);
		fake_cleanup(&f);
	}
	unlink(path);
	free(path);
}

static void test_cli_dump_block(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	NEED_TRANSCRIPTS("08-dump-block");
	struct fake f = {0};
	char rel[128];
	for (int i = 2; i <= 259; i++) {
		snprintf(rel, sizeof(rel), "transcripts/08-dump-block/01-%03d-s2c.der", i);
		assert_true(fake_reply(&f, rel));
	}
	char out[] = "/tmp/alb-cli-dump-XXXXXX";
	int fd = mkstemp(out);
	close(fd);
	const char *args[] = {info, "dump-block", "tenant:disk2", "-o", out, NULL};
	struct run r;
	run_against(&f, args, &r);
	assert_int_equal(r.status, 0);
	char want[256];
	snprintf(want, sizeof(want), "tenant:disk2: dumped to %s\n", out);
	assert_string_equal(r.out, want);
	size_t len;
	uint8_t *got = slurp(out, &len);
	assert_int_equal(len, 1024 * 1024);
	free(got);
	run_free(&r);
	fake_cleanup(&f);
	unlink(out);
}

/* A dump cut short: a file it made is removed, a pipe given as output
 * (as /dev/null would be) is left where it is. */
static void test_cli_dump_cut_keeps_special(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	NEED_TRANSCRIPTS("08-dump-block");
	char dir[] = "/tmp/alb-cli-dumpcut-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char file[256], fifo[256];
	snprintf(file, sizeof(file), "%s/dump", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(reader >= 0);
	const char *outs[] = {file, fifo};
	for (size_t k = 0; k < 2; k++) {
		struct fake f = {0};
		char rel[128];
		/* the header and three chunks, then the daemon closes */
		for (int i = 2; i <= 5; i++) {
			snprintf(rel, sizeof(rel), "transcripts/08-dump-block/01-%03d-s2c.der", i);
			assert_true(fake_reply(&f, rel));
		}
		const char *args[] = {info, "dump-block", "tenant:disk2", "-o", outs[k], NULL};
		struct run r;
		run_against(&f, args, &r);
		assert_int_equal(r.status, 121);
		struct stat st;
		if (k == 0)
			assert_int_equal(stat(file, &st), -1);
		else
			assert_true(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
		run_free(&r);
		fake_cleanup(&f);
	}
	close(reader);
	unlink(fifo);
	rmdir(dir);
}

/* Unikernel_image (compressed, bytes) as vmmd answers a get. */
static void image_reply(struct fake *f, const char *name, bool compressed,
			const uint8_t *p, size_t len)
{
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = 5;
	m.header.name = name;
	m.kind = ALB_PAYLOAD_SUCCESS;
	m.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	m.u.success.u.image.compressed = compressed;
	m.u.success.u.image.data.ptr = p;
	m.u.success.u.image.data.len = len;
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &b, NULL), 0);
	fake_reply_bytes(f, b.data, b.len);
	alb_buf_free(&b);
}

static void test_cli_get(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	uint8_t img[50000];
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i % 251);
	struct alb_buf z = {0};
	assert_int_equal(alb_zlib_deflate(img, sizeof(img), 9, &z, NULL), 0);
	char dir[] = "/tmp/alb-cli-get-XXXXXX";
	assert_non_null(mkdtemp(dir));
	for (int compressed = 0; compressed <= 1; compressed++) {
		struct fake f = {0};
		if (compressed)
			image_reply(&f, ":hello", true, z.data, z.len);
		else
			image_reply(&f, ":hello", false, img, sizeof(img));
		char out[256];
		snprintf(out, sizeof(out), "%s/image", dir);
		const char *args[] = {info, "get", "hello", "-o", out, NULL};
		struct run r;
		run_against(&f, args, &r);
		assert_int_equal(r.status, 0);
		char want[300];
		snprintf(want, sizeof(want), ":hello: dumped image to %s\n", out);
		assert_string_equal(r.out, want);
		size_t len;
		uint8_t *got = slurp(out, &len);
		assert_int_equal(len, sizeof(img));
		assert_memory_equal(got, img, sizeof(img));
		free(got);
		unlink(out);
		run_free(&r);
		fake_cleanup(&f);
	}
	/* Without -o: <TMPDIR>/<name>.<time>, as albatross-client does. */
	struct fake f = {0};
	image_reply(&f, ":hello", false, img, 10);
	setenv("TMPDIR", dir, 1);
	const char *args[] = {info, "get", "hello", NULL};
	struct run r;
	run_against(&f, args, &r);
	unsetenv("TMPDIR");
	assert_int_equal(r.status, 0);
	char prefix[300];
	snprintf(prefix, sizeof(prefix), ":hello: dumped image to %s/:hello.", dir);
	assert_true(strncmp(r.out, prefix, strlen(prefix)) == 0);
	char *path = r.out + strlen(":hello: dumped image to ");
	path[strlen(path) - 1] = '\0';
	assert_int_equal(strlen(path), strlen(dir) + strlen("/:hello.2026-11-22T05:18:18-00:00"));
	size_t len;
	uint8_t *got = slurp(path, &len);
	assert_int_equal(len, 10);
	free(got);
	unlink(path);
	run_free(&r);
	fake_cleanup(&f);
	rmdir(dir);
	alb_buf_free(&z);
}

/* A download cut short leaves nothing behind, neither the file asked for
 * nor the temporary one beside it; an output that is not a regular file
 * is written as it is; --json prints the image's length and SHA-256. */
static void test_cli_get_partial_and_json(void **state)
{
	(void)state;
	SKIP_WITHOUT(info, "alb-info");
	size_t len = 300000;
	uint8_t *img = malloc(len);
	for (size_t i = 0; i < len; i++)
		img[i] = (uint8_t)(i * 13);
	struct alb_msg m = {.header = {.version = ALB_WIRE_VERSION, .name = ":hello"},
			    .kind = ALB_PAYLOAD_SUCCESS};
	m.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	m.u.success.u.image.data = (struct alb_bytes){img, len};
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, ALB_ENCODE_FRAMED, &b, NULL), 0);
	char dir[] = "/tmp/alb-cli-get-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char out[256];
	snprintf(out, sizeof(out), "%s/image", dir);
	/* the frame, less its last 1000 bytes, then the daemon closes */
	struct fake f = {.raw = b.data, .raw_len = b.len - 1000};
	const char *args[] = {info, "get", "hello", "-o", out, NULL};
	struct run r;
	run_against(&f, args, &r);
	assert_int_equal(r.status, 121);
	assert_non_null(strstr(r.err, "connection closed in the middle of a frame"));
	assert_int_equal(access(out, F_OK), -1);
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		assert_true(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0);
	closedir(d);
	run_free(&r);
	fake_cleanup(&f);
	/* to /dev/null, and as JSON */
	struct fake g = {.raw = b.data, .raw_len = b.len};
	const char *json[] = {info, "get", "hello", "-o", "/dev/null", "--json", NULL};
	run_against(&g, json, &r);
	assert_int_equal(r.status, 0);
	uint8_t md[ALB_SHA256_LEN];
	assert_int_equal(alb_image_digest(img, len, md, NULL), 0);
	char want[128];
	int k = snprintf(want, sizeof(want), "{\"length\": %zu, \"sha256\": \"", len);
	for (size_t i = 0; i < sizeof(md); i++)
		k += snprintf(want + k, sizeof(want) - (size_t)k, "%02x", md[i]);
	snprintf(want + k, sizeof(want) - (size_t)k, "\"}");
	assert_non_null(strstr(r.out, want));
	run_free(&r);
	fake_cleanup(&g);
	rmdir(dir);
	alb_buf_free(&b);
	free(img);
}

/* A daemon that refuses an upload answers and closes without reading the
 * data: the CLI reports the daemon's reason, not the broken pipe. */
static void test_cli_set_block_refused(void **state)
{
	(void)state;
	SKIP_WITHOUT(deploy, "alb-deploy");
	size_t size = 8u << 20; /* far more than the socket buffers hold */
	uint8_t *data = calloc(1, size);
	char *path = temp_file(data, size);
	assert_non_null(path);
	free(data);
	struct fake f = {0};
	struct alb_msg m;
	memset(&m, 0, sizeof(m));
	m.header.version = 5;
	m.header.name = "tenant:disk";
	m.kind = ALB_PAYLOAD_FAILURE;
	m.u.failure.ptr = "set block: not found";
	m.u.failure.len = strlen(m.u.failure.ptr);
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&m, 0, &b, NULL), 0);
	fake_reply_bytes(&f, b.data, b.len);
	alb_buf_free(&b);
	const char *args[] = {deploy, "set-block", "tenant:disk", path, NULL};
	struct run r;
	run_against(&f, args, &r);
	assert_int_equal(r.status, 117);
	assert_string_equal(r.err,
			    "alb-deploy: tenant:disk: command failed: set block: not found\n");
	run_free(&r);
	fake_cleanup(&f);
	unlink(path);
	free(path);
}

/* ---- an image written out as it arrives (alb_client_recv_image) ---------- */

/* Connects to the fake daemon (frame limit frame_max; 0: the default) and
 * asks it for an image; the client to close. */
static struct alb_client *ask_image(struct fake *f, size_t frame_max)
{
	fake_start(f);
	struct alb_client *c = connect_fake(f, 5000);
	struct alb_error err = {0};
	if (frame_max > 0)
		assert_int_equal(alb_client_set_frame_max(c, frame_max, &err), 0);
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_GET};
	assert_int_equal(alb_client_send(c, ":hello", &cmd, NULL, NULL, &err), 0);
	return c;
}

/* A new temporary file to receive into, its path in path. */
static int out_file(char path[32])
{
	strcpy(path, "/tmp/alb-client-image-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	return fd;
}

/* Bytes that do not repeat (plain) or compress well (not plain). */
static uint8_t *pattern(size_t len, bool plain)
{
	uint8_t *p = malloc(len > 0 ? len : 1);
	assert_non_null(p);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		p[i] = plain ? (uint8_t)x : (uint8_t)(i / 1000 + (x % 8 == 0));
	}
	return p;
}

/* *img describes sent[0..len) as sent, of which written bytes were
 * written out. */
static void expect_received(const struct alb_image_received *img, bool compressed,
			    const uint8_t *sent, size_t len, size_t written)
{
	assert_int_equal(img->compressed, compressed);
	assert_int_equal(img->length, len);
	assert_int_equal(img->written, written);
	uint8_t md[ALB_SHA256_LEN];
	assert_int_equal(alb_image_digest(sent, len, md, NULL), 0);
	assert_memory_equal(img->sha256, md, sizeof(md));
	size_t h = len < ALB_IMAGE_RECEIVED_HEAD ? len : ALB_IMAGE_RECEIVED_HEAD;
	if (h > 0)
		assert_memory_equal(img->head, sent, h);
}

/* *m is the image reply to ":hello" with its image left out. */
static void expect_skeleton(const struct alb_msg *m, bool compressed)
{
	assert_non_null(m);
	assert_int_equal(m->header.version, ALB_WIRE_VERSION);
	assert_string_equal(m->header.name, ":hello");
	assert_int_equal(m->kind, ALB_PAYLOAD_SUCCESS);
	assert_int_equal(m->u.success.kind, ALB_REPLY_UNIKERNEL_IMAGE);
	assert_int_equal(m->u.success.u.image.compressed, compressed);
	assert_int_equal(m->u.success.u.image.data.len, 0);
}

/* path holds exactly p[0..len). */
static void expect_file(const char *path, const uint8_t *p, size_t len)
{
	size_t got_len;
	uint8_t *got = slurp(path, &got_len);
	assert_non_null(got);
	assert_int_equal(got_len, len);
	if (len > 0)
		assert_memory_equal(got, p, len);
	free(got);
}

/* The printed reply reads as the whole reply would (print.h). */
static void expect_printed(const struct alb_msg *m, const struct alb_image_received *img,
			   const uint8_t *sent, size_t len)
{
	struct alb_msg full = *m;
	full.u.success.u.image.data = (struct alb_bytes){sent, len};
	for (unsigned flags = 0; flags <= ALB_PRINT_JSON; flags += ALB_PRINT_JSON) {
		char *want = NULL, *got = NULL;
		size_t wl = 0, gl = 0;
		FILE *w = open_memstream(&want, &wl), *g = open_memstream(&got, &gl);
		assert_int_equal(alb_msg_print(w, &full, flags, NULL), 0);
		assert_int_equal(alb_msg_print_received(g, m, img, flags, NULL), 0);
		fclose(w), fclose(g);
		assert_string_equal(got, want);
		free(want), free(got);
	}
}

/* An uncompressed image of a few MB, of an odd size: written as sent,
 * then the daemon's close is the end. */
static void test_recv_image_plain(void **state)
{
	(void)state;
	size_t len = 3 * 1024 * 1024 + 4321;
	uint8_t *data = pattern(len, true);
	struct fake f = {0};
	image_reply(&f, ":hello", false, data, len);
	struct alb_client *c = ask_image(&f, 0);
	char path[32];
	int fd = out_file(path);
	struct alb_msg *m;
	struct alb_image_received img;
	struct alb_error err = {0};
	if (alb_client_recv_image(c, fd, &m, &img, &err) != 0)
		fail_msg("%s", err.msg);
	expect_skeleton(m, false);
	expect_received(&img, false, data, len, len);
	expect_file(path, data, len);
	expect_printed(m, &img, data, len);
	alb_msg_free(m);
	/* The daemon closed: end of stream, nothing written, img zeroed. */
	memset(&img, 0xff, sizeof(img));
	assert_int_equal(alb_client_recv_image(c, fd, &m, &img, &err), ALB_EEOF);
	assert_null(m);
	struct alb_image_received zero;
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&img, &zero, sizeof(img));
	expect_file(path, data, len);
	close(fd);
	unlink(path);
	alb_client_close(c);
	fake_finish(&f);
	free(data);
}

/* Receives the reply frame[0..len) (f's only answer) into a new file;
 * returns alb_client_recv_image()'s result, the file's path in path. */
static int recv_image_frame(const uint8_t *frame, size_t len, size_t frame_max,
			    char path[32], struct alb_msg **m,
			    struct alb_image_received *img, struct alb_error *err)
{
	struct fake f = {0};
	fake_reply_bytes(&f, frame, len);
	struct alb_client *c = ask_image(&f, frame_max);
	int fd = out_file(path);
	int rc = alb_client_recv_image(c, fd, m, img, err);
	close(fd);
	alb_client_close(c);
	fake_finish(&f);
	return rc;
}

/* A compressed image: written out inflated, described as sent; also with
 * the BOOLEAN true as 0x01 (which Albatross reads as true). Corrupt, cut
 * or followed by more: ALB_EPARSE. */
static void test_recv_image_compressed(void **state)
{
	(void)state;
	size_t len = 2 * 1024 * 1024 + 1;
	uint8_t *data = pattern(len, false);
	struct alb_buf z = {0};
	assert_int_equal(alb_zlib_deflate(data, len, 6, &z, NULL), 0);
	struct alb_msg r = {.header = {.version = ALB_WIRE_VERSION, .name = ":hello"},
			    .kind = ALB_PAYLOAD_SUCCESS};
	r.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	r.u.success.u.image.compressed = true;
	r.u.success.u.image.data = (struct alb_bytes){z.data, z.len};
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&r, 0, &b, NULL), 0);
	char path[32];
	struct alb_msg *m;
	struct alb_image_received img;
	struct alb_error err = {0};
	for (int lenient = 0; lenient <= 1; lenient++) {
		if (lenient) {
			uint8_t *t = memmem(b.data, b.len, "\x01\x01\xff\x04", 4);
			assert_non_null(t);
			t[2] = 0x01;
		}
		if (recv_image_frame(b.data, b.len, 0, path, &m, &img, &err) != 0)
			fail_msg("%s", err.msg);
		expect_skeleton(m, true);
		expect_received(&img, true, z.data, z.len, len);
		expect_file(path, data, len);
		alb_msg_free(m);
		unlink(path);
	}
	alb_buf_free(&b);
	/* its header, its middle, its end, what follows it */
	uint8_t *bad = malloc(z.len + 1);
	size_t cuts[] = {z.len, z.len, z.len - 1, z.len + 1};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
		memcpy(bad, z.data, z.len);
		bad[z.len] = 0;
		if (i == 0)
			bad[0] ^= 0x0f;
		if (i == 1)
			memset(bad + z.len / 2, 0xaa, 64);
		r.u.success.u.image.data = (struct alb_bytes){bad, cuts[i]};
		assert_int_equal(alb_msg_encode(&r, 0, &b, NULL), 0);
		assert_int_equal(recv_image_frame(b.data, b.len, 0, path, &m, &img, &err),
				 ALB_EPARSE);
		assert_null(m);
		alb_buf_free(&b);
		unlink(path);
	}
	free(bad);
	alb_buf_free(&z);
	free(data);
}

/* Any other message is returned as alb_client_recv() returns it: nothing
 * written, *img zeroed; so is a decoder's error. */
static void test_recv_image_other(void **state)
{
	(void)state;
	uint8_t *data = pattern(100000, true);
	struct alb_msg r[2] = {
		{.header = {.version = ALB_WIRE_VERSION, .name = ":hello"},
		 .kind = ALB_PAYLOAD_FAILURE},
		{.header = {.version = ALB_WIRE_VERSION, .name = ":hello"},
		 .kind = ALB_PAYLOAD_SUCCESS},
	};
	r[0].u.failure = (struct alb_str){"not found", 9};
	/* larger than the head read first */
	r[1].u.success.kind = ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE;
	r[1].u.success.u.image.data = (struct alb_bytes){data, 100000};
	struct alb_image_received zero;
	memset(&zero, 0, sizeof(zero));
	for (size_t i = 0; i < 2; i++) {
		struct alb_buf b = {0};
		assert_int_equal(alb_msg_encode(&r[i], 0, &b, NULL), 0);
		char path[32];
		struct alb_msg *m;
		struct alb_image_received img;
		memset(&img, 0xff, sizeof(img));
		struct alb_error err = {0};
		assert_int_equal(recv_image_frame(b.data, b.len, 0, path, &m, &img, &err), 0);
		struct alb_buf re = {0};
		assert_int_equal(alb_msg_encode(m, 0, &re, NULL), 0);
		assert_int_equal(re.len, b.len);
		assert_memory_equal(re.data, b.data, b.len);
		assert_memory_equal(&img, &zero, sizeof(img));
		expect_file(path, NULL, 0);
		alb_buf_free(&re);
		alb_msg_free(m);
		unlink(path);
		alb_buf_free(&b);
	}
	/* An image reply of version 4: the decoder's error, nothing written. */
	struct alb_msg v = r[1];
	v.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&v, 0, &b, NULL), 0);
	uint8_t *version = memmem(b.data, b.len, "\x02\x01\x05", 3);
	assert_non_null(version);
	version[2] = 4;
	char path[32];
	struct alb_msg *m;
	struct alb_image_received img;
	struct alb_error err = {0};
	assert_int_equal(recv_image_frame(b.data, b.len, 0, path, &m, &img, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "unknown version number 0x4");
	assert_null(m);
	expect_file(path, NULL, 0);
	unlink(path);
	/* The rest of that frame is still on the connection: nothing more is
	 * read from it, rather than image bytes taken for a frame. */
	struct fake f = {0};
	fake_reply_bytes(&f, b.data, b.len);
	struct alb_client *c = ask_image(&f, 0);
	int fd = out_file(path);
	assert_int_equal(alb_client_recv_image(c, fd, &m, &img, &err), ALB_EPARSE);
	assert_int_equal(alb_client_recv(c, &m, &err), ALB_EPROTO);
	assert_int_equal(alb_client_recv_image(c, fd, &m, &img, &err), ALB_EINVAL);
	close(fd);
	alb_client_close(c);
	fake_finish(&f);
	unlink(path);
	alb_buf_free(&b);
	free(data);
}

/* A connection closed before, in and right after a frame's length, in the
 * head, in the image, one byte before its end; a frame of length 0 or
 * below: ALB_EEOF before a frame, ALB_EPROTO within one. */
static void test_recv_image_cut(void **state)
{
	(void)state;
	uint8_t *data = pattern(200000, true);
	struct alb_msg r = {.header = {.version = ALB_WIRE_VERSION, .name = ":hello"},
			    .kind = ALB_PAYLOAD_SUCCESS};
	r.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	r.u.success.u.image.data = (struct alb_bytes){data, 200000};
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&r, ALB_ENCODE_FRAMED, &b, NULL), 0);
	const size_t cuts[] = {0, 2, 4, 100, 100000, b.len - 1, b.len};
	const int want[] = {ALB_EEOF, ALB_EPROTO, ALB_EPROTO, ALB_EPROTO,
			    ALB_EPROTO, ALB_EPROTO, 0};
	for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
		struct fake f = {0};
		f.raw = b.data;
		f.raw_len = cuts[i];
		struct alb_client *c = ask_image(&f, 0);
		char path[32];
		int fd = out_file(path);
		struct alb_msg *m;
		struct alb_image_received img;
		struct alb_error err = {0};
		assert_int_equal(alb_client_recv_image(c, fd, &m, &img, &err), want[i]);
		if (want[i] == 0) {
			expect_skeleton(m, false);
			expect_file(path, data, 200000);
		} else {
			assert_null(m);
		}
		alb_msg_free(m);
		close(fd);
		unlink(path);
		alb_client_close(c);
		fake_finish(&f);
	}
	alb_buf_free(&b);
	free(data);
	/* end-of-stream lengths */
	static const uint8_t ends[][4] = {{0, 0, 0, 0}, {0x80, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff}};
	for (size_t i = 0; i < sizeof(ends) / sizeof(*ends); i++) {
		struct fake f = {0};
		f.raw = ends[i];
		f.raw_len = 4;
		struct alb_client *c = ask_image(&f, 0);
		char path[32];
		int fd = out_file(path);
		struct alb_msg *m;
		struct alb_image_received img;
		assert_int_equal(alb_client_recv_image(c, fd, &m, &img, NULL), ALB_EEOF);
		assert_null(m);
		expect_file(path, NULL, 0);
		close(fd);
		unlink(path);
		alb_client_close(c);
		fake_finish(&f);
	}
}

/* The client's frame limit does not apply to an image reply, and applies
 * to any other message: at the limit and one byte past. */
static void test_recv_image_frame_limit(void **state)
{
	(void)state;
	size_t len = 1024 * 1024;
	uint8_t *data = pattern(len, true);
	struct alb_msg r = {.header = {.version = ALB_WIRE_VERSION, .name = ":hello"},
			    .kind = ALB_PAYLOAD_SUCCESS};
	r.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
	r.u.success.u.image.data = (struct alb_bytes){data, len};
	struct alb_buf b = {0};
	assert_int_equal(alb_msg_encode(&r, 0, &b, NULL), 0);
	char path[32];
	struct alb_msg *m;
	struct alb_image_received img;
	struct alb_error err = {0};
	if (recv_image_frame(b.data, b.len, 65536, path, &m, &img, &err) != 0)
		fail_msg("%s", err.msg);
	expect_skeleton(m, false);
	expect_received(&img, false, data, len, len);
	expect_file(path, data, len);
	alb_msg_free(m);
	unlink(path);
	alb_buf_free(&b);
	/* The same bytes as another reply: over the limit. */
	r.u.success.kind = ALB_REPLY_OLD_BLOCK_DEVICE_IMAGE;
	assert_int_equal(alb_msg_encode(&r, 0, &b, NULL), 0);
	assert_int_equal(recv_image_frame(b.data, b.len, 65536, path, &m, &img, &err),
			 ALB_ETOOBIG);
	assert_null(m);
	expect_file(path, NULL, 0);
	unlink(path);
	/* exactly at the limit, one byte past it, then nothing more */
	for (size_t past = 0; past <= 1; past++) {
		struct fake f = {0};
		fake_reply_bytes(&f, b.data, b.len);
		fake_reply_bytes(&f, b.data, b.len);
		struct alb_client *c = ask_image(&f, b.len - past);
		int fd = out_file(path);
		assert_int_equal(alb_client_recv_image(c, fd, &m, &img, &err),
				 past ? ALB_ETOOBIG : 0);
		if (past == 0) {
			assert_int_equal(m->u.success.u.image.data.len, len);
			alb_msg_free(m);
		}
		/* the next frame follows the whole first one; after a refusal
		 * the rest of the first is not read as a frame */
		int rc = alb_client_recv_image(c, fd, &m, &img, &err);
		if (past)
			assert_true(rc < 0 && m == NULL);
		else
			assert_int_equal(rc, 0);
		alb_msg_free(m);
		expect_file(path, NULL, 0);
		close(fd);
		unlink(path);
		alb_client_close(c);
		fake_finish(&f);
	}
	alb_buf_free(&b);
	free(data);
}

/* What a stream writer emits, appended to a struct bytes. */
struct bytes {
	uint8_t *p;
	size_t len;
};

static int append(void *ctx, const uint8_t *data, size_t len, struct alb_error *err)
{
	(void)err;
	struct bytes *b = ctx;
	b->p = realloc(b->p, b->len + len);
	assert_non_null(b->p);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

/* n zero bytes as one zlib stream, made without holding them (free z->p). */
static void deflate_zeros(size_t n, struct bytes *z)
{
	struct alb_stream_writer *w;
	*z = (struct bytes){NULL, 0};
	assert_int_equal(alb_stream_writer_new(1, append, z, &w, NULL), 0);
	for (size_t left = n; left > 0;) {
		size_t k = left < sizeof(zeros64k) ? left : sizeof(zeros64k);
		assert_int_equal(alb_stream_writer_write(w, zeros64k, k, NULL), 0);
		left -= k;
	}
	assert_int_equal(alb_stream_writer_finish(w, NULL), 0);
	alb_stream_writer_free(w);
}

/* At most ALB_IMAGE_MAX bytes are written out, compressed or not: at the
 * limit, and one byte past (zeros, sent without being held). */
static void test_recv_image_max(void **state)
{
	(void)state;
	static uint8_t hole;
	int devnull = open("/dev/null", O_WRONLY);
	assert_true(devnull >= 0);
	for (int compressed = 0; compressed <= 1; compressed++)
		for (size_t past = 0; past <= 1; past++) {
			size_t size = (size_t)ALB_IMAGE_MAX + past;
			struct alb_msg r = {.header = {.version = ALB_WIRE_VERSION,
						       .name = ":hello"},
					    .kind = ALB_PAYLOAD_SUCCESS};
			r.u.success.kind = ALB_REPLY_UNIKERNEL_IMAGE;
			r.u.success.u.image.compressed = compressed;
			struct fake f = {0};
			struct bytes z = {NULL, 0};
			struct alb_buf b = {0};
			if (compressed) {
				deflate_zeros(size, &z);
				r.u.success.u.image.data = (struct alb_bytes){z.p, z.len};
				assert_int_equal(alb_msg_encode(&r, 0, &b, NULL), 0);
				fake_reply_bytes(&f, b.data, b.len);
			} else {
				/* the frame up to the image, then the image */
				r.u.success.u.image.data = (struct alb_bytes){&hole, size};
				size_t cut;
				assert_int_equal(alb_msg_encode_around(&r, &hole, &b, &cut, NULL), 0);
				assert_int_equal(cut, b.len);
				f.raw = b.data;
				f.raw_len = b.len;
				f.zeros = size;
			}
			struct alb_client *c = ask_image(&f, 0);
			struct alb_msg *m;
			struct alb_image_received img;
			struct alb_error err = {0};
			int rc = alb_client_recv_image(c, devnull, &m, &img, &err);
			assert_int_equal(rc, past ? ALB_ETOOBIG : 0);
			if (past == 0) {
				assert_int_equal(img.length, compressed ? z.len : size);
				assert_int_equal(img.written, ALB_IMAGE_MAX);
			}
			alb_msg_free(m);
			alb_client_close(c);
			fake_finish(&f);
			alb_buf_free(&b);
			free(z.p);
		}
	close(devnull);
}

/* A write that fails is ALB_ESYS; bad arguments and a frame half read by
 * alb_client_recv() are ALB_EINVAL. */
static void test_recv_image_errors(void **state)
{
	(void)state;
	uint8_t data[5000] = {1};
	struct fake f = {0};
	image_reply(&f, ":hello", false, data, sizeof(data));
	struct alb_client *c = ask_image(&f, 0);
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	struct alb_msg *m;
	struct alb_image_received img;
	struct alb_error err = {0};
	assert_int_equal(alb_client_recv_image(c, p[1], &m, &img, &err), ALB_ESYS);
	assert_int_equal(err.sys_errno, EPIPE);
	assert_null(m);
	close(p[1]);
	assert_int_equal(alb_client_recv_image(c, -1, &m, &img, &err), ALB_EINVAL);
	assert_int_equal(alb_client_recv_image(c, 1, NULL, &img, &err), ALB_EINVAL);
	assert_int_equal(alb_client_recv_image(c, 1, &m, NULL, &err), ALB_EINVAL);
	assert_int_equal(alb_client_recv_image(NULL, 1, &m, &img, &err), ALB_EINVAL);
	alb_client_close(c);
	fake_finish(&f);
	/* alb_client_recv() timed out in the middle of a frame */
	struct fake g = {0};
	g.raw = (const uint8_t *)"\x00\x00\x00\x10\x30\x0e";
	g.raw_len = 6;
	g.hold = true;
	fake_start(&g);
	c = connect_fake(&g, 200);
	struct alb_command cmd = {.kind = ALB_CMD_UNIKERNEL_GET};
	assert_int_equal(alb_client_send(c, ":hello", &cmd, NULL, NULL, &err), 0);
	assert_int_equal(alb_client_recv(c, &m, &err), ALB_ESYS);
	assert_int_equal(alb_client_recv_image(c, 1, &m, &img, &err), ALB_EINVAL);
	alb_client_close(c);
	fake_finish(&g);
}

int main(void)
{
	/* A client that vanished must not kill the fake daemon. */
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_single_reply),
		cmocka_unit_test(test_sent_bytes),
		cmocka_unit_test(test_eof_and_garbage),
		cmocka_unit_test(test_frame_limit),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_read_stream),
		cmocka_unit_test(test_block_set_stream),
		cmocka_unit_test(test_dump_stream),
		cmocka_unit_test(test_dump_compressed_and_errors),
		cmocka_unit_test(test_cli_info_table),
		cmocka_unit_test(test_cli_json),
		cmocka_unit_test(test_cli_tables),
		cmocka_unit_test(test_cli_success_and_failure),
		cmocka_unit_test(test_cli_set_block),
		cmocka_unit_test(test_cli_dump_block),
		cmocka_unit_test(test_cli_dump_cut_keeps_special),
		cmocka_unit_test(test_cli_get),
		cmocka_unit_test(test_cli_get_partial_and_json),
		cmocka_unit_test(test_cli_set_block_refused),
		cmocka_unit_test(test_recv_image_plain),
		cmocka_unit_test(test_recv_image_compressed),
		cmocka_unit_test(test_recv_image_other),
		cmocka_unit_test(test_recv_image_cut),
		cmocka_unit_test(test_recv_image_frame_limit),
		cmocka_unit_test(test_recv_image_max),
		cmocka_unit_test(test_recv_image_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
