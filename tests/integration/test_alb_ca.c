/* Integration: the alb-ca CLI as built, run in a fresh temporary directory:
 * generate a CA and its server certificate, delegate a path (add-policy-csr
 * then sign with the CA), sign a create (create-csr then sign with the
 * delegated CA), and check the files with the cert module: the DB lines,
 * the <CN>.pem chain verifying against cacert.pem and mapping to the name,
 * the delegation and the command; show's output; and the failures (a policy
 * above the signer's, a missing file, a key of another certificate), each
 * exit 124 with its message. Skips (77) when the binary is not built.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "albatross/albatross.h"
#include "albatross/cert.h"
#include "albatross/policy.h"
#include "albatross/stream.h"
#include "albd_harness.h"
#include "host_helpers.h"

/* alb-ca's exit status on any failure (albatross-client's Cli_failed). */
#define EXIT_CLI 124
/* The image of the create: a tiny Solo5 image with the network device
 * "service", carried compressed. */
static uint8_t *image;
static size_t image_len;

static char bin[4096];
static char dir[] = "/tmp/alb-ca-test-XXXXXX";

/* What one run printed and how it ended. */
struct run {
	int status; /* exit status, or -1 when it did not exit */
	char *out, *err;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static char *slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *s = read_to_eof(fd);
	close(fd);
	return s;
}

/* Runs alb-ca with the NULL-terminated arguments in the test directory (the
 * current one); stdout and stderr go through files, so no pipe can fill. */
static struct run alb_ca(const char *arg, ...)
{
	const char *argv[32] = {bin};
	size_t n = 1;
	va_list ap;
	va_start(ap, arg);
	for (const char *a = arg; a != NULL && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	struct run r = {.status = -1};
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(".out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int e = open(".err", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			test_child_exit(127);
		execv(bin, (char *const *)argv);
		test_child_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st))
		r.status = WEXITSTATUS(st);
	r.out = slurp(".out");
	r.err = slurp(".err");
	assert_non_null(r.out);
	assert_non_null(r.err);
	return r;
}

/* Runs alb-ca and requires exit 0 (printing stderr otherwise). */
#define RUN_OK(...)                                                      \
	do {                                                             \
		struct run r_ = alb_ca(__VA_ARGS__, NULL);               \
		if (r_.status != 0)                                      \
			fail_msg("alb-ca exit %d: %s", r_.status, r_.err); \
		run_free(&r_);                                           \
	} while (0)

/* Runs alb-ca and requires exit 124 with msg as a line of stderr. */
static void run_fails(const char *msg, const char *a, const char *b, const char *c,
		      const char *d, const char *e)
{
	struct run r = alb_ca(a, b, c, d, e, NULL);
	assert_int_equal(r.status, EXIT_CLI);
	if (!output_has_line(r.err, msg))
		fail_msg("expected \"%s\", got \"%s\"", msg, r.err);
	run_free(&r);
}

static STACK_OF(X509) *read_chain(const char *path)
{
	STACK_OF(X509) *s = NULL;
	struct alb_error err;
	if (alb_cert_read_file(path, &s, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	return s;
}

/* The DB spelling of cert's serial: lowercase hex of its DER content. */
static void serial_hex(const X509 *cert, char *out)
{
	unsigned char *der = NULL;
	int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der);
	/* a serial of 10 or 11 bytes: tag and one length byte */
	assert_in_range(len, 2 + ALB_CERT_SERIAL_RANDOM, 2 + ALB_CERT_SERIAL_MAX);
	for (int i = 2; i < len; i++)
		sprintf(out + 2 * (i - 2), "%02x", der[i]);
	OPENSSL_free(der);
}

/* Line `line` (0-based) of the DB file must be "<serial of pem's first
 * certificate> <cn>", and the file must have `lines` lines. */
static void assert_db_line(size_t lines, size_t line, const char *pem, const char *cn)
{
	char *db = slurp("ca.db");
	assert_non_null(db);
	size_t n = 0;
	for (const char *p = db; *p != '\0'; p++)
		n += *p == '\n';
	assert_int_equal(n, lines);
	assert_true(db[strlen(db) - 1] == '\n');
	STACK_OF(X509) *s = read_chain(pem);
	char want[2 * ALB_CERT_SERIAL_MAX + 2 + ALB_CERT_CN_MAX + 1];
	serial_hex(sk_X509_value(s, 0), want);
	strcat(want, " ");
	strcat(want, cn);
	const char *p = db;
	for (size_t i = 0; i < line; i++)
		p = strchr(p, '\n') + 1;
	size_t l = strcspn(p, "\n");
	if (l != strlen(want) || memcmp(p, want, l) != 0)
		fail_msg("DB line %zu: \"%.*s\", want \"%s\"", line, (int)l, p, want);
	sk_X509_pop_free(s, X509_free);
	free(db);
}

static void assert_mode(const char *path, mode_t mode)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, mode);
}

