/* Test helper: checks a directory of vectors (the layout of
 * ../shared/vectors, see its README.md) against what its MANIFEST.tsv and
 * .txt files say: every row decodes or is refused as its expectation says
 * (with the error text Albatross gave), re-encodes as Albatross did, and
 * holds the times Albatross read; every DER frame of the transcripts
 * round-trips. Counts come from the MANIFEST and the directory listing,
 * never from this file, so that any vector set of that layout can be
 * checked. For tests linking the proto folder.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_VEC_CHECK_H
#define ALB_TEST_VEC_CHECK_H

#include <dirent.h>
#include <stdarg.h>

#include "albatross/state.h"
#include "albatross/wire.h"
#include "vectors.h"

/* Most times one value holds that a check compares (the rest are counted). */
#define VEC_TIMES_MAX 64

/* The expectations of MANIFEST.tsv, and their counters in struct
 * vec_report (VEC_EXPECT_OTHER counts rows with none of them). */
enum vec_expect {
	VEC_OK_ROUNDTRIP,
	VEC_OK_LOSSY,
	VEC_OK_NONCANONICAL,
	VEC_ERROR,
	VEC_EXPECT_OTHER,
	VEC_EXPECTS
};

static const char *const vec_expect_names[VEC_EXPECTS] = {
	"ok-roundtrip", "ok-lossy", "ok-noncanonical", "error", "other"};

static inline enum vec_expect vec_expect_of(const char *s)
{
	for (int i = 0; i < VEC_EXPECT_OTHER; i++)
		if (strcmp(s, vec_expect_names[i]) == 0)
			return (enum vec_expect)i;
	return VEC_EXPECT_OTHER;
}

/* What checking a directory found. */
struct vec_report {
	size_t rows;                  /* MANIFEST rows */
	size_t per_expect[VEC_EXPECTS];
	size_t frames;                /* transcript frames that round-trip */
	size_t sessions;              /* transcript folders */
	size_t failures;              /* rows, files or frames that did not hold */
	char first_failure[1024];     /* the first one, for the test to name */
};

static inline void vec_failed(struct vec_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records and prints one failure. */
static inline void vec_failed(struct vec_report *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r->failures++ == 0)
		snprintf(r->first_failure, sizeof(r->first_failure), "%s", msg);
	printf("vector check failed: %s\n", msg);
}

