/* fake-tender — stands in for solo5-hvt in tests that exercise supervision
 * rather than virtualisation. It takes solo5-hvt's command line, checks
 * what solo5-hvt would check (image, taps, block files), reports what a
 * test wants to verify about how it was started, and then behaves as its
 * unikernel arguments ask:
 *
 *   --exit=N        exit with status N (default 0)
 *   --signal=N      die by signal N (after the other actions)
 *   --lines=N       print N console lines "fake-tender: line <i>"
 *   --spam-bytes=N  print one line of N 'x' bytes
 *   --sleep-ms=N    sleep N ms first (SIGTERM ends it as in solo5-hvt)
 *   --usr1-exit=N   SIGUSR1 makes it exit with status N (a failure
 *                   that a test triggers when it wants)
 *   --ticks-ms=N    then print "fake-tender: tick <i>" every N ms until a
 *                   signal ends it; a console write that fails aborts,
 *                   as solo5-hvt's assert on its console write does
 *   --reject-name   exit 64 when a --name= argument is present, like a
 *                   unikernel that does not know --name
 *   --attach        open each tap (/dev/net/tun, TUNSETIFF by name) and
 *                   block file (read-write) as solo5-hvt does, and hold
 *                   them while running; opened after the report lines
 *                   below (so that "fds" shows what it was given), then
 *                   "devices attached" is reported
 *   --try-tap=TAP   try to open tap TAP as solo5-hvt opens its own (another
 *                   unikernel's: a test of isolation); reports
 *                   "try-tap TAP ok" or "try-tap TAP <error>"
 *   --try-open=PATH try to open PATH read-write (another unikernel's block
 *                   file, /dev/kvm); reports "try-open PATH ok|<error>"

 * Every other argument after the image is accepted and ignored. Report
 * lines, on stdout, each starting with "fake-tender: ":
 *   start <CLOCK_MONOTONIC ns at main>, pid <pid> pgid <pgid>,
 *   argv <i> <argument> (one per argument), cmdline <guest command line>,
 *   affinity <cpu,cpu,...>, fds <fd fd ...>, sigblk <hex>, sigign <hex>,
 *   uid, gid, groups, capinh, capprm, capeff, capbnd, capamb, nnp (the
 *   lines of /proc/self/status, e.g. "fake-tender: uid 0 0 0 0").
 * SPDX-License-Identifier: ISC */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROG "solo5-hvt"
#define CMDLINE_MAX 8191

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("fake-tender: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void on_signal(int sig)
{
	/* solo5-hvt's answer to SIGINT and SIGTERM */
	char msg[64];
	int n = snprintf(msg, sizeof(msg), PROG ": Exiting on signal %d\n", sig);
	if (n > 0 && write(2, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

static volatile sig_atomic_t usr1_code;

static void on_usr1(int sig)
{
	(void)sig;
	_exit((int)usr1_code);
}

static long number(const char *s, const char *arg)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		die("Invalid option: `%s'", arg);
	return v;
}

/* A tap must exist and be up, as Solo5's tap_attach() requires. The check
 * goes through an ioctl rather than /sys/class/net, which shows the network
 * namespace of whoever mounted /sys, not ours. */
static void check_tap(const char *tap)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(tap) >= IFNAMSIZ)
		die("Could not attach interface: %s: File name too long", tap);
	strcpy(ifr.ifr_name, tap);
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket: %s", strerror(errno));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		die("Could not attach interface: %s: %s", tap,
		    errno == ENODEV ? "No such file or directory" : strerror(errno));
	close(s);
	if (!(ifr.ifr_flags & IFF_UP))
		die("Could not attach interface: %s: Network is down", tap);
}

static void check_block(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("Could not open block device: %s: %s", path, strerror(errno));
	close(fd);
}

/* Opens tap by name as Solo5's tap_attach() does; the fd or -1. */
static int tap_open(const char *tap)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The devices given on the command line, opened after the reports. */
#define DEVICES_MAX 64
static const char *taps[DEVICES_MAX], *blocks[DEVICES_MAX];
static int n_taps, n_blocks;

