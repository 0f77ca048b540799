/* alb-deploy and alb-info — what both programs share: the command-line
 * surface of albatross-client (spec §10.1–10.2), the parsing of create,
 * restart and policy options into wire values, running a command against a
 * daemon, and output helpers (aligned tables, progress).
 * Implemented in cli_common.c (the command line), cli_values.c (the values
 * of options), cli_run.c (running) and cli_output.c (output).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_CLI_COMMON_H
#define ALB_CLI_COMMON_H

#include <stdio.h>

#include "albatross/albatross.h"
#include "albatross/remote.h"

/* Exit statuses of albatross-client (spec §10.1). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_CHAIN = 116,       /* local validation of our own chain */
	CLI_EXIT_REMOTE = 117,      /* the daemon answered with a Failure */
	CLI_EXIT_HTTP = 118,
	CLI_EXIT_LOCAL_AUTH = 119,
	CLI_EXIT_REMOTE_AUTH = 120,
	CLI_EXIT_COMM = 121,        /* read/write failure; also --socket - */
	CLI_EXIT_CONNECT = 122,
	CLI_EXIT_CLI = 124,         /* command-line or local input error */
	CLI_EXIT_INTERNAL = 125
};

/* Most values a repeatable option (--cpu, --arg, --block, --net,
 * --exit-code, --bridge) takes in one invocation. Albatross has no bound;
 * this one keeps a typo'd script from building a huge message. */
#define CLI_LIST_MAX 256

/* Most positional arguments of any subcommand. */
#define CLI_POS_MAX 4

/* Largest integer an option takes: OCaml's int, which is what the daemon
 * decodes (63 bits). */
#define CLI_INT_MAX ((int64_t)0x3fffffffffffffff)
#define CLI_INT_MIN (-CLI_INT_MAX - 1)

/* Smallest transfer, in bytes, for which a progress line is shown. */
#define CLI_PROGRESS_MIN (1024 * 1024)

/* Most progress lines per second on a terminal. */
#define CLI_PROGRESS_HZ 10

/* zlib level of what is sent when --compression-level is not given:
 * albatross-client's 0 for a local socket, 9 remote and for --csr. */
#define CLI_LEVEL_LOCAL 0
#define CLI_LEVEL_REMOTE 9

/* Smallest sector size of a block device, and the one the daemon reports
 * when none was configured. */
#define CLI_SECTOR_MIN 512

/* Largest compression level (zlib). */
#define CLI_LEVEL_MAX 9

/* Default --http-host of update (builder-web of robur.coop). */
#define CLI_HTTP_HOST_DEFAULT "https://builds.robur.coop"

/* Default database directory (Linux; spec §0). */
#define CLI_DBDIR_DEFAULT "/var/lib/albatross"

/* Default timeout of daemon connections in seconds: none, like
 * albatross-client (destroy and restart wait for the unikernel to exit). */
#define CLI_TIMEOUT_DEFAULT 0

/* Longest --timeout, in seconds (fits the millisecond int of client.h). */
#define CLI_TIMEOUT_MAX 86400

/* Option identifiers; values start past any character so that short
 * options can share the space. */
enum cli_opt_id {
	OPT_HELP = 256,
	OPT_SOCKET,
	OPT_TMPDIR,
	OPT_DBDIR,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_VERBOSE,
	OPT_QUIET,
	/* create / restart */
	OPT_TYP,
	OPT_FORCE,
	OPT_STARTUP,
	OPT_NO_ADD_NAME,
	OPT_CPU,
	OPT_MEM,
	OPT_ARG,
	OPT_BLOCK_DEV,
	OPT_NET,
	OPT_LEVEL,
	OPT_RESTART,
	OPT_EXIT_CODE,
	OPT_CPUS,
	OPT_LINUX_BOOT,
	OPT_REPLACE_ARGS,
	/* policies */
	OPT_POLICY_BLOCK,
	OPT_BRIDGE,
	/* names and files */
	OPT_NAME,
	OPT_PATH,
	OPT_OUTPUT,
	OPT_DATA,
	OPT_FILE,
	/* console and stats */
	OPT_SINCE,
	OPT_COUNT,
	OPT_FOLLOW,
	/* remote (spec §10.1) */
	OPT_DESTINATION,
	OPT_CSR,
	OPT_CA,
	OPT_CA_KEY,
	OPT_SERVER_CA,
	OPT_KEY_TYPE,
	/* update */
	OPT_HTTP_HOST,
	OPT_DRYRUN,
	/* stats-add */
	OPT_VMMDEV,
	OPT_TAP,
	/* alb-ca */
	OPT_DAYS,
	OPT_SERVER,
	OPT_SERVER_DAYS
};

