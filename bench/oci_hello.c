/* bench-oci-hello — the plain process that bench-oci runs under runc:
 * one console line, then exit.
 * SPDX-License-Identifier: ISC */
#include <stdio.h>

int main(void)
{
	puts("hello from a plain process");
	return 0;
}
