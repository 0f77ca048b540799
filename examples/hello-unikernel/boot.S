/* hello-unikernel — the multiboot header and the entry point: set up a
 * stack and call hello_main(magic, multiboot info).
 * SPDX-License-Identifier: ISC */

#define MULTIBOOT_MAGIC 0x1badb002
#define MULTIBOOT_FLAGS 0x00000003 /* page-aligned modules, memory info */
#define STACK_SIZE 16384

	/* hello.ld puts this section first, well inside the first 8 KiB. */
	.section .multiboot, "a"
	.align 4
	.long MULTIBOOT_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

	.section .text
	.globl _start
	.type _start, @function
_start:
	cli
	movl $stack_top, %esp
	xorl %ebp, %ebp
	/* Keep %esp 16-aligned at the call, as the i386 ABI wants. */
	subl $8, %esp
	pushl %ebx /* physical address of the multiboot information */
	pushl %eax /* the loader's magic */
	call hello_main
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .bss
	.align 16
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