/* Number of option identifiers (OPT_SERVER_DAYS is the last). */
#define CLI_OPT_COUNT (OPT_SERVER_DAYS - OPT_HELP + 1)

/* One option of a subcommand. */
struct cli_opt {
	const char *name;  /* long name without "--"; NULL ends a table */
	int short_name;    /* single-letter alias, 0 for none */
	enum cli_opt_id id;
	const char *arg;   /* placeholder of its value, NULL for a flag */
	const char *help;
};

struct cli_args;

/* One subcommand. */
struct cli_cmd {
	const char *name;
	const char *alias;         /* another name for it, or NULL */
	const char *usage;         /* positional part, e.g. "NAME IMAGE" */
	size_t n_pos;              /* exact number of positional arguments */
	const char *doc;           /* one sentence */
	const struct cli_opt *opts; /* its own options (NULL-name terminated) */
	int (*run)(struct cli_args *a);
	/* Works on files only: the program's connect options do not apply. */
	bool offline;
};

/* A program: its name, its subcommands and the options every subcommand
 * takes. */
struct cli_prog {
	const char *name;
	const char *doc;
	const struct cli_cmd *cmds;
	size_t n_cmds;
	const struct cli_opt *common; /* NULL-name terminated */
	/* Options of the commands that talk to a daemon (not offline ones):
	 * the socket, the destination and keys. NULL-name terminated. */
	const struct cli_opt *connect;
};

/* The destination and key options of every command that talks to a
 * daemon (albatross-client's NETWORKING and CRYPTOGRAPHIC KEY OPTIONS),
 * for a program's connect table. */
#define CLI_REMOTE_OPTS                                                                \
	{"destination", 'd', OPT_DESTINATION, "HOST[:PORT]",                           \
	 "send the command to this albatross host over TLS instead of a local "        \
	 "socket (port 1025 unless given; an IPv6 address needs its port, "            \
	 "'::1:1025', or brackets, '[::1]'); '-' prints the certificate chain "        \
	 "instead"},                                                                    \
	    {"csr", 0, OPT_CSR, NULL,                                                   \
	     "write a certificate signing request for the command instead of "          \
	     "sending it: <CN>.req, with the key <CN>.key (made if missing)"},           \
	    {"ca", 0, OPT_CA, "FILE",                                                   \
	     "with -d: the CA certificate that signs the command, followed by its "     \
	     "chain (default " ALB_REMOTE_CA_DEFAULT ")"},                               \
	    {"ca-key", 0, OPT_CA_KEY, "FILE",                                           \
	     "with -d: the private key of that CA (default " ALB_REMOTE_CA_KEY_DEFAULT ")"}, \
	    {"server-ca", 0, OPT_SERVER_CA, "FILE",                                     \
	     "with -d: the CA certificate(s) the server's certificate must lead to "    \
	     "(default " ALB_REMOTE_SERVER_CA_DEFAULT ")"},                              \
	    {"key-type", 0, OPT_KEY_TYPE, "TYPE",                                       \
	     "with -d or --csr: the type of the new key: ed25519 (default), "           \
	     "rsa2048, rsa4096, p256, p384 or p521"}

/* Options of create and restart (spec §10.2), as given. */
struct cli_vm {
	enum alb_typ typ;
	bool force;
	bool has_startup;
	int64_t startup;
	bool no_add_name;
	size_t n_cpuids; /* as given; none means {0} */
	int64_t *cpuids;
	bool has_mem;
	int64_t mem;
	size_t n_argv;
	struct alb_str *argv;
	size_t n_blocks;
	struct alb_block_dev *blocks;
	size_t n_nets;
	struct alb_net_dev *nets;
	bool restart_on_fail;
	size_t n_exit_codes;
	int64_t *exit_codes;
	int64_t numcpus;
	const char *linux_boot;
	bool replace_arguments;
	bool given; /* any of the configuration options above was given */
};

