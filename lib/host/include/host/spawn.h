/* libalbatross — what a tender spawn shows in /proc before its exec
 * (private to the library).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_HOST_SPAWN_H
#define ALB_HOST_SPAWN_H

/** The name (comm, /proc/PID/comm and the second field of /proc/PID/stat)
 * of a child of alb_tender_spawn() from its birth until its exec: the
 * spawning thread takes this name just before the clone, so that the
 * child is born with it, and takes its own back right after. Until the
 * exec the child shares its parent's memory, so /proc/PID/cmdline and
 * /proc/PID/exe show the daemon, not the tender; this name is what tells
 * that a daemon killed during a spawn left a child about to exec a tender
 * (vmmd waits for those at startup, vmmd_spawning.c). The exec gives the
 * child the tender's name. */
#define ALB_SPAWN_COMM "alb-spawn"
/** Size of a buffer for a process name (the kernel's TASK_COMM_LEN). */
#define ALB_SPAWN_COMM_BUF 16

/** Takes the low descriptor slot that alb_tender_spawn() passes each
 * console through (tender_spawn.c): a daemon calls it at its start, while
 * its descriptor table is short, so that a spawn costs the same whatever
 * it holds later. Without it the first spawn takes the slot. */
void alb__spawn_slot_reserve(void);

#endif
