/* libalbatross — the length a frame header announces (spec §2.1), for the
 * readers that take a frame apart themselves (private to the library).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_IO_FRAME_LENGTH_H
#define ALB_IO_FRAME_LENGTH_H

#include <stddef.h>
#include <stdint.h>

#include "albatross/frame.h"

/** The payload length of the frame whose header is hdr, or 0 for the
 * end-of-stream marker: a signed length <= 0, as Albatross reads it. */
static inline size_t alb_frame_length(const uint8_t hdr[ALB_FRAME_HEADER_LEN])
{
	uint32_t u = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		     (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
	return u > ALB_FRAME_MAX_LIMIT ? 0 : (size_t)u;
}

#endif