/* Everything a command line said. Strings point into argv or into memory
 * owned here (freed by cli_args_free()). */
struct cli_args {
	const struct cli_prog *prog;
	const struct cli_cmd *cmd;
	size_t n_pos;
	const char *pos[CLI_POS_MAX];
	/* common */
	const char *socket;  /* NULL: the daemon's socket under tmpdir */
	const char *tmpdir;
	const char *dbdir;
	int timeout_ms;
	bool json;
	int verbosity; /* 0 default, >0 -v, <0 -q */
	/* remote (spec §10.1): -d/--destination, --csr and the key files */
	bool remote;
	char host[ALB_REMOTE_HOST_BUF]; /* "-": print the chain instead */
	uint16_t port;
	bool csr;
	const char *ca, *ca_key, *server_ca;
	enum alb_key_type key_type;
	/* update */
	const char *http_host; /* without a trailing '/' (owned) */
	bool dryrun;
	/* stats-add */
	const char *vmmdev;
	size_t n_taps;
	struct alb_stats_tap *taps;
	/* alb-ca */
	int64_t days, server_days; /* 0: the default */
	const char *server;
	/* progress of the current transfer */
	int64_t progress_start_ms, progress_last_ms;
	bool progress_shown;
	/* create, restart, policies */
	struct cli_vm vm;
	bool has_level;
	int level;
	bool has_policy_block;
	int64_t policy_block;
	size_t n_bridges;
	const char **bridges;
	/* names and files */
	const char *name_opt; /* -n/--name, --name */
	const char *path_opt; /* -p/--path */
	const char *output;   /* -o/--output */
	const char *data;     /* --data */
	const char *file;     /* --file */
	/* console and stats */
	bool has_since;
	struct alb_time since; /* --since */
	bool has_count;
	int64_t count;         /* --count */
	bool follow;           /* --follow */
	/* private: allocations to free */
	size_t n_owned_;
	size_t cap_owned_;
	void **owned_;
};

/* Fills err (if not NULL) with code and a message (alb_set_error()) and
 * evaluates to code, like the library's private alb_fail(). */
#define cli_fail(err, code, ...)                                               \
	__extension__({                                                        \
		int cli_fail_code_ = (code);                                   \
		alb_set_error((err), cli_fail_code_, __VA_ARGS__);             \
		cli_fail_code_;                                                \
	})

/* The zlib level of what is sent: --compression-level, else
 * CLI_LEVEL_REMOTE with -d or --csr, else CLI_LEVEL_LOCAL. */
int cli_level(const struct cli_args *a);

/* Parses argv (argv[0] is the program, argv[1] the subcommand) into *a
 * (zeroed first; free with cli_args_free() whatever the result). Returns:
 * 0 and a->cmd set; 1 when help was asked for and printed to out; or
 * ALB_EPARSE/ALB_ETOOBIG/ALB_ENOMEM with the message (the form
 * "option '--mem': invalid value 'x', expected an integer") in err. */
int cli_parse(const struct cli_prog *p, int argc, char **argv,
	      struct cli_args *a, FILE *out, struct alb_error *err);

/* Frees what a cli_args owns; NULL is a no-op. */
void cli_args_free(struct cli_args *a);

/* Hands p (malloc'd) to a, to be freed by cli_args_free(); returns p, or
 * NULL when p is NULL or out of memory (p is then freed). */
void *cli_own(struct cli_args *a, void *p);

/* Re-fills err (if not NULL) with "<prefix>: <its message>"; returns
 * code. */
int cli_prefix_fail(struct alb_error *err, int code, const char *prefix);

/* The whole program: parses the command line, sets the log level (-v/-q)
 * and runs the subcommand. Returns the exit status (124 for a command-line
 * error, printed as one line on stderr). */
int cli_main(const struct cli_prog *p, int argc, char **argv);

/* Parses a decimal (or 0x-prefixed hexadecimal) integer in
 * [CLI_INT_MIN, CLI_INT_MAX]: "invalid value 'x', expected an integer". */
int cli_parse_int(const char *s, int64_t *out, struct alb_error *err);

/* Parses --block NAME[:DEVICE][@SECTOR-SIZE] as albatross-client does:
 * "sector size must be an integer", "sector size must be a power of two
 * greater than or equal 512", "format is 'name[@sector-size]' or
 * 'name:device-name[@sector-size]'", "format is 'name' or 'name:device-name'".
 * The strings of *out are owned by a. */