static X509 *read_ca(void)
{
	X509 *ca = NULL;
	struct alb_error err;
	if (alb_cert_read_single("cacert.pem", &ca, &err) != 0)
		fail_msg("cacert.pem: %s", err.msg);
	return ca;
}

/* generate: the CA, the server certificate, one DB line. */
static void test_generate(void **state)
{
	(void)state;
	RUN_OK("generate", "myca", "ca.db");
	assert_mode("myca.key", 0400);
	assert_mode("server.key", 0400);
	assert_mode("cacert.pem", 0644);
	assert_mode("ca.db", 0644);
	X509 *ca = read_ca();
	char cn[ALB_CERT_CN_MAX + 1];
	assert_int_equal(alb_cert_cn(ca, cn, NULL), 0);
	assert_string_equal(cn, "myca");
	struct alb_certext *ce = NULL;
	assert_int_equal(alb_cert_ext_get(ca, &ce, NULL), ALB_ENOENT);
	EVP_PKEY *key = NULL;
	assert_int_equal(alb_key_read_file("myca.key", &key, NULL), 0);
	assert_int_equal(alb_key_matches(ca, key, NULL), 0);
	EVP_PKEY_free(key);
	/* server.pem is the server certificate alone: its issuer is the root */
	STACK_OF(X509) *s = read_chain("server.pem");
	assert_int_equal(sk_X509_num(s), 1);
	assert_int_equal(alb_cert_cn(sk_X509_value(s, 0), cn, NULL), 0);
	assert_string_equal(cn, "server");
	assert_int_equal(X509_check_issued(ca, sk_X509_value(s, 0)), X509_V_OK);
	sk_X509_pop_free(s, X509_free);
	X509_free(ca);
	assert_db_line(1, 0, "server.pem", "server");
}

static const int64_t tenant_cpus[] = {0, 1};
static const struct alb_str tenant_bridges[] = {{"service", 7}};
static const struct alb_policy tenant_policy = {
	.unikernels = 10, .n_cpuids = 2, .cpuids = (int64_t *)tenant_cpus,
	.memory = 1024, .has_block = true, .block = 2048,
	.n_bridges = 1, .bridges = (struct alb_str *)tenant_bridges};

