/* libalbatross — the console daemon's state (spec §7.2–7.5): paths and
 * their consoles, the rings of stopped unikernels, subscribers, and the
 * readers of the console FIFOs.
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "albatross/log.h"
#include "console_internal.h"
#include "base/internal.h"
#include "policy/trie.h"

/* ---- freeing -------------------------------------------------------- */

void console_final_free(struct alb_console *c)
{
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	dc_pool_free(c->pool);
	console_metrics_free(c);
	alb_trie_free(c->paths, NULL);
	free(c->tmpdir);
	free(c);
}

/* ---- paths and entries ------------------------------------------------ */

struct cpath *console_path_new(struct alb_console *c, const char *name,
			      int64_t n)
{
	struct cpath *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->n = n;
	if (alb_trie_insert(c->paths, p->name, p, NULL, NULL) != 0) {
		free(p);
		return NULL;
	}
	p->next = c->path_list;
	if (c->path_list != NULL)
		c->path_list->prev = p;
	c->path_list = p;
	return p;
}

void console_path_free(struct alb_console *c, struct cpath *p)
{
	alb_trie_remove(c->paths, p->name);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		c->path_list = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	free(p);
}

struct entry *console_entry_find(const struct cpath *p, const char *label)
{
	for (struct entry *e = p->entries; e != NULL; e = e->next) {
		int d = strcmp(e->label, label);
		if (d == 0)
			return e;
		if (d > 0)
			break;
	}
	return NULL;
}

/* A new console without ring or reader, in label order. */
struct entry *console_entry_new(struct alb_console *c, struct cpath *p,
			       const char *name)
{
	struct entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	snprintf(e->name, sizeof(e->name), "%s", name);
	alb_name_label(e->name, &e->label);
	e->path = p;
	struct entry *prev = NULL, *at = p->entries;
	while (at != NULL && strcmp(at->label, e->label) < 0) {
		prev = at;
		at = at->next;
	}
	e->prev = prev;
	e->next = at;
	if (prev != NULL)
		prev->next = e;
	else
		p->entries = e;
	if (at != NULL)
		at->prev = e;
	p->count++;
	c->st.consoles++;
	return e;
}

static void lru_add(struct alb_console *c, struct entry *e)
{
	e->in_lru = true;
	e->lru_next = NULL;
	e->lru_prev = c->lru_tail;
	if (c->lru_tail != NULL)
		c->lru_tail->lru_next = e;
	else
		c->lru_head = e;
	c->lru_tail = e;
	c->st.inactive_bytes += alb_console_ring_bytes(e->ring);
}

static void lru_remove(struct alb_console *c, struct entry *e)
{
	if (!e->in_lru)
		return;
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->in_lru = false;
	c->st.inactive_bytes -= alb_console_ring_bytes(e->ring);
}

static void reader_detach(struct reader *r);

/* Removes a console: its subscribers are closed, its reader stopped. */
void console_entry_remove(struct alb_console *c, struct entry *e)
{
	e->removing = true;
	while (e->subs != NULL)
		console_conn_close(e->subs);
	if (e->reader != NULL)
		reader_detach(e->reader);
	lru_remove(c, e);
	if (e->ring != NULL) {
		c->st.ring_bytes -= alb_console_ring_bytes(e->ring);
		c->st.rings--;
		alb_console_ring_free(e->ring);
	}
	struct cpath *p = e->path;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->entries = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	p->count--;
	c->st.consoles--;
	free(e);
	if (p->count == 0)
		console_path_free(c, p);
}

/* Spec §7.5: a path holding more consoles than it may loses its inactive
 * console with the smallest label. */
void console_maybe_drop(struct alb_console *c, struct cpath *p)
{
	if (p->n >= 0 && (uint64_t)p->count <= (uint64_t)p->n)
		return;
	for (struct entry *e = p->entries; e != NULL; e = e->next) {
		if (e->reader == NULL) {
			alb_log_info("dropping %s", e->name);
			c->st.evicted++;
			console_entry_remove(c, e);
			return;
		}
	}
	alb_log_error("adding a ringbuffer to %s, but found nothing inactive to drop",
		      p->name);
}