/* Formats a reason into why (cut at whysz). */
static inline void vec_say(char *why, size_t whysz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline void vec_say(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

/* The times a decoded command holds. */
static inline size_t vec_command_times(const struct alb_command *c, struct vec_time *t,
				       size_t n)
{
	if (c->kind == ALB_CMD_CONSOLE_SUBSCRIBE && c->u.subscribe.since) {
		if (n < VEC_TIMES_MAX)
			t[n] = (struct vec_time){c->u.subscribe.time.sec, c->u.subscribe.time.nsec};
		n++;
	}
	return n;
}

/* The times a decoded message holds, in the order of its encoding. */
static inline size_t vec_msg_times(const struct alb_msg *m, struct vec_time *t)
{
	size_t n = 0;
	if (m->kind == ALB_PAYLOAD_COMMAND)
		n = vec_command_times(&m->u.command, t, n);
	if (m->kind == ALB_PAYLOAD_DATA && m->u.data.kind == ALB_DATA_CONSOLE) {
		t[n++] = (struct vec_time){m->u.data.u.console.time.sec,
					   m->u.data.u.console.time.nsec};
	}
	if (m->kind == ALB_PAYLOAD_SUCCESS &&
	    (m->u.success.kind == ALB_REPLY_UNIKERNEL_INFO ||
	     m->u.success.kind == ALB_REPLY_OLD_UNIKERNEL_INFO4 ||
	     m->u.success.kind == ALB_REPLY_OLD_UNIKERNEL_INFO5)) {
		for (size_t i = 0; i < m->u.success.u.infos.n; i++, n++) {
			const struct alb_time *s = &m->u.success.u.infos.v[i].info.started;
			if (n < VEC_TIMES_MAX)
				t[n] = (struct vec_time){s->sec, s->nsec};
		}
	}
	return n;
}

/* Decodes b as kind ("wire", "state", "cert"); on success re-encodes it
 * into out and collects the times it holds. Returns the decoder's result;
 * a failing re-encoding is ALB_EINVAL with its message in err. */
static inline int vec_decode_encode(const char *kind, const uint8_t *b, size_t n,
				    struct alb_buf *out, struct vec_time *times,
				    size_t *n_times, struct alb_error *err)
{
	int rc;
	struct vec_time scratch[VEC_TIMES_MAX];
	size_t nt = 0;
	if (times == NULL)
		times = scratch;
	if (strcmp(kind, "state") == 0) {
		struct alb_state *s;
		rc = alb_state_decode(b, n, 0, &s, err);
		if (rc == 0) {
			rc = alb_state_encode(s, out, err);
			alb_state_free(s);
		}
	} else if (strcmp(kind, "cert") == 0) {
		struct alb_certext *c;
		rc = alb_certext_decode(b, n, 0, &c, err);
		if (rc == 0) {
			nt = vec_command_times(&c->command, times, 0);
			rc = alb_certext_encode(c, out, err);
			alb_certext_free(c);
		}
	} else if (strcmp(kind, "wire") == 0) {
		struct alb_msg *m;
		rc = alb_msg_decode(b, n, 0, &m, err);
		if (rc == 0) {
			nt = vec_msg_times(m, times);
			rc = alb_msg_encode(m, 0, out, err);
			alb_msg_free(m);
		}
	} else {
		rc = ALB_EINVAL;
		if (err != NULL) {
			err->code = rc;
			snprintf(err->msg, sizeof(err->msg), "unknown kind \"%s\"", kind);
		}
	}
	if (n_times != NULL)
		*n_times = nt;
	return rc;
}

/* Compares got with want; on a difference writes where into why. */
static inline bool vec_same(const uint8_t *got, size_t gn, const uint8_t *want, size_t wn,
			    char *why, size_t whysz)
{
	if (gn == wn && memcmp(got, want, wn) == 0)
		return true;
	size_t i = 0;
	while (i < gn && i < wn && got[i] == want[i])
		i++;
	vec_say(why, whysz, "re-encoding differs at byte %zu (lengths %zu, expected %zu)",
		 i, gn, wn);
	return false;
}

/* The times decoded against those the .txt shows. */
static inline bool vec_times_agree(const char *txt, const struct vec_time *got, size_t ng,
				   char *why, size_t whysz)
{
	struct vec_time want[VEC_TIMES_MAX];
	size_t nw = vec_txt_times(txt, want, VEC_TIMES_MAX);
	if (nw != ng) {
		vec_say(why, whysz, "%zu times decoded, the .txt shows %zu", ng, nw);
		return false;
	}
	for (size_t i = 0; i < ng && i < VEC_TIMES_MAX; i++)
		if (got[i].sec != want[i].sec || got[i].nsec != want[i].nsec) {
			vec_say(why, whysz,
				 "time %zu decodes as %lld s %u ns, the .txt shows %lld s %u ns",
				 i, (long long)got[i].sec, got[i].nsec, (long long)want[i].sec,
				 want[i].nsec);
			return false;
		}
	return true;
}

/* Checks one MANIFEST row of dir against its expectation; false with the
 * reason in why when it does not hold. */
static inline bool vec_check_entry(const char *dir, const struct vec_entry *e, char *why,
				   size_t whysz)
{
	size_t n = 0, tl = 0;
	uint8_t *b = vec_read_at(dir, e->file, &n);
	char *txt = vec_read_txt(dir, e->file, &tl);
	struct alb_buf out = {0};
	struct alb_error err = {0};
	struct vec_time times[VEC_TIMES_MAX];
	size_t nt = 0;
	bool ok = false;
	enum vec_expect x = vec_expect_of(e->expect);
	if (b == NULL || txt == NULL) {
		vec_say(why, whysz, "cannot read %s or its .txt", e->file);
		goto done;
	}
	int rc = vec_decode_encode(e->kind, b, n, &out, times, &nt, &err);
	if (x == VEC_EXPECT_OTHER) {
		vec_say(why, whysz, "unknown expectation \"%s\"", e->expect);
	} else if (x == VEC_ERROR) {
		/* Albatross raises an exception on some; a clean refusal is
		 * what a C peer owes them */
		if (rc == 0)
			vec_say(why, whysz, "accepted, expected \"%s\"", e->text);
		else if (rc != ALB_EPARSE)
			vec_say(why, whysz, "refused with %d (%s), expected a parse error", rc,
				 err.msg);
		else if (strncmp(e->text, "EXCEPTION", 9) != 0 && strcmp(err.msg, e->text) != 0)
			vec_say(why, whysz, "error \"%s\", expected \"%s\"", err.msg, e->text);
		else
			ok = true;
	} else if (rc != 0) {
		vec_say(why, whysz, "refused: %s", err.msg);
	} else if (vec_times_agree(txt, times, nt, why, whysz)) {
		size_t rn = 0;
		uint8_t *re = vec_txt_hex(txt, tl, "re-encoding by albatross", &rn);
		if (x == VEC_OK_ROUNDTRIP) {
			ok = vec_same(out.data, out.len, b, n, why, whysz);
		} else if (re != NULL) {
			ok = vec_same(out.data, out.len, re, rn, why, whysz);
		} else if (x == VEC_OK_NONCANONICAL) {
			/* re-encoded identically, the .txt says so instead of
			 * giving the hex */
			ok = strstr(txt, "re-encoding: identical bytes") != NULL &&
			     vec_same(out.data, out.len, b, n, why, whysz);
			if (!ok && why[0] == '\0')
				vec_say(why, whysz, "the .txt gives no re-encoding");
		} else {
			/* ok-lossy without a given re-encoding: it differs from
			 * the input and is itself canonical */
			struct alb_buf again = {0};
			if (out.len == n && memcmp(out.data, b, n) == 0)
				vec_say(why, whysz, "lossy, yet re-encoded identically");
			else if (vec_decode_encode(e->kind, out.data, out.len, &again, NULL, NULL,
						   &err) != 0)
				vec_say(why, whysz, "its re-encoding is refused: %s", err.msg);
			else
				ok = vec_same(again.data, again.len, out.data, out.len, why, whysz);
			alb_buf_free(&again);
		}
		free(re);
	}
done:
	alb_buf_free(&out);
	free(txt);
	free(b);
	return ok;
}

/* Checks every row of dir's MANIFEST into *r (which it zeroes first). */
static inline void vec_check_manifest(const char *dir, struct vec_report *r)
{
	memset(r, 0, sizeof(*r));
	struct vec_entry *v;
	size_t n = vec_manifest(dir, &v);
	r->rows = n;
	if (n == 0)
		vec_failed(r, "%s: no MANIFEST.tsv rows", dir);
	for (size_t i = 0; i < n; i++) {
		char why[1024] = "";
		r->per_expect[vec_expect_of(v[i].expect)]++;
		if (!vec_check_entry(dir, &v[i], why, sizeof(why)))
			vec_failed(r, "%s (%s, %s): %s", v[i].name, v[i].kind, v[i].expect, why);
	}
	free(v);
}

/* The entries of the directory dir/rel sorted by name; *n of them (the
 * caller frees each and the array). */
static inline struct dirent **vec_list(const char *dir, const char *rel, int *n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	struct dirent **list = NULL;
	*n = scandir(path, &list, NULL, alphasort);
	return *n < 0 ? NULL : list;
}

static inline void vec_list_free(struct dirent **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static inline bool vec_has_suffix(const char *s, const char *suffix)
{
	size_t l = strlen(s), k = strlen(suffix);
	return l > k && strcmp(s + l - k, suffix) == 0;
}

/* Every file the MANIFEST names exists, and every .der in the folders it
 * names files in is one of its rows (a vector without a row would never
 * be checked). */
static inline void vec_check_listing(const char *dir, struct vec_report *r)
{
	struct vec_entry *v;
	size_t n = vec_manifest(dir, &v);
	char folders[16][256];
	size_t nf = 0;
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(v[i].file, '/');
		char f[256] = ".";
		if (slash != NULL)
			snprintf(f, sizeof(f), "%.*s", (int)(slash - v[i].file), v[i].file);
		size_t k = 0;
		while (k < nf && strcmp(folders[k], f) != 0)
			k++;
		if (k == nf && nf < sizeof(folders) / sizeof(*folders))
			snprintf(folders[nf++], sizeof(folders[0]), "%s", f);
	}
	for (size_t k = 0; k < nf; k++) {
		int m;
		struct dirent **list = vec_list(dir, folders[k], &m);
		for (int i = 0; i < m; i++) {
			const char *name = list[i]->d_name;
			if (!vec_has_suffix(name, ".der"))
				continue;
			char file[600];
			if (strcmp(folders[k], ".") == 0)
				snprintf(file, sizeof(file), "%s", name);
			else
				snprintf(file, sizeof(file), "%s/%s", folders[k], name);
			bool listed = false;
			for (size_t j = 0; j < n && !listed; j++)
				listed = strcmp(v[j].file, file) == 0;
			if (!listed)
				vec_failed(r, "%s is not in the MANIFEST", file);
		}
		vec_list_free(list, m);
	}
	free(v);
}

/* Every DER frame of dir/transcripts/<session>/ (those whose .txt is not
 * an "ERROR:", i.e. the raw chunks of a block upload) decodes and
 * re-encodes to the same bytes with the times its .txt shows, and so does
 * transcripts/final-state.der when there is one. A set without
 * transcripts has none to check. */
static inline void vec_check_transcripts(const char *dir, struct vec_report *r)
{
	int ns;
	struct dirent **sessions = vec_list(dir, "transcripts", &ns);
	for (int s = 0; s < ns; s++) {
		char rel[1024];
		snprintf(rel, sizeof(rel), "transcripts/%s", sessions[s]->d_name);
		int nf;
		if (sessions[s]->d_name[0] == '.')
			continue;
		struct dirent **files = vec_list(dir, rel, &nf);
		if (files == NULL)
			continue;
		r->sessions++;
		for (int i = 0; i < nf; i++) {
			if (!vec_has_suffix(files[i]->d_name, ".der"))
				continue;
			char file[1400], why[1024] = "";
			snprintf(file, sizeof(file), "%s/%s", rel, files[i]->d_name);
			size_t n = 0, tl = 0;
			uint8_t *b = vec_read_at(dir, file, &n);
			char *txt = vec_read_txt(dir, file, &tl);
			struct alb_buf out = {0};
			struct alb_error err = {0};
			struct vec_time times[VEC_TIMES_MAX];
			size_t nt = 0;
			if (b == NULL || txt == NULL) {
				vec_failed(r, "%s: cannot read it or its .txt", file);
			} else if (strncmp(txt, "ERROR:", 6) == 0) {
				/* not a message (a raw block chunk) */
			} else if (vec_decode_encode("wire", b, n, &out, times, &nt, &err) != 0) {
				vec_failed(r, "%s: %s", file, err.msg);
			} else if (!vec_times_agree(txt, times, nt, why, sizeof(why)) ||
				   !vec_same(out.data, out.len, b, n, why, sizeof(why))) {
				vec_failed(r, "%s: %s", file, why);
			} else {
				r->frames++;
			}
			alb_buf_free(&out);
			free(txt);
			free(b);
		}
		vec_list_free(files, nf);
	}
	vec_list_free(sessions, ns > 0 ? ns : 0);
	size_t n = 0;
	uint8_t *b = vec_read_at(dir, "transcripts/final-state.der", &n);
	if (b != NULL) {
		struct alb_buf out = {0};
		struct alb_error err = {0};
		char why[1024];
		if (vec_decode_encode("state", b, n, &out, NULL, NULL, &err) != 0)
			vec_failed(r, "transcripts/final-state.der: %s", err.msg);
		else if (!vec_same(out.data, out.len, b, n, why, sizeof(why)))
			vec_failed(r, "transcripts/final-state.der: %s", why);
		alb_buf_free(&out);
		free(b);
	}
}

/* All of the above for dir, with one line that says what was checked. */
static inline void vec_check_dir(const char *dir, struct vec_report *r)
{
	vec_check_manifest(dir, r);
	vec_check_listing(dir, r);
	vec_check_transcripts(dir, r);
	printf("%s: %zu MANIFEST rows (%zu ok-roundtrip, %zu ok-lossy, %zu ok-noncanonical, "
	       "%zu error, %zu other), %zu transcript frames in %zu sessions, %zu failures\n",
	       dir, r->rows, r->per_expect[VEC_OK_ROUNDTRIP], r->per_expect[VEC_OK_LOSSY],
	       r->per_expect[VEC_OK_NONCANONICAL], r->per_expect[VEC_ERROR],
	       r->per_expect[VEC_EXPECT_OTHER], r->frames, r->sessions, r->failures);
}

#endif