/* add-policy-csr then sign with the CA: tenant.pem, a CA certificate. */
static void test_delegate(void **state)
{
	(void)state;
	RUN_OK("add-policy-csr", "tenant", "10", "--mem", "1024", "--cpu", "0", "--cpu", "1",
	       "--block", "2048", "--bridge", "service");
	assert_mode("tenant.key", 0400);
	X509_REQ *csr = NULL;
	struct alb_certext *ce = NULL;
	int64_t version = 0;
	assert_int_equal(alb_csr_read_file("tenant.req", &csr, NULL), 0);
	assert_int_equal(alb_csr_ext_get(csr, &version, &ce, NULL), 0);
	assert_int_equal(version, 5);
	assert_int_equal(ce->command.kind, ALB_CMD_POLICY_ADD);
	assert_true(alb_policy_equal(&ce->command.u.policy, &tenant_policy));
	alb_certext_free(ce);
	X509_REQ_free(csr);

	struct run r = alb_ca("sign", "cacert.pem", "ca.db", "myca.key", "tenant.req", NULL);
	if (r.status != 0)
		fail_msg("sign exit %d: %s", r.status, r.err);
	assert_true(output_has_line(r.out, "signed tenant.pem"));
	run_free(&r);
	/* signed by the root: the file holds the certificate alone */
	STACK_OF(X509) *s = read_chain("tenant.pem");
	assert_int_equal(sk_X509_num(s), 1);
	X509 *ca = read_ca();
	assert_int_equal(X509_check_issued(ca, sk_X509_value(s, 0)), X509_V_OK);
	assert_int_equal(X509_check_ca(sk_X509_value(s, 0)), 1);
	X509_free(ca);
	sk_X509_pop_free(s, X509_free);
	assert_db_line(2, 1, "tenant.pem", "tenant");
}

/* create-csr then sign with the delegated CA; the chain maps to
 * tenant:hello with one delegation and the create. */
static void test_create(void **state)
{
	(void)state;
	assert_true(store_file("hello.img", image, image_len));
	RUN_OK("create-csr", "hello", "hello.img", "--mem", "64", "--cpu", "1", "--net",
	       "service", "--arg=--ipv4=10.0.0.2/24");
	X509_REQ *csr = NULL;
	struct alb_certext *ce = NULL;
	assert_int_equal(alb_csr_read_file("hello.req", &csr, NULL), 0);
	assert_int_equal(alb_csr_ext_get(csr, NULL, &ce, NULL), 0);
	assert_int_equal(ce->command.kind, ALB_CMD_UNIKERNEL_CREATE);
	const struct alb_unikernel_config *c = &ce->command.u.create;
	assert_true(c->compressed);
	struct alb_buf img = {0};
	assert_int_equal(alb_zlib_inflate(c->image.ptr, c->image.len, 1 << 20, &img, NULL), 0);
	assert_int_equal(img.len, image_len);
	assert_memory_equal(img.data, image, image_len);
	alb_buf_free(&img);
	alb_certext_free(ce);
	X509_REQ_free(csr);

	struct run r = alb_ca("sign", "tenant.pem", "ca.db", "tenant.key", "hello.req", NULL);
	if (r.status != 0)
		fail_msg("sign exit %d: %s", r.status, r.err);
	assert_true(output_has_line(r.out, "signed hello.pem"));
	run_free(&r);
	assert_db_line(3, 2, "hello.pem", "hello");

	STACK_OF(X509) *chain = read_chain("hello.pem");
	assert_int_equal(sk_X509_num(chain), 2);
	X509 *ca = read_ca();
	struct alb_cert_auth *a = NULL;
	struct alb_error err;
	if (alb_cert_authenticate(ca, chain, alb_cert_now(), &a, &err) != 0)
		fail_msg("hello.pem: %s", err.msg);
	assert_string_equal(a->name, "tenant:hello");
	assert_int_equal(a->n_delegations, 1);
	assert_string_equal(a->delegations[0].path, "tenant:");
	assert_true(alb_policy_equal(a->delegations[0].policy, &tenant_policy));
	assert_int_equal(a->ext->command.kind, ALB_CMD_UNIKERNEL_CREATE);
	c = &a->ext->command.u.create;
	assert_int_equal(c->memory, 64);
	assert_int_equal(c->n_cpuids, 1);
	assert_int_equal(c->cpuids[0], 1);
	assert_int_equal(c->n_bridges, 1);
	assert_memory_equal(c->bridges[0].netif.ptr, "service", 7);
	assert_int_equal(c->n_argv, 1);
	assert_memory_equal(c->argv[0].ptr, "--ipv4=10.0.0.2/24", 18);
	alb_cert_auth_free(a);
	/* a sign leaf lives one day (ALB_CERT_DAYS_LEAF) */
	assert_int_equal(alb_cert_verify(ca, chain, alb_cert_now() + 86400 + 60, &err),
			 ALB_EPERM);
	X509_free(ca);
	sk_X509_pop_free(chain, X509_free);
}

