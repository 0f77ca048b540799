/* libalbatross — CRC-32C (Castagnoli), the checksum of journal records
 * (private).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_CRC32C_H
#define ALB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/** The CRC-32C of data[0..len) continued from crc (0 to start), with the
 * usual pre- and post-inversion, so that a running CRC over pieces equals
 * the CRC of their concatenation: alb_crc32c(0, "123456789", 9) is
 * 0xe3069283. Uses the CPU's CRC32 instruction where there is one (x86
 * SSE 4.2: about 8 bytes per 3 cycles), else tables (slicing by 8). */
uint32_t alb_crc32c(uint32_t crc, const void *data, size_t len);

/** The same CRC by the tables only (what a CPU without the instruction
 * runs), for tests. */
uint32_t alb_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
