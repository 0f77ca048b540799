/* libalbatross — the ring of console lines (spec §7.2, §7.6).
 * SPDX-License-Identifier: ISC
 *
 * The times and places of the lines sit in a fixed array of
 * ALB_CONSOLE_RING_LINES entries; their text (each line followed by a NUL)
 * sits in one circular byte buffer, a line never split across its end.
 * The buffer starts small and doubles when a line does not fit, so that a
 * quiet console costs little; at TEXT_MAX it always has room for a full
 * ring, so lines only ever leave because ALB_CONSOLE_RING_LINES are held. */
#include <stdlib.h>
#include <string.h>

#include "albatross/console.h"
#include "base/internal.h"

/* Bytes a stored line takes in the text buffer: its text and a NUL. */
#define REC_MAX (ALB_CONSOLE_STORED_MAX + 1)

/* First size of the text buffer. */
#define TEXT_MIN 4096

/* Largest text buffer: a full ring of the longest lines plus one more, the
 * room a line may leave unused at the end of the buffer when the next one
 * has to start again at its beginning. */
#define TEXT_MAX ((size_t)(ALB_CONSOLE_RING_LINES + 1) * REC_MAX)

struct slot {
	int64_t sec;
	uint32_t nsec;
	uint32_t off; /* of the text in the buffer */
	uint32_t len; /* without the NUL */
};

struct alb_console_ring {
	struct slot slots[ALB_CONSOLE_RING_LINES];
	size_t first; /* slot of the oldest line */
	size_t len;
	uint64_t total;
	char *text;
	size_t cap;
};

int alb_console_ring_new(struct alb_console_ring **out, struct alb_error *err)
{
	struct alb_console_ring *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	*out = r;
	return 0;
}

void alb_console_ring_free(struct alb_console_ring *r)
{
	if (r == NULL)
		return;
	free(r->text);
	free(r);
}

static const struct slot *slot_at(const struct alb_console_ring *r, size_t i)
{
	return &r->slots[(r->first + i) % ALB_CONSOLE_RING_LINES];
}

static size_t rec_end(const struct slot *s)
{
	return (size_t)s->off + s->len + 1;
}

/* Where a record of need bytes fits without touching the held lines from
 * index skip on, or SIZE_MAX when it does not. */
static size_t find_room(const struct alb_console_ring *r, size_t skip,
			size_t need)
{
	if (r->len <= skip)
		return need <= r->cap ? 0 : SIZE_MAX;
	size_t tail = slot_at(r, skip)->off;
	size_t head = rec_end(slot_at(r, r->len - 1));
	if (head > tail) {
		/* Held text is [tail, head): room after it, or before it. */
		if (r->cap - head >= need)
			return head;
		return tail >= need ? 0 : SIZE_MAX;
	}
	/* Held text wraps: the room is [head, tail). */
	return tail - head >= need ? head : SIZE_MAX;
}

/* Moves the held text to the start of a larger buffer, in order. */
static int grow(struct alb_console_ring *r, size_t need)
{
	size_t used = 0;
	for (size_t i = 0; i < r->len; i++)
		used += slot_at(r, i)->len + 1;
	size_t cap = r->cap < TEXT_MIN ? TEXT_MIN : r->cap;
	while (cap < used + need && cap < TEXT_MAX)
		cap *= 2;
	if (cap > TEXT_MAX)
		cap = TEXT_MAX;
	char *text = malloc(cap);
	if (text == NULL)
		return ALB_ENOMEM;
	size_t off = 0;
	for (size_t i = 0; i < r->len; i++) {
		struct slot *s = &r->slots[(r->first + i) % ALB_CONSOLE_RING_LINES];
		memcpy(text + off, r->text + s->off, (size_t)s->len + 1);
		s->off = (uint32_t)off;
		off += (size_t)s->len + 1;
	}
	free(r->text);
	r->text = text;
	r->cap = cap;
	return 0;
}

static void drop_oldest(struct alb_console_ring *r)
{
	r->first = (r->first + 1) % ALB_CONSOLE_RING_LINES;
	r->len--;
}

int alb_console_ring_push(struct alb_console_ring *r, const struct alb_time *t,
			  const char *line, size_t len, struct alb_error *err)
{
	if (len == 0)
		return alb_fail(err, ALB_EINVAL, "empty console lines are not stored");
	if (len > ALB_CONSOLE_STORED_MAX)
		return alb_fail(err, ALB_ETOOBIG,
				"console line of %zu bytes is longer than %d",
				len, ALB_CONSOLE_STORED_MAX);
	size_t need = len + 1;
	/* A full ring gives up its oldest line for the new one; find room as
	 * if it were gone, but grow before dropping anything, so that a
	 * failure leaves the ring as it was. */
	size_t skip = r->len == ALB_CONSOLE_RING_LINES ? 1 : 0;
	size_t room = find_room(r, skip, need);
	if (room == SIZE_MAX && r->cap < TEXT_MAX) {
		if (grow(r, need) != 0)
			return alb_fail(err, ALB_ENOMEM, "out of memory");
		room = find_room(r, skip, need);
	}
	/* Never true at TEXT_MAX (see the top of this file); kept so that
	 * no reasoning error can ever write over a held line. */
	while (room == SIZE_MAX && skip < r->len)
		room = find_room(r, ++skip, need);
	if (room == SIZE_MAX)
		return alb_fail(err, ALB_ENOMEM, "console ring has no room");
	while (skip-- > 0)
		drop_oldest(r);
	memcpy(r->text + room, line, len);
	r->text[room + len] = '\0';
	struct slot *s = &r->slots[(r->first + r->len) % ALB_CONSOLE_RING_LINES];
	s->sec = t->sec;
	s->nsec = t->nsec;
	s->off = (uint32_t)room;
	s->len = (uint32_t)len;
	r->len++;
	r->total++;
	return 0;
}

size_t alb_console_ring_len(const struct alb_console_ring *r)
{
	return r->len;
}

uint64_t alb_console_ring_total(const struct alb_console_ring *r)
{
	return r->total;
}

size_t alb_console_ring_bytes(const struct alb_console_ring *r)
{
	return sizeof(*r) + r->cap;
}

size_t alb_console_ring_bytes_max(void)
{
	return sizeof(struct alb_console_ring) + TEXT_MAX;
}

int alb_console_ring_get(const struct alb_console_ring *r, size_t i,
			 struct alb_time *t, struct alb_str *line)
{
	if (i >= r->len)
		return ALB_ENOENT;
	const struct slot *s = slot_at(r, i);
	if (t != NULL) {
		t->sec = s->sec;
		t->nsec = s->nsec;
	}
	if (line != NULL) {
		line->ptr = r->text + s->off;
		line->len = s->len;
	}
	return 0;
}

size_t alb_console_ring_from_count(const struct alb_console_ring *r,
				   int64_t count)
{
	if (count <= 0)
		return r->len;
	if ((uint64_t)count >= r->len)
		return 0;
	return r->len - (size_t)count;
}

static bool earlier(const struct slot *s, const struct alb_time *t)
{
	return s->sec < t->sec || (s->sec == t->sec && s->nsec < t->nsec);
}

size_t alb_console_ring_from_since(const struct alb_console_ring *r,
				   const struct alb_time *t)
{
	size_t i = r->len;
	while (i > 0 && !earlier(slot_at(r, i - 1), t))
		i--;
	return i;
}