static void attach_devices(void)
{
	for (int k = 0; k < n_taps; k++)
		if (tap_open(taps[k]) < 0)
			die("Could not attach interface: %s: %s", taps[k],
			    strerror(errno));
	for (int k = 0; k < n_blocks; k++)
		if (open(blocks[k], O_RDWR | O_CLOEXEC) < 0)
			die("Could not open block device: %s: %s", blocks[k],
			    strerror(errno));
	say("devices attached");
}

static void report_status_field(const char *field, const char *label)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return;
	char line[1024];
	size_t fl = strlen(field);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			char *v = line + fl + 1;
			v += strspn(v, " \t");
			size_t l = strcspn(v, "\n");
			while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
				l--;
			v[l] = '\0';
			say("%s %s", label, v);
		}
	}
	fclose(f);
}

static void report_affinity(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	char buf[4096];
	size_t o = 0;
	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && o + 8 < sizeof(buf); c++)
		if (CPU_ISSET(c, &set))
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d",
					      o ? "," : "", c);
	say("affinity %s", buf);
}

static void report_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return;
	int self = dirfd(d);
	char buf[4096];
	size_t o = 0;
	buf[0] = '\0';
	struct dirent *e;
	while ((e = readdir(d)) != NULL && o + 16 < sizeof(buf)) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
				      o ? " " : "", e->d_name);
	}
	closedir(d);
	say("fds %s", buf);
}

