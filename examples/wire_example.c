/* wire_example: encode an info request, decode albd's reply.
 * Build: cc wire_example.c $(pkg-config --cflags --libs albatross)
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stdio.h>

#include <albatross/albatross.h>

/* albd's reply: unikernel foo:bar, Solo5, 32 MB on CPU 0, started
 * 2025-08-22 13:04:43 UTC (DER, without the 4-byte frame length). */
static const uint8_t reply[] =
	"\x30\x75\x30\x16\x02\x01\x05\x04\x08\x00\x00\x00\x00\x00\x00\x00\x00\x0c"
	"\x07" "foo:bar" "\xa1\x5b\xad\x59\x30\x57\x30\x55\x0c\x07" "foo:bar"
	"\x30\x4a\xa0\x02\x05\x00\xa0\x02\x05\x00\x31\x03\x02\x01\x00\x02\x01\x20"
	"\x04\x20\x9f\xba\xd5\xf0\x0b\x26\x41\x9c\xb7\xd2\xed\x08\x23\x7e\x99\xb4"
	"\xcf\xea\x05\x20\x7b\x96\xb1\xcc\xe7\x02\x5d\x78\x93\xae\xc9\xe4"
	"\xa3\x11\x18\x0f" "20250822130443Z" "\xa4\x03\x02\x01\x01";

int main(void)
{
	struct alb_error err;
	struct alb_msg req = {.header = {ALB_WIRE_VERSION, 0, "foo:bar"},
			      .kind = ALB_PAYLOAD_COMMAND,
			      .u.command.kind = ALB_CMD_UNIKERNEL_INFO};
	struct alb_buf out = {0};
	if (alb_msg_encode(&req, ALB_ENCODE_FRAMED, &out, &err) != 0)
		return fprintf(stderr, "encode: %s\n", err.msg), 1;
	printf("request, %zu bytes:", out.len);
	for (size_t i = 0; i < out.len; i++)
		printf(" %02x", out.data[i]);
	printf("\n");
	alb_buf_free(&out);

	struct alb_msg *m;
	if (alb_msg_decode(reply, sizeof(reply) - 1, 0, &m, &err) != 0)
		return fprintf(stderr, "decode: %s\n", err.msg), 1;
	if (m->kind == ALB_PAYLOAD_SUCCESS && m->u.success.kind == ALB_REPLY_UNIKERNEL_INFO)
		for (size_t i = 0; i < m->u.success.u.infos.n; i++)
			printf("%s: %" PRId64 " MB\n", m->u.success.u.infos.v[i].name,
			       m->u.success.u.infos.v[i].info.memory);
	alb_msg_print(stdout, m, 0, NULL);
	alb_msg_free(m);
	return 0;
}