int cli_parse_block(struct cli_args *a, const char *s,
		    struct alb_block_dev *out, struct alb_error *err);

/* Parses --net [NETIF:]BRIDGE[@MAC]: "format is [name:]bridge[@mac]", the
 * error of alb_mac_parse() ("invalid MAC address <s>"), "format is 'name'
 * or 'name:device-name'". A single word is the netif, bridge absent (= the
 * same name). */
int cli_parse_net(struct cli_args *a, const char *s, struct alb_net_dev *out,
		  struct alb_error *err);

/* Builds a unikernel configuration from the create/restart options, without
 * the image: the bridge and block name uniqueness checks ("Bridge names
 * must be a set", "Block devices must be a set"), cpuids as a set (default
 * {0}; empty: "CPUids may not be empty", for restart "CPUids cannot be
 * empty"), exit codes as a set, argv absent when no --arg, memory default
 * 32 MB. The lists of *cfg are owned by a. */
int cli_vm_config(struct cli_args *a, bool restart,
		  struct alb_unikernel_config *cfg, struct alb_error *err);

/* Builds the policy of add-policy (memory default 512 MB, cpuids default
 * {0}, block absent unless given, bridges), sorted and without duplicates;
 * warns on duplicates like albatross-client. unikernels comes from the
 * positional argument. The lists of *p are owned by a. */
int cli_policy(struct cli_args *a, int64_t unikernels, struct alb_policy *p,
	       struct alb_error *err);

/* Parses a positional or option name (alb_name_parse()), prefixing the
 * message with what it was ("UNIKERNEL-NAME argument: invalid name"). */
int cli_name(const char *what, const char *s, char *out,
	     struct alb_error *err);

/* Parses a path (alb_path_parse()) into its canonical name. */
int cli_path(const char *what, const char *s, char *out,
	     struct alb_error *err);

/* Parses --since as albatross-client takes it: RFC 3339
 * ("2024-02-29T12:34:56.5+01:00"; 'T', 't' or ' '; 'Z', 'z' or an offset;
 * digits past nanoseconds dropped), or YYYY-MM-DD meaning midnight UTC:
 * "invalid value 'x', expected an RFC 3339 timestamp or YYYY-MM-DD". */
int cli_parse_since(const char *s, struct alb_time *out, struct alb_error *err);

/* Parses update's --http-host: "http[s]://host" with an optional final
 * '/', which is dropped ("expected http[s]://hostname"). */
int cli_parse_http_host(struct cli_args *a, const char *s, struct alb_error *err);

/* Parses stats-add's --bridge BRIDGE:TAP ("broken, format is bridge:tap");
 * the netif (before ':') is owned by a. */
int cli_parse_tap(struct cli_args *a, const char *s, struct alb_stats_tap *out,
		  struct alb_error *err);

/* Reads a whole regular file of at most max bytes into *data (free() it)
 * and *len: "cannot read '<path>': <reason>", "'<path>' is larger than N
 * bytes" (ALB_ETOOBIG). */
int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len,
		  struct alb_error *err);

/* ---- running a command (cli_run.c) ----------------------------------- */

/* What to do with the replies of a command. */
struct cli_request {
	const char *name;             /* canonical name */
	const struct alb_command *cmd;
	int upload_fd;                /* a stream after the command, or -1 */
	uint64_t upload_size;         /* its size if known, for progress */
	int upload_level;             /* compress it at this level (0: not) */
	int dump_fd;                  /* Block_dump: where the data goes, or -1 */
	/* Called with the success reply (single mode) or each message (read
	 * mode); NULL prints "<name>: success: <text>" for string replies. */
	int (*on_reply)(struct cli_args *a, const struct alb_msg *m);
};

/* Runs a request: with --socket - prints the encoded command as a hexdump
 * on stdout and returns CLI_EXIT_COMM; with --csr writes the CSR; otherwise
 * connects (the socket of the command's daemon under --tmpdir, --socket,
 * or the --destination over TLS), sends, uploads, receives, and reports.
 * Returns an exit status; failures are one line on stderr (a Failure
 * reply: "<name>: command failed: <text>", 117). */
