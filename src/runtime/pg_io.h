/* I/O attribution: bytes, calls and time of read/write/send/recv-like C
 * library calls, charged to the function that made them, and per-thread
 * I/O totals from the kernel.
 *
 * Mechanism (see README "I/O per function"): while a session with io=True
 * runs, the GOT slots of read, write, pread64, pwrite64, readv, writev,
 * preadv64(v2), pwritev64(v2), send, sendto, sendmsg, recv, recvfrom and
 * recvmsg in the interpreter and every extension module (src/platform/
 * pg_got.h) point at wrappers here. A wrapper calls the real function and
 * adds the result to the calling thread's top shadow-stack frame through
 * the frame accumulators (pg_tracer_acc_add): no GIL, no Python API, no
 * allocation, errno preserved, async-signal-safe (CPython writes its signal
 * wake-up fd from a signal handler).
 *
 * Counting rules: a call that returns >= 0 is one operation of that many
 * bytes (a read returning 0, end of file, is an operation of 0 bytes); a
 * call that fails (-1, including EAGAIN and EINTR) counts no operation and
 * no bytes. Time inside the call is counted either way (io.ns): waiting
 * that ended in EINTR or a timeout is still time spent in I/O.
 *
 * Threading: begin/end run with the GIL held; pg_io_thread_exit runs at
 * OS-thread exit without the GIL and takes io_lock (pg_io.c) only.
 */
#ifndef PG_IO_H
#define PG_IO_H

#include "pg_procfs.h"
#include "pg_tracer.h"

/* Start I/O attribution for the session pg_tracer_begin opened: enables
 * the I/O accumulator slots, snapshots the kernel counters of the process
 * and its threads, redirects the GOT slots. 0 or a negative pg_error_t
 * (nothing left installed). */
int pg_io_begin(void);
/* Put the GOT slots back (idempotent). After this no call is counted,
 * except one already inside a wrapper. */
void pg_io_unhook(void);
/* Unhook, then append the ITHR rows (process, live threads, threads that
 * exited during the session) to profile. Call before pg_tracer_end, while
 * the threads' stacks still belong to the session. */
int pg_io_end(pg_profile_t *profile);
/* The same rows as of now, the session going on (for snapshots of a live
 * profile). No-op outside a session. */
int pg_io_collect(pg_profile_t *profile);
/* 1 between pg_io_begin and pg_io_end. */
int pg_io_active(void);
/* Thread-exit hook (pg_tracer.c): records the exiting thread's kernel
 * counters and hooked totals when it belongs to the running session. */
void pg_io_thread_exit(const pg_thread_t *thread);

/* The calling thread's kernel I/O counters now, for stage boundaries:
 * 0 or a negative pg_error_t (see pg_procfs_thread_io). */
int pg_io_thread_counters(pg_proc_io_t *out);

#endif