/* The rings of stopped unikernels may hold inactive_max bytes together. */
static void enforce_inactive(struct alb_console *c)
{
	while (c->st.inactive_bytes > c->inactive_max && c->lru_head != NULL) {
		struct entry *e = c->lru_head;
		alb_log_info("dropping the console history of %s: stopped unikernels "
			     "hold %zu bytes (limit %zu)",
			     e->name, c->st.inactive_bytes, c->inactive_max);
		c->st.evicted++;
		console_entry_remove(c, e);
	}
}

/* ---- subscribers --------------------------------------------------------- */

void console_sub_add(struct alb_console *c, struct entry *e, struct conn *k)
{
	k->e = e;
	k->sub_prev = NULL;
	k->sub_next = e->subs;
	if (e->subs != NULL)
		e->subs->sub_prev = k;
	else
		e->subs_tail = k;
	e->subs = k;
	e->n_subs++;
	c->st.subscribers++;
}

void console_unsubscribe(struct conn *k)
{
	struct alb_console *c = k->c;
	struct entry *e = k->e;
	if (k->sub_prev != NULL)
		k->sub_prev->sub_next = k->sub_next;
	else
		e->subs = k->sub_next;
	if (k->sub_next != NULL)
		k->sub_next->sub_prev = k->sub_prev;
	else
		e->subs_tail = k->sub_prev;
	e->n_subs--;
	c->st.subscribers--;
	k->e = NULL;
	/* Upstream forgets a console that never ran once nobody waits. */
	if (!e->removing && e->reader == NULL && e->ring == NULL && e->n_subs == 0)
		console_entry_remove(c, e);
}

/* ---- FIFO readers ------------------------------------------------------- */

static void reader_closed(uv_handle_t *h)
{
	struct reader *r = h->data;
	struct alb_console *c = r->c;
	close(r->fd);
	c->handles--;
	alb_console_lines_free(r->split);
	free(r);
	console_handle_gone(c);
}

/* Stops reading: the console (if still attached) becomes inactive. */
static void reader_detach(struct reader *r)
{
	struct entry *e = r->e;
	if (e != NULL) {
		e->reader = NULL;
		r->e = NULL;
		r->c->st.active--;
	}
	uv_close((uv_handle_t *)&r->poll, reader_closed);
}

static void reader_end(struct reader *r, const char *why)
{
	struct alb_console *c = r->c;
	struct entry *e = r->e;
	alb_log_debug("%s: %s", e != NULL ? e->name : "detached FIFO", why);
	reader_detach(r);
	if (e != NULL && e->ring != NULL) {
		lru_add(c, e);
		enforce_inactive(c);
	}
}

static int on_line(void *ctx, const char *line, size_t len)
{
	struct reader *r = ctx;
	struct alb_console *c = r->c;
	struct entry *e = r->e;
	struct alb_error err;
	size_t before = alb_console_ring_bytes(e->ring);
	if (alb_console_ring_push(e->ring, &r->now, line, len, &err) != 0) {
		alb_log_error("%s: line lost: %s", e->name, err.msg);
		return 0;
	}
	c->st.ring_bytes += alb_console_ring_bytes(e->ring) - before;
	c->st.lines++;
	/* The ring's copy is NUL-terminated, as struct alb_str promises. */
	struct alb_str s;
	alb_console_ring_get(e->ring, alb_console_ring_len(e->ring) - 1, NULL, &s);
	struct alb_buf b = {0};
	int64_t version = 0;
	bool have = false;
	struct conn *next;
	for (struct conn *k = e->subs; k != NULL; k = next) {
		next = k->sub_next;
		if (!k->live)
			continue;
		if (!have || version != k->version) {
			alb_buf_free(&b);
			if (console_encode_line(e->name, k->version, &r->now, &s, &b) != 0) {
				have = false;
				continue;
			}
			have = true;
			version = k->version;
		}
		console_conn_queue(k, b.data, b.len, true);
	}
	alb_buf_free(&b);
	return 0;
}

static struct alb_time now_time(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct alb_time t = {(int64_t)ts.tv_sec, (uint32_t)ts.tv_nsec};
	return t;
}