/* show prints both certificates of the chain and their extensions. */
static void test_show(void **state)
{
	(void)state;
	struct run r = alb_ca("show", "hello.pem", NULL);
	assert_int_equal(r.status, 0);
	static const char *const words[] = {
		"certificate 0: CN hello", "certificate 1: CN tenant", "unikernel_create",
		"policy_add", "memory_mb: 64", "memory_mb: 1024", "unikernels: 10",
		"--ipv4=10.0.0.2/24"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(r.out, words[i]) == NULL)
			fail_msg("show lacks \"%s\":\n%s", words[i], r.out);
	run_free(&r);
	r = alb_ca("show", "cacert.pem", NULL);
	assert_int_equal(r.status, 0);
	assert_true(output_has_line(r.out, "certificate 0: CN myca"));
	assert_true(output_has_line(r.out, "no albatross extension"));
	run_free(&r);
}

/* Failures: exit 124, one line, nothing written. */
static void test_errors(void **state)
{
	(void)state;
	RUN_OK("add-policy-csr", "big", "20", "--mem", "512", "--bridge", "service");
	run_fails("alb-ca: policy above allows 10 unikernels, which is fewer than 20", "sign",
		  "tenant.pem", "ca.db", "tenant.key", "big.req");
	RUN_OK("add-policy-csr", "huge", "2", "--mem", "4096", "--bridge", "service");
	run_fails("alb-ca: policy above allows 1024 MB memory, which is fewer than 4096 MB", "sign",
		  "tenant.pem", "ca.db", "tenant.key", "huge.req");
	assert_int_equal(access("big.pem", F_OK), -1);
	assert_int_equal(access("huge.pem", F_OK), -1);
	run_fails("alb-ca: nothere.req: No such file or directory", "sign", "cacert.pem", "ca.db",
		  "myca.key", "nothere.req");
	struct run r = alb_ca("sign", "cacert.pem", "ca.db", "absent.key", "big.req", NULL);
	assert_int_equal(r.status, EXIT_CLI);
	run_free(&r);
	r = alb_ca("create-csr", "x", "absent.img", NULL);
	assert_int_equal(r.status, EXIT_CLI);
	assert_true(output_has_line(r.err, "alb-ca: cannot read 'absent.img': No such file or directory"));
	run_free(&r);
	/* create-csr checks the image against the devices, as create does */
	r = alb_ca("create-csr", "x", "hello.img", NULL);
	assert_int_equal(r.status, EXIT_CLI);
	assert_non_null(strstr(r.err, "specified bridge(s) does not match with the manifest"));
	run_free(&r);
	run_fails("alb-ca: Public key of certificate doesn't match private key", "sign",
		  "cacert.pem", "ca.db", "tenant.key", "big.req");
	/* a chain of two is no CACERT */
	run_fails("alb-ca: expect single ca as cacert", "sign", "hello.pem", "ca.db", "hello.key",
		  "big.req");
	/* none of the failures added a DB line */
	assert_db_line(3, 2, "hello.pem", "hello");
}

static int setup(void **state)
{
	(void)state;
	const char *names[] = {"service"};
	const unsigned types[] = {H_NET};
	image = h_image(1, names, types, 1, 0, &image_len);
	if (image == NULL)
		return -1;
	if (mkdtemp(dir) == NULL || chdir(dir) != 0) {
		perror(dir);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(image);
	if (chdir("/") != 0)
		return -1;
	remove_tree(dir);
	return 0;
}

int main(void)
{
	const char *root = getenv("ALB_BUILD_ROOT");
	snprintf(bin, sizeof(bin), "%s/cli/alb-ca", root != NULL ? root : ".");
	if (access(bin, X_OK) != 0) {
		printf("skipped: %s: %s\n", bin, strerror(errno));
		return SKIP_STATUS;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate), cmocka_unit_test(test_delegate),
		cmocka_unit_test(test_create), cmocka_unit_test(test_show),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