int main(int argc, char **argv)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);

	/* solo5-hvt honours --version and --help anywhere before KERNEL */
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--version") == 0) {
			fprintf(stderr, "solo5-hvt tender, version v0.12.1\n");
			fprintf(stderr, "ABI version 2\n");
			return 0;
		}
		if (strcmp(argv[i], "--help") == 0) {
			fprintf(stderr, "usage: " PROG " [ CORE OPTIONS ] "
					"[ MODULE OPTIONS ] [ -- ] KERNEL [ ARGS ]\n");
			return 1;
		}
	}

	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		char *eq = strchr(a, '=');
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strncmp(a, "--mem=", 6) == 0) {
			if (number(a + 6, a) <= 0)
				die("Malformed argument to --mem");
		} else if (strncmp(a, "--net:", 6) == 0 && eq != NULL) {
			check_tap(eq + 1);
			if (n_taps == DEVICES_MAX)
				die("Invalid option: `%s'", a);
			taps[n_taps++] = eq + 1;
		} else if (strncmp(a, "--net-mac:", 10) == 0 && eq != NULL) {
			if (strlen(eq + 1) != 17)
				die("Invalid option: `%s'", a);
		} else if (strncmp(a, "--block:", 8) == 0 && eq != NULL) {
			check_block(eq + 1);
			if (n_blocks == DEVICES_MAX)
				die("Invalid option: `%s'", a);
			blocks[n_blocks++] = eq + 1;
		} else if (strncmp(a, "--block-sector-size:", 20) == 0 &&
			   eq != NULL) {
			long n = number(eq + 1, a);
			if (n < 512 || (n & (n - 1)) != 0)
				die("Invalid option: `%s'", a);
		} else {
			die("Invalid option: `%s'", a);
		}
	}
	if (i >= argc) {
		fprintf(stderr, PROG ": Missing KERNEL operand\n");
		return 1;
	}
	const char *kernel = argv[i++];
	int kfd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		die("%s: Could not open: %s", kernel, strerror(errno));
	close(kfd);

	/* what the test checks about how we were started comes first, before
	 * we change any of it */
	say("start %lld", (long long)start.tv_sec * 1000000000LL + start.tv_nsec);
	say("pid %d pgid %d", (int)getpid(), (int)getpgid(0));
	for (int k = 0; k < argc; k++)
		say("argv %d %s", k, argv[k]);
	report_affinity();
	report_fds();
	report_status_field("SigBlk", "sigblk");
	report_status_field("SigIgn", "sigign");
	static const char *const creds[][2] = {
		{"Uid", "uid"},       {"Gid", "gid"},       {"Groups", "groups"},
		{"CapInh", "capinh"}, {"CapPrm", "capprm"}, {"CapEff", "capeff"},
		{"CapBnd", "capbnd"}, {"CapAmb", "capamb"}, {"NoNewPrivs", "nnp"},
	};
	for (size_t k = 0; k < sizeof(creds) / sizeof(creds[0]); k++)
		report_status_field(creds[k][0], creds[k][1]);
	for (int k = i; k < argc; k++)
		if (strcmp(argv[k], "--attach") == 0)
			attach_devices();

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	char cmdline[CMDLINE_MAX + 1];
	size_t o = 0;
	cmdline[0] = '\0';
	long code = 0, sig = 0, lines = 0, spam = 0, sleep_ms = 0, ticks_ms = 0;
	int reject_name = 0, has_name = 0;
	for (int k = i; k < argc; k++) {
		const char *a = argv[k];
		int n = snprintf(cmdline + o, sizeof(cmdline) - o, "%s%s",
				 k > i ? " " : "", a);
		if (n < 0 || (size_t)n >= sizeof(cmdline) - o)
			die("Guest command line too long (max=%d characters)",
			    CMDLINE_MAX);
		o += (size_t)n;
		if (strncmp(a, "--exit=", 7) == 0)
			code = number(a + 7, a);
		else if (strncmp(a, "--signal=", 9) == 0)
			sig = number(a + 9, a);
		else if (strncmp(a, "--lines=", 8) == 0)
			lines = number(a + 8, a);
		else if (strncmp(a, "--spam-bytes=", 13) == 0)
			spam = number(a + 13, a);
		else if (strncmp(a, "--sleep-ms=", 11) == 0)
			sleep_ms = number(a + 11, a);
		else if (strncmp(a, "--ticks-ms=", 11) == 0)
			ticks_ms = number(a + 11, a);
		else if (strncmp(a, "--usr1-exit=", 12) == 0) {
			usr1_code = (sig_atomic_t)number(a + 12, a);
			signal(SIGUSR1, on_usr1);
		}
		else if (strcmp(a, "--reject-name") == 0)
			reject_name = 1;
		else if (strncmp(a, "--try-tap=", 10) == 0) {
			int fd = tap_open(a + 10);
			say("try-tap %s %s", a + 10, fd >= 0 ? "ok" : strerror(errno));
			if (fd >= 0)
				close(fd);
		} else if (strncmp(a, "--try-open=", 11) == 0) {
			int fd = open(a + 11, O_RDWR | O_CLOEXEC);
			say("try-open %s %s", a + 11, fd >= 0 ? "ok" : strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		else if (strncmp(a, "--name=", 7) == 0)
			has_name = 1;
	}
	say("cmdline %s", cmdline);

	if (reject_name && has_name) {
		fprintf(stdout, "unknown option --name\n");
		fflush(stdout);
		return 64;
	}
	if (sleep_ms > 0) {
		struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	for (long k = 1; k <= lines; k++)
		say("line %ld", k);
	if (spam > 0) {
		char chunk[4096];
		memset(chunk, 'x', sizeof(chunk));
		for (long left = spam; left > 0;) {
			size_t n = left < (long)sizeof(chunk) ? (size_t)left : sizeof(chunk);
			if (fwrite(chunk, 1, n, stdout) != n)
				return 1;
			left -= (long)n;
		}
		fputc('\n', stdout);
		fflush(stdout);
	}
	for (long k = 1; ticks_ms > 0; k++) {
		struct timespec ts = {ticks_ms / 1000, (ticks_ms % 1000) * 1000000};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		char tick[64];
		int n = snprintf(tick, sizeof(tick), "fake-tender: tick %ld\n", k);
		if (write(1, tick, (size_t)n) != n)
			abort();
	}
	if (sig > 0) {
		signal((int)sig, SIG_DFL);
		raise((int)sig);
		/* a signal whose default is to be ignored did nothing */
	}
	return (int)code;
}