/* Sends what the last read produced, one write per subscriber. */
static void flush_subscribers(struct entry *e)
{
	struct conn *next;
	for (struct conn *k = e->subs; k != NULL; k = next) {
		next = k->sub_next;
		if (k->live)
			console_conn_flush(k);
		else
			console_pump(k);
	}
}

static void on_fifo(uv_poll_t *h, int status, int events)
{
	(void)events;
	struct reader *r = h->data;
	struct alb_console *c = r->c;
	const char *end = status < 0 ? uv_strerror(status) : NULL;
	for (int i = 0; i < READS_PER_WAKE && end == NULL; i++) {
		ssize_t n = read(r->fd, c->rbuf, sizeof(c->rbuf));
		if (n > 0) {
			r->now = now_time();
			alb_console_lines_feed(r->split, c->rbuf, (size_t)n, on_line, r);
			/* At once, so that a subscriber that keeps up never sees
			 * more than one read's worth waiting. */
			flush_subscribers(r->e);
		} else if (n == 0) {
			end = "end of file";
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			end = strerror(errno);
		}
	}
	if (end != NULL)
		reader_end(r, end);
}

/* Opens the FIFO of name and starts reading it (spec §7.3). */
int console_add_fifo(struct alb_console *c, const char *name, int64_t n)
{
	char fifo[PATH_MAX];
	int w = snprintf(fifo, sizeof(fifo), "%s/fifo/%s", c->tmpdir, name);
	if (w < 0 || (size_t)w >= sizeof(fifo))
		return -1;
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		alb_log_error("%s: error in open: %s", fifo, strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISFIFO(sb.st_mode)) {
		alb_log_error("%s: not a FIFO", fifo);
		close(fd);
		return -1;
	}
	char pname[ALB_NAME_BUF];
	alb_name_path(name, pname);
	const char *label;
	alb_name_label(name, &label);
	struct cpath *p = alb_trie_find(c->paths, pname);
	struct entry *e = p != NULL ? console_entry_find(p, label) : NULL;
	/* Everything that can fail comes before the state changes. */
	struct reader *r = calloc(1, sizeof(*r));
	struct alb_console_ring *ring = NULL;
	if (r == NULL || alb_console_lines_new(&r->split, NULL) != 0 ||
	    ((e == NULL || e->ring == NULL) && alb_console_ring_new(&ring, NULL) != 0) ||
	    uv_poll_init(c->loop, &r->poll, fd) != 0) {
		alb_log_error("%s: cannot read it (out of memory)", fifo);
		if (r != NULL)
			alb_console_lines_free(r->split);
		free(r);
		alb_console_ring_free(ring);
		close(fd);
		return -1;
	}
	c->handles++;
	r->fd = fd;
	r->c = c;
	r->poll.data = r;
	bool new_label = false;
	if (p == NULL) {
		p = console_path_new(c, pname, n);
	} else {
		p->n = n;
	}
	if (p != NULL && e == NULL) {
		e = console_entry_new(c, p, name);
		new_label = e != NULL && p->count > 1;
		if (e == NULL && p->count == 0)
			console_path_free(c, p);
	}
	if (p == NULL || e == NULL) {
		alb_log_error("%s: out of memory", name);
		alb_console_ring_free(ring);
		r->e = NULL;
		uv_close((uv_handle_t *)&r->poll, reader_closed);
		return -1;
	}
	if (e->reader != NULL) {
		/* A restart before the old FIFO reached its end: only the new
		 * one is read (upstream would read both). */
		alb_log_info("%s: replacing the reader of the previous FIFO", name);
		reader_detach(e->reader);
	}
	lru_remove(c, e);
	if (e->ring == NULL) {
		e->ring = ring;
		c->st.rings++;
		c->st.ring_bytes += alb_console_ring_bytes(ring);
	}
	e->reader = r;
	r->e = e;
	c->st.active++;
	c->fifos_opened++;
	uv_poll_start(&r->poll, UV_READABLE, on_fifo);
	if (new_label)
		console_maybe_drop(c, p);
	return 0;
}