int cli_execute(struct cli_args *a, const struct cli_request *r);

/* The first step of cli_execute(): with --socket - prints the encoded
 * command and returns CLI_EXIT_COMM; with --csr writes the CSR and returns
 * its status with *c NULL; with --destination - prints the chain
 * (CLI_EXIT_COMM); otherwise connects to the socket of the command's
 * daemon (or --socket, or the destination) and returns CLI_EXIT_OK with
 * *c set (close it with alb_client_close()). Failures are one line on
 * stderr with albatross-client's exit status. */
int cli_connect(struct cli_args *a, const char *name,
		const struct alb_command *cmd, struct alb_client **c);

/* Runs a request on a connection made by cli_connect() (closed here). */
int cli_run_connected(struct cli_args *a, const struct cli_request *r,
		      struct alb_client *c);

/* Reports a failed call on c (client.h) and returns its exit status: for a
 * remote client whose server refused our certificate, "local
 * authentication failure ..." and 119; otherwise the message and 121 (125
 * when out of memory). */
int cli_comm_failure(struct cli_args *a, struct alb_client *c, int rc,
		     const struct alb_error *err);

/* ---- files (cli_files.c) --------------------------------------------- */

/* Where albatross-client puts a download: <$TMPDIR or /tmp>/<name>.<RFC
 * 3339 time>. */
void cli_default_output(const char *name, char *out, size_t size);

/* Where the default output goes: $TMPDIR, or /tmp. */
const char *cli_default_output_dir(void);

/* Writes p[0..len) to path (0644, replaced); "cannot write '<path>': ..."
 * and 124 on failure. */
int cli_write_file(struct cli_args *a, const char *path, const uint8_t *p,
		   size_t len);

/* Where the image of a Unikernel_get goes as it arrives: a temporary file
 * beside the destination (-o, or the default output of the reply's name),
 * renamed to it once complete, so that a failed download leaves nothing
 * behind; or the destination itself when -o names something that is not
 * a regular file (a pipe, /dev/stdout). */
struct cli_image_out {
	int fd;
	bool direct;
	char tmp[4096]; /* the temporary file, "" once renamed or removed */
	struct alb_image_received got;
};

/* Opens o for a download (o->fd); "cannot write ..." and 124 on failure. */
int cli_image_open(struct cli_args *a, struct cli_image_out *o);

/* The image reply m, whose image went to o: renames the file into place
 * and prints "<name>: dumped image to <path>" (or the reply as JSON). */
int cli_image_reply(struct cli_args *a, struct cli_image_out *o,
		    const struct alb_msg *m);

/* Closes o and removes its temporary file, if any is left. */
void cli_image_discard(struct cli_image_out *o);

/* Runs a block dump request into -o or the default output for name (a
 * partial file is removed on failure), then prints "<name>: dumped to
 * <path>"; on c when not NULL (made by cli_connect()), else through
 * cli_execute(). */
int cli_dump(struct cli_args *a, const char *name, struct cli_request *r,
	     struct alb_client *c);

/* ---- remote (cli_remote.c) ------------------------------------------- */

/* The remote settings of the command line (--ca, --ca-key, --server-ca,
 * --key-type, the level of an image in the certificate, --timeout). */
void cli_remote_config(const struct cli_args *a, struct alb_remote_config *cfg);

/* Exit status of a remote failure class (remote.h). */
int cli_remote_exit(enum alb_remote_status why, int rc);

/* cli_connect() for -d: the credentials of the command, then "-" prints
 * them, else connects. */
int cli_remote_connect(struct cli_args *a, const char *name,
		       const struct alb_command *cmd, struct alb_client **c);

/* --csr: writes <CN>.key (0400, kept when it exists) and <CN>.req for the
 * command on name (spec §9.8). Returns 0, or 124 with
 * "error while creating CSR: <reason>". */
int cli_write_csr(struct cli_args *a, const char *name,
		  const struct alb_command *cmd);

/* Options and run function of `certificate CERT KEY` (spec §9.9): runs the
 * command of an existing certificate at --destination. */
extern const struct cli_opt cli_certificate_opts[];
int cli_run_certificate(struct cli_args *a);

/* ---- commands shared by alb-deploy and alb-ca (cli_cmds.c) ----------- */

