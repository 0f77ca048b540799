/* hello-unikernel — the two Solo5 ELF notes that make this kernel a Solo5
 * image to a reader of notes (solo5-elftool, libalbatross's image module):
 * the ABI note says target virtio (3), ABI version 1 (the version Solo5's
 * own virtio bindings declare); the manifest declares one NET_BASIC device
 * named "service". Each note sits in its own section, which hello.ld puts
 * in its own PT_NOTE program header, since readers look for the notes
 * through the program headers. The layouts are those of solo5-facts.md.
 * SPDX-License-Identifier: ISC */
#include <stdint.h>

#define NOTE_NAME "Solo5"
#define NOTE_TYPE_ABI1 0x31494241u /* "ABI1" */
#define NOTE_TYPE_MFT1 0x3154464du /* "MFT1" */
#define TARGET_VIRTIO 3
#define VIRTIO_ABI_VERSION 1
#define MFT_VERSION 1
#define MFT_NET_BASIC 2
#define MFT_RESERVED_FIRST 0x40000000u
#define MFT_ENTRIES 2 /* the reserved first entry and "service" */

struct note_header {
	uint32_t namesz;
	uint32_t descsz;
	uint32_t type;
	char name[8]; /* "Solo5\0", padded to 4 bytes */
};

struct abi_note {
	struct note_header h;
	uint32_t target;
	uint32_t version;
	uint32_t reserved0;
	uint32_t reserved1;
};

struct mft_entry {
	char name[68];
	uint32_t type;
	uint8_t u[16];      /* device parameters, filled in at run time */
	uint8_t b[8];       /* a tender's private data */
	uint8_t attached;
	uint8_t pad[7];
};

/* The manifest must be 8-aligned, so 4 bytes of padding follow the 20-byte
 * header and the whole note is 8-aligned. */
struct mft_note {
	struct note_header h;
	uint32_t pad;
	uint32_t version;
	uint32_t entries;
	struct mft_entry e[MFT_ENTRIES];
} __attribute__((aligned(8)));

_Static_assert(sizeof(struct note_header) == 20, "note header size");
_Static_assert(sizeof(struct abi_note) == 36, "ABI note size");
_Static_assert(sizeof(struct mft_entry) == 104, "manifest entry size");
_Static_assert(sizeof(struct mft_note) == 24 + 8 + MFT_ENTRIES * 104,
               "manifest note size");

__attribute__((section(".note.solo5.abi"), aligned(4), used))
const struct abi_note hello_abi_note = {
	.h = {
		.namesz = sizeof(NOTE_NAME),
		.descsz = sizeof(struct abi_note) - sizeof(struct note_header),
		.type = NOTE_TYPE_ABI1,
		.name = NOTE_NAME,
	},
	.target = TARGET_VIRTIO,
	.version = VIRTIO_ABI_VERSION,
};

__attribute__((section(".note.solo5.manifest"), aligned(8), used))
const struct mft_note hello_mft_note = {
	.h = {
		.namesz = sizeof(NOTE_NAME),
		.descsz = sizeof(struct mft_note) - sizeof(struct note_header),
		.type = NOTE_TYPE_MFT1,
		.name = NOTE_NAME,
	},
	.version = MFT_VERSION,
	.entries = MFT_ENTRIES,
	.e = {
		{.name = "", .type = MFT_RESERVED_FIRST},
		{.name = "service", .type = MFT_NET_BASIC},
	},
};