/* Options of create (alb-deploy create, alb-ca create-csr) and restart. */
extern const struct cli_opt cli_create_opts[];
extern const struct cli_opt cli_restart_opts[];
/* Options of add-policy (alb-deploy add-policy, alb-ca add-policy-csr). */
extern const struct cli_opt cli_policy_opts[];

/* `create NAME IMAGE` (spec §10.2): the configuration from the options,
 * the image checked against it, then sent (locally inline; remotely in
 * the certificate or streamed; or written into a CSR). */
int cli_run_create(struct cli_args *a);

/* `add-policy PATH UNIKERNELS`. */
int cli_run_add_policy(struct cli_args *a);

/* Checks the Solo5 image file fd against the devices of cfg (spec §5.4):
 * the errors of alb_solo5_parse() and alb_manifest_match(). */
int cli_image_check(int fd, const struct alb_unikernel_config *cfg,
		    struct alb_error *err);

/* Sends a create or force-create whose configuration is in cmd, with the
 * image read from fd (an uncompressed Solo5 image, checked here against
 * the configuration's devices: spec §5.4; `what` names it in messages):
 * locally inline, compressed at cli_level(); remotely in the certificate
 * when it fits, else streamed (remote.h); with --csr in the request. */
int cli_send_create(struct cli_args *a, const char *name,
		    struct alb_command *cmd, int fd, const char *what);

/* Reports a Failure reply on stderr ("<prog>: <name>: command failed:
 * <text>", escaped) and returns CLI_EXIT_REMOTE. */
int cli_report_failure(struct cli_args *a, const char *name, const char *text,
		       size_t len);

/* Writes "<name>: <text>" (escaped) of a success reply carrying a string
 * to stderr; other replies write nothing. */
void cli_note_reply(const struct alb_msg *m);

/* Writes the hexdump that --socket - shows ("out:" then lines of
 * "OOOOOOOO  xx xx ... |ascii|"). */
void cli_hexdump(FILE *out, const uint8_t *p, size_t len);

/* ---- output (cli_output.c) ------------------------------------------- */

/* Writes one line to stderr: "<prog>: <message>". */
void cli_error(const struct cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One-line report of a failed local step (err's message); returns a
 * command-line error (124), as albatross-client reports its local
 * failures, or 125 when out of memory. */
int cli_local_failure(const struct cli_args *a, const struct alb_error *err);

/* Writes "<prog>: warning: <message>" to stderr unless -q was given. */
void cli_warn(const struct cli_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes m to stdout with alb_msg_print() (flags: 0 or ALB_PRINT_JSON).
 * Returns CLI_EXIT_OK, or CLI_EXIT_INTERNAL once the error is reported. */
int cli_print_msg(struct cli_args *a, const struct alb_msg *m, unsigned flags);

/* An aligned text table. */
struct cli_table;

/* A table with n_cols columns named by headers (copied). NULL on ENOMEM. */
struct cli_table *cli_table_new(size_t n_cols, const char *const *headers);

/* Adds a row of n_cols cells (copied; NULL is shown as "-"). */
int cli_table_add(struct cli_table *t, const char *const *cells);

/* Prints the header and the rows, columns separated by two spaces and
 * padded to the widest cell (the last one not padded); cells escaped by
 * alb_print_escape() (flags 0), so that remote strings cannot drive the
 * terminal (spec §12.6 item 4). */
void cli_table_print(const struct cli_table *t, FILE *out);

/* Frees a table; NULL is a no-op. */
void cli_table_free(struct cli_table *t);

/* Progress of an upload on stderr when it is a terminal (and not -q), at
 * most CLI_PROGRESS_HZ lines a second: "uploading: 12.3 MiB of 40.0 MiB
 * (30%), 150.2 MiB/s" (total 0: without the total). ctx is the struct
 * cli_args. */
void cli_progress(void *ctx, uint64_t done, uint64_t total);

/* The same for a download: "downloading: 12.3 MiB, 150.2 MiB/s". */
void cli_progress_download(void *ctx, uint64_t done, uint64_t total);

/* Ends a progress line that was shown (a newline), and starts afresh. */
void cli_progress_end(struct cli_args *a);

/* Formats a size in bytes for people ("512 B", "4.0 KiB", "12.3 MiB"). */
void cli_format_size(uint64_t n, char *buf, size_t size);

#endif
